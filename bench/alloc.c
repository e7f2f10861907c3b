/*
 * alloc.c -- allocation micro-benchmark: gcheap against glibc malloc,
 * mimalloc and bdwgc.
 *
 * What it measures: the throughput of small-object allocation plus explicit
 * free, in millions of alloc+free pairs per second of wall-clock time
 * (CLOCK_MONOTONIC, best of R runs), for two patterns, each run by 1 and by
 * 2 threads that do the same amount of work independently:
 *
 *   batch  allocate 100 objects of random sizes 16..256 B, write one word in
 *          each, then free the 100 in allocation order; repeat.  This is the
 *          fast path: a per-thread cache that is filled and emptied, with
 *          everything in L1.
 *   ring   keep a ring of 10,000 live objects (~1.4 MB per thread); each step
 *          frees the oldest and allocates a new object into its slot.  The
 *          working set is larger than L1 and L2, so frees touch cold memory
 *          and objects return to pages other than the one being allocated
 *          from, as in a long-running program.
 *
 * Why: gcheap's allocator is meant to be competitive with the general
 * purpose allocators (malloc, mimalloc) and faster than the conservative
 * collector it replaces (bdwgc), and to scale with threads.  The figures are
 * benchmark numbers for people, not test assertions.
 *
 * One source is compiled once per allocator, chosen by exactly one of
 * ALLOC_GCHEAP, ALLOC_MALLOC, ALLOC_MIMALLOC, ALLOC_BDWGC, so the measured
 * loops are the same instructions around different calls.  Fairness:
 *
 *   - gc_alloc and GC_MALLOC return zeroed memory, so the malloc and
 *     mimalloc variants use calloc and mi_zalloc: all four zero.
 *   - Object sizes come from a fixed-seed xorshift generator and are
 *     precomputed into a small table, so the generator is not timed.
 *   - Each object's first word is written when it is allocated; bytes 0 and
 *     8 are added to a checksum right before it is freed.  That keeps the
 *     compiler from dropping the work, and since byte 8 must still be zero
 *     the checksum is the same for every allocator (run-alloc.sh checks).
 *   - The arrays that hold object pointers come from the allocator under
 *     test as uncollectable roots (GC_MALLOC_UNCOLLECTABLE,
 *     gc_alloc_uncollectable), so a collector sees every live object.
 *   - Threads are created before timing and start together at a barrier;
 *     the wall time runs from the first thread's start to the last one's end.
 *
 * Output: one line per configuration,
 *   RESULT alloc=<name> workload=<batch|ring> threads=<T> pairs=<per thread>
 *          seconds=<best> mops=<aggregate Mpairs/s> checksum=<n>
 * which run-alloc.sh turns into a table with ratios.
 *
 * Usage: alloc-<name> [-n pairs per thread] [-r runs] [-w batch|ring|all]
 *                     [-t thread counts, e.g. 1,2]
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- The allocator under test -------------------------------------------
 * The only #if in the file.  Each variant defines obj_alloc/obj_free (the
 * measured calls), roots_alloc/roots_free (zeroed memory for pointer arrays
 * that a collector must scan and never collect), and thread creation. */

#if defined(ALLOC_GCHEAP)
#include "gcheap.h"
#define ALLOC_NAME "gcheap"
#define ALLOC_ZEROING "gc_alloc (zeroed by contract)"
static void alloc_init(void) { gc_init(); }
static inline void *obj_alloc(size_t size) { return gc_alloc(size); }
static inline void obj_free(void *p) { gc_free(p); }
static void *roots_alloc(size_t size) { return gc_alloc_uncollectable(size); }
static void roots_free(void *p) { gc_free(p); }
/* Plain pthread_create is enough: the worker's first gc_ call registers it,
 * and everything it allocates is reachable from uncollectable roots. */
static int thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
    return pthread_create(t, NULL, fn, arg);
}
static int thread_join(pthread_t t) { return pthread_join(t, NULL); }

#elif defined(ALLOC_MALLOC)
#define ALLOC_NAME "malloc"
#define ALLOC_ZEROING "calloc"
static void alloc_init(void) {}
static inline void *obj_alloc(size_t size) { return calloc(1, size); }
static inline void obj_free(void *p) { free(p); }
static void *roots_alloc(size_t size) { return calloc(1, size); }
static void roots_free(void *p) { free(p); }
static int thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
    return pthread_create(t, NULL, fn, arg);
}
static int thread_join(pthread_t t) { return pthread_join(t, NULL); }

