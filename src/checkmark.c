/*
 * checkmark.c -- GCHEAP_CHECKMARK=1: after a concurrent mark, mark again
 * with the world stopped and report every reachable object the concurrent
 * mark missed (Go's gccheckmark).
 *
 * At mark termination, with the world stopped and the concurrent mark
 * complete, the mark bits of every span are saved to a side table and
 * cleared; the roots are marked and the heap drained again, by one
 * worker.  Each object the re-mark reaches that the saved bits lack was
 * missed: it is reported with the slot that references it, which is
 * where a barrier was skipped.  Only the frontier is reported -- a missed
 * object reached from a root or from an object the concurrent mark did
 * mark -- not the objects behind it.  The saved bits are then added back,
 * so a missed object also survives (the re-mark heals what it finds).
 *
 * The re-mark marks everything it can reach from the roots but the
 * stacks first, and the stacks after: a missed object the program can
 * reach through the heap is then reported through the heap slot that
 * references it (or as a root), even if some stack also holds a word
 * naming it.  Marking the stacks first, a stale stack word that named a
 * missed object hid the heap path behind a root report.
 *
 * False reports: a conservative stack holds old words below its live
 * frames.  The concurrent mark scanned a thread's stack from where it
 * stopped at the mark start; if it stops deeper now, words in between
 * may be such leftovers from before that scan, pointing at objects that
 * were already dead.  Objects reached only from there are marked but not
 * reported (marker.quiet_lo/hi, set by roots.c).
 *
 * Reports are kept (up to MAX_REPORTS) and made through the error
 * handler after the world restarts: the handler is the program's code.
 * Memory: the table is mapped for the check and unmapped after it (no
 * malloc while the world is stopped).
 */
#include "internal.h"

#include <stdio.h>

struct saved {
    struct span *s;
    uint64_t *words; /* the span's mark words as the concurrent mark left */
};

#define MAX_REPORTS 16
#define MAX_ALSO 4 /* other root slots kept per report */

static struct {
    struct saved *tab;
    size_t n, cap;
    uint64_t *words;
    size_t nwords, words_cap;
    void *map;
    size_t map_bytes;
    bool active;
    size_t missed;
    struct report {
        uintptr_t obj, slot, parent;
        uintptr_t also[MAX_ALSO]; /* root slots found naming it later */
        size_t nalso;
    } reports[MAX_REPORTS];
} ck;

static void count_span(struct span *s, void *arg)
{
    size_t *c = arg;
    c[0]++;
    c[1] += s->nwords;
}

static void save_span(struct span *s, void *arg)
{
    (void)arg;
    if (ck.n == ck.cap || ck.nwords + s->nwords > ck.words_cap)
        return; /* cannot happen: counted with the world stopped */
    struct saved *e = &ck.tab[ck.n++];
    e->s = s;
    e->words = ck.words + ck.nwords;
    ck.nwords += s->nwords;
    for (size_t w = 0; w < s->nwords; w++) {
        e->words[w] = at_load(span_bits(s, BM_MARK, w));
        at_store(span_bits(s, BM_MARK, w), 0);
    }
}

/* Sorts the table by span address: a Shell sort, since qsort may call
 * malloc, whose lock a stopped thread may hold. */
static void sort_table(void)
{
    static const size_t gaps[] = {1750, 701, 301, 132, 57, 23, 10, 4, 1};
    for (size_t g = 0; g < sizeof gaps / sizeof gaps[0]; g++)
        for (size_t i = gaps[g]; i < ck.n; i++) {
            struct saved e = ck.tab[i];
            size_t j = i;
            for (; j >= gaps[g] &&
                   (uintptr_t)ck.tab[j - gaps[g]].s > (uintptr_t)e.s;
                 j -= gaps[g])
                ck.tab[j] = ck.tab[j - gaps[g]];
            ck.tab[j] = e;
        }
}

static bool saved_bit(const struct span *s, size_t i)
{
    size_t lo = 0, hi = ck.n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if ((uintptr_t)ck.tab[mid].s < (uintptr_t)s)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == ck.n || ck.tab[lo].s != s)
        return false; /* a span made since: nothing in it was marked */
    return (ck.tab[lo].words[i >> 6] >> (i & 63)) & 1;
}

/* The re-mark found object i of s through `slot` (0: no slot, as for an
 * uncollectable object), before marking it. */
