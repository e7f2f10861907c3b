/*
 * stats.c -- gc_get_stats.
 *
 * Allocation counters live in each thread's cache (bumped without atomics
 * by the owner) and are added up on demand; an exiting thread folds its
 * counters into the global ones below under the threads lock.  Heap sizes
 * come from the page heap, the collector's from gc.c.
 */
#include "internal.h"

AO_t gci_stat_nmalloc, gci_stat_bytes_alloc;
AO_t gci_stat_nfree, gci_stat_bytes_freed;

/* Called with the threads lock held. */
void gci_stats_absorb(struct mcache *c)
{
    gci_mcache_flush_all(c);
    c->flushed = 0;
    at_fetch_add(&gci_stat_nmalloc, at_load(&c->nmalloc));
    at_fetch_add(&gci_stat_bytes_alloc, at_load(&c->bytes_alloc));
    at_fetch_add(&gci_stat_nfree, at_load(&c->nfree));
    at_fetch_add(&gci_stat_bytes_freed, at_load(&c->bytes_freed));
    at_store(&c->nmalloc, 0);
    at_store(&c->bytes_alloc, 0);
    at_store(&c->nfree, 0);
    at_store(&c->bytes_freed, 0);
}

GCI_API void gc_get_stats(gc_stats *out)
{
    init_once();
    uint64_t sum[4];
    gci_threads_sum_stats(sum);
    memset(out, 0, sizeof *out);
    out->mallocs = sum[0];
    out->total_alloc = sum[1];
    out->frees = sum[2];
    out->heap_objects = sum[0] - sum[2];
    out->heap_alloc = sum[1] - sum[3];
    out->heap_sys = gci_mheap_sys_bytes();
    out->heap_released = gci_mheap_released_bytes();
    gci_gc_stats(out);
}
