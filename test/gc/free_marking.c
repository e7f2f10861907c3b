/*
 * free_marking: gc_free while a concurrent cycle marks.
 *
 * Freeing an object deletes its edges, so while a cycle marks, gc_free
 * shades the object's words before it zeroes them (design.md, "The hybrid
 * write barrier"); and the object may be grey already, queued for a
 * marker that scans it after the free.
 *
 * In concurrent mode a second thread runs cycles back to back
 * (gc_collect in a loop).  The main thread, over and over, takes a
 * parent's children into an array on its stack, unlinks the parent from
 * its root slot and gc_frees it, allocates garbage, and HOLD parents
 * later checks the children it held (payload checksums, still live) and
 * links them into a new parent.  A child held only on the stack since
 * after the mark-start scan is reachable in the cycle's snapshot only
 * through its freed parent: if the free did not shade it, it is swept,
 * its slot is reused by the garbage, and its checksum shows it.  One
 * parent in 16 is a 32 KiB object (the largest small size class) and one
 * in 16 a 36 KiB large object, their children in their last words, so
 * their scans (in 4 KiB chunks) are often unfinished when they are freed.
 * Natively a large object is not zeroed when freed, so a grey one's scan
 * still finds the children; under memcheck (the memcheck group of make
 * test), where the marker drops the items of freed objects (mark.c), the
 * large free's shading is what keeps them.  There the scan of a grey
 * object freed before its turn must not read the freed bytes either.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "../check.h"
#include "gc_util.h"

#define NPARENT 1024
#define KIDS 4
#define HOLD 64 /* parents' worth of children held on the stack */
#define KIDWORDS 6
#define SMALL_32K 4096 /* words: the largest small size class */
#define LARGE_36K 4608 /* words: a large object */

struct kid {
    uint64_t id;
    uint64_t pay[KIDWORDS];
};

static void **parents[NPARENT]; /* static data: roots */
static atomic_int stop_now;
static uint64_t next_id = 1;

static size_t parent_words(size_t i)
{
    return i % 16 == 7 ? SMALL_32K : i % 16 == 15 ? LARGE_36K : KIDS;
}

static struct kid *new_kid(void)
{
    struct kid *k = gc_alloc(sizeof *k);
    REQUIRE(k != NULL);
    k->id = next_id++;
    gct_fill(k->pay, KIDWORDS, k->id);
    return k;
}

/* Parent i with these children, in its last words. */
static void **new_parent(size_t i, struct kid *const *kids)
{
    size_t n = parent_words(i);
    void **p = gc_alloc(n * sizeof *p);
    REQUIRE(p != NULL);
    for (size_t k = 0; k < KIDS; k++)
        GC_STORE(p[n - KIDS + k], kids[k]);
    return p;
}

/* 1 if the child is freed or its payload is not its own. */
static int kid_bad(const struct kid *k)
{
    return gc_base(k) != k || gct_bad(k->pay, KIDWORDS, k->id) != 0;
}

static void *collector(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop_now))
        gc_collect();
    return NULL;
}

/* Garbage of the children's size, so their slots are reused at once. */
static GCT_NOINLINE void garbage(int n)
{
    for (int g = 0; g < n; g++) {
        uint64_t *x = gc_alloc(sizeof(struct kid));
        REQUIRE(x != NULL);
        memset(x, 0xA5, sizeof(struct kid));
    }
}

static GCT_NOINLINE long run(double seconds, long want_cycles, long *iters)
{
    struct kid *held[HOLD][KIDS];
    size_t from[HOLD];
    uint64_t rng = 42;
    long bad = 0, it = 0;
    gc_stats s0, s1;
    gc_get_stats(&s0);
    double t0 = gct_now();
    for (;; it++) {
        size_t h = (size_t)it % HOLD;
        if (it >= HOLD) { /* the children held HOLD parents ago */
            for (size_t k = 0; k < KIDS; k++)
                bad += kid_bad(held[h][k]);
            parents[from[h]] = new_parent(from[h], held[h]);
        }
        if (it % 256 == 0) {
            gc_get_stats(&s1);
            double t = gct_now() - t0;
            if ((t >= seconds &&
                 (long)(s1.num_gc - s0.num_gc) >= want_cycles) ||
                t > 60)
                break;
        }
        size_t i = gct_rand(&rng) % NPARENT;
        while (!parents[i]) /* HOLD of them are vacant */
            i = (i + 1) % NPARENT;
        void **p = parents[i];
        size_t n = parent_words(i);
        for (size_t k = 0; k < KIDS; k++)
            held[h][k] = p[n - KIDS + k];
        parents[i] = NULL;
        gc_free(p);
        from[h] = i;
        garbage(16);
    }
    /* What is still held (iteration `it` relinked its own slot before it
     * stopped): checked, and linked back. */
    for (long j = it - HOLD + 1; j < it; j++) {
        size_t h = (size_t)j % HOLD;
        for (size_t k = 0; k < KIDS; k++)
            bad += kid_bad(held[h][k]);
        parents[from[h]] = new_parent(from[h], held[h]);
    }
    *iters = it;
    return bad;
}

int main(void)
{
    gc_init();
    gc_set_concurrent(1);
    for (size_t i = 0; i < NPARENT; i++) {
        struct kid *kids[KIDS];
        for (size_t k = 0; k < KIDS; k++)
            kids[k] = new_kid();
        parents[i] = new_parent(i, kids);
    }
    gc_stats s0, s1;
    gc_get_stats(&s0);
    pthread_t t;
    REQUIRE(gc_pthread_create(&t, NULL, collector, NULL) == 0);
    long iters = 0;
    long want = GCT_LESS(20, 2);
    long bad = run(1.0, want, &iters);
    atomic_store(&stop_now, 1);
    gct_join(t, NULL);
    gc_get_stats(&s1);
    long cycles = (long)(s1.num_gc - s0.num_gc);
    printf("%ld cycles, %ld parents freed, %ld children lost or corrupted\n",
           cycles, iters, bad);
    CHECKF(cycles >= want, "%ld cycles of %ld in the time allowed", cycles,
           want);
    CHECKF(bad == 0, "%ld held children freed or corrupted", bad);

    /* Every parent and child once more, after a full collection. */
    gc_collect();
    long bad_after = 0;
    for (size_t i = 0; i < NPARENT; i++) {
        size_t n = parent_words(i);
        for (size_t k = 0; k < KIDS; k++)
            bad_after += kid_bad(parents[i][n - KIDS + k]);
    }
    CHECKF(bad_after == 0, "%ld children bad at the end", bad_after);
    CHECK(s1.concurrent == 1);
    return check_done();
}
