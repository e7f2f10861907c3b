/*
 * internal.h -- gcheap's internal header: constants, the shared structures,
 * and every cross-file function, grouped by the file that owns it, so that
 * this header reads as an index of the library.  Never installed.
 *
 * Vocabulary (docs/design.md has the long form):
 *   page       8 KiB, the unit of the page heap.
 *   arena      64 MiB of address space, reserved (readable, writable, no
 *              memory until touched) and taken into the page heap on
 *              demand; the page map has one `struct arena` per arena.
 *   span       a run of pages: free (in the page heap), or in use holding
 *              objects of one span class, or one large object.
 *   size class one of the 68 small-object sizes (src/sizeclass.c); class 0
 *              means "large".
 *   kind       scan (gc_alloc), noscan (gc_alloc_atomic), uncollectable.
 *   span class size class * GCI_NUM_KINDS + kind.
 */
#ifndef GCHEAP_INTERNAL_H
#define GCHEAP_INTERNAL_H

#include "config.h"
#include "atomic.h"
#include "../gcheap.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- Geometry ---------------------------------------------------------- */

#define GCI_PAGE_SHIFT 13
#define GCI_PAGE_BYTES ((size_t)1 << GCI_PAGE_SHIFT)
#define GCI_ARENA_SHIFT 26
#define GCI_ARENA_BYTES ((size_t)1 << GCI_ARENA_SHIFT)
#define GCI_ARENA_PAGES (GCI_ARENA_BYTES / GCI_PAGE_BYTES)
#define GCI_ADDR_BITS 48 /* user addresses on x86-64 (4-level paging) */
#define GCI_L2_BITS 12
#define GCI_L1_BITS (GCI_ADDR_BITS - GCI_ARENA_SHIFT - GCI_L2_BITS)

#define GCI_MAX_SMALL 32768
#define GCI_NUM_CLASSES 69 /* class 0 (large) + 68 small classes */
#define GCI_MAX_OBJECTS 1024
#define GCI_MAX_WORDS (GCI_MAX_OBJECTS / 64)

enum gci_kind { GCI_SCAN, GCI_NOSCAN, GCI_UNCOLLECTABLE, GCI_NUM_KINDS };
#define GCI_NUM_SPANCLASSES (GCI_NUM_CLASSES * GCI_NUM_KINDS)

/* Largest request gcheap tries to meet: more than the address space. */
#define GCI_MAX_ALLOC ((size_t)1 << (GCI_ADDR_BITS - 1))

/* ---- Assertions -------------------------------------------------------- */

