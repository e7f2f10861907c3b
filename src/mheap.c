/*
 * mheap.c -- the page heap: runs of free pages, handed out as spans.
 *
 * Free pages are kept as free spans ("runs"), coalesced with their
 * neighbours on every free, on segregated lists: one list per run length
 * from 1 to 127 pages, and one list of longer runs searched for the best
 * fit (Go's mheap before its page allocator rewrite).  When no run fits,
 * the heap grows: it takes at least GROW_BYTES more of the current arena
 * region (reserved readable and writable: no system call, os.c), or
 * reserves a new region of whole arenas.
 *
 * Owns: the free lists, the growth frontier, the heap byte counters.
 * Concurrency: one lock, `heap.lock`, over all of it, and over span struct
 * allocation (span.c) and page-map writes (pagemap.c).
 *
 * HEAP-1: a free run is on exactly one list, the one for its length.
 * HEAP-2: no two adjacent free runs have the same `released` state (they
 *         would have been coalesced).  Runs of different states are kept
 *         apart, so the scavenger can give back part of a run at a time
 *         and the released part is never taken for resident again.
 * HEAP-3: a run's needzero is false only if every byte of it is zero.
 * HEAP-4: free_bytes is the sum of the lengths of all runs, and
 *         released_bytes that of the runs marked released.
 */
#include "internal.h"

#include "vg.h"

#include <stdio.h>

AO_t gci_uncollectable_spans; /* in-use spans of uncollectable objects */

#define EXACT_LISTS 128 /* runs of 1..127 pages; longer ones in `large` */
#define GROW_BYTES ((size_t)1 << 20)

static struct {
    pthread_mutex_t lock;
    struct span *exact[EXACT_LISTS];
    struct span *large;
    uintptr_t frontier; /* next byte of the current region not yet taken */
    uintptr_t region_end;
    AO_t sys_bytes;      /* taken from the reserved regions */
    AO_t free_bytes;     /* in free runs */
    AO_t released_bytes; /* in free runs whose pages the OS holds */
} heap = {.lock = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP};

void gci_mheap_init(void) {}

void gci_mheap_lock(void) { pthread_mutex_lock(&heap.lock); }
void gci_mheap_unlock(void) { pthread_mutex_unlock(&heap.lock); }

uint64_t gci_mheap_sys_bytes(void) { return at_load(&heap.sys_bytes); }
uint64_t gci_mheap_free_bytes(void) { return at_load(&heap.free_bytes); }
uint64_t gci_mheap_released_bytes(void)
{
    return at_load(&heap.released_bytes);
}

static void count_released(const struct span *run, ptrdiff_t sign)
{
    if (run->released)
        at_fetch_add(
            &heap.released_bytes,
            (size_t)(sign * (ptrdiff_t)(run->npages * GCI_PAGE_BYTES)));
}

static struct span **list_for(size_t npages)
{
    return npages < EXACT_LISTS ? &heap.exact[npages] : &heap.large;
}

static void list_insert(struct span *run)
{
    struct span **head = list_for(run->npages);
    run->prev = NULL;
    run->next = *head;
    if (*head)
        (*head)->prev = run;
    *head = run;
}

static void list_remove(struct span *run)
{
    if (run->prev)
        run->prev->next = run->next;
    else
        *list_for(run->npages) = run->next;
    if (run->next)
        run->next->prev = run->prev;
    run->next = run->prev = NULL;
}

static void set_ends(struct span *run, struct span *to)
{
    gci_pagemap_set(run->start, 1, to);
    gci_pagemap_set(span_limit(run) - GCI_PAGE_BYTES, 1, to);
}

/* The free run that ends right at `addr` or starts right at it, if any,
 * and is `released` or not as asked. */
static struct span *free_neighbour(uintptr_t probe, uintptr_t addr,
                                   bool released)
{
    struct span *run = pagemap_lookup(probe);
    if (!run || at_load(&run->state) != SPAN_FREE || run->released != released)
        return NULL;
    if (run->start != addr && span_limit(run) != addr)
        return NULL;
    return run;
}

/* Takes run off its list and out of the page map, giving its pages to the
 * caller's new run. */
