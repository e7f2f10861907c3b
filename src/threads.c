/*
 * threads.c -- the threads that use gcheap, and their caches.
 *
 * A thread gets a record with its mcache on its first gc_ call; a
 * pthread key's destructor hands the cache's spans back to mcentral and
 * the record to a free list when the thread exits.  The fast path finds
 * its cache through an initial-exec TLS pointer (one mov from %fs).
 *
 * Owns: the list of live thread records, the free list of old ones.
 * Concurrency: `threads_lock` over both lists and over folding an exiting
 * thread's counters into the global ones (so gc_get_stats, which sums
 * under the same lock, never counts a thread twice or not at all).
 * THREADS-1: a record is on exactly one of the two lists.
 */
#include "internal.h"

_Thread_local struct mcache *gci_tls_cache
    __attribute__((tls_model("initial-exec")));

struct gthread {
    struct mcache cache;
    struct gthread *next, *prev;
};

static pthread_mutex_t threads_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gthread *live_threads, *free_records;
static pthread_key_t thread_key;

static void thread_exit(void *arg)
{
    struct gthread *t = arg;
    gci_mcache_release_all(&t->cache);
    pthread_mutex_lock(&threads_lock);
    if (t->prev)
        t->prev->next = t->next;
    else
        live_threads = t->next;
    if (t->next)
        t->next->prev = t->prev;
    gci_stats_absorb(&t->cache);
    t->next = free_records;
    free_records = t;
    pthread_mutex_unlock(&threads_lock);
    gci_tls_cache = NULL;
}

void gci_threads_init(void)
{
    if (pthread_key_create(&thread_key, thread_exit) != 0)
        gci_fatal("pthread_key_create failed");
}

static struct gthread *new_record(void)
{
    struct gthread *t = free_records;
    if (t) {
        free_records = t->next;
        return t;
    }
    return gci_os_alloc_meta(sizeof(struct gthread));
}

/* Gives the calling thread its cache; NULL when there is no memory. */
struct mcache *gci_thread_attach(void)
{
    init_once();
    pthread_mutex_lock(&threads_lock);
    struct gthread *t = new_record();
    if (t) {
        gci_mcache_init(&t->cache);
        t->prev = NULL;
        t->next = live_threads;
        if (live_threads)
            live_threads->prev = t;
        live_threads = t;
    }
    pthread_mutex_unlock(&threads_lock);
    if (!t)
        return NULL;
    pthread_setspecific(thread_key, t);
    gci_tls_cache = &t->cache;
    return &t->cache;
}

/* Adds up the live caches' counters: nmalloc, bytes_alloc, nfree,
 * bytes_freed, and the global ones they fold into. */
void gci_threads_sum_stats(uint64_t out[4])
{
    pthread_mutex_lock(&threads_lock);
    out[0] = at_load(&gci_stat_nmalloc);
    out[1] = at_load(&gci_stat_bytes_alloc);
    out[2] = at_load(&gci_stat_nfree);
    out[3] = at_load(&gci_stat_bytes_freed);
    for (struct gthread *t = live_threads; t; t = t->next) {
        out[0] += at_load(&t->cache.nmalloc);
        out[1] += at_load(&t->cache.bytes_alloc);
        out[2] += at_load(&t->cache.nfree);
        out[3] += at_load(&t->cache.bytes_freed);
    }
    pthread_mutex_unlock(&threads_lock);
}