#define GCI_ASSERT(cond)                                                       \
    do {                                                                       \
        if (GCHEAP_DEBUG >= 1 && !(cond))                                      \
            gci_assert_fail(#cond, __FILE__, __LINE__);                        \
    } while (0)

/* ---- Spans ------------------------------------------------------------- */

enum span_state { SPAN_DEAD, SPAN_FREE, SPAN_INUSE };
enum span_list { LIST_NONE, LIST_OWNED, LIST_PARTIAL, LIST_FULL };

/*
 * struct span: the metadata of one span, kept outside the span's pages.
 *
 * Synchronisation, field by field:
 *  - start, npages, spanclass, kind, elemsize, nelems, magic, nwords: set
 *    before the span is published in the page map (release store) and not
 *    changed while it is in use; read by anyone who found it there.
 *  - state: atomic; changed under the heap lock.
 *  - freeindex, alloc_cache, needzero: the owner's (the mcache that caches
 *    the span) or, when it has none, the class's mcentral lock holder's,
 *    or the sweeper's that took the span off the class's lists to sweep
 *    it with the lock dropped (mcentral.c).
 *  - alloc bits: written only by that same owner / lock holder / sweeper
 *    (relaxed stores), read by anyone (relaxed loads): bit i set = slot i
 *    allocated.
 *  - freed bits: atomic; a free by a thread that does not own the span
 *    sets the slot's bit, with no lock; the owner or the mcentral lock
 *    holder folds them into the alloc bits ("drains").
 *  - owner, list: atomic; changed under the class's mcentral lock.
 *  - next, prev: the list the span is on (mcentral lock, or heap lock for
 *    free spans).
 *
 * SPAN-1: a slot is live iff its alloc bit is set and its freed bit clear.
 * SPAN-2: alloc_cache holds only slots whose alloc bit is clear, all in the
 *         64-slot word that begins at freeindex.
 * SPAN-3: no alloc bit at or beyond nelems is ever set.
 */
struct span {
    uintptr_t start;
    size_t npages;
    size_t elemsize; /* object size; a large span's whole usable size */
    uint32_t nelems; /* objects in the span (1 for large) */
    uint32_t magic;  /* index = (offset * magic) >> 32 */
    uint16_t spanclass;
    uint8_t kind;
    uint8_t nwords; /* 64-bit words in each bitmap */
    uint8_t pool;   /* which span_pool the struct came from */
    bool needzero;  /* free slots may hold old bytes */
    bool released;  /* free run: its pages were given back to the OS */
    AO_t state;     /* enum span_state */

    size_t sweepgen;    /* == gci_sweepgen: swept this cycle (as alloc bits) */
    uint32_t freeindex; /* first slot of the word alloc_cache mirrors */
    uint64_t alloc_cache;

    AO_t owner; /* struct mcache * that caches it, or 0 */
    AO_t list;  /* enum span_list */
    struct span *next, *prev;

    AO_t bits[]; /* 3 * nwords words: the bitmaps, interleaved */
};

/* The three bitmaps of a span (alloc, freed, and mark -- the collector's,
 * kept clear by the allocator) are interleaved word by word: bits[3w],
 * bits[3w+1] and bits[3w+2] cover the same 64 slots, so that the marker,
 * which tests all three for every candidate pointer, finds them in one
 * cache line (three separate bitmaps cost up to three misses). */
enum { BM_ALLOC, BM_FREED, BM_MARK };

static inline AO_t *span_bits(const struct span *s, unsigned which, size_t w)
{
    return (AO_t *)&s->bits[3 * w + which];
}

static inline bool span_bit(const struct span *s, unsigned which, size_t i)
{
    return (at_load(span_bits(s, which, i >> 6)) >> (i & 63)) & 1;
}

/* SPAN-1: a slot is live iff its alloc bit is set and its freed bit clear. */
static inline bool slot_live(const struct span *s, size_t index)
{
    return span_bit(s, BM_ALLOC, index) && !span_bit(s, BM_FREED, index);
}

static inline size_t span_class_of(unsigned cls, enum gci_kind kind)
{
    return cls * GCI_NUM_KINDS + kind;
}

/* A span of one large object (class 0), as opposed to a small class --
 * some of which (8 KiB and up) also hold one object per span. */
static inline bool span_is_large(const struct span *s)
{
    return s->spanclass / GCI_NUM_KINDS == 0;
}

static inline uintptr_t span_limit(const struct span *s)
{
    return s->start + s->npages * GCI_PAGE_BYTES;
}

/* The index of the object holding address p (which lies in s). */
static inline size_t span_index(const struct span *s, uintptr_t p)
{
    uintptr_t off = p - s->start;
    if (s->nelems == 1)
        return off < s->elemsize ? 0 : 1;
    return (size_t)(((uint64_t)off * s->magic) >> 32);
}

static inline uintptr_t span_object(const struct span *s, size_t index)
{
    return s->start + index * s->elemsize;
}

/* Words of a bitmap of n bits, as kept in span.bits. */
static inline size_t bitmap_words(size_t n) { return (n + 63) / 64; }

/* Bits of word w that stand for real slots. */
static inline uint64_t span_word_mask(const struct span *s, size_t w)
{
    size_t left = s->nelems - w * 64;
    return left >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << left) - 1;
}

/* ---- Size classes: sizeclass.c (generated) ----------------------------- */

extern const uint32_t gci_class_bytes[GCI_NUM_CLASSES];
extern const uint16_t gci_class_pages[GCI_NUM_CLASSES];
extern const uint16_t gci_class_objects[GCI_NUM_CLASSES];
extern const uint32_t gci_class_magic[GCI_NUM_CLASSES];
extern const uint8_t gci_class_by8[129];
extern const uint8_t gci_class_by128[249];

/* Size class of a request of n <= GCI_MAX_SMALL bytes. */
static inline unsigned size_class(size_t n)
{
    if (n <= 1024)
        return gci_class_by8[(n + 7) >> 3];
    return gci_class_by128[(n - 1024 + 127) >> 7];
}

/* A marking worker's state: a mark worker, a thread's write barrier, or
 * an assist (mark.c, barrier.c). */
