/*
 * gc.c -- the collection cycle: the one orchestrator.
 *
 * gcheap's collector is a tri-color mark-sweep collector (Dijkstra et al.,
 * "On-the-fly garbage collection", CACM 1978; the GC Handbook, ch. 2 and
 * 15) over the size-class heap, finding roots conservatively.  White
 * objects have a clear mark bit; grey ones are marked and queued in a
 * work buffer; black ones are marked and scanned.  When no grey object is
 * left, white objects are garbage.
 *
 * This is the stop-the-world form.  A cycle:
 *
 *   0. Sweep termination: finish sweeping the last cycle's spans, so no
 *      span is marked while unswept (sweep.c), and keep the background
 *      sweeper out until the world restarts.  Take the list of static
 *      data segments (roots.c) while the loader's lock can still be had.
 *   1. Stop the world (threads.c): every other registered thread parks
 *      outside the allocator, its registers on its stack.  The scavenger
 *      (sysmon.c), which is no registered thread, is held off too: with
 *      it, nothing changes the page heap until the restart.
 *   2. Mark (mark.c): grey the roots -- static data, registered ranges,
 *      stacks and registers, fibers, uncollectable objects, what
 *      finalizers keep alive -- and drain the grey lists with up to one
 *      worker per CPU (helpers join once the work proves non-trivial).  Bounded
 * work lists; an overflow rescans marked objects.
 *   3. Weak links to objects left white are cleared; then finalizable
 *      white objects keep what they reference alive, and those no other
 *      finalizable object reaches are queued and kept (finalize.c).
 *   4. Mark termination: the debug build verifies MARK-1 over the whole
 *      heap; every thread's cache hands its spans back (safe: no thread is
 *      inside the allocator); the sweep generation advances, which makes
 *      every span unswept; the pacer sets the next goal from the bytes
 *      marked (pacer.c).
 *   5. Restart the world; sweeping proceeds in the background and in the
 *      allocator (claim sweeps a span before a cache owns it); finalizers
 *      run on the finalizer thread.
 *
 * Why nothing is lost: with every mutator stopped from 1 to 5, the heap
 * does not change while it is marked, so what the roots reach when the
 * world stops is marked (Dijkstra's argument with no mutator at all).
 * New objects appear only after the restart, from spans swept for this
 * cycle, so their missing mark bits are never taken for death.  The
 * concurrent form (the hybrid write barrier: Yuasa 1990's deletion
 * barrier with Dijkstra's insertion barrier, as in Go 1.8's proposal
 * "Eliminate STW stack re-scanning") will mark in step 2 with the world
 * running; see ../shared/design/ARCHITECTURE.md.
 *
 * Who runs a cycle: gc_collect's caller, or an allocating thread that sees
 * heap_alloc reach the trigger, or one that ran out of memory.  Cycles
 * never overlap; a gc_collect returns only after a cycle that started
 * after it was called has completed.
 *
 * Owns: the cycle counters and their lock, the collector statistics.
 * Concurrency: `cyc.lock` over the counters; statistics are atomic words
 * written only by the collecting thread.
 */
#include "internal.h"

#include <stdio.h>
#include <unistd.h>

AO_t gci_sweepgen = 2;
AO_t gci_heap_alloc;

enum reason { REASON_PACER, REASON_FORCED, REASON_OOM, REASON_PERIODIC };

/* Set by the allocator's slow path, cleared by each cycle (sysmon.c). */
AO_t gci_allocated_since_cycle;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t done;
    uint64_t started, completed;
    bool running;
} cyc = {.lock = PTHREAD_MUTEX_INITIALIZER, .done = PTHREAD_COND_INITIALIZER};

static struct {
    AO_t num_gc, num_forced, num_periodic, pause_total, pause_max, last_pause;
    AO_t live, cpu_ns, start_ns, end_ns;
} st;

static long ncpu = 1;

void gci_gc_init(void)
{
    ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu < 1)
        ncpu = 1;
    at_store(&st.start_ns, gci_os_now_ns());
    at_store(&st.end_ns, at_load(&st.start_ns));
    gci_pacer_init((unsigned)ncpu);
}

/* When the last cycle ended (the library's start before the first). */
uint64_t gci_gc_last_cycle_ns(void) { return at_load(&st.end_ns); }

static void flush_cache(struct gthread *t, void *arg)
{
    (void)arg;
    gci_mcache_release_all(&t->cache);
    gci_mcache_flush_all(&t->cache);
}

/* The pacer's heap for printing: it dips below 0 when gc_free frees dead
 * objects the sweeper has not reached. */
static double heap_mb(uint64_t bytes)
{
    return (ptrdiff_t)bytes < 0 ? 0.0 : bytes / 1048576.0;
}

struct cycle_times {
    uint64_t start, stopped, marked, restarted;
    uint64_t heap0, heap1, live;
};

