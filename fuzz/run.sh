#!/usr/bin/env bash
# Runs fuzz targets one after the other (one libFuzzer process at a time, no -jobs) for
# SECONDS each, from their seed corpora, and prints executions and crashes per target.
#
#   fuzz/run.sh SECONDS [TARGET...]      (default: every target)
#
# Environment: FUZZ_TOOLCHAIN (nightly), FUZZ_ASAN_TARGETS (targets built with
# AddressSanitizer, in fuzz/target/asan; the others are built without a sanitizer, in
# fuzz/target/plain), FUZZ_LOG_DIR (fuzz/artifacts/logs).
# Exits 1 when any target crashed (panic, failed assertion, sanitizer report, timeout or
# out-of-memory); its input is in fuzz/artifacts/TARGET/.
set -euo pipefail

cd "$(dirname "$0")"
seconds=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(parse basic digest render htfile ffi jwt ntlm)
toolchain=${FUZZ_TOOLCHAIN:-nightly}
asan=" ${FUZZ_ASAN_TARGETS:-} "
logs=${FUZZ_LOG_DIR:-artifacts/logs}
mkdir -p "$logs"

# Release with debug assertions and overflow checks; libFuzzer's -fork/-jobs are never used.
flags_for() {
    case "$asan" in
        *" $1 "*) echo "-O -a -s address --target-dir target/asan" ;;
        *) echo "-O -a -s none --target-dir target/plain" ;;
    esac
}

python3 seed.py
# One build per sanitizer: without a target name cargo fuzz builds every target at once.
plain=()
asan_list=()
for t in "${targets[@]}"; do
    case "$asan" in *" $t "*) asan_list+=("$t") ;; *) plain+=("$t") ;; esac
done
if [ ${#plain[@]} -gt 0 ]; then
    # shellcheck disable=SC2046
    rustup run "$toolchain" cargo fuzz build $(flags_for "${plain[0]}")
fi
for t in "${asan_list[@]}"; do
    # shellcheck disable=SC2046
    rustup run "$toolchain" cargo fuzz build $(flags_for "$t") "$t"
done

total=0
failed=0
rows=()
for t in "${targets[@]}"; do
    log="$logs/$t.log"
    start=$(date +%s)
    set +e
    # shellcheck disable=SC2046
    rustup run "$toolchain" cargo fuzz run $(flags_for "$t") "$t" "corpus/$t" -- \
        -dict=dict/authgate.dict -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        >"$log" 2>&1
    rc=$?
    set -e
    elapsed=$(( $(date +%s) - start ))
    execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    execs=${execs:-0}
    crashes=0
    if [ $rc -ne 0 ]; then
        crashes=1
        failed=1
        echo "== fuzz: $t FAILED (exit $rc), log $logs/$t.log; the input:"
        grep -E "panicked at|SUMMARY|ERROR: libFuzzer|Test unit written to" "$log" | head -n 8 || true
        grep -A2 "panicked at" "$log" | sed -n 2p || true
    fi
    total=$((total + execs))
    rows+=("$(printf '%-8s %14s %8s %6ss' "$t" "$execs" "$crashes" "$elapsed")")
    echo "== fuzz: $t: $execs executions, $crashes crashes in ${elapsed}s"
done

echo
printf '%-8s %14s %8s %7s\n' target executions crashes time
printf '%s\n' "${rows[@]}"
printf '%-8s %14s\n' total "$total"
exit $failed
