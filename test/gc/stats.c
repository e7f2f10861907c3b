/*
 * stats.c -- the collector's statistics (API.md, "Statistics"), read
 * around gc_collect() in one thread.
 *
 * After gc_collect(): num_gc >= 1 and num_forced_gc >= 1, each exactly +1
 * per call; heap_live > 0 (while objects are held) and <= heap_alloc;
 * heap_live covers a known 10 MiB live set; heap_goal >= heap_live * (1 +
 * percent/100) (within 5%), also after gc_set_percent(200); pause_max_ns >=
 * last_pause_ns > 0 and pause_total_ns >= pause_max_ns, growing with each
 * cycle; percent == 100 and concurrent == 0 by default (unless set in the
 * environment); gc_cpu_fraction in [0, 1]; no periodic cycle in a short run.
 * When the live set is dropped, the next cycle frees it: heap_live, heap_alloc
 * and heap_objects fall, frees grows by the objects freed, mallocs and
 * total_alloc do not move, and mallocs - frees == heap_objects.
 * Last, concurrent and at percent 10, 8 threads allocate for half a second,
 * so that most of their time is assists and waits at the goal (wall time,
 * for the CPU limiter): gc_cpu_fraction still stays in [0, 1] (it read
 * about 2.9 when a cycle could count more than every CPU's time).
 */
#include "../check.h"
#include "../../gcheap.h"
#include "gc_util.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

enum { NLIVE = 10240, LSIZE = 1024 };

void *live[NLIVE]; /* roots */

__attribute__((noinline)) static void make_live(void)
{
    for (int i = 0; i < NLIVE; i++) {
        live[i] = gc_alloc(LSIZE);
        REQUIRE(live[i] != NULL);
        gct_fill(live[i], LSIZE / 8, (uint64_t)i);
    }
}

enum { NBUSY = 8 };
struct busy_node {
    struct busy_node *next;
    uint64_t pad[7];
};
static struct busy_node *busy_roots[NBUSY];

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Allocates chains of 20,000 nodes for half a second, one kept at a time;
 * returns non-NULL if an allocation failed (checked by the main thread:
 * the check counters are not for other threads). */
static void *busy(void *arg)
{
    struct busy_node **root = arg;
    double end = seconds_now() + 0.5;
    for (long i = 0; seconds_now() < end;)
        for (int j = 0; j < 1000; j++, i++) {
            struct busy_node *x = gc_alloc(sizeof *x);
            if (!x)
                return root;
            GC_STORE(x->next, i % 20000 ? *root : NULL);
            GC_STORE(*root, x);
        }
    return NULL;
}

__attribute__((noinline)) static void drop_live(void)
{
    for (int i = 0; i < NLIVE; i++)
        live[i] = NULL;
}

/* `some_live`: the program holds objects, so heap_live > 0 (once nothing
 * is held it may be 0: nothing else keeps an object alive). */
static void check_cycle(const gc_stats *s, const char *what, bool some_live)
{
    CHECKF(!some_live || s->heap_live > 0, "%s: heap_live 0", what);
    CHECKF(s->heap_live <= s->heap_alloc,
           "%s: heap_live %llu > heap_alloc %llu", what, (gct_ull)s->heap_live,
           (gct_ull)s->heap_alloc);
    CHECKF(s->heap_goal >= s->heap_live, "%s: heap_goal %llu < heap_live %llu",
           what, (gct_ull)s->heap_goal, (gct_ull)s->heap_live);
    if (s->percent >= 0) {
        double want = (double)s->heap_live * (1.0 + s->percent / 100.0) * 0.95;
        CHECKF((double)s->heap_goal >= want,
               "%s: heap_goal %llu < heap_live %llu * (1 + %d%%)", what,
               (gct_ull)s->heap_goal, (gct_ull)s->heap_live, s->percent);
    }
    CHECKF(s->last_pause_ns > 0, "%s: last_pause_ns 0", what);
    CHECKF(s->pause_max_ns >= s->last_pause_ns,
           "%s: pause_max_ns %llu < last_pause_ns %llu", what,
           (gct_ull)s->pause_max_ns, (gct_ull)s->last_pause_ns);
    CHECKF(s->pause_total_ns >= s->pause_max_ns,
           "%s: pause_total_ns %llu < pause_max_ns %llu", what,
           (gct_ull)s->pause_total_ns, (gct_ull)s->pause_max_ns);
    CHECKF(s->gc_cpu_fraction >= 0.0 && s->gc_cpu_fraction <= 1.0,
           "%s: gc_cpu_fraction %f", what, s->gc_cpu_fraction);
    CHECKF(s->heap_sys >= s->heap_alloc, "%s: heap_sys < heap_alloc", what);
    CHECKF(s->heap_released <= s->heap_sys, "%s: heap_released > heap_sys",
           what);
    CHECKF(s->mallocs - s->frees == s->heap_objects,
           "%s: mallocs %llu - frees %llu != heap_objects %llu", what,
           (gct_ull)s->mallocs, (gct_ull)s->frees, (gct_ull)s->heap_objects);
    CHECKF(s->total_alloc >= s->heap_alloc, "%s: total_alloc < heap_alloc",
           what);
}