#elif defined(ALLOC_MIMALLOC)
#include <mimalloc.h>
#define ALLOC_NAME "mimalloc"
#define ALLOC_ZEROING "mi_zalloc"
static void alloc_init(void) {}
static inline void *obj_alloc(size_t size) { return mi_zalloc(size); }
static inline void obj_free(void *p) { mi_free(p); }
static void *roots_alloc(size_t size) { return mi_zalloc(size); }
static void roots_free(void *p) { mi_free(p); }
static int thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
    return pthread_create(t, NULL, fn, arg);
}
static int thread_join(pthread_t t) { return pthread_join(t, NULL); }

#elif defined(ALLOC_BDWGC)
/* GC_THREADS: thread-safe bdwgc with thread-local free lists.  No macro
 * redirection of pthread_create: the calls below are explicit. */
#define GC_THREADS 1
#define GC_NO_THREAD_REDIRECTS 1
#include <gc.h>
#define ALLOC_NAME "bdwgc"
#define ALLOC_ZEROING "GC_MALLOC (zeroed by contract)"
static void alloc_init(void) { GC_INIT(); }
static inline void *obj_alloc(size_t size) { return GC_MALLOC(size); }
static inline void obj_free(void *p) { GC_FREE(p); }
static void *roots_alloc(size_t size) { return GC_MALLOC_UNCOLLECTABLE(size); }
static void roots_free(void *p) { GC_FREE(p); }
/* GC_pthread_create registers the thread (its stack and registers become
 * roots) before fn runs. */
static int thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
    return GC_pthread_create(t, NULL, fn, arg);
}
static int thread_join(pthread_t t) { return GC_pthread_join(t, NULL); }

#else
#error "define one of ALLOC_GCHEAP, ALLOC_MALLOC, ALLOC_MIMALLOC, ALLOC_BDWGC"
#endif

/* ---- Parameters ---------------------------------------------------------- */

enum {
    MIN_SIZE = 16,
    MAX_SIZE = 256,
    BATCH_OBJECTS = 100,
    RING_OBJECTS = 10000,
    SIZES_LEN = 4096, /* power of two: indexed with SIZES_MASK */
    SIZES_MASK = SIZES_LEN - 1,
    MAX_THREADS = 64,
    MAX_THREAD_COUNTS = 16,
};

#define DEFAULT_PAIRS 20000000ULL /* ~0.3 s a run: shorter runs are noise */
#define DEFAULT_RUNS 5
#define SEED 0x9e3779b97f4a7c15ULL

enum workload { WL_BATCH, WL_RING, WL_COUNT };
static const char *const workload_names[WL_COUNT] = {"batch", "ring"};

struct options {
    uint64_t pairs; /* alloc+free pairs per thread and run */
    int runs;
    int workloads[WL_COUNT]; /* nonzero: run it */
    unsigned thread_counts[MAX_THREAD_COUNTS];
    unsigned n_thread_counts;
};

/* One thread's share of a run.  Written by its thread before the join,
 * read by main after it. */
struct worker {
    enum workload workload;
    uint64_t pairs;
    unsigned id;
    pthread_barrier_t *start;
    uint16_t sizes[SIZES_LEN];
    uint64_t checksum;
    double t_start, t_end; /* seconds, CLOCK_MONOTONIC */
};

/* ---- Helpers ------------------------------------------------------------- */

