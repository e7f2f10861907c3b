/*
 * uncollectable.c -- uncollectable objects are roots (API.md, "Allocation"
 * and "Roots").
 *
 * An uncollectable table of 1000 pointers, referenced only from an
 * unscanned place (a disguised pointer), refers to 1000 collectable
 * objects, each the head of a 3-object chain.  They survive 96 MiB of
 * garbage and collections (payloads, gc_base), and so does the table.
 * After gc_free(table), the objects are reclaimed: >= 90% of their weak
 * links read NULL.  An uncollectable object reachable from nothing at all
 * is itself never collected.
 */
#include "../check.h"
#include "../../gcheap.h"
#include "gc_util.h"

#include <stdlib.h>

enum { N = 1000, CHAIN = 3 };

struct obj {
    struct obj *next;
    uint64_t pay[7];
};

static uintptr_t hidden_table; /* the table's address, disguised */
#define HIDE(p) ((uintptr_t)(p) ^ 0x5A5A5A5A5A5A5A5Aull)
#define UNHIDE(u) ((void *)((u) ^ 0x5A5A5A5A5A5A5A5Aull))

static void **links; /* N * CHAIN weak links in malloc memory */
static uintptr_t hidden_orphan;

static uint64_t seed(int i, int j) { return (uint64_t)i * 8 + (uint64_t)j + 7; }

__attribute__((noinline)) static void create(void)
{
    void **table = gc_alloc_uncollectable(N * sizeof(void *));
    REQUIRE(table != NULL);
    for (int i = 0; i < N; i++) {
        struct obj *head = NULL;
        for (int j = CHAIN - 1; j >= 0; j--) {
            struct obj *o = gc_alloc(sizeof *o);
            REQUIRE(o != NULL);
            o->next = head;
            gct_fill(o->pay, 7, seed(i, j));
            gc_weak_link(&links[i * CHAIN + j], o);
            head = o;
        }
        table[i] = head;
    }
    hidden_table = HIDE(table);

    /* Referenced from nowhere, yet never collected. */
    uint64_t *orphan = gc_alloc_uncollectable(4096);
    REQUIRE(orphan != NULL);
    gct_fill(orphan, 512, 99);
    hidden_orphan = HIDE(orphan);
}

__attribute__((noinline)) static void verify(void)
{
    void **table = UNHIDE(hidden_table);
    CHECK(gc_base(table) == table);
    CHECK(gc_size(table) >= N * sizeof(void *));
    int bad = 0, gone = 0;
    for (int i = 0; i < N; i++) {
        struct obj *o = table[i];
        for (int j = 0; j < CHAIN; j++) {
            if (o == NULL || gc_base(o) != o) {
                gone++;
                break;
            }
            bad += gct_bad(o->pay, 7, seed(i, j)) != 0;
            o = o->next;
        }
    }
    CHECKF(gone == 0, "%d chains lost an object", gone);
    CHECKF(bad == 0, "%d objects corrupted", bad);
    uint64_t *orphan = UNHIDE(hidden_orphan);
    CHECK(gc_base(orphan) == orphan);
    CHECK(gct_bad(orphan, 512, 99) == 0);
}

__attribute__((noinline)) static void free_table(void)
{
    gc_free(UNHIDE(hidden_table));
    hidden_table = 0;
}

int main(void)
{
    gc_init();
    links = calloc(N * CHAIN, sizeof *links);
    REQUIRE(links != NULL);
    create();
    gct_churn(96u << 20, 6, 1);
    verify();
    CHECK(gct_cleared(links, N * CHAIN) == 0);

    free_table();
    gct_collect_clean(3);
    gct_churn(16u << 20, 1, 2);
    size_t c = gct_cleared(links, N * CHAIN);
    CHECKF(c * 10 >= (size_t)N * CHAIN * 9,
           "after gc_free(table): %zu of %d objects reclaimed", c, N * CHAIN);
    printf("reclaimed %zu of %d after gc_free of the table\n", c, N * CHAIN);

    uint64_t *orphan = UNHIDE(hidden_orphan);
    CHECK(gc_base(orphan) == orphan);
    CHECK(gct_bad(orphan, 512, 99) == 0);
    gc_free(orphan);
    free(links);
    return check_done();
}
