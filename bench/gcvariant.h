/*
 * gcvariant.h -- the allocator under test for the collector benchmarks
 * (binarytrees.c, gcbench.c), chosen by exactly one of
 *
 *   ALLOC_GCHEAP    gc_alloc / gc_alloc_atomic, never freed: the collector
 *                   reclaims dead trees.
 *   ALLOC_BDWGC     GC_MALLOC / GC_MALLOC_ATOMIC after GC_INIT(), never
 *                   freed (single-threaded, no GC_THREADS needed).
 *   ALLOC_MALLOC    glibc malloc, every node freed explicitly when its tree
 *                   dies.
 *   ALLOC_MIMALLOC  mi_malloc / mi_free, freed explicitly like malloc.
 *
 * Each variant defines:
 *   ALLOC_NAME            "gcheap", "bdwgc", "malloc" or "mimalloc"
 *   EXPLICIT_FREE         1 if dead trees must be walked and freed, else 0
 *   alloc_init()          called once before timing starts
 *   node_alloc(size)      a small object that holds pointers
 *   node_free(p)          only called when EXPLICIT_FREE
 *   data_alloc(size)      a large pointer-free buffer (atomic for the
 *                         collectors: never scanned)
 *   data_free(p)          only called when EXPLICIT_FREE
 * and the measurement helpers now_seconds() and maxrss_kib().
 *
 * Memory from node_alloc is not necessarily zeroed (malloc, mi_malloc):
 * the benchmarks initialise every field they read.
 */
#ifndef BENCH_GCVARIANT_H
#define BENCH_GCVARIANT_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#if defined(ALLOC_GCHEAP)
#include "gcheap.h"
#define ALLOC_NAME "gcheap"
#define EXPLICIT_FREE 0
static inline void alloc_init(void) { gc_init(); }
static inline void *node_alloc(size_t size) { return gc_alloc(size); }
static inline void node_free(void *p) { (void)p; }
static inline void *data_alloc(size_t size) { return gc_alloc_atomic(size); }
static inline void data_free(void *p) { (void)p; }

#elif defined(ALLOC_BDWGC)
#include <gc.h>
#define ALLOC_NAME "bdwgc"
#define EXPLICIT_FREE 0
static inline void alloc_init(void) { GC_INIT(); }
static inline void *node_alloc(size_t size) { return GC_MALLOC(size); }
static inline void node_free(void *p) { (void)p; }
static inline void *data_alloc(size_t size) { return GC_MALLOC_ATOMIC(size); }
static inline void data_free(void *p) { (void)p; }

#elif defined(ALLOC_MALLOC)
#define ALLOC_NAME "malloc"
#define EXPLICIT_FREE 1
static inline void alloc_init(void) {}
static inline void *node_alloc(size_t size) { return malloc(size); }
static inline void node_free(void *p) { free(p); }
static inline void *data_alloc(size_t size) { return malloc(size); }
static inline void data_free(void *p) { free(p); }

#elif defined(ALLOC_MIMALLOC)
#include <mimalloc.h>
#define ALLOC_NAME "mimalloc"
#define EXPLICIT_FREE 1
static inline void alloc_init(void) {}
static inline void *node_alloc(size_t size) { return mi_malloc(size); }
static inline void node_free(void *p) { mi_free(p); }
static inline void *data_alloc(size_t size) { return mi_malloc(size); }
static inline void data_free(void *p) { mi_free(p); }

#else
#error "define one of ALLOC_GCHEAP, ALLOC_BDWGC, ALLOC_MALLOC, ALLOC_MIMALLOC"
#endif

/* Wall-clock seconds, CLOCK_MONOTONIC. */
static inline double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Peak resident set size of the process so far, KiB (Linux ru_maxrss). */
static inline long maxrss_kib(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return ru.ru_maxrss;
}

/* Out of memory is fatal: a benchmark result without all its work is void. */
static inline void *checked(void *p, const char *what)
{
    if (p == NULL) {
        fprintf(stderr, "%s: out of memory allocating %s\n", ALLOC_NAME, what);
        exit(1);
    }
    return p;
}

#endif
