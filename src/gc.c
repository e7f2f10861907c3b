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
 * A cycle, as the stop-the-world form runs it (the concurrent form
 * differs in step 2; below):
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
 * cycle, so their missing mark bits are never taken for death.
 *
 * The concurrent form (gc_set_concurrent(1); mark_concurrent below) marks
 * in step 2 with the world running: the stop scans the roots and turns on
 * the hybrid write barrier (Yuasa 1990's deletion barrier with Dijkstra's
 * insertion barrier, as in Go 1.8's proposal "Eliminate STW stack
 * re-scanning"; barrier.c); the world restarts while this thread, the
 * dedicated workers and the idle marker (bgmark.c), the barriers and the
 * assists mark; mark termination stops
 * it again for steps 3-5.  The argument is in docs/design.md.
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

#include <sched.h>
#include <stdio.h>
#include <time.h>
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
    uint64_t end_cpu_ns;  /* the process's CPU time when the last cycle
                             ended (written by the collector, world
                             stopped) */
    uint64_t end_idle_ns; /* gci_idle_mark_ns then */
} st;

/* The CPUs the collector plans for: the CPUs online, or GCHEAP_PROCS. */
static long ncpu = 1;

void gci_gc_init(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    gci_gc_set_procs(n < 1 ? 1 : n > 1024 ? 1024 : n); /* GCHEAP_PROCS' */
    at_store(&st.start_ns, gci_os_now_ns());
    at_store(&st.end_ns, at_load(&st.start_ns));
    st.end_cpu_ns = gci_os_process_cpu_ns();
}

/* gc_init's default, then GCHEAP_PROCS (options.c) before any cycle;
 * test/unit/bgmark.c changes it between cycles (the stopped mark's helper
 * threads, started on need, stay). */
void gci_gc_set_procs(long n)
{
    ncpu = n;
    gci_pacer_init((unsigned)n);
}

long gci_gc_procs(void) { return ncpu; }

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
    uint64_t black; /* allocated during a concurrent mark: marked, but not
                       found live (the goal is set from `live`) */
    /* a concurrent cycle: */
    bool concurrent;
    uint64_t pauses, pause_max; /* the stops' total and longest */
    uint64_t swept_ns;          /* its sweep before the stop (sweep.c's) */
    uint64_t mark_begin;        /* the world restarted after the mark start */
    uint64_t mark_end;          /* the world stopped for good */
    uint64_t worker_ns;         /* the worker's marking time */
    uint64_t assist_ns0;        /* gci_assist_ns at the mark start */
    uint64_t idle_ns0;          /* gci_idle_mark_ns at the mark start */
    uint64_t dedicated_ns0;     /* gci_dedicated_mark_ns then */
    uint64_t scanned;
    bool checkmark_skipped;
};

/* The marking time of a concurrent cycle's workers: its own thread's and
 * the further dedicated workers' (bgmark.c). */
static uint64_t workers_ns(const struct cycle_times *ct)
{
    return ct->worker_ns +
           (at_load(&gci_dedicated_mark_ns) - ct->dedicated_ns0);
}

/* The collector's CPU time in a cycle: the collecting thread's before the
 * stop, every CPU's while the world is stopped, and, while it marks
 * concurrently, the workers' and the assists'. */
static uint64_t cycle_cpu_ns(const struct cycle_times *ct)
{
    if (!ct->concurrent)
        return (ct->restarted - ct->stopped) * (uint64_t)ncpu +
               (ct->stopped - ct->start);
    return ct->pauses * (uint64_t)ncpu + (ct->stopped - ct->start) +
           workers_ns(ct) + (at_load(&gci_assist_ns) - ct->assist_ns0);
}

