/* Unit test of the page heap: neighbouring free spans coalesce (HEAP-2),
 * the scavenger's step releases part of a run and keeps it apart,
 * freed pages are reused, free bytes add up (HEAP-4), dirty pages are
 * remembered (HEAP-3), growth beyond one arena works, and the verifier
 * catches a planted inconsistency. */
#include "../check.h"
#include "internal.h"

static struct span *take(size_t npages)
{
    struct span *s = gci_mheap_alloc(npages, 0, GCI_SCAN);
    REQUIRE(s != NULL);
    return s;
}

static void test_coalesce_and_reuse(void)
{
    struct span *a = take(3), *b = take(5), *c = take(7);
    uintptr_t a0 = a->start, b0 = b->start;
    CHECK(b0 == a0 + 3 * GCI_PAGE_BYTES && c->start == b0 + 5 * GCI_PAGE_BYTES);
    uint64_t free0 = gci_mheap_free_bytes();
    gci_mheap_free(a);
    gci_mheap_free(b);
    CHECK(gci_mheap_free_bytes() == free0 + 8 * GCI_PAGE_BYTES);
    CHECK(gci_mheap_verify());
    struct span *run = pagemap_lookup(a0);
    CHECK(run && at_load(&run->state) == SPAN_FREE && run->npages == 8);
    CHECK(run && pagemap_lookup(a0 + 7 * GCI_PAGE_BYTES) == run);
    struct span *d = take(8); /* exact fit: the coalesced run */
    CHECK(d->start == a0);
    CHECK(d->needzero); /* large spans freed dirty */
    gci_mheap_free(d);
    gci_mheap_free(c);
    CHECK(gci_mheap_verify());
    CHECK(gci_mheap_free_bytes() == free0 + 15 * GCI_PAGE_BYTES);
}

static void test_grow_past_an_arena(void)
{
    uint64_t sys0 = gci_mheap_sys_bytes();
    struct span *big = take(GCI_ARENA_PAGES + 10);
    CHECK(big->npages == GCI_ARENA_PAGES + 10);
    CHECK(gci_mheap_sys_bytes() >= sys0 + big->npages * GCI_PAGE_BYTES);
    CHECK(span_of((void *)(span_limit(big) - 1)) == big);
    gci_mheap_free(big);
    CHECK(gci_mheap_verify());
    struct span *again = take(GCI_ARENA_PAGES + 10);
    CHECK(again->start == big->start || again->npages == GCI_ARENA_PAGES + 10);
    gci_mheap_free(again);
}

static void test_scavenge(void)
{
    gci_mheap_release_free(); /* from here, ours is the one resident run */
    struct span *a = take(20);
    uintptr_t a0 = a->start, top = a0 + 15 * GCI_PAGE_BYTES;
    gci_mheap_free(a);
    uint64_t rel0 = gci_mheap_released_bytes();
    CHECK(gci_mheap_scavenge(5 * GCI_PAGE_BYTES) == 5 * GCI_PAGE_BYTES);
    CHECK(gci_mheap_released_bytes() == rel0 + 5 * GCI_PAGE_BYTES);
    struct span *hi = pagemap_lookup(top), *lo = pagemap_lookup(a0);
    REQUIRE(hi && lo && hi != lo);
    CHECK(hi->released && hi->npages >= 5 && !hi->needzero);
    CHECK(!lo->released && lo->npages == 15 && lo->needzero);
    CHECK(gci_mheap_verify()); /* adjacent, different states: HEAP-2 */

    /* Before growing, the heap joins runs of different states. */
    gci_mheap_merge_mixed();
    struct span *m = pagemap_lookup(a0);
    REQUIRE(m != NULL);
    CHECK(!m->released && m->needzero && m->npages >= 20);
    CHECK(gci_mheap_verify());
    CHECK(gci_mheap_released_bytes() <= rel0); /* joined: resident now */

    /* The scavenger takes it all back, in steps, and the released runs
     * coalesce. */
    size_t got = 0, step;
    while ((step = gci_mheap_scavenge(7 * GCI_PAGE_BYTES)) > 0)
        got += step;
    CHECK(got >= 20 * GCI_PAGE_BYTES);
    struct span *run = pagemap_lookup(a0);
    REQUIRE(run != NULL);
    CHECK(run->released && !run->needzero && run->npages >= 20);
    CHECK(gci_mheap_verify());
    uint64_t rel1 = gci_mheap_released_bytes();
    struct span *b = take(20);
    CHECK(!b->needzero); /* released pages read zero: no clearing due */
    CHECK(gci_mheap_released_bytes() == rel1 - 20 * GCI_PAGE_BYTES);
    gci_mheap_free(b);
}

static void test_verifier_catches_corruption(void)
{
    struct span *a = take(4), *b = take(4);
    uintptr_t a0 = a->start;
    gci_mheap_free(a);
    struct span *run = pagemap_lookup(a0);
    REQUIRE(run && at_load(&run->state) == SPAN_FREE);
    gci_mheap_lock();
    gci_pagemap_set(a0, 1, NULL); /* plant: the run's first page forgotten */
    gci_mheap_unlock();
    fprintf(stderr, "(a 'bad free run' line is expected here)\n");
    CHECK(!gci_mheap_verify());
    gci_mheap_lock();
    gci_pagemap_set(a0, 1, run);
    gci_mheap_unlock();
    CHECK(gci_mheap_verify());
    gci_mheap_free(b);
}

int main(void)
{
    gc_init();
    gci_scavenger_hold(); /* the free runs are ours to inspect */
    test_coalesce_and_reuse();
    test_grow_past_an_arena();
    test_scavenge();
    test_verifier_catches_corruption();
    return check_done();
}
