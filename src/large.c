/*
 * large.c -- objects over 32 KiB: one span each, straight from the page
 * heap.
 *
 * A large span has one slot (nelems 1, elemsize = its whole pages, so the
 * usable size is the request rounded up to pages).  Its alloc bit is set
 * after the span is published and cleared by a compare-and-swap on free,
 * so of two racing frees only one returns the pages.  Large objects are
 * not zeroed when freed; the page heap remembers their pages as dirty
 * (HEAP-3) and allocation zeroes them only then.
 *
 * Owns: the list of in-use large spans, for the sweeper.  New spans go
 * at its tail, and so do the survivors of a sweep, so after a cycle the
 * unswept spans are the list's head: a large allocation reclaims as many
 * pages from there as it takes (Go's mheap reclaim) before the heap grows
 * for it, so large garbage does not wait for the background sweeper.
 * Concurrency: `large_lock` over the list and the sweep of its spans.
 * LARGE-1: every in-use large span is on the list exactly once.
 */
#include "internal.h"
#include "vg.h"

static pthread_mutex_t large_lock = PTHREAD_MUTEX_INITIALIZER;
static struct span *large_spans, *large_tail;

static void list_add(struct span *s)
{
    s->next = NULL;
    s->prev = large_tail;
    if (large_tail)
        large_tail->next = s;
    else
        large_spans = s;
    large_tail = s;
}

static void list_del(struct span *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        large_spans = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        large_tail = s->prev;
}

/* Lock held.  Sweeps s: frees it if the last cycle did not mark it (or
 * it was freed while marking), else moves it to the tail; returns the
 * pages freed. */
static size_t sweep_one(struct span *s)
{
    size_t n = gci_span_sweep(s), npages = s->npages;
    list_del(s);
    /* n == 0 with the alloc bit clear: freed while marking */
    if (n || !span_bit(s, BM_ALLOC, 0)) {
        gci_mheap_free(s);
        return npages;
    }
    list_add(s);
    return 0;
}

/* Before a large allocation of `npages` (in its no-stop region): sweeps
 * unswept large spans from the list's head until as many pages were
 * freed, looking at 64 spans at most. */
void gci_large_reclaim(size_t npages)
{
    size_t gen = at_load(&gci_sweepgen), freed = 0;
    pthread_mutex_lock(&large_lock);
    struct span *s;
    for (int i = 0; i < 64 && freed < npages; i++) {
        if (!(s = large_spans) || s->sweepgen == gen)
            break;
        freed += sweep_one(s);
    }
    pthread_mutex_unlock(&large_lock);
}

void *gci_large_alloc(struct mcache *c, size_t size, enum gci_kind kind)
{
    size_t npages = (size + GCI_PAGE_BYTES - 1) >> GCI_PAGE_SHIFT;
    struct span *s = gci_mheap_alloc(npages, 0, kind);
    if (!s)
        return NULL;
    void *p = (void *)s->start;
    vg_alloc(p, s->elemsize);
    if (s->needzero)
        memset(p, 0, s->elemsize);
    pthread_mutex_lock(&large_lock);
    list_add(s);
    if (gci_marking()) { /* black, as in take_slot */
        at_fetch_or(span_bits(s, BM_MARK, 0), 1);
        c->black_bytes += s->elemsize;
    }
    at_store(span_bits(s, BM_ALLOC, 0), 1);
    pthread_mutex_unlock(&large_lock);
    at_bump(&c->nmalloc, 1);
    at_bump(&c->bytes_alloc, s->elemsize);
    gci_mcache_flush_heap_alloc(c);
    return p;
}

/* Returns false (for the caller to report, outside its no-stop region)
 * when a racing free got there first. */
bool gci_large_free(struct mcache *c, struct span *s)
{
    if (gci_marking()) {
        /* A marker may be looking at s: the free is only noted (freed
         * bit) and the sweep hands the pages back.  Freeing deletes the
         * object's edges, so its words are shaded first. */
        if (s->kind != GCI_NOSCAN)
            gci_shade_range((void *)s->start, s->elemsize);
        if (at_fetch_or(span_bits(s, BM_FREED, 0), 1) & 1)
            return false;
        at_bump(&c->nfree, 1);
        at_bump(&c->bytes_freed, s->elemsize);
        gci_mcache_flush_heap_alloc(c);
        vg_free((void *)s->start);
        return true;
    }
    pthread_mutex_lock(&large_lock);
    if (!at_cas(span_bits(s, BM_ALLOC, 0), 1, 0)) {
        pthread_mutex_unlock(&large_lock);
        return false;
    }
    list_del(s);
    pthread_mutex_unlock(&large_lock);
    at_bump(&c->nfree, 1);
    at_bump(&c->bytes_freed, s->elemsize);
    gci_mcache_flush_heap_alloc(c);
    vg_free((void *)s->start);
    gci_mheap_free(s);
    return true;
}

/* Frees every large object the last cycle did not mark. */
void gci_large_sweep_all(void)
{
    pthread_mutex_lock(&large_lock);
    size_t gen = at_load(&gci_sweepgen);
    struct span *s;
    while ((s = large_spans) != NULL && s->sweepgen != gen)
        sweep_one(s);
    pthread_mutex_unlock(&large_lock);
}
