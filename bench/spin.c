/*
 * spin.c -- the machine's floor for any loop: the gaps a thread sees when
 * it allocates nothing, touches no new memory and takes no lock.
 *
 * bench/latency's max gap and p99.9 include whatever the operating system
 * and, in a virtual machine, the host take from the program: a preempted
 * virtual CPU, an interrupt, another process.  No allocator can make its
 * gaps shorter than those.  This program runs a loop of pure arithmetic
 * (about a microsecond an iteration) for S seconds (argv[1], default 10),
 * timing every iteration as latency does.  With B (argv[2]) at 1, a second
 * thread meanwhile spins on the other CPU, as a concurrent mark worker
 * does while latency's loop runs.  One line:
 *   RESULT bench=spin seconds=S busy=B iters=N max_us=G over_100us=A
 *          over_1ms=C stalled_1ms=D
 * (on one line): the longest iteration, how many took over 100 us and
 * over 1 ms, and how many of those over 1 ms spent under half their time
 * on the CPU (by the thread's CPU clock).  A preemption lands in one
 * iteration whatever the loop does, so the counts compare directly with
 * latency's iterations over 100 us in the same number of seconds.
 *
 * Usage: spin [seconds [busy]]
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t now_ns(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static atomic_int started, stop;

/* About a microsecond of arithmetic; returns its result so it is done. */
static uint64_t work(uint64_t x)
{
    for (int k = 0; k < 256; k++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

static void *busy_loop(void *arg)
{
    uint64_t x = (uint64_t)(uintptr_t)arg | 1;
    atomic_store(&started, 1);
    while (!atomic_load_explicit(&stop, memory_order_relaxed))
        x = work(x);
    return (void *)(uintptr_t)(x & 1);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? strtod(argv[1], NULL) : 10;
    int busy = argc > 2 ? atoi(argv[2]) : 0;
    if (!(secs > 0) || secs > 3600 || busy < 0 || busy > 1) {
        fprintf(stderr, "usage: spin [seconds [busy 0|1]]\n");
        return 2;
    }
    pthread_t bt;
    if (busy) {
        if (pthread_create(&bt, NULL, busy_loop, (void *)(uintptr_t)7) != 0) {
            fprintf(stderr, "spin: pthread_create failed\n");
            return 1;
        }
        while (!atomic_load(&started))
            ;
    }
    uint64_t x = 88172645463325252u, iters = 0, longest = 0;
    uint64_t over_100us = 0, over_1ms = 0, stalled = 0;
    uint64_t prev = now_ns(CLOCK_MONOTONIC);
    uint64_t prev_cpu = now_ns(CLOCK_THREAD_CPUTIME_ID);
    uint64_t end = prev + (uint64_t)(secs * 1e9);
    while (prev < end) {
        x = work(x);
        uint64_t t = now_ns(CLOCK_MONOTONIC);
        uint64_t cpu = now_ns(CLOCK_THREAD_CPUTIME_ID);
        uint64_t wall = t - prev;
        if (wall > longest)
            longest = wall;
        over_100us += wall > 100000;
        if (wall > 1000000) {
            over_1ms++;
            stalled += 2 * (cpu - prev_cpu) < wall;
        }
        prev = t;
        prev_cpu = cpu;
        iters++;
    }
    if (busy) {
        atomic_store(&stop, 1);
        pthread_join(bt, NULL);
    }
    printf("RESULT bench=spin seconds=%g busy=%d iters=%" PRIu64
           " max_us=%" PRIu64 " over_100us=%" PRIu64 " over_1ms=%" PRIu64
           " stalled_1ms=%" PRIu64 "\n",
           secs, busy, iters, longest / 1000, over_100us, over_1ms, stalled);
    return x == 42; /* never: uses the result */
}
