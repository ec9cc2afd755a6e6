#!/usr/bin/env bash
# Builds zeropipe and runs its self-contained demo; arguments are passed on to `zeropipe demo`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
cargo build --release
exec target/release/zeropipe demo "$@"
