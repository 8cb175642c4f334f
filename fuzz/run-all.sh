#!/usr/bin/env bash
# Smoke-fuzz every dlms target: build them all, then run each for TIME_SECONDS (default
# 60) starting from fuzz/seeds/<target>/, and print a summary table.
#
# Usage: fuzz/run-all.sh [TIME_SECONDS] [TARGET...]
#   SANITIZER=address fuzz/run-all.sh 300      # ASan build (slower; dlms has no unsafe)
#   fuzz/run-all.sh 30 data apdu               # only some targets
#   SKIP_CRASH_SEEDS=1 fuzz/run-all.sh 60      # leave out seeds/<target>/crash-* (known,
#                                              # unfixed crashes) so the target can fuzz
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). Works on the stable toolchain through
# RUSTC_BOOTSTRAP=1. The growing corpus goes to fuzz/corpus/<target>/, crashes to
# fuzz/artifacts/<target>/, logs to fuzz/artifacts/logs/ (all git-ignored).
# Exit status: 0 when no target crashed, 1 when one did, 2 when the build failed.
set -uo pipefail

TIME="${1:-60}"
shift || true
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1
SANITIZER="${SANITIZER:-none}"
# -a: debug assertions and overflow checks, so arithmetic overflow is a crash.
BUILD_FLAGS=(-s "$SANITIZER" -a)

if [ "$#" -gt 0 ]; then
    TARGETS=("$@")
else
    mapfile -t TARGETS < <(cargo fuzz list)
fi

echo "== building ${#TARGETS[@]} targets (sanitizer: $SANITIZER)"
# Build once, then run the binaries directly, so a failed build is never mistaken for a
# crash and all targets fuzz the same code.
if ! cargo fuzz build "${BUILD_FLAGS[@]}"; then
    echo "build failed" >&2
    exit 2
fi
BIN_DIR="target/$(rustc -vV | sed -n 's/^host: //p')/release"

mkdir -p artifacts/logs
summary=()
failed=0
# The real HAN/P1 captures seed han_decode and hdlc_frame from ../shared/testdata at run
# time (they are third-party data: never copied into the repository). They go into the
# git-ignored corpus folders.
HAN_DIR="$(cd "$(dirname "$0")/.." && pwd)/../shared/testdata/han"
if [ -d "$HAN_DIR" ]; then
    mkdir -p corpus/han_decode corpus/hdlc_frame
    while IFS= read -r f; do
        name="han-$(echo "${f#"$HAN_DIR"/}" | tr '/' '-')"
        tr -d ' \t\r\n' < "$f" | xxd -r -p > "corpus/han_decode/$name" 2>/dev/null || true
        cp "corpus/han_decode/$name" "corpus/hdlc_frame/$name" 2>/dev/null || true
    done < <(find "$HAN_DIR" -name '*.hex' -size -9k)
fi
for t in "${TARGETS[@]}"; do
    mkdir -p "corpus/$t" "seeds/$t" "artifacts/$t"
    seeds="seeds/$t"
    if [ "${SKIP_CRASH_SEEDS:-0}" = 1 ]; then
        seeds="artifacts/seeds-without-crashes/$t"
        rm -rf "$seeds" && mkdir -p "$seeds"
        find "seeds/$t" -maxdepth 1 -type f ! -name 'crash-*' -exec cp {} "$seeds/" \;
    fi
    log="artifacts/logs/$t.log"
    echo "== $t: ${TIME}s"
    "$BIN_DIR/$t" "corpus/$t" "$seeds" -artifact_prefix="artifacts/$t/" \
        -max_total_time="$TIME" -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log" 2>&1
    status=$?
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
    corp=$(grep -o 'corp: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
    if [ "$status" -eq 0 ]; then
        result="ok"
    else
        crash=$(ls -t "artifacts/$t"/crash-* "artifacts/$t"/oom-* "artifacts/$t"/timeout-* 2>/dev/null | head -1)
        result="CRASH (exit $status): ${crash:-no artifact}, log $log"
        failed=1
        grep -m1 -A3 "panicked at" "$log" || tail -20 "$log"
    fi
    summary+=("$(printf '| %-20s | %6s | %12s | %6s | %7s | %6s | %s |' \
        "$t" "$TIME" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result")")
done

echo
printf '| %-20s | %6s | %12s | %6s | %7s | %6s | %s |\n' target time_s execs cov features corpus result
printf '|%s|%s|%s|%s|%s|%s|%s|\n' ---------------------- -------- -------------- -------- --------- -------- --------
printf '%s\n' "${summary[@]}"
exit "$failed"
