/*
 * first_object.c -- the collector's own static data is no root for heap
 * objects (API.md, "Roots": only what the program holds keeps an object
 * alive).
 *
 * The first object the process allocates sits at the start of the heap's
 * first arena.  gcheap's static data lies among the program's, so a
 * bookkeeping word that holds that address (the heap's lower bound once
 * did) is a conservative root for it, and the object -- with everything
 * it references -- could never be collected.  The test allocates that
 * object first, hangs a chain of objects off it, drops it, and expects
 * the weak links to all of them to read NULL after collections.
 */
#include "../check.h"
#include "../../gcheap.h"
#include "gc_util.h"

#include <stdlib.h>

enum { CHAIN = 64 };

struct obj {
    struct obj *next;
    uint64_t pay[7];
};

static void **links; /* in malloc memory: no root */

GCT_NOINLINE static void create(void)
{
    struct obj *first = gc_alloc(sizeof *first);
    REQUIRE(first != NULL);
    /* The premise: this is the first object of the heap's first arena. */
    CHECKF(((uintptr_t)first & ((64u << 20) - 1)) == 0,
           "the first object is at %p, not at an arena's start", (void *)first);
    gc_weak_link(&links[0], first);
    struct obj *o = first;
    for (int i = 1; i < CHAIN; i++) {
        o->next = gc_alloc(sizeof *o);
        REQUIRE(o->next != NULL);
        o = o->next;
        gct_fill(o->pay, 7, (uint64_t)i);
        gc_weak_link(&links[i], o);
    }
}

int main(void)
{
    links = calloc(CHAIN, sizeof *links);
    REQUIRE(links != NULL);
    gc_init();
    create();
    gct_collect_clean(2);
    gct_churn(8u << 20, 2, 3);
    gct_collect_clean(2);
    size_t c = gct_cleared(links, CHAIN);
    CHECKF(c == CHAIN, "%zu of %d dropped objects still linked", CHAIN - c,
           CHAIN);
    printf("%zu of %d dropped objects reclaimed\n", c, CHAIN);
    free(links);
    return check_done();
}
