/*
 * roots.c -- what marking starts from.
 *
 * All roots are scanned conservatively, with the world stopped:
 *  1. static data: every writable PT_LOAD segment (.data, .bss, ...) of
 *     the executable and of every loaded shared object, as
 *     dl_iterate_phdr lists them.  The list is taken just before the world
 *     stops (the loader's lock may be held by a thread about to be
 *     stopped), so a library dlopen'ed later is a root from the next cycle
 *     on, and one dlclose'd in between must not be (see docs/api.md);
 *  2. ranges registered with gc_add_roots;
 *  3. every registered thread's stack, from the stack pointer it parked at
 *     (registers included, threads.c) to its base; the collecting thread's
 *     own from its current stack pointer; a suspended fiber's from the
 *     stack pointer it was left at;
 *  4. uncollectable objects, grey from the start;
 *  5. what finalizers keep alive (finalize.c).
 *
 * Owns: the registered ranges, the static-segment snapshot.
 * Concurrency: `roots_lock` over both; gc_add_roots/gc_remove_roots hold
 * it only inside a no-stop region, so a stopped thread never holds it.
 */
#include "internal.h"

#include <link.h>

struct range {
    uintptr_t lo, hi;
};

struct ranges {
    struct range *v;
    size_t n, cap;
};

static pthread_mutex_t roots_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ranges user_roots, static_roots;

static bool ranges_add(struct ranges *r, uintptr_t lo, uintptr_t hi)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        struct range *v = gci_os_alloc_meta(cap * sizeof *v);
        if (!v)
            return false;
        if (r->n)
            memcpy(v, r->v, r->n * sizeof *v);
        /* The old array is abandoned: metadata memory is not returned. */
        r->v = v;
        r->cap = cap;
    }
    r->v[r->n++] = (struct range){lo, hi};
    return true;
}

static int add_segments(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    (void)arg;
    for (size_t i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W))
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        ranges_add(&static_roots, lo, lo + ph->p_memsz);
    }
    return 0;
}

void gci_roots_snapshot(void)
{
    pthread_mutex_lock(&roots_lock);
    static_roots.n = 0;
    dl_iterate_phdr(add_segments, NULL);
    pthread_mutex_unlock(&roots_lock);
}

static void mark_ranges(struct marker *m, const struct ranges *r)
{
    for (size_t i = 0; i < r->n; i++)
        gci_mark_range(m, r->v[i].lo, r->v[i].hi);
}

/* The collecting thread's own stack: its callee-saved registers (which
 * may hold its caller's pointers) are spilled into this frame first. */
static GCI_NOINLINE void mark_thread(struct gthread *t, void *arg)
{
    struct marker *m = arg;
    __builtin_unwind_init();
    uintptr_t sp =
        t == gci_thread_self() ? gci_stack_below() : at_load(&t->stopped_sp);
    if (m->check) { /* checkmark.c: where old words may lie is quiet */
        uintptr_t hi = t->snap_sp > sp ? t->snap_sp : sp;
        /* the signal frame and the red zone below the stopped code */
        if (t != gci_thread_self() && t->user_sp > hi)
            hi = t->user_sp;
        m->quiet_lo = sp;
        m->quiet_hi = hi;
    } else {
        t->snap_sp = sp;
    }
    if (sp) /* 0: the thread was gone when the world stopped */
        gci_thread_mark_stacks(m, t, sp);
    m->quiet_lo = m->quiet_hi = 0;
}

static void mark_uncollectable(struct span *s, void *arg)
{
    if (s->kind != GCI_UNCOLLECTABLE)
        return;
    for (size_t i = 0; i < s->nelems; i++)
        if (slot_live(s, i))
            gci_mark_object(arg, s, i);
}

static void mark_ranges_and_finalizers(struct marker *m)
{
    pthread_mutex_lock(&roots_lock);
    mark_ranges(m, &static_roots);
    mark_ranges(m, &user_roots);
    pthread_mutex_unlock(&roots_lock);
    gci_finalize_mark(m);
}

/* The roots a concurrent cycle marks in its mark-start stop: all but the
 * uncollectable objects, which are heap objects (stores into them use the
 * barrier), so they are marked while the program runs. */
void gci_roots_mark_stopped(struct marker *m)
{
    mark_ranges_and_finalizers(m);
    gci_roots_mark_stacks(m);
}

/* The stacks: every thread's, and every registered fiber's. */
void gci_roots_mark_stacks(struct marker *m)
{
    gci_threads_each(mark_thread, m);
    gci_fibers_mark(m);
}

/* Every root but the stacks (the checkmark re-mark's first pass). */
void gci_roots_mark_but_stacks(struct marker *m)
{
    mark_ranges_and_finalizers(m);
    gci_roots_mark_uncollectable(m);
}

/* Greys every uncollectable object.  While a concurrent cycle marks, no
 * in-use span is freed, so the walk of the page map is safe.  Without
 * uncollectable spans there is no walk: it reads the page map's entry
 * for every page of the heap, every cycle. */
void gci_roots_mark_uncollectable(struct marker *m)
{
    if (at_load(&gci_uncollectable_spans) != 0)
        gci_mheap_each_span(mark_uncollectable, m);
}

/* Marks every root; the world is stopped. */
void gci_roots_mark(struct marker *m)
{
    gci_roots_mark_stopped(m);
    gci_roots_mark_uncollectable(m);
}

GCI_API void gc_add_roots(void *start, void *end)
{
    if ((uintptr_t)end <= (uintptr_t)start)
        return;
    struct mcache *c = gci_api_lock(&roots_lock);
    bool ok = ranges_add(&user_roots, (uintptr_t)start, (uintptr_t)end);
    gci_api_unlock(c, &roots_lock);
    if (!ok)
        gci_report("gc_add_roots(%p, %p): out of memory", start, end);
}

/* Removes every registered range that lies within [start, end). */
GCI_API void gc_remove_roots(void *start, void *end)
{
    struct mcache *c = gci_api_lock(&roots_lock);
    size_t kept = 0;
    for (size_t i = 0; i < user_roots.n; i++) {
        struct range r = user_roots.v[i];
        if (r.lo < (uintptr_t)start || r.hi > (uintptr_t)end)
            user_roots.v[kept++] = r;
    }
    user_roots.n = kept;
    gci_api_unlock(c, &roots_lock);
}
