/*
 * stats.c -- black-box test of gc_get_stats (API.md, "Statistics") around
 * single-threaded allocation and freeing: mallocs, frees and heap_objects
 * move by exactly the number of objects; heap_alloc and total_alloc by
 * exactly the sum of their usable sizes (gc_size); freeing moves frees,
 * heap_objects and heap_alloc back and leaves mallocs and total_alloc;
 * gc_realloc keeps heap_objects and moves heap_alloc by the change of
 * usable size; heap_sys > 0 and >= heap_alloc; heap_released <= heap_sys;
 * the settings fields show the defaults.
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

typedef unsigned long long ull;

#define CHECK_DELTA(field, a, b, want)                                         \
    CHECKF((b).field - (a).field == (uint64_t)(want),                          \
           "%s: " #field " moved by %lld, want %lld", what,                    \
           (long long)((b).field - (a).field), (long long)(want))

static void check_sane(const gc_stats *s, const char *what)
{
    CHECKF(s->heap_sys >= s->heap_alloc, "%s: heap_sys %llu < heap_alloc %llu",
           what, (ull)s->heap_sys, (ull)s->heap_alloc);
    CHECKF(s->heap_released <= s->heap_sys,
           "%s: heap_released %llu > heap_sys %llu", what,
           (ull)s->heap_released, (ull)s->heap_sys);
    CHECKF(s->mallocs - s->frees == s->heap_objects,
           "%s: mallocs %llu - frees %llu != heap_objects %llu", what,
           (ull)s->mallocs, (ull)s->frees, (ull)s->heap_objects);
    CHECKF(s->total_alloc >= s->heap_alloc,
           "%s: total_alloc %llu < heap_alloc %llu", what, (ull)s->total_alloc,
           (ull)s->heap_alloc);
}

enum { MAXOBJ = 256 };
static void *objs[MAXOBJ];
static size_t usable[MAXOBJ];

static const size_t sizes[] = {16,    17,    24,     32,      48,     100,
                               256,   1000,  4096,   8192,    20000,  32768,
                               32769, 40000, 100000, 1048576, 3000000};
enum { NSIZES = sizeof sizes / sizeof sizes[0] };

static char string[4096];

static void *alloc_kind(int kind, size_t size)
{
    switch (kind) {
    case 0:
        return gc_alloc(size);
    case 1:
        return gc_alloc_atomic(size);
    case 2:
        return gc_alloc_uncollectable(size);
    case 3:
        return gc_calloc(1, size);
    case 4:
        return gc_realloc(NULL, size);
    default: /* a string of size-1 chars: an object of size bytes */
        memset(string, 'x', sizeof string - 1);
        string[size - 1 < sizeof string - 1 ? size - 1 : sizeof string - 1] = 0;
        return gc_strdup(string);
    }
}

/* Allocates objs[from..] of the given sizes and kinds and checks the
 * deltas; returns how many were allocated. */
static int alloc_and_check(int from, const size_t *sz, int n, int kinds,
                           const char *what, int check_bytes)
{
    gc_stats a, b;
    gc_get_stats(&a);
    uint64_t bytes = 0;
    int k = from;
    for (int kind = 0; kind < kinds; kind++)
        for (int i = 0; i < n; i++) {
            if (kind == 5 && sz[i] > sizeof string)
                continue;
            objs[k] = alloc_kind(kind, sz[i]);
            REQUIRE(objs[k] != NULL);
            usable[k] = gc_size(objs[k]);
            bytes += usable[k];
            k++;
        }
    gc_get_stats(&b);
    int count = k - from;
    CHECK_DELTA(mallocs, a, b, count);
    CHECK_DELTA(heap_objects, a, b, count);
    CHECK_DELTA(frees, a, b, 0);
    if (check_bytes) {
        CHECK_DELTA(heap_alloc, a, b, bytes);
        CHECK_DELTA(total_alloc, a, b, bytes);
    }
    CHECKF(b.heap_sys > 0, "%s: heap_sys is 0", what);
    check_sane(&b, what);
    return count;
}

/* Frees objs[from, to) step by step and checks the deltas. */
static void free_and_check(int from, int to, int step, const char *what,
                           int check_bytes)
{
    gc_stats a, b;
    gc_get_stats(&a);
    uint64_t bytes = 0;
    int count = 0;
    for (int k = from; k < to; k += step) {
        bytes += usable[k];
        gc_free(objs[k]);
        objs[k] = NULL;
        count++;
    }
    gc_get_stats(&b);
    CHECK_DELTA(frees, a, b, count);
    CHECK_DELTA(heap_objects, a, b, -count);
    CHECK_DELTA(mallocs, a, b, 0);
    CHECK_DELTA(total_alloc, a, b, 0);
    if (check_bytes)
        CHECK_DELTA(heap_alloc, a, b, -bytes);
    check_sane(&b, what);
}

