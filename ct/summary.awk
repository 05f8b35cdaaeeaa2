# Reads the output of the authgate-ct binary and prints one line per benchmark: max |t|,
# the median difference between the classes, and what the figure means for that benchmark.
# Exits 1 when a benchmark meant to be constant time reaches |t| >= max, or when a positive
# control stays below it (the run would then be too noisy to show anything).
#
#   awk -v max=5 -v leaks="a b" -v refs="c" -v controls="d" -f ct/summary.awk ct.log
function abs(x) { return x < 0 ? -x : x }
function member(name, list,   n, i, a) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) if (a[i] == name) return 1
    return 0
}
/^  medians: / { diff = $(NF - 1) }
/^bench .* max t = / {
    name = $2
    t = $0; sub(/.*max t = /, "", t); sub(/,.*/, "", t); t = abs(t + 0)
    if (member(name, controls)) {
        verdict = t >= max ? "control: leak seen (harness sensitive enough)" : "CONTROL NOT DETECTED: run too noisy"
        if (t < max) bad++
    } else if (member(name, refs)) {
        verdict = "reference (ct/README.md): not a property of the core"
    } else if (member(name, leaks)) {
        verdict = t >= max ? "KNOWN LEAK (ct/README.md)" : "known leak now below 5: remove it from CT_KNOWN_LEAKS"
    } else {
        verdict = t < max ? "constant time (|t| < " max ")" : "LEAK: |t| >= " max
        if (t >= max) bad++
    }
    rows[++n] = sprintf("%-48s %10.2f %10s ns   %s", name, t, diff, verdict)
    diff = "?"
}
END {
    printf "\n%-48s %10s %13s   %s\n", "benchmark", "max |t|", "median diff", "verdict"
    for (i = 1; i <= n; i++) print rows[i]
    if (n == 0) { print "ct: no benchmark result found"; exit 1 }
    if (bad) { printf "ct: %d benchmark(s) failed\n", bad; exit 1 }
    printf "ct: %d benchmarks, every constant-time check below |t| = %s\n", n, max
}
