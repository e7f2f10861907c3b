/*
 * bigstructs.c -- large reachable structures survive (API.md,
 * "Reachability"), and marking handles long chains and deep structures
 * (a recursive marker would overflow its stack on a 1,000,000-long list).
 *
 * A singly linked list of 1,000,000 nodes of 32 bytes, reachable only from
 * one local variable, and a complete binary tree of depth 20 (1,048,575
 * nodes of 32 bytes), reachable only from another local, with garbage
 * interleaved while they are built.  After 64 MiB of garbage and
 * collections, both are walked: every node is an object (gc_base) with
 * its id and checksum in place, and the counts are exact.  About 70 MiB
 * live.
 */
#include "../check.h"
#include "../../gcheap.h"
#include "gc_util.h"

/* Smaller under TSan, where marking is slow. */
enum { LIST_N = GCT_TSAN ? 200000 : 1000000, TREE_DEPTH = GCT_TSAN ? 17 : 20 };

struct lnode {
    struct lnode *next;
    uint64_t id;
    uint64_t chk;
    uint64_t chk2;
};

struct tnode {
    struct tnode *left, *right;
    uint64_t id;
    uint64_t chk;
};

__attribute__((noinline)) static struct lnode *build_list(void)
{
    struct lnode *head = NULL;
    for (uint64_t i = 0; i < LIST_N; i++) {
        struct lnode *n = gc_alloc(sizeof *n);
        REQUIRE(n != NULL);
        n->next = head;
        n->id = i;
        n->chk = gct_word(i, 0);
        n->chk2 = gct_word(i, 1);
        head = n;
        if (i % 16 == 0) {
            /* garbage between the nodes: holes for the sweeper */
            uint64_t *g = gc_alloc(32 + (i % 64) * 8);
            REQUIRE(g != NULL);
            g[0] = 0xA5A5A5A5A5A5A5A5ull;
        }
    }
    return head;
}

static struct tnode *build_tree(uint64_t id, int depth)
{
    struct tnode *t = gc_alloc(sizeof *t);
    REQUIRE(t != NULL);
    t->id = id;
    t->chk = gct_word(id, 2);
    if (depth > 1) {
        t->left = build_tree(2 * id, depth - 1);
        if (id % 8 == 0) {
            void *g = gc_alloc(48); /* garbage */
            REQUIRE(g != NULL);
        }
        t->right = build_tree(2 * id + 1, depth - 1);
    }
    return t;
}

static long tree_bad, tree_count;

static void walk_tree(const struct tnode *t, uint64_t id, int depth)
{
    if (t == NULL) {
        tree_bad++;
        return;
    }
    tree_count++;
    if (gc_base(t) != t || t->id != id || t->chk != gct_word(id, 2)) {
        if (tree_bad++ < 5)
            fprintf(stderr, "tree node %llu at %p: base %p id %llu\n",
                    (gct_ull)id, (const void *)t, gc_base(t), (gct_ull)t->id);
        return;
    }
    if (depth > 1) {
        walk_tree(t->left, 2 * id, depth - 1);
        walk_tree(t->right, 2 * id + 1, depth - 1);
    } else if (t->left != NULL || t->right != NULL) {
        tree_bad++;
    }
}

__attribute__((noinline)) static void verify_list(const struct lnode *head)
{
    long count = 0, bad = 0;
    uint64_t want = LIST_N - 1;
    for (const struct lnode *n = head; n != NULL && count < LIST_N + 1;
         n = n->next, count++, want--) {
        if (gc_base(n) != n || n->id != want || n->chk != gct_word(want, 0) ||
            n->chk2 != gct_word(want, 1)) {
            fprintf(stderr, "list node %llu at %p: base %p id %llu\n",
                    (gct_ull)want, (const void *)n, gc_base(n), (gct_ull)n->id);
            bad++;
            break;
        }
    }
    CHECKF(bad == 0 && count == LIST_N, "list: %ld nodes walked, %ld bad",
           count, bad);
}

__attribute__((noinline)) static void verify_tree(const struct tnode *root)
{
    tree_bad = tree_count = 0;
    walk_tree(root, 1, TREE_DEPTH);
    CHECKF(tree_bad == 0 && tree_count == (1L << TREE_DEPTH) - 1,
           "tree: %ld nodes walked, %ld bad", tree_count, tree_bad);
}

int main(void)
{
    gc_init();
    double t0 = gct_now();
    struct lnode *list = build_list();
    struct tnode *tree = build_tree(1, TREE_DEPTH);
    double t1 = gct_now();
    gct_churn(64u << 20, 4, 1);
    double t2 = gct_now();
    verify_list(list);
    verify_tree(tree);
    gc_collect();
    verify_list(list);
    verify_tree(tree);
    gc_stats st;
    gc_get_stats(&st);
    uint64_t reachable = ((uint64_t)LIST_N + (1u << TREE_DEPTH) - 1) * 32;
    CHECKF(st.heap_live >= reachable / 10 * 9,
           "heap_live %llu < 90%% of the %llu bytes reachable",
           (gct_ull)st.heap_live, (gct_ull)reachable);
    printf(
        "build %.2fs, churn+collect %.2fs, %llu cycles, heap_live %llu MiB\n",
        t1 - t0, t2 - t1, (gct_ull)st.num_gc, (gct_ull)(st.heap_live >> 20));
    __asm__ volatile("" : : "r"(list), "r"(tree) : "memory");
    return check_done();
}
