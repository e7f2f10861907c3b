/*
 * sizes.c -- black-box test of gc_size and gc_base (API.md, "Allocation"):
 * gc_size of a live object is at least the size asked for; interior pointers
 * of small and large objects give the object's start and its size; pointers
 * into no live object (stack, malloc, static data, mmap, wild values, NULL,
 * just past or before an object, freed objects) give NULL and 0.
 */
#include "../check.h"
#include "../../gcheap.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

static int error_reports;

static void on_error(const char *message)
{
    error_reports++;
    fprintf(stderr, "unexpected error report: %s\n", message);
}

static const size_t sizes[] = {
    1,     7,     8,      9,      15,      16,      17,         24,
    31,    32,    48,     100,    255,     256,     1000,       1024,
    4095,  4096,  8191,   8192,   8193,    20000,   32767,      32768,
    32769, 65536, 100000, 262144, 1048576, 1048577, 2097152 + 3};
enum { NSIZES = sizeof sizes / sizeof sizes[0], KINDS = 3 };

static void *alloc_kind(int kind, size_t size)
{
    switch (kind) {
    case 0:
        return gc_alloc(size);
    case 1:
        return gc_alloc_atomic(size);
    default:
        return gc_alloc_uncollectable(size);
    }
}

/* Every interesting interior offset of p's object maps back to p. */
static void check_interior(unsigned char *p, size_t size, int kind)
{
    size_t usable = gc_size(p);
    CHECKF(usable >= size, "kind %d: gc_size(alloc(%zu)) = %zu", kind, size,
           usable);
    CHECKF(gc_base(p) == p, "kind %d size %zu: gc_base(p) != p", kind, size);
    if (usable < size)
        return;
    size_t offs[] = {1,        7,        8,        15,         16,
                     size / 3, size / 2, size - 1, usable - 1, usable / 2 + 1,
                     4096,     8192,     8193,     65536};
    for (size_t k = 0; k < sizeof offs / sizeof offs[0]; k++) {
        size_t off = offs[k];
        if (off >= usable)
            continue;
        CHECKF(gc_base(p + off) == p,
               "kind %d size %zu: gc_base(p+%zu) = %p, p = %p", kind, size, off,
               gc_base(p + off), (void *)p);
        CHECKF(gc_size(p + off) == usable,
               "kind %d size %zu: gc_size(p+%zu) = %zu, gc_size(p) = %zu", kind,
               size, off, gc_size(p + off), usable);
    }
    /* one past the end and one before the start are not in this object */
    CHECKF(gc_base(p + usable) != p, "kind %d size %zu: p+usable", kind, size);
    CHECKF(gc_base(p - 1) != p, "kind %d size %zu: p-1", kind, size);
}

/* Freed objects (and their interior) belong to no live object. */
static void check_freed(unsigned char *p, size_t usable, int kind)
{
    size_t offs[] = {0, 1, usable / 2, usable - 1};
    for (size_t k = 0; k < sizeof offs / sizeof offs[0]; k++) {
        CHECKF(gc_base(p + offs[k]) == NULL,
               "kind %d: gc_base(freed(%zu)+%zu) = %p", kind, usable, offs[k],
               gc_base(p + offs[k]));
        CHECKF(gc_size(p + offs[k]) == 0,
               "kind %d: gc_size(freed(%zu)+%zu) = %zu", kind, usable, offs[k],
               gc_size(p + offs[k]));
    }
}

static void check_live_objects(void)
{
    static unsigned char *objs[KINDS][NSIZES];
    static size_t usable[KINDS][NSIZES];
    for (int kind = 0; kind < KINDS; kind++)
        for (size_t i = 0; i < NSIZES; i++) {
            objs[kind][i] = alloc_kind(kind, sizes[i]);
            REQUIRE(objs[kind][i] != NULL);
            usable[kind][i] = gc_size(objs[kind][i]);
        }
    /* checked with everything allocated, so neighbours exist */
    for (int kind = 0; kind < KINDS; kind++)
        for (size_t i = 0; i < NSIZES; i++)
            check_interior(objs[kind][i], sizes[i], kind);
    /* free every other object; the others are unaffected */
    for (int kind = 0; kind < KINDS; kind++)
        for (size_t i = 0; i < NSIZES; i += 2)
            gc_free(objs[kind][i]);
    for (int kind = 0; kind < KINDS; kind++)
        for (size_t i = 0; i < NSIZES; i++) {
            if (i % 2 == 0)
                check_freed(objs[kind][i], usable[kind][i], kind);
            else
                check_interior(objs[kind][i], sizes[i], kind);
        }
    for (int kind = 0; kind < KINDS; kind++)
        for (size_t i = 1; i < NSIZES; i += 2)
            gc_free(objs[kind][i]);
    for (int kind = 0; kind < KINDS; kind++)
        for (size_t i = 1; i < NSIZES; i += 2)
            check_freed(objs[kind][i], usable[kind][i], kind);
}

