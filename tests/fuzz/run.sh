#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Build the libFuzzer harnesses (clang, ASan+UBSan) and run each in turn.
#
#   tests/fuzz/run.sh --short            every harness 6 s from its committed
#                                        corpus (scripts/test.sh; under 2 minutes)
#   tests/fuzz/run.sh [--seconds N] [--runs R] [--build DIR] [HARNESS...]
#                                        long run: each harness until R executions
#                                        or N seconds (default 3600), one process
#                                        at a time; the grown corpus is kept in
#                                        BUILD/corpus-work between runs
#
# Every committed input (seeds and crash regressions) runs first in both modes.
# A crash, leak, UB or timeout fails the run; its input is saved under
# BUILD/artifacts/HARNESS/ (copy it into tests/fuzz/corpus/HARNESS/ as crash-NAME
# once fixed). A summary table (executions per harness) ends the output and is
# written to BUILD/last-run.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$PWD

seconds=3600
runs=-1
short=0
build=build/fuzz
harnesses=()
while [ $# -gt 0 ]; do
    case $1 in
    --short) short=1; seconds=6 ;;
    --seconds) seconds=$2; shift ;;
    --runs) runs=$2; shift ;;
    --build) build=$2; shift ;;
    -h | --help) sed -n '3,18p' "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) harnesses+=("$1") ;;
    esac
    shift
done

cc=$(command -v clang-14 || command -v clang || true)
[ -n "$cc" ] || { echo "run.sh: clang is not installed (scripts/install-deps.sh)" >&2; exit 2; }
cmake -S . -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Debug -DH2A_FUZZ=ON >/dev/null
cmake --build "$build" --target h2a_fuzz_all -j"$(nproc)" >/dev/null

if [ ${#harnesses[@]} -eq 0 ]; then
    for f in tests/fuzz/fuzz_*.c; do
        [ "$f" = tests/fuzz/fuzz_common.c ] || harnesses+=("$(basename "$f" .c)")
    done
fi

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export LSAN_OPTIONS=suppressions=$src/tests/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

if [ "$short" = 1 ]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
else
    work=$build/corpus-work
fi
summary=$build/last-run.txt
printf '%-16s %8s %12s %9s %7s  %s\n' harness seconds executions exec/s corpus result >"$summary"
failed=0
for h in "${harnesses[@]}"; do
    bin=$build/tests/fuzz/$h
    [ -x "$bin" ] || { echo "run.sh: no harness $h" >&2; exit 2; }
    mkdir -p "$work/$h" "$build/artifacts/$h" "tests/fuzz/corpus/$h"
    log=$build/artifacts/$h/last.log
    echo "== $h (${seconds}s)"
    set +e
    # New inputs go to the first directory only: the committed corpus is read.
    "$bin" -max_total_time="$seconds" -runs="$runs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$build/artifacts/$h/" "$work/$h" "tests/fuzz/corpus/$h" >"$log" 2>&1
    rc=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
    units=$(find "$work/$h" -type f | wc -l)
    result=ok
    if [ "$rc" != 0 ]; then
        result="FAILED (exit $rc, see $log)"
        failed=1
        grep -E 'ERROR:|runtime error|SUMMARY|Test unit written' "$log" | head -8 >&2 || true
    fi
    rate=0
    if [ -n "${took:-}" ] && [ "${took:-0}" -gt 0 ]; then rate=$((${execs:-0} / took)); fi
    printf '%-16s %8s %12s %9s %7s  %s\n' "$h" "${took:-?}" "${execs:-?}" "$rate" "$units" \
        "$result" >>"$summary"
done
cat "$summary"
exit $failed
