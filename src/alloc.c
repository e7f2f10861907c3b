/*
 * alloc.c -- the public allocation API: gc_alloc and its kin, gc_free,
 * gc_size, gc_base, gc_realloc.
 *
 * The fast path of a small allocation reads the thread's cached span for
 * the span class, takes the lowest set bit of its alloc_cache, sets the
 * slot's alloc bit and bumps two thread-local counters: no lock, no atomic
 * read-modify-write.  Everything else (first call, refill, large objects,
 * out of memory) is the slow path.
 *
 * A free by the thread whose cache owns the span clears the alloc bit
 * directly and, when the slot lies in the current cache word, hands it
 * straight back to the fast path; other frees set the slot's freed bit
 * with one atomic operation (mcentral.c drains them).
 *
 * Zeroing: a span is needzero once the collector has freed objects in it
 * (sweeping leaves their bytes), and then every object taken from it is
 * zeroed as it is handed out.  gc_free zeroes the object it frees, so
 * that explicit frees alone never make a span dirty.
 *
 * ALLOC-1: every object handed out is zero, and aligned to 16 bytes (8
 *          for the 8-byte class) because span starts are page-aligned and
 *          every class of 16 B or more is a multiple of 16.
 */
#include "internal.h"
#include "vg.h"

#include <errno.h>

/* Zeroes an object about to be handed out.  The common small sizes (8 to
 * 64 bytes, multiples of 8) take two overlapping stores of a constant
 * size, which compile to a few moves in line: a loop of word stores
 * compiled to `rep stos`, whose start-up costs more than the stores. */
static inline void zero_object(void *p, size_t bytes)
{
    char *c = p;
    if (bytes > 64) {
        memset(p, 0, bytes);
    } else if (bytes >= 32) {
        memset(c, 0, 32);
        memset(c + bytes - 32, 0, 32);
    } else if (bytes >= 16) {
        memset(c, 0, 16);
        memset(c + bytes - 16, 0, 16);
    } else {
        memset(c, 0, 8);
    }
}

/* Takes a slot from s, the cache's span for its class, whose alloc_cache
 * is not empty.  Runs inside a no-stop region. */
static inline __attribute__((always_inline)) void *take_slot(struct mcache *c,
                                                             struct span *s)
{
    uint64_t cache = s->alloc_cache;
    unsigned bit = (unsigned)__builtin_ctzll(cache);
    s->alloc_cache = cache & (cache - 1);
    if (GCI_UNLIKELY(gci_marking())) { /* black: mark bit before alloc bit,
                                          so no marker scans it half made */
        at_fetch_or(span_bits(s, BM_MARK, s->freeindex >> 6),
                    (uint64_t)1 << bit);
        c->black_bytes += s->elemsize;
    }
    AO_t *word = span_bits(s, BM_ALLOC, s->freeindex >> 6);
    at_store(word, at_load(word) | ((uint64_t)1 << bit));
    void *p = (void *)span_object(s, s->freeindex + bit);
    at_bump(&c->nmalloc, 1);
    at_bump(&c->bytes_alloc, s->elemsize);
    vg_alloc(p, s->elemsize);
    if (s->needzero)
        zero_object(p, s->elemsize);
    return p;
}

static inline void *alloc_fast(size_t size, enum gci_kind kind)
{
    struct mcache *c = gci_tls_cache;
    if (GCI_LIKELY(c != NULL && size <= GCI_MAX_SMALL)) {
        gci_nostop_begin(c);
        struct span *s = c->alloc[span_class_of(size_class(size), kind)];
        if (GCI_LIKELY(s->alloc_cache != 0)) {
            void *p = take_slot(c, s);
            gci_nostop_end(c);
            return p;
        }
        gci_nostop_end(c);
    }
    return gci_alloc_slow(size, kind);
}

static struct mcache *my_cache(void)
{
    struct mcache *c = gci_tls_cache;
    return c ? c : gci_thread_attach();
}

/* A small object on the slow path; *charge is set to the bytes the
 * refilled cache word can hand out, what an assist is owed for. */
