/*
 * mt_alloc.c -- multi-threaded allocator stress (no collector).
 *
 * 4 threads each keep a table of live objects of random sizes (8 B .. 64
 * KiB, weighted to small, a few larger ones up to 512 KiB) made by all the
 * allocating calls (gc_alloc, gc_alloc_atomic, gc_alloc_uncollectable,
 * gc_calloc, gc_realloc, gc_strdup).  Every object carries a pattern derived
 * from its own seed; the pattern is verified, with gc_base and gc_size,
 * before every free or realloc, and every new object is checked to be
 * zeroed.  Objects also change threads: a mutex-protected exchange array
 * lets a thread hand an object over and another take it, verify it, and
 * own (and eventually free) it.  Now and then a thread makes a burst:
 * thousands of objects of one small size, most freed at once, the rest
 * only at its next burst, so that spans go full -> partial -> central ->
 * another thread's cache while their objects are still being freed; every
 * other quarter second all threads make only bursts, all in the same size
 * class.  Any report to the error handler is a failure.  At the end everything
 * is verified and freed and the live-object count is back where it started.
 *
 * Usage: mt_alloc [seed [seconds]]; the seed is printed ("seed=N") and each
 * thread's sequence of random choices follows from it (the interleaving of
 * threads and the phase switches by time do not).  Default run: 2 s.
 */
#include "../check.h"
#include "../../gcheap.h"
#include "../wait.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { THREADS = 4, TABLE = 1024, EXCHANGE = 64, BURST = 2048 };

struct obj {
    unsigned char *p;
    size_t size;   /* bytes carrying the pattern */
    uint64_t seed; /* of the pattern */
};

static struct obj exchange[EXCHANGE];
static pthread_mutex_t exchange_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int failures;
static atomic_int stop;
static uint64_t run_seed;
static double run_seconds = 2.0;
static double start_time;

static void fail(const char *what, const struct obj *o)
{
    if (atomic_fetch_add(&failures, 1) < 20)
        fprintf(stderr, "FAIL: %s (object %p, size %zu, seed %llu)\n", what,
                o ? (void *)o->p : NULL, o ? o->size : 0,
                o ? (unsigned long long)o->seed : 0ull);
}

static uint64_t mix(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static uint64_t next(uint64_t *state)
{
    *state += 0x9E3779B97F4A7C15ull;
    return mix(*state);
}

/* Pattern byte i of an object, from one mixed word per 8 bytes; never
 * zero, so zeroing shows up. */
static unsigned char pattern_byte(uint64_t word, size_t i)
{
    unsigned char b = (unsigned char)(word >> (8 * (i & 7)));
    return b ? b : 0x5A;
}

static void fill(unsigned char *p, size_t from, size_t to, uint64_t seed)
{
    uint64_t w = mix(seed + (from >> 3));
    for (size_t i = from; i < to; i++) {
        if ((i & 7) == 0)
            w = mix(seed + (i >> 3));
        p[i] = pattern_byte(w, i);
    }
}

/* Offset of the first byte in [0, n) not carrying the pattern, or n. */
static size_t mismatch(const unsigned char *p, size_t n, uint64_t seed)
{
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if ((i & 7) == 0)
            w = mix(seed + (i >> 3));
        if (p[i] != pattern_byte(w, i))
            return i;
    }
    return n;
}

static int verify(const struct obj *o)
{
    if (gc_base(o->p) != o->p) {
        fail("gc_base(start) is not the start", o);
        return 0;
    }
    if (o->size && gc_base(o->p + o->size - 1) != o->p) {
        fail("gc_base(last byte) is not the start", o);
        return 0;
    }
    if (gc_size(o->p) < o->size) {
        fail("gc_size smaller than the object", o);
        return 0;
    }
    if (mismatch(o->p, o->size, o->seed) != o->size) {
        fail("pattern overwritten", o);
        return 0;
    }
    return 1;
}

