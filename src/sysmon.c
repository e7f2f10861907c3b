/*
 * sysmon.c -- the library's background thread for work that runs on a
 * clock rather than on allocation: the forced periodic cycle and the
 * scavenger (Go's sysmon forcegc and bgscavenge).
 *
 * Forced period: a cycle starts when GCHEAP_FORCE_PERIOD (default 2
 * minutes) has passed since the last one ended, the program has allocated
 * anything since, and percent >= 0.  "Allocated anything" is one flag:
 * every cycle empties every thread's cache, so the first allocation after
 * a cycle always takes the slow path, which sets it (alloc.c).
 *
 * Scavenger: memory the heap holds from the OS (heap_sys - heap_released)
 * is kept at about 10% over the heap goal, and under 95% of the memory
 * limit when one is set: free pages beyond that are handed back with
 * madvise in steps of at most SCAVENGE_STEP (mheap.c picks the pages).
 * After each step the thread sleeps 99 times the step's CPU time, so
 * scavenging costs about 1% of one CPU; 9 times (about 10%) while the heap
 * holds more than 95% of the memory limit.  While the CPU limiter has set
 * the limit aside (pacer.c), the scavenger ignores it too.
 *
 * The thread starts with the library (and again, on the next allocation,
 * in a forked child); it sleeps until the next period ends or the next
 * scavenger step is due, and a cycle's end or a new limit wakes it.
 *
 * Owns: the thread, `sm`.
 * Concurrency: `sm.lock` over the wake-up state; `sm.work` is held for a
 * scavenger step so that fork() can wait one out (the step holds the heap
 * lock at times, and the child must not inherit it held).
 */
#include "internal.h"

#include <time.h>

#define SCAVENGE_STEP ((size_t)256 << 10) /* bytes per madvise */
#define SCAVENGE_MAX_SLEEP_NS ((uint64_t)100 * 1000 * 1000)
#define POLL_MIN_NS ((uint64_t)10 * 1000 * 1000)

uint64_t gci_opt_force_period_ns = (uint64_t)120 * 1000000000;

static struct {
    pthread_mutex_t lock, work;
    pthread_cond_t wake;
    uint64_t next_scavenge; /* when the next step is due; MAX: none */
    uint64_t next_poll;     /* the period's next look after a quiet one */
    bool started, failed;
    AO_t running; /* started or failed: ensure has nothing to do */
} sm = {.lock = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_MUTEX_INITIALIZER};

/* Memory held from the OS beyond what the scavenger keeps; 0: none.
 * `urgent`: over the memory limit's share. */
static size_t scavenge_excess(bool *urgent)
{
    uint64_t retained = gci_mheap_sys_bytes() - gci_mheap_released_bytes();
    uint64_t goal = gci_pacer_heap_goal();
    uint64_t keep = goal >= UINT64_MAX / 2 ? UINT64_MAX : goal + goal / 10;
    uint64_t limit = gci_pacer_limit();
    *urgent = false;
    /* While the CPU limiter has set the limit aside, so does the
     * scavenger: handing back pages the allocator faults in again at
     * once would only add to the thrashing. */
    if (limit < (uint64_t)INT64_MAX && !gci_pacer_limiting()) {
        uint64_t cap = limit / 100 * 95;
        uint64_t meta = at_load(&gci_meta_bytes);
        cap = cap > meta ? cap - meta : 0;
        if (cap < keep) {
            keep = cap;
            *urgent = retained > keep;
        }
    }
    return retained > keep ? (size_t)(retained - keep) : 0;
}

/* Runs a periodic cycle if one is due; returns the time the next check
 * is due (UINT64_MAX: the period is off).  After a check that found
 * nothing allocated, the next comes an eighth of a period later, so a
 * cycle is at most 1.125 periods late.  sm.lock held (dropped for the
 * cycle). */
static uint64_t periodic(uint64_t now)
{
    uint64_t period = gci_opt_force_period_ns;
    if (period == 0)
        return UINT64_MAX;
    uint64_t last = gci_gc_last_cycle_ns();
    if (last >= now || now - last < period)
        return last + period;
    if (sm.next_poll > now)
        return sm.next_poll;
    pthread_mutex_unlock(&sm.lock);
    bool ran = gci_gc_periodic();
    pthread_mutex_lock(&sm.lock);
    now = gci_os_now_ns();
    uint64_t poll = period / 8 > POLL_MIN_NS ? period / 8 : POLL_MIN_NS;
    sm.next_poll = ran ? 0 : now + poll;
    return ran ? now + period : now + poll;
}

