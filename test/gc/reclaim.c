/*
 * reclaim.c -- garbage is reclaimed and its memory reused: a program that
 * allocates far more than it keeps runs in bounded memory (API.md,
 * "Collection and tuning": automatic cycles start when the pacer says so).
 *
 * 2 GiB of garbage in objects of 64 B to 8 KiB, never freed explicitly and
 * with no gc_collect() call, while a ring of about 10 MiB of checksummed
 * live objects (in a gc_alloc'ed array reachable from a local) has its
 * members replaced one at a time, each verified before it is dropped.
 * Every 64 MiB: heap_sys < 256 MiB and RSS (/proc/self/statm) < 300 MiB
 * (the RSS bound is skipped under sanitizers).  At the end, every ring
 * member is verified again and collections did run.
 */
#include "../check.h"
#include "../../gcheap.h"
#include "gc_util.h"

enum { RING = 2560 }; /* 2560 objects of ~4 KiB average: ~10 MiB */

#define TOTAL                                                                  \
    (GCT_TSAN ? (size_t)128 << 20 : (size_t)(GCT_SANITIZER ? 1 : 2) << 30)
#define HEAP_SYS_MAX ((uint64_t)256 << 20)
#define RSS_MAX ((uint64_t)300 << 20)

struct member {
    uint64_t id;
    uint64_t size;
    uint64_t pay[]; /* (size - 16) / 8 words */
};

static size_t member_size(uint64_t *s)
{
    return 64 + (size_t)(gct_rand(s) % (8192 - 64 + 1));
}

static struct member *new_member(uint64_t id, uint64_t *s)
{
    size_t size = member_size(s);
    struct member *m =
        (gct_rand(s) & 1) ? gc_alloc(size) : gc_alloc_atomic(size);
    REQUIRE(m != NULL);
    m->id = id;
    m->size = size;
    gct_fill(m->pay, (size - 16) / 8, id);
    return m;
}

static int member_ok(const struct member *m, uint64_t id)
{
    return m != NULL && gc_base(m) == m && m->id == id && m->size >= 64 &&
           m->size <= 8192 && gct_bad(m->pay, (m->size - 16) / 8, id) == 0;
}

int main(void)
{
    gc_init();
    gc_stats st0, st;
    gc_get_stats(&st0);
    uint64_t s = 12345;
    struct member **ring = gc_alloc(RING * sizeof *ring);
    uint64_t *ids = gc_alloc_atomic(RING * sizeof *ids);
    REQUIRE(ring != NULL && ids != NULL);
    uint64_t next_id = 1;
    for (int i = 0; i < RING; i++) {
        ids[i] = next_id++;
        ring[i] = new_member(ids[i], &s);
    }

    size_t done = 0, next_sample = 64u << 20;
    uint64_t max_sys = 0, max_rss = 0;
    long bad = 0, sys_over = 0, rss_over = 0;
    size_t slot = 0;
    double t0 = gct_now();
    while (done < TOTAL) {
        size_t size = member_size(&s);
        void *g = (gct_rand(&s) & 3) ? gc_alloc(size) : gc_alloc_atomic(size);
        REQUIRE(g != NULL);
        memset(g, 0x5A, size < 256 ? size : 256); /* touch it */
        ((char *)g)[size - 1] = 1;
        done += size;
        if ((gct_rand(&s) & 15) == 0) {
            /* replace one ring member, verifying the one dropped */
            if (!member_ok(ring[slot], ids[slot]) && bad++ < 5)
                fprintf(stderr,
                        "ring slot %zu (id %llu) corrupted after %zu MiB\n",
                        slot, (gct_ull)ids[slot], done >> 20);
            ids[slot] = next_id++;
            ring[slot] = new_member(ids[slot], &s);
            slot = (slot + 1) % RING;
        }
        if (done >= next_sample) {
            next_sample += 64u << 20;
            gc_get_stats(&st);
            uint64_t rss = gct_rss();
            if (st.heap_sys > max_sys)
                max_sys = st.heap_sys;
            if (rss > max_rss)
                max_rss = rss;
            if (st.heap_sys >= HEAP_SYS_MAX && sys_over++ < 3)
                fprintf(stderr, "after %zu MiB: heap_sys %llu MiB\n",
                        done >> 20, (gct_ull)(st.heap_sys >> 20));
            if (!GCT_SANITIZER && rss >= RSS_MAX && rss_over++ < 3)
                fprintf(stderr, "after %zu MiB: RSS %llu MiB\n", done >> 20,
                        (gct_ull)(rss >> 20));
        }
    }
    double t1 = gct_now();
    CHECKF(bad == 0, "%ld ring members corrupted", bad);
    CHECKF(sys_over == 0, "heap_sys reached %llu MiB (limit 256)",
           (gct_ull)(max_sys >> 20));
    CHECKF(rss_over == 0, "RSS reached %llu MiB (limit 300)",
           (gct_ull)(max_rss >> 20));

    long final_bad = 0;
    for (int i = 0; i < RING; i++)
        final_bad += !member_ok(ring[i], ids[i]);
    CHECKF(final_bad == 0, "%ld ring members corrupted at the end", final_bad);
    CHECK(gc_base(ring) == ring && gc_base(ids) == ids);

    gc_get_stats(&st);
    CHECKF(st.num_gc > st0.num_gc + TOTAL / (64u << 20),
           "only %llu automatic cycles for %zu MiB",
           (gct_ull)(st.num_gc - st0.num_gc), TOTAL >> 20);
    CHECK(st.num_forced_gc == st0.num_forced_gc);
    CHECKF(st.frees > st0.frees + TOTAL / 16384, "only %llu objects freed",
           (gct_ull)(st.frees - st0.frees));
    printf("%zu MiB in %.2fs: %llu cycles, max heap_sys %llu MiB, max RSS %llu "
           "MiB\n",
           TOTAL >> 20, t1 - t0, (gct_ull)(st.num_gc - st0.num_gc),
           (gct_ull)(max_sys >> 20), (gct_ull)(max_rss >> 20));
    __asm__ volatile("" : : "r"(ring), "r"(ids) : "memory");
    return check_done();
}