static int zeroed(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static size_t random_size(uint64_t *rng)
{
    uint64_t r = next(rng);
    unsigned pick = (unsigned)(r % 1000);
    r >>= 10;
    if (pick < 600)
        return 8 + (size_t)(r % 121); /* 8..128 */
    if (pick < 850)
        return 129 + (size_t)(r % 1920); /* ..2 KiB */
    if (pick < 960)
        return 2049 + (size_t)(r % 14336); /* ..16 KiB */
    if (pick < 995)
        return 16385 + (size_t)(r % 49152); /* ..64 KiB */
    return 65537 + (size_t)(r % 458752);    /* ..512 KiB */
}

static char strbuf[THREADS][65536 + 1];

/* A new object of about the given size from a random allocating call. */
static struct obj make(int t, uint64_t *rng)
{
    struct obj o;
    o.size = random_size(rng);
    o.seed = next(rng);
    unsigned how = (unsigned)(next(rng) % 16);
    switch (how) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
        o.p = gc_alloc(o.size);
        break;
    case 6:
    case 7:
    case 8:
    case 9:
        o.p = gc_alloc_atomic(o.size);
        break;
    case 10:
        o.p = gc_alloc_uncollectable(o.size);
        break;
    case 11:
    case 12:
        o.p = gc_calloc(o.size / 8 + 1, 8);
        o.size = (o.size / 8 + 1) * 8;
        break;
    case 13:
        o.p = gc_realloc(NULL, o.size);
        break;
    default: { /* a string of size-1 non-zero chars */
        if (o.size > sizeof strbuf[t])
            o.size = sizeof strbuf[t];
        fill((unsigned char *)strbuf[t], 0, o.size - 1, o.seed);
        strbuf[t][o.size - 1] = 0;
        o.p = (unsigned char *)gc_strdup(strbuf[t]);
        if (o.p) {
            if (memcmp(o.p, strbuf[t], o.size) != 0)
                fail("gc_strdup copy differs", &o);
            /* the pattern goes over the NUL too */
            fill(o.p, o.size - 1, o.size, o.seed);
        }
        return o;
    }
    }
    if (!o.p) {
        fail("allocation returned NULL", &o);
        return o;
    }
    if ((uintptr_t)o.p % (o.size >= 16 ? 16 : 8))
        fail("misaligned", &o);
    if (!zeroed(o.p, o.size))
        fail("new object not zeroed", &o);
    fill(o.p, 0, o.size, o.seed);
    return o;
}

/* Grows or shrinks o with gc_realloc; the kept prefix must survive and
 * the grown part must be zero. */
static void resize(struct obj *o, uint64_t *rng)
{
    size_t nsize = random_size(rng);
    unsigned char *q = gc_realloc(o->p, nsize);
    if (!q) {
        fail("gc_realloc returned NULL", o);
        return;
    }
    size_t keep = nsize < o->size ? nsize : o->size;
    struct obj kept = {q, keep, o->seed};
    verify(&kept);
    if (nsize > o->size && !zeroed(q + o->size, nsize - o->size))
        fail("gc_realloc: grown part not zero", o);
    o->p = q;
    fill(q, keep, nsize, o->seed);
    o->size = nsize;
}

struct thread_state {
    int t;
    uint64_t rng;
    struct obj table[TABLE];
    struct obj burst[BURST]; /* survivors of the last burst */
    long ops, frees, handed, taken, bursts;
};
static struct thread_state states[THREADS];

static void release(struct obj *o)
{
    if (!o->p)
        return;
    verify(o);
    gc_free(o->p);
    o->p = NULL;
}

static void swap_with_exchange(struct thread_state *s, struct obj *o)
{
    int slot = (int)(next(&s->rng) % EXCHANGE);
    gct_lock(&exchange_lock);
    struct obj theirs = exchange[slot];
    exchange[slot] = *o;
    pthread_mutex_unlock(&exchange_lock);
    if (o->p)
        s->handed++;
    if (theirs.p) { /* now ours: it must be intact */
        verify(&theirs);
        s->taken++;
    }
    *o = theirs;
}

/* A burst: the survivors of the last burst are freed (their spans have
 * usually gone to the central lists and on to other threads' caches by now,
 * so these are frees into spans other threads allocate from); then BURST
 * objects of one size fill whole spans, and 6 of 7 are freed again at once,
 * leaving partial spans for the central lists.  To keep bursts fast (many
 * spans changing hands per second is the point) only the first 32 bytes of
 * a burst object carry its pattern. */
