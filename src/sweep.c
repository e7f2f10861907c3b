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

/* ---- Sweeping paid for by allocation ------------------------------------
 * Go's sweep pacing: at mark termination every in-use page is unswept, and
 * the allocator sweeps pages in proportion to what it allocates,
 *     pages per byte = in-use pages / (trigger - heap after the cycle),
 * so that sweeping is over before the next cycle is due even when the
 * background sweeper is starved of CPU.  0: nothing is owed. */
AO_t gci_sweep_ppb;

/* At mark termination (world stopped). */
void gci_sweep_pace(uint64_t heap, uint64_t trigger)
{
    uint64_t inuse =
        (gci_mheap_sys_bytes() - gci_mheap_free_bytes()) / GCI_PAGE_BYTES;
    uint64_t runway =
        trigger > heap + GCI_PAGE_BYTES ? trigger - heap : GCI_PAGE_BYTES;
    double ppb = (double)inuse / (double)runway * 65536.0;
    at_store(&gci_sweep_ppb, ppb > 1e12 ? (size_t)1e12 : (size_t)ppb + 1);
}

/* The allocator took `bytes` (in a no-stop region). */
void gci_sweep_pay(size_t bytes)
{
    uint64_t ppb = at_load(&gci_sweep_ppb);
    if (!ppb)
        return;
    uint64_t pages = (uint64_t)(((double)bytes * (double)ppb) / 65536.0) + 1;
    uint64_t t0 = gci_os_now_ns();
    if (gci_mcentral_sweep_some(pages) == 0)
        at_store(&gci_sweep_ppb, 0); /* all swept */
    at_fetch_add(&sweep_ns, gci_os_now_ns() - t0);
}

/* fork(): the child starts a sweeper of its own when it needs one. */
void gci_sweep_after_fork_child(void)
{
    pthread_mutex_init(&sweep_lock, NULL);
    pthread_mutex_init(&wake_lock, NULL);
    pthread_cond_init(&wake, NULL);
    started = false;
    requested = served = 0;
}
