/*
 * latency.c -- how long the program stops for the collector, as the program
 * sees it, with a large live heap; for gcheap and bdwgc (bench/go/latency.go
 * is the same program in Go), and with glibc malloc, which frees each
 * short-lived object as it leaves the ring: no collector at all, so its
 * figures are the floor the machine itself sets (scheduling, page faults,
 * other tenants), measured in the same run.
 *
 * What it does (L = live MiB, argv[1], default 2048; S = seconds, argv[2],
 * default 10):
 *   1. builds a live heap of L MiB of 64-byte nodes in CHAINS linked lists
 *      hanging off one root array (many lists, so that marking them can be
 *      shared between threads);
 *   2. for S seconds, allocates short-lived 64-byte objects as fast as it
 *      can, in iterations of BATCH allocations, writing each object and
 *      keeping the last WINDOW of them reachable from a ring;
 *   3. records every iteration's duration in a histogram of 1 us buckets
 *      (up to 10 s), and checks the live lists at the end.
 * A collection that stops the program shows up as one long iteration: the
 * longest iteration is the largest pause the program saw ("max gap").  One
 * machine-readable line:
 *   RESULT bench=latency alloc=NAME live_mib=L seconds=S allocs_per_s=R
 *          max_gap_us=G p999_us=P p99_us=Q gcs=N maxrss_kib=K check=C
 * (on one line), where R is the allocation rate of step 2, P and Q the
 * 99.9th and 99th percentile iteration times, N the collections during
 * step 2, C the number of live nodes found intact.
 *
 * With GCHEAP_CONCURRENT=1, gcheap marks concurrently and reports itself
 * as "gcheap-conc".
 *
 * With LATENCY_EXPLAIN=1, every iteration also reads the thread's CPU
 * time, its context switches and page faults and (gcheap) the collector's
 * assist time, and
 * each iteration over 1 ms is sorted by where its wall time went (on
 * stderr, one line per gap, then one summary line):
 *   assist    mostly in gcheap's mutator assists (marking, or waiting for
 *             the collector's credit at the heap goal);
 *   cpu       otherwise mostly on the CPU (allocation, sweeping, page
 *             faults; with the world stopped, the whole collection);
 *   switched  mostly off the CPU, with a context switch: the thread blocked
 *             (on a lock, or stopped for a collection) or another task had
 *             its CPU (any task: it does not say which); each gap line
 *             counts its voluntary switches (waits: the thread blocked) and
 *             the summary the switched gaps with one (waited=);
 *   stalled   mostly off the CPU without a context switch: time the kernel
 *             accounts to no task (interrupts, or a virtual CPU the host
 *             did not run: steal time; which of them counts here depends
 *             on the kernel's IRQ and steal time accounting);
 *   EXPLAIN alloc=NAME gaps_over_1ms=N assist=A cpu=C switched=W (waited=B)
 *           stalled=S
 * LATENCY_EXPLAIN_US=N sorts the iterations over N µs instead (printing
 * only those over 1 ms), for what makes the p99.9: the summary then says
 * gaps_over_Nus=.
 * The reads cost about a microsecond an iteration, so an explained run's
 * rate and percentiles are not the benchmark's figures.
 *
 * Usage: latency-<alloc> [live MiB] [seconds]
 */
#define _GNU_SOURCE /* RUSAGE_THREAD */

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcvariant.h"

/* Stores of heap pointers into heap objects: through gcheap's write
 * barrier (needed in concurrent mode, one load and a branch otherwise). */
#if defined(ALLOC_GCHEAP)
#define STORE(lvalue, value) GC_STORE(lvalue, value)
#else
#define STORE(lvalue, value) ((lvalue) = (value))
#endif

#if defined(ALLOC_GCHEAP)
static uint64_t collections(void)
{
    gc_stats st;
    gc_get_stats(&st);
    return st.num_gc;
}
#elif defined(ALLOC_BDWGC)
static uint64_t collections(void) { return (uint64_t)GC_get_gc_no(); }
#elif defined(ALLOC_MALLOC)
static uint64_t collections(void) { return 0; }
#else
#error "latency.c: ALLOC_GCHEAP, ALLOC_BDWGC or ALLOC_MALLOC"
#endif

