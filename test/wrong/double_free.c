/*
 * double_free.c -- misuse test (API.md, "Errors"): a second gc_free, or a
 * gc_realloc, of an object already freed (small, pointer-free small,
 * uncollectable, large) reports exactly once, with a non-empty message,
 * and does nothing: in particular the memory is not handed out twice
 * (later allocations of the same size are all distinct and keep their
 * contents) and the stats do not count a second free.
 */
#include "../check.h"
#include "../../gcheap.h"

#include <stdint.h>
#include <string.h>

#include "report.h"

static void *alloc_kind(int kind, size_t size)
{
    return kind == 0   ? gc_alloc(size)
           : kind == 1 ? gc_alloc_atomic(size)
                       : gc_alloc_uncollectable(size);
}

static int by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (void *const *)a;
    uintptr_t y = (uintptr_t) * (void *const *)b;
    return x < y ? -1 : x > y;
}

enum { N = 200 };

static void check_double_free(size_t size, int kind)
{
    /* two objects freed twice, in the orders a b a and a b b */
    void *a = alloc_kind(kind, size), *b = alloc_kind(kind, size);
    REQUIRE(a != NULL && b != NULL);
    gc_stats before, after;
    gc_get_stats(&before);
    gc_free(a);
    gc_free(b);
    EXPECT_ONE_REPORT(gc_free(a));
    EXPECT_ONE_REPORT(gc_free(b));
    EXPECT_ONE_REPORT(gc_free(b));
    void *r = (void *)1;
    EXPECT_ONE_REPORT(r = gc_realloc(a, size + 100));
    CHECKF(r == NULL, "gc_realloc of a freed object = %p, want NULL", r);
    EXPECT_ONE_REPORT(r = gc_realloc(b, 1));
    CHECKF(r == NULL, "gc_realloc of a freed object = %p, want NULL", r);
    gc_get_stats(&after);
    CHECKF(after.frees - before.frees == 2 &&
               before.heap_objects - after.heap_objects == 2,
           "kind %d size %zu: frees moved by %lld, heap_objects by %lld, "
           "want 2 and -2",
           kind, size, (long long)(after.frees - before.frees),
           (long long)(after.heap_objects - before.heap_objects));

    /* the freed memory is handed out at most once */
    void *v[N];
    int n = size >= 100000 ? 16 : N;
    for (int i = 0; i < n; i++) {
        v[i] = alloc_kind(kind, size);
        REQUIRE(v[i] != NULL);
        memset(v[i], i & 0xFF, size);
    }
    int changed = 0;
    for (int i = 0; i < n; i++) {
        const unsigned char *c = v[i];
        for (size_t k = 0; k < size; k++)
            changed += c[k] != (unsigned char)(i & 0xFF);
    }
    CHECKF(changed == 0, "kind %d size %zu: %d bytes of new objects changed",
           kind, size, changed);
    qsort(v, (size_t)n, sizeof v[0], by_address);
    int dups = 0;
    for (int i = 1; i < n; i++)
        dups += (uintptr_t)v[i - 1] + size > (uintptr_t)v[i];
    CHECKF(dups == 0, "kind %d size %zu: %d new objects share memory", kind,
           size, dups);
    int reports_before = reports;
    for (int i = 0; i < n; i++)
        gc_free(v[i]);
    CHECKF(reports == reports_before, "valid frees reported");
}

int main(void)
{
    gc_set_error_handler(on_error);
    check_double_free(48, 0);
    check_double_free(48, 2);
    check_double_free(8, 1);
    check_double_free(5, 1);
    check_double_free(4000, 1);
    check_double_free(200000, 0);
    check_double_free(200000, 1);
    check_double_free(3 << 20, 2);
    CHECKF(empty_messages == 0, "%d reports with an empty message",
           empty_messages);

    gc_stats s;
    gc_get_stats(&s);
    CHECKF(s.heap_objects == 0, "heap_objects %llu after freeing everything",
           (unsigned long long)s.heap_objects);
    CHECKF(s.heap_alloc == 0, "heap_alloc %llu after freeing everything",
           (unsigned long long)s.heap_alloc);
    return check_done();
}