/* The collector's CPU time in a cycle: the collecting thread's before the
 * stop, and every CPU's while the world is stopped. */
static uint64_t cycle_cpu_ns(const struct cycle_times *ct)
{
    return (ct->restarted - ct->stopped) * (uint64_t)ncpu +
           (ct->stopped - ct->start);
}

/* Hands the cycle's figures to the pacer (world stopped, caches flushed). */
static void pace(const struct cycle_times *ct)
{
    uint64_t sys = gci_mheap_sys_bytes();
    uint64_t inuse = sys - gci_mheap_free_bytes();
    struct gci_cycle_figures f = {
        .live = ct->live,
        .nonheap = at_load(&gci_meta_bytes) +
                   (inuse > ct->heap1 ? inuse - ct->heap1 : 0),
        .gc_ns = cycle_cpu_ns(ct),
        .wall_ns = ct->restarted - at_load(&st.end_ns),
    };
    gci_pacer_cycle_done(&f);
    at_store(&st.end_ns, ct->restarted);
}

static void record(const struct cycle_times *ct, enum reason why)
{
    uint64_t pause = ct->restarted - ct->stopped;
    at_fetch_add(&st.num_gc, 1);
    if (why == REASON_FORCED)
        at_fetch_add(&st.num_forced, 1);
    if (why == REASON_PERIODIC)
        at_fetch_add(&st.num_periodic, 1);
    at_fetch_add(&st.pause_total, pause);
    at_store(&st.last_pause, pause);
    if (pause > at_load(&st.pause_max))
        at_store(&st.pause_max, pause);
    at_store(&st.live, ct->live);
    /* While the world is stopped the whole machine is the collector's. */
    at_fetch_add(&st.cpu_ns, cycle_cpu_ns(ct));
}

static void trace(const struct cycle_times *ct, enum reason why)
{
    if (!gci_opt_trace)
        return;
    uint64_t since = ct->start - at_load(&st.start_ns);
    uint64_t uptime = gci_os_now_ns() - at_load(&st.start_ns);
    uint64_t cpu = at_load(&st.cpu_ns) + gci_sweep_ns();
    fprintf(stderr,
            "gc %llu @%.3fs %.0f%%: %.3f+%.3f+%.3f ms clock, "
            "%.1f->%.1f->%.1f MB, %.1f MB goal, %zu threads%s\n",
            (unsigned long long)at_load(&st.num_gc), since / 1e9,
            uptime ? 100.0 * cpu / ((double)uptime * ncpu) : 0.0,
            (ct->stopped - ct->start) / 1e6, (ct->marked - ct->stopped) / 1e6,
            (ct->restarted - ct->marked) / 1e6, heap_mb(ct->heap0),
            heap_mb(ct->heap1), ct->live / 1048576.0,
            gci_pacer_heap_goal() / 1048576.0, gci_threads_count(),
            why == REASON_FORCED     ? " (forced)"
            : why == REASON_PERIODIC ? " (periodic)"
                                     : "");
}

static void mark_everything(struct cycle_times *ct)
{
    ct->live = gci_mark_run(gci_roots_mark);
    gci_finalize_after_roots();
    ct->live += gci_mark_run(gci_finalize_mark_unreached);
    gci_finalize_after_mark();
    ct->live += gci_mark_run(gci_finalize_mark_ready);
    if (GCHEAP_DEBUG >= 2 && gci_debug_after_mark)
        gci_debug_after_mark();
    if (GCHEAP_DEBUG >= 2 && !gci_mark_verify())
        gci_report("heap verifier: MARK-1 violated after marking");
}

/* One whole cycle, on the calling thread (steps 0-5 above). */
static void run_cycle(enum reason why)
{
    struct cycle_times ct = {.start = gci_os_now_ns()};
    gci_sweep_finish();
    gci_roots_snapshot();
    ct.heap0 = at_load(&gci_heap_alloc);
    gci_scavenger_hold(); /* marking walks the page map unlocked */
    gci_stop_world();
    ct.stopped = gci_os_now_ns();
    mark_everything(&ct);
    ct.marked = gci_os_now_ns();
    gci_threads_each(flush_cache, NULL);
    ct.heap1 = at_load(&gci_heap_alloc);
    /* As Go's heapLive: from here on the pacer counts the marked bytes
     * plus what is allocated after; sweeping the dead does not lower it,
     * so the dead bytes not yet swept never trigger the next cycle. */
    at_store(&gci_heap_alloc, ct.live);
    at_fetch_add(&gci_sweepgen, 2);
    at_store(&gci_allocated_since_cycle, 0);
    ct.restarted = gci_os_now_ns();
    pace(&ct);
    record(&ct, why);
    gci_start_world();
    gci_scavenger_release();
    gci_sweep_resume();
    gci_finalize_cycle_done();
    gci_sysmon_kick();
    trace(&ct, why);
}

