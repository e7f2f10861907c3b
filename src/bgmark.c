/*
 * bgmark.c -- marking threads beside a concurrent cycle's own worker:
 * the idle marker (Go's idle mark workers) and, on 5 CPUs or more, the
 * further dedicated workers (Go's dedicated mark workers).
 *
 * A concurrent cycle's collector share is a quarter of the CPUs (gc.c,
 * workers_for).  The cycle's own thread is one worker, whole or
 * fractional; where the quarter is more than one CPU (5 CPUs or more)
 * the rest is whole CPUs, each a dedicated worker here: a thread at the
 * normal priority (not SCHED_IDLE; the policy and nice value of the
 * thread that started it, as any thread's) that marks in steps for as
 * long as the cycle lets it.  Their marking, timed by their threads' CPU
 * clocks, is the collector's CPU in the pacer and the memory limit's CPU
 * cap, as the cycle's worker's is.
 *
 * The idle marker is one more marking thread, at SCHED_IDLE: the
 * scheduler runs it only where no other thread of any process wants the
 * CPU, and a waking thread preempts it at once.  Its marking counts on
 * the marking side of the pacer's cons/mark, as Go's idle time does, and
 * not in the memory limit's CPU cap, on either side: the CPU was free.
 * A thread at SCHED_IDLE may wait long for a CPU once it is preempted
 * (another process's busy thread takes the CPU: the scheduler owes the
 * idle thread a share of 3 in 1027), and whatever grey objects it holds
 * wait with it.  So it holds as little as it can, for as short as it can:
 *  - its steps are short (IDLE_STEP_NS), and each ends with everything
 *    it holds published (gci_work_flush);
 *  - it yields after each step that marked, and after steps in a row
 *    after each of which it finds it was preempted (an involuntary
 *    context switch) it pauses (IDLE_BACKOFF_NS): a CPU someone else
 *    wants is not idle.
 * (The sweeper does not run at SCHED_IDLE for this reason: a cycle waiting
 * for its batch waited up to 0.5 s, sweep.c.)  A dedicated worker's steps
 * end the same way, published, but it neither yields nor pauses.
 *
 * Protocol with the cycle (gc.c), the same for every thread here: the
 * cycle opens the gates after each restart of the world while it marks
 * (gci_bgmark_open) and closes them before each stop and when its worker
 * runs dry (gci_bgmark_close).  A step runs with its thread's lock held,
 * so closing waits out the step under way, after which the thread holds
 * no grey object and starts no step until its gate opens again: mark
 * termination never misses its objects (BGMARK-1).  Its marker is fresh
 * each cycle (a marker remembers the span it last looked up, which may
 * be freed by the next cycle).
 *
 * Owns: the marking threads and their records.  The idle marker is off
 * with GCHEAP_IDLE_MARK=0, on one CPU (there the program's own CPU is the
 * only one), and where the thread cannot be made SCHED_IDLE (then it
 * would compete with the program at its priority: it exits instead).
 */
#include "internal.h"

#include <sched.h>
#include <sys/resource.h>
#include <time.h>

int gci_opt_idle_mark = 1;
AO_t gci_idle_mark_ns; /* time the idle marker spent in steps, all cycles */
AO_t gci_dedicated_mark_ns; /* the dedicated workers' */

/* A step's length: what it may hold its grey objects for, and how long a
 * program thread that takes its CPU may wait behind it if the scheduler
 * does not preempt it at once (the idle marker), or how long a closing
 * cycle may wait for it (both: a thread between steps that sees the cycle
 * closing leaves the lock to it, `closing`). */
#define IDLE_STEP_NS 50000u
#define IDLE_STEP_BYTES (256u << 10)
#define DEDICATED_STEP_NS 100000u
#define DEDICATED_STEP_BYTES (256u << 10)
/* The idle marker's pause after IDLE_CONTENDED steps in a row in which it
 * was preempted (once is the cycle's own worker waking on its CPU for a
 * slice; every step is a busy thread sharing its CPU), and the poll of
 * either kind while the gate is open but no grey object is published. */
#define IDLE_CONTENDED 2
#define IDLE_BACKOFF_NS 1000000u
#define POLL_NS 100000u

