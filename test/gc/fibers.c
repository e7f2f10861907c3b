/*
 * fibers.c -- coroutine stacks as roots (gc_fiber_register/switch/
 * unregister), with swapcontext.
 *
 * A fiber's stack comes from malloc, which the collector does not scan by
 * itself.  Objects held only in the fiber's locals must survive while the
 * fiber is suspended (scanned from where it was left) and while the thread
 * runs on it (scanned from the current stack pointer), and the thread's own
 * stack must stay a root while the thread is away on the fiber.  After
 * gc_fiber_unregister the fiber's locals keep nothing alive.
 */
#include "../check.h"
#include "../../gcheap.h"
#include "gc_util.h"

#include <ucontext.h>

enum { NODES = 20000, FIBER_STACK = 256 << 10 };

/* Saved contexts must be in scanned memory (the contract): the thread's in
 * .bss, the fiber's at the top of its own stack, so that nothing but the
 * fiber's stack scan can keep the fiber's objects alive. */
static ucontext_t main_ctx;
static ucontext_t *fiber_ctx;
static gc_fiber *fiber;
static struct gct_node *volatile main_list_for_check;
static int fiber_bad = -1;
static void **weak_links; /* malloc memory: not scanned */

static struct gct_node *make_list(uint64_t base)
{
    return gct_list(base, NODES, NULL);
}

static int list_bad(const struct gct_node *n, uint64_t base)
{
    return gct_list_bad(n, base, NODES);
}

/* Leave the fiber for the thread's own stack, and come back. */
static void yield_to_main(void)
{
    gc_fiber_switch(NULL);
    swapcontext(fiber_ctx, &main_ctx);
}

/* Lists are kept in volatile stack slots, not registers: then only the
 * stack (not the saved context in .bss) holds them, and only a scan of the
 * stack keeps them. */
static void fiber_main(void)
{
    struct gct_node *volatile mine[1];
    mine[0] = make_list(1000000); /* only on the fiber's stack */
    yield_to_main();              /* suspended: main collects */
    fiber_bad = list_bad(mine[0], 1000000);
    gct_churn(16u << 20, 2, 7); /* running on the fiber: collects */
    fiber_bad += list_bad(mine[0], 1000000);
    fiber_bad += list_bad(main_list_for_check, 0);
    for (int i = 0; i < 100; i++) { /* objects only the fiber holds */
        struct gct_node *n = gc_alloc(sizeof *n);
        gc_weak_link(&weak_links[i], n);
        n->next = mine[0];
        mine[0] = n;
    }
    yield_to_main(); /* never resumed */
}

__attribute__((noinline)) static void run(void)
{
    struct gct_node *volatile main_list[1];
    main_list[0] = make_list(0); /* only on the thread's stack */
    main_list_for_check = NULL;
    char *stack = malloc(FIBER_STACK);
    REQUIRE(stack != NULL);
    fiber = gc_fiber_register(stack, stack + FIBER_STACK);
    REQUIRE(fiber != NULL);
    size_t ctx_at = (FIBER_STACK - sizeof(ucontext_t)) & ~(size_t)63;
    fiber_ctx = (ucontext_t *)(stack + ctx_at);
    getcontext(fiber_ctx);
    fiber_ctx->uc_stack.ss_sp = stack;
    fiber_ctx->uc_stack.ss_size = ctx_at;
    fiber_ctx->uc_link = &main_ctx;
    makecontext(fiber_ctx, fiber_main, 0);

    gc_fiber_switch(fiber);
    swapcontext(&main_ctx, fiber_ctx); /* fiber builds its list, yields */
    gct_churn(16u << 20, 2, 5);        /* fiber suspended */
    CHECKF(list_bad(main_list[0], 0) == 0, "main's list lost");

    main_list_for_check = main_list[0]; /* the fiber checks it too */
    gc_fiber_switch(fiber);
    swapcontext(&main_ctx, fiber_ctx);
    main_list_for_check = NULL;
    CHECKF(fiber_bad == 0, "%d bad nodes seen on the fiber", fiber_bad);
    CHECKF(list_bad(main_list[0], 0) == 0, "main's list lost while on fiber");

    gc_fiber_unregister(fiber); /* its stack (and context) no root now */
    gct_clear_stack();
    for (int i = 0; i < 3; i++)
        gc_collect();
    int cleared = 0;
    for (int i = 0; i < 100; i++)
        cleared += gc_weak_get(&weak_links[i]) == NULL;
    CHECKF(cleared >= 90, "only %d of 100 unregistered-fiber objects freed",
           cleared);
    free(stack);
}

int main(void)
{
    gc_init();
    weak_links = calloc(100, sizeof *weak_links);
    REQUIRE(weak_links != NULL);
    run();
    return check_done();
}
