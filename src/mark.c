/*
 * mark.c -- marking: conservative pointer identification, the grey-object
 * drain, parallel mark workers, and the overflow rescan.
 *
 * Colours: an object is white while its mark bit is clear, grey once its
 * mark bit is set and its range waits in a work buffer, black once it has
 * been scanned.  Noscan objects go straight from white to black.
 *
 * A word is a pointer if it lies within the heap's address bounds, maps
 * through the page map to an in-use span, falls in a slot below nelems,
 * and that slot is live (alloc bit set, freed bit clear).  Interior
 * pointers count; free slots and span tails never get marked.
 *
 * With the world stopped, up to one worker per CPU drains the work lists:
 * the collecting thread, which starts alone, plus CPUs-1 helper threads
 * (started on first use) that it wakes once it has scanned RECRUIT_AFTER
 * objects.
 * Objects over CHUNK_BYTES are scanned CHUNK_BYTES at a time, the rest
 * pushed back as work, so one huge object is shared between workers, and
 * no single item makes a concurrent step long: a chunk of words that all
 * point to scattered objects costs about a cache miss per word (a 32 KiB
 * array of them took 5 ms in an assist before chunks were this small).
 *
 * Concurrency: mark bits are set by atomic fetch-or, so two workers never
 * both scan one object.  Everything else runs with the world stopped.
 * MARK-1: at the end of marking, no marked scan object holds a word that
 *         identifies an unmarked object (checked by the heap verifier).
 * MARK-2: a slot that is not live is never marked.
 */
#include "internal.h"

#include <unistd.h>

#if GCHEAP_VALGRIND
#include <valgrind/memcheck.h>
#endif

#define CHUNK_BYTES ((uintptr_t)4 << 10)

AO_t gci_mark_overflows; /* rescans after a work-list overflow (tests) */
AO_t gci_cycle_marked;   /* bytes marked by concurrent markers, this cycle */
AO_t gci_cycle_scanned;  /* bytes they scanned (the pacer's mark work) */
AO_t gci_cycle_black;    /* bytes allocated black, this cycle */
#define MAX_HELPERS 7

bool gci_mark_find(uintptr_t v, struct span **sp, size_t *index)
{
    struct span *s = span_of((void *)v);
    if (!s)
        return false;
    size_t i = span_index(s, v);
    if (i >= s->nelems || !slot_live(s, i))
        return false;
    *sp = s;
    *index = i;
    return true;
}

bool gci_is_marked(const void *p)
{
    struct span *s;
    size_t i;
    return gci_mark_find((uintptr_t)p, &s, &i) && span_bit(s, BM_MARK, i);
}

/* Shades object `index` of s grey (or black if it holds no pointers). */
void gci_mark_object(struct marker *m, struct span *s, size_t index)
{
    AO_t *word = span_bits(s, BM_MARK, index >> 6);
    uint64_t bit = (uint64_t)1 << (index & 63);
    if ((at_load(word) & bit) || (at_fetch_or(word, bit) & bit))
        return;
    m->marked_bytes += s->elemsize;
    if (s->kind == GCI_NOSCAN)
        return;
    uintptr_t obj = span_object(s, index);
    gci_work_push(m, obj, obj + s->elemsize);
}

/* The exemption of the conservative scanner (below) from the sanitizers. */
#define SCANNER __attribute__((no_sanitize("address", "thread", "undefined")))

/* Marks the object that v, a word within the heap's bounds, identifies,
 * if any; `slot` is where v was read (for the checkmark's reports).
 *
 * Part of the conservative scanner, and exempt from the sanitizers with
 * it: while a concurrent cycle marks, the page heap carves and merges
 * free runs, so the span a page-map entry names may be a free run's
 * record being rewritten.  Reading it is harmless -- a free run fails the
 * state test, and a record reused for an in-use span has its fields
 * written before its state is published (release) -- but it is a race on
 * plain fields.  In-use spans are never freed while marking (gc.c).
 *
 * The mark bit is tested first: a marked slot is live (MARK-2), and for
 * shared objects that is the common answer.  The three bitmaps' words
 * share a cache line (internal.h). */
