/*
 * pacer.c -- when the next cycle starts: Go's GOGC rule, the soft memory
 * limit, and the CPU limiter that keeps a limit set too low from
 * thrashing.
 *
 * After a cycle that found `live` bytes reachable, the GOGC goal is
 *     goal = live * (1 + percent / 100),  at least 4 MiB * percent / 100
 * (none when percent < 0).  With a memory limit, the limit's goal is
 *     limit_goal = limit - nonheap - headroom
 * where nonheap is the memory the limit counts that is not object bytes
 * (metadata, and the free slots of in-use spans as the last cycle found
 * them; free pages are not counted: the scavenger returns them while the
 * heap is over 95% of the limit), and headroom = limit * 3/100 + 1 MiB
 * absorbs the error of that estimate (Go's memoryLimitHeapGoal).  The
 * heap goal is the smaller of the two, and never below live + 1 MiB:
 * a goal at or under the live heap would start a cycle at once, forever.
 *
 * The stop-the-world collector triggers at the goal: the cycle is due when
 * the pacer's heap (gci_heap_alloc: the bytes the last cycle marked, plus
 * what was allocated since, less what gc_free freed -- Go's heapLive;
 * sweeping does not lower it) reaches it.  The concurrent collector will
 * start earlier, from the measured ratio of allocation to marking work.
 *
 * The CPU limiter (Go's gcCPULimiter, simplified): a bucket of collector
 * CPU time that fills by the collector's CPU time and drains by the
 * program's (gci_limiter_capacity), with a capacity of one second of
 * every CPU.  Over 50% of the CPU for long enough fills it; while it is full
 * the memory limit is set aside and the goal is the GOGC goal, or twice the
 * live heap when that is larger or GOGC is off.  The program then exceeds its
 * limit instead of doing nothing but collect; the bucket drains and the limit
 * returns.
 *
 * Owns: percent, the limit, the last cycle's figures, the goal, the
 * limiter; the trigger is gci_trigger.  The functions above the line are
 * pure (test/unit/pacer.c drives them with simulated cycles).
 * Concurrency: gc_set_percent and gc_set_memory_limit may race a cycle's
 * end; `lock` orders them, and the trigger is always written from one
 * consistent set of inputs.  The cycle takes `lock` with the world
 * stopped, so the API takes it inside a no-stop region.
 */
#include "internal.h"

#define MIB ((uint64_t)1 << 20)
#define MIN_GOAL_BYTES (4 * MIB)

/* ---- Pure ---------------------------------------------------------------- */

uint64_t gci_pacer_gogc_goal(uint64_t live, int percent)
{
    if (percent < 0)
        return UINT64_MAX;
    uint64_t p = (uint64_t)percent;
    if (p && live / 100 > (UINT64_MAX / 2 - live) / p)
        return UINT64_MAX / 2; /* beyond any heap: saturate */
    uint64_t g = live + live / 100 * p + live % 100 * p / 100;
    uint64_t floor = MIN_GOAL_BYTES * p / 100; /* p <= INT_MAX: no overflow */
    return g > floor ? g : floor;
}

uint64_t gci_pacer_limit_goal(uint64_t limit, uint64_t nonheap)
{
    if (limit >= (uint64_t)INT64_MAX)
        return UINT64_MAX;
    uint64_t headroom = limit / 100 * 3 + MIB;
    return limit > nonheap + headroom ? limit - nonheap - headroom : 0;
}

/* The CPU time the program had since the last cycle: what its process
 * used, not every CPU's wall time.  On a machine shared with other
 * processes (3 copies of test/gc/memlimit on 2 CPUs) the CPUs' wall time
 * counted the time the others had as the program's: the limiter saw the
 * collector at under half the CPU while the program did little but wait
 * for cycles, and let about 480 cycles run for 768 MiB of garbage against
 * a 4 MiB limit (about 200 on a quiet machine; now 100-140 either way).
 * At least the wall time itself, so that an idle program's time still
 * drains the bucket. */
uint64_t gci_limiter_capacity(uint64_t process_cpu_ns, uint64_t wall_ns)
{
    return process_cpu_ns > wall_ns ? process_cpu_ns : wall_ns;
}

void gci_limiter_update(struct gci_limiter *l, uint64_t gc_ns,
                        uint64_t capacity_ns, unsigned ncpu)
{
    uint64_t cap = GCI_LIMITER_WINDOW_NS * ncpu;
    uint64_t mut = capacity_ns > gc_ns ? capacity_ns - gc_ns : 0;
    uint64_t b = l->bucket + gc_ns;
    b = b > mut ? b - mut : 0;
    l->bucket = b < cap ? b : cap;
    l->on = l->bucket >= cap;
}