static void die(const char *what)
{
    fprintf(stderr, "alloc-%s: %s\n", ALLOC_NAME, what);
    exit(1);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t xorshift64(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x;
}

static void sizes_fill(uint16_t *sizes, unsigned thread_id)
{
    uint64_t state = SEED ^ ((uint64_t)(thread_id + 1) * 0xbf58476d1ce4e5b9ULL);
    for (size_t i = 0; i < SIZES_LEN; i++)
        sizes[i] = (uint16_t)(MIN_SIZE +
                              xorshift64(&state) % (MAX_SIZE - MIN_SIZE + 1));
}

/* The measured unit, first half: allocate and touch one word. */
static inline void *object_new(const uint16_t *sizes, uint64_t seq)
{
    uint64_t *p = obj_alloc(sizes[seq & SIZES_MASK]);
    if (p == NULL)
        die("out of memory");
    *p = seq;
    return p;
}

/* Second half: read byte 0 (written) and byte 8 (still zero), then free. */
static inline uint64_t object_drop(void *p)
{
    const unsigned char *bytes = p;
    uint64_t sum = (uint64_t)bytes[0] + bytes[8];
    obj_free(p);
    return sum;
}

/* ---- Workloads ----------------------------------------------------------- */

static uint64_t batch_pairs(uint64_t pairs)
{
    return (pairs + BATCH_OBJECTS - 1) / BATCH_OBJECTS * BATCH_OBJECTS;
}

static uint64_t batch_work(void **slots, const uint16_t *sizes, uint64_t pairs)
{
    uint64_t sum = 0, seq = 0;
    for (uint64_t done = 0; done < pairs; done += BATCH_OBJECTS) {
        for (size_t i = 0; i < BATCH_OBJECTS; i++)
            slots[i] = object_new(sizes, seq++);
        for (size_t i = 0; i < BATCH_OBJECTS; i++)
            sum += object_drop(slots[i]);
    }
    return sum;
}

static void ring_fill(void **slots, const uint16_t *sizes)
{
    for (size_t i = 0; i < RING_OBJECTS; i++)
        slots[i] = object_new(sizes, i);
}

static uint64_t ring_work(void **slots, const uint16_t *sizes, uint64_t pairs)
{
    uint64_t sum = 0, seq = RING_OBJECTS;
    size_t i = 0;
    for (uint64_t done = 0; done < pairs; done++) {
        sum += object_drop(slots[i]);
        slots[i] = object_new(sizes, seq++);
        if (++i == RING_OBJECTS)
            i = 0;
    }
    return sum;
}

static uint64_t ring_drain(void **slots)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < RING_OBJECTS; i++)
        sum += object_drop(slots[i]);
    return sum;
}

/* ---- One thread ---------------------------------------------------------- */

/* Set up untimed, wait for the others, time the work, tear down untimed. */
static void *worker_main(void *arg)
{
    struct worker *w = arg;
    size_t n_slots = w->workload == WL_RING ? RING_OBJECTS : BATCH_OBJECTS;
    void **slots = roots_alloc(n_slots * sizeof *slots);
    if (slots == NULL)
        die("out of memory for the slot array");
    sizes_fill(w->sizes, w->id);
    if (w->workload == WL_RING)
        ring_fill(slots, w->sizes);

    pthread_barrier_wait(w->start);
    w->t_start = now_seconds();
    if (w->workload == WL_RING)
        w->checksum = ring_work(slots, w->sizes, w->pairs);
    else
        w->checksum = batch_work(slots, w->sizes, w->pairs);
    w->t_end = now_seconds();

    if (w->workload == WL_RING)
        w->checksum += ring_drain(slots);
    roots_free(slots);
    return NULL;
}

/* ---- Runs ---------------------------------------------------------------- */

struct run_result {
    double seconds;    /* first start to last end */
    uint64_t checksum; /* sum over threads */
};

static struct run_result run_once(enum workload wl, unsigned threads,
                                  uint64_t pairs)
{
    struct worker *workers = calloc(threads, sizeof *workers);
    pthread_t tids[MAX_THREADS];
    pthread_barrier_t start;
    if (workers == NULL)
        die("out of memory for the workers");
    pthread_barrier_init(&start, NULL, threads);
    for (unsigned i = 0; i < threads; i++) {
        workers[i] = (struct worker){
            .workload = wl, .pairs = pairs, .id = i, .start = &start};
        if (thread_start(&tids[i], worker_main, &workers[i]) != 0)
            die("cannot create a thread");
    }
    struct run_result r = {0, 0};
    double first = 0, last = 0;
    for (unsigned i = 0; i < threads; i++) {
        thread_join(tids[i]);
        if (i == 0 || workers[i].t_start < first)
            first = workers[i].t_start;
        if (i == 0 || workers[i].t_end > last)
            last = workers[i].t_end;
        r.checksum += workers[i].checksum;
    }
    r.seconds = last - first;
    pthread_barrier_destroy(&start);
    free(workers);
    return r;
}

