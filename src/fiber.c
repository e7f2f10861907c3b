/*
 * fiber.c -- coroutine stacks (gc_fiber_*), for interpreters that switch
 * stacks themselves (swapcontext, hand-written switches).
 *
 * A fiber is a stack [lo, hi).  A parked thread's stack pointer says
 * which stack it is on: that one is scanned from there (registers
 * included), and, when it is a fiber, the thread's own stack from the
 * stack pointer it had when it switched away (native_sp).  Every other
 * fiber is scanned from the stack pointer it was left at (saved_sp); one
 * never run, not at all.  Deciding by the stack pointer, not by the
 * bookkeeping, keeps a stop half way through a switch safe.  The saved
 * registers of a suspended fiber are the program's to keep in scanned memory
 * (the contract says so).
 *
 * Owns: the list of fibers.
 * Concurrency: `fibers_lock`, taken by the API inside a no-stop region;
 * a fiber's `running` and `saved_sp` change only on the thread switching
 * it, and are read by the collector with the world stopped.
 */
#include "internal.h"

struct gc_fiber {
    uintptr_t lo, hi;
    uintptr_t saved_sp;
    struct gthread *running; /* the thread on it, or NULL */
    size_t scanned;          /* the sweepgen of the cycle that scanned it */
    struct gc_fiber *next, *prev;
};

static pthread_mutex_t fibers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gc_fiber *fibers;

static struct mcache *enter(void) { return gci_api_lock(&fibers_lock); }
static void leave(struct mcache *c) { gci_api_unlock(c, &fibers_lock); }

GCI_API gc_fiber *gc_fiber_register(void *stack_lo, void *stack_hi)
{
    if ((uintptr_t)stack_hi <= (uintptr_t)stack_lo) {
        gci_report("gc_fiber_register(%p, %p): empty stack", stack_lo,
                   stack_hi);
        return NULL;
    }
    struct gc_fiber *f = gci_os_alloc_meta(sizeof *f);
    if (!f)
        return NULL;
    f->lo = (uintptr_t)stack_lo;
    f->hi = (uintptr_t)stack_hi;
    f->saved_sp = f->hi;
    struct mcache *c = enter();
    f->next = fibers;
    if (fibers)
        fibers->prev = f;
    fibers = f;
    leave(c);
    return f;
}

/* Called right before the thread switches onto `to`'s stack (NULL: its
 * own).  The caller's frames sit just above this one, so this frame's
 * address is the stack pointer the current stack is left at. */
GCI_API void gc_fiber_switch(gc_fiber *to)
{
    struct mcache *c = enter();
    struct gthread *t = gci_thread_self();
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    if (t->fiber) {
        t->fiber->saved_sp = sp;
        t->fiber->running = NULL;
    } else {
        t->native_sp = sp;
    }
    t->fiber = to;
    if (to)
        to->running = t;
    leave(c);
}

GCI_API void gc_fiber_unregister(gc_fiber *f)
{
    if (!f)
        return;
    struct mcache *c = enter();
    if (f->prev)
        f->prev->next = f->next;
    else
        fibers = f->next;
    if (f->next)
        f->next->prev = f->prev;
    struct gthread *t = f->running;
    if (t)
        t->fiber = NULL;
    leave(c);
    /* The struct is metadata: leaked, 48 bytes per fiber ever made. */
}

/* The registered fiber whose stack holds sp, or NULL. */
static struct gc_fiber *fiber_holding(uintptr_t sp)
{
    for (struct gc_fiber *f = fibers; f; f = f->next)
        if (sp >= f->lo && sp < f->hi)
            return f;
    return NULL;
}

/*
 * A thread parked at sp: the stack that holds sp is scanned from sp (so
 * the registers saved below its frames are included), whatever t->fiber
 * says -- a stop may come half way through a switch, after gc_fiber_switch
 * but before the thread is on the new stack.  If sp is on a fiber, the
 * thread's own stack is scanned from where it left it.
 */
void gci_thread_mark_stacks(struct marker *m, struct gthread *t, uintptr_t sp)
{
    struct gc_fiber *on = fibers ? fiber_holding(sp) : NULL;
    if (!on) {
        gci_mark_stack(m, sp, t->stack_hi);
        return;
    }
    on->scanned = at_load(&gci_sweepgen);
    gci_mark_stack(m, sp, on->hi);
    if (t->native_sp)
        gci_mark_stack(m, t->native_sp, t->stack_hi);
}

/* Every fiber no parked thread is on, from where it was left. */
void gci_fibers_mark(struct marker *m)
{
    size_t cycle = at_load(&gci_sweepgen);
    for (struct gc_fiber *f = fibers; f; f = f->next)
        if (f->scanned != cycle)
            gci_mark_stack(m, f->saved_sp, f->hi);
}