uint64_t gci_pacer_choose_goal(uint64_t live, int percent, uint64_t limit,
                               uint64_t nonheap, bool limiter_on)
{
    uint64_t gogc = gci_pacer_gogc_goal(live, percent);
    uint64_t goal = gogc;
    if (limiter_on) {
        uint64_t twice = 2 * live > MIN_GOAL_BYTES ? 2 * live : MIN_GOAL_BYTES;
        if (limit < (uint64_t)INT64_MAX && (gogc == UINT64_MAX || gogc < twice))
            goal = twice;
    } else {
        uint64_t lg = gci_pacer_limit_goal(limit, nonheap);
        if (lg < goal)
            goal = lg;
    }
    if (goal != UINT64_MAX && goal < live + MIB)
        goal = live + MIB;
    return goal;
}

/* The concurrent collector's trigger (Go 1.18's pacer, simplified).  A
 * cycle's marking costs W bytes of scan work; while it marks, the program
 * allocates.  Their ratio, per unit of CPU each side had, is cons/mark:
 *     cons_mark = A * u / (W * (1 - u))
 * where A is what was allocated from the trigger to mark termination and
 * u the collector's share of the CPU while marking (workers and assists).
 * Marking done on CPU time the program left idle (bgmark.c), a share
 * u_idle, counts on the marking side only, as in Go:
 *     cons_mark = A * (u + u_idle) / (W * (1 - u))
 * Marking with the goal share (GCI_GOAL_UTIL) then needs a runway of
 *     runway = cons_mark * (1 - GOAL_UTIL) / GOAL_UTIL * W_next
 * and the next cycle starts at goal - runway, kept between 70% and 95% of
 * the way from the live heap to the goal.  W_next is the last cycle's
 * scan work. */
double gci_pacer_cons_mark(uint64_t allocated, uint64_t scan_work, double util,
                           double idle_util)
{
    if (scan_work == 0 || util + idle_util <= 0)
        return 0;
    if (util > 0.95)
        util = 0.95;
    return (double)allocated * (util + idle_util) /
           ((double)scan_work * (1 - util));
}

uint64_t gci_pacer_trigger(uint64_t live, uint64_t goal, double cons_mark,
                           uint64_t scan_work)
{
    if (goal == UINT64_MAX || goal <= live)
        return goal;
    double span = (double)(goal - live);
    double runway =
        cons_mark * (1 - GCI_GOAL_UTIL) / GCI_GOAL_UTIL * (double)scan_work;
    double lo = (double)live + 0.70 * span, hi = (double)live + 0.95 * span;
    double t = (double)goal - runway;
    t = t < lo ? lo : t > hi ? hi : t;
    return (uint64_t)t;
}

/* Scan bytes owed per byte allocated while marking, x 2^16: the work
 * expected still to do over the heap left before the goal (Go's assist
 * ratio).  Past the expected work or the goal, the goal is stretched by
 * 10% and the work taken to be all of `heap_scan_max` (Go's hard goal),
 * so assists grow steep but stay finite. */
uint64_t gci_pacer_assist_ratio(uint64_t expected, uint64_t done, uint64_t heap,
                                uint64_t goal, uint64_t heap_scan_max)
{
    if (goal == UINT64_MAX)
        return 0;
    if (done >= expected || heap >= goal) {
        goal += goal / 10;
        if (expected < heap_scan_max)
            expected = heap_scan_max;
    }
    uint64_t left = expected > done ? expected - done : 0;
    if (left < (64u << 10) && (done >= expected || heap >= goal))
        left = 64u << 10; /* the work may be done but not yet terminated:
                             past the hard goal, allocation still costs
                             (Go keeps 1000 bytes of work left) */
    uint64_t runway = goal > heap + (64u << 10) ? goal - heap : 64u << 10;
    double r = (double)left / (double)runway * 65536.0;
    return r > 1e9 ? (uint64_t)1e9 : (uint64_t)r;
}

/* ---- State --------------------------------------------------------------- */

AO_t gci_trigger = MIN_GOAL_BYTES;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static AO_t percent = 100;         /* an int, stored as size_t */
static AO_t limit = INT64_MAX;     /* bytes */
static AO_t goal = MIN_GOAL_BYTES; /* the heap goal now in force */
static uint64_t last_live, last_nonheap;
static struct gci_limiter limiter;
static AO_t limiting; /* limiter.on, for readers without the lock */
static unsigned ncpu = 1;
#define CONS_MARK_HISTORY 4
static double cons_mark[CONS_MARK_HISTORY]; /* the last cycles' figures */
static uint64_t last_scan_work;

