/*
 * threads.c -- the threads that use gcheap: registration, their caches,
 * and stopping and restarting them for the collector.
 *
 * A thread gets a record with its mcache and its stack bounds on its first
 * gc_ call (or gc_thread_register); a pthread key's destructor hands the
 * cache back and retires the record when the thread exits.
 *
 * Stopping the world.  The collector bumps `stop_epoch` to an odd value
 * and sends every other registered thread the suspend signal (SIGPWR by
 * default, GCHEAP_SUSPEND_SIGNAL to change it; installed with SA_RESTART,
 * so interrupted system calls resume).  The handler runs on the thread's
 * own stack, below the kernel's signal frame which holds every register of
 * the interrupted code; it spills the callee-saved registers once more
 * into its own frame, records its stack pointer, acknowledges, and
 * waits on a futex until the epoch moves on.  The thread's stack is then
 * scanned from that stack pointer to its base, registers included.
 * Threads blocked in read(), sleep() or on a lock are interrupted by the
 * signal like any other; after the handler returns, the call goes on.
 *
 * No-stop regions.  A thread is never parked inside the allocator: the
 * fast path, the slow path and gc_free run with `mcache.nostop` set; a
 * suspend signal arriving then only sets `stop_pending`, and the thread
 * parks itself when it leaves the region (gci_park_pending).  So while the
 * world is stopped no parked thread holds an allocator lock or is half way
 * through taking a slot, and the collector may flush every cache.  A
 * thread that reaches the allocator's slow path while a stop is under way
 * parks there without waiting for the signal (the cooperative check).
 *
 * Owns: the thread records, `stop_epoch`, the suspend signal.
 * Concurrency: `threads_lock` over the record lists (held by the collector
 * from stop to restart, so the set of threads does not change while the
 * world is stopped, and by a fork's prepare handler until the fork is
 * done); `nostop`, `stop_pending`, `parking` and `parked_epoch` are
 * touched only by the owning thread and its signal handler (signal
 * fences).  The fork gates: below.
 * THREADS-1: a record is on exactly one of the two lists.
 * THREADS-2: between gci_stop_world and gci_start_world every registered
 *            thread but the caller is parked outside any no-stop region.
 * THREADS-3: a thread acknowledges each stop at most once (park_for).
 */
#include "internal.h"

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

_Thread_local struct mcache *gci_tls_cache
    __attribute__((tls_model("initial-exec")));
_Thread_local bool gci_tls_library_thread;
static _Thread_local struct gthread *tls_thread
    __attribute__((tls_model("initial-exec")));

static pthread_mutex_t threads_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gthread *live_threads, *free_records;
static pthread_key_t thread_key;
static int suspend_signal = SIGPWR;

/* Odd while the world is stopped or stopping.  An int for the futex. */
static volatile int stop_epoch;
static sem_t stop_acks;

extern void *__libc_stack_end;

/* ---- Records ------------------------------------------------------------- */

static void unlink_record(struct gthread *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        live_threads = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->next = free_records;
    free_records = t;
}

static void thread_exit(void *arg)
{
    struct gthread *t = arg;
    gci_nostop_begin(&t->cache);
    gci_mcache_release_all(&t->cache);
    gci_barrier_flush(t); /* its grey objects, if a cycle marks */
    gci_nostop_end(&t->cache);
    gci_lock_stoppable(&threads_lock);
    /* Off the list, it is sent no suspend signal; a late one of a stop
     * it already parked for must not park it for a later stop either
     * (THREADS-3).  No stop is under way while this holds the lock. */
    tls_thread = NULL;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    unlink_record(t);
    gci_stats_absorb(&t->cache);
    pthread_mutex_unlock(&threads_lock);
    gci_tls_cache = NULL;
}

static struct gthread *new_record(void)
{
    struct gthread *t = free_records;
    if (t) {
        free_records = t->next;
        memset(t, 0, sizeof *t);
        return t;
    }
    return gci_os_alloc_meta(sizeof(struct gthread));
}

/* The highest address of the calling thread's stack.  For the main thread,
 * the top of main's caller's frame, not the environment strings above. */
