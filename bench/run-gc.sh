#!/bin/sh
# run-gc.sh -- run binarytrees and GCBench with every allocator and print
# wall time and peak RSS side by side with gcheap's ratios.
#
#   sh run-gc.sh [-r runs] [-d depth] [-T seconds] [-a allocs] [-b benches] DIR
#
#   DIR      where the binaries are: DIR/<bench>-<alloc> (../build/bench)
#   -r N     runs of every binary (default 3): the table shows the fastest
#            and the median
#   -d D     binarytrees max depth (default: the binary's own, 20)
#   -T S     limit for one run of one binary, seconds (default 300; needs
#            timeout(1), otherwise no limit)
#   -a LIST  allocators, comma-separated (default gcheap,bdwgc,mimalloc,malloc)
#   -b LIST  benchmarks, comma-separated (default binarytrees,gcbench)
#
# Each binary prints one line
#   RESULT bench=B alloc=A [depth=D] seconds=S maxrss_kib=K check=C
# (see binarytrees.c, gcbench.c).  Runs are interleaved: round 1 runs every
# allocator of a benchmark in the order given, round 2 in reverse, and so
# on, so slow drifts of the machine's load hit all allocators alike.  Per
# benchmark and allocator the table shows the best (shortest) wall time, the
# median wall time of the runs, and the peak RSS of the best run.  Ratios
# are gcheap / other: below 1.00 gcheap is faster or smaller.
#
# These are benchmark figures, not tests: the exit status is non-zero only
# if a binary fails (crash, non-zero exit, time limit, no RESULT line) or
# the check values of one benchmark disagree between runs or allocators.
set -eu

runs=3 depth="" limit=300 allocs="gcheap,bdwgc,mimalloc,malloc" benches="binarytrees,gcbench"
usage() {
    echo "usage: $0 [-r runs] [-d depth] [-T seconds] [-a allocs] [-b benches] DIR" >&2
    exit 2
}
while getopts r:d:T:a:b:h opt; do
    case $opt in
    r) runs=$OPTARG ;;
    d) depth=$OPTARG ;;
    T) limit=$OPTARG ;;
    a) allocs=$OPTARG ;;
    b) benches=$OPTARG ;;
    *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
dir=$1
case $runs in '' | *[!0-9]* | 0) usage ;; esac
case $limit in '' | *[!0-9]*) usage ;; esac
allocs=$(echo "$allocs" | tr ',' ' ')
benches=$(echo "$benches" | tr ',' ' ')
reversed=""
for a in $allocs; do reversed="$a $reversed"; done

for b in $benches; do
    for a in $allocs; do
        [ -x "$dir/$b-$a" ] || { echo "$0: $dir/$b-$a is missing (make -C bench)" >&2; exit 2; }
    done
done

wrap=""
if [ "$limit" -gt 0 ] && command -v timeout >/dev/null 2>&1; then
    wrap="timeout -k 10 $limit"
fi

out=$(mktemp)
one=$(mktemp)
trap 'rm -f "$out" "$one"' EXIT INT TERM

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
echo "# host: ${cpu:-unknown CPU}, $(getconf _NPROCESSORS_ONLN) CPUs online," \
    "load average $(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || echo unknown)"
echo "# $runs runs per binary, time limit ${limit}s per run${depth:+, binarytrees depth $depth}"

failed=0
r=1
while [ "$r" -le "$runs" ]; do
    if [ $((r % 2)) -eq 1 ]; then order=$allocs; else order=$reversed; fi
    for b in $benches; do
        args=""
        [ "$b" = binarytrees ] && [ -n "$depth" ] && args=$depth
        for a in $order; do
            cmd="$dir/$b-$a${args:+ $args}"
            status=0
            # $wrap and $args are split on purpose.
            # shellcheck disable=SC2086
            $wrap "$dir/$b-$a" $args >"$one" 2>&1 || status=$?
            line=$(grep '^RESULT ' "$one" || true)
            if [ "$status" -ne 0 ] || [ -z "$line" ]; then
                why="exit status $status"
                [ "$status" -eq 124 ] && [ -n "$wrap" ] && why="no result within ${limit}s (killed by timeout)"
                [ "$status" -gt 128 ] && [ "$status" -ne 124 ] && why="killed by signal $((status - 128))"
                echo "FAILED: $cmd: $why; its output:"
                sed 's/^/    /' "$one"
                failed=1
                continue
            fi
            echo "$line run=$r" >>"$out"
            echo "$line" | awk -v r="$r" '{
                for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
                printf "run %d  %-12s %-9s %8.3f s %8.1f MiB  check=%s\n", r, f["bench"], f["alloc"],
                    f["seconds"], f["maxrss_kib"] / 1024, f["check"]
            }'
        done
    done
    r=$((r + 1))
done