static void absorb(struct span *run, uintptr_t *start, size_t *npages,
                   bool *needzero, bool *released)
{
    list_remove(run);
    set_ends(run, NULL);
    count_released(run, -1);
    GCI_ASSERT(run->released == *released);
    if (run->start < *start)
        *start = run->start;
    *npages += run->npages;
    *needzero |= run->needzero;
    gci_span_delete(run);
}

/* Returns pages to the free lists, coalescing (HEAP-2).  `released`:
 * the OS holds them (never touched, or given back). */
static bool add_free(uintptr_t start, size_t npages, bool needzero,
                     bool released)
{
    uintptr_t end = start + npages * GCI_PAGE_BYTES;
    struct span *before = free_neighbour(start - 1, start, released);
    struct span *after = free_neighbour(end, end, released);
    struct span *run = gci_span_new(1);
    if (!run)
        return false; /* the pages stay out of use: no harm, no reuse */
    at_fetch_add(&heap.free_bytes, npages * GCI_PAGE_BYTES);
    if (before)
        absorb(before, &start, &npages, &needzero, &released);
    if (after)
        absorb(after, &start, &npages, &needzero, &released);
    run->start = start;
    run->npages = npages;
    run->needzero = needzero;
    run->released = released;
    count_released(run, 1);
    at_store(&run->state, SPAN_FREE);
    set_ends(run, run);
    list_insert(run);
    vg_noaccess((void *)start, npages * GCI_PAGE_BYTES);
    return true;
}

/* A run of the list at head, resident ones first (a released run costs
 * page faults to use again): the first resident among the first few. */
static struct span *pick(struct span *head)
{
    struct span *run = head;
    for (int i = 0; run && i < 8; i++, run = run->next)
        if (!run->released)
            return run;
    return head;
}

static struct span *find_run(size_t npages)
{
    for (size_t n = npages; n < EXACT_LISTS; n++)
        if (heap.exact[n])
            return pick(heap.exact[n]);
    struct span *best = NULL;
    for (struct span *run = heap.large; run; run = run->next)
        if (run->npages >= npages &&
            (!best || run->npages < best->npages ||
             (run->npages == best->npages &&
              (best->released > run->released ||
               (best->released == run->released && run->start < best->start)))))
            best = run;
    return best;
}

/* Takes [frontier, frontier + bytes) into the heap: frees it into the
 * lists (its pages untouched: zero, costing no memory yet). */
static bool take_more(size_t bytes)
{
    at_fetch_add(&heap.sys_bytes, bytes);
    uintptr_t start = heap.frontier;
    heap.frontier += bytes;
    return add_free(start, bytes / GCI_PAGE_BYTES, false, true);
}

static bool grow(size_t npages)
{
    size_t bytes = npages * GCI_PAGE_BYTES;
    if (bytes < GROW_BYTES)
        bytes = GROW_BYTES;
    if (heap.region_end - heap.frontier < bytes) {
        size_t region = (bytes + GCI_ARENA_BYTES - 1) & ~(GCI_ARENA_BYTES - 1);
        uintptr_t p = gci_arena_reserve(region);
        if (!p)
            return false;
        if (p != heap.region_end) {
            /* Not contiguous: the old region's tail becomes free pages. */
            if (heap.region_end > heap.frontier)
                take_more(heap.region_end - heap.frontier);
            heap.frontier = p;
        }
        heap.region_end = p + region;
    }
    return take_more(bytes);
}

/* Takes npages from the front of run; the rest stays free. */
static void carve(struct span *run, size_t npages)
{
    list_remove(run);
    at_fetch_add(&heap.free_bytes, (size_t)0 - npages * GCI_PAGE_BYTES);
    if (run->released)
        at_fetch_add(&heap.released_bytes, (size_t)0 - npages * GCI_PAGE_BYTES);
    if (run->npages == npages) {
        set_ends(run, NULL);
        gci_span_delete(run);
        return;
    }
    gci_pagemap_set(run->start, 1, NULL);
    run->start += npages * GCI_PAGE_BYTES;
    run->npages -= npages;
    set_ends(run, run);
    list_insert(run);
}

/* Before the heap grows: joins free runs with a following neighbour of
 * the other state (at most MAX_MERGES pairs), so that a request that fits
 * only across both is served from them.  The joined run counts as
 * resident and dirty (its released part reads zero, the rest need not);
 * the scavenger may release it again.  A join may absorb further runs
 * (add_free coalesces), so the walk restarts after each. */
