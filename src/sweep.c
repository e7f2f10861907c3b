/*
 * sweep.c -- sweeping after a cycle: in the background, on demand.
 *
 * Spans are swept three ways: by allocation (mcentral's claim sweeps a
 * span before a cache may own it), by the background sweeper thread
 * started after each cycle, and by the next cycle before it marks
 * (gci_sweep_finish), so no span is ever marked while unswept and none is
 * ever allocated from unswept (sweep generations, internal.h).
 *
 * Owns: the sweeper thread, `sweep_lock`.
 * Concurrency: a whole sweep pass holds `sweep_lock`; a cycle holds it
 * from before its last sweep until the world restarts, so the background
 * sweeper never runs while the collector marks.  Single spans are swept
 * under their class lock (mcentral.c) or the large lock (large.c).
 */
#include "internal.h"

static pthread_mutex_t sweep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static uint64_t requested, served;
static bool started;
static AO_t sweep_ns;

static void sweep_everything(void)
{
    uint64_t t0 = gci_os_now_ns();
    gci_mcentral_sweep_all();
    gci_large_sweep_all();
    at_fetch_add(&sweep_ns, gci_os_now_ns() - t0);
}

static void *sweeper_main(void *arg)
{
    (void)arg;
    gci_library_thread_begin();
    pthread_mutex_lock(&wake_lock);
    for (;;) {
        while (served == requested)
            pthread_cond_wait(&wake, &wake_lock);
        served = requested;
        pthread_mutex_unlock(&wake_lock);
        pthread_mutex_lock(&sweep_lock);
        sweep_everything();
        pthread_mutex_unlock(&sweep_lock);
        pthread_mutex_lock(&wake_lock);
    }
    return NULL;
}

static void start_sweeper(void)
{
    started = gci_start_library_thread(sweeper_main);
}

/* Before a cycle: sweeps what is left and keeps the sweeper out until
 * gci_sweep_resume. */
void gci_sweep_finish(void)
{
    gci_lock_stoppable(&sweep_lock);
    sweep_everything();
}

/* After the world restarts: the spans the cycle left unswept go to the
 * background sweeper (sweeping them lazily would do, but would leave dead
 * memory around until the allocator reached them). */
void gci_sweep_resume(void)
{
    pthread_mutex_unlock(&sweep_lock);
    pthread_mutex_lock(&wake_lock);
    if (!started)
        start_sweeper();
    requested++;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&wake_lock);
    if (!started)
        gci_sweep_finish(), pthread_mutex_unlock(&sweep_lock);
}

/* Ends a gci_sweep_finish with nothing left for the sweeper to do. */
void gci_sweep_resume_quiet(void) { pthread_mutex_unlock(&sweep_lock); }

uint64_t gci_sweep_ns(void) { return at_load(&sweep_ns); }

/* fork(): the child starts a sweeper of its own when it needs one. */
void gci_sweep_after_fork_child(void)
{
    pthread_mutex_init(&sweep_lock, NULL);
    pthread_mutex_init(&wake_lock, NULL);
    pthread_cond_init(&wake, NULL);
    started = false;
    requested = served = 0;
}
