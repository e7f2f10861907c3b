/*
 * binarytrees.c -- the Computer Language Benchmarks Game "binary-trees",
 * single-threaded, for gcheap, bdwgc, glibc malloc and mimalloc.
 *
 * What it does (N = max depth, argv[1], default 20; min depth 4):
 *   1. build a "stretch" tree of depth N+1 bottom-up, check it, drop it;
 *   2. build a long-lived tree of depth N that stays alive to the end;
 *   3. for d = 4, 6, ..., N: 2^(N-d+4) times build a tree of depth d
 *      bottom-up, check it, drop it;
 *   4. check the long-lived tree.
 * A node is two pointers (16 bytes); check(tree) counts its nodes.  The
 * standard output lines are printed, and one machine-readable line
 *   RESULT bench=binarytrees alloc=NAME depth=N seconds=S maxrss_kib=K check=C
 * where C is the sum of all printed check values (it must be the same for
 * every allocator), S the wall time of steps 1-4 and K the peak RSS.
 *
 * What it stresses: a very high rate of short-lived 16-byte objects while a
 * large tree (2^(N+1)-1 nodes, 32 MiB of nodes at N=20) stays alive, so
 * every collection has to mark the long-lived tree again.
 *
 * "Dropping" a tree: gcheap and bdwgc forget the pointer and let the
 * collector reclaim it; malloc and mimalloc walk it and free every node.
 *
 * Usage: binarytrees-<alloc> [max depth]
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "gcvariant.h"

enum { MIN_DEPTH = 4, DEFAULT_DEPTH = 20, LIMIT_DEPTH = 30 };

struct node {
    struct node *left, *right;
};

static struct node *node_new(struct node *left, struct node *right)
{
    struct node *n = checked(node_alloc(sizeof *n), "a tree node");
    n->left = left;
    n->right = right;
    return n;
}

/* Bottom-up: both children exist before their parent. */
static struct node *tree_build(int depth)
{
    if (depth <= 0)
        return node_new(NULL, NULL);
    struct node *left = tree_build(depth - 1);
    struct node *right = tree_build(depth - 1);
    return node_new(left, right);
}

static uint64_t tree_check(const struct node *n)
{
    if (n->left == NULL)
        return 1;
    return 1 + tree_check(n->left) + tree_check(n->right);
}

static void tree_free(struct node *n)
{
    if (n->left != NULL) {
        tree_free(n->left);
        tree_free(n->right);
    }
    node_free(n);
}

/* The end of a tree's life: explicit frees only for malloc and mimalloc. */
static void tree_drop(struct node *n)
{
    if (EXPLICIT_FREE)
        tree_free(n);
}

static int parse_depth(int argc, char **argv)
{
    if (argc > 2) {
        fprintf(stderr, "usage: binarytrees-%s [max depth]\n", ALLOC_NAME);
        exit(2);
    }
    if (argc < 2)
        return DEFAULT_DEPTH;
    char *end;
    long v = strtol(argv[1], &end, 10);
    if (end == argv[1] || *end != '\0' || v < 0 || v > LIMIT_DEPTH) {
        fprintf(stderr, "binarytrees-%s: max depth must be 0..%d\n", ALLOC_NAME,
                LIMIT_DEPTH);
        exit(2);
    }
    return (int)v;
}

int main(int argc, char **argv)
{
    int max_depth = parse_depth(argc, argv);
    if (max_depth < MIN_DEPTH + 2)
        max_depth = MIN_DEPTH + 2;
    uint64_t total = 0;

    alloc_init();
    double t0 = now_seconds();

    int stretch_depth = max_depth + 1;
    struct node *stretch = tree_build(stretch_depth);
    uint64_t c = tree_check(stretch);
    tree_drop(stretch);
    total += c;
    printf("stretch tree of depth %d\t check: %" PRIu64 "\n", stretch_depth, c);

    struct node *long_lived = tree_build(max_depth);

    for (int d = MIN_DEPTH; d <= max_depth; d += 2) {
        uint64_t iterations = UINT64_C(1) << (max_depth - d + MIN_DEPTH);
        c = 0;
        for (uint64_t i = 0; i < iterations; i++) {
            struct node *t = tree_build(d);
            c += tree_check(t);
            tree_drop(t);
        }
        total += c;
        printf("%" PRIu64 "\t trees of depth %d\t check: %" PRIu64 "\n",
               iterations, d, c);
    }

    c = tree_check(long_lived);
    total += c;
    printf("long lived tree of depth %d\t check: %" PRIu64 "\n", max_depth, c);

    double seconds = now_seconds() - t0;
    long rss = maxrss_kib();
    tree_drop(long_lived);
    printf(
        "RESULT bench=binarytrees alloc=%s depth=%d seconds=%.3f maxrss_kib=%ld"
        " check=%" PRIu64 "\n",
        ALLOC_NAME, max_depth, seconds, rss, total);
    return 0;
}