echo
status=0
awk -v allocs="$allocs" -v benches="$benches" '
function field(line, key,    n, i, kv) {
    n = split(line, kv, " ")
    for (i = 1; i <= n; i++)
        if (index(kv[i], key "=") == 1)
            return substr(kv[i], length(key) + 2)
    return ""
}
function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "-" : sprintf("%.2f", a / b) }
function val(x, fmt) { return x == "" ? "-" : sprintf(fmt, x) }
function verdict(x, limit) { return x == "-" ? "n/a" : (x + 0 <= limit ? "met" : "missed") }
# The median of the wall times of bench b with allocator a.
function median(b, a,    n, i, j, x, s) {
    n = nrun[b, a]
    for (i = 1; i <= n; i++) {
        x = times[b, a, i]
        for (j = i - 1; j >= 1 && s[j] > x; j--)
            s[j + 1] = s[j]
        s[j + 1] = x
    }
    return n % 2 ? s[(n + 1) / 2] : (s[n / 2] + s[n / 2 + 1]) / 2
}

/^RESULT / {
    b = field($0, "bench"); a = field($0, "alloc")
    s = field($0, "seconds") + 0; k = field($0, "maxrss_kib") + 0; c = field($0, "check")
    if (!((b, a) in best) || s < best[b, a]) { best[b, a] = s; rss[b, a] = k / 1024 }
    times[b, a, ++nrun[b, a]] = s
    if (b in check && check[b] != c) {
        printf "CHECK MISMATCH: %s: alloc=%s run=%s check=%s, but %s gave check=%s\n",
            b, a, field($0, "run"), c, checkby[b], check[b]
        bad = 1; badb[b] = 1
    }
    if (!(b in check)) { check[b] = c; checkby[b] = "alloc=" a " run=" field($0, "run") }
}

END {
    na = split(allocs, al, " ")
    nb = split(benches, bl, " ")
    # gcheap first, then the others in the order given.
    n = 0
    for (i = 1; i <= na; i++) if (al[i] == "gcheap") col[++n] = "gcheap"
    for (i = 1; i <= na; i++) if (al[i] != "gcheap") col[++n] = al[i]
    has_g = col[1] == "gcheap"

    for (key in nrun) { split(key, ba, SUBSEP); med[ba[1], ba[2]] = median(ba[1], ba[2]) }
    print "Wall time: best run (seconds) and median of the runs (median_s).  Peak RSS: ru_maxrss of the best run, MiB."
    if (has_g) print "Ratios: gcheap / other; below 1.00 means gcheap is faster (seconds) or smaller (MiB)."
    print ""
    printf "%-12s %-8s", "bench", "metric"
    for (i = 1; i <= n; i++) printf " %9s", col[i]
    if (has_g) { printf " |"; for (i = 2; i <= n; i++) printf " %10s", "g/" col[i] }
    printf "\n"
    for (j = 1; j <= nb; j++) {
        b = bl[j]
        for (m = 1; m <= 3; m++) {
            printf "%-12s %-8s", b, m == 1 ? "seconds" : m == 2 ? "median_s" : "rss_MiB"
            for (i = 1; i <= n; i++) {
                a = col[i]
                v[i] = (b, a) in best ? (m == 1 ? best[b, a] : m == 2 ? med[b, a] : rss[b, a]) : ""
                printf " %9s", val(v[i], m < 3 ? "%.3f" : "%.1f")
            }
            if (has_g) {
                printf " |"
                for (i = 2; i <= n; i++) printf " %10s", ratio(v[1], v[i])
            }
            printf "\n"
        }
        printf "%-12s %-8s %s\n", b, "check", (b in check) ? check[b] (b in badb ? " (DISAGREE: see CHECK MISMATCH above)" : " (all runs agree)") : "-"
    }
    if (has_g) {
        print ""
        print "Targets (benchmark figures, not tests): gcheap time <= 0.80 x bdwgc (aim: mimalloc), peak RSS <= bdwgc."
        for (j = 1; j <= nb; j++) {
            b = bl[j]
            t = ((b, "bdwgc") in best) ? ratio(best[b, "gcheap"], best[b, "bdwgc"]) : "-"
            tm = ((b, "bdwgc") in best) ? ratio(med[b, "gcheap"], med[b, "bdwgc"]) : "-"
            r = ((b, "bdwgc") in best) ? ratio(rss[b, "gcheap"], rss[b, "bdwgc"]) : "-"
            mi = ((b, "mimalloc") in best) ? ratio(best[b, "gcheap"], best[b, "mimalloc"]) : "-"
            printf "%-12s time g/bdwgc %s (<= 0.80: %s; medians %s: %s), time g/mimalloc %s (<= 1.00: %s), rss g/bdwgc %s (<= 1.00: %s)\n",
                b, t, verdict(t, 0.80), tm, verdict(tm, 0.80), mi, verdict(mi, 1.00), r, verdict(r, 1.00)
        }
    }
    exit bad
}
' "$out" || status=1

if [ "$failed" -ne 0 ]; then
    echo "$0: some runs failed (see FAILED above)" >&2
    status=1
fi
exit "$status"
