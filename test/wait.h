/*
 * wait.h -- how a registered test thread waits for another while cycles
 * may run.
 *
 * Under ThreadSanitizer a signal that reaches a thread outside the calls
 * TSan knows to block (nanosleep, read, pthread_cond_wait, ...) is held
 * back until the thread leaves its current intercepted call.  A thread
 * blocked in pthread_mutex_lock or pthread_join behind a thread that the
 * collector stopped would never take the suspend signal, never stop, and
 * the collector would wait for it forever (test/gc/stopstorm hung that
 * way in CI: the main thread in pthread_join, the thread it joined parked
 * by the stop).  So under TSan these helpers poll and sleep, which takes
 * the signal; natively they are the plain calls, whose futex waits the
 * signal interrupts, as a program uses them.
 */
#ifndef GCHEAP_TEST_WAIT_H
#define GCHEAP_TEST_WAIT_H

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>

#if defined(__SANITIZE_THREAD__)
#define GCT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GCT_TSAN 1
#endif
#endif
#ifndef GCT_TSAN
#define GCT_TSAN 0
#endif

/* Locks a mutex the program's threads share while cycles run. */
__attribute__((unused)) static void gct_lock(pthread_mutex_t *m)
{
    if (!GCT_TSAN) {
        pthread_mutex_lock(m);
        return;
    }
    while (pthread_mutex_trylock(m) != 0)
        sched_yield();
}

/* pthread_join. */
__attribute__((unused)) static int gct_join(pthread_t t, void **result)
{
    if (!GCT_TSAN)
        return pthread_join(t, result);
    int err;
    while ((err = pthread_tryjoin_np(t, result)) == EBUSY) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return err;
}

#endif
