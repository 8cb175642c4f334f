#!/usr/bin/env bash
# One-time (idempotent) set-up of everything the tests need besides the Rust toolchain:
#   - the Python venv with the interop peers (gurux-dlms, dlms-cosem, greenbutton-objects);
#   - the local services: PostgreSQL, NATS JetStream, Mosquitto (started when down);
#   - for the browser tests, when tests/browser exists: Debian's chromium and the pinned
#     playwright-core from npm (scripts/browser-test.sh --install-only).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-python-venv.sh
bash scripts/start-services.sh
if [ -f tests/browser/package.json ] && [ -x scripts/browser-test.sh ]; then
  bash scripts/browser-test.sh --install-only
fi
