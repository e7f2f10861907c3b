/*
 * fiber.c -- coroutine stacks (gc_fiber_*), for interpreters that switch
 * stacks themselves (swapcontext, hand-written switches).
 *
 * A fiber is a stack [lo, hi).  While a thread runs on it, the thread's
 * parked stack pointer lies in it, so it is scanned from there to hi and
 * the thread's own stack from the stack pointer it had when it switched
 * away (native_sp) to its base.  A fiber no thread runs is scanned from
 * the stack pointer it was left at (saved_sp) to hi; one never run, not at
 * all.  The saved registers of a suspended fiber are the program's to
 * keep in scanned memory (the contract says so).
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

/* A thread running on fiber f, parked at sp: f from sp, the thread's own
 * stack from where it left it. */
void gci_fiber_mark_running(struct marker *m, struct gc_fiber *f, uintptr_t sp,
                            struct gthread *t)
{
    if (sp >= f->lo && sp < f->hi)
        gci_mark_stack(m, sp, f->hi);
    else /* switched in the caller's frame but not yet onto f */
        gci_mark_stack(m, sp, t->stack_hi);
    gci_mark_stack(m, t->native_sp, t->stack_hi);
}

/* Every fiber no thread is running. */
void gci_fibers_mark(struct marker *m)
{
    for (struct gc_fiber *f = fibers; f; f = f->next)
        if (!f->running)
            gci_mark_stack(m, f->saved_sp, f->hi);
}
