#!/usr/bin/env bash
# The test command of README.md: the whole workspace, including the interop tests
# against the Python gurux-dlms and dlms-cosem peers (run scripts/setup-python-venv.sh
# once first) and the end-to-end demo test; then the Python peers' own checks against
# each other (which keep the interop harness honest); then the dashboard's browser test.
# Needs the services of scripts/setup.sh (PostgreSQL, NATS, Mosquitto) running.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  echo "error: .venv is missing; run: bash scripts/setup-python-venv.sh" >&2
  exit 1
fi
export GRIDEDGE_PYTHON="$PWD/.venv/bin/python"
# Release profile: the end-to-end tests run real fleets over loopback TCP.
cargo test --workspace --release --locked "$@"
.venv/bin/python -m pytest -q tests/interop
# The dashboard in headless Chromium (installs chromium and playwright-core if missing).
GRIDEDGE_BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/gridedge" bash scripts/browser-test.sh --release