#define MAX_MERGES 64
static void merge_mixed(void)
{
    int merges = 0;
    for (size_t n = 1; n <= EXACT_LISTS && merges < MAX_MERGES; n++) {
    again:
        for (struct span *run = n < EXACT_LISTS ? heap.exact[n] : heap.large;
             run; run = run->next) {
            struct span *after = free_neighbour(
                span_limit(run), span_limit(run), !run->released);
            if (!after)
                continue;
            uintptr_t start = run->start;
            size_t npages = run->npages + after->npages;
            carve(run, run->npages);
            carve(after, after->npages);
            add_free(start, npages, true, false);
            if (++merges == MAX_MERGES)
                return;
            goto again;
        }
    }
}

/* merge_mixed for tests (test/unit/mheap.c). */
void gci_mheap_merge_mixed(void)
{
    pthread_mutex_lock(&heap.lock);
    merge_mixed();
    pthread_mutex_unlock(&heap.lock);
}

/*
 * Allocates a span of npages for objects of class cls and the given kind,
 * laid out and published in the page map, or NULL when the OS has no more
 * memory to give.
 */
struct span *gci_mheap_alloc(size_t npages, unsigned cls, enum gci_kind kind)
{
    size_t nelems = cls ? gci_class_objects[cls] : 1;
    pthread_mutex_lock(&heap.lock);
    struct span *run = find_run(npages);
    if (!run) {
        merge_mixed();
        run = find_run(npages);
    }
    if (!run && grow(npages))
        run = find_run(npages);
    struct span *s = run ? gci_span_new(bitmap_words(nelems)) : NULL;
    if (!s) {
        pthread_mutex_unlock(&heap.lock);
        return NULL;
    }
    s->start = run->start;
    s->npages = npages;
    s->needzero = run->needzero;
    carve(run, npages);
    gci_span_init_objects(s, cls, kind);
    if (kind == GCI_UNCOLLECTABLE)
        at_fetch_add(&gci_uncollectable_spans, 1);
    s->sweepgen = at_load(&gci_sweepgen);
    at_store(&s->state, SPAN_INUSE);
    gci_pagemap_set(s->start, npages, s);
    pthread_mutex_unlock(&heap.lock);
    return s;
}

/* Returns an in-use span's pages to the heap.  Small spans whose objects
 * were all freed by gc_free are clean (frees zero); large ones are not. */
void gci_mheap_free(struct span *s)
{
    bool needzero = s->needzero || span_is_large(s);
    pthread_mutex_lock(&heap.lock);
    if (s->kind == GCI_UNCOLLECTABLE)
        at_fetch_add(&gci_uncollectable_spans, (size_t)-1);
    at_store(&s->state, SPAN_DEAD);
    gci_pagemap_set(s->start, s->npages, NULL);
    uintptr_t start = s->start;
    size_t npages = s->npages;
    gci_span_delete(s);
    add_free(start, npages, needzero, false);
    pthread_mutex_unlock(&heap.lock);
}

/* An unreleased free run, the highest-addressed of the first few found
 * (Go scavenges from the top of the heap down: low pages are likelier to
 * be reused soon).  Heap lock held. */
static struct span *unreleased_run(void)
{
    struct span *best = NULL;
    int seen = 0;
    for (size_t n = EXACT_LISTS; n >= 1 && seen < 16; n--) {
        struct span *head = n < EXACT_LISTS ? heap.exact[n] : heap.large;
        for (struct span *run = head; run && seen < 16; run = run->next)
            if (!run->released) {
                seen++;
                if (!best || run->start > best->start)
                    best = run;
            }
    }
    return best;
}

/*
 * The scavenger's step: gives at most max_bytes (rounded up to a page) of
 * free, resident pages back to the OS, taken from the top of one free run,
 * and returns the bytes released (0: every free page is released).  The
 * pages leave the free lists while madvise runs, so the heap lock is held
 * only to take them and to put them back.
 */