struct workbuf;
struct marker {
    struct workbuf *buf;    /* the worker's own buffer, or NULL */
    uint64_t marked_bytes;  /* bytes of objects this worker marked */
    uintptr_t last_page;    /* the page of the last span looked up ... */
    struct span *last_span; /* ... and that span (world stopped: stable) */
    uintptr_t arena_key;    /* 1 + the arena number of the last lookup ... */
    struct arena *arena;    /* ... and its arena (NULL: none there) */
    uint64_t scanned;       /* objects scanned by this worker */
    uint64_t scan_bytes;    /* bytes scanned (the pacer's mark work) */
    bool recruit;           /* the first worker: wakes the others */
    bool check;             /* the checkmark re-mark (checkmark.c) */
    uintptr_t quiet_lo, quiet_hi; /* checkmark: slots not to report */
};

/* ---- The per-thread cache: mcache.c ------------------------------------ */

/*
 * struct mcache: one per registered thread (Go: one per P).  alloc[] and
 * the spans it points to are the owning thread's alone; the counters are
 * written by the owner with plain (relaxed) stores and read by
 * gc_get_stats.
 */
struct mcache {
    struct span *alloc[GCI_NUM_SPANCLASSES];
    AO_t nmalloc;     /* objects allocated through this cache */
    AO_t bytes_alloc; /* their usable bytes */
    AO_t nfree;       /* objects freed by this thread */
    AO_t bytes_freed;
    size_t flushed;     /* bytes_alloc - bytes_freed last added to heap_alloc */
    size_t black_bytes; /* allocated while marking (owner; read stopped) */
    unsigned refills;   /* GCHEAP_DEBUG >= 2: verify the heap now and then */
    /* No-stop regions (threads.c): owner thread and its signal handler. */
    volatile sig_atomic_t nostop;
    volatile sig_atomic_t stop_pending;
    int fork_gate; /* set by a fork's prepare handler (atomic) */
};

void gci_park_pending(struct mcache *c);
void gci_fork_gate_wait(struct mcache *c);

/* Opens a region in which the thread is not parked by a stop (nests).
 * While a fork is under way no thread enters one (threads.c). */
static inline void gci_nostop_begin(struct mcache *c)
{
    c->nostop++;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if (GCI_UNLIKELY(__atomic_load_n(&c->fork_gate, __ATOMIC_RELAXED)))
        gci_fork_gate_wait(c);
}

static inline void gci_nostop_end(struct mcache *c)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    c->nostop--;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if (GCI_UNLIKELY(c->stop_pending) && c->nostop == 0)
        gci_park_pending(c);
}

extern struct span gci_empty_span; /* alloc_cache 0: always refills */

void gci_mcache_init(struct mcache *c);
bool gci_mcache_refill(struct mcache *c, size_t spanclass);
void gci_mcache_release_all(struct mcache *c);
void gci_mcache_flush_heap_alloc(struct mcache *c);
void gci_mcache_flush_all(struct mcache *c);

/* ---- Central span lists: mcentral.c ------------------------------------ */

void gci_mcentral_init(void);
struct span *gci_mcentral_acquire(struct mcache *c, size_t spanclass);
void gci_mcentral_release(struct span *s);
bool gci_mcentral_verify(void);
bool gci_mcentral_sweep_all(bool background);
size_t gci_mcentral_sweep_some(size_t pages);

/* ---- Spans: span.c ----------------------------------------------------- */

struct span *gci_span_new(size_t nwords);
void gci_span_delete(struct span *s);
void gci_span_init_objects(struct span *s, unsigned cls, enum gci_kind kind);
bool gci_span_prime(struct span *s, size_t from_word);
size_t gci_span_drain(struct span *s);
size_t gci_span_count_alloc(const struct span *s);
void gci_span_zero(struct span *s);
size_t gci_span_sweep(struct span *s);

/* ---- The page heap: mheap.c -------------------------------------------- */

void gci_mheap_init(void);
struct span *gci_mheap_alloc(size_t npages, unsigned cls, enum gci_kind kind);
void gci_mheap_free(struct span *s);
uint64_t gci_mheap_sys_bytes(void);
uint64_t gci_mheap_free_bytes(void);
void gci_mheap_lock(void);
void gci_mheap_unlock(void);
bool gci_mheap_verify(void);
void gci_mheap_each_span(void (*fn)(struct span *s, void *arg), void *arg);
size_t gci_mheap_release_free(void);
void gci_mcentral_free_empty(void);
size_t gci_mheap_scavenge(size_t max_bytes);
void gci_mheap_merge_mixed(void);
uint64_t gci_mheap_released_bytes(void);

