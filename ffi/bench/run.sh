#!/usr/bin/env bash
# ABI overhead of the full Digest check (SHA-256, MD5): ffi/bench/bench.c through
# libauthgate.a against the core doing the same work.
#   1. wall clock, paired: bench.c and its Rust twin on the core's API
#      (ffi/benches/digest_check.rs: same scenario, same batches, same median), alternated
#      for ROUNDS rounds so both see the same machine load; ratio of the medians;
#   2. the core's own Criterion figure for the group "digest_check"
#      (benches/benches/engine.rs), for reference;
#   3. instructions under callgrind (repeatable whatever the load): 2000 checks counted
#      inside authgate_engine_check (C) vs inside Engine::check in the core's callgrind
#      workload (benches/examples/profile_digest.rs).
# Usage (from the repository root; `make ffi-bench`): run.sh PATH/TO/bench
# Environment: ROUNDS (default 9), SECONDS_PER_RUN (default 0.5), CARGO, CARGO_TARGET_DIR.
set -euo pipefail
BENCH=${1:?usage: run.sh PATH/TO/bench}
ROUNDS=${ROUNDS:-9}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-0.5}
CARGO=${CARGO:-cargo}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
ALGS=(SHA-256 MD5)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

"$CARGO" bench -p authgate-ffi --bench digest_check -j2 --no-run >"$OUT/build.log" 2>&1 || {
    cat "$OUT/build.log"
    exit 1
}

echo "== 1. wall clock, paired: $ROUNDS rounds x ${SECONDS_PER_RUN}s per side and algorithm"
for round in $(seq 1 "$ROUNDS"); do
    for a in "${ALGS[@]}"; do
        "$BENCH" --seconds "$SECONDS_PER_RUN" --warmup 0.3 "$a" | sed "s/^/C    round=$round /" >>"$OUT/paired.txt"
        "$CARGO" bench -q -p authgate-ffi --bench digest_check -- --seconds "$SECONDS_PER_RUN" --warmup 0.3 "$a" 2>/dev/null |
            grep '^RESULT' | sed "s/^/core round=$round /" >>"$OUT/paired.txt"
    done
done
python3 - "$OUT/paired.txt" "${ALGS[@]}" <<'PY'
import re, statistics, sys
rows = [re.match(r'(\S+)\s+round=(\d+) RESULT digest_check/(\S+) median_ns=([\d.]+)', l).groups()
        for l in open(sys.argv[1]) if 'RESULT' in l]
# Other processes share the cores: besides the medians, the fastest round of each side
# (the least disturbed) and the median of the per-round ratios are shown.
print(f"{'algorithm':<10} {'core median':>12} {'C median':>10} {'ABI/core':>9} {'core best':>10} {'C best':>8} "
      f"{'ABI/core':>9} {'median of ratios':>17}")
for a in sys.argv[2:]:
    core = {r: float(ns) for side, r, alg, ns in rows if side == 'core' and alg == a}
    c = {r: float(ns) for side, r, alg, ns in rows if side == 'C' and alg == a}
    ratios = [c[r] / core[r] for r in core if r in c]
    mc, mr, bc, br = statistics.median(core.values()), statistics.median(c.values()), min(core.values()), min(c.values())
    print(f"{a:<10} {mc:>9.0f} ns {mr:>7.0f} ns {mr / mc:>8.3f}x {bc:>7.0f} ns {br:>5.0f} ns {br / bc:>8.3f}x "
          f"{statistics.median(ratios):>16.3f}x")
PY

echo
echo "== 2. the core's Criterion group digest_check (benches/benches/engine.rs), for reference"
if "$CARGO" bench -p authgate-benches --bench engine -j2 -- '^digest_check/(MD5|SHA-256)$' >"$OUT/criterion.log" 2>&1; then
    grep -E '^digest_check/(MD5|SHA-256) ' -A1 "$OUT/criterion.log" | grep -E 'digest_check|time:' || true
else
    echo "(skipped: the core's Criterion bench did not run)"
    tail -5 "$OUT/criterion.log"
fi

echo
echo "== 3. instructions (callgrind, 2000 checks, counted inside the check call only)"
if "$CARGO" build --release -p authgate-benches --example profile_digest -j2 >"$OUT/build.log" 2>&1; then
    printf '%-10s %28s %28s %9s\n' algorithm "core Engine::check" "C authgate_engine_check" "ABI/core"
    for a in "${ALGS[@]}"; do
        valgrind --tool=callgrind --callgrind-out-file="$OUT/core.$a" \
            '--toggle-collect=authgate::engine::Engine<*>::check' \
            "$TARGET_DIR/release/examples/profile_digest" "$a" >/dev/null 2>&1
        valgrind --tool=callgrind --callgrind-out-file="$OUT/c.$a" --toggle-collect=authgate_engine_check \
            "$BENCH" --count 2000 "$a" >/dev/null 2>&1
        core=$(sed -n 's/^summary: //p' "$OUT/core.$a")
        abi=$(sed -n 's/^summary: //p' "$OUT/c.$a")
        printf '%-10s %14s (%6d/check) %14s (%6d/check) %8.3fx\n' "$a" "$core" $((core / 2000)) "$abi" \
            $((abi / 2000)) "$(python3 -c "print($abi / $core)")"
    done
else
    echo "(skipped: the core's callgrind workload benches/examples/profile_digest.rs did not build)"
    tail -5 "$OUT/build.log"
fi
