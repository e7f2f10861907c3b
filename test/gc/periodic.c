/*
 * periodic.c -- the forced period (GCHEAP_FORCE_PERIOD, here 300 ms): a
 * cycle starts on the library's own thread when the period has passed
 * since the last cycle and anything was allocated since; none while the
 * program allocates nothing, none with percent < 0.  The cycles run while
 * this thread sleeps in nanosleep, and a checksummed list with garbage
 * around it shows they free nothing live.  Then gc_collect and fork()
 * must still work (the cycles' thread must not have been left registered).
 */
#include "../check.h"
#include "../../gcheap.h"
#include "gc_util.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static gc_stats stats(void)
{
    gc_stats st;
    gc_get_stats(&st);
    return st;
}

/* Polls (every 10 ms, up to 30 s) until num_periodic_gc reaches n. */
static int wait_periodic(uint64_t n)
{
    for (int i = 0; i < 3000; i++) {
        if (stats().num_periodic_gc >= n)
            return 1;
        gct_sleep_ms(10);
    }
    return 0;
}

static struct gct_node *live;

int main(void)
{
    setenv("GCHEAP_FORCE_PERIOD", "300ms", 1);
    gc_init();
    live = gct_list(1000, 20000, NULL); /* ~640 KiB: no pacer cycle */
    gct_churn(1 << 20, 0, 1);
    CHECK(stats().num_gc == 0);

    /* Allocation since the start: a periodic cycle comes. */
    REQUIRE(wait_periodic(1));
    gc_stats st = stats();
    CHECK(st.num_gc == st.num_periodic_gc && st.num_forced_gc == 0);
    CHECK(gct_list_bad(live, 1000, 20000) == 0);

    /* Nothing allocated: five periods pass without a cycle. */
    uint64_t n = stats().num_periodic_gc;
    gct_sleep_ms(1500);
    CHECKF(stats().num_periodic_gc == n, "%llu periodic cycles while idle",
           (unsigned long long)(stats().num_periodic_gc - n));

    /* One small object is enough for the next. */
    CHECK(gc_alloc(16) != NULL);
    CHECK(wait_periodic(n + 1));

    /* percent < 0: no periodic cycle either. */
    gc_set_percent(-1);
    CHECK(gc_alloc(16) != NULL);
    n = stats().num_periodic_gc;
    gct_sleep_ms(1500);
    CHECK(stats().num_periodic_gc == n);
    gc_set_percent(100);
    CHECK(wait_periodic(n + 1)); /* the allocation above still counts */

    /* Garbage made and dropped between periodic cycles; the list holds. */
    for (int round = 0; round < 3; round++) {
        n = stats().num_periodic_gc;
        gct_churn(2 << 20, 0, (uint64_t)round + 7);
        gct_clear_stack();
        CHECK(wait_periodic(n + 1));
        CHECK(gct_list_bad(live, 1000, 20000) == 0);
    }
    st = stats();
    CHECK(st.num_forced_gc == 0 && st.num_gc >= st.num_periodic_gc);

    /* After periodic cycles (run on the library's thread), cycles run by
     * this thread and fork() still work: the library's thread must never
     * have become a registered thread that a stop would wait for. */
    gc_collect();
    CHECK(stats().num_forced_gc == 1);
    if (!GCT_TSAN) { /* TSan cannot start threads after such a fork */
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            gct_churn(4 << 20, 2, 99);
            _exit(gct_list_bad(live, 1000, 20000) == 0 ? 0 : 1);
        }
        int status = 0;
        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    CHECK(gct_list_bad(live, 1000, 20000) == 0);
    return check_done();
}
