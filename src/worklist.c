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
 * WORK-1: an item is in exactly one buffer or one worker's prefetch FIFO
 *         (mark.c), or was dropped with `overflowed` set.
 */
#include "internal.h"

#include <sched.h>

#define WB_ITEMS GCI_WB_ITEMS

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct workbuf *full, *empty;
    size_t nbuffers, max_buffers;
    size_t nworkers;
    AO_t nfull; /* buffers on `full`: written under lock, polled without */
    AO_t done;  /* written under lock, polled without by spinners */
    AO_t overflowed;
} wl = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

AO_t gci_work_nidle; /* idle workers: written under wl.lock, read without */

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
    at_store(&wl.nfull, at_load(&wl.nfull) + 1);
    if (at_load(&gci_work_nidle) > 0)
        pthread_cond_signal(&wl.cond);
    pthread_mutex_unlock(&wl.lock);
}

/* Hands the older half of b's items to an idle worker.  Items are popped
 * from the top, so the bottom ones are the oldest, and in a depth-first
 * drain those stand for the largest unexplored parts of the graph: the
 * taker gets a long run of work and the giver keeps its own, so the two
 * do not hand work back and forth (every hand-off can cost a wake-up). */
static void share_half(struct workbuf *b)
{
    struct workbuf *c = get_empty();
    if (!c)
        return;
    size_t half = b->n / 2, rest = b->n - half;
    memcpy(c->lo, b->lo, half * sizeof b->lo[0]);
    memcpy(c->hi, b->hi, half * sizeof b->hi[0]);
    c->n = half;
    memmove(b->lo, b->lo + half, rest * sizeof b->lo[0]);
    memmove(b->hi, b->hi + half, rest * sizeof b->hi[0]);
    b->n = rest;
    publish(c);
}

/* gci_work_push's slow path: the worker has no buffer, or a full one, or
 * one to share.  A full buffer is published; half of a smaller one is
 * while another worker waits for work (a depth-first drain of a tree never
 * fills one).  False (and overflowed set) if the item had to be dropped. */
bool gci_work_push_slow(struct marker *m, uintptr_t lo, uintptr_t hi)
{
    struct workbuf *b = m->buf;
    if (b && b->n == WB_ITEMS) {
        publish(b);
        b = m->buf = NULL;
    } else if (b && b->n >= GCI_WB_SHARE && at_load(&gci_work_nidle) > 0) {
        share_half(b);
    }
    if (!b && (b = m->buf = get_empty()) == NULL) {
        at_store(&wl.overflowed, 1);
        return false;
    }
    b->lo[b->n] = lo;
    b->hi[b->n] = hi;
    b->n++;
    return true;
}

/* How long an idle worker polls for published work before it sleeps:
 * the world is stopped, so the CPU has nothing better to do, and a
 * futex sleep and wake-up costs more than most waits last. */
#define IDLE_SPINS 2000

/* Gives the worker a published buffer; false when marking is done. */
bool gci_work_get(struct marker *m)
{
    if (m->buf) {
        put_empty(m->buf);
        m->buf = NULL;
    }
    pthread_mutex_lock(&wl.lock);
    while (!wl.full && !at_load(&wl.done)) {
        at_store(&gci_work_nidle, at_load(&gci_work_nidle) + 1);
        if (at_load(&gci_work_nidle) == wl.nworkers) {
            at_store(&wl.done, 1);
            pthread_cond_broadcast(&wl.cond);
            break;
        }
        pthread_mutex_unlock(&wl.lock);
        for (int i = 0;
             i < IDLE_SPINS && at_load(&wl.nfull) == 0 && !at_load(&wl.done);
             i++)
            gci_cpu_relax();
        pthread_mutex_lock(&wl.lock);
        if (!wl.full && !at_load(&wl.done))
            pthread_cond_wait(&wl.cond, &wl.lock);
        at_store(&gci_work_nidle, at_load(&gci_work_nidle) - 1);
    }
    struct workbuf *b = NULL;
    if (!at_load(&wl.done) && wl.full) {
        b = wl.full;
        wl.full = b->next;
        at_store(&wl.nfull, at_load(&wl.nfull) - 1);
    }
    pthread_mutex_unlock(&wl.lock);
    m->buf = b;
    return b != NULL;
}

/* Concurrent marking: gives the worker a published buffer if there is
 * one, without waiting (the program may still be making grey objects, so
 * an empty list does not mean marking is done; gc.c decides that with
 * the world stopped). */
bool gci_work_try_get(struct marker *m)
{
    if (m->buf && m->buf->n)
        return true;
    if (m->buf) {
        put_empty(m->buf);
        m->buf = NULL;
    }
    if (at_load(&wl.nfull) == 0)
        return false;
    pthread_mutex_lock(&wl.lock);
    struct workbuf *b = wl.full;
    if (b) {
        wl.full = b->next;
        at_store(&wl.nfull, at_load(&wl.nfull) - 1);
    }
    pthread_mutex_unlock(&wl.lock);
    m->buf = b;
    return b != NULL;
}

/* An assist that found nothing to take says so: while one waits, the
 * workers' pushes hand half of their buffers over (gci_work_push). */
void gci_work_hungry(bool on)
{
    pthread_mutex_lock(&wl.lock);
    at_store(&gci_work_nidle, at_load(&gci_work_nidle) + (on ? 1 : (size_t)-1));
    pthread_mutex_unlock(&wl.lock);
}

bool gci_work_published(void) { return at_load(&wl.nfull) > 0; }

/* Starts a drain by `nworkers` workers. */
void gci_work_begin(size_t nworkers)
{
    pthread_mutex_lock(&wl.lock);
    wl.nworkers = nworkers;
    at_store(&gci_work_nidle, 0);
    at_store(&wl.done, 0);
    pthread_mutex_unlock(&wl.lock);
}

/* After a drain, when every worker has left it: no worker is idle any
 * more.  (The count must not stay up between drains: pushes made while
 * roots are marked would take it for an idle worker and split buffers,
 * filling the bounded pool with half-empty ones until it overflows.) */
void gci_work_end(void)
{
    pthread_mutex_lock(&wl.lock);
    at_store(&gci_work_nidle, 0);
    pthread_mutex_unlock(&wl.lock);
}

/* More workers join the drain under way (they are counted before they
 * arrive, so marking cannot be found done without them). */
void gci_work_add_workers(size_t n)
{
    pthread_mutex_lock(&wl.lock);
    wl.nworkers += n;
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

/* Whether any grey item waits: in the worker's buffer or published. */
bool gci_work_pending(const struct marker *m)
{
    return (m->buf && m->buf->n > 0) || at_load(&wl.nfull) > 0;
}

/* Reads and clears the overflow flag. */
bool gci_work_overflowed(void) { return at_take(&wl.overflowed) != 0; }
