/*
 * realloc.c -- black-box test of gc_realloc (API.md, "Allocation"):
 * gc_realloc(NULL, n) is gc_alloc(n); growing keeps the contents and zeroes
 * the grown part, also when the object grows back in place after a shrink
 * (the bytes dropped by the shrink must not come back); shrinking keeps the
 * prefix; small -> large -> small; atomic objects keep their contents; the
 * old object is gone when the object moved; the count of live objects does
 * not change.
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

static unsigned char pattern(uint64_t seed, size_t i)
{
    uint64_t x = (seed + 1) * 0x9E3779B97F4A7C15ull + i * 0xBF58476D1CE4E5B9ull;
    x ^= x >> 31;
    return (unsigned char)(x % 255 + 1); /* never 0 */
}

static void fill(unsigned char *p, size_t from, size_t to, uint64_t seed)
{
    for (size_t i = from; i < to; i++)
        p[i] = pattern(seed, i);
}

/* First offset in [from, to) whose byte is not the pattern, or to. */
static size_t verify(const unsigned char *p, size_t from, size_t to,
                     uint64_t seed)
{
    for (size_t i = from; i < to; i++)
        if (p[i] != pattern(seed, i))
            return i;
    return to;
}

static size_t first_nonzero(const unsigned char *p, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (p[i])
            return i;
    return to;
}

static uint64_t live_objects(void)
{
    gc_stats s;
    gc_get_stats(&s);
    return s.heap_objects;
}

/* p holds the pattern over [0, valid); resize it to size and check: prefix
 * kept, the rest up to size zero, base/size right, old object gone if it
 * moved.  Returns the new object. */
static unsigned char *resize(unsigned char *p, size_t valid, size_t size,
                             uint64_t seed, const char *what)
{
    uint64_t objects = live_objects();
    unsigned char *q = gc_realloc(p, size);
    CHECKF(q != NULL, "%s: gc_realloc(%zu) = NULL", what, size);
    if (!q)
        return p;
    size_t keep = valid < size ? valid : size;
    size_t bad = verify(q, 0, keep, seed);
    CHECKF(bad == keep, "%s: %zu -> %zu: byte %zu of the kept %zu changed",
           what, valid, size, bad, keep);
    if (size > valid) {
        size_t nz = first_nonzero(q, valid, size);
        CHECKF(nz == size,
               "%s: %zu -> %zu (%s): grown part not zero at offset %zu", what,
               valid, size, q == p ? "in place" : "moved", nz);
    }
    CHECKF(gc_size(q) >= size, "%s: gc_size after realloc to %zu = %zu", what,
           size, gc_size(q));
    CHECKF(gc_base(q) == q, "%s: gc_base", what);
    if (size > 0)
        CHECKF(gc_base(q + size - 1) == q, "%s: gc_base of last byte", what);
    CHECKF((uintptr_t)q % (size >= 16 ? 16 : 8) == 0, "%s: alignment", what);
    if (q != p)
        CHECKF(gc_base(p) == NULL, "%s: %zu -> %zu moved, old object alive",
               what, valid, size);
    CHECKF(live_objects() == objects,
           "%s: heap_objects %llu -> %llu across gc_realloc", what,
           (unsigned long long)objects, (unsigned long long)live_objects());
    return q;
}

static void check_null(void)
{
    static const size_t sizes[] = {1, 16, 100, 5000, 40000, 300000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = gc_realloc(NULL, sizes[i]);
        REQUIRE(p != NULL);
        CHECKF(first_nonzero(p, 0, sizes[i]) == sizes[i],
               "gc_realloc(NULL, %zu) not zeroed", sizes[i]);
        CHECK(gc_base(p) == p);
        CHECK(gc_size(p) >= sizes[i]);
        gc_free(p);
    }
    void *z = gc_realloc(NULL, 0);
    CHECK(z != NULL);
    gc_free(z);
}