size_t gci_mheap_scavenge(size_t max_bytes)
{
    size_t max_pages = (max_bytes + GCI_PAGE_BYTES - 1) / GCI_PAGE_BYTES;
    if (max_pages == 0)
        max_pages = 1;
    pthread_mutex_lock(&heap.lock);
    struct span *run = unreleased_run();
    if (!run) {
        pthread_mutex_unlock(&heap.lock);
        return 0;
    }
    size_t npages = run->npages < max_pages ? run->npages : max_pages;
    /* The top npages of the run: carve takes from the front, so take the
     * front part as the rest and put it back at once. */
    uintptr_t start = span_limit(run) - npages * GCI_PAGE_BYTES;
    size_t keep = run->npages - npages;
    bool needzero = run->needzero;
    uintptr_t run_start = run->start;
    carve(run, run->npages); /* the whole run leaves the lists */
    if (keep)
        add_free(run_start, keep, needzero, false);
    pthread_mutex_unlock(&heap.lock);

    bool ok = gci_os_release((void *)start, npages * GCI_PAGE_BYTES);

    pthread_mutex_lock(&heap.lock);
    add_free(start, npages, ok ? false : needzero, ok);
    pthread_mutex_unlock(&heap.lock);
    return ok ? npages * GCI_PAGE_BYTES : 0;
}

/* Gives every free page back to the OS (gc_release_memory); the pages
 * read as zero when next touched.  Returns the bytes released now. */
size_t gci_mheap_release_free(void)
{
    size_t bytes = 0, step;
    while ((step = gci_mheap_scavenge(SIZE_MAX / 2)) > 0)
        bytes += step;
    return bytes;
}

/* Calls fn for every in-use span; with the world stopped (and the
 * sweeper held off), when no span changes, or while a concurrent cycle
 * marks, when spans are only made (those made during the walk may be
 * missed), never freed.  Then a page may name a free run's record being
 * rewritten as it is carved: its state is read atomically and an in-use
 * span's fields are published before its state, so the walk skips it or
 * sees it whole -- but ThreadSanitizer sees the rewrite race the read,
 * so the walk is exempt, as the marker's lookup is (mark.c). */
__attribute__((no_sanitize("thread"))) void
gci_mheap_each_span(void (*fn)(struct span *s, void *arg), void *arg)
{
    for (struct region *r = __atomic_load_n(&gci_regions, __ATOMIC_ACQUIRE); r;
         r = r->next)
        for (uintptr_t p = r->start; p < r->start + r->bytes;
             p += GCI_PAGE_BYTES) {
            struct span *s = pagemap_lookup(p);
            if (s && at_load(&s->state) == SPAN_INUSE && s->start == p) {
                fn(s, arg);
                p = span_limit(s) - GCI_PAGE_BYTES;
            }
        }
}

static bool verify_run(struct span *run, size_t list_len, size_t *bytes)
{
    bool ok = at_load(&run->state) == SPAN_FREE;
    ok &= list_len < EXACT_LISTS ? run->npages == list_len
                                 : run->npages >= EXACT_LISTS; /* HEAP-1 */
    ok &= pagemap_lookup(run->start) == run;                   /* PAGEMAP-1 */
    ok &= pagemap_lookup(span_limit(run) - 1) == run;
    ok &= !free_neighbour(run->start - 1, run->start, run->released);
    ok &= !free_neighbour(span_limit(run), span_limit(run), run->released);
    *bytes += run->npages * GCI_PAGE_BYTES;
    if (!ok)
        fprintf(stderr, "gcheap: verify: bad free run %p (%zu pages)\n",
                (void *)run->start, run->npages);
    return ok;
}

/* Debug check of HEAP-1, HEAP-2, HEAP-4 and the free runs' page-map
 * entries.  Returns true when the heap is consistent. */
bool gci_mheap_verify(void)
{
    bool ok = true;
    size_t bytes = 0;
    pthread_mutex_lock(&heap.lock);
    for (size_t n = 1; n <= EXACT_LISTS; n++) {
        struct span *head = n < EXACT_LISTS ? heap.exact[n] : heap.large;
        for (struct span *run = head; run; run = run->next)
            ok &= verify_run(run, n, &bytes);
    }
    ok &= bytes == at_load(&heap.free_bytes); /* HEAP-4 */
    pthread_mutex_unlock(&heap.lock);
    return ok;
}
