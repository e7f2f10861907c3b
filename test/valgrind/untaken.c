/*
 * untaken.c -- a deliberate read of heap address space the page heap has
 * not taken yet, for memcheck: arenas are mapped readable and writable
 * when reserved (src/os.c), so natively the read returns 0, and only the
 * library's no-access marking of the untaken part (src/arena.c) lets
 * memcheck report it.  The Makefile runs it under valgrind and expects an
 * "Invalid read".  Not a test by itself.
 */
#include "../../gcheap.h"

#include <stdint.h>
#include <stdio.h>

#define ARENA ((uintptr_t)64 << 20) /* regions are whole, aligned arenas */

int main(void)
{
    char *p = gc_alloc(64);
    gc_stats st;
    gc_get_stats(&st);
    if (st.heap_sys >= ARENA / 2) {
        printf("heap already %llu bytes: cannot place the read\n",
               (unsigned long long)st.heap_sys);
        return 1;
    }
    /* The first region holds p and starts at an arena boundary; its
     * second half is reserved but not taken. */
    volatile char *untaken =
        (char *)(((uintptr_t)p & ~(ARENA - 1)) + ARENA / 2 + 4096);
    char c = *untaken; /* the invalid read */
    printf("read %d from untaken heap address space\n", c);
    return 0;
}