/* A chain of sizes; each step verifies what the last one left. */
static void check_chain(const size_t *chain, size_t n, int atomic,
                        uint64_t seed, const char *what)
{
    unsigned char *p = atomic ? gc_alloc_atomic(chain[0]) : gc_alloc(chain[0]);
    REQUIRE(p != NULL);
    fill(p, 0, chain[0], seed);
    size_t valid = chain[0];
    for (size_t i = 1; i < n; i++) {
        p = resize(p, valid, chain[i], seed, what);
        valid = valid < chain[i] ? valid : chain[i];
        /* extend the pattern over the whole new size for the next step */
        fill(p, valid, chain[i], seed);
        valid = chain[i];
    }
    gc_free(p);
}

/* Shrink without rewriting, then grow: the grown part must be zero even
 * when the object never moved and the old bytes are still there. */
static void check_shrink_grow(size_t big, size_t small, int atomic)
{
    uint64_t seed = big ^ (small << 20) ^ (uint64_t)atomic;
    unsigned char *p = atomic ? gc_alloc_atomic(big) : gc_alloc(big);
    REQUIRE(p != NULL);
    fill(p, 0, big, seed);
    char what[64];
    snprintf(what, sizeof what, "%s %zu->%zu->%zu", atomic ? "atomic" : "scan",
             big, small, big);
    p = resize(p, big, small, seed, what);
    p = resize(p, small, big, seed, what);
    /* and once more, growing a little at a time */
    fill(p, small, big, seed);
    p = resize(p, big, small, seed, what);
    size_t valid = small;
    for (size_t s = small + 1; s <= big; s += (big - small) / 7 + 1) {
        p = resize(p, valid, s, seed, what);
        fill(p, valid, s, seed);
        valid = s;
    }
    gc_free(p);
}

int main(void)
{
    gc_set_error_handler(on_error);
    check_null();

    static const size_t up_down[] = {24, 100, 40000,  1048576, 40,  8,
                                     1,  33,  200000, 64,      5000};
    check_chain(up_down, sizeof up_down / sizeof up_down[0], 0, 1,
                "small->large->small");
    check_chain(up_down, sizeof up_down / sizeof up_down[0], 1, 2,
                "atomic small->large->small");
    static const size_t steps[] = {1,     2,     3,     7,     8,    9,    15,
                                   16,    17,    31,    32,    33,   47,   48,
                                   49,    100,   500,   1000,  4096, 8192, 9000,
                                   32768, 32769, 70000, 140000};
    check_chain(steps, sizeof steps / sizeof steps[0], 0, 3, "growing");
    check_chain(steps, sizeof steps / sizeof steps[0], 1, 4, "atomic growing");

    /* small objects inside one size class and across classes */
    check_shrink_grow(48, 20, 0);
    check_shrink_grow(48, 20, 1);
    check_shrink_grow(1000, 100, 0);
    check_shrink_grow(1000, 100, 1);
    check_shrink_grow(30000, 17, 0);
    /* large objects */
    check_shrink_grow(1048576, 102400, 0);
    check_shrink_grow(1048576, 102400, 1);
    check_shrink_grow(2097152, 1048576 + 1, 0);
    check_shrink_grow(200000, 40000, 1);

    /* realloc to the same size keeps everything */
    unsigned char *p = gc_alloc(300);
    REQUIRE(p != NULL);
    fill(p, 0, 300, 9);
    p = resize(p, 300, 300, 9, "same size");
    gc_free(p);

    /* realloc of an uncollectable object keeps its contents */
    p = gc_alloc_uncollectable(64);
    REQUIRE(p != NULL);
    fill(p, 0, 64, 10);
    p = resize(p, 64, 100000, 10, "uncollectable grow");
    fill(p, 64, 100000, 10);
    p = resize(p, 100000, 32, 10, "uncollectable shrink");
    gc_free(p);

    CHECKF(error_reports == 0, "%d error reports", error_reports);
    return check_done();
}