static inline __attribute__((always_inline)) SCANNER void
mark_candidate(struct marker *m, uintptr_t v, uintptr_t slot)
{
    struct span *s;
    uintptr_t page = v >> GCI_PAGE_SHIFT;
    if (page == m->last_page) { /* neighbours point into one span */
        s = m->last_span;
    } else {
        /* The page map's first levels, skipped while words keep pointing
         * into one arena (64 MiB), as they mostly do. */
        uintptr_t key = (v >> GCI_ARENA_SHIFT) + 1;
        if (key != m->arena_key) {
            m->arena_key = key;
            m->arena = gci_pagemap_arena(v);
        }
        if (!m->arena)
            return;
        s = (struct span *)at_load_acq(
            &m->arena->spans[page & (GCI_ARENA_PAGES - 1)]);
        if (!s || at_load(&s->state) != SPAN_INUSE || v < s->start ||
            v >= span_limit(s))
            return;
        m->last_page = page;
        m->last_span = s;
    }
    size_t i = span_index(s, v);
    if (i >= s->nelems)
        return;
    uint64_t bit = (uint64_t)1 << (i & 63);
    if ((at_load(span_bits(s, BM_MARK, i >> 6)) & bit) ||
        !(at_load(span_bits(s, BM_ALLOC, i >> 6)) & bit) ||
        (at_load(span_bits(s, BM_FREED, i >> 6)) & bit))
        return;
    if (GCI_UNLIKELY(m->check))
        gci_checkmark_note(m, s, i, slot);
    gci_mark_object(m, s, i);
}

/* The candidate test out of line, for root ranges: most words of a stack
 * or a data segment fail the bounds test, which the loop makes. */
static GCI_NOINLINE SCANNER void mark_word(struct marker *m, uintptr_t v,
                                           uintptr_t slot)
{
    if (GCI_UNLIKELY(m->check) && slot)
        gci_checkmark_root_word(v, slot);
    mark_candidate(m, v, slot);
}

/* Marks what v, any word, identifies (the write barrier's shade). */
void gci_mark_word(struct marker *m, uintptr_t v) { mark_word(m, v, 0); }

/* Reads the word at p as an integer; under memcheck it is declared
 * defined (stacks hold uninitialised words, which are merely not
 * pointers). */
static inline __attribute__((always_inline)) SCANNER uintptr_t
read_word(uintptr_t p)
{
    uintptr_t v = *(volatile uintptr_t *)p;
#if GCHEAP_VALGRIND
    VALGRIND_MAKE_MEM_DEFINED(&v, sizeof v);
#endif
    return v;
}

/*
 * The conservative word scanner: every aligned word of [lo, hi) is a
 * candidate pointer.  It reads stacks below their frames' live parts and
 * objects' bytes as integers, so it is the one part of gcheap exempt from
 * the sanitizers (SCANNER: gci_mark_range, scan_object and what they
 * inline).  gci_mark_range is for roots; scan_object, for heap objects,
 * whose words mostly are pointers, tests them in line.
 */
