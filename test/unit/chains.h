/* chains.h -- for the unit tests of concurrent marking (termination.c,
 * bgmark.c): a live heap of checksummed 64-byte nodes in chains, as
 * bench/latency's, and garbage that reuses any of it freed by mistake. */
#ifndef GCHEAP_TEST_CHAINS_H
#define GCHEAP_TEST_CHAINS_H

#include "../check.h"
#include "internal.h"

struct node {
    struct node *next;
    uint64_t id, check, pad[5];
};

enum { MAX_CHAINS = 256 };

static struct node *volatile chains[MAX_CHAINS];
static uint64_t nchains, nnodes;

static uint64_t sum_of(uint64_t id) { return id * 0x9e3779b97f4a7c15ull + 7; }

/* `nodes` nodes, node i at the head of chain i % `count`. */
static void chains_build(uint64_t count, uint64_t nodes)
{
    REQUIRE(count <= MAX_CHAINS);
    nchains = count;
    nnodes = nodes;
    for (uint64_t i = 0; i < nodes; i++) {
        struct node *n = gc_alloc(sizeof *n);
        REQUIRE(n != NULL);
        n->id = i;
        n->check = sum_of(i);
        n->next = chains[i % count];
        chains[i % count] = n;
    }
}

__attribute__((noinline)) static void garbage(int count)
{
    for (int i = 0; i < count; i++) {
        uint64_t *p = gc_alloc(sizeof(struct node));
        REQUIRE(p != NULL);
        memset(p, 0xa5, sizeof(struct node));
    }
}

static void chains_verify(const char *what)
{
    uint64_t bad = 0, count = 0;
    for (uint64_t c = 0; c < nchains; c++)
        for (struct node *n = chains[c]; n; n = n->next, count++)
            bad += n->check != sum_of(n->id) || n->id % nchains != c;
    CHECKF(bad == 0 && count == nnodes, "%s: %llu bad of %llu nodes", what,
           (unsigned long long)bad, (unsigned long long)count);
}

#endif
