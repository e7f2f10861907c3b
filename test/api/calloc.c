/*
 * calloc.c -- black-box test of gc_calloc (API.md, "Allocation"): the
 * object holds count*size zero bytes (also when it reuses freed memory), is
 * aligned like gc_alloc(count*size), and a product that overflows gives
 * NULL with errno == ENOMEM; a zero product gives a unique non-NULL pointer.
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

static size_t first_nonzero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return i;
    return n;
}

static void check_overflow(size_t count, size_t size)
{
    errno = 0;
    void *p = gc_calloc(count, size);
    CHECKF(p == NULL, "gc_calloc(%zu, %zu) = %p, want NULL", count, size, p);
    CHECKF(errno == ENOMEM, "gc_calloc(%zu, %zu): errno %d, want ENOMEM", count,
           size, errno);
}

static void check_zeroed(size_t count, size_t size)
{
    size_t n = count * size;
    for (int round = 0; round < 2; round++) {
        unsigned char *p = gc_calloc(count, size);
        CHECKF(p != NULL, "gc_calloc(%zu, %zu) = NULL", count, size);
        if (!p)
            return;
        CHECKF((uintptr_t)p % (n >= 16 ? 16 : 8) == 0,
               "gc_calloc(%zu, %zu) = %p misaligned", count, size, (void *)p);
        size_t usable = gc_size(p);
        CHECKF(usable >= n, "gc_size(gc_calloc(%zu, %zu)) = %zu", count, size,
               usable);
        if (usable < n)
            usable = n;
        size_t nz = first_nonzero(p, usable);
        CHECKF(nz == usable, "round %d: gc_calloc(%zu, %zu) byte %zu = %d",
               round, count, size, nz, nz < usable ? p[nz] : 0);
        /* dirty it so that the next round's reuse must zero again */
        memset(p, 0xEE, usable);
        gc_free(p);
    }
}

int main(void)
{
    gc_set_error_handler(on_error);

    check_overflow(SIZE_MAX, 2);
    check_overflow(2, SIZE_MAX);
    check_overflow(SIZE_MAX, SIZE_MAX);
    check_overflow((size_t)1 << 32, (size_t)1 << 32);
    check_overflow(SIZE_MAX / 16 + 1, 16);
    check_overflow(16, SIZE_MAX / 16 + 1);
    check_overflow(((size_t)1 << 33) + 1, ((size_t)1 << 31));

    static const size_t cases[][2] = {
        {1, 1},      {1, 8},      {3, 5},      {16, 1},    {1, 16},
        {7, 24},     {100, 8},    {8, 100},    {1000, 33}, {33, 1000},
        {4096, 8},   {1, 32768},  {2, 16385},  {1, 40000}, {1000, 1000},
        {8, 262144}, {262144, 8}, {3, 700001},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_zeroed(cases[i][0], cases[i][1]);

    /* a zero product behaves as gc_alloc(0): unique, non-NULL */
    void *a = gc_calloc(0, 8), *b = gc_calloc(8, 0), *c = gc_calloc(0, 0);
    void *d = gc_calloc(0, SIZE_MAX), *e = gc_calloc(SIZE_MAX, 0);
    CHECK(a != NULL && b != NULL && c != NULL && d != NULL && e != NULL);
    CHECK(a != b && a != c && b != c && d != e && d != a && e != a);
    gc_free(a);
    gc_free(b);
    gc_free(c);
    gc_free(d);
    gc_free(e);

    /* allocation still works after the failures */
    void *p = gc_calloc(10, 10);
    CHECK(p != NULL);
    gc_free(p);

    CHECKF(error_reports == 0, "%d error reports", error_reports);
    return check_done();
}
