/*
 * barrier.c -- the hybrid write barrier, gc_memmove, and mutator assists:
 * what a program thread does for the collector while a concurrent cycle
 * marks.
 *
 * The barrier (Go 1.8's hybrid barrier, without the stack half: roots are
 * all scanned in the mark-start stop): a store `*slot = value` into a heap
 * object while marking first shades the old value of *slot (Yuasa's
 * deletion barrier) and then `value` (Dijkstra's insertion barrier).
 * Shading marks the object a word identifies, if it is white, and queues
 * it grey in the storing thread's own work buffer (gthread.wb), which is
 * published when full and at mark termination.  The fast path, inline in
 * gcheap.h, is one relaxed load of gc_internal_barrier_on and a branch.
 *
 * Why a store can race the mark start: a thread that read the flag as 0
 * and is stopped (by a signal, anywhere) before its store stores after
 * the roots were scanned, without shading.  That is safe.  The new value
 * was in its registers when it stopped: a root, so grey.  The old value O
 * matters only if some root still reaches it at mark termination without
 * a heap path: a root loaded after the scan from this slot.  This thread
 * loaded nothing between the flag and the store (the compiler fence in
 * gc_store keeps an earlier load of the slot before the flag's), so any
 * load of O it made was before the scan, and O was greyed from its roots.
 * Another thread's load of the slot after the scan would have to be
 * ordered before this store by synchronisation placed between the flag
 * and the store, where there is none: so it is a data race on the slot,
 * which C leaves undefined and the barrier does not cover.  Mark
 * termination cannot race the same way: the flag is 1 throughout the
 * mark, and the slow path reads it again inside its no-stop region.
 *
 * Assists (Go's gcAssistAlloc): while marking, a thread that takes a span
 * or a large object for `bytes` owes bytes * assist_ratio bytes of scan
 * work, where the ratio is the work the pacer expects still to be done
 * over the heap left before the goal.  It pays from its credit, then from
 * the background worker's banked credit, then by marking in steps of at
 * most ASSIST_STEP bytes; the surplus of a step is its next credit.  With
 * no grey object to be found it waits for work or credit.  Below the goal
 * an assist ends after about ASSIST_MAX_NS (a step overruns its deadline
 * by at most 4 items), of which about ASSIST_WAIT_NS waiting, keeping the
 * rest of its debt for its next span: a step over memory the host is slow
 * to give (16 KiB took up to 27 ms on the 2-CPU VM, bench/README.md) is
 * cut short instead of stopping the program.  Once the heap is at the
 * goal it pays in full, debt kept from earlier assists included, or
 * waits until marking ends.
 *
 * Concurrency: the slow paths run in a no-stop region, so a mark
 * termination never finds a thread halfway through shading or with grey
 * objects in a local prefetch queue; and they read the flag again inside
 * the region, since marking may have ended since the fast path read it.
 * BARRIER-1: while a cycle marks, every value overwritten in a heap slot
 *            through the barrier, and every value stored, is shaded.
 */
#include "internal.h"

#include <sched.h>

GCI_API int gc_internal_barrier_on;

AO_t gci_concurrent;
AO_t gci_assist_ns;
AO_t gci_bg_credit;    /* scan bytes the background worker did ahead */
AO_t gci_assist_ratio; /* scan bytes owed per allocated byte, x 2^16 */

#define ASSIST_STEP ((int64_t)16 << 10)
#define ASSIST_WAIT_NS 25000 /* longest wait for work in one assist */
#define ASSIST_MAX_NS 60000  /* longest assist below the goal */
#define RATIO_ONE 65536

static struct gthread *self_or_attach(void)
{
    struct gthread *t = gci_thread_self();
    if (!t && gci_thread_attach())
        t = gci_thread_self();
    if (!t)
        gci_fatal("out of memory registering a thread for the barrier");
    return t;
}

/* Shades what v identifies, if anything (a heap object's address or an
 * interior pointer). */
static inline void shade(struct gthread *t, uintptr_t v)
{
    uintptr_t lo = gci_heap_lo();
    if (v - lo < gci_heap_hi() - lo)
        gci_mark_word(&t->wb, v);
}

GCI_API void gc_internal_store_slow(void *slot, void *value)
{
    struct gthread *t = self_or_attach();
    gci_nostop_begin(&t->cache);
    if (gci_marking()) {
        shade(t, (uintptr_t) * (void *volatile *)slot);
        shade(t, (uintptr_t)value);
    }
    *(void **)slot = value;
    gci_nostop_end(&t->cache);
}

/* Shades every word of [p, p + n) (the calling thread is in a no-stop
 * region, and a cycle is marking). */
__attribute__((no_sanitize("address", "thread", "undefined"))) static void
shade_words(struct gthread *t, const void *p, size_t n)
{
    uintptr_t lo = ((uintptr_t)p + sizeof(uintptr_t) - 1) &
                   ~(uintptr_t)(sizeof(uintptr_t) - 1);
    for (uintptr_t a = lo; a + sizeof(uintptr_t) <= (uintptr_t)p + n;
         a += sizeof(uintptr_t))
        shade(t, *(volatile uintptr_t *)a);
}

/* The barrier for a bulk change of [p, p + n): its old words (a copy
 * over them, or a free of the object) or new ones (a copy from them). */
