/*
 * alloc.c -- black-box test of the allocation contract (API.md,
 * "Allocation"): every allocation is zeroed over its whole usable size, also
 * when it reuses memory freed with gc_free; aligned to 16 when the size is
 * 16 or more and to 8 below; gc_alloc(0) returns unique non-NULL pointers;
 * live objects never overlap.  All four allocating calls are covered, sizes
 * 0 .. 2 MiB.
 */
#include "../check.h"
#include "../../gcheap.h"

#include <stdint.h>
#include <string.h>

enum { KINDS = 4 };
static const char *const kind_name[KINDS] = {
    "gc_alloc", "gc_alloc_atomic", "gc_alloc_uncollectable", "gc_calloc"};

static int error_reports;

static void on_error(const char *message)
{
    error_reports++;
    fprintf(stderr, "unexpected error report: %s\n", message);
}

static void *alloc_kind(int kind, size_t size)
{
    switch (kind) {
    case 0:
        return gc_alloc(size);
    case 1:
        return gc_alloc_atomic(size);
    case 2:
        return gc_alloc_uncollectable(size);
    default:
        return gc_calloc(1, size);
    }
}

/* The pattern of word j of the object with this seed (splitmix64). */
static uint64_t pattern_word(uint64_t seed, size_t j)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + j + 1;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static void fill(void *p, size_t n, uint64_t seed)
{
    unsigned char *b = p;
    size_t j;
    for (j = 0; j < n / 8; j++) {
        uint64_t w = pattern_word(seed, j);
        memcpy(b + 8 * j, &w, 8);
    }
    for (size_t i = 8 * j; i < n; i++)
        b[i] = (unsigned char)(pattern_word(seed, j) >> (8 * (i - 8 * j)));
}

/* Offset of the first byte that differs from the pattern, or n. */
static size_t verify(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *b = p;
    size_t j;
    for (j = 0; j < n / 8; j++) {
        uint64_t w = pattern_word(seed, j), got;
        memcpy(&got, b + 8 * j, 8);
        if (got != w)
            return 8 * j;
    }
    for (size_t i = 8 * j; i < n; i++)
        if (b[i] != (unsigned char)(pattern_word(seed, j) >> (8 * (i - 8 * j))))
            return i;
    return n;
}

/* Offset of the first non-zero byte, or n. */
static size_t first_nonzero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return i;
    return n;
}

#define MAX_SIZES 512
static size_t sizes[MAX_SIZES];
static size_t nsizes;

/* 0..256 one by one, then about 12% steps up to 64 KiB, then doubling up to
 * 2 MiB, plus a few odd large sizes. */
static void make_sizes(void)
{
    size_t s;
    for (s = 0; s <= 256; s++)
        sizes[nsizes++] = s;
    for (s = 288; s <= 65536; s += s / 8)
        sizes[nsizes++] = s;
    sizes[nsizes++] = 32768;
    sizes[nsizes++] = 32769;
    for (s = 131072; s <= 2097152; s *= 2)
        sizes[nsizes++] = s;
    sizes[nsizes++] = 2097152 - 1;
    sizes[nsizes++] = 1000003;
}

struct obj {
    unsigned char *p;
    size_t size;
};

static int by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const struct obj *)a)->p;
    uintptr_t y = (uintptr_t)((const struct obj *)b)->p;
    return x < y ? -1 : x > y;
}

static struct obj objs[KINDS * MAX_SIZES];

/* Allocates every size of every kind, all live at once; checks each one. */
static size_t alloc_all(const char *round)
{
    size_t n = 0;
    for (int kind = 0; kind < KINDS; kind++) {
        for (size_t i = 0; i < nsizes; i++) {
            size_t size = sizes[i];
            unsigned char *p = alloc_kind(kind, size);
            CHECKF(p != NULL, "%s round: %s(%zu) returned NULL", round,
                   kind_name[kind], size);
            if (!p)
                continue;
            size_t align = size >= 16 ? 16 : 8;
            CHECKF((uintptr_t)p % align == 0,
                   "%s round: %s(%zu) = %p not aligned to %zu", round,
                   kind_name[kind], size, (void *)p, align);
            size_t usable = gc_size(p);
            if (size > 0) {
                CHECKF(usable >= size, "%s round: gc_size(%s(%zu)) = %zu",
                       round, kind_name[kind], size, usable);
                CHECKF(gc_base(p) == p, "%s round: gc_base(%s(%zu))", round,
                       kind_name[kind], size);
            }
            size_t nz = first_nonzero(p, usable > size ? usable : size);
            CHECKF(nz == (usable > size ? usable : size),
                   "%s round: %s(%zu) (usable %zu) not zeroed at offset %zu",
                   round, kind_name[kind], size, usable, nz);
            objs[n].p = p;
            objs[n].size = usable > size ? usable : size;
            n++;
        }
    }
    return n;
}