/* ---- Arenas: arena.c --------------------------------------------------- */

uintptr_t gci_arena_reserve(size_t bytes);
struct region {
    uintptr_t start;
    size_t bytes;
    struct region *next;
};
extern struct region *gci_regions; /* every reserved region (heap lock) */
/* The bounds of all regions, [lo, hi), kept as page numbers: as an
 * address, the lower bound would be a word of the collector's own static
 * data pointing at the heap's first object, a root that kept it alive. */
extern AO_t gci_heap_lo_page, gci_heap_hi_page;
static inline uintptr_t gci_heap_lo(void)
{
    return at_load(&gci_heap_lo_page) << GCI_PAGE_SHIFT;
}
static inline uintptr_t gci_heap_hi(void)
{
    return at_load(&gci_heap_hi_page) << GCI_PAGE_SHIFT;
}

/* ---- The page map: pagemap.c ------------------------------------------- */

struct arena {
    AO_t spans[GCI_ARENA_PAGES]; /* struct span * of each page, or 0 */
};

bool gci_pagemap_add_arenas(uintptr_t start, size_t bytes);
struct arena *gci_pagemap_arena(uintptr_t addr);
void gci_pagemap_set(uintptr_t start, size_t npages, struct span *s);

/* The span that covers p, whatever its state, or NULL. */
static inline struct span *pagemap_lookup(uintptr_t p)
{
    struct arena *a = gci_pagemap_arena(p);
    if (!a)
        return NULL;
    size_t page = (p >> GCI_PAGE_SHIFT) & (GCI_ARENA_PAGES - 1);
    return (struct span *)at_load_acq(&a->spans[page]);
}

/* The in-use span whose pages hold p, or NULL. */
static inline struct span *span_of(const void *ptr)
{
    uintptr_t p = (uintptr_t)ptr;
    struct span *s = pagemap_lookup(p);
    if (!s || at_load(&s->state) != SPAN_INUSE)
        return NULL;
    if (p < s->start || p >= span_limit(s))
        return NULL;
    return s;
}

/* ---- Large objects: large.c -------------------------------------------- */

void *gci_large_alloc(struct mcache *c, size_t size, enum gci_kind kind);
bool gci_large_free(struct mcache *c, struct span *s);
void gci_large_sweep_all(void);
void gci_large_reclaim(size_t npages);

/* ---- Allocation entry points: alloc.c ---------------------------------- */

void *gci_alloc_slow(size_t size, enum gci_kind kind);

/* ---- Threads: threads.c ------------------------------------------------ */

/* A registered thread.  stack_hi is fixed; stopped_sp and parked_epoch are
 * written by the thread itself when it parks (THREADS-2). */
struct gthread {
    struct mcache cache;
    pthread_t id;
    uintptr_t stack_hi;
    AO_t stopped_sp;
    int parked_epoch; /* the last stop it acknowledged (threads.c) */
    /* in a cooperative park: the suspend handler leaves the stop to it
     * (written by the thread and read by its handler; threads.c) */
    volatile sig_atomic_t parking;
    struct gc_fiber *fiber; /* the fiber it runs on, or NULL (fiber.c) */
    uintptr_t snap_sp;      /* stopped_sp at the mark start (checkmark) */
    uintptr_t user_sp;      /* sp of the code the suspend signal stopped */
    struct marker wb;       /* grey objects its barriers and assists made */
    int64_t assist_credit;  /* scan bytes paid ahead (barrier.c) */
    uintptr_t native_sp;    /* its own stack's sp while on a fiber */
    struct gthread *next, *prev;
};

void gci_stop_world(void);
void gci_start_world(void);
void gci_park_if_stopping(void);
uintptr_t gci_stack_below(void);
void gci_lock_stoppable(pthread_mutex_t *m);
size_t gci_stop_resends_take(void);
struct mcache *gci_api_lock(pthread_mutex_t *m);
void gci_api_unlock(struct mcache *c, pthread_mutex_t *m);
void gci_threads_each(void (*fn)(struct gthread *t, void *arg), void *arg);
struct gthread *gci_thread_self(void);
size_t gci_threads_count(void);
void gci_threads_fork_prepare(void);
void gci_threads_fork_parent(void);
void gci_threads_after_fork(void);
void gci_thread_create_begin(void);
void gci_thread_create_end(void);

