/*
 * free_nonheap.c -- misuse test (API.md, "Errors"): gc_free and gc_realloc
 * of pointers that are no object of the heap (a stack address, a malloc
 * pointer and its interior, static data, a string literal, an mmap page,
 * wild addresses).  Each call reports exactly once, with a non-empty
 * message, to the handler installed with gc_set_error_handler; the call
 * does nothing (the memory is unchanged, gc_realloc returns NULL); the heap
 * goes on working.
 */
#include "../check.h"
#include "../../gcheap.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "report.h"

static int all_bytes(const unsigned char *p, size_t n, unsigned char v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return 0;
    return 1;
}

static long static_words[64] = {1, 2, 3};

int main(void)
{
    gc_set_error_handler(on_error);

    /* a live object that must survive all of this */
    unsigned char *keep = gc_alloc(256);
    REQUIRE(keep != NULL);
    memset(keep, 0x3C, 256);
    gc_stats before;
    gc_get_stats(&before);

    unsigned char local[128];
    memset(local, 0x11, sizeof local);
    unsigned char *m = malloc(1000);
    REQUIRE(m != NULL);
    memset(m, 0x22, 1000);
    unsigned char *map = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(map != MAP_FAILED);
    memset(map, 0x33, 65536);

    void *bad[] = {
        local,
        local + 16,
        m,
        m + 16,
        &static_words[0],
        &static_words[10],
        (void *)"a string literal",
        map,
        map + 8192,
        (void *)(uintptr_t)0x1000,
        (void *)(uintptr_t)0x7ffffffff000ull,
        (void *)(uintptr_t)0xfffffffffffff000ull,
    };
    enum { NBAD = sizeof bad / sizeof bad[0] };
    for (int i = 0; i < NBAD; i++) {
        EXPECT_ONE_REPORT(gc_free(bad[i]));
        void *r = (void *)1;
        EXPECT_ONE_REPORT(r = gc_realloc(bad[i], 64));
        CHECKF(r == NULL, "gc_realloc(bad[%d]) = %p, want NULL", i, r);
        EXPECT_ONE_REPORT(r = gc_realloc(bad[i], 100000));
        CHECKF(r == NULL, "gc_realloc(bad[%d], 100000) = %p, want NULL", i, r);
    }
    CHECKF(empty_messages == 0, "%d reports with an empty message",
           empty_messages);

    /* nothing was touched */
    CHECK(all_bytes(local, sizeof local, 0x11));
    CHECK(all_bytes(m, 1000, 0x22));
    CHECK(all_bytes(map, 65536, 0x33));
    CHECK(static_words[0] == 1 && static_words[2] == 3 &&
          static_words[10] == 0);
    CHECK(all_bytes(keep, 256, 0x3C));
    CHECK(gc_base(keep) == keep);
    gc_stats after;
    gc_get_stats(&after);
    CHECKF(after.heap_objects == before.heap_objects &&
               after.frees == before.frees &&
               after.heap_alloc == before.heap_alloc,
           "the stats moved: objects %llu -> %llu, frees %llu -> %llu",
           (unsigned long long)before.heap_objects,
           (unsigned long long)after.heap_objects,
           (unsigned long long)before.frees, (unsigned long long)after.frees);

    free(m); /* still a valid malloc block */
    munmap(map, 65536);

    /* the heap works: allocations, a valid free and realloc report nothing */
    int reports_before = reports;
    for (int i = 0; i < 1000; i++) {
        unsigned char *p = gc_alloc((size_t)(i % 300) + 1);
        REQUIRE(p != NULL);
        CHECK(p[0] == 0);
        p[0] = 1;
        gc_free(p);
    }
    keep = gc_realloc(keep, 5000);
    REQUIRE(keep != NULL);
    CHECK(all_bytes(keep, 256, 0x3C));
    gc_free(keep);
    gc_free(NULL);
    CHECKF(reports == reports_before, "%d reports for valid calls",
           reports - reports_before);
    return check_done();
}
