#!/usr/bin/env bash
# Installs what building zeropipe needs: libzmq (linked from the system) and pkg-config.
# With --test, also a Python virtualenv at .venv with pyzmq and pytest for tests/e2e.
# Safe to run again: each step is skipped when its result is already in place.
set -euo pipefail

usage="usage: scripts/setup.sh [--test]"
with_test=false
case "${1:-}" in
  "") ;;
  --test) with_test=true ;;
  *) echo "$usage" >&2; exit 2 ;;
esac

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Runs a command as root: directly when already root, through sudo otherwise.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "setup: root is needed to run: $*" >&2
    return 1
  fi
}

apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: no apt-get here; install these packages by hand: $*" >&2
    return 1
  fi
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"
}

if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists libzmq; then
  echo "setup: libzmq $(pkg-config --modversion libzmq) found"
else
  echo "setup: installing libzmq and pkg-config"
  apt_install libzmq3-dev pkg-config
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install Rust with rustup (https://rustup.rs)" >&2
  exit 1
fi

if [ "$with_test" = false ]; then
  exit 0
fi

# A venv made without ensurepip has no pip; start again once python3-venv is installed.
if ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
  rm -rf .venv
  if ! python3 -m venv .venv; then
    rm -rf .venv
    echo "setup: installing python3-venv"
    apt_install python3-venv
    python3 -m venv .venv
  fi
fi

wanted='import sys, pytest, zmq
sys.exit(zmq.pyzmq_version_info() < (25,) or int(pytest.__version__.split(".")[0]) < 7)'
if .venv/bin/python -c "$wanted" >/dev/null 2>&1; then
  echo "setup: pyzmq and pytest found in .venv"
else
  echo "setup: installing pyzmq and pytest into .venv"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check 'pyzmq>=25' 'pytest>=7'
fi
