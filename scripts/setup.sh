#!/usr/bin/env bash
# One-time (idempotent) set-up of everything the tests need besides the Rust toolchain:
#   - the Python venv with the interop peers (gurux-dlms, dlms-cosem, greenbutton-objects);
#   - the local services: PostgreSQL, NATS JetStream, Mosquitto (started when down).
# (The browser test installs Debian's chromium and the pinned playwright-core itself:
# scripts/browser-test.sh, run by scripts/test.sh.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-python-venv.sh
bash scripts/start-services.sh
