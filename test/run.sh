#!/bin/sh
# Runs test programs and counts them: each is one test, passing when it
# exits 0.  Prints each verdict and the failing ones' output.
#
#   test/run.sh [--tally FILE] [--group NAME] [--wrap 'CMD ARGS'] BIN...
#       With --tally, appends "NAME PASSED FAILED" to FILE and exits 0, so
#       `make test` runs every group; without, prints the closing line.
#       A test still running after GCHEAP_TEST_TIMEOUT seconds (default
#       600) is killed and fails: a deadlock must not hang the suite.
#   test/run.sh --summary FILE
#       Prints the failing tests again, each with the end of its output
#       (kept in FILE.fail), then the one closing "N passed, N failed"
#       line over all groups, and exits 1 if any test failed.  A log
#       that shows only its last lines still names what failed.
tally=""; group="tests"; wrap=""
limit=${GCHEAP_TEST_TIMEOUT:-600}
killer=""
command -v timeout >/dev/null 2>&1 && killer="timeout -k 10 $limit"
if [ "$1" = "--summary" ]; then
    [ -s "$2.fail" ] && cat "$2.fail"
    awk '{ p += $2; f += $3; if ($3 > 0) bad = bad " " $1 }
         END { if (bad != "") print "groups with failures:" bad;
               printf "%d passed, %d failed\n", p, f; exit (f > 0) }' "$2"
    exit $?
fi
while [ $# -gt 0 ]; do
    case "$1" in
        --tally) tally="$2"; shift 2 ;;
        --group) group="$2"; shift 2 ;;
        --wrap) wrap="$2"; shift 2 ;;
        *) break ;;
    esac
done
pass=0; fail=0
for t in "$@"; do
    log=$(mktemp)
    start=$(date +%s)
    if $killer $wrap "$t" >"$log" 2>&1; then
        pass=$((pass + 1)); verdict=PASS
    else
        fail=$((fail + 1)); verdict=FAIL
    fi
    echo "[$group] $verdict $t ($(( $(date +%s) - start ))s)"
    if [ "$verdict" = FAIL ]; then
        sed 's/^/    | /' "$log" | tail -40
        if [ -n "$tally" ]; then
            echo "[$group] FAIL $t, its last lines:" >> "$tally.fail"
            sed 's/^/    | /' "$log" | tail -12 >> "$tally.fail"
        fi
    fi
    rm -f "$log"
done
if [ -n "$tally" ]; then
    echo "$group $pass $fail" >> "$tally"
    echo "[$group] $pass ok, $fail failing"
    exit 0
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