static void check_realloc(void)
{
    static const size_t chain[] = {16, 40, 40, 1000, 32, 50000, 2000000, 64, 1};
    const char *what = "gc_realloc";
    void *p = gc_alloc(chain[0]);
    REQUIRE(p != NULL);
    for (size_t i = 1; i < sizeof chain / sizeof chain[0]; i++) {
        gc_stats a, b;
        size_t old = gc_size(p);
        gc_get_stats(&a);
        p = gc_realloc(p, chain[i]);
        REQUIRE(p != NULL);
        gc_get_stats(&b);
        CHECK_DELTA(heap_objects, a, b, 0);
        CHECK_DELTA(heap_alloc, a, b, (int64_t)gc_size(p) - (int64_t)old);
        CHECKF(b.total_alloc >= a.total_alloc, "total_alloc went down");
        check_sane(&b, what);
    }
    gc_free(p);
}

int main(void)
{
    gc_set_error_handler(on_error);
    gc_init();

    gc_stats s0, s1;
    gc_get_stats(&s0);
    check_sane(&s0, "start");
    if (!getenv("GCHEAP_PERCENT"))
        CHECKF(s0.percent == 100, "percent = %d, want the default 100",
               s0.percent);
    if (!getenv("GCHEAP_CONCURRENT"))
        CHECKF(s0.concurrent == 0, "concurrent = %d, want the default 0",
               s0.concurrent);

    /* reading the stats changes nothing */
    gc_get_stats(&s1);
    CHECK(s1.mallocs == s0.mallocs && s1.frees == s0.frees);
    CHECK(s1.heap_objects == s0.heap_objects);
    CHECK(s1.heap_alloc == s0.heap_alloc);
    CHECK(s1.total_alloc == s0.total_alloc);

    /* one object */
    {
        const char *what = "one gc_alloc(100)";
        gc_stats a, b;
        gc_get_stats(&a);
        void *p = gc_alloc(100);
        REQUIRE(p != NULL);
        gc_get_stats(&b);
        CHECK_DELTA(mallocs, a, b, 1);
        CHECK_DELTA(heap_objects, a, b, 1);
        CHECK_DELTA(heap_alloc, a, b, gc_size(p));
        CHECK_DELTA(total_alloc, a, b, gc_size(p));
        size_t u = gc_size(p);
        gc_free(p);
        gc_get_stats(&a);
        CHECK_DELTA(frees, b, a, 1);
        CHECK_DELTA(heap_objects, b, a, -1);
        CHECK_DELTA(heap_alloc, b, a, -(int64_t)u);
    }

    /* every kind and many sizes, freed in two halves */
    int n = alloc_and_check(0, sizes, NSIZES, 6, "all kinds", 1);
    free_and_check(0, n, 2, "first half", 1);
    free_and_check(1, n, 2, "second half", 1);

    /* freeing NULL is a no-op */
    {
        const char *what = "gc_free(NULL)";
        gc_stats a, b;
        gc_get_stats(&a);
        gc_free(NULL);
        gc_get_stats(&b);
        CHECK_DELTA(frees, a, b, 0);
        CHECK_DELTA(heap_objects, a, b, 0);
    }

    /* the same again, reusing the memory just freed */
    n = alloc_and_check(0, sizes, NSIZES, 6, "all kinds again", 1);
    free_and_check(0, n, 1, "all at once", 1);

    /* pointer-free objects under 16 bytes, which may be packed together:
     * still one object each for the counts; bytes as their usable sizes */
    static const size_t tiny[] = {1, 2, 3, 5, 8, 8, 8, 12, 15, 4, 1, 9};
    enum { NTINY = sizeof tiny / sizeof tiny[0] };
    n = alloc_and_check(0, tiny, NTINY, 2, "objects under 16 bytes", 0);
    free_and_check(0, n, 1, "objects under 16 bytes", 0);
    n = alloc_and_check(0, tiny, NTINY, 2, "objects under 16 bytes: bytes", 1);
    free_and_check(0, n, 1, "objects under 16 bytes: bytes", 1);

    check_realloc();

    /* back where we started */
    gc_stats end;
    gc_get_stats(&end);
    CHECKF(end.heap_objects == s0.heap_objects,
           "heap_objects %llu at the end, %llu at the start",
           (ull)end.heap_objects, (ull)s0.heap_objects);
    CHECKF(end.heap_alloc == s0.heap_alloc,
           "heap_alloc %llu at the end, %llu at the start", (ull)end.heap_alloc,
           (ull)s0.heap_alloc);
    check_sane(&end, "end");

    CHECKF(error_reports == 0, "%d error reports", error_reports);
    return check_done();
}