/* Best (shortest) of opts->runs; every run must give the same checksum. */
static void run_config(const struct options *opts, enum workload wl,
                       unsigned threads)
{
    uint64_t pairs = wl == WL_BATCH ? batch_pairs(opts->pairs) : opts->pairs;
    struct run_result best = run_once(wl, threads, pairs);
    for (int i = 1; i < opts->runs; i++) {
        struct run_result r = run_once(wl, threads, pairs);
        if (r.checksum != best.checksum)
            die("checksum differs between runs");
        if (r.seconds < best.seconds)
            best.seconds = r.seconds;
    }
    if (best.seconds < 1e-9) /* only with absurdly small -n */
        best.seconds = 1e-9;
    double mops = (double)pairs * threads / best.seconds / 1e6;
    printf("RESULT alloc=%s workload=%s threads=%u pairs=%" PRIu64
           " seconds=%.4f mops=%.2f checksum=%" PRIu64 "\n",
           ALLOC_NAME, workload_names[wl], threads, pairs, best.seconds, mops,
           best.checksum);
    fflush(stdout);
}

/* ---- Options ------------------------------------------------------------- */

static void usage(void)
{
    fprintf(
        stderr,
        "usage: alloc-%s [-n pairs per thread] [-r runs] [-w batch|ring|all]"
        " [-t thread counts, e.g. 1,2]\n",
        ALLOC_NAME);
    exit(2);
}

static uint64_t parse_u64(const char *s, uint64_t min, uint64_t max)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min ||
        v > max)
        usage();
    return v;
}

static void parse_workloads(struct options *opts, const char *s)
{
    int all = strcmp(s, "all") == 0, found = all;
    for (int i = 0; i < WL_COUNT; i++) {
        opts->workloads[i] = all || strcmp(s, workload_names[i]) == 0;
        found |= opts->workloads[i];
    }
    if (!found)
        usage();
}

static void parse_thread_counts(struct options *opts, const char *s)
{
    char buf[128];
    if (strlen(s) >= sizeof buf)
        usage();
    strcpy(buf, s);
    opts->n_thread_counts = 0;
    for (char *save, *tok = strtok_r(buf, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        if (opts->n_thread_counts == MAX_THREAD_COUNTS)
            usage();
        opts->thread_counts[opts->n_thread_counts++] =
            (unsigned)parse_u64(tok, 1, MAX_THREADS);
    }
    if (opts->n_thread_counts == 0)
        usage();
}

static struct options parse_options(int argc, char **argv)
{
    struct options opts = {.pairs = DEFAULT_PAIRS,
                           .runs = DEFAULT_RUNS,
                           .workloads = {1, 1},
                           .thread_counts = {1, 2},
                           .n_thread_counts = 2};
    int c;
    while ((c = getopt(argc, argv, "n:r:w:t:h")) != -1) {
        switch (c) {
        case 'n':
            opts.pairs = parse_u64(optarg, 1, UINT64_MAX / MAX_THREADS);
            break;
        case 'r':
            opts.runs = (int)parse_u64(optarg, 1, 1000);
            break;
        case 'w':
            parse_workloads(&opts, optarg);
            break;
        case 't':
            parse_thread_counts(&opts, optarg);
            break;
        default:
            usage();
        }
    }
    if (optind != argc)
        usage();
    return opts;
}

int main(int argc, char **argv)
{
    struct options opts = parse_options(argc, argv);
    alloc_init();
    printf("# alloc=%s: %s; all four variants (gc_alloc, GC_MALLOC, calloc,"
           " mi_zalloc) return zeroed memory\n",
           ALLOC_NAME, ALLOC_ZEROING);
    printf("# %" PRIu64
           " alloc+free pairs per thread, sizes %d..%d B, best of %d runs\n",
           opts.pairs, MIN_SIZE, MAX_SIZE, opts.runs);
    for (int wl = 0; wl < WL_COUNT; wl++) {
        if (!opts.workloads[wl])
            continue;
        for (unsigned i = 0; i < opts.n_thread_counts; i++)
            run_config(&opts, (enum workload)wl, opts.thread_counts[i]);
    }
    return 0;
}
