/*
 * scavenge.c -- the scavenger returns free pages to the OS on its own:
 * after 256 MiB of live data is dropped and collected, RSS falls within
 * seconds without gc_release_memory, heap_released grows to match, and
 * the released memory is handed out again zeroed.
 */
#include "../check.h"
#include "../../gcheap.h"
#include "gc_util.h"

#define BLOCK ((size_t)64 << 10)
#define NBLOCKS 4096 /* 256 MiB */

static unsigned char **blocks;

GCT_NOINLINE static void fill(void)
{
    for (size_t i = 0; i < NBLOCKS; i++) {
        blocks[i] = gc_alloc_atomic(BLOCK);
        REQUIRE(blocks[i] != NULL);
        memset(blocks[i], (int)(i | 1), BLOCK);
    }
}

GCT_NOINLINE static void drop(void)
{
    for (size_t i = 0; i < NBLOCKS; i++)
        blocks[i] = NULL;
}

int main(void)
{
    gc_init();
    blocks = gc_alloc_uncollectable(NBLOCKS * sizeof *blocks);
    REQUIRE(blocks != NULL);
    gc_collect();
    uint64_t rss0 = gct_rss();
    fill();
    uint64_t rss1 = gct_rss();
    if (!GCT_SANITIZER)
        CHECKF(rss1 > rss0 + (200u << 20), "rss %llu -> %llu",
               (unsigned long long)rss0, (unsigned long long)rss1);
    drop();
    gct_collect_clean(2);
    gc_stats st;
    gc_get_stats(&st);
    uint64_t released0 = st.heap_released;

    /* The scavenger works at about 1% of a CPU; allow 60 s. */
    double t0 = gct_now(), t = t0;
    uint64_t rss = gct_rss();
    while (t - t0 < 60) {
        gc_get_stats(&st);
        rss = gct_rss();
        if (st.heap_released >= released0 + (200u << 20) &&
            (GCT_SANITIZER || rss < rss0 + (64u << 20)))
            break;
        gct_sleep_ms(20);
        t = gct_now();
    }
    printf("released %.0f MiB in %.2f s, rss %.0f -> %.0f MiB\n",
           (st.heap_released - released0) / 1048576.0, t - t0, rss1 / 1048576.0,
           rss / 1048576.0);
    CHECKF(st.heap_released >= released0 + (200u << 20),
           "heap_released grew by %llu",
           (unsigned long long)(st.heap_released - released0));
    if (!GCT_SANITIZER)
        CHECKF(rss < rss0 + (64u << 20), "rss %llu, at the start %llu",
               (unsigned long long)rss, (unsigned long long)rss0);
    CHECK(st.heap_released <= st.heap_sys);

    /* Released pages come back zeroed. */
    size_t dirty = 0;
    for (size_t i = 0; i < 1024; i++) {
        unsigned char *p = gc_alloc_atomic(BLOCK);
        REQUIRE(p != NULL);
        for (size_t j = 0; j < BLOCK; j += 512)
            dirty += p[j] != 0;
        blocks[i] = p;
    }
    CHECK(dirty == 0);
    return check_done();
}
