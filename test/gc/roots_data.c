/*
 * roots_data.c -- the static data and bss of the executable are roots
 * (API.md, "Roots").
 *
 * Objects referenced only from an initialised global (.data), an
 * uninitialised global (.bss) and a static array inside a function survive
 * 96 MiB of garbage and collections, payloads intact, gc_base(p) == p.
 * Objects reachable only through a chain starting in .data survive too.
 * Then the globals are set to NULL: after collections, weak links (kept in
 * unscanned malloc memory) to at least 90% of those objects read NULL.
 */
#include "../check.h"
#include "../../gcheap.h"
#include "gc_util.h"

#include <stdlib.h>

enum {
    NDATA = 100,
    NBSS = 100,
    NSTATIC = 50,
    NCHAIN = 200,
    NALL = NDATA + NBSS + NSTATIC
};

void *gdata[NDATA] = {(void *)1}; /* .data */
void *gbss[NBSS];                 /* .bss */
void *gchain = (void *)2;         /* .data: head of a linked chain */

/* A static inside a function (in .bss). */
static void **fstatic(void)
{
    static void *slots[NSTATIC];
    return slots;
}

static void **links;       /* malloc memory: not scanned */
static void **chain_links; /* ditto */

static size_t obj_size(int i)
{
    return 16 + (size_t)(i % 9) * 8 + (i % 17 == 0 ? 9000 : 0) +
           (i % 41 == 0 ? 100000 : 0);
}

static void **slot(int i)
{
    if (i < NDATA)
        return &gdata[i];
    if (i < NDATA + NBSS)
        return &gbss[i - NDATA];
    return &fstatic()[i - NDATA - NBSS];
}

struct node {
    struct node *next;
    uint64_t pay[5];
};

__attribute__((noinline)) static void create(void)
{
    for (int i = 0; i < NALL; i++) {
        void *p =
            (i & 1) ? gc_alloc_atomic(obj_size(i)) : gc_alloc(obj_size(i));
        REQUIRE(p != NULL);
        gct_fill(p, obj_size(i) / 8, (uint64_t)i + 1);
        *slot(i) = p;
        gc_weak_link(&links[i], p);
    }
    struct node *head = NULL;
    for (int i = 0; i < NCHAIN; i++) {
        struct node *n = gc_alloc(sizeof *n);
        REQUIRE(n != NULL);
        n->next = head;
        gct_fill(n->pay, 5, 100000u + (uint64_t)i);
        gc_weak_link(&chain_links[i], n);
        head = n;
    }
    gchain = head;
}

__attribute__((noinline)) static void verify(void)
{
    for (int i = 0; i < NALL; i++) {
        void *p = *slot(i);
        CHECKF(gc_base(p) == p, "object %d: gc_base(%p) = %p", i, p,
               gc_base(p));
        size_t bad = gct_bad(p, obj_size(i) / 8, (uint64_t)i + 1);
        CHECKF(bad == 0, "object %d: %zu corrupted words", i, bad);
        CHECKF(gc_weak_get(&links[i]) == p, "object %d: weak link %p", i,
               gc_weak_get(&links[i]));
    }
    int i = NCHAIN - 1, count = 0;
    for (struct node *n = gchain; n != NULL; n = n->next, i--, count++) {
        CHECKF(gc_base(n) == n, "chain node %d: gc_base %p", i, gc_base(n));
        CHECKF(gct_bad(n->pay, 5, 100000u + (uint64_t)i) == 0,
               "chain node %d corrupted", i);
        if (count > NCHAIN)
            break;
    }
    CHECKF(count == NCHAIN, "chain has %d nodes, want %d", count, NCHAIN);
}

__attribute__((noinline)) static void drop(void)
{
    for (int i = 0; i < NALL; i++)
        *slot(i) = NULL;
    gchain = NULL;
}

int main(void)
{
    gc_init();
    links = calloc(NALL, sizeof *links);
    chain_links = calloc(NCHAIN, sizeof *chain_links);
    REQUIRE(links != NULL && chain_links != NULL);

    create();
    gct_churn(96u << 20, 6, 1);
    verify();
    gct_churn(32u << 20, 2, 2);
    verify();

    drop();
    gct_collect_clean(3);
    size_t c = gct_cleared(links, NALL);
    CHECKF(c * 10 >= (size_t)NALL * 9, "%zu of %d weak links cleared", c, NALL);
    size_t cc = gct_cleared(chain_links, NCHAIN);
    CHECKF(cc * 10 >= (size_t)NCHAIN * 9, "%zu of %d chain links cleared", cc,
           NCHAIN);
    printf("cleared %zu/%d objects, %zu/%d chain nodes\n", c, NALL, cc, NCHAIN);
    free(links);
    free(chain_links);
    return check_done();
}