static uintptr_t stack_base(void)
{
    if (getpid() == (pid_t)syscall(SYS_gettid))
        return (uintptr_t)__libc_stack_end;
    pthread_attr_t attr;
    void *lo;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        gci_fatal("pthread_getattr_np failed");
    pthread_attr_getstack(&attr, &lo, &size);
    pthread_attr_destroy(&attr);
    return (uintptr_t)lo + size;
}

static struct mcache *attach(uintptr_t hi);

/* Gives the calling thread its record and cache; NULL when out of memory. */
struct mcache *gci_thread_attach(void)
{
    init_once();
    if (tls_thread)
        return &tls_thread->cache;
    return attach(stack_base());
}

/* The same, first thing in a thread made after gci_thread_create_begin:
 * it has begun once its stack is known (pthread_getattr_np mallocs), and
 * must say so before it waits for threads_lock, which a fork holds until
 * every such thread has begun. */
struct mcache *gci_thread_attach_created(void)
{
    uintptr_t hi = stack_base();
    gci_thread_create_end();
    init_once();
    return attach(hi);
}

static struct mcache *attach(uintptr_t hi)
{
    pthread_mutex_lock(&threads_lock);
    struct gthread *t = new_record();
    if (t) {
        gci_mcache_init(&t->cache);
        t->id = pthread_self();
        t->stack_hi = hi;
        t->next = live_threads;
        if (live_threads)
            live_threads->prev = t;
        live_threads = t;
        tls_thread = t;
        gci_tls_cache = &t->cache;
    }
    pthread_mutex_unlock(&threads_lock);
    if (t) {
        pthread_setspecific(thread_key, t);
        /* A registered thread must take the suspend signal, whatever mask
         * it inherited (a thread started from one of the library's, which
         * block everything, would otherwise hang the next stop). */
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, suspend_signal);
        pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    }
    return t ? &t->cache : NULL;
}

/* Marks the calling thread as one of the library's own (see internal.h)
 * and names it (at most 15 characters: top -H, perf and gdb show it);
 * the first thing such a thread does. */
void gci_library_thread_begin(const char *name)
{
    gci_tls_library_thread = true;
    gci_thread_create_end();
    gci_name_thread(name);
}

/* Names the calling thread; the name is only a help, so a failure is
 * ignored. */
void gci_name_thread(const char *name)
{
    prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}

/* Starts one of the library's threads, fn(arg): detached, every signal
 * blocked (the suspend signal must never reach it: it is never
 * registered).  Returns false if it could not be created. */
bool gci_start_library_thread(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    pthread_attr_t attr;
    sigset_t all, old;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigfillset(&all);
    gci_thread_create_begin();
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int err = pthread_create(&t, &attr, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (err)
        gci_thread_create_end();
    return err == 0;
}

/* Takes a lock of the library for an API call, inside a no-stop region,
 * so that no stopped thread ever holds it and the collector may take it
 * while the world is stopped.  The library's own threads are never
 * stopped and take it plainly (the sysmon thread runs cycles, whose end
 * takes the finalizer lock).  Returns the cache to pass to
 * gci_api_unlock (NULL if the thread could not be registered). */
struct mcache *gci_api_lock(pthread_mutex_t *m)
{
    if (gci_tls_library_thread) { /* never stopped: a plain lock is safe */
        pthread_mutex_lock(m);
        return NULL;
    }
    init_once();
    struct mcache *c = gci_tls_cache ? gci_tls_cache : gci_thread_attach();
    if (c)
        gci_nostop_begin(c);
    pthread_mutex_lock(m);
    return c;
}

void gci_api_unlock(struct mcache *c, pthread_mutex_t *m)
{
    pthread_mutex_unlock(m);
    if (c)
        gci_nostop_end(c);
}

/* ---- Parking ---------------------------------------------------------------
 */

static void futex_wait(volatile int *addr, int value)
{
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, value, NULL, NULL, 0);
}

