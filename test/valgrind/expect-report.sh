#!/bin/sh
# Proves the memcheck client requests work: each program here reads memory
# the heap has declared no-access and must be reported by memcheck as an
# invalid read.  Passes only if every one is.
#   uaf      a use after gc_free
#   untaken  heap address space reserved but not yet taken by the page heap
fail=0
for name in uaf untaken; do
    bin=build/valgrind/test/valgrind/$name
    [ -x "$bin" ] || { echo "missing $bin"; exit 1; }
    out=$(valgrind --error-exitcode=99 --leak-check=no "$bin" 2>&1)
    status=$?
    echo "$out" | tail -20
    if [ "$status" -ne 99 ]; then
        echo "$name: memcheck exit $status, expected 99"; fail=1
    elif ! echo "$out" | grep -q "Invalid read"; then
        echo "$name: no 'Invalid read'"; fail=1
    else
        echo "$name: memcheck reported the invalid read"
    fi
done
exit $fail
