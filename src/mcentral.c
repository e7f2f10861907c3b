/*
 * mcentral.c -- per span class, the spans no thread cache holds.
 *
 * Each span class has a list of partial spans (some slot free; FIFO, so a
 * span just handed back is the last to be taken again) and a list of full
 * ones.  A thread cache whose span is used up hands it back here and takes
 * a partial span, or a new one from the page heap.
 *
 * Frees by threads that do not own a span only set the slot's freed bit
 * (one atomic operation, no lock) and never touch the span again.  Freed
 * bits are drained into the alloc bits under this lock: when a cache takes
 * a span (from the partial list, or from the head of the full list, which
 * holds the longest-full spans, those most likely to have been freed into)
 * and when a cache hands a span back.  Only then may an empty span go back
 * to the page heap, so no freer is ever left holding a freed span.
 *
 * Concurrency: one lock per span class over its two lists and the `owner`
 * and `list` fields of its spans.
 * CENTRAL-1: a span with owner != 0 is on no list (list == LIST_OWNED).
 * CENTRAL-2: a span on the full list has a live object (counting
 *            undrained freed bits as live) and had no free slot when it
 *            was filed; one on the partial list had a free slot (it may
 *            be empty: a sweep keeps up to KEEP_EMPTY empty spans per
 *            class listed).
 */
#include "internal.h"

#include <sched.h>
#include <stdio.h>

struct spanq {
    struct span *head, *tail;
};

struct mcentral {
    pthread_mutex_t lock;
    struct spanq partial, full;
    size_t kept, kept_gen; /* empty spans kept by this sweep (sweepgen) */
    AO_t swept_gen;        /* == gci_sweepgen: no unswept span is listed (read
                              without the lock, to skip the class) */
};

static struct mcentral central[GCI_NUM_SPANCLASSES];

/* The class locks are adaptive: a waiter spins briefly before it sleeps,
 * since every hold is short (the sweeper drops the lock while it sweeps)
 * and a futex sleep and wake-up costs more than the wait. */
void gci_mcentral_init(void)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
    for (size_t i = 0; i < GCI_NUM_SPANCLASSES; i++)
        pthread_mutex_init(&central[i].lock, &attr);
    pthread_mutexattr_destroy(&attr);
}

static void push_tail(struct spanq *l, struct span *s)
{
    s->next = NULL;
    s->prev = l->tail;
    if (l->tail)
        l->tail->next = s;
    else
        l->head = s;
    l->tail = s;
}

static void unlink_span(struct spanq *l, struct span *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        l->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        l->tail = s->prev;
    s->next = s->prev = NULL;
}

static struct spanq *list_of(struct mcentral *mc, struct span *s)
{
    return at_load(&s->list) == LIST_FULL ? &mc->full : &mc->partial;
}

/* Makes c the owner of s: from here on, frees by other threads only set
 * freed bits.  Under the class lock unless s is new (it has no objects
 * that anyone could free). */
static void own(struct span *s, struct mcache *c)
{
    at_store(&s->list, LIST_OWNED);
    at_store(&s->owner, (size_t)c);
}

/* A span with a free slot once its freed bits are drained (or none in
 * use at all): taken off its list and owned by c; NULL, with the span
 * refiled on the full list, when it has no free slot. */
static struct span *claim(struct mcentral *mc, struct spanq *from,
                          struct span *s, struct mcache *c)
{
    unlink_span(from, s);
    if (s->sweepgen != at_load(&gci_sweepgen))
        gci_span_sweep(s); /* sweeping paid for by allocation */
    gci_span_drain(s);
    size_t n = gci_span_count_alloc(s);
    if (n > 0 && n < s->nelems) {
        own(s, c);
        return s;
    }
    if (n == s->nelems) {
        at_store(&s->list, LIST_FULL);
        push_tail(&mc->full, s);
        return NULL;
    }
    own(s, c); /* empty: as good as new */
    return s;
}

/* How many full spans an acquire looks at for frees made since they
 * filled up, before it takes a new span from the page heap. */
#define FULL_PROBES 8