static void *alloc_small_slow(struct mcache *c, size_t size, enum gci_kind kind,
                              size_t *charge)
{
    size_t sc = span_class_of(size_class(size), kind);
    gci_nostop_begin(c);
    void *p = NULL;
    if (c->alloc[sc]->alloc_cache != 0 || gci_mcache_refill(c, sc)) {
        struct span *s = c->alloc[sc];
        *charge = (size_t)gci_popcount64(s->alloc_cache) * s->elemsize;
        p = take_slot(c, s);
        if (GCI_UNLIKELY(at_load(&gci_sweep_ppb)))
            gci_sweep_pay(*charge); /* sweeping owed for what it takes */
    }
    gci_nostop_end(c);
    return p;
}

/* A large object, in a no-stop region: a thread stopped between
 * publishing the span and setting its alloc bit would have it swept. */
static void *alloc_large(struct mcache *c, size_t size, enum gci_kind kind,
                         size_t *charge)
{
    gci_nostop_begin(c);
    gci_large_reclaim((size + GCI_PAGE_BYTES - 1) >> GCI_PAGE_SHIFT);
    void *p = gci_large_alloc(c, size, kind);
    if (p && GCI_UNLIKELY(at_load(&gci_sweep_ppb)))
        gci_sweep_pay(size); /* small spans' sweeping owed, as a refill */
    gci_nostop_end(c);
    *charge = size;
    return p;
}

/* Everything but a hit in the thread's cache: first use, refills, large
 * objects, collection triggers, out of memory (an emergency collection,
 * then the OOM handler). */
GCI_NOINLINE void *gci_alloc_slow(size_t size, enum gci_kind kind)
{
    init_once();
    if (size > GCI_MAX_ALLOC) {
        errno = ENOMEM;
        return NULL;
    }
    struct mcache *c = my_cache();
    if (!c)
        return gci_out_of_memory(size);
    if (!at_load(&gci_allocated_since_cycle)) /* for the forced period */
        at_store(&gci_allocated_since_cycle, 1);
    if (c->nostop == 0) { /* not from inside the allocator (a handler) */
        gci_park_if_stopping();
        gci_sysmon_ensure();
        gci_gc_maybe();
    }
    for (int attempt = 0;; attempt++) {
        size_t charge = 0;
        void *p = size > GCI_MAX_SMALL
                      ? alloc_large(c, size, kind, &charge)
                      : alloc_small_slow(c, size, kind, &charge);
        if (p && GCI_UNLIKELY(gci_marking()) && c->nostop == 0)
            gci_assist(charge);
        if (p || attempt > 0 || !gci_gc_emergency())
            return p ? p : gci_out_of_memory(size);
    }
}

GCI_API void *gc_alloc(size_t size) { return alloc_fast(size, GCI_SCAN); }

GCI_API void *gc_alloc_atomic(size_t size)
{
    return alloc_fast(size, GCI_NOSCAN);
}

GCI_API void *gc_alloc_uncollectable(size_t size)
{
    return alloc_fast(size, GCI_UNCOLLECTABLE);
}

GCI_API void *gc_calloc(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    return alloc_fast(count * size, GCI_SCAN);
}

GCI_API char *gc_strdup(const char *s)
{
    if (!s) {
        gci_report("gc_strdup(NULL)");
        return NULL;
    }
    size_t n = strlen(s) + 1;
    char *copy = alloc_fast(n, GCI_NOSCAN);
    if (copy)
        memcpy(copy, s, n);
    return copy;
}

/* The span of the object that starts at p, or NULL after reporting why p
 * is no such thing.  `who` names the API call for the message. */
static struct span *object_start(const void *p, const char *who)
{
    struct span *s = span_of(p);
    if (!s) {
        gci_report("%s(%p): not a pointer into the gcheap heap", who, p);
        return NULL;
    }
    size_t index = span_index(s, (uintptr_t)p);
    if (index >= s->nelems || span_object(s, index) != (uintptr_t)p) {
        gci_report("%s(%p): not the start of an object", who, p);
        return NULL;
    }
    if (!slot_live(s, index)) {
        gci_report("%s(%p): object already freed (double free?)", who, p);
        return NULL;
    }
    return s;
}