void gci_shade_range(const void *p, size_t n)
{
    if (!gci_marking() || n == 0)
        return;
    struct gthread *t = self_or_attach();
    gci_nostop_begin(&t->cache);
    if (gci_marking())
        shade_words(t, p, n);
    gci_nostop_end(&t->cache);
}

/* The whole move is a no-stop region, fast path too: unlike a one-word
 * store, memmove reads the words it overwrites.  A move the mark start
 * interrupted would go on after the roots' scan, unshaded, and a forward
 * move over an array the marker scans upward can carry a pointer from
 * ahead of the marker to behind it, where it is never seen. */
GCI_API void gc_memmove(void *dst, const void *src, size_t n)
{
    if (n == 0)
        return;
    struct gthread *t = self_or_attach();
    gci_nostop_begin(&t->cache);
    if (GCI_UNLIKELY(gci_marking())) {
        shade_words(t, dst, n);
        shade_words(t, src, n);
    }
    memmove(dst, src, n);
    gci_nostop_end(&t->cache);
}

/* Mark termination (world stopped) or thread exit: the thread's grey
 * objects become everyone's, and its marking is counted. */
void gci_barrier_flush(struct gthread *t)
{
    gci_work_flush(&t->wb);
    if (t->cache.black_bytes)
        at_fetch_add(&gci_cycle_black, t->cache.black_bytes);
    t->cache.black_bytes = 0;
    gci_mark_account(&t->wb);
}

/* At the mark start (world stopped): forgets the span a thread's marker
 * last looked up, which may not exist any more. */
void gci_barrier_reset(struct gthread *t)
{
    struct marker fresh = {0};
    t->wb = fresh;
    t->assist_credit = 0;
}

/* Takes what it can of its debt from the background worker's bank;
 * true if the debt is paid. */
static bool steal(struct gthread *t)
{
    for (;;) {
        size_t bank = at_load(&gci_bg_credit);
        if (bank == 0)
            return false;
        size_t take = (size_t)-t->assist_credit;
        if (take > bank)
            take = bank;
        if (at_cas(&gci_bg_credit, bank, bank - take)) {
            t->assist_credit += (int64_t)take;
            return t->assist_credit >= 0;
        }
    }
}

static bool below_goal(void)
{
    return at_load(&gci_heap_alloc) < gci_pacer_heap_goal();
}

/* The allocation slow path while marking: `bytes` were just taken. */
void gci_assist(size_t bytes)
{
    struct gthread *t = gci_thread_self();
    if (!t || !gci_marking())
        return;
    gci_assist_revise();
    uint64_t ratio = at_load(&gci_assist_ratio);
    /* ratio < 2^30 and bytes < 2^47: the product in a double is exact
     * enough, and cannot overflow as a 64-bit product could. */
    t->assist_credit -= (int64_t)((double)bytes * (double)ratio / 65536.0);
    if (t->assist_credit >= 0)
        return;
    if (steal(t))
        return;
    uint64_t t0 = 0, waited = 0;
    while (t->assist_credit < 0) {
        /* Below the goal one assist lasts about ASSIST_MAX_NS, what is
         * left of the debt staying for the next span; at or over it, as
         * long as the debt takes. */
        bool below = below_goal();
        gci_nostop_begin(&t->cache);
        uint64_t done = 0;
        bool marking = gci_marking();
        if (marking) {
            if (!t0)
                t0 = gci_os_now_ns();
            done = gci_mark_drain_some(&t->wb, ASSIST_STEP,
                                       below ? t0 + ASSIST_MAX_NS : 0);
            gci_work_flush(&t->wb);
            gci_mark_account(&t->wb);
        }
        gci_nostop_end(&t->cache);
        if (!marking)
            break;
        if (done) {
            t->assist_credit += (int64_t)done;
            if (below && gci_os_now_ns() - t0 >= ASSIST_MAX_NS &&
                below_goal()) /* again: other threads allocated meanwhile */
                break;
            continue;
        }
        /* Nothing grey to take: wait for the worker to share or to bank
         * credit.  Below the goal for at most ASSIST_WAIT_NS; at or over
         * the goal for as long as it takes (Go parks the goroutine until
         * credit comes): the heap must not outgrow the goal while the mark
         * lags. */
        if (steal(t))
            break;
        if (below &&
            (waited >= ASSIST_WAIT_NS ||
             gci_os_now_ns() - t0 >= ASSIST_MAX_NS) &&
            below_goal())
            break;
        /* In a no-stop region: the work list's lock is the collector's
         * at mark termination, so no stopped thread may hold it. */
        uint64_t w0 = gci_os_now_ns();
        gci_nostop_begin(&t->cache);
        gci_work_hungry(true);
        for (int i = 0; i < 200 && !gci_work_published() &&
                        !at_load(&gci_bg_credit) && gci_marking();
             i++)
            gci_cpu_relax();
        gci_work_hungry(false);
        gci_nostop_end(&t->cache);
        if (!gci_work_published() && !at_load(&gci_bg_credit))
            sched_yield();
        waited += gci_os_now_ns() - w0;
    }
    if (t0)
        at_fetch_add(&gci_assist_ns, gci_os_now_ns() - t0);
}

GCI_API int gc_set_concurrent(int enabled)
{
    init_once();
    size_t old;
    do
        old = at_load(&gci_concurrent);
    while (!at_cas(&gci_concurrent, old, enabled != 0));
    gci_pacer_mode_changed();
    return (int)old;
}
