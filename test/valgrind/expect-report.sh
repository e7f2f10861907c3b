#!/bin/sh
# Proves the memcheck client requests work: a deliberate use after gc_free
# (test/valgrind/uaf.c, built in the valgrind mode) must be reported by
# memcheck as an invalid read.  Passes only if it is.
bin=build/valgrind/test/valgrind/uaf
[ -x "$bin" ] || { echo "missing $bin"; exit 1; }
out=$(valgrind --error-exitcode=99 --leak-check=no "$bin" 2>&1)
status=$?
echo "$out" | tail -20
[ "$status" -eq 99 ] || { echo "memcheck exit $status, expected 99"; exit 1; }
echo "$out" | grep -q "Invalid read" || { echo "no 'Invalid read'"; exit 1; }
echo "memcheck reported the use after gc_free"
