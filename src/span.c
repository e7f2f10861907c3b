/*
 * span.c -- span metadata: allocating the structs, and the bitmap
 * operations on one span.
 *
 * A span struct carries its three bitmaps (alloc, freed, mark) inline and
 * interleaved word by word (internal.h, span_bits), sized for its object
 * count, so a span of 32 objects costs 3 words of bitmap and one of 1024
 * objects 48.  Structs come from five pools (1, 2, 4, 8 or 16
 * words per bitmap), each a free list over 64 KiB chunks of metadata
 * memory; structs are never returned to the OS, so a stale page-map entry
 * never points at unmapped memory.
 *
 * Concurrency: gci_span_new/delete run with the heap lock held.  The
 * bitmap functions run on a span the caller owns (its mcache, or the
 * mcentral lock of its class when no cache owns it, or a sweeper that took
 * it off the class's lists); see struct span.
 */
#include "internal.h"

#include <stddef.h>
#include "vg.h"

#define NUM_POOLS 5 /* bitmaps of 1, 2, 4, 8, 16 words */
#define CHUNK_BYTES ((size_t)64 << 10)

struct span_pool {
    struct span *free;
    char *bump, *end;
};

static struct span_pool pools[NUM_POOLS];

static size_t pool_of(size_t nwords)
{
    size_t p = 0;
    while (((size_t)1 << p) < nwords)
        p++;
    GCI_ASSERT(p < NUM_POOLS);
    return p;
}

static size_t pool_struct_bytes(size_t pool)
{
    size_t n = sizeof(struct span) + 3 * ((size_t)1 << pool) * sizeof(AO_t);
    return (n + 63) & ~(size_t)63; /* one span per cache line run */
}

struct span *gci_span_new(size_t nwords)
{
    size_t p = pool_of(nwords);
    struct span_pool *pool = &pools[p];
    struct span *s = pool->free;
    if (s) {
        pool->free = s->next;
    } else {
        size_t bytes = pool_struct_bytes(p);
        if (pool->bump + bytes > pool->end) {
            pool->bump = gci_os_alloc_meta(CHUNK_BYTES);
            if (!pool->bump)
                return NULL;
            pool->end = pool->bump + CHUNK_BYTES;
        }
        s = (struct span *)pool->bump;
        pool->bump += bytes;
    }
    /* Cleared around `state`, which is written atomically: a concurrent
     * mark may read a recycled record's state through a stale page-map
     * entry (mark.c, mheap.c) and must see either value, whole. */
    size_t st = offsetof(struct span, state), rest = st + sizeof s->state;
    memset(s, 0, st);
    at_store(&s->state, SPAN_DEAD);
    memset((char *)s + rest, 0, pool_struct_bytes(p) - rest);
    s->pool = (uint8_t)p;
    s->nwords = (uint8_t)(1u << p);
    return s;
}

void gci_span_delete(struct span *s)
{
    at_store(&s->state, SPAN_DEAD);
    s->next = pools[s->pool].free;
    pools[s->pool].free = s;
}

/* Lays out span s (its start and npages set) for objects of class cls
 * (0: one large object).  The bitmaps start all clear. */
void gci_span_init_objects(struct span *s, unsigned cls, enum gci_kind kind)
{
    s->spanclass = (uint16_t)span_class_of(cls, kind);
    s->kind = (uint8_t)kind;
    if (cls == 0) {
        s->elemsize = s->npages * GCI_PAGE_BYTES;
        s->nelems = 1;
        s->magic = 0;
    } else {
        s->elemsize = gci_class_bytes[cls];
        s->nelems = gci_class_objects[cls];
        s->magic = gci_class_magic[cls];
    }
    size_t nw = bitmap_words(s->nelems);
    GCI_ASSERT(nw <= s->nwords);
    s->nwords = (uint8_t)nw;
    memset(s->bits, 0, 3 * nw * sizeof(AO_t));
    s->freeindex = 0;
    s->alloc_cache = 0;
}

/* Points alloc_cache at the first word, from from_word on, that has a free
 * slot.  Returns false when there is none (SPAN-2). */
bool gci_span_prime(struct span *s, size_t from_word)
{
    for (size_t w = from_word; w < s->nwords; w++) {
        uint64_t free_slots =
            ~at_load(span_bits(s, BM_ALLOC, w)) & span_word_mask(s, w);
        if (free_slots) {
            s->freeindex = (uint32_t)(w * 64);
            s->alloc_cache = free_slots;
            return true;
        }
    }
    s->freeindex = (uint32_t)(s->nwords * 64);
    s->alloc_cache = 0;
    return false;
}

/* Folds frees made by other threads into the alloc bits; returns how many
 * slots it freed.  Only the span's owner or lock holder calls it. */
size_t gci_span_drain(struct span *s)
{
    size_t n = 0;
    for (size_t w = 0; w < s->nwords; w++) {
        uint64_t freed = at_take(span_bits(s, BM_FREED, w));
        if (freed) {
            at_store(span_bits(s, BM_ALLOC, w),
                     at_load(span_bits(s, BM_ALLOC, w)) & ~freed);
            n += (size_t)gci_popcount64(freed);
        }
    }
    return n;
}

size_t gci_span_count_alloc(const struct span *s)
{
    size_t n = 0;
    for (size_t w = 0; w < s->nwords; w++)
        n += (size_t)gci_popcount64(at_load(span_bits(s, BM_ALLOC, w)));
    return n;
}

/* Clears a span's memory before it holds small objects again. */
void gci_span_zero(struct span *s)
{
    vg_zero((void *)s->start, s->npages * GCI_PAGE_BYTES);
    s->needzero = false;
}

/* Frees the dead objects of s from the cycle that just marked: a slot
 * stays allocated only if it was marked (or s is uncollectable).  Dead
 * objects are not zeroed here: a span that lost any is marked needzero,
 * and allocation zeroes each object it hands out from it, when its cache
 * lines are about to be written anyway (Go's needzero; large spans go
 * back to the page heap dirty).  Sweeping only touches the span's
 * metadata, never its pages.  Clears the mark bits, stamps s as swept,
 * and returns how many objects it freed.  Runs on a span no cache owns,
 * under the class's mcentral lock, or off the class's lists (mcentral.c),
 * or under the large-object lock. */
size_t gci_span_sweep(struct span *s)
{
    size_t n = 0;
    gci_span_drain(s);
    for (size_t w = 0; w < s->nwords; w++) {
        uint64_t alloc = at_load(span_bits(s, BM_ALLOC, w));
        uint64_t dead = alloc & ~at_load(span_bits(s, BM_MARK, w));
        if (s->kind == GCI_UNCOLLECTABLE)
            dead = 0;
        at_store(span_bits(s, BM_MARK, w), 0);
        if (!dead)
            continue;
        at_store(span_bits(s, BM_ALLOC, w), alloc & ~dead);
        n += (size_t)gci_popcount64(dead);
#if GCHEAP_VALGRIND
        for (; dead; dead &= dead - 1)
            vg_free(
                (void *)span_object(s, w * 64 + (size_t)__builtin_ctzll(dead)));
#endif
    }
    s->sweepgen = at_load(&gci_sweepgen);
    if (n) {
        s->needzero = true;
        at_fetch_add(&gci_stat_nfree, n);
        at_fetch_add(&gci_stat_bytes_freed, n * s->elemsize);
    }
    return n;
}
