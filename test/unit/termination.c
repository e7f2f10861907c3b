/* Unit test of concurrent mark termination (src/gc.c, mark_concurrent).
 * The worker goes to mark termination whenever it runs dry; a try that
 * finds grey objects left in the threads' buffers restarts the world.
 * Two rules, each shown with a debug hook that makes the worker run dry
 * while it still has grey objects:
 *
 *  - tries that made no progress end in a drain with the world stopped
 *    after TERMINATION_TRIES (8), so a cycle always ends: with the worker
 *    never marking, each cycle takes 8 tries and one stopped drain;
 *  - tries with a mebibyte or more marked since the previous one do not
 *    count (the worker runs dry in mid-mark while a program thread holds
 *    the grey objects): with the worker stopping after every 2 MiB, a
 *    cycle of far more than 8 tries ends with no stopped drain.
 *
 * Either way every object must survive, checksummed, through garbage that
 * reuses any memory freed by mistake. */
#include "chains.h"

/* Dry at once, every time -- for a bounded number of tries a cycle, so
 * that a build whose tries never run out ends (marking after that) and
 * fails the check instead of hanging. */
static int dry_calls;
static bool never_marks(void) { return ++dry_calls <= 100; }

/* Dry after every 2 MiB the cycle scanned since the last time. */
static uint64_t last_dry;
static bool dry_every_2mib(void)
{
    uint64_t now = at_load(&gci_cycle_scanned);
    if (now - last_dry < (2u << 20))
        return false;
    last_dry = now;
    return true;
}

enum { CYCLES = 3 };

static void test_no_progress_drains_stopped(void)
{
    uint64_t tries = at_load(&gci_mark_tries);
    uint64_t drains = at_load(&gci_mark_stopped_drains);
    gci_debug_worker_dry = never_marks;
    for (int i = 0; i < CYCLES; i++) {
        garbage(400000);
        dry_calls = 0;
        gc_collect();
    }
    gci_debug_worker_dry = NULL;
    tries = at_load(&gci_mark_tries) - tries;
    drains = at_load(&gci_mark_stopped_drains) - drains;
    /* Each cycle: 7 tries restart the world, the 8th drains stopped. */
    CHECKF(drains == CYCLES && tries == 7 * CYCLES,
           "worker never marking: %llu stopped drains, %llu tries in %d "
           "cycles (want %d and %d)",
           (unsigned long long)drains, (unsigned long long)tries, CYCLES,
           CYCLES, 7 * CYCLES);
    garbage(400000);
    chains_verify("after stopped drains");
}

static void test_progress_does_not_count(void)
{
    uint64_t tries = at_load(&gci_mark_tries);
    uint64_t drains = at_load(&gci_mark_stopped_drains);
    for (int i = 0; i < CYCLES; i++) {
        garbage(400000);
        last_dry = 0; /* the cycle's scan count starts again at 0 */
        gci_debug_worker_dry = dry_every_2mib;
        gc_collect();
        gci_debug_worker_dry = NULL;
    }
    tries = at_load(&gci_mark_tries) - tries;
    drains = at_load(&gci_mark_stopped_drains) - drains;
    /* 64 MiB in 2 MiB steps: some 30 tries a cycle. */
    CHECKF(tries >= 16 * CYCLES,
           "only %llu tries in %d cycles: the test marks too little",
           (unsigned long long)tries, CYCLES);
    CHECKF(drains == 0,
           "%llu stopped drains with %llu tries that each followed 2 MiB "
           "of marking",
           (unsigned long long)drains, (unsigned long long)tries);
    garbage(400000);
    chains_verify("after tries with progress");
}

int main(void)
{
    gc_init();
    if (GCHEAP_DEBUG < 2) {
        printf("skipped: needs GCHEAP_DEBUG >= 2\n");
        return 0;
    }
    gc_set_concurrent(1);
    gci_opt_idle_mark = 0; /* the worker is the only marker: the tries
                              count its progress alone */
    gc_set_percent(-1);    /* only the test's cycles: it counts their tries */
    chains_build(64, 1 << 20);
    chains_verify("built");
    test_no_progress_drains_stopped();
    test_progress_does_not_count();
    return check_done();
}
