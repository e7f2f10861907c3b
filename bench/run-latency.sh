#!/bin/sh
# run-latency.sh -- run bench/latency with gcheap, bdwgc and Go in the same
# run and print the pause figures side by side, with glibc malloc (no
# collector: the machine's own floor under every figure) as a baseline.
#
#   sh run-latency.sh [-l live_mib] [-s seconds] [-r runs] DIR
#
#   DIR      where latency-gcheap, latency-bdwgc, latency-go,
#            latency-malloc, touch and spin are
#            (../build/bench)
#   -l MiB   live heap (default 2048)
#   -s S     seconds of allocation (default 10)
#   -r N     runs of each binary, interleaved (default 1); the table shows
#            the worst max gap and p99.9 over the runs and the lowest
#            allocation rate -- for pauses the bad run is the one that
#            counts
#
# Columns: allocation rate (million 64-byte objects/s), max gap (the
# longest iteration of 64 allocations: the largest pause the program saw),
# p99.9 and p99 iteration times, collections, peak RSS.  Then the floor of
# a growing heap, which malloc's row does not show: `touch` faults in
# live_mib MiB of fresh memory a page at a time (a collected heap grows by
# about the live size during the loop, a page every iteration or so),
# alone and beside a thread that reads live_mib MiB at random (as the
# concurrent marker does); each line gives the worst touch and how many
# touches took over 100 us and over 1 ms, to set beside gcheap-conc's max
# gap and the number of iterations that make up its slowest 0.1%.  Last
# the floor of any loop: `spin` times a loop of pure arithmetic for the
# same seconds, alone and beside a thread spinning on the other CPU (as
# the mark worker does): its gaps are the machine's own -- preemption,
# interrupts, the host -- and no allocator's figures can be below them.
# Benchmark figures, not tests: the exit status is non-zero only if a run
# fails.
set -eu
live=2048 secs=10 runs=1
while getopts l:s:r: opt; do
    case $opt in
    l) live=$OPTARG ;;
    s) secs=$OPTARG ;;
    r) runs=$OPTARG ;;
    *) echo "usage: $0 [-l live_mib] [-s seconds] [-r runs] DIR" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || { echo "usage: $0 [-l live_mib] [-s seconds] [-r runs] DIR" >&2; exit 2; }
dir=$1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "# host: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPUs; live ${live} MiB, ${secs} s, ${runs} run(s)"
i=1
while [ "$i" -le "$runs" ]; do
    for a in gcheap gcheap-conc bdwgc go malloc; do
        bin=$a conc=0
        [ "$a" = gcheap-conc ] && bin=gcheap conc=1
        line=$(GCHEAP_CONCURRENT=$conc "$dir/latency-$bin" "$live" "$secs" | grep '^RESULT') || {
            echo "$0: latency-$a failed" >&2; exit 1; }
        echo "run $i  $line"
        echo "$line" >>"$out"
    done
    for reader in 0 "$live"; do
        line=$("$dir/touch" "$live" "$reader" | grep '^RESULT') || {
            echo "$0: touch failed" >&2; exit 1; }
        echo "run $i  $line"
        echo "$line" >>"$out"
    done
    for busy in 0 1; do
        line=$("$dir/spin" "$secs" "$busy" | grep '^RESULT') || {
            echo "$0: spin failed" >&2; exit 1; }
        echo "run $i  $line"
        echo "$line" >>"$out"
    done
    i=$((i + 1))
done
echo
awk '
function val(k,   i, kv) { for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) return kv[2] } }
val("bench") == "touch" {
  k = val("reader_mib") > 0
  if (val("max_us") > tmax[k]) tmax[k] = val("max_us")
  if (val("over_100us") > t100[k]) t100[k] = val("over_100us")
  if (val("over_1ms") > t1[k]) t1[k] = val("over_1ms")
  if (!tn[k]++ || val("us_per_page") < tpage[k]) tpage[k] = val("us_per_page")
  next }
val("bench") == "spin" {
  k = val("busy")
  if (val("max_us") > smax[k]) smax[k] = val("max_us")
  if (val("over_100us") > s100[k]) s100[k] = val("over_100us")
  if (val("over_1ms") > s1[k]) s1[k] = val("over_1ms")
  if (!sn[k]++ || val("over_100us") < s100min[k]) s100min[k] = val("over_100us")
  if (!(k in smaxmin) || val("max_us") < smaxmin[k]) smaxmin[k] = val("max_us")
  next }
{ a = val("alloc"); r = val("allocs_per_s") / 1e6; g = val("max_gap_us") / 1000
  p = val("p999_us"); q = val("p99_us"); n = val("gcs"); m = val("maxrss_kib") / 1024
  if (!(a in rate) || r < rate[a]) rate[a] = r
  if (g > gap[a]) gap[a] = g
  if (p > p999[a]) p999[a] = p
  if (q > p99[a]) p99[a] = q
  if (n > gcs[a]) gcs[a] = n
  if (m > rss[a]) rss[a] = m }
END {
  printf "%-12s %12s %12s %10s %9s %6s %10s\n", "alloc", "Mallocs/s", "max gap ms", "p99.9 us", "p99 us", "gcs", "rss MiB"
  split("gcheap gcheap-conc bdwgc go malloc", order, " ")
  for (k = 1; k <= 5; k++) { a = order[k]
    printf "%-12s %12.1f %12.1f %10d %9d %6d %10.0f\n", a, rate[a], gap[a], p999[a], p99[a], gcs[a], rss[a] }
  printf "\nratios gcheap-conc/other: alloc rate x%.2f (bdwgc) x%.2f (go); max gap x%.3f (bdwgc) x%.3f (go)\n",
    rate["gcheap-conc"] / rate["bdwgc"], rate["gcheap-conc"] / rate["go"], gap["gcheap-conc"] / gap["bdwgc"], gap["gcheap-conc"] / gap["go"]
  printf "\nfirst touch of %d MiB, a page at a time (worst of %d):\n", '"$live"', tn[0]
  for (k = 0; k <= 1; k++)
    printf "  %-24s max %6.1f ms, %5d touches over 100 us, %4d over 1 ms, %.1f us a page\n", k ? "beside a random reader:" : "alone:", tmax[k] / 1000, t100[k], t1[k], tpage[k]
  printf "a loop of pure arithmetic, %d s (worst of %d; best in brackets):\n", '"$secs"', sn[0]
  for (k = 0; k <= 1; k++)
    printf "  %-24s max %6.1f ms (%.1f), %5d iterations over 100 us (%d), %4d over 1 ms\n", k ? "beside a busy CPU:" : "alone:", smax[k] / 1000, smaxmin[k] / 1000, s100[k], s100min[k], s1[k]
  printf "gcheap-conc: max gap %.1f ms; its slowest 0.1%%: %d iterations (at its lowest rate)\n", gap["gcheap-conc"], rate["gcheap-conc"] * 1e6 * '"$secs"' / 64 / 1000
  printf "targets (concurrent mode): max gap <= 1 ms, p99.9 <= 100 us, alloc rate >= 2x bdwgc\n"
}' "$out"
