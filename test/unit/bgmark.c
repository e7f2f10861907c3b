/* Unit test of the marking threads beside a cycle's worker
 * (src/bgmark.c): a concurrent cycle whose worker does no marking of its
 * own -- a debug hook makes it wait and then go to mark termination, each
 * time -- is marked between the termination tries by the idle marker, or,
 * with the collector planning for 16 CPUs (GCHEAP_PROCS) and idle marking
 * off, by three dedicated workers; every object survives, checksummed,
 * through garbage that reuses any memory freed by mistake.  Debug builds
 * hold every 4th step's grey objects unpublished for 200 µs, and check at
 * each termination stop that every such thread is between steps
 * (BGMARK-1): a termination that did not wait out a step under way fails
 * here.  With idle marking off (GCHEAP_IDLE_MARK=0) and no dedicated
 * worker (2 CPUs planned for) the same cycles are marked by no one
 * between the tries and end in the stopped drain. */
#include "chains.h"

#include <time.h>

static void sleep_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000};
    nanosleep(&ts, NULL);
}

/* Hooks on the worker, asked before each of its marking steps: each makes
 * it report itself dry, for up to 2,000 tries a cycle (then it marks, so
 * that a build in which nothing else marks ends and fails the checks
 * instead of hanging).  With idle marking on, the worker waits until the
 * cycle has scanned 2 MiB more -- so each try follows more than the 1 MiB
 * that keeps a try from counting towards the stopped drain, if the idle
 * marker marks at all -- or until the count has not moved for 200 ms (the
 * mark is over, or the idle marker gets no CPU), up to 10 s in all; with
 * idle marking off, 1 ms. */
static int calls;
static uint64_t last_scanned;

static bool wait_progress_then_dry(void)
{
    if (++calls > 2000)
        return false;
    uint64_t seen = at_load(&gci_cycle_scanned);
    for (int ms = 0, still = 0; ms < 10000 && still < 200; ms++) {
        uint64_t now = at_load(&gci_cycle_scanned);
        if (now - last_scanned >= (2u << 20))
            break;
        still = now == seen ? still + 1 : 0;
        seen = now;
        sleep_ms(1);
    }
    last_scanned = at_load(&gci_cycle_scanned);
    return true;
}

static bool wait_then_dry(void)
{
    if (++calls > 2000)
        return false;
    sleep_ms(1);
    return true;
}

enum { CYCLES = 3 };

struct counts {
    uint64_t idle_ns, dedicated_ns, tries, drains;
};

static struct counts counts_now(void)
{
    struct counts c = {
        at_load(&gci_idle_mark_ns), at_load(&gci_dedicated_mark_ns),
        at_load(&gci_mark_tries), at_load(&gci_mark_stopped_drains)};
    return c;
}

static struct counts run_cycles(bool (*hook)(void))
{
    struct counts a = counts_now();
    for (int i = 0; i < CYCLES; i++) {
        garbage(300000);
        calls = 0;
        last_scanned = 0; /* the cycle's scan count starts again at 0 */
        gci_debug_worker_dry = hook;
        gc_collect();
        gci_debug_worker_dry = NULL;
    }
    struct counts b = counts_now();
    garbage(300000);
    gc_collect();
    struct counts d = {b.idle_ns - a.idle_ns, b.dedicated_ns - a.dedicated_ns,
                       b.tries - a.tries, b.drains - a.drains};
    return d;
}

static void test_idle_marker_marks(void)
{
    struct counts d = run_cycles(wait_progress_then_dry);
    printf("idle marking: %.1f ms, %llu tries in %d cycles\n",
           (double)d.idle_ns / 1e6, (unsigned long long)d.tries, CYCLES);
    CHECKF(d.idle_ns > 0, "the idle marker never marked");
    CHECKF(d.dedicated_ns == 0, "a dedicated worker marked on 2 CPUs");
    CHECKF(d.drains == 0,
           "%llu of %d cycles drained stopped: the idle marker did not "
           "mark between the tries",
           (unsigned long long)d.drains, CYCLES);
    CHECKF(d.tries >= CYCLES, "only %llu tries in %d cycles",
           (unsigned long long)d.tries, CYCLES);
    chains_verify("idle marking");
}

/* Planning for 16 CPUs: the cycle's worker and three dedicated ones. */
static void test_dedicated_mark(void)
{
    gci_opt_idle_mark = 0;
    gci_gc_set_procs(16);
    struct counts d = run_cycles(wait_progress_then_dry);
    unsigned marked, running = gci_dedicated_running(&marked);
    gci_gc_set_procs(2);
    gci_opt_idle_mark = 1;
    printf("dedicated marking: %.1f ms by %u workers (%u marked), %llu tries "
           "in %d cycles\n",
           (double)d.dedicated_ns / 1e6, running, marked,
           (unsigned long long)d.tries, CYCLES);
    CHECKF(running == 3, "%u dedicated workers running, not 3", running);
    CHECKF(marked == 3, "%u of 3 dedicated workers marked", marked);
    /* Each try follows 2 MiB of their marking (30-36 in 3 cycles; 12-14
     * with bgmark.c's `closing` removed, the closer then waiting while a
     * worker took its lock straight back after each step). */
    CHECKF(d.tries >= CYCLES, "only %llu tries in %d cycles",
           (unsigned long long)d.tries, CYCLES);
    CHECKF(d.dedicated_ns > 0, "the dedicated workers never marked");
    CHECKF(d.idle_ns == 0, "idle marking off, yet it marked for %llu ns",
           (unsigned long long)d.idle_ns);
    CHECKF(d.drains == 0,
           "%llu of %d cycles drained stopped: the dedicated workers did "
           "not mark between the tries",
           (unsigned long long)d.drains, CYCLES);
    chains_verify("dedicated marking");
}

static void test_off(void)
{
    gci_opt_idle_mark = 0;
    struct counts d = run_cycles(wait_then_dry);
    gci_opt_idle_mark = 1;
    CHECKF(d.idle_ns == 0, "idle marking off, yet it marked for %llu ns",
           (unsigned long long)d.idle_ns);
    CHECKF(d.dedicated_ns == 0, "a dedicated worker marked on 2 CPUs");
    CHECKF(d.drains == CYCLES,
           "idle marking off: %llu stopped drains in %d cycles",
           (unsigned long long)d.drains, CYCLES);
    chains_verify("idle marking off");
}

int main(void)
{
    gc_init();
    if (GCHEAP_DEBUG < 2) {
        printf("skipped: needs GCHEAP_DEBUG >= 2\n");
        return 0;
    }
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
        printf("skipped: idle marking needs 2 CPUs\n");
        return 0;
    }
    gci_gc_set_procs(2); /* 2 CPUs, whatever GCHEAP_PROCS says */
    gc_set_concurrent(1);
    gc_set_percent(-1); /* only the test's cycles */
    chains_build(256, 1 << 19);
    chains_verify("built");
    gc_collect(); /* starts the idle marker */
    for (int ms = 0; ms < 5000 && gci_idle_mark_state() == 0; ms++)
        sleep_ms(1);
    if (gci_idle_mark_state() < 0) {
        printf("skipped: the idle marker could not start (SCHED_IDLE)\n");
        return check_done();
    }
    test_idle_marker_marks();
    test_dedicated_mark();
    test_off();
    return check_done();
}
