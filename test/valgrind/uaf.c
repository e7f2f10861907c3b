/*
 * uaf.c -- a deliberate use after free, for memcheck: the Makefile runs it
 * under valgrind and expects an "Invalid read" report (so that the library's
 * client requests mark freed objects inaccessible).  Not a test by itself.
 */
#include "../../gcheap.h"

#include <stdio.h>

int main(void)
{
    volatile char *p = gc_alloc(64);
    p[10] = 42;
    gc_free((void *)p);
    char c = p[10]; /* the invalid read */
    printf("read %d after free\n", c);
    return 0;
}