/* Is a pacer cycle due?  heap_alloc may dip below 0 (gc_free of dead
 * objects not yet swept); the trigger may be UINT64_MAX (percent < 0). */
static bool cycle_due(void)
{
    ptrdiff_t heap = (ptrdiff_t)at_load(&gci_heap_alloc);
    return heap > 0 && (size_t)heap >= at_load(&gci_trigger);
}

/* Runs cycles until one that started after this call has completed (or,
 * with `only_if_due`, returns at once unless a pacer cycle is due and
 * none is running). */
static void collect(enum reason why, bool only_if_due)
{
    pthread_mutex_lock(&cyc.lock);
    uint64_t target = cyc.started + 1;
    if (only_if_due && (cyc.running || (why == REASON_PACER && !cycle_due()))) {
        pthread_mutex_unlock(&cyc.lock);
        return;
    }
    while (cyc.completed < target) {
        if (cyc.running) {
            pthread_cond_wait(&cyc.done, &cyc.lock);
            continue;
        }
        cyc.running = true;
        cyc.started++;
        pthread_mutex_unlock(&cyc.lock);
        run_cycle(why);
        pthread_mutex_lock(&cyc.lock);
        cyc.running = false;
        cyc.completed++;
        pthread_cond_broadcast(&cyc.done);
    }
    pthread_mutex_unlock(&cyc.lock);
}

/* The allocator's trigger check, outside any no-stop region. */
void gci_gc_maybe(void)
{
    if (GCI_LIKELY(!cycle_due()))
        return;
    collect(REASON_PACER, true);
}

/* The forced period (sysmon.c): runs a cycle unless percent < 0, nothing
 * was allocated since the last one, or one is running; true if it ran. */
bool gci_gc_periodic(void)
{
    if (gci_pacer_percent() < 0 || !at_load(&gci_allocated_since_cycle))
        return false;
    collect(REASON_PERIODIC, true);
    return true;
}

/* Out of memory: a full collection before the OOM handler is asked.
 * Returns false if the caller cannot run one (it is inside the
 * allocator). */
bool gci_gc_emergency(void)
{
    struct mcache *c = gci_tls_cache;
    if (c && c->nostop)
        return false;
    collect(REASON_OOM, false);
    return true;
}

/* Test hook (debug builds): called after marking, before the verifier;
 * a unit test plants a bug through it to show the verifier catches it. */
void (*gci_debug_after_mark)(void);

/* The contract: gc_collect returns after marking *and sweeping*; the
 * caller sweeps what the background sweeper has not reached yet. */
GCI_API void gc_collect(void)
{
    init_once();
    if (!gci_tls_cache)
        gci_thread_attach();
    collect(REASON_FORCED, false);
    gci_sweep_finish();
    gci_sweep_resume_quiet();
}

GCI_API void gc_release_memory(void)
{
    gc_collect();
    /* Scavenger steps until nothing resident is free; they take the heap
     * lock, so inside a no-stop region: a stopped thread must never hold
     * it (and a cycle waits for the release to end). */
    struct mcache *c = gci_tls_cache;
    gci_nostop_begin(c);
    gci_mcentral_free_empty();
    gci_mheap_release_free();
    gci_nostop_end(c);
}

/* fork(): wait for a running cycle to end and hold the cycle lock across
 * the fork, so the child never inherits half a cycle.  (The waiting
 * thread is stopped by that cycle like any other: cond_wait takes the
 * suspend signal.) */
void gci_gc_lock_for_fork(void)
{
    pthread_mutex_lock(&cyc.lock);
    while (cyc.running)
        pthread_cond_wait(&cyc.done, &cyc.lock);
}

void gci_gc_unlock_after_fork(bool child)
{
    if (child) {
        pthread_mutex_init(&cyc.lock, NULL);
        pthread_cond_init(&cyc.done, NULL);
    } else {
        pthread_mutex_unlock(&cyc.lock);
    }
}

void gci_gc_stats(gc_stats *out)
{
    out->num_gc = at_load(&st.num_gc);
    out->num_forced_gc = at_load(&st.num_forced);
    out->num_periodic_gc = at_load(&st.num_periodic);
    out->pause_total_ns = at_load(&st.pause_total);
    out->pause_max_ns = at_load(&st.pause_max);
    out->last_pause_ns = at_load(&st.last_pause);
    out->heap_live = at_load(&st.live);
    out->heap_goal = gci_pacer_heap_goal();
    uint64_t uptime = gci_os_now_ns() - at_load(&st.start_ns);
    uint64_t cpu = at_load(&st.cpu_ns) + gci_sweep_ns();
    out->gc_cpu_fraction = uptime ? (double)cpu / ((double)uptime * ncpu) : 0;
    out->percent = gci_pacer_percent();
}
