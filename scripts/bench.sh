#!/usr/bin/env bash
# Runs zeropipe's benchmarks: end-to-end throughput of the pipeline against a bare libzmq
# receiver, then the per-message cost of monitor recording. The environment passes through, so
# ZEROPIPE_BENCH_MESSAGES sets the messages per throughput phase (default 500000).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo bench --bench throughput
cargo bench --bench monitor
