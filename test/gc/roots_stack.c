/*
 * roots_stack.c -- the stacks of registered threads are roots (API.md,
 * "Roots"): objects referenced only from local variables of active frames
 * survive collections.
 *
 * A recursion 600 frames deep allocates at each level four objects of
 * different sizes (small, medium, large) and keeps them only in locals of
 * that frame.  At the deepest level it allocates 96 MiB of garbage with
 * collections in between; on the way back up each frame verifies every
 * payload word of its objects and that gc_base(p) == p.  A second round
 * keeps the pointers only in scalar locals that the compiler may hold in
 * callee-saved registers (saved registers are roots as well).
 */
#include "../check.h"
#include "../../gcheap.h"
#include "gc_util.h"

enum { DEPTH = 600, PER = 4 };

static size_t size_for(int level, int k)
{
    switch (k) {
    case 0:
        return 16 + (size_t)(level % 7) * 8; /* tiny */
    case 1:
        return 256 + (size_t)(level * 40 % 2048); /* small */
    case 2:
        return 4096 + (size_t)(level * 136 % 24576); /* medium */
    default:
        return level % 50 == 0 ? 200000 + (size_t)level * 8 /* large */
                               : 512;
    }
}

static uint64_t seed_for(int level, int k)
{
    return (uint64_t)level * 16 + (uint64_t)k + 1;
}

static int frames_checked;

static void verify(void *p, int level, int k)
{
    size_t size = size_for(level, k);
    CHECKF(gc_base(p) == p, "level %d obj %d: gc_base %p != %p", level, k,
           gc_base(p), p);
    CHECKF(gc_size(p) >= size, "level %d obj %d: gc_size %zu < %zu", level, k,
           gc_size(p), size);
    size_t bad = gct_bad(p, size / 8, seed_for(level, k));
    CHECKF(bad == 0, "level %d obj %d (size %zu): %zu corrupted words", level,
           k, size, bad);
}

/* Round 1: the pointers live in an array local to each frame. */
__attribute__((noinline)) static void descend_array(int level)
{
    void *locals[PER];
    for (int k = 0; k < PER; k++) {
        size_t size = size_for(level, k);
        locals[k] = (k & 1) ? gc_alloc(size) : gc_alloc_atomic(size);
        REQUIRE(locals[k] != NULL);
        gct_fill(locals[k], size / 8, seed_for(level, k));
    }
    if (level + 1 < DEPTH)
        descend_array(level + 1);
    else
        gct_churn(96u << 20, 6, 1);
    for (int k = 0; k < PER; k++)
        verify(locals[k], level, k);
    frames_checked++;
    __asm__ volatile("" : : "r"(locals) : "memory");
}

/* Round 2: scalar locals, free to live in callee-saved registers. */
__attribute__((noinline)) static void descend_scalars(int level)
{
    void *a = gc_alloc(size_for(level, 0));
    void *b = gc_alloc(size_for(level, 1));
    void *c = gc_alloc(size_for(level, 2));
    REQUIRE(a && b && c);
    gct_fill(a, size_for(level, 0) / 8, seed_for(level, 0));
    gct_fill(b, size_for(level, 1) / 8, seed_for(level, 1));
    gct_fill(c, size_for(level, 2) / 8, seed_for(level, 2));
    if (level + 1 < DEPTH / 2)
        descend_scalars(level + 1);
    else
        gct_churn(48u << 20, 4, 2);
    verify(a, level, 0);
    verify(b, level, 1);
    verify(c, level, 2);
    frames_checked++;
}

int main(void)
{
    gc_init();
    descend_array(0);
    CHECK(frames_checked == DEPTH);
    frames_checked = 0;
    descend_scalars(0);
    CHECK(frames_checked == DEPTH / 2);
    return check_done();
}