static uint64_t pause_of(const struct cycle_times *ct)
{
    return ct->concurrent ? ct->pauses : ct->restarted - ct->stopped;
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
        .scan_work = ct->scanned,
        .concurrent = ct->concurrent,
    };
    uint64_t cpu = gci_os_process_cpu_ns();
    f.cpu_ns = cpu > st.end_cpu_ns ? cpu - st.end_cpu_ns : 0;
    st.end_cpu_ns = cpu;
    /* The idle marker's CPU was nobody's: out of the limiter's capacity
     * as out of its collector time (Go subtracts idle time the same). */
    uint64_t idle = at_load(&gci_idle_mark_ns);
    uint64_t idle_cpu = idle - st.end_idle_ns;
    st.end_idle_ns = idle;
    f.cpu_ns = f.cpu_ns > idle_cpu ? f.cpu_ns - idle_cpu : 0;
    if (ct->concurrent && ct->mark_end > ct->mark_begin) {
        uint64_t wall = ct->mark_end - ct->mark_begin;
        f.mark_allocated = ct->heap1 > ct->heap0 ? ct->heap1 - ct->heap0 : 0;
        f.mark_util = (double)(workers_ns(ct) + at_load(&gci_assist_ns) -
                               ct->assist_ns0) /
                      ((double)wall * (double)ncpu);
        f.idle_util = (double)(at_load(&gci_idle_mark_ns) - ct->idle_ns0) /
                      ((double)wall * (double)ncpu);
    }
    gci_pacer_cycle_done(&f);
    at_store(&st.end_ns, ct->restarted);
}

static void record(const struct cycle_times *ct, enum reason why)
{
    uint64_t pause = pause_of(ct);
    uint64_t longest = ct->concurrent ? ct->pause_max : pause;
    at_fetch_add(&st.num_gc, 1);
    if (why == REASON_FORCED)
        at_fetch_add(&st.num_forced, 1);
    if (why == REASON_PERIODIC)
        at_fetch_add(&st.num_periodic, 1);
    at_fetch_add(&st.pause_total, pause);
    at_store(&st.last_pause, longest);
    if (longest > at_load(&st.pause_max))
        at_store(&st.pause_max, longest);
    at_store(&st.live, ct->live);
    /* While the world is stopped the whole machine is the collector's.
     * The cycle's sweep before the stop is in sweep.c's count already.
     * No more than every CPU's time for the cycle's length: the assists'
     * time is wall time, waits included (the limiter must see it all),
     * and threads waiting past the goal before the mark began count both
     * there and in the time before the stop. */
    uint64_t cpu = cycle_cpu_ns(ct);
    cpu = cpu > ct->swept_ns ? cpu - ct->swept_ns : 0;
    uint64_t all = (ct->restarted - ct->start) * (uint64_t)ncpu;
    at_fetch_add(&st.cpu_ns, cpu < all ? cpu : all);
}

static void trace(const struct cycle_times *ct, enum reason why)
{
    if (!gci_opt_trace)
        return;
    uint64_t since = ct->start - at_load(&st.start_ns);
    uint64_t uptime = gci_os_now_ns() - at_load(&st.start_ns);
    uint64_t cpu = at_load(&st.cpu_ns) + gci_sweep_ns();
    /* Phases: before the stop (sweep termination), marking, after it;
     * for a concurrent cycle: the mark-start stop, the concurrent mark,
     * and the mark-termination stop(s). */
    double a = (ct->stopped - ct->start) / 1e6;
    double b = (ct->marked - ct->stopped) / 1e6;
    double c = (ct->restarted - ct->marked) / 1e6;
    if (ct->concurrent) {
        a = (ct->mark_begin - ct->stopped) / 1e6;
        b = (ct->mark_end - ct->mark_begin) / 1e6;
        c = (ct->restarted - ct->mark_end) / 1e6;
    }
    char resent[48] = "";
    size_t resends = gci_stop_resends_take();
    if (resends) /* threads.c: lost suspend signals */
        snprintf(resent, sizeof resent, " (%zu signals sent again)", resends);
    fprintf(stderr,
            "gc %llu @%.3fs %.0f%%: %.3f+%.3f+%.3f ms clock, "
            "%.1f->%.1f->%.1f MB, %.1f MB goal, %zu threads%s%s%s\n",
            (unsigned long long)at_load(&st.num_gc), since / 1e9,
            uptime ? 100.0 * cpu / ((double)uptime * ncpu) : 0.0, a, b, c,
            heap_mb(ct->heap0), heap_mb(ct->heap1), ct->live / 1048576.0,
            gci_pacer_heap_goal() / 1048576.0, gci_threads_count(),
            why == REASON_FORCED     ? " (forced)"
            : why == REASON_PERIODIC ? " (periodic)"
                                     : "",
            ct->concurrent ? " (concurrent)" : "", resent);
}

