/*
 * config.h -- gcheap's compile-time knobs, the only place besides the OS and
 * atomics layers where #if decides anything.  None of them changes the API.
 *
 *   GCHEAP_DEBUG     0 release, 1 cheap assertions, 2 + heap verification
 *                    hooks, 3 + expensive per-operation checks.
 *   GCHEAP_VALGRIND  1: tell memcheck about every object (client requests).
 */
#ifndef GCHEAP_CONFIG_H
#define GCHEAP_CONFIG_H

#ifndef GCHEAP_DEBUG
#define GCHEAP_DEBUG 0
#endif

#ifndef GCHEAP_VALGRIND
#define GCHEAP_VALGRIND 0
#endif

#define GCI_LIKELY(x) __builtin_expect(!!(x), 1)
#define GCI_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define GCI_NOINLINE __attribute__((noinline))
#define GCI_COLD __attribute__((cold, noinline))
#define GCI_HIDDEN __attribute__((visibility("hidden")))
#define GCI_API __attribute__((visibility("default")))

/* Set bits in a word.  Without a popcnt instruction (x86-64's baseline
 * has none) the builtin is a call into libgcc, which the bitmap loops of
 * the refill and the sweep made at every word; the arithmetic version
 * stays in line. */
static inline unsigned gci_popcount64(unsigned long long x)
{
#if defined(__POPCNT__) || !defined(__x86_64__)
    return (unsigned)__builtin_popcountll(x);
#else
    x -= (x >> 1) & 0x5555555555555555ULL;
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (unsigned)((x * 0x0101010101010101ULL) >> 56);
#endif
}

#endif