/* One marking thread's record. */
struct bgm {
    pthread_mutex_t lock; /* held through each step */
    pthread_cond_t wake;
    bool idle;            /* the idle marker, not a dedicated worker */
    bool open;            /* the cycle lets it mark */
    bool hungry;          /* counted in gci_work_hungry: found nothing */
    uint64_t cycle;       /* opened for this cycle (a fresh marker) */
    bool started, failed; /* the thread */
    bool ready;           /* it runs (the idle marker: at SCHED_IDLE) */
    AO_t in_step;         /* holding grey objects no one else can see */
    AO_t closing;         /* the cycle waits for `lock` to close the gate */
    AO_t marked_ns;       /* its time in steps that marked, all cycles */
};

/* Enough for a quarter of 1024 CPUs (GCHEAP_PROCS' limit). */
#define MAX_DEDICATED 255

static struct bgm idle_marker = {.lock = PTHREAD_MUTEX_INITIALIZER,
                                 .wake = PTHREAD_COND_INITIALIZER,
                                 .idle = true};
static struct bgm dedicated[MAX_DEDICATED];
static unsigned ndedicated; /* records set up (only grows) */

/* Debug builds hold every 4th step's grey objects this long before they
 * are published, so a mark termination that did not wait out the step
 * (the protocol above) would be caught by gci_bgmark_check and the
 * tests' checksums, not missed in a window of a step's length. */
#define DEBUG_HOLD_NS 200000u

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)ns};
    nanosleep(&ts, NULL);
}

/* Counts the thread in gci_work_hungry (while its gate is open) or takes
 * it out; b->lock held. */
static void hungry_locked(struct bgm *b, bool on)
{
    if ((b->open || !on) && b->hungry != on) {
        b->hungry = on;
        gci_work_hungry(on);
    }
}

static long preemptions(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nivcsw : 0;
}

/* The idle marker's priority; false (and the thread exits) if refused. */
static bool become_idle(struct bgm *b)
{
    struct sched_param sp = {.sched_priority = 0};
    if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) == 0)
        return true;
    pthread_mutex_lock(&b->lock);
    b->failed = true;   /* at its normal priority it would take the */
    b->started = false; /* program's CPU: no idle marking */
    pthread_mutex_unlock(&b->lock);
    return false;
}

static void *bgm_main(void *arg)
{
    struct bgm *b = arg;
    gci_library_thread_begin(b->idle ? "gcheap-idlemark" : "gcheap-markwork");
    if (b->idle && !become_idle(b))
        return NULL;
    pthread_mutex_lock(&b->lock);
    b->ready = true;
    pthread_mutex_unlock(&b->lock);
    struct marker m = {0};
    uint64_t cycle = 0, steps = 0;
    uint64_t step_ns = b->idle ? IDLE_STEP_NS : DEDICATED_STEP_NS;
    size_t step_bytes = b->idle ? IDLE_STEP_BYTES : DEDICATED_STEP_BYTES;
    AO_t *spent = b->idle ? &gci_idle_mark_ns : &gci_dedicated_mark_ns;
    long seen = preemptions();
    int contended = 0; /* steps in a row after which it found it had
                          been preempted */
    pthread_mutex_lock(&b->lock);
    for (;;) {
        while (!b->open)
            pthread_cond_wait(&b->wake, &b->lock);
        if (b->cycle != cycle) {
            struct marker fresh = {0};
            m = fresh;
            cycle = b->cycle;
        }
        uint64_t t0 = gci_os_now_ns(), cpu0 = gci_os_thread_cpu_ns();
        at_store(&b->in_step, 1);
        uint64_t d = gci_mark_drain_some(&m, step_bytes, t0 + step_ns);
        uint64_t cpu = gci_os_thread_cpu_ns() - cpu0; /* not the debug hold */
        if (GCHEAP_DEBUG >= 2 && d && ++steps % 4 == 0)
            sleep_ns(DEBUG_HOLD_NS);
        gci_work_flush(&m); /* nothing held between steps */
        at_store(&b->in_step, 0);
        gci_mark_account(&m);
        if (d) {
            at_fetch_add(&gci_bg_credit, d);
            at_fetch_add(spent, cpu);
            at_fetch_add(&b->marked_ns, cpu);
            gci_assist_revise();
        }
        pthread_mutex_unlock(&b->lock);
        if (b->idle) {
            if (d)
                sched_yield();
            long now = preemptions();
            contended = now != seen ? contended + 1 : 0;
            seen = now; /* a sleep below is a voluntary switch */
        }
        if (contended >= IDLE_CONTENDED) {
            sleep_ns(IDLE_BACKOFF_NS);
        } else if (!d) { /* hungry while it polls, and only then: the
                            assists' pushes split buffers for it */
            pthread_mutex_lock(&b->lock);
            hungry_locked(b, true);
            pthread_mutex_unlock(&b->lock);
            sleep_ns(POLL_NS);
        }
        /* A closing cycle waits for the lock: let it have it.  (The mutex
         * is not fair: a thread that takes it back at once, as a busy
         * dedicated worker would, kept the closer waiting for as long as
         * it found work.) */
        while (at_load(&b->closing))
            sched_yield();
        pthread_mutex_lock(&b->lock);
        hungry_locked(b, false);
    }
    return NULL;
}

