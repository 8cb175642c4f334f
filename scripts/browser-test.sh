#!/usr/bin/env bash
# End-to-end dashboard test in a real browser:
#   1. installs Debian's chromium (apt) when /usr/bin/chromium is missing and playwright-core
#      (npm ci, pinned in tests/browser/package-lock.json);
#   2. builds the gridedge binary (debug, or --release);
#   3. starts the demo and keeps it serving: `gridedge demo --meters 12 --days 2 --serve
#      --listen 127.0.0.1:0` (collects from a simulated fleet, keeps the fleet running and
#      serves the API and dashboard with an operator token), over a fresh database in a
#      temporary directory;
#   4. runs tests/browser/dashboard.test.mjs against it (screenshots in
#      target/browser-artifacts/, or $GRIDEDGE_ARTIFACTS);
#   5. stops the server and removes the temporary directory, whatever happened.
#
# Usage: scripts/browser-test.sh [--release]
# Environment: CARGO_TARGET_DIR (where the binary is built), GRIDEDGE_BIN (use this binary
# instead of building one), GRIDEDGE_ARTIFACTS.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

log() { printf 'browser-test: %s\n' "$*" >&2; }

PROFILE=debug
CARGO_FLAGS=()
if [ "${1:-}" = "--release" ]; then
  PROFILE=release
  CARGO_FLAGS=(--release)
fi
METERS=12
DAYS=2

if [ ! -x /usr/bin/chromium ]; then
  log "installing chromium (apt)"
  if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >/dev/null \
    || { "${SUDO[@]}" apt-get update >/dev/null && "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >/dev/null; }
fi
/usr/bin/chromium --version >&2

log "installing playwright-core (npm ci)"
(cd tests/browser && npm ci --no-audit --no-fund --ignore-scripts >/dev/null)

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
if [ -n "${GRIDEDGE_BIN:-}" ]; then
  # A binary built already (scripts/test.sh passes the one `cargo test --release` built).
  GRIDEDGE="$GRIDEDGE_BIN"
else
  log "building gridedge ($PROFILE)"
  cargo build -p gridedge "${CARGO_FLAGS[@]}"
  GRIDEDGE="$TARGET_DIR/$PROFILE/gridedge"
fi
[ -x "$GRIDEDGE" ] || { log "error: $GRIDEDGE was not built"; exit 1; }

WORK="$(mktemp -d -t gridedge-browser-XXXXXX)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

log "starting the demo ($METERS simulated meters) with --serve"
"$GRIDEDGE" demo --db "$WORK/demo.db" --meters "$METERS" --days "$DAYS" --serve --listen 127.0.0.1:0 \
  >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!

URL=""
for _ in $(seq 1 240); do
  URL="$(sed -n 's/^dashboard: //p' "$WORK/server.out" | head -1)"
  [ -n "$URL" ] && break
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    log "error: the server exited"; cat "$WORK/server.err" >&2; exit 1
  fi
  sleep 0.5
done
if [ -z "$URL" ]; then
  log "error: the server printed no dashboard URL within 120 s"; cat "$WORK/server.err" >&2; exit 1
fi
log "dashboard is up at ${URL%%\?*}"

ARTIFACTS="${GRIDEDGE_ARTIFACTS:-$ROOT/target/browser-artifacts}"
mkdir -p "$ARTIFACTS"
status=0
GRIDEDGE_DASHBOARD_URL="$URL" GRIDEDGE_METERS="$METERS" GRIDEDGE_DAYS="$DAYS" GRIDEDGE_ARTIFACTS="$ARTIFACTS" \
  CHROMIUM=/usr/bin/chromium node tests/browser/dashboard.test.mjs || status=$?
cp "$WORK/server.err" "$ARTIFACTS/server.log" 2>/dev/null || true
if [ "$status" -ne 0 ]; then
  # CI keeps only the console: the server's own account of what went wrong.
  log "the server's log (last 60 lines):"
  tail -n 60 "$WORK/server.err" | sed 's/\x1b\[[0-9;]*m//g' >&2 || true
fi
exit "$status"
