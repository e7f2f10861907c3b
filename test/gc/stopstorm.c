/*
 * stopstorm.c -- stops of the world back to back while threads park
 * themselves cooperatively (threads.c: each thread acknowledges each stop
 * exactly once).
 *
 * One thread calls gc_collect() in a loop; three threads allocate 40 KB
 * objects (each one takes the allocator's slow path, which parks the
 * thread itself when a stop is under way, often just before the stop's
 * signal reaches it) and keep checksummed data: a list of small nodes and
 * a ring of the last large objects, checked all the time.
 *
 * The bug this catches: the suspend signal interrupting a cooperative park
 * between its look at the stop and its acknowledgement; the handler parked
 * and acknowledged, then the resumed park acknowledged again.  The next
 * stop took the spare acknowledgement for the thread's own and went on
 * while the thread still ran: in concurrent mode a mark termination then
 * flushed the work buffer the thread was still filling, and live objects
 * were freed.  The debug builds check at every stop that no
 * acknowledgement is left over (gcheap aborts: the test fails), and widen
 * the window between the look and the acknowledgement; there the old code
 * failed within the first second.  The release builds can only see the
 * rare freed object, through the checksums.
 */
#include "../check.h"
#include "../../gcheap.h"
#include "gc_util.h"

#include <pthread.h>
#include <stdatomic.h>

enum {
    ALLOCATORS = 3,
    BIG = 40000,
    RING = 8,
    NODES = 2000,
    MILLIS = GCT_TSAN ? 500 : 1500
};

static atomic_int stop_now, failures;
static atomic_long big_allocs;

static void fail(const char *what, uint64_t tid, uint64_t n)
{
    atomic_fetch_add(&failures, 1);
    fprintf(stderr, "thread %llu: %s (%llu)\n", (gct_ull)tid, what, (gct_ull)n);
}

static void *allocator(void *arg)
{
    uint64_t tid = (uint64_t)(uintptr_t)arg;
    struct gct_node *list = gct_list(tid << 32, NODES, NULL);
    uint64_t *ring[RING] = {0};
    uint64_t seq[RING] = {0};
    long n = 0;
    while (!atomic_load_explicit(&stop_now, memory_order_relaxed)) {
        size_t i = (size_t)n % RING;
        if (ring[i] && (ring[i][0] != gct_word(seq[i], 0) ||
                        ring[i][BIG / 8 - 1] != gct_word(seq[i], 1) ||
                        gc_base(ring[i]) != ring[i])) {
            fail("large object damaged", tid, seq[i]);
            break;
        }
        uint64_t *p = gc_alloc(BIG);
        if (p == NULL) {
            fail("gc_alloc failed", tid, (uint64_t)n);
            break;
        }
        seq[i] = tid * 1000000007u + (uint64_t)n;
        p[0] = gct_word(seq[i], 0);
        p[BIG / 8 - 1] = gct_word(seq[i], 1);
        ring[i] = p;
        if (++n % 64 == 0 && gct_list_bad(list, tid << 32, NODES)) {
            fail("list damaged", tid, (uint64_t)n);
            break;
        }
    }
    if (gct_list_bad(list, tid << 32, NODES))
        fail("list damaged at the end", tid, (uint64_t)n);
    atomic_fetch_add(&big_allocs, n);
    return NULL;
}

static void *collector(void *arg)
{
    long *cycles = arg;
    while (!atomic_load_explicit(&stop_now, memory_order_relaxed)) {
        gc_collect();
        ++*cycles;
    }
    return NULL;
}

int main(void)
{
    gc_init();
    gc_stats a, b;
    gc_get_stats(&a);
    pthread_t t[ALLOCATORS], c;
    long cycles = 0;
    for (int i = 0; i < ALLOCATORS; i++)
        REQUIRE(gc_pthread_create(&t[i], NULL, allocator,
                                  (void *)(uintptr_t)(i + 1)) == 0);
    REQUIRE(gc_pthread_create(&c, NULL, collector, &cycles) == 0);
    gct_sleep_ms(MILLIS); /* resumes after each suspend signal */
    atomic_store(&stop_now, 1);
    for (int i = 0; i < ALLOCATORS; i++)
        gct_join(t[i], NULL);
    gct_join(c, NULL);
    gc_get_stats(&b);
    CHECKF(atomic_load(&failures) == 0, "%d failures in threads",
           atomic_load(&failures));
    CHECKF(cycles >= 20, "only %ld gc_collect calls returned", cycles);
    printf("%ld gc_collect calls, %llu cycles, %ld large objects in %d ms\n",
           cycles, (gct_ull)(b.num_gc - a.num_gc), atomic_load(&big_allocs),
           MILLIS);
    return check_done();
}