/* Opens b's gate for `cycle`, starting its thread the first time. */
static void open_gate(struct bgm *b, uint64_t cycle)
{
    pthread_mutex_lock(&b->lock);
    if (!b->started && !b->failed) {
        b->started = gci_start_library_thread(bgm_main, b);
        b->failed = !b->started; /* not tried at every restart */
    }
    if (b->started) {
        b->open = true;
        b->cycle = cycle;
        pthread_cond_signal(&b->wake);
    }
    pthread_mutex_unlock(&b->lock);
}

/* Waits out b's step under way and shuts its gate. */
static void close_gate(struct bgm *b)
{
    at_store(&b->closing, 1);
    pthread_mutex_lock(&b->lock);
    b->open = false;
    hungry_locked(b, false); /* the count must not stay up into a stop:
                                root marking would split its buffers */
    at_store(&b->closing, 0);
    pthread_mutex_unlock(&b->lock);
}

/* The world restarted in the mark of `cycle` (gc.c's count): the idle
 * marker (if `idle`: gc.c asks on 2 CPUs or more) and `workers`
 * dedicated workers may mark, each started the first time. */
void gci_bgmark_open(uint64_t cycle, bool idle, unsigned workers)
{
    if (workers > MAX_DEDICATED)
        workers = MAX_DEDICATED;
    for (; ndedicated < workers; ndedicated++) {
        struct bgm *b = &dedicated[ndedicated];
        pthread_mutex_init(&b->lock, NULL);
        pthread_cond_init(&b->wake, NULL);
    }
    for (unsigned i = 0; i < workers; i++)
        open_gate(&dedicated[i], cycle);
    if (idle && gci_opt_idle_mark)
        open_gate(&idle_marker, cycle);
}

/* Before a stop, or when the worker ran dry: waits out the steps under
 * way; on return no thread here holds a grey object or marks until the
 * gates open again. */
void gci_bgmark_close(void)
{
    for (unsigned i = 0; i < ndedicated; i++)
        close_gate(&dedicated[i]);
    close_gate(&idle_marker);
}

static int state_of(struct bgm *b)
{
    pthread_mutex_lock(&b->lock);
    int state = b->failed ? -1 : b->ready ? 1 : 0;
    pthread_mutex_unlock(&b->lock);
    return state;
}

/* 1 once the idle marker runs at SCHED_IDLE, -1 if it could not start
 * (the thread, or its policy), 0 before either (test/unit/bgmark.c). */
int gci_idle_mark_state(void) { return state_of(&idle_marker); }

/* Dedicated workers running, and how many of them have marked
 * (test/unit/bgmark.c). */
unsigned gci_dedicated_running(unsigned *marked)
{
    unsigned n = 0, m = 0;
    for (unsigned i = 0; i < ndedicated; i++) {
        n += state_of(&dedicated[i]) == 1;
        m += at_load(&dedicated[i].marked_ns) > 0;
    }
    *marked = m;
    return n;
}

/* BGMARK-1, with the world stopped at mark termination: every thread
 * here is between steps, holding no grey object. */
void gci_bgmark_check(void)
{
    if (at_load(&idle_marker.in_step))
        gci_fatal("BGMARK-1 violated: the idle marker is in a step at mark "
                  "termination");
    for (unsigned i = 0; i < ndedicated; i++)
        if (at_load(&dedicated[i].in_step))
            gci_fatal("BGMARK-1 violated: a dedicated mark worker is in a "
                      "step at mark termination");
}

/* fork(), in the child: the threads are gone; started again on need. */
static void reset(struct bgm *b)
{
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->wake, NULL);
    b->open = b->started = b->failed = b->ready = b->hungry = false;
    at_store(&b->in_step, 0);
    at_store(&b->closing, 0);
}

void gci_bgmark_after_fork_child(void)
{
    reset(&idle_marker);
    for (unsigned i = 0; i < ndedicated; i++)
        reset(&dedicated[i]);
}