/* No two live objects overlap: fill each fully, verify each afterwards, and
 * compare the sorted address ranges. */
static void check_disjoint(size_t n, const char *round)
{
    for (size_t i = 0; i < n; i++)
        fill(objs[i].p, objs[i].size, (uint64_t)i + 1);
    for (size_t i = 0; i < n; i++) {
        size_t bad = verify(objs[i].p, objs[i].size, (uint64_t)i + 1);
        CHECKF(bad == objs[i].size,
               "%s round: object %zu (%p, %zu bytes) overwritten at %zu", round,
               i, (void *)objs[i].p, objs[i].size, bad);
    }
    static struct obj sorted[KINDS * MAX_SIZES];
    memcpy(sorted, objs, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, by_address);
    for (size_t i = 1; i < n; i++) {
        /* size-0 objects take no room in the count but must be distinct */
        uintptr_t prev_end = (uintptr_t)sorted[i - 1].p +
                             (sorted[i - 1].size ? sorted[i - 1].size : 1);
        CHECKF(prev_end <= (uintptr_t)sorted[i].p,
               "%s round: [%p,+%zu) overlaps %p", round,
               (void *)sorted[i - 1].p, sorted[i - 1].size,
               (void *)sorted[i].p);
    }
}

static void free_all(size_t n)
{
    for (size_t i = 0; i < n; i++)
        gc_free(objs[i].p);
}

/* gc_alloc(0) gives unique non-NULL pointers, distinct from each other and
 * from other objects, 8-aligned, and each can be freed. */
static void check_zero_size(void)
{
    enum { N = 1000 };
    static struct obj z[2 * N];
    for (int i = 0; i < 2 * N; i++) {
        size_t size = (size_t)(i % 2); /* interleave 0 and 1 byte objects */
        z[i].p = i % 4 < 2 ? gc_alloc(size) : gc_alloc_atomic(size);
        z[i].size = 1;
        REQUIRE(z[i].p != NULL);
        CHECK((uintptr_t)z[i].p % 8 == 0);
    }
    qsort(z, 2 * N, sizeof *z, by_address);
    int dups = 0;
    for (int i = 1; i < 2 * N; i++)
        dups += z[i - 1].p == z[i].p;
    CHECKF(dups == 0, "%d duplicate pointers among gc_alloc(0)/(1)", dups);
    for (int i = 0; i < 2 * N; i++)
        gc_free(z[i].p);
}

/* Many objects of one small size (several spans' worth): distinct, intact,
 * and zeroed when allocated again after being freed. */
static void check_many_small(size_t size, int count)
{
    static unsigned char *v[20000];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < count; i++) {
            v[i] = gc_alloc(size);
            REQUIRE(v[i] != NULL);
            size_t usable = gc_size(v[i]);
            CHECKF(first_nonzero(v[i], usable) == usable,
                   "round %d: gc_alloc(%zu) #%d not zeroed", round, size, i);
            fill(v[i], usable, (uint64_t)i * 7919 + size);
        }
        int bad = 0;
        for (int i = 0; i < count; i++)
            bad += verify(v[i], gc_size(v[i]), (uint64_t)i * 7919 + size) !=
                   gc_size(v[i]);
        CHECKF(bad == 0, "%d of %d objects of size %zu overwritten", bad, count,
               size);
        for (int i = 0; i < count; i++)
            gc_free(v[i]);
    }
}

int main(void)
{
    gc_set_error_handler(on_error);
    make_sizes();

    /* fresh memory, then memory freed after being filled with non-zero */
    size_t n = alloc_all("fresh");
    check_disjoint(n, "fresh");
    free_all(n);
    n = alloc_all("reused");
    check_disjoint(n, "reused");
    free_all(n);

    check_zero_size();
    check_many_small(24, 20000);
    check_many_small(1024, 3000);

    CHECKF(error_reports == 0, "%d error reports", error_reports);
    return check_done();
}
