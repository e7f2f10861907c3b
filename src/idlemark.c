/*
 * idlemark.c -- marking on a CPU nobody else wants (Go's idle mark
 * workers).
 *
 * A concurrent cycle's worker keeps to its share of the CPUs (a quarter:
 * on 2 CPUs half of one), so while it marks the rest of an otherwise idle
 * CPU goes unused and the program's assists do the marking the
 * worker does not.  The idle marker is one more marking thread, at
 * SCHED_IDLE: the scheduler runs it only where no other thread of any
 * process wants the CPU, and a waking thread preempts it at once.  Its
 * marking (its thread's CPU time) counts on the marking side of the
 * pacer's cons/mark, as Go's idle time does, and not in the memory
 * limit's CPU cap, on either side: the CPU was free.
 *
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
 * for its batch waited up to 0.5 s, sweep.c.)
 *
 * Protocol with the cycle (gc.c): the cycle opens the gate after each
 * restart of the world while it marks (gci_idle_mark_open) and closes it
 * before each stop and when its worker runs dry (gci_idle_mark_close).
 * A step runs with `idle.lock` held, so closing waits out the step under
 * way, after which the marker holds no grey object and starts no step
 * until the gate opens again: mark termination never misses its objects.
 * Its marker is fresh each cycle (a marker remembers the span it last
 * looked up, which may be freed by the next cycle).
 *
 * Owns: the idle-marking thread, `idle`.  Off with GCHEAP_IDLE_MARK=0, on
 * one CPU (there the program's own CPU is the only one), and where the
 * thread cannot be made SCHED_IDLE (then it would compete with the
 * program at its priority: it exits instead).
 */
#include "internal.h"

#include <sched.h>
#include <sys/resource.h>
#include <time.h>

int gci_opt_idle_mark = 1;
AO_t gci_idle_mark_ns; /* time the idle marker spent in steps, all cycles */

/* A step's length: what it may hold its grey objects for, and how long a
 * program thread that takes its CPU may wait behind it if the scheduler
 * does not preempt it at once. */
#define IDLE_STEP_NS 50000u
#define IDLE_STEP_BYTES (256u << 10)
/* The pause after IDLE_CONTENDED steps in a row in which it was
 * preempted (once is the cycle's own worker waking on its CPU for a
 * slice; every step is a busy thread sharing its CPU), and the poll while
 * the gate is open but no grey object is published. */
#define IDLE_CONTENDED 2
#define IDLE_BACKOFF_NS 1000000u
#define IDLE_POLL_NS 100000u

static struct {
    pthread_mutex_t lock; /* held through each step */
    pthread_cond_t wake;
    bool open;            /* the cycle lets it mark */
    bool hungry;          /* counted in gci_work_hungry: found nothing */
    uint64_t cycle;       /* opened for this cycle (a fresh marker) */
    bool started, failed; /* the thread */
    bool ready;           /* it runs at SCHED_IDLE */
} idle = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

/* In a step: holding grey objects no one else can see.  A debug check
 * with the world stopped at mark termination (gci_idle_mark_check). */
static AO_t in_step;

/* Debug builds hold every 4th step's grey objects this long before they
 * are published, so a mark termination that did not wait out the step
 * (the protocol above) would be caught by gci_idle_mark_check and the
 * tests' checksums, not missed in a 50 µs window. */
#define IDLE_DEBUG_HOLD_NS 200000u

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)ns};
    nanosleep(&ts, NULL);
}

/* Counts the idle marker in gci_work_hungry (while the gate is open) or
 * takes it out; idle.lock held. */
static void hungry_locked(bool on)
{
    if ((idle.open || !on) && idle.hungry != on) {
        idle.hungry = on;
        gci_work_hungry(on);
    }
}

static long preemptions(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nivcsw : 0;
}

