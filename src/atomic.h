/*
 * atomic.h -- the atomics gcheap uses, on top of libatomic_ops.
 *
 * Every word that two threads may touch without a common lock is an AO_t and
 * goes through these functions.  The plain load and store are relaxed (one
 * ordinary mov on x86-64); acquire/release pair the publication of a span in
 * the page map with its readers; the read-modify-write operations are full
 * barriers and never appear on the allocation fast path.
 */
#ifndef GCHEAP_ATOMIC_H
#define GCHEAP_ATOMIC_H

#include <atomic_ops.h>
#include <stdbool.h>
#include <stddef.h>

static inline size_t at_load(const volatile AO_t *p) { return AO_load(p); }
static inline void at_store(volatile AO_t *p, size_t v) { AO_store(p, v); }

static inline size_t at_load_acq(const volatile AO_t *p)
{
    return AO_load_acquire(p);
}

static inline void at_store_rel(volatile AO_t *p, size_t v)
{
    AO_store_release(p, v);
}

static inline bool at_cas(volatile AO_t *p, size_t old, size_t new_value)
{
    return AO_compare_and_swap_full(p, old, new_value);
}

static inline size_t at_fetch_add(volatile AO_t *p, size_t v)
{
    return AO_fetch_and_add_full(p, v);
}

/* Sets bits; returns the word as it was.  libatomic_ops has no fetch-or
 * that returns the old word (AO_or returns nothing), and a CAS loop costs
 * a load and a retry under contention; the compiler builtin is one locked
 * instruction (a `lock bts` on x86-64 when the caller tests a single bit,
 * as marking does).  GCC and Clang both provide it. */
static inline size_t at_fetch_or(volatile AO_t *p, size_t bits)
{
    return __atomic_fetch_or(p, bits, __ATOMIC_SEQ_CST);
}

/* Reads and clears a word in one step. */
static inline size_t at_take(volatile AO_t *p)
{
    size_t old;
    do {
        old = AO_load(p);
    } while (old != 0 && !AO_compare_and_swap_full(p, old, 0));
    return old;
}

/* Owner-only counter bump: readers on other threads see a relaxed value,
 * the owner pays no atomic instruction. */
static inline void at_bump(volatile AO_t *p, size_t v)
{
    AO_store(p, AO_load(p) + v);
}

/* A spin-wait hint to the CPU (and to a hyperthread sibling). */
static inline void gci_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
