/*
 * release.c -- gc_release_memory: after a large drop it returns the free
 * pages to the OS (heap_released grows, RSS falls), live objects survive
 * it intact, and memory handed out again from released pages is zero.
 */
#include "../check.h"
#include "../../gcheap.h"
#include "gc_util.h"

#include <unistd.h>

enum { BIG = 2000, BIG_BYTES = 64 << 10, LIVE = 1000 };

static void *big[BIG]; /* .bss: a root until cleared */
static uint64_t *live[LIVE];

static size_t rss_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

int main(void)
{
    gc_init();
    for (int i = 0; i < LIVE; i++) {
        live[i] = gc_alloc(256);
        REQUIRE(live[i] != NULL);
        for (int k = 0; k < 32; k++)
            live[i][k] = (uint64_t)i * 1000 + (uint64_t)k;
    }
    for (int i = 0; i < BIG; i++) { /* 125 MiB, every page touched */
        big[i] = gc_alloc(BIG_BYTES);
        REQUIRE(big[i] != NULL);
        memset(big[i], 0xab, BIG_BYTES);
    }
    size_t rss_full = rss_bytes();
    memset(big, 0, sizeof big);
    gct_clear_stack();
    gc_stats before, after;
    gc_get_stats(&before);
    gc_release_memory();
    gc_get_stats(&after);
    size_t rss_after = rss_bytes();
    printf("rss %zu -> %zu MiB, heap_released %llu -> %llu MiB\n",
           rss_full >> 20, rss_after >> 20,
           (unsigned long long)before.heap_released >> 20,
           (unsigned long long)after.heap_released >> 20);
    CHECKF(after.heap_released >= before.heap_released + (100u << 20),
           "heap_released grew by less than 100 MiB");
    CHECKF(rss_after + (100u << 20) <= rss_full, "RSS fell by under 100 MiB");
    CHECK(after.heap_released <= after.heap_sys);

    /* Small garbage of one class: the sweeps keep some of its empty spans
     * listed for reuse; gc_release_memory must return those too, leaving
     * little more than the live objects held from the OS. */
    gct_churn(64u << 20, 0, 5);
    gct_clear_stack();
    gc_release_memory();
    gc_get_stats(&after);
    uint64_t held = after.heap_sys - after.heap_released;
    printf("after small garbage: %.2f MiB held\n", held / 1048576.0);
    CHECKF(held <= (uint64_t)LIVE * 256 + (2u << 20),
           "%llu bytes still held from the OS, %d live objects of 256 B",
           (unsigned long long)held, LIVE);
    int bad = 0;
    for (int i = 0; i < LIVE; i++)
        for (int k = 0; k < 32; k++)
            bad += live[i][k] != (uint64_t)i * 1000 + (uint64_t)k;
    CHECKF(bad == 0, "%d live words changed", bad);
    int dirty = 0; /* reused released pages must read zero */
    for (int i = 0; i < BIG; i++) {
        unsigned char *p = gc_alloc(BIG_BYTES);
        REQUIRE(p != NULL);
        for (size_t k = 0; k < BIG_BYTES; k += 512)
            dirty += p[k] != 0;
        big[i] = p;
    }
    CHECKF(dirty == 0, "%d nonzero bytes in reused memory", dirty);
    return check_done();
}