/* Frees a small object: the owner clears its alloc bit (and can hand the
 * slot straight back to its fast path); anyone else sets its freed bit
 * for the owner or the mcentral lock holder to drain (mcentral.c), and
 * must not touch s afterwards.  While a concurrent cycle marks, the owner
 * frees as anyone else does (a marker may be about to mark the slot; a
 * marked, drained slot is simply free after the sweep), and the object's
 * words are shaded before they are zeroed: freeing deletes its edges. */
static bool free_small(struct mcache *c, struct span *s, void *p)
{
    size_t index = span_index(s, (uintptr_t)p);
    uint64_t bit = (uint64_t)1 << (index & 63);
    if (GCI_UNLIKELY(gci_marking()) && s->kind != GCI_NOSCAN)
        gci_shade_range(p, s->elemsize);
    memset(p, 0, s->elemsize);
    vg_free(p);
    at_bump(&c->nfree, 1);
    at_bump(&c->bytes_freed, s->elemsize);
    if (at_load(&s->owner) != (size_t)c || gci_marking())
        return !(at_fetch_or(span_bits(s, BM_FREED, index >> 6), bit) & bit);
    AO_t *word = span_bits(s, BM_ALLOC, index >> 6);
    at_store(word, at_load(word) & ~bit);
    if ((index >> 6) == (s->freeindex >> 6))
        s->alloc_cache |= bit;
    return true;
}

GCI_API void gc_free(void *p)
{
    if (!p)
        return;
    struct span *s = object_start(p, "gc_free");
    if (!s)
        return;
    struct mcache *c = my_cache();
    if (!c)
        return;
    gci_finalize_forget(p);
    gci_nostop_begin(c);
    bool ok = span_is_large(s) ? gci_large_free(c, s) : free_small(c, s, p);
    gci_nostop_end(c);
    /* Reported outside the region: the handler is user code. */
    if (!ok)
        gci_report("gc_free(%p): object already freed (double free?)", p);
}

/* The live object holding p: its span and index, or NULL. */
static struct span *live_object(const void *p, size_t *index)
{
    struct span *s = span_of(p);
    if (!s)
        return NULL;
    *index = span_index(s, (uintptr_t)p);
    if (*index >= s->nelems || !slot_live(s, *index))
        return NULL;
    return s;
}

GCI_API size_t gc_size(const void *p)
{
    size_t index;
    struct span *s = live_object(p, &index);
    return s ? s->elemsize : 0;
}

GCI_API void *gc_base(const void *p)
{
    size_t index;
    struct span *s = live_object(p, &index);
    return s ? (void *)span_object(s, index) : NULL;
}

/* Can an object of span s serve `size` bytes where it is?  Only while the
 * request keeps its size class (small) or half its pages (large), so that
 * shrinking really returns memory. */
static bool fits_in_place(const struct span *s, size_t size)
{
    if (size > s->elemsize)
        return false;
    if (!span_is_large(s))
        return size_class(size) == s->spanclass / GCI_NUM_KINDS;
    return size > GCI_MAX_SMALL && size > s->elemsize / 2;
}

GCI_API void *gc_realloc(void *p, size_t size)
{
    if (!p)
        return gc_alloc(size);
    struct span *s = object_start(p, "gc_realloc");
    if (!s)
        return NULL;
    if (size == 0) {
        gc_free(p);
        return NULL;
    }
    if (fits_in_place(s, size)) {
        /* The bytes past the new end read as zero if it grows again;
         * zeroing them deletes what they held (the barrier, if marking). */
        if (s->kind != GCI_NOSCAN)
            gci_shade_range((char *)p + size, s->elemsize - size);
        memset((char *)p + size, 0, s->elemsize - size);
        return p;
    }
    void *q = alloc_fast(size, (enum gci_kind)s->kind);
    if (!q)
        return NULL;
    size_t n = size < s->elemsize ? size : s->elemsize;
    if (s->kind == GCI_NOSCAN)
        memcpy(q, p, n);
    else
        gc_memmove(q, p, n); /* the barrier: q may be black */
    gc_free(p);
    return q;
}