int main(void)
{
    gc_init();
    gc_stats s0, s1, s2, s3, s4;
    gc_get_stats(&s0);
    if (getenv("GCHEAP_PERCENT") == NULL)
        CHECKF(s0.percent == 100, "default percent %d", s0.percent);
    if (getenv("GCHEAP_CONCURRENT") == NULL)
        CHECKF(s0.concurrent == 0, "default concurrent %d", s0.concurrent);

    make_live();
    gct_churn(8u << 20, 0, 1);
    gc_get_stats(&s0);
    gc_collect();
    gc_get_stats(&s1);
    CHECK(s1.num_gc >= 1);
    CHECK(s1.num_forced_gc >= 1);
    /* One cycle -- or two in concurrent mode, where a pacer cycle may be
     * running on the background collector when gc_collect is called: the
     * call waits for it, then runs one that started after it. */
    CHECKF(s1.num_gc == s0.num_gc + 1 ||
               (s1.concurrent && s1.num_gc == s0.num_gc + 2),
           "num_gc %llu -> %llu for one gc_collect", (gct_ull)s0.num_gc,
           (gct_ull)s1.num_gc);
    CHECKF(s1.num_forced_gc == s0.num_forced_gc + 1,
           "num_forced_gc %llu -> %llu", (gct_ull)s0.num_forced_gc,
           (gct_ull)s1.num_forced_gc);
    int period_env = getenv("GCHEAP_FORCE_PERIOD") != NULL;
    CHECK(period_env || s1.num_periodic_gc == 0);
    check_cycle(&s1, "after gc_collect", true);
    CHECKF(s1.heap_live >= (uint64_t)NLIVE * LSIZE,
           "heap_live %llu < the %d bytes reachable", (gct_ull)s1.heap_live,
           NLIVE * LSIZE);
    CHECKF(s1.heap_live <= (uint64_t)NLIVE * LSIZE + (4u << 20),
           "heap_live %llu: much more than the %d bytes reachable",
           (gct_ull)s1.heap_live, NLIVE * LSIZE);
    CHECK(s1.mallocs == s0.mallocs && s1.total_alloc == s0.total_alloc);
    CHECK(s1.frees >= s0.frees);

    gc_collect();
    gc_get_stats(&s2);
    check_cycle(&s2, "second gc_collect", true);
    CHECK(s2.num_gc == s1.num_gc + 1);
    CHECKF(s2.pause_total_ns > s1.pause_total_ns,
           "pause_total_ns did not grow: %llu -> %llu",
           (gct_ull)s1.pause_total_ns, (gct_ull)s2.pause_total_ns);
    CHECK(s2.pause_max_ns >= s1.pause_max_ns);

    CHECK(gc_set_percent(200) == s2.percent);
    gc_collect();
    gc_get_stats(&s3);
    CHECK(s3.percent == 200);
    check_cycle(&s3, "percent 200", true);
    gc_set_percent(s2.percent);

    drop_live();
    gct_collect_clean(1);
    gc_get_stats(&s4);
    check_cycle(&s4, "after dropping the live set", false);
    uint64_t dropped = (uint64_t)NLIVE * LSIZE;
    CHECKF(s4.heap_live + dropped * 9 / 10 <= s3.heap_live,
           "heap_live %llu -> %llu after dropping %llu bytes",
           (gct_ull)s3.heap_live, (gct_ull)s4.heap_live, (gct_ull)dropped);
    CHECKF(s4.heap_alloc + dropped * 9 / 10 <= s3.heap_alloc,
           "heap_alloc %llu -> %llu after dropping %llu bytes",
           (gct_ull)s3.heap_alloc, (gct_ull)s4.heap_alloc, (gct_ull)dropped);
    CHECKF(s4.frees >= s3.frees + NLIVE * 9 / 10, "frees %llu -> %llu",
           (gct_ull)s3.frees, (gct_ull)s4.frees);
    CHECKF(s4.heap_objects + NLIVE * 9 / 10 <= s3.heap_objects,
           "heap_objects %llu -> %llu", (gct_ull)s3.heap_objects,
           (gct_ull)s4.heap_objects);
    CHECK(s4.mallocs == s3.mallocs && s4.total_alloc == s3.total_alloc);
    CHECK(period_env || s4.num_periodic_gc == 0);

    gc_set_concurrent(1);
    gc_set_percent(10);
    pthread_t t[NBUSY];
    for (int i = 0; i < NBUSY; i++)
        REQUIRE(gc_pthread_create(&t[i], NULL, busy, &busy_roots[i]) == 0);
    for (int i = 0; i < NBUSY; i++) {
        void *failed = NULL;
        pthread_join(t[i], &failed);
        CHECKF(failed == NULL, "thread %d: gc_alloc returned NULL", i);
    }
    gc_stats s5;
    gc_get_stats(&s5);
    CHECKF(s5.gc_cpu_fraction >= 0.0 && s5.gc_cpu_fraction <= 1.0,
           "8 threads at the goal: gc_cpu_fraction %f (assists %llu ms)",
           s5.gc_cpu_fraction, (gct_ull)(s5.assist_ns / 1000000));
    printf("live %llu MiB goal %llu MiB, pauses: last %llu us max %llu us "
           "total %llu us\n",
           (gct_ull)(s1.heap_live >> 20), (gct_ull)(s1.heap_goal >> 20),
           (gct_ull)(s2.last_pause_ns / 1000),
           (gct_ull)(s2.pause_max_ns / 1000),
           (gct_ull)(s2.pause_total_ns / 1000));
    return check_done();
}
