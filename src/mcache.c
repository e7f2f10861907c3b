/*
 * mcache.c -- the per-thread cache: one span per span class.
 *
 * The allocation fast path (alloc.c) takes the next free slot of the
 * thread's span for the class from its 64-bit alloc_cache, with no lock
 * and no atomic instruction.  When the cache word is used up, refill looks
 * further along the span, then rescans it if frees left at least a quarter
 * of it free, and otherwise trades it at the class's mcentral.
 *
 * Concurrency: an mcache belongs to one thread; only it touches alloc[] and
 * the spans they point to (see struct span for the fields others read).
 * MCACHE-1: alloc[sc] is gci_empty_span or a span of class sc owned by
 *           this cache.
 */
#include "internal.h"

/* The span every empty cache entry points to: its alloc_cache is 0, so the
 * fast path always falls through to refill.  Never written. */
struct span gci_empty_span;

void gci_mcache_init(struct mcache *c)
{
    for (size_t i = 0; i < GCI_NUM_SPANCLASSES; i++)
        c->alloc[i] = &gci_empty_span;
}

/* Room left in the cached span after its current word?  Rescans it when
 * frees (its own, or others' once drained) freed a quarter of it. */
static bool span_has_room(struct span *s)
{
    if (gci_span_prime(s, s->freeindex / 64 + 1))
        return true;
    gci_span_drain(s);
    size_t nfree = s->nelems - gci_span_count_alloc(s);
    return nfree * 4 >= s->nelems && gci_span_prime(s, 0);
}

/* Makes c->alloc[spanclass] a span with a free slot in its alloc_cache.
 * Returns false when the heap cannot grow. */
bool gci_mcache_refill(struct mcache *c, size_t spanclass)
{
    if (GCHEAP_DEBUG >= 2 && ++c->refills % 1024 == 0)
        GCI_ASSERT(gci_mheap_verify() && gci_mcentral_verify());
    gci_mcache_flush_heap_alloc(c);
    struct span *s = c->alloc[spanclass];
    if (s != &gci_empty_span) {
        GCI_ASSERT(at_load(&s->owner) == (size_t)c); /* MCACHE-1 */
        if (span_has_room(s))
            return true;
        c->alloc[spanclass] = &gci_empty_span;
        gci_mcentral_release(s);
    }
    s = gci_mcentral_acquire(c, spanclass);
    if (!s)
        return false;
    c->alloc[spanclass] = s;
    return true;
}

/* Hands every cached span back (thread exit; later, the collector). */
void gci_mcache_release_all(struct mcache *c)
{
    for (size_t i = 0; i < GCI_NUM_SPANCLASSES; i++) {
        struct span *s = c->alloc[i];
        if (s != &gci_empty_span) {
            c->alloc[i] = &gci_empty_span;
            gci_mcentral_release(s);
        }
    }
}

/* Adds what this cache allocated less what it freed since the last
 * flush to the global heap_alloc the pacer watches, once that is at least
 * FLUSH_BYTES either way: threads then rarely write the shared word, and
 * the pacer's view lags by under FLUSH_BYTES per thread. */
#define FLUSH_BYTES ((ptrdiff_t)64 << 10)

static void flush(struct mcache *c, bool always)
{
    size_t now = at_load(&c->bytes_alloc) - at_load(&c->bytes_freed);
    ptrdiff_t delta = (ptrdiff_t)(now - c->flushed);
    if (delta && (always || delta >= FLUSH_BYTES || delta <= -FLUSH_BYTES)) {
        at_fetch_add(&gci_heap_alloc, (size_t)delta);
        c->flushed = now;
    }
}

void gci_mcache_flush_heap_alloc(struct mcache *c) { flush(c, false); }

/* At mark termination and thread exit: everything, exactly. */
void gci_mcache_flush_all(struct mcache *c) { flush(c, true); }
