/*
 * arena.c -- reserving address space for the heap in 64 MiB arenas.
 *
 * The heap grows in regions of whole arenas, each aligned to 64 MiB so that
 * the page map can index it by address >> 26.  Regions are placed from a
 * hint that starts high (0x00c0_0000_0000, as Go does) and moves up, so the
 * heap is contiguous when the kernel allows and heap addresses look unlike
 * small integers (fewer false pointers for the conservative scanner).
 *
 * Owns: the placement hint, the list of regions and the heap's address
 * bounds (the marker's first, cheapest test of a candidate pointer).
 * Called only with the heap lock held; the bounds are atomic words.
 * ARENA-1: every region returned is aligned to GCI_ARENA_BYTES, a multiple
 *          of it in size, and registered in the page map.
 */
#include "internal.h"

#include "vg.h"

static uintptr_t next_hint = (uintptr_t)0xc0 << 32;

struct region *gci_regions;
AO_t gci_heap_lo_page, gci_heap_hi_page; /* 0, 0 until the first region */

static void add_region(uintptr_t p, size_t bytes)
{
    struct region *r = gci_os_alloc_meta(sizeof *r);
    if (r) { /* without it only gci_mheap_each_span misses the region */
        r->start = p;
        r->bytes = bytes;
        r->next = gci_regions;
        /* Published for gci_mheap_each_span, which a concurrent mark
         * runs without the heap lock. */
        __atomic_store_n(&gci_regions, r, __ATOMIC_RELEASE);
    }
    uintptr_t lo = p >> GCI_PAGE_SHIFT, hi = (p + bytes) >> GCI_PAGE_SHIFT;
    if (hi > at_load(&gci_heap_hi_page))
        at_store(&gci_heap_hi_page, hi);
    if (at_load(&gci_heap_lo_page) == 0 || lo < at_load(&gci_heap_lo_page))
        at_store(&gci_heap_lo_page, lo);
}

/* Maps `bytes` at an arena-aligned address: first at the hint, then
 * anywhere with room to trim to alignment. */
static uintptr_t reserve_aligned(size_t bytes)
{
    uintptr_t p = (uintptr_t)gci_os_reserve(bytes, next_hint);
    if (p && (p & (GCI_ARENA_BYTES - 1)) == 0)
        return p;
    if (p)
        gci_os_unreserve((void *)p, bytes);
    if (bytes > SIZE_MAX - GCI_ARENA_BYTES)
        return 0;
    p = (uintptr_t)gci_os_reserve(bytes + GCI_ARENA_BYTES, 0);
    if (!p)
        return 0;
    uintptr_t aligned = (p + GCI_ARENA_BYTES - 1) & ~(GCI_ARENA_BYTES - 1);
    gci_os_unreserve((void *)p, aligned - p);
    gci_os_unreserve((void *)(aligned + bytes), p + GCI_ARENA_BYTES - aligned);
    return aligned;
}

uintptr_t gci_arena_reserve(size_t bytes)
{
    GCI_ASSERT(bytes % GCI_ARENA_BYTES == 0);
    uintptr_t p = reserve_aligned(bytes);
    if (!p)
        return 0;
    if (p + bytes > ((uintptr_t)1 << GCI_ADDR_BITS) ||
        !gci_pagemap_add_arenas(p, bytes)) {
        gci_os_unreserve((void *)p, bytes);
        return 0;
    }
    next_hint = p + bytes;
    add_region(p, bytes);
    /* Readable and writable for the kernel (os.c), but nothing is there
     * until the page heap takes it: memcheck reports any access. */
    vg_noaccess((void *)p, bytes);
    return p;
}
