#!/bin/sh
# run-alloc.sh -- run the alloc-<allocator> binaries one after the other and
# print their throughput side by side with gcheap's ratios.
#
#   sh run-alloc.sh BINARY... [-- ARGS for every binary]
#
# Each binary prints lines
#   RESULT alloc=NAME workload=W threads=T pairs=P seconds=S mops=M checksum=C
# (see alloc.c).  Ratios are gcheap / other (above 1: gcheap is faster) and
# scaling is aggregate Mpairs/s with the most threads over 1 thread.  A
# missing allocator shows as "-".  These are benchmark figures, not tests:
# the exit status is non-zero only if a binary fails or the checksums of one
# configuration disagree between allocators (one of them did not zero).
set -eu

bins=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    bins="$bins $1"
    shift
done
[ $# -gt 0 ] && shift # the "--"
[ -n "$bins" ] || { echo "usage: $0 BINARY... [-- ARGS]" >&2; exit 2; }

out=$(mktemp)
one=$(mktemp)
trap 'rm -f "$out" "$one"' EXIT INT TERM

# Context for reading the figures: 2-thread results need 2 idle cores.
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
echo "# host: ${cpu:-unknown CPU}, $(getconf _NPROCESSORS_ONLN) CPUs online," \
    "load average $(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || echo unknown)"

for b in $bins; do
    echo "== $b $*"
    "$b" "$@" >"$one" || { cat "$one"; echo "$0: $b failed" >&2; exit 1; }
    cat "$one"
    cat "$one" >>"$out"
done

echo
awk '
function field(line, key,    n, i, kv) {
    n = split(line, kv, " ")
    for (i = 1; i <= n; i++)
        if (index(kv[i], key "=") == 1)
            return substr(kv[i], length(key) + 2)
    return ""
}
function num(x) { return x == "" ? "-" : sprintf("%.1f", x) }
function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "-" : sprintf("%.2f", a / b) }

/^RESULT / {
    a = field($0, "alloc"); w = field($0, "workload"); t = field($0, "threads") + 0
    m[a, w, t] = field($0, "mops")
    c = field($0, "checksum")
    if ((w, t) in sum && sum[w, t] != c) {
        printf "CHECKSUM MISMATCH: %s %s threads=%d: %s vs %s (an allocator did not zero, or the runs used different -n)\n", a, w, t, c, sum[w, t]
        bad = 1
    }
    sum[w, t] = c
    if (!(w in seen_w)) { seen_w[w] = 1; ws[++nw] = w }
    if (!(t in seen_t)) { seen_t[t] = 1; ts[++nt] = t }
    if (t > tmax) tmax = t
}

END {
    split("gcheap malloc mimalloc bdwgc", al, " ")
    print "Throughput: million alloc+free pairs per second (all threads together), best run."
    print "Ratios: gcheap / other, above 1.00 means gcheap is faster."
    print ""
    printf "%-8s %3s %9s %9s %9s %9s | %9s %10s %9s\n", "workload", "thr",
        "gcheap", "malloc", "mimalloc", "bdwgc", "g/malloc", "g/mimalloc", "g/bdwgc"
    for (i = 1; i <= nw; i++)
        for (j = 1; j <= nt; j++) {
            w = ws[i]; t = ts[j]; g = m["gcheap", w, t]
            printf "%-8s %3d %9s %9s %9s %9s | %9s %10s %9s\n", w, t,
                num(g), num(m["malloc", w, t]), num(m["mimalloc", w, t]), num(m["bdwgc", w, t]),
                ratio(g, m["malloc", w, t]), ratio(g, m["mimalloc", w, t]), ratio(g, m["bdwgc", w, t])
        }
    if ((1 in seen_t) && tmax > 1) {
        print ""
        printf "Scaling: aggregate throughput with %d threads / 1 thread (ideal %d.00).\n", tmax, tmax
        printf "%-8s %9s %9s %9s %9s\n", "workload", "gcheap", "malloc", "mimalloc", "bdwgc"
        for (i = 1; i <= nw; i++) {
            w = ws[i]
            printf "%-8s", w
            for (k = 1; k <= 4; k++)
                printf " %9s", ratio(m[al[k], w, tmax], m[al[k], w, 1])
            printf "\n"
        }
    }
    exit bad
}
' "$out"