static struct span *take_listed(struct mcentral *mc, struct mcache *c)
{
    struct span *s;
    while ((s = mc->partial.head) != NULL)
        if ((s = claim(mc, &mc->partial, s, c)) != NULL)
            return s;
    for (int i = 0; i < FULL_PROBES && (s = mc->full.head) != NULL; i++)
        if ((s = claim(mc, &mc->full, s, c)) != NULL)
            return s;
    return NULL;
}

struct span *gci_mcentral_acquire(struct mcache *c, size_t spanclass)
{
    struct mcentral *mc = &central[spanclass];
    pthread_mutex_lock(&mc->lock);
    struct span *s = take_listed(mc, c);
    pthread_mutex_unlock(&mc->lock);
    if (!s) {
        unsigned cls = (unsigned)(spanclass / GCI_NUM_KINDS);
        s = gci_mheap_alloc(gci_class_pages[cls], cls,
                            (enum gci_kind)(spanclass % GCI_NUM_KINDS));
        if (!s)
            return NULL;
        if (s->needzero)
            gci_span_zero(s);
        own(s, c);
    }
    gci_span_prime(s, 0);
    return s;
}

/* The owner hands s back: to the heap if empty, else to a list.  While
 * a concurrent cycle marks, no span is freed (markers may be looking at
 * it), so an empty one is listed. */
void gci_mcentral_release(struct span *s)
{
    struct mcentral *mc = &central[s->spanclass];
    pthread_mutex_lock(&mc->lock);
    at_store(&s->owner, 0);
    gci_span_drain(s);
    s->alloc_cache = 0;
    size_t n = gci_span_count_alloc(s);
    if (n == 0 && !gci_marking()) {
        at_store(&s->list, LIST_NONE);
        pthread_mutex_unlock(&mc->lock);
        gci_mheap_free(s);
        return;
    }
    at_store(&s->list, n == s->nelems ? LIST_FULL : LIST_PARTIAL);
    push_tail(list_of(mc, s), s);
    pthread_mutex_unlock(&mc->lock);
}

/* ---- Sweeping ------------------------------------------------------------
 * After a cycle every listed span is unswept.  A sweeper takes a batch of
 * spans from the head of a list, sweeps them with the class lock dropped
 * (sweeping touches only the span's bitmaps, with atomic operations, and
 * an unlisted span with no owner is nobody else's: claim only looks at
 * listed spans, and frees by other threads only set freed bits), then
 * files them, swept, at the tail of the list their new count calls for,
 * or frees them.  So a list's unswept spans always precede its swept
 * ones; spans filed during the sweep phase come from caches and are swept
 * already (claim sweeps before owning).  The lock is held only to move
 * spans (a batch's swept spans are filed in one splice per list), never
 * while sweeping: an allocator that needs the class lock to
 * refill waits for a few list operations, not for the background
 * sweeper's work (the sweeper relocking in a tight loop would otherwise
 * starve it, mutexes not being fair). */

/* Spans a sweeper takes at a time: few, so that the class lock is held
 * for less than an adaptive mutex's spin (with 32 the program slept on
 * it about 1,000 times a second in bench/latency; docs/design.md). */
#define SWEEP_BATCH 8

/* Empty spans a sweep keeps listed per class, for the allocator to take
 * again without a round trip through the page heap (freeing, coalescing,
 * page-map writes, then carving and writing them again); the rest go
 * back to the page heap, where other classes and the scavenger can have
 * them. */
#define KEEP_EMPTY 32

/* Lock held.  Takes up to `batch` unswept spans from the head of q onto
 * the chain *out (through `next`); returns how many. */
static int take_unswept(struct spanq *q, int batch, struct span **out)
{
    size_t gen = at_load(&gci_sweepgen);
    int n = 0;
    struct span **tail = out;
    for (struct span *s; n < batch && (s = q->head) && s->sweepgen != gen;
         n++) {
        unlink_span(q, s);
        at_store(&s->list, LIST_NONE);
        *tail = s;
        tail = &s->next;
    }
    *tail = NULL;
    return n;
}

