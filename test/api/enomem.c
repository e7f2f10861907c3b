/*
 * enomem.c -- black-box test of failing allocations (API.md, "Allocation"
 * and "Errors"): requests that overflow or exceed the address space return
 * NULL with errno == ENOMEM from every allocating call; a failed gc_realloc
 * returns NULL, sets ENOMEM and leaves the object valid and intact; nothing
 * is reported as misuse; allocation works normally afterwards.  (Whether
 * the OOM handler runs for such sizes is not part of the contract; see
 * rlimit_as.c for the handler.)
 */
#include "../check.h"
#include "../../gcheap.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

static int error_reports;

static void on_error(const char *message)
{
    error_reports++;
    fprintf(stderr, "unexpected error report: %s\n", message);
}

static const size_t huge[] = {
    SIZE_MAX,         SIZE_MAX - 1,
    SIZE_MAX - 4095,  SIZE_MAX - 65535,
    SIZE_MAX / 2 + 1, SIZE_MAX / 2,
    (size_t)1 << 62,  ((size_t)1 << 62) + 12345,
    (size_t)1 << 56,  (size_t)1 << 50,
};
enum { NHUGE = sizeof huge / sizeof huge[0] };

#define EXPECT_ENOMEM(call, size)                                              \
    do {                                                                       \
        errno = 0;                                                             \
        void *p_ = (call);                                                     \
        int e_ = errno;                                                        \
        CHECKF(p_ == NULL, "%s with size %zu = %p, want NULL", #call,          \
               (size_t)(size), p_);                                            \
        CHECKF(e_ == ENOMEM, "%s with size %zu: errno %d, want ENOMEM", #call, \
               (size_t)(size), e_);                                            \
    } while (0)

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(seed + i * 13 + (i >> 8));
}

static int intact(const unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(seed + i * 13 + (i >> 8)))
            return 0;
    return 1;
}

/* gc_realloc to an impossible size fails and leaves p alone. */
static void check_realloc_fails(size_t size0, int atomic)
{
    unsigned char *p = atomic ? gc_alloc_atomic(size0) : gc_alloc(size0);
    REQUIRE(p != NULL);
    size_t usable = gc_size(p);
    fill(p, size0, (unsigned)size0);
    for (size_t i = 0; i < NHUGE; i++) {
        EXPECT_ENOMEM(gc_realloc(p, huge[i]), huge[i]);
        CHECKF(gc_base(p) == p, "object of %zu gone after failed realloc",
               size0);
        CHECKF(gc_size(p) == usable, "gc_size %zu -> %zu after failed realloc",
               usable, gc_size(p));
        CHECKF(intact(p, size0, (unsigned)size0),
               "object of %zu changed by failed gc_realloc(%zu)", size0,
               huge[i]);
    }
    /* it is still an ordinary object: it can grow and be freed */
    unsigned char *q = gc_realloc(p, size0 * 2 + 10);
    REQUIRE(q != NULL);
    CHECK(intact(q, size0, (unsigned)size0));
    gc_free(q);
}

int main(void)
{
    gc_set_error_handler(on_error);

    gc_stats before;
    gc_get_stats(&before);

    for (size_t i = 0; i < NHUGE; i++) {
        EXPECT_ENOMEM(gc_alloc(huge[i]), huge[i]);
        EXPECT_ENOMEM(gc_alloc_atomic(huge[i]), huge[i]);
        EXPECT_ENOMEM(gc_alloc_uncollectable(huge[i]), huge[i]);
        EXPECT_ENOMEM(gc_calloc(1, huge[i]), huge[i]);
        EXPECT_ENOMEM(gc_calloc(huge[i], 1), huge[i]);
        EXPECT_ENOMEM(gc_realloc(NULL, huge[i]), huge[i]);
    }
    EXPECT_ENOMEM(gc_calloc(SIZE_MAX, SIZE_MAX), SIZE_MAX);
    EXPECT_ENOMEM(gc_calloc((size_t)1 << 32, ((size_t)1 << 32) + 1), 0);

    check_realloc_fails(1, 0);
    check_realloc_fails(100, 0);
    check_realloc_fails(100, 1);
    check_realloc_fails(5000, 0);
    check_realloc_fails(100000, 0);
    check_realloc_fails(100000, 1);

    /* the failures left no objects behind and did not break the heap */
    gc_stats after;
    gc_get_stats(&after);
    CHECKF(after.heap_objects == before.heap_objects,
           "heap_objects %llu -> %llu after failed allocations",
           (unsigned long long)before.heap_objects,
           (unsigned long long)after.heap_objects);
    CHECKF(after.heap_alloc == before.heap_alloc,
           "heap_alloc %llu -> %llu after failed allocations",
           (unsigned long long)before.heap_alloc,
           (unsigned long long)after.heap_alloc);
    CHECKF(after.heap_sys <= before.heap_sys + ((uint64_t)256 << 20),
           "heap_sys grew from %llu to %llu on failed allocations",
           (unsigned long long)before.heap_sys,
           (unsigned long long)after.heap_sys);

    static const size_t normal[] = {0, 8, 100, 4000, 40000, 4 << 20};
    for (size_t i = 0; i < sizeof normal / sizeof normal[0]; i++) {
        unsigned char *p = gc_alloc(normal[i]);
        CHECKF(p != NULL, "gc_alloc(%zu) failed after the ENOMEM tests",
               normal[i]);
        if (p && normal[i]) {
            fill(p, normal[i], 3);
            CHECK(intact(p, normal[i], 3));
        }
        gc_free(p);
    }

    CHECKF(error_reports == 0, "%d error reports", error_reports);
    return check_done();
}