/* Marking after the heap's marking is complete, world stopped: what
 * finalizable objects keep alive, then the debug checks. */
static void mark_finalizable(struct cycle_times *ct)
{
    gci_finalize_after_roots();
    ct->live += gci_mark_run(gci_finalize_mark_unreached);
    gci_finalize_after_mark();
    ct->live += gci_mark_run(gci_finalize_mark_ready);
    if (GCHEAP_DEBUG >= 2 && gci_debug_after_mark)
        gci_debug_after_mark();
    if (GCHEAP_DEBUG >= 2 && !gci_mark_verify(!ct->concurrent))
        gci_report("heap verifier: MARK-1 violated after marking");
}

/* ---- Concurrent marking -------------------------------------------------- */

/* Stops of the world in a concurrent cycle, timed. */
static void stop(uint64_t *at)
{
    gci_stop_world();
    *at = gci_os_now_ns();
}

static void restart(struct cycle_times *ct, uint64_t stopped_at)
{
    gci_start_world();
    uint64_t p = gci_os_now_ns() - stopped_at;
    ct->pauses += p;
    if (p > ct->pause_max)
        ct->pause_max = p;
}

static void reset_marker(struct gthread *t, void *arg)
{
    (void)arg;
    gci_barrier_reset(t);
}

static void flush_marker(struct gthread *t, void *arg)
{
    (void)arg;
    gci_barrier_flush(t);
}

static void no_roots(struct marker *m) { (void)m; }

/* The workers of a concurrent cycle, Go's 25% of the CPUs: the cycle's
 * own thread marks with up to one CPU's worth and each further whole CPU
 * of the quarter is a dedicated worker (bgmark.c).  On 2 CPUs the
 * cycle's worker takes half a CPU, on 4 one, on 6 half a CPU beside one
 * dedicated worker, on 8 one beside one.  The cycle's worker takes a
 * whole CPU when the cycle's caller waits for it anyway (gc_collect, out
 * of memory). */
struct workers {
    double share;       /* the cycle's worker's share of a CPU */
    unsigned dedicated; /* dedicated workers beside it */
};

static struct workers workers_for(enum reason why)
{
    double u = GCI_GOAL_UTIL * (double)ncpu;
    unsigned whole = (unsigned)u;
    whole += (double)whole < u; /* CPUs the quarter touches, at least 1 */
    struct workers w = {u - (double)(whole - 1), whole - 1};
    if (why == REASON_FORCED || why == REASON_OOM)
        w.share = 1.0;
    return w;
}

/* A fractional worker's turn.  Short: where the scheduler puts the worker
 * on a CPU with a program thread, the program waits out a turn (with 1 ms
 * turns, bench/latency's program thread was preempted by the worker for
 * 1 ms at a time; docs/design.md, Concurrent marking). */
#define SLICE_NS 250000u
#define SLICE_BYTES (32u << 10) /* scan work between bankings of credit */

/* The cycle's expected scan work and its heap at the start, for the
 * assist ratio (set before the barrier is turned on). */
static AO_t cycle_expected, cycle_heap0;

