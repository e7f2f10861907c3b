/*
 * roots_registered.c -- gc_add_roots / gc_remove_roots (API.md, "Roots").
 *
 *  1. Objects referenced only from two malloc'ed blocks registered with
 *     gc_add_roots, and from an mmap'ed region registered the same way,
 *     survive 96 MiB of garbage and collections (payloads, gc_base).
 *  2. gc_remove_roots of one block: its objects are reclaimed (>= 90% of
 *     their weak links read NULL) while the other block's objects survive.
 *  3. Objects referenced only from a malloc block that was never registered
 *     are reclaimed (>= 90%).
 * Weak links live in unregistered malloc memory, which is not scanned.
 */
#include "../check.h"
#include "../../gcheap.h"
#include "gc_util.h"

#include <stdlib.h>
#include <sys/mman.h>

enum { N = 1000 };

static void **block_a, **block_b, **block_m, **block_u; /* roots / not */
static void **links_a, **links_b, **links_m, **links_u;

static size_t obj_size(int i)
{
    return 16 + (size_t)(i % 13) * 24 + (i % 97 == 0 ? 40000 : 0);
}

__attribute__((noinline)) static void fill_block(void **block, void **links,
                                                 uint64_t base)
{
    for (int i = 0; i < N; i++) {
        void *p = gc_alloc(obj_size(i));
        REQUIRE(p != NULL);
        gct_fill(p, obj_size(i) / 8, base + (uint64_t)i);
        block[i] = p;
        gc_weak_link(&links[i], p);
    }
}

__attribute__((noinline)) static void
verify_block(void **block, void **links, uint64_t base, const char *name)
{
    int bad_objs = 0, bad_base = 0, bad_links = 0;
    for (int i = 0; i < N; i++) {
        void *p = block[i];
        bad_base += gc_base(p) != p;
        bad_objs += gct_bad(p, obj_size(i) / 8, base + (uint64_t)i) != 0;
        bad_links += gc_weak_get(&links[i]) != p;
    }
    CHECKF(bad_base == 0, "%s: %d objects no longer objects", name, bad_base);
    CHECKF(bad_objs == 0, "%s: %d objects corrupted", name, bad_objs);
    CHECKF(bad_links == 0, "%s: %d weak links wrong", name, bad_links);
}

static void **xcalloc(size_t n)
{
    void **p = calloc(n, sizeof(void *));
    REQUIRE(p != NULL);
    return p;
}

int main(void)
{
    gc_init();
    block_a = xcalloc(N);
    block_b = xcalloc(N);
    block_u = xcalloc(N);
    block_m = mmap(NULL, N * sizeof(void *), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(block_m != MAP_FAILED);
    links_a = xcalloc(N);
    links_b = xcalloc(N);
    links_m = xcalloc(N);
    links_u = xcalloc(N);

    gc_add_roots(block_a, block_a + N);
    gc_add_roots(block_b, block_b + N);
    gc_add_roots(block_m, block_m + N);
    fill_block(block_a, links_a, 1000);
    fill_block(block_b, links_b, 2000);
    fill_block(block_m, links_m, 3000);
    fill_block(block_u, links_u, 4000);

    gct_churn(96u << 20, 6, 1);
    verify_block(block_a, links_a, 1000, "registered malloc block A");
    verify_block(block_b, links_b, 2000, "registered malloc block B");
    verify_block(block_m, links_m, 3000, "registered mmap block");

    /* Never registered: reclaimed. */
    size_t cu = gct_cleared(links_u, N);
    CHECKF(cu * 10 >= N * 9, "unregistered block: %zu of %d reclaimed", cu, N);

    /* Unregister A: its objects go, B's and the mmap block's stay. */
    gc_remove_roots(block_a, block_a + N);
    gct_collect_clean(2);
    gct_churn(32u << 20, 2, 2);
    size_t ca = gct_cleared(links_a, N);
    CHECKF(ca * 10 >= N * 9, "removed block A: %zu of %d reclaimed", ca, N);
    verify_block(block_b, links_b, 2000,
                 "registered malloc block B (after removing A)");
    verify_block(block_m, links_m, 3000,
                 "registered mmap block (after removing A)");
    printf("reclaimed: unregistered %zu/%d, removed %zu/%d\n", cu, N, ca, N);

    gc_remove_roots(block_b, block_b + N);
    gc_remove_roots(block_m, block_m + N);
    gct_collect_clean(2);
    size_t cb = gct_cleared(links_b, N), cm = gct_cleared(links_m, N);
    CHECKF(cb * 10 >= N * 9, "removed block B: %zu of %d reclaimed", cb, N);
    CHECKF(cm * 10 >= N * 9, "removed mmap block: %zu of %d reclaimed", cm, N);

    munmap(block_m, N * sizeof(void *));
    free(block_a);
    free(block_b);
    free(block_u);
    free(links_a);
    free(links_b);
    free(links_m);
    free(links_u);
    return check_done();
}