static void *idle_main(void *arg)
{
    (void)arg;
    gci_library_thread_begin("gcheap-idlemark");
    struct sched_param sp = {.sched_priority = 0};
    if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) != 0) {
        pthread_mutex_lock(&idle.lock);
        idle.failed = true;   /* at its normal priority it would take the */
        idle.started = false; /* program's CPU: no idle marking */
        pthread_mutex_unlock(&idle.lock);
        return NULL;
    }
    pthread_mutex_lock(&idle.lock);
    idle.ready = true;
    pthread_mutex_unlock(&idle.lock);
    struct marker m = {0};
    uint64_t cycle = 0, steps = 0;
    long seen = preemptions();
    int contended = 0; /* steps in a row after which it found it had
                          been preempted */
    pthread_mutex_lock(&idle.lock);
    for (;;) {
        while (!idle.open)
            pthread_cond_wait(&idle.wake, &idle.lock);
        if (idle.cycle != cycle) {
            struct marker fresh = {0};
            m = fresh;
            cycle = idle.cycle;
        }
        uint64_t t0 = gci_os_now_ns(), cpu0 = gci_os_thread_cpu_ns();
        at_store(&in_step, 1);
        uint64_t d =
            gci_mark_drain_some(&m, IDLE_STEP_BYTES, t0 + IDLE_STEP_NS);
        uint64_t cpu = gci_os_thread_cpu_ns() - cpu0; /* not the debug hold */
        if (GCHEAP_DEBUG >= 2 && d && ++steps % 4 == 0)
            sleep_ns(IDLE_DEBUG_HOLD_NS);
        gci_work_flush(&m); /* nothing held between steps */
        at_store(&in_step, 0);
        gci_mark_account(&m);
        if (d) {
            at_fetch_add(&gci_bg_credit, d);
            at_fetch_add(&gci_idle_mark_ns, cpu);
            gci_assist_revise();
        }
        pthread_mutex_unlock(&idle.lock);
        if (d)
            sched_yield();
        long now = preemptions();
        contended = now != seen ? contended + 1 : 0;
        if (contended >= IDLE_CONTENDED) {
            sleep_ns(IDLE_BACKOFF_NS);
        } else if (!d) { /* hungry while it polls, and only then: the
                            assists' pushes split buffers for it */
            pthread_mutex_lock(&idle.lock);
            hungry_locked(true);
            pthread_mutex_unlock(&idle.lock);
            sleep_ns(IDLE_POLL_NS);
        }
        seen = now; /* a sleep is a voluntary switch, not counted */
        pthread_mutex_lock(&idle.lock);
        hungry_locked(false);
    }
    return NULL;
}

/* The world restarted in the mark of `cycle` (gc.c's count): the idle
 * marker may mark (started the first time; gc.c calls this only on 2
 * CPUs or more). */
void gci_idle_mark_open(uint64_t cycle)
{
    if (!gci_opt_idle_mark)
        return;
    pthread_mutex_lock(&idle.lock);
    if (!idle.started && !idle.failed) {
        idle.started = gci_start_library_thread(idle_main);
        idle.failed = !idle.started; /* not tried at every restart */
    }
    if (idle.started) {
        idle.open = true;
        idle.cycle = cycle;
        pthread_cond_signal(&idle.wake);
    }
    pthread_mutex_unlock(&idle.lock);
}

/* Before a stop, or when the worker ran dry: waits out the step under
 * way; on return the idle marker holds no grey object and marks no more
 * until the gate opens again. */
void gci_idle_mark_close(void)
{
    pthread_mutex_lock(&idle.lock);
    idle.open = false;
    hungry_locked(false); /* the count must not stay up into a stop: root
                             marking would split its buffers */
    pthread_mutex_unlock(&idle.lock);
}

/* 1 once the idle marker runs at SCHED_IDLE, -1 if it could not start
 * (the thread, or its policy), 0 before either (test/unit/idlemark.c). */
int gci_idle_mark_state(void)
{
    pthread_mutex_lock(&idle.lock);
    int state = idle.failed ? -1 : idle.ready ? 1 : 0;
    pthread_mutex_unlock(&idle.lock);
    return state;
}

/* IDLE-1, with the world stopped at mark termination: the idle marker is
 * between steps, holding no grey object. */
void gci_idle_mark_check(void)
{
    if (at_load(&in_step))
        gci_fatal("IDLE-1 violated: the idle marker is in a step at mark "
                  "termination");
}

/* fork(), in the child: the thread is gone; started again on need. */
void gci_idle_mark_after_fork_child(void)
{
    pthread_mutex_init(&idle.lock, NULL);
    pthread_cond_init(&idle.wake, NULL);
    idle.open = idle.started = idle.failed = idle.ready = idle.hungry = false;
}