/* The assist ratio from the cycle's progress now (barrier.c uses it).
 * Revised by the worker after each of its slices and by every assist
 * before it charges its debt: a ratio only the worker revised was up to
 * a slice and a sleep old (2 ms when a fractional worker's slices were
 * 1 ms), and a thread allocating a megabyte per millisecond ran past the
 * goal on the smaller ratio of a heap below it. */
void gci_assist_revise(void)
{
    at_store(&gci_assist_ratio,
             gci_pacer_assist_ratio(
                 at_load(&cycle_expected), at_load(&gci_cycle_scanned),
                 at_load(&gci_heap_alloc), gci_pacer_heap_goal(),
                 at_load(&cycle_heap0)));
}

/* The cycle's dedicated workers beside its own (workers_for). */
static unsigned cycle_dedicated;

/* Lets the marking threads beside the worker mark (bgmark.c): the
 * dedicated workers, and on 2 CPUs or more the idle marker. */
static void bgmark_open(void)
{
    gci_bgmark_open(at_load(&st.num_gc), ncpu >= 2, cycle_dedicated);
}

/* The worker ran dry: whether to mark on, because a step of the threads
 * beside it, under way, published grey objects as it ended.  Either way
 * they are stopped on return if the worker goes to mark termination. */
static bool bgmark_published(void)
{
    gci_bgmark_close();
    if (!gci_work_published())
        return false;
    bgmark_open();
    return true;
}

/* The background worker: marks with the world running until no grey
 * object can be found, keeping to its share of a CPU. */
static void mark_beside(struct marker *m, struct cycle_times *ct, double share)
{
    for (;;) {
        uint64_t t0 = gci_os_now_ns(), done = 0, d = 0;
        bool made_dry = false;
        do { /* work and credit counted at once, not at the slice's end:
                a thread at the goal may be waiting for them */
            if (GCHEAP_DEBUG >= 2 && gci_debug_worker_dry &&
                (made_dry = gci_debug_worker_dry()))
                break;
            done += d = gci_mark_drain_some(m, SLICE_BYTES, t0 + SLICE_NS);
            gci_mark_account(m);
            at_fetch_add(&gci_bg_credit, d);
        } while (d && gci_os_now_ns() - t0 < SLICE_NS);
        uint64_t t1 = gci_os_now_ns();
        ct->worker_ns += t1 - t0;
        gci_assist_revise();
        if (made_dry)
            return;
        if ((!done || !d) && !bgmark_published())
            return;        /* ran dry: on to mark termination, not to sleep --
                              the program would allocate through the sleep on a
                              ratio with no work left */
        if (share < 1.0) { /* sleep off the rest of its share, its grey
                              objects left for the assists meanwhile */
            gci_work_flush(m);
            double owed = (double)ct->worker_ns / share;
            double elapsed = (double)(t1 - ct->mark_begin);
            if (owed > elapsed) {
                uint64_t ns = (uint64_t)(owed - elapsed);
                if (ns > 10 * SLICE_NS)
                    ns = 10 * SLICE_NS;
                struct timespec ts = {0, (long)ns};
                nanosleep(&ts, NULL);
            }
        }
    }
}

/* Tries at mark termination before the rest is drained with the world
 * stopped: each try that finds grey objects in the threads' buffers
 * restarts the world and marks on.  Only tries with less than
 * TRY_PROGRESS bytes scanned since the last one count: the worker also
 * runs dry in mid-mark while the grey objects are in a program thread's
 * buffer (mid-assist, or shaded by its barriers), and counting every try,
 * bench/latency saw the eighth come in mid-mark and the rest of the heap
 * drained with the world stopped, 0.6-1.9 s.  Every try that does not
 * count follows a mebibyte of marking, so the tries stay finite. */
#define TERMINATION_TRIES 8
#define TRY_PROGRESS ((uint64_t)1 << 20)

/* For test/unit/termination: tries that found grey objects and restarted
 * the world, and cycles whose tries ran out. */
AO_t gci_mark_tries, gci_mark_stopped_drains;

