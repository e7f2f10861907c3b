/*
 * zeroed.c -- memory the collector reclaimed comes back zero.  For sizes
 * across the classes (including the one-object-per-span classes of 8 KiB
 * and up, and large objects), objects are allocated, checked zero over
 * their whole usable size, filled with 0xab and dropped, many times, so
 * cycles run and spans are reused after sweeping, both by the background
 * sweeper and by the allocator sweeping a span it takes.  Every third
 * object stays alive a while (in `keep`), so most spans survive a cycle
 * partly full and their dead slots are handed out again from the same
 * span: the collector does not zero dead objects, the allocator zeroes
 * them as it hands them out, and this is what checks it.
 */
#include "../check.h"
#include "../../gcheap.h"

#include <string.h>

static const size_t sizes[] = {8,     16,    48,    256,   1024,  4096,  8192,
                               12288, 16384, 24576, 32768, 40000, 200000};

#define KEEP 4096
static void *keep[KEEP];

/* How many bytes of a fresh object are not zero. */
static size_t dirty_bytes(const unsigned char *p, size_t n)
{
    size_t dirty = 0;
    for (size_t i = 0; i < n; i++)
        dirty += p[i] != 0;
    return dirty;
}

int main(void)
{
    gc_init();
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t size = sizes[k], dirty = 0, objects = 0;
        size_t rounds = (64u << 20) / size;
        for (size_t r = 0; r < rounds; r++) {
            unsigned char *p = gc_alloc(size);
            REQUIRE(p != NULL);
            size_t n = gc_size(p);
            dirty += dirty_bytes(p, n) != 0;
            memset(p, 0xab, n);
            if (r % 3 == 0)
                keep[(r / 3) % KEEP] = p;
            objects++;
        }
        CHECKF(dirty == 0, "size %zu: %zu of %zu objects not zeroed", size,
               dirty, objects);
        memset(keep, 0, sizeof keep);
    }
    gc_stats st;
    gc_get_stats(&st);
    CHECKF(st.num_gc > 10, "only %llu cycles ran",
           (unsigned long long)st.num_gc);
    return check_done();
}
