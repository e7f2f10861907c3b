/*
 * gcbench.c -- GCBench (John Ellis, Pete Kovac, Hans Boehm), written afresh
 * from its description, for gcheap, bdwgc, glibc malloc and mimalloc.
 *
 * What it does:
 *   1. "stretch" the heap: build a tree of depth 18 bottom-up, drop it;
 *   2. build a long-lived tree of depth 16 top-down and a long-lived array
 *      of 500,000 doubles (pointer-free: atomic for the collectors), both
 *      alive to the end;
 *   3. for depth d = 4, 6, ..., 16: build N(d) trees of depth d top-down
 *      (allocate a node, then its children, then theirs) and drop each,
 *      then N(d) trees bottom-up (children before parents) and drop each,
 *      where N(d) = 2 * nodes(18) / nodes(d), nodes(d) = 2^(d+1) - 1: every
 *      depth allocates about the same number of nodes (~1M per direction);
 *   4. verify that the long-lived tree and array are intact.
 * A node is two pointers and two ints (24 bytes on LP64).  Per-depth times
 * are printed for information, then one machine-readable line
 *   RESULT bench=gcbench alloc=NAME seconds=S maxrss_kib=K check=C
 * with S the wall time of steps 1-4, K the peak RSS, and C the number of
 * nodes allocated plus the number of nodes found in the long-lived tree at
 * the end (the same for every allocator).
 *
 * What it stresses: as binarytrees, many short-lived small objects while a
 * large tree stays alive, in both construction orders, plus a large object
 * that the collector must not scan (and with gcheap and bdwgc, large-object
 * allocation next to the small-object heap).
 *
 * "Dropping" a tree: gcheap and bdwgc forget the pointer and let the
 * collector reclaim it; malloc and mimalloc walk it and free every node.
 *
 * Differences from the published program, none affecting the allocation
 * pattern: the whole array is filled (not only its first half), so its
 * pages are resident for every allocator alike; element 0 is 0 instead of
 * 1/0; and a node count replaces the published program's null check.
 *
 * Usage: gcbench-<alloc>   (no arguments: the parameters are the classic
 * ones)
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "gcvariant.h"

enum {
    STRETCH_DEPTH = 18,
    LONG_LIVED_DEPTH = 16,
    ARRAY_SIZE = 500000,
    MIN_DEPTH = 4,
    MAX_DEPTH = 16,
};

struct node {
    struct node *left, *right;
    int i, j;
};

static uint64_t nodes_allocated;

static struct node *node_new(struct node *left, struct node *right)
{
    struct node *n = checked(node_alloc(sizeof *n), "a tree node");
    n->left = left;
    n->right = right;
    n->i = 0;
    n->j = 0;
    nodes_allocated++;
    return n;
}

/* Nodes in a full binary tree of the given depth (a leaf has depth 0). */
static uint64_t tree_size(int depth)
{
    return (UINT64_C(1) << (depth + 1)) - 1;
}

/* Trees of this depth to build per direction. */
static uint64_t iterations(int depth)
{
    return 2 * tree_size(STRETCH_DEPTH) / tree_size(depth);
}

/* Top-down: give the existing node n children, then give those children. */
static void populate(int depth, struct node *n)
{
    if (depth <= 0)
        return;
    n->left = node_new(NULL, NULL);
    n->right = node_new(NULL, NULL);
    populate(depth - 1, n->left);
    populate(depth - 1, n->right);
}

/* Bottom-up: both subtrees exist before their parent is allocated. */
static struct node *make_tree(int depth)
{
    if (depth <= 0)
        return node_new(NULL, NULL);
    struct node *left = make_tree(depth - 1);
    struct node *right = make_tree(depth - 1);
    return node_new(left, right);
}

static void tree_free(struct node *n)
{
    if (n->left != NULL)
        tree_free(n->left);
    if (n->right != NULL)
        tree_free(n->right);
    node_free(n);
}

