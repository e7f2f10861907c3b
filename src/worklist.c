/*
 * worklist.c -- the grey work lists of the marker.
 *
 * Grey objects (marked, not yet scanned) are kept as ranges to scan in
 * work buffers of WB_ITEMS items.  Each marking worker fills and empties
 * its own buffer; a full one is published on a global list for any
 * worker to take, so marking spreads over the workers (Go's workbufs).
 * Marking never recurses on the C stack.
 *
 * Memory is bounded: at most `max_buffers` buffers exist (GCHEAP_MARK_
 * BUFFERS lowers it, down to 2, to test the overflow path).  When a push
 * finds no buffer, the item is dropped and `overflowed` is set; the
 * object it stood for is already marked, so mark.c rescans every marked
 * object afterwards to find what the dropped items would have reached.
 *
 * Termination: a worker whose buffer is empty takes a published one, or
 * waits; when every worker waits and none is published, marking is done.
 *
 * Concurrency: `lock` over the global lists, counters and the idle count.
 * WORK-1: an item is in exactly one buffer, or was dropped with
 *         `overflowed` set.
 */
#include "internal.h"

#include <sched.h>

#define WB_ITEMS 254

struct workbuf {
    struct workbuf *next;
    size_t n;
    struct workitem items[WB_ITEMS];
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct workbuf *full, *empty;
    size_t nbuffers, max_buffers;
    size_t nworkers;
    AO_t nidle; /* written under lock, read without by pushers */
    bool done;
    AO_t overflowed;
} wl = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

void gci_work_init(size_t max_buffers)
{
    wl.max_buffers = max_buffers < 2 ? 2 : max_buffers;
}

static struct workbuf *get_empty(void)
{
    pthread_mutex_lock(&wl.lock);
    struct workbuf *b = wl.empty;
    if (b)
        wl.empty = b->next;
    else if (wl.nbuffers < wl.max_buffers &&
             (b = gci_os_alloc_meta(sizeof *b)) != NULL)
        wl.nbuffers++;
    pthread_mutex_unlock(&wl.lock);
    if (b)
        b->n = 0;
    return b;
}

static void put_empty(struct workbuf *b)
{
    pthread_mutex_lock(&wl.lock);
    b->next = wl.empty;
    wl.empty = b;
    pthread_mutex_unlock(&wl.lock);
}

static void publish(struct workbuf *b)
{
    pthread_mutex_lock(&wl.lock);
    b->next = wl.full;
    wl.full = b;
    pthread_cond_signal(&wl.cond);
    pthread_mutex_unlock(&wl.lock);
}

/* A buffer with at least this many items is shared when a worker idles. */
#define SHARE_ITEMS 8

/* Queues [lo, hi) for scanning; false (and overflowed set) if dropped.  A
 * full buffer is published; so is a smaller one while another worker
 * waits for work (a depth-first drain of a tree never fills one). */
bool gci_work_push(struct marker *m, uintptr_t lo, uintptr_t hi)
{
    struct workbuf *b = m->buf;
    if (b &&
        (b->n == WB_ITEMS || (b->n >= SHARE_ITEMS && at_load(&wl.nidle) > 0))) {
        publish(b);
        b = m->buf = NULL;
    }
    if (!b && (b = m->buf = get_empty()) == NULL) {
        at_store(&wl.overflowed, 1);
        return false;
    }
    b->items[b->n++] = (struct workitem){lo, hi};
    return true;
}

bool gci_work_pop(struct marker *m, struct workitem *out)
{
    struct workbuf *b = m->buf;
    if (!b || b->n == 0) {
        if (!gci_work_get(m))
            return false;
        b = m->buf;
    }
    *out = b->items[--b->n];
    if (b->n) /* the next object's memory, while this one is scanned */
        __builtin_prefetch((const void *)b->items[b->n - 1].lo);
    return true;
}

/* Gives the worker a published buffer; false when marking is done. */
bool gci_work_get(struct marker *m)
{
    pthread_mutex_lock(&wl.lock);
    if (m->buf) {
        m->buf->next = wl.empty;
        wl.empty = m->buf;
        m->buf = NULL;
    }
    while (!wl.full && !wl.done) {
        at_store(&wl.nidle, at_load(&wl.nidle) + 1);
        if (at_load(&wl.nidle) == wl.nworkers) {
            wl.done = true;
            pthread_cond_broadcast(&wl.cond);
            break;
        }
        pthread_cond_wait(&wl.cond, &wl.lock);
        at_store(&wl.nidle, at_load(&wl.nidle) - 1);
    }
    struct workbuf *b = NULL;
    if (!wl.done && wl.full) {
        b = wl.full;
        wl.full = b->next;
    }
    pthread_mutex_unlock(&wl.lock);
    m->buf = b;
    return b != NULL;
}

/* Starts a drain by `nworkers` workers. */
void gci_work_begin(size_t nworkers)
{
    pthread_mutex_lock(&wl.lock);
    wl.nworkers = nworkers;
    at_store(&wl.nidle, 0);
    wl.done = false;
    pthread_mutex_unlock(&wl.lock);
}

/* Publishes a worker's partly filled buffer (roots marked by one worker
 * become work for all). */
void gci_work_flush(struct marker *m)
{
    if (m->buf && m->buf->n)
        publish(m->buf);
    else if (m->buf)
        put_empty(m->buf);
    m->buf = NULL;
}

/* Reads and clears the overflow flag. */
bool gci_work_overflowed(void) { return at_take(&wl.overflowed) != 0; }