enum {
    CHAINS = 4096,
    BATCH = 64,    /* allocations per timed iteration */
    WINDOW = 4096, /* short-lived objects kept reachable at a time */
    BUCKETS = 10 * 1000 * 1000, /* 1 us each: up to 10 s */
};

struct node {
    struct node *next;
    uint64_t id, sum;
    uint64_t pad[5];
};

static uint64_t node_sum(uint64_t id) { return id * 0x9e3779b97f4a7c15ull ^ 7; }

static struct node *new_node(uint64_t id, struct node *next)
{
    struct node *n = node_alloc(sizeof *n);
    if (n == NULL) {
        fprintf(stderr, "latency: out of memory\n");
        exit(1);
    }
    n->next = next;
    n->id = id;
    n->sum = node_sum(id);
    return n;
}

/* ---- LATENCY_EXPLAIN --------------------------------------------------- */

struct probe {
    uint64_t cpu_ns, assist_ns;
    long switches, waits, faults; /* waits: the voluntary switches */
};

static void probe(struct probe *p)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    p->cpu_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    p->switches = ru.ru_nvcsw + ru.ru_nivcsw;
    p->waits = ru.ru_nvcsw;
    p->faults = ru.ru_minflt + ru.ru_majflt;
#if defined(ALLOC_GCHEAP)
    gc_stats st;
    gc_get_stats(&st);
    p->assist_ns = st.assist_ns;
#else
    p->assist_ns = 0;
#endif
}

enum { GAP_ASSIST, GAP_CPU, GAP_SWITCHED, GAP_STALLED, GAP_KINDS };
static const char *const gap_kind[GAP_KINDS] = {"assist", "cpu", "switched",
                                                "stalled"};

/* Sorts an iteration of `wall` ns between probes a and b (see the top);
 * prints it if `print`. */
static int explain_gap(uint64_t wall, const struct probe *a,
                       const struct probe *b, bool print)
{
    uint64_t cpu = b->cpu_ns - a->cpu_ns, assist = b->assist_ns - a->assist_ns;
    int kind = 2 * assist >= wall          ? GAP_ASSIST
               : 2 * cpu >= wall           ? GAP_CPU
               : b->switches > a->switches ? GAP_SWITCHED
                                           : GAP_STALLED;
    if (print)
        fprintf(stderr,
                "gap %.3f ms: %s (cpu %.3f ms, assist %.3f ms, %ld switches "
                "(%ld waits), %ld page faults)\n",
                wall / 1e6, gap_kind[kind], cpu / 1e6, assist / 1e6,
                b->switches - a->switches, b->waits - a->waits,
                b->faults - a->faults);
    return kind;
}

static uint64_t percentile(const uint32_t *hist, uint64_t total, double q)
{
    uint64_t want = (uint64_t)((double)total * q), seen = 0;
    for (uint64_t i = 0; i < BUCKETS; i++) {
        seen += hist[i];
        if (seen > want)
            return i;
    }
    return BUCKETS;
}

