/*
 * free_interior.c -- misuse test (API.md, "Errors"): gc_free and gc_realloc
 * of interior pointers of live objects (small, pointer-free small, and
 * large).  Each call reports exactly once, with a non-empty message; the
 * call does nothing: the object is still live, intact and its own
 * (allocations made afterwards never overlap it), gc_realloc returns NULL;
 * the object can then be freed properly.
 */
#include "../check.h"
#include "../../gcheap.h"

#include <stdint.h>
#include <string.h>

#include "report.h"

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(seed + i * 7 + (i >> 9));
}

static int intact(const unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(seed + i * 7 + (i >> 9)))
            return 0;
    return 1;
}

static void check_object(size_t size, int kind)
{
    unsigned char *p = kind == 0   ? gc_alloc(size)
                       : kind == 1 ? gc_alloc_atomic(size)
                                   : gc_alloc_uncollectable(size);
    REQUIRE(p != NULL);
    size_t usable = gc_size(p);
    fill(p, size, (unsigned)size);
    gc_stats before;
    gc_get_stats(&before);

    size_t offs[] = {1, 8, 16, size / 2, size - 1, usable - 1, 4096, 65536};
    for (size_t k = 0; k < sizeof offs / sizeof offs[0]; k++) {
        size_t off = offs[k];
        if (off == 0 || off >= usable)
            continue;
        EXPECT_ONE_REPORT(gc_free(p + off));
        void *r = (void *)1;
        EXPECT_ONE_REPORT(r = gc_realloc(p + off, size * 2));
        CHECKF(r == NULL, "gc_realloc(p+%zu) = %p, want NULL", off, r);
        EXPECT_ONE_REPORT(r = gc_realloc(p + off, 1));
        CHECKF(r == NULL, "gc_realloc(p+%zu, 1) = %p, want NULL", off, r);
        CHECKF(gc_base(p) == p && gc_size(p) == usable,
               "kind %d size %zu: object changed after freeing p+%zu", kind,
               size, off);
        CHECKF(intact(p, size, (unsigned)size),
               "kind %d size %zu: contents changed after freeing p+%zu", kind,
               size, off);
    }
    gc_stats after;
    gc_get_stats(&after);
    CHECKF(after.heap_objects == before.heap_objects &&
               after.frees == before.frees &&
               after.heap_alloc == before.heap_alloc,
           "kind %d size %zu: the stats moved", kind, size);

    /* the object is still its own: new objects of its size do not land in
     * it, and writing them does not change it */
    enum { N = 300 };
    unsigned char *others[N];
    int n = size >= 65536 ? 8 : N;
    for (int i = 0; i < n; i++) {
        others[i] = kind == 1 ? gc_alloc_atomic(size) : gc_alloc(size);
        REQUIRE(others[i] != NULL);
        CHECKF(others[i] + size <= p || others[i] >= p + usable,
               "kind %d size %zu: new object %p inside the live %p", kind, size,
               (void *)others[i], (void *)p);
        memset(others[i], 0xFF, size);
    }
    CHECKF(intact(p, size, (unsigned)size),
           "kind %d size %zu: contents changed by later allocations", kind,
           size);
    for (int i = 0; i < n; i++)
        gc_free(others[i]);

    int before_reports = reports;
    gc_free(p);
    CHECKF(reports == before_reports, "proper gc_free reported");
    CHECK(gc_base(p) == NULL);
}

int main(void)
{
    gc_set_error_handler(on_error);
    check_object(64, 0);
    check_object(64, 2);
    check_object(24, 1);
    check_object(12, 1); /* small enough to be packed with others */
    check_object(3000, 0);
    check_object(100000, 0);
    check_object(100000, 1);
    check_object(1 << 20, 2);
    CHECKF(empty_messages == 0, "%d reports with an empty message",
           empty_messages);
    return check_done();
}