/* Test hook (debug builds): asked before each of the worker's marking
 * steps; true makes the worker go to mark termination as if it had run
 * dry, with its grey objects left. */
bool (*gci_debug_worker_dry)(void);

/*
 * Marks a concurrent cycle's heap: the world is stopped on entry and on
 * return.  The mark start scans the roots and turns the barrier on; the
 * world runs while the worker (this thread), the barriers and the assists
 * mark; mark termination stops the world, gathers the threads' grey
 * objects and ends if there are none.
 */
static void mark_concurrent(struct cycle_times *ct, enum reason why,
                            uint64_t expected)
{
    struct marker m = {0};
    at_store(&gci_cycle_marked, 0);
    at_store(&gci_cycle_black, 0);
    at_store(&gci_cycle_scanned, 0);
    at_store(&gci_bg_credit, 0);
    ct->assist_ns0 = at_load(&gci_assist_ns);
    ct->idle_ns0 = at_load(&gci_idle_mark_ns);
    ct->dedicated_ns0 = at_load(&gci_dedicated_mark_ns);
    struct workers w = workers_for(why);
    cycle_dedicated = w.dedicated;
    gci_threads_each(reset_marker, NULL);
    gci_roots_mark_stopped(&m);
    gci_work_flush(&m);
    gci_mark_account(&m);
    at_store(&cycle_expected, expected);
    at_store(&cycle_heap0, ct->heap0);
    gci_assist_revise();
    __atomic_store_n(&gc_internal_barrier_on, 1, __ATOMIC_SEQ_CST);
    restart(ct, ct->stopped);
    ct->mark_begin = gci_os_now_ns();
    gci_roots_mark_uncollectable(&m);
    bgmark_open(); /* after: no hungry marker splits the roots' buffers */
    uint64_t stopped_at, scanned = at_load(&gci_cycle_scanned);
    for (int futile = 0;;) {
        mark_beside(&m, ct, w.share);
        gci_work_flush(&m);
        gci_bgmark_close();
        stop(&stopped_at);
        if (GCHEAP_DEBUG >= 1) {
            gci_bgmark_check();                        /* BGMARK-1 */
            GCI_ASSERT(at_load(&gci_work_nidle) == 0); /* no one hungry */
        }
        gci_threads_each(flush_marker, NULL);
        if (!gci_work_pending(&m))
            break;
        uint64_t now = at_load(&gci_cycle_scanned);
        futile = now - scanned >= TRY_PROGRESS ? 0 : futile + 1;
        scanned = now;
        if (futile == TERMINATION_TRIES) {
            at_fetch_add(&gci_mark_stopped_drains, 1);
            ct->live += gci_mark_run(no_roots);
            break;
        }
        at_fetch_add(&gci_mark_tries, 1);
        restart(ct, stopped_at);
        bgmark_open();
    }
    ct->mark_end = stopped_at;
    /* Items dropped by an overflow are found by a rescan, stopped. */
    ct->live += gci_mark_run(no_roots);
    ct->live += at_load(&gci_cycle_marked);
    ct->black = at_load(&gci_cycle_black);
    ct->scanned = at_load(&gci_cycle_scanned);
    __atomic_store_n(&gc_internal_barrier_on, 0, __ATOMIC_SEQ_CST);
    at_store(&gci_assist_ratio, 0);
    if (gci_opt_checkmark && !gci_checkmark_run())
        ct->checkmark_skipped = true;
}

/* One whole cycle, on the calling thread (steps 0-5 above). */
/* SWEEP-1, a debug check with the world stopped before marking: every
 * in-use span is swept (a span marked unswept would have its marks taken
 * for the last cycle's and be swept with them cleared -- the live objects
 * marked in it freed). */
static void check_swept(struct span *s, void *arg)
{
    size_t *unswept = arg;
    *unswept += s->sweepgen != at_load(&gci_sweepgen);
}

