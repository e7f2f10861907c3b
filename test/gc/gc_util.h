/*
 * gc_util.h -- helpers shared by the collector tests in test/gc/.
 *
 * Live objects carry checksummed payloads: every payload word is derived
 * from a seed (an object's id) and has its top bit set, so it is never a
 * canonical user-space address and cannot keep anything alive by accident.
 * gct_churn() allocates garbage of mixed sizes, writes all of it and calls
 * gc_collect() in between, so that memory a buggy collector freed is reused
 * and overwritten (new objects are zeroed) before the tests verify.
 *
 * Every helper is static and marked unused, so a test includes this header
 * and uses what it needs under -Wall -Werror.
 */
#ifndef GCHEAP_TEST_GC_UTIL_H
#define GCHEAP_TEST_GC_UTIL_H

#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../gcheap.h"
#include "../wait.h"

#define GCT_NOINLINE __attribute__((noinline, unused))
#define GCT_UNUSED __attribute__((unused))

/* Built with ASan or TSan (GCT_TSAN: wait.h): RSS and address-space
 * checks do not apply.  Under TSan a cycle costs ~150 ms even with an
 * empty heap (the runtime's large static data is scanned as a root), so
 * the tests do less there. */
#if defined(__SANITIZE_ADDRESS__) || GCT_TSAN
#define GCT_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GCT_SANITIZER 1
#endif
#endif
#ifndef GCT_SANITIZER
#define GCT_SANITIZER 0
#endif

/* n, or n / d under TSan. */
#define GCT_LESS(n, d) (GCT_TSAN ? (n) / (d) : (n))

typedef unsigned long long gct_ull;

GCT_UNUSED static uint64_t gct_mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* Payload word i of the object with this seed: top bit set, never a
 * pointer. */
GCT_UNUSED static uint64_t gct_word(uint64_t seed, size_t i)
{
    return gct_mix(seed * 0x100000001B3ull + i) | 0x8000000000000000ull;
}

GCT_UNUSED static void gct_fill(void *p, size_t words, uint64_t seed)
{
    uint64_t *w = p;
    for (size_t i = 0; i < words; i++)
        w[i] = gct_word(seed, i);
}

/* How many of the words differ from the pattern (0: intact). */
GCT_UNUSED static size_t gct_bad(const void *p, size_t words, uint64_t seed)
{
    const uint64_t *w = p;
    size_t bad = 0;
    for (size_t i = 0; i < words; i++)
        bad += w[i] != gct_word(seed, i);
    return bad;
}

/* A small xorshift generator; the state lives with the caller. */
GCT_UNUSED static uint64_t gct_rand(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x2545F4914F6CDD1Dull;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* A garbage size: mostly small, some medium, a few up to 64 KiB. */
GCT_UNUSED static size_t gct_garbage_size(uint64_t *s)
{
    uint64_t r = gct_rand(s);
    unsigned pick = (unsigned)(r % 100);
    r >>= 8;
    if (pick < 70)
        return 16 + (size_t)(r % 497);
    if (pick < 95)
        return 512 + (size_t)(r % 7681);
    return 8192 + (size_t)(r % 57345);
}

/* Allocates about `total` bytes of garbage of mixed sizes (some of it
 * linked into short chains, some atomic), writes every byte, and calls
 * gc_collect() `collects` times spread over the run.  Returns nothing
 * pointer-like.  Under TSan: an eighth of it, at most 2 collections. */
GCT_NOINLINE static void gct_churn(size_t total, int collects, uint64_t seed)
{
    if (GCT_TSAN) {
        total /= 8;
        collects = collects > 2 ? 2 : collects;
    }
    uint64_t s = gct_mix(seed) | 1;
    size_t done = 0, step = collects > 0 ? total / (size_t)collects : 0;
    size_t next = step;
    void *chain = NULL;
    int chained = 0;
    while (done < total) {
        size_t size = gct_garbage_size(&s);
        int atomic = (gct_rand(&s) & 7) == 0;
        void *p = atomic ? gc_alloc_atomic(size) : gc_alloc(size);
        if (p == NULL) {
            fprintf(stderr, "gct_churn: allocation of %zu failed\n", size);
            break;
        }
        memset(p, 0xA5, size);
        if (!atomic && size >= sizeof(void *)) {
            /* A short chain of garbage, so garbage holds pointers too. */
            *(void **)p = chain;
            chain = p;
            if (++chained == 16) {
                chain = NULL;
                chained = 0;
            }
        }
        done += size;
        if (step && done >= next && collects > 0) {
            gc_collect();
            collects--;
            next += step;
        }
    }
    chain = NULL;
    while (collects-- > 0)
        gc_collect();
    __asm__ volatile("" : : "r"(chain) : "memory");
}

/* Overwrites 16 KiB of the stack below the caller, so stale copies of
 * pointers in dead frames do not keep garbage alive. */
GCT_NOINLINE static void gct_clear_stack(void)
{
    char buf[16384];
    memset(buf, 0, sizeof buf);
    __asm__ volatile("" : : "r"(buf) : "memory");
}

/* Clears the stack, then collects `n` times. */
GCT_NOINLINE static void gct_collect_clean(int n)
{
    gct_clear_stack();
    for (int i = 0; i < n; i++)
        gc_collect();
}

GCT_UNUSED static double gct_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

GCT_UNUSED static void gct_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Resident set size in bytes, from /proc/self/statm; 0 if unknown. */
GCT_UNUSED static uint64_t gct_rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, resident = 0;
    if (f == NULL)
        return 0;
    if (fscanf(f, "%llu %llu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* How many of the n weak links read NULL. */
GCT_UNUSED static size_t gct_cleared(void **links, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += gc_weak_get(&links[i]) == NULL;
    return c;
}

/* Checked lists: gct_list(base, n, links) builds n nodes with ids base..
 * base+n-1 (the first 100 weakly linked into links[], if given);
 * gct_list_bad counts nodes that are wrong, freed, or missing. */
struct gct_node {
    struct gct_node *next;
    uint64_t id, check;
};

static inline uint64_t gct_node_sum(uint64_t id)
{
    return id * 0x9e3779b97f4a7c15ull + 3;
}

GCT_NOINLINE static struct gct_node *gct_list(uint64_t base, uint64_t n,
                                              void **links)
{
    struct gct_node *head = NULL;
    for (uint64_t i = 0; i < n; i++) {
        struct gct_node *x = gc_alloc(sizeof *x);
        x->id = base + i;
        x->check = gct_node_sum(x->id);
        x->next = head;
        head = x;
        if (links && i < 100)
            gc_weak_link(&links[i], x);
    }
    return head;
}

static inline int gct_list_bad(const struct gct_node *x, uint64_t base,
                               uint64_t n)
{
    int bad = 0;
    uint64_t want = base + n;
    for (; x; x = x->next)
        bad += x->id != --want || x->check != gct_node_sum(x->id) ||
               gc_base(x) != x;
    return bad + (want != base);
}

#endif
