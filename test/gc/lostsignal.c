/*
 * lostsignal.c -- a stop whose suspend signal is lost sends it again
 * (threads.c, gci_stop_world).
 *
 * A registered thread blocks the suspend signal and takes it with
 * sigtimedwait, so its handler never runs: the signal is lost, as under
 * ThreadSanitizer's runtime now and then.  Then it unblocks the signal and
 * sleeps.  gc_collect() must still return: the stop signals the thread
 * again.  Without the resend the stop waits forever (the alarm fails the
 * test).  The thread's checksummed list must survive the cycle and the
 * garbage after it, so the resent stop really parked it and scanned its
 * stack.
 */
#include "../check.h"
#include "../../gcheap.h"
#include "gc_util.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>

enum { NODES = 5000 };

static atomic_int ready, swallowed, done;

static int suspend_signal(void)
{
    const char *env = getenv("GCHEAP_SUSPEND_SIGNAL");
    return env && *env ? atoi(env) : SIGPWR;
}

static void *victim(void *arg)
{
    (void)arg;
    struct gct_node *list = gct_list(7u << 20, NODES, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, suspend_signal());
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    atomic_store(&ready, 1);
    struct timespec limit = {10, 0};
    if (sigtimedwait(&set, NULL, &limit) == suspend_signal())
        atomic_store(&swallowed, 1); /* the handler never saw it */
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    while (!atomic_load(&done))
        gct_sleep_ms(1); /* takes the signal sent again */
    return (void *)(uintptr_t)gct_list_bad(list, 7u << 20, NODES);
}

int main(void)
{
    gc_init();
    alarm(60); /* a stop that never ends fails the test */
    pthread_t t;
    REQUIRE(gc_pthread_create(&t, NULL, victim, NULL) == 0);
    while (!atomic_load(&ready))
        gct_sleep_ms(1);
    double t0 = gct_now();
    gc_collect(); /* its signal to the victim is swallowed */
    double waited = gct_now() - t0;
    gct_churn(64 << 20, 1, 99); /* reuse what the cycle freed */
    atomic_store(&done, 1);
    void *bad = NULL;
    CHECK(gct_join(t, &bad) == 0);
    CHECKF(atomic_load(&swallowed), "the victim never took the signal");
    CHECKF(bad == NULL, "the victim's list was damaged");
    printf("gc_collect returned after %.0f ms\n", waited * 1e3);
    return check_done();
}
