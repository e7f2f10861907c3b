/*
 * threads.c -- black-box test of the allocator under threads (API.md,
 * "Threads": any gc_ call registers the calling thread; exiting unregisters
 * it), without a collector:
 *  1. 8 threads allocate, fill with a checksummed pattern, verify and free
 *     at the same time; each also frees a batch of objects that the main
 *     thread allocated for it; nothing overlaps, everything is zeroed.
 *  2. 200 short-lived threads (4 at a time) each allocate and free a few MiB
 *     over every size class, both kinds, and some large objects, then exit:
 *     heap_sys stays bounded, i.e. exiting threads hand their cached memory
 *     back and later threads reuse it.
 *  3. After the threads are joined, the stats add up exactly.
 */
#include "../check.h"
#include "../../gcheap.h"
#include "../wait.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

typedef unsigned long long ull;

static atomic_int failures; /* checks that failed inside threads */
static atomic_llong allocations;

static void fail(const char *what, size_t size)
{
    atomic_fetch_add(&failures, 1);
    fprintf(stderr, "thread check failed: %s (size %zu)\n", what, size);
}

static uint64_t mix(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* The first and last 16 bytes (or all of a smaller object) carry the
 * pattern; enough to catch overlap without touching every byte. */
static void stamp(unsigned char *p, size_t size, uint64_t seed)
{
    size_t n = size < 32 ? size : 16;
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)mix(seed + i);
    for (size_t i = size - n; i < size; i++)
        p[i] = (unsigned char)mix(seed + i);
}

static int stamped(const unsigned char *p, size_t size, uint64_t seed)
{
    size_t n = size < 32 ? size : 16;
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)mix(seed + i))
            return 0;
    for (size_t i = size - n; i < size; i++)
        if (p[i] != (unsigned char)mix(seed + i))
            return 0;
    return 1;
}

static int zero_ends(const unsigned char *p, size_t size)
{
    size_t n = size < 32 ? size : 16;
    for (size_t i = 0; i < n; i++)
        if (p[i] || p[size - 1 - i])
            return 0;
    return 1;
}

static unsigned char *alloc_checked(size_t size, int atomic, uint64_t seed)
{
    unsigned char *p = atomic ? gc_alloc_atomic(size) : gc_alloc(size);
    atomic_fetch_add(&allocations, 1);
    if (!p) {
        fail("allocation returned NULL", size);
        return NULL;
    }
    if (!zero_ends(p, size))
        fail("not zeroed", size);
    if ((uintptr_t)p % (size >= 16 ? 16 : 8))
        fail("misaligned", size);
    stamp(p, size, seed);
    return p;
}

static void free_checked(unsigned char *p, size_t size, uint64_t seed)
{
    if (!p)
        return;
    if (!stamped(p, size, seed))
        fail("pattern overwritten before free", size);
    if (gc_base(p + size / 2) != p)
        fail("gc_base of the middle", size);
    gc_free(p);
}

/* ---- 1. concurrent churn ------------------------------------------------ */

enum { CHURN_THREADS = 8, CHURN_ITERS = 3000, RING = 64, HANDED = 100 };

struct handed {
    unsigned char *p[HANDED];
    size_t size[HANDED];
};
static struct handed handed[CHURN_THREADS];

static size_t churn_size(uint64_t r)
{
    if (r % 100 == 0)
        return 32769 + (size_t)(r >> 8) % 100000; /* large */
    if (r % 10 == 0)
        return 1 + (size_t)(r >> 8) % 8192;
    return 1 + (size_t)(r >> 8) % 512;
}

static void *churn(void *arg)
{
    int t = (int)(intptr_t)arg;
    unsigned char *ring[RING] = {0};
    size_t ring_size[RING] = {0};
    uint64_t ring_seed[RING] = {0};
    for (int i = 0; i < CHURN_ITERS; i++) {
        int slot = i % RING;
        free_checked(ring[slot], ring_size[slot], ring_seed[slot]);
        uint64_t seed = mix(((uint64_t)t << 32) + (uint64_t)i);
        ring_size[slot] = churn_size(seed);
        ring_seed[slot] = seed;
        ring[slot] =
            alloc_checked(ring_size[slot], (int)(seed >> 60) & 1, seed);
        if (i == CHURN_ITERS / 2) { /* free what main allocated for us */
            struct handed *h = &handed[(t + 1) % CHURN_THREADS];
            for (int k = 0; k < HANDED; k++)
                free_checked(h->p[k], h->size[k], 7777 + (uint64_t)k);
        }
    }
    for (int slot = 0; slot < RING; slot++)
        free_checked(ring[slot], ring_size[slot], ring_seed[slot]);
    return NULL;
}

