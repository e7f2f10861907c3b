/*
 * sweep.c -- sweeping after a cycle: in the background, on demand.
 *
 * Spans are swept three ways: by allocation (mcentral's claim sweeps a
 * span before a cache may own it, and each refill pays for sweeping in
 * proportion, gci_sweep_pay), by the background sweeper thread started
 * after each cycle, and by the next cycle before it marks
 * (gci_sweep_finish), so no span is ever marked while unswept and none is
 * ever allocated from unswept (sweep generations, internal.h).
 *
 * The background sweeper yields the CPU after every batch of spans: where
 * it shares a CPU with a program thread (on 2 CPUs with the mark worker
 * or another tenant on the other) it must not hold it for a time slice
 * (it preempted the program for 4 ms slices).  It keeps its normal
 * priority: a lower one (SCHED_IDLE) starved it while a cycle waited for
 * its batch, for up to 0.5 s in a review's measurement.  Allocation's
 * share of the sweeping keeps the work ahead of the next cycle regardless.
 *
 * Its cost (gc_stats' gc_cpu_fraction, the trace) is the CPU time of the
 * sweeper thread and of a cycle's own sweep: wall time also holds the
 * time a thread waited for a CPU, which for the sweeper, yielding after
 * every batch, may span a whole cycle (under memcheck, which runs one
 * thread at a time, most of it).  Allocation's sweeping, a bounded step
 * on the allocation path, counts its wall time: the CPU clock is a system
 * call (not in the vDSO), two a step.  gci_sweep_finish returns its own
 * sweep's time, which gc.c takes out of the cycle's (counted here).
 *
 * Owns: the sweeper thread, `sweep_lock`, the batch protocol below.
 * Concurrency: a cycle holds `sweep_lock` from before its last sweep until
 * the world restarts (one cycle sweeps at a time), and sets `blocked`
 * meanwhile.  Sweepers hold no lock across a pass: the background sweeper
 * and allocation's paced sweeping bracket each batch of spans with
 * batch_begin/batch_end, and a cycle that blocked sweeping waits for the
 * batches under way (`active`) to end, so nothing sweeps while the
 * collector marks and a cycle's sweep (gc_collect's too) leaves nothing
 * unswept.  Single spans are swept
 * under their class lock or with it dropped while they are off its lists
 * (mcentral.c), or under the large lock (large.c).
 */
#include "internal.h"

#include <time.h>

static pthread_mutex_t sweep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static uint64_t requested, served;
static bool started;
static AO_t sweep_ns;
static AO_t active;  /* background batches under way */
static AO_t blocked; /* a cycle wants every span swept and left alone */

/* A sweeper's side of the protocol: false when a cycle blocked sweeping
 * (the pass ends; the cycle sweeps what is left).  Each side does a full
 * barrier read-modify-write (libatomic_ops' _full: no load after it moves
 * before it) and then loads the other's word: either this sees `blocked`,
 * or the cycle sees the batch in `active` and waits for it. */
bool gci_sweep_batch_begin(void)
{
    at_fetch_add(&active, 1);
    if (!at_load(&blocked))
        return true;
    at_fetch_add(&active, (AO_t)-1);
    return false;
}

void gci_sweep_batch_end(void) { at_fetch_add(&active, (AO_t)-1); }

/* Returns the CPU time it took. */
static uint64_t sweep_everything(bool background)
{
    uint64_t t0 = gci_os_thread_cpu_ns();
    size_t gen = at_load(&gci_sweepgen);
    if (gci_mcentral_sweep_all(background) &&
        (!background || gci_sweep_batch_begin())) {
        gci_large_sweep_all();
        /* Everything is swept: allocation owes no more sweeping.  Inside
         * a batch, so no cycle sets a new debt meanwhile; and only if no
         * cycle ran since the pass began (one may have come and gone
         * between two of its batches, leaving the classes the pass had
         * done unswept again). */
        if (at_load(&gci_sweepgen) == gen)
            at_store(&gci_sweep_ppb, 0);
        if (background)
            gci_sweep_batch_end();
    }
    uint64_t took = gci_os_thread_cpu_ns() - t0;
    at_fetch_add(&sweep_ns, took);
    return took;
}

static void *sweeper_main(void *arg)
{
    (void)arg;
    gci_library_thread_begin("gcheap-sweep");
    pthread_mutex_lock(&wake_lock);
    for (;;) {
        while (served == requested)
            pthread_cond_wait(&wake, &wake_lock);
        served = requested;
        pthread_mutex_unlock(&wake_lock);
        sweep_everything(true);
        pthread_mutex_lock(&wake_lock);
    }
    return NULL;
}

static void start_sweeper(void)
{
    started = gci_start_library_thread(sweeper_main, NULL);
}

/* Before a cycle: keeps the sweeper out until gci_sweep_resume, sweeps
 * what is left, and waits for the sweeper's batch under way, if any (it
 * ends within a batch of spans; the wait sleeps, so that a sweeper
 * preempted on this CPU gets it back).  Returns the CPU time of its own
 * sweeping, which gci_sweep_ns counts. */
uint64_t gci_sweep_finish(void)
{
    gci_lock_stoppable(&sweep_lock);
    at_fetch_or(&blocked, 1); /* a full barrier before `active` is read */
    uint64_t took = sweep_everything(false);
    while (at_load(&active)) {
        struct timespec nap = {0, 20000};
        nanosleep(&nap, NULL);
    }
    return took;
}

/* After the world restarts: the spans the cycle left unswept go to the
 * background sweeper (sweeping them lazily would do, but would leave dead
 * memory around until the allocator reached them). */
void gci_sweep_resume(void)
{
    at_store(&blocked, 0);
    pthread_mutex_unlock(&sweep_lock);
    pthread_mutex_lock(&wake_lock);
    if (!started)
        start_sweeper();
    requested++;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&wake_lock);
    if (!started)
        gci_sweep_finish(), gci_sweep_resume_quiet();
}

/* Ends a gci_sweep_finish with nothing left for the sweeper to do. */
void gci_sweep_resume_quiet(void)
{
    at_store(&blocked, 0);
    pthread_mutex_unlock(&sweep_lock);
}

uint64_t gci_sweep_ns(void) { return at_load(&sweep_ns); }

/* ---- Sweeping paid for by allocation ------------------------------------
 * Go's sweep pacing: at mark termination every in-use page is unswept, and
 * the allocator sweeps pages in proportion to what it allocates,
 *     pages per byte = in-use pages / (trigger - heap after the cycle
 *                                      - 1 MiB),
 * so that sweeping is over before the next cycle is due even when the
 * background sweeper is starved of CPU.  0: nothing is owed. */
AO_t gci_sweep_ppb;

/* At mark termination (world stopped). */
void gci_sweep_pace(uint64_t heap, uint64_t trigger)
{
    uint64_t inuse =
        (gci_mheap_sys_bytes() - gci_mheap_free_bytes()) / GCI_PAGE_BYTES;
    /* Go's sweepMinHeapDistance: done 1 MiB before the trigger, so that
     * rounding and the allocation under way when it is reached leave no
     * garbage unswept there. */
    uint64_t margin = (uint64_t)1 << 20;
    uint64_t runway = trigger > heap + margin + GCI_PAGE_BYTES
                          ? trigger - heap - margin
                          : GCI_PAGE_BYTES;
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
    uint64_t t0 = gci_os_now_ns(); /* see the top */
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
    at_store(&active, 0);
    at_store(&blocked, 0);
}