/* Appends the chain q (its own head and tail) to l in one step. */
static void splice_tail(struct spanq *l, struct spanq *q)
{
    if (!q->head)
        return;
    q->head->prev = l->tail;
    if (l->tail)
        l->tail->next = q->head;
    else
        l->head = q->head;
    l->tail = q->tail;
}

/* Sorts the swept chain `swept` (lock dropped) into *partial and *full,
 * and the empty spans into *empty.  The spans stay off the lists. */
static void sort_swept(struct span *swept, struct spanq *partial,
                       struct spanq *full, struct span **empty)
{
    for (struct span *s = swept, *next; s; s = next) {
        next = s->next;
        size_t n = gci_span_count_alloc(s);
        if (n == 0) {
            s->next = *empty;
            *empty = s;
            continue;
        }
        /* Off every list: nobody reads `list` before the filing. */
        at_store(&s->list, n == s->nelems ? LIST_FULL : LIST_PARTIAL);
        push_tail(n == s->nelems ? full : partial, s);
    }
}

/* Lock held.  Files sorted swept spans: the partial and full chains in
 * one step each, and empty spans (listed as partial) up to the class's
 * KEEP_EMPTY for this sweep; the rest of *empty is left to be freed with
 * the lock dropped. */
static void file_swept(struct mcentral *mc, struct spanq *partial,
                       struct spanq *full, struct span **empty)
{
    size_t gen = at_load(&gci_sweepgen);
    if (mc->kept_gen != gen)
        mc->kept = 0, mc->kept_gen = gen;
    while (*empty && mc->kept < KEEP_EMPTY) {
        struct span *s = *empty;
        *empty = s->next;
        at_store(&s->list, LIST_PARTIAL);
        push_tail(&mc->partial, s);
        mc->kept++;
    }
    splice_tail(&mc->partial, partial);
    splice_tail(&mc->full, full);
}

/* Sweeps up to `batch` spans from the head of mc's partial list, else of
 * its full one; returns the pages swept, 0 when neither list has an
 * unswept span left. */
static size_t sweep_class(struct mcentral *mc, int batch)
{
    pthread_mutex_lock(&mc->lock);
    struct span *chain;
    if (!take_unswept(&mc->partial, batch, &chain) &&
        !take_unswept(&mc->full, batch, &chain)) {
        at_store(&mc->swept_gen, at_load(&gci_sweepgen));
        pthread_mutex_unlock(&mc->lock);
        return 0;
    }
    pthread_mutex_unlock(&mc->lock);
    size_t pages = 0;
    for (struct span *s = chain; s; s = s->next) {
        gci_span_sweep(s);
        pages += s->npages;
    }
    struct spanq partial = {0}, full = {0};
    struct span *empty = NULL;
    sort_swept(chain, &partial, &full, &empty);
    pthread_mutex_lock(&mc->lock);
    file_swept(mc, &partial, &full, &empty);
    pthread_mutex_unlock(&mc->lock);
    for (struct span *s = empty, *next; s; s = next) {
        next = s->next;
        s->next = NULL;
        gci_mheap_free(s);
    }
    return pages;
}

/* Sweeps every class.  With `background` (the sweeper thread), each batch
 * is bracketed for the cycle to wait on (sweep.c) and followed by a yield
 * of the CPU, and the pass gives up, returning false, when a cycle blocks
 * sweeping. */
bool gci_mcentral_sweep_all(bool background)
{
    for (size_t i = GCI_NUM_KINDS; i < GCI_NUM_SPANCLASSES; i++)
        for (size_t pages = 1; pages != 0;) {
            if (background && !gci_sweep_batch_begin())
                return false;
            pages = sweep_class(&central[i], SWEEP_BATCH);
            if (background) {
                gci_sweep_batch_end();
                if (pages)
                    sched_yield();
            }
        }
    return true;
}