static void run_cycle(enum reason why)
{
    struct cycle_times ct = {.start = gci_os_now_ns()};
    ct.concurrent = at_load(&gci_concurrent) != 0;
    uint64_t expected = ct.concurrent ? gci_pacer_expected_work() : 0;
    ct.swept_ns = gci_sweep_finish();
    gci_roots_snapshot();
    ct.heap0 = at_load(&gci_heap_alloc);
    gci_scavenger_hold(); /* marking walks the page map unlocked */
    if (!ct.concurrent)
        gci_mark_prewake();
    gci_stop_world();
    ct.stopped = gci_os_now_ns();
    if (GCHEAP_DEBUG >= 2) {
        size_t unswept = 0;
        gci_mheap_each_span(check_swept, &unswept);
        GCI_ASSERT(unswept == 0); /* SWEEP-1 */
    }
    if (ct.concurrent) {
        mark_concurrent(&ct, why, expected);
    } else {
        ct.live = gci_mark_run(gci_roots_mark);
    }
    mark_finalizable(&ct);
    ct.marked = gci_os_now_ns();
    gci_threads_each(flush_cache, NULL);
    ct.heap1 = at_load(&gci_heap_alloc);
    /* As Go's heapLive: from here on the pacer counts the marked bytes
     * plus what is allocated after; sweeping the dead does not lower it,
     * so the dead bytes not yet swept never trigger the next cycle. */
    at_store(&gci_heap_alloc, ct.live + ct.black);
    at_fetch_add(&gci_sweepgen, 2);
    at_store(&gci_allocated_since_cycle, 0);
    ct.restarted = gci_os_now_ns();
    if (ct.concurrent) {
        ct.pauses += ct.restarted - ct.mark_end;
        if (ct.restarted - ct.mark_end > ct.pause_max)
            ct.pause_max = ct.restarted - ct.mark_end;
    }
    pace(&ct);
    gci_sweep_pace(ct.live + ct.black, at_load(&gci_trigger));
    record(&ct, why);
    gci_start_world();
    if (ct.checkmark_skipped)
        gci_report("checkmark: no memory for the side table; check skipped");
    else if (ct.concurrent && gci_opt_checkmark)
        gci_checkmark_report();
    gci_scavenger_release();
    gci_sweep_resume();
    gci_finalize_cycle_done();
    gci_sysmon_kick();
    trace(&ct, why);
}

/* Is a pacer cycle due?  heap_alloc may dip below 0 (gc_free of dead
 * objects not yet swept); the trigger may be UINT64_MAX (percent < 0). */
static AO_t cycle_running; /* cyc.running, for readers without the lock */

static bool cycle_due(void)
{
    ptrdiff_t heap = (ptrdiff_t)at_load(&gci_heap_alloc);
    return heap > 0 && (size_t)heap >= at_load(&gci_trigger) &&
           !at_load(&cycle_running);
}

/* Runs cycles until one that started after this call has completed (or,
 * with `only_if_due`, returns at once unless a pacer cycle is due and
 * none is running). */
static void collect(enum reason why, bool only_if_due)
{
    gci_lock_stoppable(&cyc.lock); /* a parked thread may hold it */
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
        at_store(&cycle_running, 1);
        cyc.started++;
        pthread_mutex_unlock(&cyc.lock);
        run_cycle(why);
        gci_lock_stoppable(&cyc.lock);
        cyc.running = false;
        at_store(&cycle_running, 0);
        cyc.completed++;
        pthread_cond_broadcast(&cyc.done);
    }
    pthread_mutex_unlock(&cyc.lock);
}

/* ---- The background collector ---------------------------------------- */

/* A concurrent cycle the pacer asks for runs on a library thread of its
 * own, so the allocating thread that reached the trigger goes on at once
 * (a stop-the-world one runs on that thread: it would wait anyway). */
