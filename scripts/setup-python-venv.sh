#!/usr/bin/env bash
# Create or update the Python venv used by gridedge's interop tests (tests/interop/).
#
#   scripts/setup-python-venv.sh            # creates ./.venv at the repo root if needed
#   PYTHON=python3.12 scripts/setup-python-venv.sh
#   GRIDEDGE_VENV=/tmp/venv scripts/setup-python-venv.sh
#
# Idempotent: when the venv exists, works, and was built from the current
# tests/interop/requirements.txt + constraints.txt, it does nothing and exits 0.
# Otherwise it (re)creates the venv and pip-installs the pinned packages from PyPI
# (gurux-dlms, dlms-cosem, pytest and their pinned dependencies). Needs only a
# CPython >= 3.9 with the venv module and access to PyPI.
#
# Afterwards: .venv/bin/python -m pytest tests/interop
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${GRIDEDGE_VENV:-$repo_root/.venv}"
python="${PYTHON:-python3}"
requirements="$repo_root/tests/interop/requirements.txt"
constraints="$repo_root/tests/interop/constraints.txt"
stamp="$venv/.gridedge-interop-requirements.sha256"

log() { printf 'setup-python-venv: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v "$python" >/dev/null 2>&1 || die "$python not found (set PYTHON=/path/to/python3)"
"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' \
  || die "$("$python" --version 2>&1) is too old; need CPython >= 3.9"
[[ -f "$requirements" && -f "$constraints" ]] || die "missing $requirements or $constraints"

wanted="$(cat "$requirements" "$constraints" | sha256sum | cut -d' ' -f1)"

venv_works() {
  [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c 'import sys' >/dev/null 2>&1
}

if venv_works && [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]] \
  && "$venv/bin/python" -c 'import gurux_dlms, dlms_cosem, pytest' >/dev/null 2>&1; then
  log "$venv is up to date"
  exit 0
fi

if ! venv_works; then
  log "creating $venv with $("$python" --version 2>&1)"
  # --clear: a half-made or moved venv (dangling interpreter link) is rebuilt from scratch.
  "$python" -m venv --clear "$venv" \
    || die "'$python -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)"
fi

log "installing $(grep -cv '^\s*\(#\|$\)' "$requirements") pinned packages into $venv"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
"$venv/bin/python" -m pip install --quiet --upgrade-strategy only-if-needed \
  -r "$requirements" -c "$constraints" \
  || die "pip install failed (is PyPI reachable?)"
"$venv/bin/python" -c 'import gurux_dlms, dlms_cosem, pytest' \
  || die "packages installed but do not import"
printf '%s\n' "$wanted" >"$stamp"
log "ready: $("$venv/bin/python" -m pip freeze 2>/dev/null | grep -Ei '^(gurux|dlms|pytest)' | tr '\n' ' ')"