/* Sweeping paid for by allocation (Go's deductive sweep): sweeps unswept
 * spans of the classes in turn until about `pages` pages are swept;
 * returns the pages swept (1 if a cycle blocked sweeping), 0 only after
 * every class was found swept.  Classes known to be swept are skipped
 * without their lock.  (It waits for a class lock another sweeper holds:
 * skipping the class instead left the debt unpaid, and unswept garbage
 * raised heap_alloc to 1.22 times the goal in test/gc/gogc.)  Each batch
 * is bracketed like the background sweeper's, so a cycle waits for it.  Called
 * in a no-stop region (the class locks are the collector's while the world is
 * stopped). */
size_t gci_mcentral_sweep_some(size_t pages)
{
    static AO_t cursor; /* where the next caller starts, for fairness */
    size_t start = at_fetch_add(&cursor, 1), done = 0;
    size_t gen = at_load(&gci_sweepgen);
    for (size_t k = 0; k < GCI_NUM_SPANCLASSES && done < pages; k++) {
        size_t i = (start + k) % GCI_NUM_SPANCLASSES;
        if (i < GCI_NUM_KINDS) /* class 0: large objects, not listed here */
            continue;
        if (at_load(&central[i].swept_gen) == gen)
            continue;
        if (!gci_sweep_batch_begin())
            return done + 1; /* a cycle is sweeping everything */
        done += sweep_class(&central[i], 8);
        gci_sweep_batch_end();
    }
    return done;
}

/* Hands every empty listed span back to the page heap: gc_release_memory,
 * so that the spans sweeps keep listed (KEEP_EMPTY) go back to the OS too.
 * Only swept spans are looked at. */
void gci_mcentral_free_empty(void)
{
    for (size_t i = GCI_NUM_KINDS; i < GCI_NUM_SPANCLASSES; i++) {
        struct mcentral *mc = &central[i];
        struct span *empty = NULL;
        pthread_mutex_lock(&mc->lock);
        for (struct span *s = mc->partial.head, *next; s; s = next) {
            next = s->next;
            if (s->sweepgen != at_load(&gci_sweepgen))
                continue; /* sweeping in place would break the lists'
                             unswept-first order; gc_collect swept all */
            gci_span_drain(s);
            if (gci_span_count_alloc(s) != 0)
                continue;
            unlink_span(&mc->partial, s);
            at_store(&s->list, LIST_NONE);
            s->next = empty;
            empty = s;
        }
        pthread_mutex_unlock(&mc->lock);
        for (struct span *s = empty, *next; s; s = next) {
            next = s->next;
            s->next = NULL;
            gci_mheap_free(s);
        }
    }
}

static bool no_freed_bits(const struct span *s)
{
    for (size_t w = 0; w < s->nwords; w++)
        if (at_load(span_bits(s, BM_FREED, w)))
            return false;
    return true;
}

/* CENTRAL-1 and CENTRAL-2 for one span on list `want`. */
static bool span_filed_well(struct span *s, size_t spanclass, size_t want)
{
    size_t n = gci_span_count_alloc(s);
    bool ok = s->spanclass == spanclass && at_load(&s->owner) == 0 &&
              at_load(&s->list) == want && span_of((void *)s->start) == s;
    ok &= want == LIST_PARTIAL ? n < s->nelems || !no_freed_bits(s) : n > 0;
    return ok;
}

static bool verify_list(struct spanq *l, size_t spanclass, size_t want)
{
    bool ok = true;
    for (struct span *s = l->head; s; s = s->next) {
        bool good = span_filed_well(s, spanclass, want);
        if (!good)
            fprintf(stderr, "gcheap: verify: span %p misfiled in class %zu\n",
                    (void *)s->start, spanclass);
        ok &= good;
    }
    return ok;
}

/* Debug check of CENTRAL-1 and the lists' consistency. */
bool gci_mcentral_verify(void)
{
    bool ok = true;
    for (size_t i = 0; i < GCI_NUM_SPANCLASSES; i++) {
        pthread_mutex_lock(&central[i].lock);
        ok &= verify_list(&central[i].partial, i, LIST_PARTIAL);
        ok &= verify_list(&central[i].full, i, LIST_FULL);
        pthread_mutex_unlock(&central[i].lock);
    }
    return ok;
}