/* Small pointer-free objects (which an allocator may pack together) are
 * still separate objects: each its own base and size, no overlap, freeing
 * one leaves its neighbours alone. */
static void check_small_atomic(void)
{
    enum { N = 64 };
    unsigned char *v[N];
    for (int i = 0; i < N; i++) {
        size_t size = 1 + (size_t)i % 12;
        v[i] = gc_alloc_atomic(size);
        REQUIRE(v[i] != NULL);
        memset(v[i], 0xA0 + i % 16, size);
        CHECKF(gc_base(v[i]) == v[i], "gc_base(atomic(%zu)) != start", size);
        CHECKF(gc_size(v[i]) >= size, "gc_size(atomic(%zu)) = %zu", size,
               gc_size(v[i]));
        CHECKF(gc_base(v[i] + size - 1) == v[i],
               "gc_base(atomic(%zu)+%zu) != start", size, size - 1);
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            if (i == j)
                continue;
            uintptr_t a = (uintptr_t)v[i], b = (uintptr_t)v[j];
            CHECKF(b < a || b >= a + gc_size(v[i]),
                   "atomic objects %d (%p,+%zu) and %d (%p) overlap", i,
                   (void *)v[i], gc_size(v[i]), j, (void *)v[j]);
        }
    for (int i = 0; i < N; i += 2)
        gc_free(v[i]);
    for (int i = 0; i < N; i++) {
        size_t size = 1 + (size_t)i % 12;
        if (i % 2 == 0) {
            CHECKF(gc_base(v[i]) == NULL, "freed atomic(%zu) still has base",
                   size);
            continue;
        }
        CHECKF(gc_base(v[i]) == v[i], "atomic(%zu) lost its base", size);
        int intact = 1;
        for (size_t k = 0; k < size; k++)
            intact &= v[i][k] == 0xA0 + i % 16;
        CHECKF(intact, "atomic(%zu) #%d changed by freeing a neighbour", size,
               i);
    }
    for (int i = 1; i < N; i += 2)
        gc_free(v[i]);
}

static int static_word = 42;
static char static_array[256];

static void check_non_heap(void)
{
    int local = 1;
    char *m = malloc(4096);
    REQUIRE(m != NULL);
    void *map = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(map != MAP_FAILED);
    const void *ptrs[] = {
        NULL,
        &local,
        m,
        m + 100,
        m + 4095,
        &static_word,
        static_array + 100,
        "a string literal",
        map,
        (char *)map + 12345,
        (void *)(uintptr_t)8,
        (void *)(uintptr_t)4096,
        (void *)(uintptr_t)0x10000,
        (void *)(uintptr_t)0x7ffffffff000ull,
        (void *)(uintptr_t)0x00007fffffffffffull,
        (void *)(uintptr_t)0x0000800000000000ull,
        (void *)(uintptr_t)0xffff800000000000ull,
        (void *)(uintptr_t)0xfffffffffffff000ull,
        (void *)UINTPTR_MAX,
    };
    for (size_t i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++) {
        CHECKF(gc_base(ptrs[i]) == NULL, "gc_base(%p) = %p", ptrs[i],
               gc_base(ptrs[i]));
        CHECKF(gc_size(ptrs[i]) == 0, "gc_size(%p) = %zu", ptrs[i],
               gc_size(ptrs[i]));
    }
    munmap(map, 1 << 16);
    free(m);
}

int main(void)
{
    gc_set_error_handler(on_error);
    check_non_heap(); /* also before the first allocation */
    check_live_objects();
    check_small_atomic();
    check_non_heap();
    CHECKF(error_reports == 0, "%d error reports", error_reports);
    return check_done();
}
