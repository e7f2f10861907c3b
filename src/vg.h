/*
 * vg.h -- telling Valgrind's memcheck about the heap (GCHEAP_VALGRIND=1).
 *
 * Memcheck sees every object as a malloc-like block: free slots and free
 * pages are no-access, an allocation is a defined (zeroed) block of the
 * object's usable size, gc_free is a free.  So a use after gc_free is
 * reported like a use after free().  In other builds these are no-ops.
 */
#ifndef GCHEAP_VG_H
#define GCHEAP_VG_H

#include "config.h"
#include <stddef.h>
#include <string.h>

#if GCHEAP_VALGRIND
#include <valgrind/memcheck.h>
static inline void vg_alloc(void *p, size_t n)
{
    VALGRIND_MALLOCLIKE_BLOCK(p, n, 0, 1);
}
static inline void vg_free(void *p) { VALGRIND_FREELIKE_BLOCK(p, 0); }
static inline void vg_noaccess(void *p, size_t n)
{
    VALGRIND_MAKE_MEM_NOACCESS(p, n);
}
static inline void vg_undefined(void *p, size_t n)
{
    VALGRIND_MAKE_MEM_UNDEFINED(p, n);
}
#else
static inline void vg_alloc(void *p, size_t n) { (void)p, (void)n; }
static inline void vg_free(void *p) { (void)p; }
static inline void vg_noaccess(void *p, size_t n) { (void)p, (void)n; }
static inline void vg_undefined(void *p, size_t n) { (void)p, (void)n; }
#endif

/* Zeroes memory the allocator owns (not a live object). */
static inline void vg_zero(void *p, size_t n)
{
    vg_undefined(p, n);
    memset(p, 0, n);
}

#endif