void gci_checkmark_note(struct marker *m, struct span *s, size_t i,
                        uintptr_t slot)
{
    if (span_bit(s, BM_MARK, i) || saved_bit(s, i))
        return;
    struct span *ps;
    size_t pi;
    uintptr_t parent = 0;
    if (slot && gci_mark_find(slot, &ps, &pi)) {
        if (!saved_bit(ps, pi))
            return; /* behind a missed object: not the frontier */
        parent = span_object(ps, pi);
    } else if (slot >= m->quiet_lo && slot < m->quiet_hi) {
        return; /* maybe an old word below a stack's live frames */
    }
    if (ck.missed < MAX_REPORTS)
        ck.reports[ck.missed] = (struct report){
            .obj = span_object(s, i), .slot = slot, .parent = parent};
    ck.missed++;
}

/* A root word `v` at `slot`, read by the re-mark: if it names an object
 * already reported, the slot is kept with the report (up to MAX_ALSO), so
 * a report names every root slot that held the missed object, not only
 * the first one the re-mark read. */
void gci_checkmark_root_word(uintptr_t v, uintptr_t slot)
{
    struct span *s;
    size_t i;
    size_t n = ck.missed < MAX_REPORTS ? ck.missed : MAX_REPORTS;
    if (n == 0 || !gci_mark_find(v, &s, &i))
        return;
    uintptr_t obj = span_object(s, i);
    for (size_t k = 0; k < n; k++) {
        struct report *r = &ck.reports[k];
        if (r->obj == obj && r->slot != slot && r->nalso < MAX_ALSO)
            r->also[r->nalso++] = slot;
    }
}

static void restore(void)
{
    for (size_t k = 0; k < ck.n; k++) {
        struct span *s = ck.tab[k].s;
        for (size_t w = 0; w < s->nwords; w++)
            at_store(span_bits(s, BM_MARK, w),
                     at_load(span_bits(s, BM_MARK, w)) | ck.tab[k].words[w]);
    }
}

/* With the world stopped, after a concurrent mark: re-marks, heals, and
 * keeps the reports for gci_checkmark_report.  False if the table could
 * not be mapped (the check is skipped and said so); true at once if the
 * heap holds no object. */
bool gci_checkmark_run(void)
{
    size_t c[2] = {0, 0};
    gci_mheap_each_span(count_span, c);
    size_t bytes = c[0] * sizeof(struct saved) + c[1] * sizeof(uint64_t);
    bytes = (bytes + GCI_PAGE_BYTES - 1) & ~(GCI_PAGE_BYTES - 1);
    if (bytes == 0) /* no object in the heap: none can have been missed */
        return true;
    ck.map = gci_os_reserve(bytes, 0);
    if (!ck.map)
        return false;
    ck.map_bytes = bytes;
    ck.tab = ck.map;
    ck.cap = c[0];
    ck.words = (uint64_t *)(ck.tab + c[0]);
    ck.words_cap = c[1];
    ck.n = ck.nwords = ck.missed = 0;
    gci_mheap_each_span(save_span, NULL);
    sort_table();
    ck.active = true;
    gci_mark_run(gci_roots_mark_but_stacks);
    gci_mark_run(gci_roots_mark_stacks);
    ck.active = false;
    restore();
    gci_os_unreserve(ck.map, ck.map_bytes);
    ck.map = NULL;
    return true;
}

bool gci_checkmark_active(void) { return ck.active; }

/* " %p %p ...": a report's other root slots, for gci_report. */
static const char *also(const struct report *r)
{
    static char buf[MAX_ALSO * 20 + 1];
    size_t used = 0;
    buf[0] = 0;
    for (size_t k = 0; k < r->nalso && used < sizeof buf; k++)
        used += (size_t)snprintf(buf + used, sizeof buf - used, " %p",
                                 (void *)r->also[k]);
    return buf;
}

/* After the world restarts: the reports of the last re-mark. */
void gci_checkmark_report(void)
{
    size_t n = ck.missed < MAX_REPORTS ? ck.missed : MAX_REPORTS;
    for (size_t k = 0; k < n; k++) {
        struct report *r = &ck.reports[k];
        if (r->parent)
            gci_report("checkmark: object %p not marked by the concurrent "
                       "mark, referenced from slot %p of marked object %p "
                       "(a missing write barrier?)",
                       (void *)r->obj, (void *)r->slot, (void *)r->parent);
        else if (r->slot)
            gci_report("checkmark: object %p not marked by the concurrent "
                       "mark, referenced from root slot %p%s%s",
                       (void *)r->obj, (void *)r->slot,
                       r->nalso ? " and root slots" : "", also(r));
        else
            gci_report("checkmark: object %p not marked by the concurrent "
                       "mark, a root",
                       (void *)r->obj);
    }
    if (ck.missed > n)
        gci_report("checkmark: %zu more objects missed", ck.missed - n);
    ck.missed = 0;
}