/* The most pessimistic recent cons/mark (Go 1.18 took the maximum of the
 * last four too: one calm cycle must not make the next trigger late). */
static double cons_mark_estimate(void)
{
    double m = 0;
    for (size_t i = 0; i < CONS_MARK_HISTORY; i++)
        if (cons_mark[i] > m)
            m = cons_mark[i];
    return m;
}

uint64_t gci_pacer_expected_work(void)
{
    pthread_mutex_lock(&lock);
    uint64_t w = last_scan_work ? last_scan_work : last_live;
    pthread_mutex_unlock(&lock);
    return w;
}

int gci_pacer_percent(void) { return (int)(ptrdiff_t)at_load(&percent); }
uint64_t gci_pacer_heap_goal(void) { return at_load(&goal); }
uint64_t gci_pacer_limit(void) { return at_load(&limit); }
bool gci_pacer_limiting(void) { return at_load(&limiting) != 0; }

/* Lock held. */
static void set_goal(void)
{
    uint64_t g =
        gci_pacer_choose_goal(last_live, gci_pacer_percent(), at_load(&limit),
                              last_nonheap, limiter.on);
    at_store(&goal, g);
    at_store(
        &gci_trigger,
        at_load(&gci_concurrent)
            ? gci_pacer_trigger(last_live, g, cons_mark_estimate(),
                                last_scan_work ? last_scan_work : last_live)
            : g);
}

/* gc_set_concurrent: the trigger moves with the mode. */
void gci_pacer_mode_changed(void)
{
    struct mcache *c = gci_api_lock(&lock);
    set_goal();
    gci_api_unlock(c, &lock);
}

void gci_pacer_init(unsigned cpus) { ncpu = cpus ? cpus : 1; }

void gci_pacer_cycle_done(const struct gci_cycle_figures *f)
{
    pthread_mutex_lock(&lock);
    last_live = f->live;
    last_nonheap = f->nonheap;
    if (f->scan_work)
        last_scan_work = f->scan_work;
    if (f->concurrent) {
        memmove(cons_mark + 1, cons_mark,
                sizeof cons_mark - sizeof cons_mark[0]);
        cons_mark[0] = gci_pacer_cons_mark(f->mark_allocated, f->scan_work,
                                           f->mark_util, f->idle_util);
    }
    gci_limiter_update(&limiter, f->gc_ns,
                       gci_limiter_capacity(f->cpu_ns, f->wall_ns), ncpu);
    at_store(&limiting, limiter.on);
    set_goal();
    pthread_mutex_unlock(&lock);
}

/* Lock held. */
static int set_percent(int p)
{
    int old = gci_pacer_percent();
    at_store(&percent, (size_t)(ptrdiff_t)p);
    set_goal();
    return old;
}

/* Lock held. */
static int64_t set_limit(int64_t bytes)
{
    int64_t old = (int64_t)at_load(&limit);
    if (bytes >= 0) {
        at_store(&limit, (size_t)bytes);
        set_goal();
    }
    return old;
}

/* From the options, during initialisation: no other thread runs yet. */
int gci_pacer_set_percent(int p)
{
    pthread_mutex_lock(&lock);
    int old = set_percent(p);
    pthread_mutex_unlock(&lock);
    return old;
}

int64_t gci_pacer_set_limit(int64_t bytes)
{
    pthread_mutex_lock(&lock);
    int64_t old = set_limit(bytes);
    pthread_mutex_unlock(&lock);
    return old;
}

/* fork(): the lock may have been held by a thread the child lacks. */
void gci_pacer_after_fork_child(void) { pthread_mutex_init(&lock, NULL); }

/* The API takes the lock inside a no-stop region (gci_api_lock): a cycle
 * takes it with the world stopped, so no stopped thread may hold it. */
GCI_API int gc_set_percent(int p)
{
    struct mcache *c = gci_api_lock(&lock);
    int old = set_percent(p);
    gci_api_unlock(c, &lock);
    return old;
}

GCI_API int64_t gc_set_memory_limit(int64_t bytes)
{
    struct mcache *c = gci_api_lock(&lock);
    int64_t old = set_limit(bytes);
    gci_api_unlock(c, &lock);
    if (bytes >= 0)
        gci_sysmon_kick(); /* the scavenger's target moved */
    return old;
}