/* Set on the library's own threads (sysmon, sweeper, mark helpers): they
 * are never registered, never stopped, and never run program code. */
extern _Thread_local bool gci_tls_library_thread;
void gci_library_thread_begin(const char *name);
void gci_name_thread(const char *name);
bool gci_start_library_thread(void *(*fn)(void *), void *arg);
extern _Thread_local struct mcache *gci_tls_cache
    __attribute__((tls_model("initial-exec")));

struct mcache *gci_thread_attach(void);
struct mcache *gci_thread_attach_created(void);
void gci_threads_init(void);
void gci_threads_sum_stats(uint64_t out[4]);

/* ---- The collector: gc.c, mark.c, worklist.c, roots.c, pacer.c --------- */

extern AO_t gci_sweepgen;   /* +2 per cycle, at mark termination */
extern AO_t gci_heap_alloc; /* the pacer's heap: marked at the last
                               cycle + allocated since - freed by
                               gc_free (up to per-cache deltas) */
extern AO_t gci_trigger;    /* heap_alloc at which a cycle starts */

void gci_gc_init(void);
void gci_gc_maybe(void);
bool gci_gc_emergency(void);
void gci_gc_lock_for_fork(void);
void gci_gc_unlock_after_fork(bool child);

void gci_mark_range(struct marker *m, uintptr_t lo, uintptr_t hi);
void gci_mark_word(struct marker *m, uintptr_t v);
uint64_t gci_mark_drain_some(struct marker *m, uint64_t budget,
                             uint64_t deadline);
void gci_mark_account(struct marker *m);
extern AO_t gci_cycle_marked, gci_cycle_scanned, gci_cycle_black;

/* Concurrent marking (gc.c, barrier.c): gc_internal_barrier_on is set from
 * a concurrent cycle's mark start to its mark termination, both with the
 * world stopped; while it is, the barrier shades and allocation is black. */
static inline bool gci_marking(void)
{
    return __atomic_load_n(&gc_internal_barrier_on, __ATOMIC_RELAXED) != 0;
}
extern AO_t gci_concurrent;   /* gc_set_concurrent */
extern AO_t gci_assist_ns;    /* gc_stats.assist_ns */
extern AO_t gci_bg_credit;    /* scan work done ahead by the worker */
extern AO_t gci_assist_ratio; /* scan bytes per byte allocated, x 2^16 */
void gci_assist_revise(void);
void gci_shade_range(const void *p, size_t n);
void gci_barrier_flush(struct gthread *t);
void gci_barrier_reset(struct gthread *t);
void gci_assist(size_t bytes);
bool gci_work_try_get(struct marker *m);
void gci_work_hungry(bool on);
bool gci_work_published(void);

/* checkmark.c: GCHEAP_CHECKMARK's stop-the-world re-mark. */
extern int gci_opt_checkmark;
bool gci_checkmark_run(void);
bool gci_checkmark_active(void);
void gci_checkmark_note(struct marker *m, struct span *s, size_t i,
                        uintptr_t slot);
void gci_checkmark_report(void);
void gci_checkmark_root_word(uintptr_t v, uintptr_t slot);
void gci_mark_stack(struct marker *m, uintptr_t lo, uintptr_t hi);
void gci_mark_object(struct marker *m, struct span *s, size_t index);
bool gci_mark_find(uintptr_t v, struct span **sp, size_t *index);
uint64_t gci_mark_run(void (*roots)(struct marker *m));
extern AO_t gci_uncollectable_spans;
void gci_mark_prewake(void);
bool gci_is_marked(const void *p);
extern AO_t gci_mark_overflows;

/* A work buffer: grey ranges [lo[i], hi[i]) for i < n, taken from the top.
 * Two arrays rather than one of pairs: an item is written as two words
 * and read back moments later, and two 8-byte loads are forwarded from
 * the two stores where one 16-byte load of a pair would stall. */
#define GCI_WB_ITEMS 254
#define GCI_WB_SHARE 8 /* a buffer this full is split when a worker idles */
struct workbuf {
    struct workbuf *next;
    size_t n;
    uintptr_t lo[GCI_WB_ITEMS];
    uintptr_t hi[GCI_WB_ITEMS];
};
extern AO_t gci_work_nidle;
void gci_work_init(size_t max_buffers);
bool gci_work_push_slow(struct marker *m, uintptr_t lo, uintptr_t hi);
bool gci_work_overflowed(void);
bool gci_work_pending(const struct marker *m);
void gci_work_begin(size_t nworkers);
void gci_work_add_workers(size_t n);
void gci_work_end(void);
bool gci_work_get(struct marker *m);