/* One scavenger step; returns when the next is due (UINT64_MAX: nothing
 * to do until a kick).  The sleep after a step is 99 times its CPU time
 * (the thread's own clock, so a loaded machine does not stretch it): about
 * 1% of a CPU; 9 times while over the limit's share: about 10%.  sm.lock
 * held (dropped for the step). */
static uint64_t scavenge(uint64_t now)
{
    bool urgent;
    size_t excess = scavenge_excess(&urgent);
    if (excess == 0)
        return UINT64_MAX;
    pthread_mutex_unlock(&sm.lock);
    pthread_mutex_lock(&sm.work);
    uint64_t t0 = gci_os_thread_cpu_ns();
    size_t done =
        gci_mheap_scavenge(excess < SCAVENGE_STEP ? excess : SCAVENGE_STEP);
    uint64_t took = gci_os_thread_cpu_ns() - t0;
    pthread_mutex_unlock(&sm.work);
    pthread_mutex_lock(&sm.lock);
    if (done == 0)
        return UINT64_MAX; /* nothing free to release: wait for a kick */
    uint64_t sleep = took * (urgent ? 9 : 99);
    return now +
           (sleep < SCAVENGE_MAX_SLEEP_NS ? sleep : SCAVENGE_MAX_SLEEP_NS);
}

static void *sysmon_main(void *arg)
{
    (void)arg;
    gci_library_thread_begin("gcheap-sysmon");
    pthread_mutex_lock(&sm.lock);
    for (;;) {
        uint64_t next = periodic(gci_os_now_ns());
        uint64_t now = gci_os_now_ns();
        if (now >= sm.next_scavenge)
            sm.next_scavenge = scavenge(now);
        if (sm.next_scavenge < next)
            next = sm.next_scavenge;
        if (next <= gci_os_now_ns())
            continue;
        if (next == UINT64_MAX) {
            pthread_cond_wait(&sm.wake, &sm.lock);
        } else {
            struct timespec ts = {.tv_sec = (time_t)(next / 1000000000),
                                  .tv_nsec = (long)(next % 1000000000)};
            pthread_cond_timedwait(&sm.wake, &sm.lock, &ts);
        }
    }
    return NULL;
}

static void start(void)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* gci_os_now_ns's */
    pthread_cond_init(&sm.wake, &ca);
    pthread_condattr_destroy(&ca);

    sm.started = gci_start_library_thread(sysmon_main, NULL);
    sm.failed = !sm.started;
    at_store(&sm.running, 1); /* or failed: either way, not again */
}

/* Starts the thread if it is not running (first use; a forked child).
 * Called from the allocator's slow path: one load when it runs. */
void gci_sysmon_ensure(void)
{
    if (GCI_LIKELY(at_load(&sm.running)))
        return;
    pthread_mutex_lock(&sm.lock);
    if (!sm.started && !sm.failed)
        start();
    pthread_mutex_unlock(&sm.lock);
}

/* A cycle ended or a setting changed: the period restarts, and an idle
 * scavenger looks again (a scavenger that is sleeping between steps keeps
 * its pace). */
void gci_sysmon_kick(void)
{
    pthread_mutex_lock(&sm.lock);
    if (sm.next_scavenge == UINT64_MAX)
        sm.next_scavenge = 0;
    if (sm.started)
        pthread_cond_signal(&sm.wake);
    pthread_mutex_unlock(&sm.lock);
}

/* Keeps the scavenger from starting a step, and waits out one under way:
 * fork() (a step takes the heap lock at times), and unit tests that
 * inspect the free runs. */
void gci_scavenger_hold(void) { pthread_mutex_lock(&sm.work); }
void gci_scavenger_release(void) { pthread_mutex_unlock(&sm.work); }

/* fork(), in the child: the thread is gone; start afresh on need. */
void gci_sysmon_after_fork_child(void)
{
    pthread_mutex_init(&sm.lock, NULL);
    pthread_mutex_init(&sm.work, NULL);
    sm.started = sm.failed = false;
    at_store(&sm.running, 0);
    sm.next_scavenge = sm.next_poll = 0;
}