static void make_burst(struct thread_state *s, size_t size, int atomic)
{
    for (int i = 0; i < BURST; i++)
        release(&s->burst[i]);
    size_t stamped = size < 32 ? size : 32;
    for (int i = 0; i < BURST; i++) {
        struct obj *o = &s->burst[i];
        o->size = stamped;
        o->seed = next(&s->rng);
        o->p = atomic ? gc_alloc_atomic(size) : gc_alloc(size);
        if (!o->p) {
            fail("allocation returned NULL", o);
            continue;
        }
        if (!zeroed(o->p, stamped) || !zeroed(o->p + size - 8, 8))
            fail("new object not zeroed", o);
        fill(o->p, 0, stamped, o->seed);
    }
    for (int i = 0; i < BURST; i++)
        if (i % 7)
            release(&s->burst[i]);
    s->bursts++;
}

static void on_error(const char *message)
{
    if (atomic_fetch_add(&failures, 1) < 20)
        fprintf(stderr, "FAIL: error report: %s\n", message);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *worker(void *arg)
{
    struct thread_state *s = arg;
    s->rng = mix(run_seed + (uint64_t)s->t * 0x1234567ull);
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        /* every other quarter second all threads make bursts in the same
         * size class, so that they fight over its central lists */
        long phase = (long)((now() - start_time) / 0.25);
        if (phase % 2) {
            static const size_t sizes[] = {64, 256, 48, 512};
            make_burst(s, sizes[phase / 2 % 4], phase / 2 % 8 >= 4);
            continue;
        }
        for (int k = 0; k < 64; k++) {
            struct obj *o = &s->table[next(&s->rng) % TABLE];
            unsigned op = (unsigned)(next(&s->rng) % 100);
            s->ops++;
            if (!o->p) {
                *o = make(s->t, &s->rng);
            } else if (op < 55) {
                release(o);
                s->frees++;
            } else if (op < 70) {
                verify(o);
                resize(o, &s->rng);
            } else if (op < 80) {
                swap_with_exchange(s, o);
            } else if (next(&s->rng) % 256 == 0) {
                make_burst(s, 16 + (size_t)(next(&s->rng) % 64) * 16,
                           (int)(next(&s->rng) & 1));
            } else {
                verify(o);
            }
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    run_seed = argc > 1 ? strtoull(argv[1], NULL, 0)
                        : (uint64_t)time(NULL) ^ ((uint64_t)clock() << 20);
    if (argc > 2)
        run_seconds = atof(argv[2]);
    printf("seed=%llu seconds=%.1f\n", (unsigned long long)run_seed,
           run_seconds);
    fflush(stdout);
    alarm((unsigned)run_seconds + 60); /* a hang fails (SIGALRM) */

    gc_set_error_handler(on_error); /* no misuse here: any report fails */
    gc_stats a, b;
    gc_get_stats(&a);
    start_time = now();
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++) {
        states[t].t = t;
        int rc = pthread_create(&th[t], NULL, worker, &states[t]);
        REQUIRE(rc == 0); /* REQUIRE evaluates its argument twice */
    }
    double deadline = start_time + run_seconds;
    while (now() < deadline) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    atomic_store(&stop, 1);
    for (int t = 0; t < THREADS; t++)
        gct_join(th[t], NULL);

    long ops = 0, frees = 0, handed = 0, taken = 0, bursts = 0;
    for (int t = 0; t < THREADS; t++) {
        ops += states[t].ops;
        frees += states[t].frees;
        handed += states[t].handed;
        taken += states[t].taken;
        for (int i = 0; i < TABLE; i++)
            release(&states[t].table[i]);
        for (int i = 0; i < BURST; i++)
            release(&states[t].burst[i]);
        bursts += states[t].bursts;
    }
    for (int i = 0; i < EXCHANGE; i++)
        release(&exchange[i]);
    printf("ops=%ld frees=%ld handed over=%ld taken over=%ld bursts=%ld\n", ops,
           frees, handed, taken, bursts);

    gc_get_stats(&b);
    CHECKF(b.heap_objects == a.heap_objects,
           "heap_objects %llu at the end, %llu at the start",
           (unsigned long long)b.heap_objects,
           (unsigned long long)a.heap_objects);
    CHECKF(b.heap_alloc == a.heap_alloc,
           "heap_alloc %llu at the end, %llu at the start",
           (unsigned long long)b.heap_alloc, (unsigned long long)a.heap_alloc);
    CHECK(taken > 0);
    int f = atomic_load(&failures);
    CHECKF(f == 0, "%d failures in the threads (seed=%llu)", f,
           (unsigned long long)run_seed);
    return check_done();
}