/* Queues [lo, hi) for scanning; false (and overflowed set) if dropped. */
static inline bool gci_work_push(struct marker *m, uintptr_t lo, uintptr_t hi)
{
    struct workbuf *b = m->buf;
    if (GCI_UNLIKELY(!b || b->n == GCI_WB_ITEMS ||
                     (b->n >= GCI_WB_SHARE && at_load(&gci_work_nidle) > 0)))
        return gci_work_push_slow(m, lo, hi);
    b->lo[b->n] = lo;
    b->hi[b->n] = hi;
    b->n++;
    return true;
}

/* Takes an item from the worker's own buffer; false when it is empty
 * (gci_work_get then looks for published work). */
static inline bool gci_work_pop(struct marker *m, uintptr_t *lo, uintptr_t *hi)
{
    struct workbuf *b = m->buf;
    if (!b || b->n == 0)
        return false;
    b->n--;
    *lo = b->lo[b->n];
    *hi = b->hi[b->n];
    return true;
}
void gci_work_flush(struct marker *m);

void gci_roots_snapshot(void);
void gci_fibers_mark(struct marker *m);
void gci_thread_mark_stacks(struct marker *m, struct gthread *t, uintptr_t sp);
void gci_roots_mark(struct marker *m);
void gci_roots_mark_stopped(struct marker *m);
void gci_roots_mark_uncollectable(struct marker *m);
void gci_roots_mark_stacks(struct marker *m);
void gci_roots_mark_but_stacks(struct marker *m);

/* pacer.c: pure rules (unit-tested), then the pacer's state. */
#define GCI_LIMITER_WINDOW_NS ((uint64_t)1000000000) /* per CPU */
struct gci_limiter {
    uint64_t bucket; /* collector CPU ns in excess of the program's */
    bool on;         /* full: the memory limit is set aside */
};
struct gci_cycle_figures {
    uint64_t live;           /* bytes marked */
    uint64_t nonheap;        /* memory the limit counts beyond object bytes */
    uint64_t gc_ns;          /* the cycle's CPU time, every CPU counted */
    uint64_t wall_ns;        /* since the previous cycle ended */
    uint64_t cpu_ns;         /* the process's CPU time meanwhile */
    uint64_t scan_work;      /* bytes scanned (0: not measured) */
    bool concurrent;         /* marked beside the program: */
    uint64_t mark_allocated; /* bytes allocated while it marked */
    double mark_util;        /* the collector's CPU share meanwhile */
    double idle_util;        /* the idle marker's share of idle CPU */
};
#define GCI_GOAL_UTIL 0.25 /* the collector's CPU share while marking */
double gci_pacer_cons_mark(uint64_t allocated, uint64_t scan_work, double util,
                           double idle_util);
uint64_t gci_pacer_trigger(uint64_t live, uint64_t goal, double cons_mark,
                           uint64_t scan_work);
uint64_t gci_pacer_assist_ratio(uint64_t expected, uint64_t done, uint64_t heap,
                                uint64_t goal, uint64_t heap_scan_max);
uint64_t gci_pacer_expected_work(void);
void gci_pacer_mode_changed(void);
uint64_t gci_pacer_gogc_goal(uint64_t live, int percent);
uint64_t gci_pacer_limit_goal(uint64_t limit, uint64_t nonheap);
uint64_t gci_limiter_capacity(uint64_t process_cpu_ns, uint64_t wall_ns);
void gci_limiter_update(struct gci_limiter *l, uint64_t gc_ns,
                        uint64_t capacity_ns, unsigned ncpu);
uint64_t gci_pacer_choose_goal(uint64_t live, int percent, uint64_t limit,
                               uint64_t nonheap, bool limiter_on);