static void run_churn(void)
{
    for (int t = 0; t < CHURN_THREADS; t++)
        for (int k = 0; k < HANDED; k++) {
            handed[t].size[k] = churn_size(mix((uint64_t)(t * HANDED + k)));
            handed[t].p[k] =
                alloc_checked(handed[t].size[k], k & 1, 7777 + (uint64_t)k);
        }
    pthread_t th[CHURN_THREADS];
    for (int t = 0; t < CHURN_THREADS; t++) {
        int rc = pthread_create(&th[t], NULL, churn, (void *)(intptr_t)t);
        REQUIRE(rc == 0); /* REQUIRE evaluates its argument twice */
    }
    for (int t = 0; t < CHURN_THREADS; t++)
        gct_join(th[t], NULL);
}

/* ---- 2. short-lived threads --------------------------------------------- */

enum { SHORT_THREADS = 200, AT_ONCE = 4, PER_SIZE_MAX = 64, LARGE = 4 };
enum { MAX_LIVE = 6000 };

static void *short_lived(void *arg)
{
    uint64_t t = (uint64_t)(intptr_t)arg;
    unsigned char *live[MAX_LIVE];
    size_t live_size[MAX_LIVE];
    int n = 0;
    /* every small size class (whatever they are exactly), both kinds */
    for (size_t s = 8; s <= 32768; s += s / 8 > 8 ? s / 8 : 8) {
        size_t count = 8192 / s;
        count = count < 1 ? 1 : count > PER_SIZE_MAX ? PER_SIZE_MAX : count;
        for (size_t k = 0; k < count && n < MAX_LIVE; k++) {
            live_size[n] = s;
            live[n] = alloc_checked(s, (int)(k & 1), t * 1000003 + (uint64_t)n);
            n++;
        }
    }
    for (int k = 0; k < LARGE && n < MAX_LIVE; k++) {
        live_size[n] = 300000 + (size_t)k * 70000;
        live[n] = alloc_checked(live_size[n], k & 1, t * 1000003 + (uint64_t)n);
        n++;
    }
    for (int i = 0; i < n; i++)
        free_checked(live[i], live_size[i], t * 1000003 + (uint64_t)i);
    return NULL;
}

static uint64_t heap_sys(void)
{
    gc_stats s;
    gc_get_stats(&s);
    return s.heap_sys;
}

static void run_short_lived(void)
{
    uint64_t baseline = 0;
    for (int batch = 0; batch < SHORT_THREADS / AT_ONCE; batch++) {
        pthread_t th[AT_ONCE];
        for (int k = 0; k < AT_ONCE; k++) {
            intptr_t t = batch * AT_ONCE + k;
            int rc = pthread_create(&th[k], NULL, short_lived, (void *)t);
            REQUIRE(rc == 0);
        }
        for (int k = 0; k < AT_ONCE; k++)
            gct_join(th[k], NULL);
        if (batch == 1)
            baseline = heap_sys();
    }
    uint64_t end = heap_sys();
    printf("heap_sys after 8 short-lived threads: %llu, after %d: %llu\n",
           (ull)baseline, SHORT_THREADS, (ull)end);
    CHECKF(end <= baseline + ((uint64_t)128 << 20),
           "heap_sys grew from %llu to %llu over %d short-lived threads: "
           "exited threads' memory is not reused",
           (ull)baseline, (ull)end, SHORT_THREADS - 2 * AT_ONCE);
}

int main(void)
{
    gc_stats a, b;
    gc_get_stats(&a);

    run_churn();
    gc_get_stats(&b);
    CHECKF(b.heap_objects == a.heap_objects,
           "after churn: heap_objects %llu, at start %llu", (ull)b.heap_objects,
           (ull)a.heap_objects);
    CHECKF(b.mallocs - a.mallocs == (uint64_t)atomic_load(&allocations),
           "after churn: mallocs moved by %llu, %lld allocations made",
           (ull)(b.mallocs - a.mallocs), (long long)atomic_load(&allocations));
    CHECKF(b.frees - a.frees == (uint64_t)atomic_load(&allocations),
           "after churn: frees moved by %llu, %lld objects freed",
           (ull)(b.frees - a.frees), (long long)atomic_load(&allocations));
    CHECKF(b.heap_alloc == a.heap_alloc,
           "after churn: heap_alloc %llu, at start %llu", (ull)b.heap_alloc,
           (ull)a.heap_alloc);

    atomic_store(&allocations, 0);
    gc_get_stats(&a);
    run_short_lived();
    gc_get_stats(&b);
    CHECKF(b.heap_objects == a.heap_objects,
           "after short-lived threads: heap_objects %llu, before %llu",
           (ull)b.heap_objects, (ull)a.heap_objects);
    CHECKF(b.mallocs - a.mallocs == (uint64_t)atomic_load(&allocations),
           "after short-lived threads: mallocs moved by %llu, want %lld",
           (ull)(b.mallocs - a.mallocs), (long long)atomic_load(&allocations));
    CHECKF(b.heap_alloc == a.heap_alloc,
           "after short-lived threads: heap_alloc %llu, before %llu",
           (ull)b.heap_alloc, (ull)a.heap_alloc);
    CHECKF(b.heap_sys >= b.heap_alloc, "heap_sys < heap_alloc");

    int f = atomic_load(&failures);
    CHECKF(f == 0, "%d checks failed inside threads", f);
    return check_done();
}
