/*
 * pagemap.c -- from any address to the span that holds it, in O(1).
 *
 * Two levels indexed by the address's arena number (address >> 26): a
 * static first level of 2^10 pointers to second levels of 2^12 pointers to
 * `struct arena`, whose spans[] names the span of each of its 8192 pages.
 * This is what makes conservative pointer identification cheap: a word
 * that maps to no arena, or to a page of no in-use span, is no pointer.
 *
 * Concurrency: the levels and arenas are created under the heap lock and
 * published with release stores; lookups are lock-free acquire loads.
 * Nothing is ever removed, so a lookup never reads freed metadata.
 * PAGEMAP-1: an in-use span is named by every one of its pages; a free
 *            span by its first and last page; other pages name nothing.
 */
#include "internal.h"

#define L1_ENTRIES ((size_t)1 << GCI_L1_BITS)
#define L2_ENTRIES ((size_t)1 << GCI_L2_BITS)

static AO_t level1[L1_ENTRIES]; /* AO_t *level2 */

struct arena *gci_pagemap_arena(uintptr_t addr)
{
    size_t n = addr >> GCI_ARENA_SHIFT;
    if (GCI_UNLIKELY(n >= L1_ENTRIES * L2_ENTRIES))
        return NULL;
    AO_t *l2 = (AO_t *)at_load_acq(&level1[n >> GCI_L2_BITS]);
    if (!l2)
        return NULL;
    return (struct arena *)at_load_acq(&l2[n & (L2_ENTRIES - 1)]);
}

static bool add_arena(size_t n)
{
    AO_t *l2 = (AO_t *)at_load(&level1[n >> GCI_L2_BITS]);
    if (!l2) {
        l2 = gci_os_alloc_meta(L2_ENTRIES * sizeof(AO_t));
        if (!l2)
            return false;
        at_store_rel(&level1[n >> GCI_L2_BITS], (size_t)l2);
    }
    if (at_load(&l2[n & (L2_ENTRIES - 1)]))
        return true;
    struct arena *a = gci_os_alloc_meta(sizeof(struct arena));
    if (!a)
        return false;
    at_store_rel(&l2[n & (L2_ENTRIES - 1)], (size_t)a);
    return true;
}

bool gci_pagemap_add_arenas(uintptr_t start, size_t bytes)
{
    for (uintptr_t p = start; p < start + bytes; p += GCI_ARENA_BYTES)
        if (!add_arena(p >> GCI_ARENA_SHIFT))
            return false;
    return true;
}

void gci_pagemap_set(uintptr_t start, size_t npages, struct span *s)
{
    for (size_t i = 0; i < npages; i++) {
        uintptr_t p = start + i * GCI_PAGE_BYTES;
        struct arena *a = gci_pagemap_arena(p);
        GCI_ASSERT(a != NULL);
        size_t page = (p >> GCI_PAGE_SHIFT) & (GCI_ARENA_PAGES - 1);
        at_store_rel(&a->spans[page], (size_t)s);
    }
}
