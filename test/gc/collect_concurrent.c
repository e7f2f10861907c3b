/*
 * collect_concurrent.c -- gc_collect() from several threads at once
 * (API.md, "Collection and tuning": callable from any thread, also while
 * another cycle runs; it returns only after a complete cycle that started
 * after the call began; calls made at the same time may share that cycle).
 *
 * 3 threads each call gc_collect() 40 times, with garbage and a checked
 * live list of their own in between, in two rounds.  No deadlock (a
 * watchdog alarm(20) fails the test); every call sees num_gc grow, and
 * num_gc grows by at least 40 per round (each thread's calls are
 * sequential, so each needs a cycle of its own).  And the cycle a call
 * waits for must have started after the call: objects a thread dropped
 * right before calling are reclaimed when the call returns (>= 75% of
 * their weak links read NULL right after the return, over all calls).
 *
 * Round 1 runs with the pacer on, so a call may share an automatic cycle
 * that began after it (the background collector can win the race to
 * start it): that cycle is complete and counts in num_gc, not in
 * num_forced_gc.  Round 2 runs with gc_set_percent(-1): every cycle is
 * one gc_collect started, so each call must also see num_forced_gc grow,
 * and it grows by at least 40 in the round.
 */
#include "../check.h"
#include "../../gcheap.h"
#include "gc_util.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

enum { THREADS = 3, CALLS = GCT_TSAN ? 8 : 40, DROP = 20, LIST = 5000 };

static atomic_int failures;
static bool pacer_off; /* round 2: every cycle is a gc_collect's */
static atomic_long dropped_total, cleared_total;

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] =
        "collect_concurrent: watchdog: deadlock? (20 s)\n";
    if (write(2, msg, sizeof msg - 1) < 0) {
        /* nothing more to do */
    }
    _exit(2);
}

struct node {
    struct node *next;
    uint64_t id, chk;
};

/* Allocates DROP objects, weak-links them from unscanned memory and drops
 * them: nothing pointer-like is returned. */
__attribute__((noinline)) static void make_dropped(void **links, uint64_t seed)
{
    for (int i = 0; i < DROP; i++) {
        uint64_t *p = gc_alloc(48);
        if (p == NULL) {
            atomic_fetch_add(&failures, 1);
            return;
        }
        p[0] = seed + (uint64_t)i;
        gc_weak_link(&links[i], p);
    }
}

static void *collector(void *arg)
{
    uint64_t tid = (uint64_t)(uintptr_t)arg;
    void **links = calloc(DROP, sizeof *links); /* not scanned */
    if (links == NULL)
        return NULL;
    struct node *list = NULL;
    for (uint64_t i = 0; i < LIST; i++) {
        struct node *n = gc_alloc(sizeof *n);
        if (n == NULL) {
            atomic_fetch_add(&failures, 1);
            return NULL;
        }
        n->id = i;
        n->chk = gct_word(tid, i);
        n->next = list;
        list = n;
    }
    for (int c = 0; c < CALLS; c++) {
        gct_churn(1u << 20, 0, tid * 1000 + (uint64_t)c);
        make_dropped(links, (uint64_t)c);
        gct_clear_stack();
        gc_stats a, b;
        gc_get_stats(&a);
        gc_collect();
        gc_get_stats(&b);
        if (b.num_gc <= a.num_gc ||
            (pacer_off && b.num_forced_gc <= a.num_forced_gc)) {
            atomic_fetch_add(&failures, 1);
            fprintf(stderr,
                    "thread %llu: gc_collect returned but num_gc %llu -> %llu, "
                    "forced %llu -> %llu\n",
                    (gct_ull)tid, (gct_ull)a.num_gc, (gct_ull)b.num_gc,
                    (gct_ull)a.num_forced_gc, (gct_ull)b.num_forced_gc);
        }
        long cleared = 0;
        for (int i = 0; i < DROP; i++) {
            cleared += gc_weak_get(&links[i]) == NULL;
            gc_weak_unlink(&links[i]);
            links[i] = NULL;
        }
        atomic_fetch_add(&dropped_total, DROP);
        atomic_fetch_add(&cleared_total, cleared);
        long count = 0;
        uint64_t want = LIST - 1;
        for (struct node *n = list; n != NULL; n = n->next, want--, count++) {
            if (gc_base(n) != n || n->id != want ||
                n->chk != gct_word(tid, want)) {
                atomic_fetch_add(&failures, 1);
                fprintf(stderr, "thread %llu: list node %llu corrupted\n",
                        (gct_ull)tid, (gct_ull)want);
                break;
            }
        }
        if (count != LIST) {
            atomic_fetch_add(&failures, 1);
            fprintf(stderr, "thread %llu: list has %ld nodes\n", (gct_ull)tid,
                    count);
        }
    }
    free(links);
    return NULL;
}

/* One round: THREADS threads, CALLS calls each; checks the totals. */
static void round_of_calls(const char *name)
{
    atomic_store(&dropped_total, 0);
    atomic_store(&cleared_total, 0);
    gc_stats a, b;
    gc_get_stats(&a);
    pthread_t t[THREADS];
    double t0 = gct_now();
    for (int i = 0; i < THREADS; i++) {
        int rc = gc_pthread_create(&t[i], NULL, collector,
                                   (void *)(uintptr_t)(i + 1));
        REQUIRE(rc == 0);
    }
    for (int i = 0; i < THREADS; i++)
        gct_join(t[i], NULL);
    double t1 = gct_now();
    gc_get_stats(&b);
    CHECKF(atomic_load(&failures) == 0, "%s: %d failures in threads", name,
           atomic_load(&failures));
    CHECKF(b.num_gc >= a.num_gc + CALLS,
           "%s: num_gc grew by %llu for %d x %d calls", name,
           (gct_ull)(b.num_gc - a.num_gc), THREADS, CALLS);
    if (pacer_off) {
        CHECKF(b.num_forced_gc >= a.num_forced_gc + CALLS,
               "%s: num_forced_gc grew by %llu for %d x %d calls", name,
               (gct_ull)(b.num_forced_gc - a.num_forced_gc), THREADS, CALLS);
        CHECKF(b.num_forced_gc - a.num_forced_gc == b.num_gc - a.num_gc,
               "%s: %llu cycles but %llu forced with no automatic cycles", name,
               (gct_ull)(b.num_gc - a.num_gc),
               (gct_ull)(b.num_forced_gc - a.num_forced_gc));
    }
    long d = atomic_load(&dropped_total), c = atomic_load(&cleared_total);
    CHECKF(d == (long)THREADS * CALLS * DROP, "%s: dropped %ld", name, d);
    CHECKF(c * 4 >= d * 3,
           "%s: only %ld of %ld objects dropped before gc_collect() were "
           "reclaimed when it returned",
           name, c, d);
    printf("%s: %llu cycles (%llu forced) for %d calls in %.2fs; %ld/%ld "
           "dropped objects reclaimed\n",
           name, (gct_ull)(b.num_gc - a.num_gc),
           (gct_ull)(b.num_forced_gc - a.num_forced_gc), THREADS * CALLS,
           t1 - t0, c, d);
}

int main(void)
{
    signal(SIGALRM, on_alarm);
    alarm(20);
    gc_init();
    round_of_calls("pacer on");
    gc_set_percent(-1);
    gc_collect(); /* waits out an automatic cycle round 1 left running */
    pacer_off = true;
    round_of_calls("percent -1");
    alarm(0);
    return check_done();
}
