/*
 * uncollectable.c -- black-box test of gc_alloc_uncollectable (API.md,
 * "Allocation"), without a collector: zeroed and aligned objects of sizes
 * 1 .. 1 MiB that keep their contents among other allocations and frees,
 * with the right gc_base/gc_size, counted in the stats, resizable with
 * gc_realloc, freed with gc_free (after which they are gone and their
 * memory can be handed out again, zeroed).
 */
#include "../check.h"
#include "../../gcheap.h"

#include <stdint.h>
#include <string.h>

static int error_reports;

static void on_error(const char *message)
{
    error_reports++;
    fprintf(stderr, "unexpected error report: %s\n", message);
}

static unsigned char pattern(unsigned seed, size_t i)
{
    return (unsigned char)((seed * 2654435761u + (unsigned)i * 40503u) >> 11);
}

static int intact(const unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != pattern(seed, i))
            return 0;
    return 1;
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = pattern(seed, i);
}

static int is_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

enum { N = 300 };
static unsigned char *u[N];
static size_t usize[N];

static size_t size_of(int i)
{
    if (i % 50 == 49)
        return 40000 + (size_t)i * 1000; /* large */
    return 1 + (size_t)(i * 37) % 3000;
}

int main(void)
{
    gc_set_error_handler(on_error);
    gc_stats a, b;
    gc_get_stats(&a);

    for (int i = 0; i < N; i++) {
        usize[i] = size_of(i);
        u[i] = gc_alloc_uncollectable(usize[i]);
        REQUIRE(u[i] != NULL);
        CHECKF((uintptr_t)u[i] % (usize[i] >= 16 ? 16 : 8) == 0,
               "uncollectable(%zu) misaligned", usize[i]);
        CHECKF(is_zero(u[i], usize[i]), "uncollectable(%zu) not zeroed",
               usize[i]);
        CHECK(gc_base(u[i]) == u[i]);
        CHECK(gc_base(u[i] + usize[i] - 1) == u[i]);
        CHECK(gc_size(u[i]) >= usize[i]);
        fill(u[i], usize[i], (unsigned)i);
        /* ordinary garbage in between */
        void *g = gc_alloc(usize[i]);
        REQUIRE(g != NULL);
        memset(g, 0xFF, usize[i]);
        gc_free(g);
    }
    gc_get_stats(&b);
    CHECKF(b.heap_objects - a.heap_objects == N,
           "heap_objects moved by %lld, want %d",
           (long long)(b.heap_objects - a.heap_objects), N);

    int bad = 0;
    for (int i = 0; i < N; i++)
        bad += !intact(u[i], usize[i], (unsigned)i);
    CHECKF(bad == 0, "%d of %d uncollectable objects changed", bad, N);

    /* resize some; contents follow */
    for (int i = 0; i < N; i += 3) {
        size_t nsize = usize[i] * 3 + 100;
        unsigned char *q = gc_realloc(u[i], nsize);
        REQUIRE(q != NULL);
        CHECKF(intact(q, usize[i], (unsigned)i),
               "gc_realloc lost the contents of uncollectable(%zu)", usize[i]);
        CHECKF(is_zero(q + usize[i], nsize - usize[i]),
               "gc_realloc: grown part of uncollectable(%zu) not zero",
               usize[i]);
        u[i] = q;
        usize[i] = nsize;
        fill(q, nsize, (unsigned)i);
    }

    /* free half; the rest are untouched; freed ones are gone */
    for (int i = 0; i < N; i += 2)
        gc_free(u[i]);
    for (int i = 0; i < N; i++) {
        if (i % 2 == 0)
            CHECK(gc_base(u[i]) == NULL);
        else
            bad += !intact(u[i], usize[i], (unsigned)i);
    }
    CHECKF(bad == 0, "%d uncollectable objects changed by freeing others", bad);

    /* freed memory comes back zeroed */
    for (int i = 0; i < N; i += 2) {
        u[i] = gc_alloc_uncollectable(usize[i]);
        REQUIRE(u[i] != NULL);
        CHECKF(is_zero(u[i], usize[i]), "reused uncollectable(%zu) not zeroed",
               usize[i]);
    }
    for (int i = 0; i < N; i++)
        gc_free(u[i]);

    gc_get_stats(&b);
    CHECKF(b.heap_objects == a.heap_objects,
           "heap_objects %llu at the end, %llu at the start",
           (unsigned long long)b.heap_objects,
           (unsigned long long)a.heap_objects);
    CHECKF(error_reports == 0, "%d error reports", error_reports);
    return check_done();
}