int main(int argc, char **argv)
{
    long live_mib = argc > 1 ? atol(argv[1]) : 2048;
    double seconds = argc > 2 ? atof(argv[2]) : 10;
    if (live_mib < 1 || seconds <= 0) {
        fprintf(stderr, "usage: %s [live MiB] [seconds]\n", argv[0]);
        return 2;
    }
    alloc_init();
    const char *name = ALLOC_NAME;
#if defined(ALLOC_GCHEAP)
    gc_stats st0;
    gc_get_stats(&st0);
    if (st0.concurrent)
        name = "gcheap-conc";
#endif

    /* 1. The live heap. */
    struct node **chains =
        checked(node_alloc(CHAINS * sizeof *chains), "the chains");
    uint64_t nodes = (uint64_t)live_mib * 1048576 / sizeof(struct node);
    for (uint64_t i = 0; i < CHAINS; i++)
        chains[i] = NULL;
    for (uint64_t i = 0; i < nodes; i++)
        STORE(chains[i % CHAINS], new_node(i, chains[i % CHAINS]));
    printf("latency: %s, %" PRIu64 " live nodes (%ld MiB) in %d chains\n", name,
           nodes, live_mib, CHAINS);

    /* 2. Short-lived allocation at full speed. */
    uint32_t *hist = checked(calloc(BUCKETS, sizeof *hist), "the histogram");
    struct node **ring = checked(node_alloc(WINDOW * sizeof *ring), "the ring");
    for (int i = 0; i < WINDOW; i++)
        ring[i] = NULL;
    const char *ex = getenv("LATENCY_EXPLAIN");
    bool explain = ex && *ex && strcmp(ex, "0") != 0;
    const char *ex_us = getenv("LATENCY_EXPLAIN_US");
    uint64_t over_us = ex_us && atol(ex_us) > 0 ? (uint64_t)atol(ex_us) : 1000;
    uint64_t gaps[GAP_KINDS] = {0}, ngaps = 0, waited = 0;
    struct probe before = {0}, after;
    if (explain)
        probe(&before);
    uint64_t gc0 = collections(), iters = 0, allocs = 0, max_ns = 0;
    double start = now_seconds(), last = start, end = start + seconds;
    for (;;) {
        for (int k = 0; k < BATCH; k++, allocs++) {
#if defined(ALLOC_MALLOC)
            free(ring[allocs % WINDOW]); /* no collector: freed by hand */
#endif
            STORE(ring[allocs % WINDOW], new_node(allocs, NULL));
        }
        if (explain) /* before the clock: the probes' interval is the
                        iteration's */
            probe(&after);
        double t = now_seconds();
        uint64_t ns = (uint64_t)((t - last) * 1e9);
        uint64_t us = ns / 1000;
        hist[us < BUCKETS ? us : BUCKETS - 1]++;
        if (ns > max_ns)
            max_ns = ns;
        if (explain) {
            if (ns > over_us * 1000) {
                int kind = explain_gap(ns, &before, &after, ns > 1000000);
                gaps[kind]++;
                ngaps++;
                waited += kind == GAP_SWITCHED && after.waits > before.waits;
            }
            before = after;
        }
        iters++;
        last = t;
        if (t >= end)
            break;
    }
    double took = last - start;
    uint64_t gcs = collections() - gc0;
    if (explain) {
        char over[32] = "1ms";
        if (over_us != 1000)
            snprintf(over, sizeof over, "%" PRIu64 "us", over_us);
        fprintf(stderr,
                "EXPLAIN alloc=%s gaps_over_%s=%" PRIu64 " assist=%" PRIu64
                " cpu=%" PRIu64 " switched=%" PRIu64 " (waited=%" PRIu64
                ") stalled=%" PRIu64 "\n",
                name, over, ngaps, gaps[GAP_ASSIST], gaps[GAP_CPU],
                gaps[GAP_SWITCHED], waited, gaps[GAP_STALLED]);
    }

    /* 3. The live heap must be intact. */
    uint64_t intact = 0;
    for (uint64_t i = 0; i < CHAINS; i++)
        for (struct node *n = chains[i]; n != NULL; n = n->next)
            intact += n->sum == node_sum(n->id) && n->id % CHAINS == i;
    if (intact != nodes)
        fprintf(stderr, "latency: %" PRIu64 " of %" PRIu64 " nodes damaged\n",
                nodes - intact, nodes);

    printf("RESULT bench=latency alloc=%s live_mib=%ld seconds=%.2f "
           "allocs_per_s=%.0f max_gap_us=%.0f p999_us=%" PRIu64
           " p99_us=%" PRIu64 " gcs=%" PRIu64 " maxrss_kib=%ld check=%" PRIu64
           "\n",
           name, live_mib, took, (double)allocs / took, max_ns / 1e3,
           percentile(hist, iters, 0.999), percentile(hist, iters, 0.99), gcs,
           maxrss_kib(), intact);
    free(hist);
    return intact == nodes ? 0 : 1;
}
