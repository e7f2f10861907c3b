/* A shared library whose .bss and .data hold heap pointers, for
 * test/gc/shlib.c: the collector must treat its data as roots. */
#include <stddef.h>

void shlib_set(int which, void *p);
void *shlib_get(int which);

static void *bss_root;                      /* .bss */
static void *data_root = (void *)&bss_root; /* .data (non-NULL initialiser) */

__attribute__((visibility("default"))) void shlib_set(int which, void *p)
{
    if (which)
        data_root = p;
    else
        bss_root = p;
}

__attribute__((visibility("default"))) void *shlib_get(int which)
{
    return which ? data_root : bss_root;
}