static struct {
    pthread_mutex_t lock;
    pthread_mutex_t start_lock; /* taken stoppably, outside no-stop */
    pthread_cond_t wake;
    AO_t started;
    AO_t pending;
} bg = {.lock = PTHREAD_MUTEX_INITIALIZER,
        .start_lock = PTHREAD_MUTEX_INITIALIZER,
        .wake = PTHREAD_COND_INITIALIZER};

static void *bg_main(void *arg)
{
    (void)arg;
    gci_library_thread_begin("gcheap-bg");
    for (;;) {
        pthread_mutex_lock(&bg.lock);
        while (!at_load(&bg.pending))
            pthread_cond_wait(&bg.wake, &bg.lock);
        at_store(&bg.pending, 0);
        pthread_mutex_unlock(&bg.lock);
        collect(REASON_PACER, true);
    }
    return NULL;
}

/* Asks the background collector for a cycle; false if it cannot start. */
static bool bg_request(void)
{
    if (at_load(&bg.pending))
        return true;
    /* The thread is made outside any no-stop region: pthread_create takes
     * glibc's locks, which a stopped thread may hold. */
    if (!at_load(&bg.started)) {
        gci_lock_stoppable(&bg.start_lock);
        if (!at_load(&bg.started))
            at_store(&bg.started, gci_start_library_thread(bg_main, NULL));
        pthread_mutex_unlock(&bg.start_lock);
        if (!at_load(&bg.started))
            return false;
    }
    struct mcache *c = gci_api_lock(&bg.lock);
    at_store(&bg.pending, 1);
    pthread_cond_signal(&bg.wake);
    gci_api_unlock(c, &bg.lock);
    return true;
}

/* The allocator's trigger check, outside any no-stop region. */
void gci_gc_maybe(void)
{
    bool due = cycle_due();
    if (at_load(&gci_concurrent)) {
        if (due && !bg_request()) {
            collect(REASON_PACER, true);
            return;
        }
        if (due) /* let the collector have this CPU if it shares it: the
                    mark is to start at the trigger, not at the goal */
            sched_yield();
        /* Past the goal before the mark has begun (the background
         * collector is waking up, finishing the last sweep or stopping
         * the world): wait for it, as assists wait past the goal, so the
         * heap does not outgrow its goal while the collector gets going.
         * Also when this thread did not ask for the cycle: it went on
         * allocating past the goal while a requested cycle was running
         * but not yet marking (1.2-1.4 x the goal in test/gc/gogc with
         * the other CPU busy). */
        uint64_t t0 = 0;
        while (at_load(&gci_heap_alloc) >= gci_pacer_heap_goal() &&
               !gci_marking() &&
               (at_load(&bg.pending) || at_load(&cycle_running))) {
            if (!t0)
                t0 = gci_os_now_ns();
            struct timespec ts = {0, 20000};
            nanosleep(&ts, NULL);
            gci_park_if_stopping();
        }
        /* Counted as assist time, as an assist's wait for work is: the
         * CPU limiter must see it as the collector's, not the program's,
         * or a limit set too low (test/gc/memlimit) keeps the program
         * waiting on back-to-back cycles without the limiter engaging. */
        if (t0)
            at_fetch_add(&gci_assist_ns, gci_os_now_ns() - t0);
        return;
    }
    if (due)
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
    if (!gci_marking()) /* another cycle may have begun: no span freed */
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
    gci_lock_stoppable(&cyc.lock);
    while (cyc.running)
        pthread_cond_wait(&cyc.done, &cyc.lock);
}

void gci_gc_unlock_after_fork(bool child)
{
    if (child) {
        pthread_mutex_init(&cyc.lock, NULL);
        pthread_cond_init(&cyc.done, NULL);
        pthread_mutex_init(&bg.lock, NULL);
        pthread_mutex_init(&bg.start_lock, NULL);
        pthread_cond_init(&bg.wake, NULL);
        at_store(&bg.started, 0);
        at_store(&bg.pending, 0);
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
    out->concurrent = (int)at_load(&gci_concurrent);
    out->assist_ns = at_load(&gci_assist_ns);
}