void gci_pacer_init(unsigned cpus);
uint64_t gci_pacer_heap_goal(void);
uint64_t gci_pacer_limit(void);
bool gci_pacer_limiting(void);
int gci_pacer_set_percent(int p);
int64_t gci_pacer_set_limit(int64_t bytes);
void gci_pacer_after_fork_child(void);
uint64_t gci_sweep_finish(void);
bool gci_sweep_batch_begin(void);
void gci_sweep_batch_end(void);
extern AO_t gci_sweep_ppb; /* pages to sweep per allocated byte, x 2^16 */
void gci_sweep_pay(size_t bytes);
void gci_sweep_pace(uint64_t heap, uint64_t trigger);
void gci_sweep_resume(void);
void gci_sweep_resume_quiet(void);
extern void (*gci_debug_after_mark)(void);
extern bool (*gci_debug_worker_dry)(void);
extern AO_t gci_mark_tries, gci_mark_stopped_drains;
uint64_t gci_sweep_ns(void);
void gci_sweep_after_fork_child(void);
bool gci_mark_verify(bool mark2);
void gci_mark_after_fork_child(void);
void gci_pacer_cycle_done(const struct gci_cycle_figures *f);

/* bgmark.c: marking threads beside a cycle's worker -- the idle marker
 * (SCHED_IDLE) and the dedicated workers past the first. */
extern int gci_opt_idle_mark;
extern AO_t gci_idle_mark_ns;      /* its CPU time in steps that marked */
extern AO_t gci_dedicated_mark_ns; /* the dedicated workers' */
void gci_bgmark_open(uint64_t cycle, bool idle, unsigned workers);
void gci_bgmark_close(void);
void gci_bgmark_check(void);
int gci_idle_mark_state(void);
unsigned gci_dedicated_running(unsigned *marked);
void gci_bgmark_after_fork_child(void);
void gci_gc_set_procs(long n);
long gci_gc_procs(void);

/* sysmon.c: the forced period and the scavenger. */
extern uint64_t gci_opt_force_period_ns; /* 0: off */
const char *gci_parse_bytes(const char *v, uint64_t *out);
const char *gci_parse_duration(const char *v, uint64_t *out);
void gci_sysmon_ensure(void);
void gci_sysmon_kick(void);
void gci_scavenger_hold(void);
void gci_scavenger_release(void);
void gci_sysmon_after_fork_child(void);
uint64_t gci_gc_last_cycle_ns(void);
bool gci_gc_periodic(void);
extern AO_t gci_allocated_since_cycle;
int gci_pacer_percent(void);

void gci_finalize_mark(struct marker *m);
void gci_finalize_after_roots(void);
void gci_finalize_mark_unreached(struct marker *m);
void gci_finalize_after_mark(void);
void gci_finalize_mark_ready(struct marker *m);
void gci_finalize_cycle_done(void);
void gci_finalize_after_fork_child(void);
void gci_finalize_forget(void *obj);
void gci_gc_stats(gc_stats *out);

/* ---- Options: options.c ------------------------------------------------ */

void gci_env_warning(const char *name, const char *value, const char *why);
void gci_options_init(void);
extern int gci_opt_trace;
extern size_t gci_opt_mark_buffers;

/* ---- OS interface: os.c ------------------------------------------------ */

void *gci_os_reserve(size_t bytes, uintptr_t hint);
void gci_os_unreserve(void *p, size_t bytes);
bool gci_os_release(void *p, size_t bytes);
void *gci_os_alloc_meta(size_t bytes);
extern AO_t gci_meta_bytes;
uint64_t gci_os_now_ns(void);
uint64_t gci_os_realtime_ns(void);
uint64_t gci_os_process_cpu_ns(void);
uint64_t gci_os_thread_cpu_ns(void);

/* ---- Errors: error.c --------------------------------------------------- */

void gci_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *gci_out_of_memory(size_t size);
GCI_COLD void gci_assert_fail(const char *cond, const char *file, int line);
GCI_COLD void gci_fatal(const char *what);

/* ---- Statistics: stats.c ----------------------------------------------- */

/* Counters of objects that do not go through an mcache's counters (large
 * objects freed by thread caches that have since been handed back, etc.):
 * atomic. */
extern AO_t gci_stat_nmalloc, gci_stat_bytes_alloc;
extern AO_t gci_stat_nfree, gci_stat_bytes_freed;

void gci_stats_absorb(struct mcache *c);

/* ---- Initialisation: init.c -------------------------------------------- */

extern AO_t gci_initialised;
void gci_init_slow(void);

static inline void init_once(void)
{
    if (GCI_UNLIKELY(!at_load_acq(&gci_initialised)))
        gci_init_slow();
}

#endif
