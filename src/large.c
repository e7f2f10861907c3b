/*
 * large.c -- objects over 32 KiB: one span each, straight from the page
 * heap.
 *
 * A large span has one slot (nelems 1, elemsize = its whole pages, so the
 * usable size is the request rounded up to pages).  Its alloc bit is set
 * after the span is published and cleared by a compare-and-swap on free,
 * so of two racing frees only one returns the pages.  Large objects are
 * not zeroed when freed; the page heap remembers their pages as dirty
 * (HEAP-3) and allocation zeroes them only then.
 */
#include "internal.h"
#include "vg.h"

void *gci_large_alloc(struct mcache *c, size_t size, enum gci_kind kind)
{
    size_t npages = (size + GCI_PAGE_BYTES - 1) >> GCI_PAGE_SHIFT;
    struct span *s = gci_mheap_alloc(npages, 0, kind);
    if (!s)
        return gci_out_of_memory(size);
    void *p = (void *)s->start;
    vg_alloc(p, s->elemsize);
    if (s->needzero)
        memset(p, 0, s->elemsize);
    at_store(&s->alloc_bits[0], 1);
    at_bump(&c->nmalloc, 1);
    at_bump(&c->bytes_alloc, s->elemsize);
    return p;
}

void gci_large_free(struct mcache *c, struct span *s)
{
    if (!at_cas(&s->alloc_bits[0], 1, 0)) {
        gci_report("gc_free(%p): object already freed (double free?)",
                   (void *)s->start);
        return;
    }
    at_bump(&c->nfree, 1);
    at_bump(&c->bytes_freed, s->elemsize);
    vg_free((void *)s->start);
    gci_mheap_free(s);
}