/* The end of a tree's life: explicit frees only for malloc and mimalloc. */
static void tree_drop(struct node *n)
{
    if (EXPLICIT_FREE)
        tree_free(n);
}

/* Counts the nodes; -1 if the tree is not a full tree of the given depth. */
static int64_t tree_verify(const struct node *n, int depth)
{
    if (n == NULL || n->i != 0 || n->j != 0)
        return -1;
    if (depth == 0)
        return n->left == NULL && n->right == NULL ? 1 : -1;
    int64_t l = tree_verify(n->left, depth - 1);
    int64_t r = tree_verify(n->right, depth - 1);
    return l < 0 || r < 0 ? -1 : 1 + l + r;
}

static void time_construction(int depth)
{
    uint64_t n = iterations(depth);
    printf("Creating %" PRIu64 " trees of depth %d\n", n, depth);

    double t = now_seconds();
    for (uint64_t i = 0; i < n; i++) {
        struct node *tree = node_new(NULL, NULL);
        populate(depth, tree);
        tree_drop(tree);
    }
    printf("\tTop down construction time %.0f msec\n",
           (now_seconds() - t) * 1e3);

    t = now_seconds();
    for (uint64_t i = 0; i < n; i++) {
        struct node *tree = make_tree(depth);
        tree_drop(tree);
    }
    printf("\tBottom up construction time %.0f msec\n",
           (now_seconds() - t) * 1e3);
}

int main(int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: gcbench-%s (no arguments)\n", ALLOC_NAME);
        return 2;
    }
    alloc_init();
    printf("GCBench (%s): stretch depth %d, long-lived tree depth %d and %d "
           "doubles,"
           " trees of depth %d..%d\n",
           ALLOC_NAME, STRETCH_DEPTH, LONG_LIVED_DEPTH, ARRAY_SIZE, MIN_DEPTH,
           MAX_DEPTH);
    printf(" Long-lived data: %" PRIu64 " bytes of nodes, %zu bytes of array\n",
           tree_size(LONG_LIVED_DEPTH) * sizeof(struct node),
           ARRAY_SIZE * sizeof(double));

    double t0 = now_seconds();

    printf(" Stretching memory with a tree of depth %d\n", STRETCH_DEPTH);
    tree_drop(make_tree(STRETCH_DEPTH));

    printf(" Creating a long-lived tree of depth %d\n", LONG_LIVED_DEPTH);
    struct node *long_lived = node_new(NULL, NULL);
    populate(LONG_LIVED_DEPTH, long_lived);

    printf(" Creating a long-lived array of %d doubles\n", ARRAY_SIZE);
    double *array =
        checked(data_alloc(ARRAY_SIZE * sizeof *array), "the array");
    array[0] = 0.0;
    for (int i = 1; i < ARRAY_SIZE; i++)
        array[i] = 1.0 / i;

    for (int d = MIN_DEPTH; d <= MAX_DEPTH; d += 2)
        time_construction(d);

    int64_t live = tree_verify(long_lived, LONG_LIVED_DEPTH);
    int array_ok = array[1000] == 1.0 / 1000 &&
                   array[ARRAY_SIZE - 1] == 1.0 / (ARRAY_SIZE - 1);
    double seconds = now_seconds() - t0;
    long rss = maxrss_kib();
    printf("Completed in %.0f msec\n", seconds * 1e3);

    if (live != (int64_t)tree_size(LONG_LIVED_DEPTH) || !array_ok) {
        fprintf(stderr, "gcbench-%s: FAILED: long-lived tree %s, array %s\n",
                ALLOC_NAME, live < 0 ? "damaged" : "intact",
                array_ok ? "intact" : "damaged");
        return 1;
    }
    tree_drop(long_lived);
    if (EXPLICIT_FREE)
        data_free(array);
    printf("RESULT bench=gcbench alloc=%s seconds=%.3f maxrss_kib=%ld "
           "check=%" PRIu64 "\n",
           ALLOC_NAME, seconds, rss, nodes_allocated + (uint64_t)live);
    return 0;
}
