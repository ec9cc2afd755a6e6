#!/usr/bin/env bash
# Runs every check zeropipe must pass, stopping at the first failure: formatting, lints, unit
# and integration tests, the release build, then the end-to-end tests against that build.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() {
  printf '\n==> %s\n' "$*"
}

step "setup: system packages and the Python test environment"
bash scripts/setup.sh --test

step "cargo fmt --check"
cargo fmt --check

step "cargo clippy --all-targets --locked -- -D warnings"
cargo clippy --all-targets --locked -- -D warnings

step "cargo test --locked"
cargo test --locked

step "cargo build --release --locked"
cargo build --release --locked

step "end-to-end tests: tests/e2e against target/release/zeropipe"
.venv/bin/python -m pytest -q -p no:cacheprovider tests/e2e

printf '\n==> all checks passed\n'
