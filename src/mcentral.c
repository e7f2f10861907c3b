/*
 * mcentral.c -- per span class, the spans no thread cache holds.
 *
 * Each span class has a list of partial spans (some slot free; FIFO, so a
 * span just handed back is the last to be taken again) and a list of full
 * ones.  A thread cache whose span is used up hands it back here and takes
 * a partial span, or a new one from the page heap.
 *
 * Frees by threads that do not own a span go through the class lock
 * (gci_mcentral_free): into a span a cache owns they set a freed bit, which
 * the owner drains; otherwise they clear the alloc bit, move a full span to
 * the partial list, and send a span they emptied back to the page heap.
 *
 * Concurrency: one lock per span class over its two lists and the `owner`
 * and `list` fields of its spans.
 * CENTRAL-1: a span with owner != 0 is on no list (list == LIST_OWNED).
 * CENTRAL-2: a span on the full list has no free slot; an unowned span
 *            has no freed bit set; an unowned span is never empty.
 */
#include "internal.h"

#include <stdio.h>

struct spanq {
    struct span *head, *tail;
};

struct mcentral {
    pthread_mutex_t lock;
    struct spanq partial, full;
};

static struct mcentral central[GCI_NUM_SPANCLASSES];

void gci_mcentral_init(void)
{
    for (size_t i = 0; i < GCI_NUM_SPANCLASSES; i++)
        pthread_mutex_init(&central[i].lock, NULL);
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

/* A partial span with a free slot, now owned by c, or NULL; full ones
 * found on the way move to the full list. */
static struct span *take_partial(struct mcentral *mc, struct mcache *c)
{
    struct span *s;
    while ((s = mc->partial.head) != NULL) {
        unlink_span(&mc->partial, s);
        gci_span_drain(s);
        if (gci_span_count_alloc(s) < s->nelems) {
            own(s, c);
            return s;
        }
        at_store(&s->list, LIST_FULL);
        push_tail(&mc->full, s);
    }
    return NULL;
}

struct span *gci_mcentral_acquire(struct mcache *c, size_t spanclass)
{
    struct mcentral *mc = &central[spanclass];
    pthread_mutex_lock(&mc->lock);
    struct span *s = take_partial(mc, c);
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

/* The owner hands s back: to the heap if empty, else to a list. */
void gci_mcentral_release(struct span *s)
{
    struct mcentral *mc = &central[s->spanclass];
    pthread_mutex_lock(&mc->lock);
    at_store(&s->owner, 0);
    gci_span_drain(s);
    s->alloc_cache = 0;
    size_t n = gci_span_count_alloc(s);
    if (n == 0) {
        at_store(&s->list, LIST_NONE);
        pthread_mutex_unlock(&mc->lock);
        gci_mheap_free(s);
        return;
    }
    at_store(&s->list, n == s->nelems ? LIST_FULL : LIST_PARTIAL);
    push_tail(list_of(mc, s), s);
    pthread_mutex_unlock(&mc->lock);
}

/*
 * Frees slot `index` of s for a thread that does not own s.  Under the
 * class lock the owner cannot change: a cache that owns s gets a freed bit
 * to drain; an unowned span is updated at once, moving from the full list
 * to the partial one, or back to the heap when it has emptied.  Only a
 * holder of this lock ever frees an unowned span, so s stays valid here.
 */
void gci_mcentral_free(struct span *s, size_t index)
{
    struct mcentral *mc = &central[s->spanclass];
    AO_t *word = &s->alloc_bits[index >> 6];
    uint64_t bit = (uint64_t)1 << (index & 63);
    pthread_mutex_lock(&mc->lock);
    if (at_load(&s->owner) != 0) {
        at_fetch_or(&s->freed_bits[index >> 6], bit);
        pthread_mutex_unlock(&mc->lock);
        return;
    }
    at_store(word, at_load(word) & ~bit);
    if (at_load(&s->list) == LIST_FULL) {
        unlink_span(&mc->full, s);
        at_store(&s->list, LIST_PARTIAL);
        push_tail(&mc->partial, s);
    }
    if (gci_span_count_alloc(s) != 0) {
        pthread_mutex_unlock(&mc->lock);
        return;
    }
    unlink_span(&mc->partial, s);
    at_store(&s->list, LIST_NONE);
    pthread_mutex_unlock(&mc->lock);
    gci_mheap_free(s);
}

static bool no_freed_bits(const struct span *s)
{
    for (size_t w = 0; w < s->nwords; w++)
        if (at_load(&s->freed_bits[w]))
            return false;
    return true;
}

/* CENTRAL-1 and CENTRAL-2 for one span on list `want`. */
static bool span_filed_well(struct span *s, size_t spanclass, size_t want)
{
    size_t n = gci_span_count_alloc(s);
    bool ok = s->spanclass == spanclass && at_load(&s->owner) == 0 &&
              at_load(&s->list) == want && span_of((void *)s->start) == s;
    ok &= no_freed_bits(s) && n > 0;
    ok &= want == LIST_FULL ? n == s->nelems : n < s->nelems;
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
