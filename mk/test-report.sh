#!/usr/bin/env bash
# The table `make test` ends with: each part's result and time, the wall time of the whole.
#   mk/test-report.sh LOG_DIR WALL_SECONDS PART...
set -uo pipefail
dir=$1 wall=$2
shift 2
failed=0 sum=0
printf '\n%-16s %-8s %8s\n' part result seconds
for part in "$@"; do
    line=$(grep -m1 "^$part " "$dir/times" 2>/dev/null)
    if [ -z "$line" ]; then
        printf '%-16s %-8s %8s\n' "$part" "not run" -
        failed=1
        continue
    fi
    read -r _ rc secs <<<"$line"
    sum=$((sum + secs))
    if [ "$rc" = 0 ]; then result=passed; else result="FAILED"; failed=1; fi
    printf '%-16s %-8s %8d\n' "$part" "$result" "$secs"
done
printf '%-16s %-8s %8d  (the parts add up to %d s)\n' "wall" "" "$wall" "$sum"
if [ "$failed" = 0 ]; then echo "make test: all checks passed"; else echo "make test: FAILED"; exit 1; fi
