/*
 * memlimit.c -- the soft memory limit (gc_set_memory_limit).
 *
 * 1. The API: a negative argument queries, the default is INT64_MAX, the
 *    previous limit is returned.
 * 2. With automatic GOGC cycles off (percent -1), a 96 MiB limit alone
 *    runs cycles: 1 GiB of garbage around a checksummed 8 MiB live list
 *    keeps the heap's memory from the OS (heap_sys - heap_released) under
 *    the limit plus 10%; without the limit nothing would be collected.
 * 3. A limit far below the live heap (4 MiB against 24 MiB live) does not
 *    make the collector thrash: once the collector has used more than half
 *    the CPU for about a second, the CPU limiter sets the limit aside, and
 *    768 MiB of garbage take far fewer cycles than the one per MiB that
 *    the limit alone would start.
 * 4. Another thread changing the limit and percent in a loop while cycles
 *    run deadlocks nothing.
 */
#include "../check.h"
#include "../../gcheap.h"
#include "gc_util.h"

#include <pthread.h>
#include <stdint.h>

static gc_stats stats(void)
{
    gc_stats st;
    gc_get_stats(&st);
    return st;
}

static struct gct_node *live;

/* `total` bytes of 64-byte garbage; returns the peak of heap_sys -
 * heap_released seen every MiB. */
GCT_NOINLINE static uint64_t garbage(size_t total)
{
    uint64_t peak = 0;
    void *chain = NULL;
    for (size_t done = 0; done < total; done += 64) {
        void **p = gc_alloc(64);
        if (p == NULL) {
            CHECK(p != NULL);
            break;
        }
        p[0] = (done & 1023) ? chain : NULL;
        chain = p;
        if ((done & ((1u << 20) - 1)) == 0) {
            gc_stats st = stats();
            uint64_t held = st.heap_sys - st.heap_released;
            if (held > peak)
                peak = held;
        }
    }
    __asm__ volatile("" : : "r"(chain) : "memory");
    return peak;
}

/* Changes the settings in a loop while cycles run (4.): the pacer's lock
 * is taken by the collector with the world stopped. */
static int stop_setter; /* __atomic */

static void *setter(void *arg)
{
    (void)arg;
    for (unsigned long i = 0; !__atomic_load_n(&stop_setter, __ATOMIC_RELAXED);
         i++) {
        gc_set_memory_limit(i & 1 ? 64 << 20 : INT64_MAX);
        gc_set_percent(i & 2 ? 50 : 100);
    }
    return NULL;
}

int main(void)
{
    gc_init();

    /* 1 */
    CHECK(gc_set_memory_limit(-1) == INT64_MAX);
    CHECK(gc_set_memory_limit(96 << 20) == INT64_MAX);
    CHECK(gc_set_memory_limit(-5) == 96 << 20);

    /* 2 */
    CHECK(gc_set_percent(-1) == 100);
    live = gct_list(0, 8 << 20 >> 5, NULL); /* 32-byte nodes */
    uint64_t gc0 = stats().num_gc;
    uint64_t peak = garbage(GCT_LESS((size_t)1 << 30, 2));
    uint64_t cycles = stats().num_gc - gc0;
    printf("limit 96 MiB, percent off: %llu cycles, peak held %.1f MiB\n",
           (unsigned long long)cycles, peak / 1048576.0);
    CHECK(cycles >= 3);
    CHECKF(peak <= (96u << 20) + (96u << 20) / 10, "peak held %llu bytes",
           (unsigned long long)peak);
    CHECK(gct_list_bad(live, 0, 8 << 20 >> 5) == 0);

    /* 3 */
    gc_set_percent(100);
    gc_set_memory_limit(4 << 20);
    struct gct_node *more = gct_list(1 << 20, 16 << 20 >> 5, NULL);
    gc0 = stats().num_gc;
    size_t total = GCT_LESS((size_t)768 << 20, 4);
    garbage(total);
    cycles = stats().num_gc - gc0;
    gc_stats st = stats();
    printf("limit 4 MiB, 24 MiB live: %llu cycles for %zu MiB, "
           "gc cpu %.2f\n",
           (unsigned long long)cycles, total >> 20, st.gc_cpu_fraction);
    CHECKF(cycles < (total >> 20) / 2,
           "%llu cycles for %zu MiB: the limiter did not engage",
           (unsigned long long)cycles, total >> 20);
    CHECK(gct_list_bad(live, 0, 8 << 20 >> 5) == 0);
    CHECK(gct_list_bad(more, 1 << 20, 16 << 20 >> 5) == 0);

    /* 4 */
    pthread_t t;
    REQUIRE(gc_pthread_create(&t, NULL, setter, NULL) == 0);
    gc0 = stats().num_gc;
    garbage(GCT_LESS((size_t)256 << 20, 4));
    __atomic_store_n(&stop_setter, 1, __ATOMIC_RELAXED);
    CHECK(gct_join(t, NULL) == 0);
    CHECK(stats().num_gc > gc0);
    CHECK(gct_list_bad(live, 0, 8 << 20 >> 5) == 0);
    return check_done();
}