static void futex_wake_all(volatile int *addr)
{
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

/* Acknowledges stop `epoch` and waits until it ends.  Each thread
 * acknowledges each stop exactly once: parked_epoch is written only here,
 * before the acknowledgement, and only by the thread itself, from either
 * its signal handler or its cooperative parks, never both for one stop
 * (`parking`, below).  A second acknowledgement would be taken by the
 * next stop for this thread's: that stop would go on while the thread
 * still runs (and, at a mark termination, flush the work buffer it is
 * still filling: grey objects lost, live objects freed). */
static GCI_NOINLINE void park_for(struct gthread *t, int epoch,
                                  uintptr_t user_sp)
{
    t->user_sp = user_sp;
    /* Every callee-saved register into this frame, unmangled (glibc's
     * setjmp mangles rbp, which -O2 code uses for data); the scan starts
     * below the whole frame, so it covers them wherever the compiler put
     * them. */
    __builtin_unwind_init();
    __atomic_store_n(&t->parked_epoch, epoch, __ATOMIC_RELAXED);
    at_store(&t->stopped_sp, gci_stack_below());
    sem_post(&stop_acks); /* a release: the collector's sem_wait sees sp */
    while (__atomic_load_n(&stop_epoch, __ATOMIC_ACQUIRE) == epoch)
        futex_wait(&stop_epoch, epoch);
}

/* The stop under way that this thread has not acknowledged, or 0. */
static int stop_unacked(struct gthread *t)
{
    int epoch = __atomic_load_n(&stop_epoch, __ATOMIC_ACQUIRE);
    return (epoch & 1) && t->parked_epoch != epoch ? epoch : 0;
}

/* A cooperative park: parks for every stop under way until none is left
 * unacknowledged.  The suspend signal may arrive at any instant of it;
 * while `parking` is set the handler leaves the stop to this loop (which
 * then sees it: its signal comes after the epoch moved), and after
 * `parking` is cleared the loop looks once more, for a signal that came
 * just before. */
static GCI_NOINLINE void park_cooperative(struct gthread *t)
{
    for (;;) {
        t->parking = 1;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        int epoch;
        while ((epoch = stop_unacked(t)) != 0) {
            if (GCHEAP_DEBUG >= 2) /* widen the window for the signal */
                for (int i = 0; i < 2000; i++)
                    gci_cpu_relax();
            park_for(t, epoch, 0);
        }
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        t->parking = 0;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        if (!stop_unacked(t))
            return;
    }
}

/* An address below the caller's whole frame: a local of this function's
 * own frame.  (The address of a local of the caller's may lie above some
 * of the caller's register spills: the compiler orders its slots.) */
GCI_NOINLINE uintptr_t gci_stack_below(void)
{
    volatile char here = 0;
    uintptr_t sp = (uintptr_t)&here;
    (void)here;
    return sp;
}

/* The stack pointer of the code a signal interrupted (0: unknown). */
static uintptr_t interrupted_sp(void *uctx)
{
    ucontext_t *uc = uctx;
#if defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    return (uintptr_t)uc->uc_mcontext.sp;
#else
    (void)uc;
    return 0;
#endif
}

static void suspend_handler(int sig, siginfo_t *info, void *uctx)
{
    (void)sig;
    (void)info;
    int saved_errno = errno;
    struct gthread *t = tls_thread;
    if (t && !t->parking) { /* parking: the interrupted park sees it */
        int epoch;
        if (t->cache.nostop)
            t->cache.stop_pending = 1;
        else if ((epoch = stop_unacked(t)) != 0)
            park_for(t, epoch, interrupted_sp(uctx));
    }
    errno = saved_errno;
}

/* Called on leaving a no-stop region in which a suspend signal arrived. */
GCI_NOINLINE void gci_park_pending(struct mcache *c)
{
    c->stop_pending = 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if (tls_thread)
        park_cooperative(tls_thread);
}

/* The cooperative check of the allocator's slow path. */
void gci_park_if_stopping(void)
{
    if ((__atomic_load_n(&stop_epoch, __ATOMIC_RELAXED) & 1) && tls_thread)
        park_cooperative(tls_thread);
}

/* Takes a lock the collector may hold while the world is stopped
 * (threads_lock, sweep_lock), or a parked thread may hold (the cycle
 * lock: a thread stops anywhere outside a no-stop region), parking
 * meanwhile if a stop is under way.  Natively a thread blocked on the
 * mutex takes the suspend signal anyway, but not under ThreadSanitizer,
 * which runs signal handlers only inside the blocking calls it knows: a
 * thread blocked there on a lock whose holder is parked would never
 * acknowledge the stop (test/gc/stopstorm hung 1 run in 10 under TSan). */
void gci_lock_stoppable(pthread_mutex_t *m)
{
    while (pthread_mutex_trylock(m) != 0) {
        gci_park_if_stopping();
        sched_yield();
    }
}

/* ---- Stopping the world ------------------------------------------------- */

/* How long a stop waits for an acknowledgement before it signals again
 * the threads that have not parked. */
#define STOP_RESEND_MS 100
static AO_t stop_resends; /* signals sent again, for GCHEAP_TRACE */

/* The signals sent again since the last call. */
size_t gci_stop_resends_take(void)
{
    return __atomic_exchange_n(&stop_resends, 0, __ATOMIC_RELAXED);
}

static void signal_thread(struct gthread *t, int epoch)
{
    int err = pthread_kill(t->id, suspend_signal);
    if (err != 0) {                  /* gone without its destructor running: */
        at_store(&t->stopped_sp, 0); /* no stack to scan */
        /* acknowledged for it, once: a resend skips it */
        __atomic_store_n(&t->parked_epoch, epoch, __ATOMIC_RELAXED);
        sem_post(&stop_acks);
    }
}

/* Waits up to `ms` for one acknowledgement; false on a timeout. */
static bool wait_ack(long ms)
{
    uint64_t at = gci_os_realtime_ns() + (uint64_t)ms * 1000000;
    struct timespec until = {.tv_sec = (time_t)(at / 1000000000),
                             .tv_nsec = (long)(at % 1000000000)};
    for (;;) {
        if (sem_timedwait(&stop_acks, &until) == 0)
            return true;
        if (errno != EINTR)
            return false;
    }
}

/* Stops every registered thread but the caller (THREADS-2).  Returns with
 * threads_lock held. */
void gci_stop_world(void)
{
    pthread_mutex_lock(&threads_lock);
    if (GCHEAP_DEBUG >= 1) { /* each stop takes exactly its own: park_for */
        int left = 0;
        sem_getvalue(&stop_acks, &left);
        if (left != 0)
            gci_fatal("a stray stop acknowledgement (a thread parked twice "
                      "for one stop)");
    }
    int epoch = __atomic_add_fetch(&stop_epoch, 1, __ATOMIC_SEQ_CST);
    size_t others = 0;
    for (struct gthread *t = live_threads; t; t = t->next)
        if (t != tls_thread) {
            signal_thread(t, epoch);
            others++;
        }
    /* A signal can be lost: ThreadSanitizer's runtime, which takes every
     * signal first and runs the program's handler later, now and then
     * never runs it (test/gc/stopstorm under TSan: the thread's handler
     * never ran, nothing was pending).  So a stop that waits long sends
     * the signal again to the threads that have not parked for it.  An
     * extra signal is harmless: a thread acknowledges each stop once
     * (THREADS-3), and one that comes late finds its stop acknowledged or
     * over (or, if it starts the next stop's park early, that stop's own
     * signal then finds it parked). */
    for (size_t acked = 0; acked < others;) {
        if (wait_ack(STOP_RESEND_MS)) {
            acked++;
            continue;
        }
        for (struct gthread *t = live_threads; t; t = t->next)
            if (t != tls_thread &&
                __atomic_load_n(&t->parked_epoch, __ATOMIC_RELAXED) != epoch) {
                at_fetch_add(&stop_resends, 1);
                signal_thread(t, epoch);
            }
    }
}

void gci_start_world(void)
{
    __atomic_add_fetch(&stop_epoch, 1, __ATOMIC_SEQ_CST);
    futex_wake_all(&stop_epoch);
    pthread_mutex_unlock(&threads_lock);
}

/* Calls fn for every registered thread; only with the world stopped. */
void gci_threads_each(void (*fn)(struct gthread *t, void *arg), void *arg)
{
    for (struct gthread *t = live_threads; t; t = t->next)
        fn(t, arg);
}

struct gthread *gci_thread_self(void) { return tls_thread; }

/* ---- Setup, fork --------------------------------------------------------- */

static void install_handler(void)
{
    const char *env = getenv("GCHEAP_SUSPEND_SIGNAL");
    if (env && *env) {
        char *end;
        long sig = strtol(env, &end, 10);
        if (*end || sig < 1 || sig >= NSIG)
            gci_env_warning("GCHEAP_SUSPEND_SIGNAL", env,
                            "not a signal number");
        else
            suspend_signal = (int)sig;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = suspend_handler;
    sa.sa_flags = SA_RESTART | SA_SIGINFO;
    sigfillset(&sa.sa_mask);
    sigdelset(&sa.sa_mask, SIGSEGV);
    sigdelset(&sa.sa_mask, SIGBUS);
    if (sigaction(suspend_signal, &sa, NULL) != 0)
        gci_fatal("cannot install the suspend signal handler");
}

/* ---- fork ------------------------------------------------------------------
 *
 * The child of fork() has only the forking thread, and memory as it was at
 * the instant of the fork: a lock another thread held stays held, a cache
 * another thread was changing stays half changed.  So at that instant no
 * other registered thread may be in a no-stop region (those hold the
 * library's locks and change caches), and every other thread's cache must
 * be empty, as the child hands those caches back.
 *
 * The world cannot simply stay stopped across the fork: glibc's fork takes
 * malloc's arena locks after the prepare handlers, and a thread parked
 * inside malloc holds one; the parent would wait for it for ever.  So the
 * prepare handler stops the world, empties the other threads' caches and
 * closes the *fork gate* of each (mcache.fork_gate), then lets them run:
 * a thread entering a no-stop region waits at its gate (a futex on
 * fork_gen) until the parent's handler opens it, so it never reaches its
 * (empty) cache.
 *
 * A thread being created when the fork comes may be in the middle of its
 * start-up (ASan's, which takes its allocator's lock, or glibc's), so a
 * fork waits until every thread this library creates has begun
 * (threads_starting), and none is created while the gate is closed.
 */

/* Odd while a fork is under way (between the prepare handler and the
 * parent's); an int for the futex. */
static volatile int fork_gen;
static AO_t threads_starting;

static void wait_fork_gate(int gen)
{
    while (__atomic_load_n(&fork_gen, __ATOMIC_ACQUIRE) == gen)
        futex_wait(&fork_gen, gen); /* a stop's signal may interrupt it */
}

/* From gci_nostop_begin, with the gate closed: waits, inside the region,
 * for the gate to open.  No stop can come meanwhile (the fork holds the
 * cycle lock until the gates are open), so waiting in the region delays
 * nothing; and a region entered by a signal handler that interrupted the
 * outer entry before its check waits too. */
GCI_NOINLINE void gci_fork_gate_wait(struct mcache *c)
{
    for (;;) {
        int gen = __atomic_load_n(&fork_gen, __ATOMIC_ACQUIRE);
        if (!__atomic_load_n(&c->fork_gate, __ATOMIC_ACQUIRE))
            return;
        if (gen & 1)
            wait_fork_gate(gen);
    }
}

/* Before creating a thread: waits while a fork is under way, and counts
 * the thread as starting until it calls gci_thread_create_end (the
 * creator calls it if pthread_create fails). */
void gci_thread_create_begin(void)
{
    for (;;) {
        __atomic_add_fetch(&threads_starting, 1, __ATOMIC_SEQ_CST);
        int gen = __atomic_load_n(&fork_gen, __ATOMIC_SEQ_CST);
        if (!(gen & 1))
            return;
        __atomic_sub_fetch(&threads_starting, 1, __ATOMIC_SEQ_CST);
        wait_fork_gate(gen);
    }
}

void gci_thread_create_end(void)
{
    __atomic_sub_fetch(&threads_starting, 1, __ATOMIC_SEQ_CST);
}

/* The prepare handler's part (the cycle lock held, sweeping held off).
 * Returns with threads_lock held, the world running, the gates closed. */
void gci_threads_fork_prepare(void)
{
    gci_stop_world();
    __atomic_add_fetch(&fork_gen, 1, __ATOMIC_SEQ_CST); /* odd */
    for (struct gthread *t = live_threads; t; t = t->next)
        if (t != tls_thread) { /* parked, outside any no-stop region */
            gci_mcache_release_all(&t->cache);
            __atomic_store_n(&t->cache.fork_gate, 1, __ATOMIC_RELAXED);
        }
    /* Restart the world as gci_start_world does, keeping threads_lock:
     * the set of threads must not change until the fork is done. */
    __atomic_add_fetch(&stop_epoch, 1, __ATOMIC_SEQ_CST);
    futex_wake_all(&stop_epoch);
    while (__atomic_load_n(&threads_starting, __ATOMIC_SEQ_CST) != 0)
        sched_yield();
}

static void open_fork_gates(void)
{
    for (struct gthread *t = live_threads; t; t = t->next)
        __atomic_store_n(&t->cache.fork_gate, 0, __ATOMIC_RELEASE);
    __atomic_add_fetch(&fork_gen, 1, __ATOMIC_SEQ_CST); /* even */
    futex_wake_all(&fork_gen);
}

void gci_threads_fork_parent(void)
{
    open_fork_gates();
    pthread_mutex_unlock(&threads_lock);
}

/* In the child after fork(): only the forking thread exists.  The others'
 * caches are handed back (empty since the prepare handler); their records
 * are reused.  The stop and fork numbers go on from the parent's: an
 * epoch is never reused, so no record's parked_epoch can equal a stop of
 * the child's.  (A reset to 0 once made the child's first stop by another
 * thread look acknowledged already when the parent had last parked the
 * forking thread at the same epoch, and the stopper waited for ever.) */
void gci_threads_after_fork(void)
{
    pthread_mutex_init(&threads_lock, NULL);
    struct gthread *self = tls_thread;
    struct gthread *t = live_threads;
    live_threads = NULL;
    while (t) {
        struct gthread *next = t->next;
        if (t == self) {
            t->next = t->prev = NULL;
            live_threads = t;
        } else {
            gci_mcache_release_all(&t->cache);
            gci_stats_absorb(&t->cache);
            t->next = free_records;
            free_records = t;
        }
        t = next;
    }
    if (self)
        self->parked_epoch = stop_epoch; /* even: below every stop to come */
    open_fork_gates();
    at_store(&threads_starting, 0);
    sem_init(&stop_acks, 0, 0);
}

void gci_threads_init(void)
{
    if (pthread_key_create(&thread_key, thread_exit) != 0)
        gci_fatal("pthread_key_create failed");
    sem_init(&stop_acks, 0, 0);
    install_handler();
}

/* Adds up the live caches' counters: nmalloc, bytes_alloc, nfree,
 * bytes_freed, and the global ones they fold into. */
void gci_threads_sum_stats(uint64_t out[4])
{
    gci_lock_stoppable(&threads_lock);
    out[0] = at_load(&gci_stat_nmalloc);
    out[1] = at_load(&gci_stat_bytes_alloc);
    out[2] = at_load(&gci_stat_nfree);
    out[3] = at_load(&gci_stat_bytes_freed);
    for (struct gthread *t = live_threads; t; t = t->next) {
        out[0] += at_load(&t->cache.nmalloc);
        out[1] += at_load(&t->cache.bytes_alloc);
        out[2] += at_load(&t->cache.nfree);
        out[3] += at_load(&t->cache.bytes_freed);
    }
    pthread_mutex_unlock(&threads_lock);
}

size_t gci_threads_count(void)
{
    size_t n = 0;
    gci_lock_stoppable(&threads_lock);
    for (struct gthread *t = live_threads; t; t = t->next)
        n++;
    pthread_mutex_unlock(&threads_lock);
    return n;
}

/* ---- Public ----------------------------------------------------------------
 */

GCI_API int gc_thread_register(void) { return gci_thread_attach() ? 0 : -1; }

GCI_API void gc_thread_unregister(void)
{
    struct gthread *t = tls_thread;
    if (!t)
        return;
    pthread_setspecific(thread_key, NULL);
    thread_exit(t);
}

struct start_arg {
    void *(*start)(void *);
    void *arg;
};

static void *thread_start(void *p)
{
    struct start_arg *sa = p;
    void *(*start)(void *) = sa->start;
    void *arg = sa->arg;
    gci_thread_attach_created();
    gc_free(sa);
    return start(arg);
}

/* The new thread registers before `start` runs; `arg` is kept alive in
 * between by the uncollectable record that carries it. */
GCI_API int gc_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                              void *(*start)(void *), void *arg)
{
    struct start_arg *sa = gc_alloc_uncollectable(sizeof *sa);
    if (!sa)
        return EAGAIN;
    sa->start = start;
    sa->arg = arg;
    gci_thread_create_begin();
    int err = pthread_create(thread, attr, thread_start, sa);
    if (err) {
        gci_thread_create_end();
        gc_free(sa);
    }
    return err;
}