SCANNER void gci_mark_range(struct marker *m, uintptr_t lo, uintptr_t hi)
{
    lo = (lo + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
    hi &= ~(uintptr_t)(sizeof(uintptr_t) - 1);
    uintptr_t heap_lo = gci_heap_lo();
    uintptr_t heap_span = gci_heap_hi() - heap_lo;
    /* The checkmark re-mark reads a range from the top down, so a stack's
     * outer frames (the program's) come first: an object a program frame
     * holds is reported through that frame's slot, not through an old
     * word in a deeper frame of the library's. */
    bool down = m->check;
    for (size_t k = 0, n = hi > lo ? (hi - lo) / sizeof(uintptr_t) : 0; k < n;
         k++) {
        uintptr_t p = down ? hi - (k + 1) * sizeof(uintptr_t)
                           : lo + k * sizeof(uintptr_t);
        uintptr_t v = read_word(p);
        if (v - heap_lo < heap_span)
            mark_word(m, v, p);
    }
}

/* [lo, hi): a heap object or a chunk of one (aligned, whole words). */
static SCANNER void scan_object(struct marker *m, uintptr_t lo, uintptr_t hi)
{
    uintptr_t heap_lo = gci_heap_lo();
    uintptr_t heap_span = gci_heap_hi() - heap_lo;
    for (uintptr_t p = lo; p < hi; p += sizeof(uintptr_t)) {
        uintptr_t v = read_word(p);
        if (v - heap_lo < heap_span)
            mark_candidate(m, v, p);
    }
}

/* A thread's stack: under memcheck, the words between the stack pointer
 * and the kernel's signal frame count as unaddressable, so reading them
 * (harmless natively) is not reported. */
void gci_mark_stack(struct marker *m, uintptr_t lo, uintptr_t hi)
{
    if (hi <= lo)
        return;
#if GCHEAP_VALGRIND
    VALGRIND_DISABLE_ADDR_ERROR_REPORTING_IN_RANGE(lo, hi - lo);
#endif
    gci_mark_range(m, lo, hi);
#if GCHEAP_VALGRIND
    VALGRIND_ENABLE_ADDR_ERROR_REPORTING_IN_RANGE(lo, hi - lo);
#endif
}

/*
 * Prefetching: scanning an object mostly waits for its first cache line.
 * So items popped from the work buffer go through a small FIFO first; an
 * item's memory is prefetched when it enters and scanned PREFETCH_DEPTH
 * items later, when it has most likely arrived, and the misses of that
 * many objects overlap instead of following one another (the approach of
 * Cher, Hosking and Vijaykumar, "Software prefetching for mark-sweep
 * garbage collection", 2004).  The FIFO is filled from the worker's own
 * buffer only, and emptied before the worker looks for published work.
 */
#define PREFETCH_DEPTH 16

struct fifo { /* two arrays, as in a work buffer (internal.h) */
    uintptr_t lo[PREFETCH_DEPTH], hi[PREFETCH_DEPTH];
    size_t head, n;
};

/*
 * A grey item's object may have been freed since it was queued, or be
 * freed by another thread while it is scanned: a gc_free while marking
 * shades the object's words first, so the scan has nothing left to do.
 * Natively it reads the object's old (shaded) words, zeroes, or a new
 * black object in a reused slot, harmlessly.  Memcheck sees the freed
 * bytes as freed, so the memcheck build drops an item whose object is no
 * longer live, and reads the others with address errors off in the
 * item's range -- after asserting that the range lies inside the object,
 * so a wrong item is still caught.
 */
#if GCHEAP_VALGRIND
static bool item_freed(uintptr_t lo)
{
    struct span *s;
    size_t i;
    if (gci_mark_find(lo, &s, &i))
        return false;
    /* A real item's object was marked when it was queued, and its mark
     * stays until the sweep. */
    s = span_of((void *)lo);
    GCI_ASSERT(s && span_bit(s, BM_MARK, span_index(s, lo)));
    return true;
}

static void scan_freeable(struct marker *m, uintptr_t lo, uintptr_t hi)
{
    struct span *s = span_of((void *)lo);
    GCI_ASSERT(s && hi <= span_object(s, span_index(s, lo)) + s->elemsize);
    VALGRIND_DISABLE_ADDR_ERROR_REPORTING_IN_RANGE(lo, hi - lo);
    scan_object(m, lo, hi);
    VALGRIND_ENABLE_ADDR_ERROR_REPORTING_IN_RANGE(lo, hi - lo);
}
#else
#define scan_freeable scan_object
#endif

static void scan_item(struct marker *m, uintptr_t lo, uintptr_t hi)
{
#if GCHEAP_VALGRIND
    if (item_freed(lo))
        return;
#endif
    if (hi - lo > CHUNK_BYTES) {
        gci_work_push(m, lo + CHUNK_BYTES, hi);
        hi = lo + CHUNK_BYTES;
    }
    m->scan_bytes += hi - lo;
    scan_freeable(m, lo, hi);
}

static void recruit_helpers(void);

/* Objects the first worker scans alone before it wakes the helpers: a
 * small mark (an idle program's cycle, the finalizer rounds) is over
 * before a helper thread could even be scheduled. */
#define RECRUIT_AFTER 64

/* Passes of the drain loop between clock reads when it has a deadline
 * (a pass scans one item, an object or a 4 KiB chunk of one, or fetches a
 * buffer): a read costs about 20 ns, an item 60-150 ns, and on a bad host
 * up to milliseconds (bench/README.md, the pause benchmark).  The first
 * read comes after the first items are scanned, so a drain that finds
 * grey objects always scans some: a return of 0 means none were found,
 * never that the time was up (the worker takes 0 for "ran dry"). */
#define DEADLINE_EVERY 4

/* Scans grey objects until none is left (with the world stopped), or,
 * with a `budget` (concurrent marking), until that many bytes were
 * scanned or no published work is left, and then empties the prefetch
 * queue; or, once the clock passes `deadline` (0: none), puts the queue's
 * items back in m's buffer and stops.  Either way no grey item is left
 * outside a work buffer, unless dropped with `overflowed` set (WORK-1). */
static void drain_budget(struct marker *m, uint64_t budget, uint64_t deadline)
{
    struct fifo f = {.head = 0, .n = 0};
    uint64_t stop_at = m->scan_bytes + budget;
    unsigned tick = 0;
#if GCHEAP_DEBUG >= 2
    /* Every 8th deadline is cut short in heap-verifying builds, so the
     * put-back below runs in every concurrent test, where the checkmark
     * and the tests' checksums catch an item it loses. */
    static AO_t cuts;
    if (deadline && at_fetch_add(&cuts, 1) % 8 == 0)
        deadline = 1;
#endif
    for (;;) {
        if (m->recruit && ++m->scanned > RECRUIT_AFTER) {
            m->recruit = false;
            recruit_helpers();
        }
        uintptr_t lo, hi;
        if (deadline && ++tick % DEADLINE_EVERY == 0 &&
            gci_os_now_ns() >= deadline) {
            /* Out of time: the queued items go back to the buffer
             * unscanned rather than be scanned late. */
            for (; f.n; f.n--, f.head = (f.head + 1) % PREFETCH_DEPTH)
                gci_work_push(m, f.lo[f.head], f.hi[f.head]);
            return;
        }
        bool more = !budget || m->scan_bytes < stop_at;
        while (more && f.n < PREFETCH_DEPTH && gci_work_pop(m, &lo, &hi)) {
            __builtin_prefetch((const void *)lo);
            size_t tail = (f.head + f.n++) % PREFETCH_DEPTH;
            f.lo[tail] = lo;
            f.hi[tail] = hi;
        }
        if (f.n == 0) {
            if (budget ? !more || !gci_work_try_get(m) : !gci_work_get(m))
                return;
            continue;
        }
        lo = f.lo[f.head];
        hi = f.hi[f.head];
        f.head = (f.head + 1) % PREFETCH_DEPTH;
        f.n--;
        scan_item(m, lo, hi);
    }
}

static void drain(struct marker *m) { drain_budget(m, 0, 0); }

/* Concurrent marking: scans about `budget` bytes of grey objects from m's
 * buffer and the published ones, stopping early once the clock passes
 * `deadline` (0: no deadline); returns the bytes scanned (0: no grey
 * object could be found). */
uint64_t gci_mark_drain_some(struct marker *m, uint64_t budget,
                             uint64_t deadline)
{
    uint64_t before = m->scan_bytes;
    if (gci_work_try_get(m))
        drain_budget(m, budget, deadline);
    return m->scan_bytes - before;
}

/* Adds a concurrent marker's counts to the cycle's. */
void gci_mark_account(struct marker *m)
{
    if (m->marked_bytes)
        at_fetch_add(&gci_cycle_marked, m->marked_bytes);
    if (m->scan_bytes)
        at_fetch_add(&gci_cycle_scanned, m->scan_bytes);
    m->marked_bytes = m->scan_bytes = 0;
}

/* ---- Helper workers ------------------------------------------------------ */

/* Waking a sleeping helper takes from tens of microseconds to, on this
 * virtual machine when its other CPU was idle, 350 on average over a
 * whole GCBench run -- a fifth of the mark it was woken for.  So a
 * stop-the-world cycle wakes the helpers as it begins (gci_mark_prewake),
 * when the last mark was big enough to recruit them: they poll for the
 * drain for up to PREWAKE_SPIN_NS instead of sleeping, and the wake-up
 * overlaps the stop and the root scan. */
#define PREWAKE_SPIN_NS 1000000u

static struct {
    pthread_mutex_t lock;
    pthread_cond_t start, done;
    size_t nhelpers, running;
    AO_t round;     /* drains the helpers were recruited into (lock) */
    uint64_t wakes; /* gci_mark_prewake calls (lock) */
    bool recruited; /* the last stop-the-world mark recruited them */
    uint64_t marked_bytes;
} helpers = {.lock = PTHREAD_MUTEX_INITIALIZER,
             .start = PTHREAD_COND_INITIALIZER,
             .done = PTHREAD_COND_INITIALIZER};

static void *helper_main(void *arg)
{
    (void)arg;
    gci_library_thread_begin("gcheap-mark");
    uint64_t seen = 0, seen_wakes = 0;
    pthread_mutex_lock(&helpers.lock);
    for (;;) {
        while (at_load(&helpers.round) == seen) {
            if (helpers.wakes == seen_wakes) {
                pthread_cond_wait(&helpers.start, &helpers.lock);
                continue;
            }
            seen_wakes = helpers.wakes; /* woken ahead: poll a while */
            pthread_mutex_unlock(&helpers.lock);
            uint64_t t0 = gci_os_now_ns();
            while (at_load(&helpers.round) == seen &&
                   gci_os_now_ns() - t0 < PREWAKE_SPIN_NS)
                for (int i = 0; i < 64; i++)
                    gci_cpu_relax();
            pthread_mutex_lock(&helpers.lock);
        }
        seen = at_load(&helpers.round);
        pthread_mutex_unlock(&helpers.lock);
        struct marker m = {0};
        drain(&m);
        pthread_mutex_lock(&helpers.lock);
        helpers.marked_bytes += m.marked_bytes;
        if (--helpers.running == 0)
            pthread_cond_broadcast(&helpers.done);
    }
    return NULL;
}

static void start_helpers(void)
{
    long cpus = gci_gc_procs();
    size_t want = cpus > 1 ? (size_t)cpus - 1 : 0;
    if (want > MAX_HELPERS)
        want = MAX_HELPERS;
    while (helpers.nhelpers < want &&
           gci_start_library_thread(helper_main, NULL))
        helpers.nhelpers++;
}

/* fork(): the child has no helper threads until it marks. */
void gci_mark_after_fork_child(void)
{
    pthread_mutex_init(&helpers.lock, NULL);
    pthread_cond_init(&helpers.start, NULL);
    pthread_cond_init(&helpers.done, NULL);
    helpers.nhelpers = helpers.running = 0;
}

/* Wakes the helper threads into the drain under way (once per drain). */
static void recruit_helpers(void)
{
    pthread_mutex_lock(&helpers.lock);
    start_helpers();
    if (helpers.nhelpers > 0) {
        gci_work_add_workers(helpers.nhelpers);
        helpers.running = helpers.nhelpers;
        at_store(&helpers.round, at_load(&helpers.round) + 1);
        helpers.recruited = true;
        pthread_cond_broadcast(&helpers.start);
    }
    pthread_mutex_unlock(&helpers.lock);
}

/* A stop-the-world cycle begins: wakes the helpers ahead of its mark if
 * the last one recruited them (see PREWAKE_SPIN_NS). */
void gci_mark_prewake(void)
{
    pthread_mutex_lock(&helpers.lock);
    if (helpers.recruited && helpers.nhelpers > 0) {
        helpers.wakes++;
        pthread_cond_broadcast(&helpers.start);
    }
    helpers.recruited = false;
    pthread_mutex_unlock(&helpers.lock);
}

/* Drains the work lists; returns the bytes the helpers marked.  The
 * calling thread drains alone at first and wakes the helpers once the
 * work proves larger than RECRUIT_AFTER objects. */
static uint64_t drain_all(struct marker *m)
{
    if (!gci_work_pending(m)) /* nothing grey */
        return 0;
    gci_work_flush(m);
    gci_work_begin(1);
    pthread_mutex_lock(&helpers.lock);
    helpers.running = 0;
    helpers.marked_bytes = 0;
    pthread_mutex_unlock(&helpers.lock);
    m->recruit = !m->check; /* the checkmark re-mark runs alone */
    m->scanned = 0;
    drain(m);
    m->recruit = false;
    pthread_mutex_lock(&helpers.lock);
    while (helpers.running)
        pthread_cond_wait(&helpers.done, &helpers.lock);
    uint64_t bytes = helpers.marked_bytes;
    pthread_mutex_unlock(&helpers.lock);
    gci_work_end();
    return bytes;
}

/* ---- Overflow ------------------------------------------------------------ */

/* Scans every marked object of a scan span again: what a dropped work
 * item would have reached gets marked now.  Objects gc_free freed while
 * marking are left out: their words were shaded at the free (and under
 * memcheck their bytes are freed). */
static void rescan_span(struct span *s, void *arg)
{
    if (s->kind == GCI_NOSCAN)
        return;
    for (size_t i = 0; i < s->nelems; i++)
        if (span_bit(s, BM_MARK, i) && slot_live(s, i)) {
            uintptr_t obj = span_object(s, i);
            gci_mark_range(arg, obj, obj + s->elemsize);
        }
}

/*
 * Marks everything reachable from what `roots` marks; the world is
 * stopped.  Returns the bytes marked.
 */
uint64_t gci_mark_run(void (*roots)(struct marker *m))
{
    struct marker m = {.check = gci_checkmark_active()};
    roots(&m);
    uint64_t helped = drain_all(&m);
    while (gci_work_overflowed()) {
        at_fetch_add(&gci_mark_overflows, 1);
        gci_mheap_each_span(rescan_span, &m);
        helped += drain_all(&m);
    }
    return m.marked_bytes + helped;
}

/* ---- The heap verifier ------------------------------------------------- */

struct verify {
    bool ok;
    bool mark2; /* check MARK-2 (not after a concurrent mark: a slot freed
                   while marking may have been marked before) */
    size_t reported;
};

static void complain(struct verify *v, const char *what, uintptr_t a,
                     uintptr_t b)
{
    v->ok = false;
    if (v->reported++ < 10)
        gci_report("heap verifier: %s: %p -> %p", what, (void *)a, (void *)b);
}

/* MARK-2 for span s, and MARK-1 for each of its marked scan objects:
 * every word of it that identifies an object identifies a marked one. */
__attribute__((no_sanitize("address", "thread", "undefined"))) static void
verify_span(struct span *s, void *arg)
{
    struct verify *v = arg;
    for (size_t w = 0; v->mark2 && w < s->nwords; w++)
        if (at_load(span_bits(s, BM_MARK, w)) &
            ~at_load(span_bits(s, BM_ALLOC, w)))
            complain(v, "marked free slot in span", s->start, 0);
    if (s->kind == GCI_NOSCAN)
        return;
    for (size_t i = 0; i < s->nelems; i++) {
        if (!span_bit(s, BM_MARK, i))
            continue;
        uintptr_t obj = span_object(s, i);
        for (uintptr_t p = obj; p < obj + s->elemsize; p += sizeof p) {
            uintptr_t word = *(volatile uintptr_t *)p;
#if GCHEAP_VALGRIND
            VALGRIND_MAKE_MEM_DEFINED(&word, sizeof word);
#endif
            struct span *t;
            size_t j;
            if (gci_mark_find(word, &t, &j) && !span_bit(t, BM_MARK, j))
                complain(v, "black object points to a white one", obj, word);
        }
    }
}

/* Checks MARK-1 and MARK-2 over the whole heap after marking, with the
 * world stopped; reports violations through the error handler. */
bool gci_mark_verify(bool mark2)
{
    struct verify v = {true, mark2, 0};
    gci_mheap_each_span(verify_span, &v);
    return v.ok;
}
