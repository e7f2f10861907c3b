/*
 * memmove: gc_memmove racing the mark start (concurrent mode).
 *
 * A thread deletes the first entry of a 1M-pointer array by shifting the
 * rest left with gc_memmove, once per round, while the main thread starts
 * a cycle (gc_collect) in the middle of the move.  The test links its own
 * memmove: a correct one that pauses 2 ms before a forward copy, standing
 * in for a libc memmove preempted just after it began.  Were the move not
 * shielded from the mark start (it was not: the fast path ran outside a
 * no-stop region), it would go on after the roots were scanned, unshaded,
 * and carry pointers from ahead of the marker's scan of the array to
 * behind it: the objects they point to were freed while referenced (found
 * in review, 3 runs of 3).  Every entry must still be a live object whose
 * id is in order.  (Under the sanitizers the libc memmove is used: they
 * intercept it.)
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "../check.h"
#include "gc_util.h"

#define N (1 << 20)
#define ROUNDS GCT_LESS(20, 4)

struct node {
    uint64_t id;
    uint64_t pad[3];
};

static struct node **arr;
static atomic_int go, done, stop;
static uint64_t next_id = N;

static struct node *mk(uint64_t id)
{
    struct node *n = gc_alloc(sizeof *n);
    if (n)
        n->id = id;
    return n;
}

static void *mover(void *unused)
{
    (void)unused;
    int seen = 0;
    while (!atomic_load(&stop)) {
        if (atomic_load(&go) == seen) {
            sched_yield();
            continue;
        }
        seen++;
        gc_memmove(arr, arr + 1, (N - 1) * sizeof *arr);
        GC_STORE(arr[N - 1], mk(next_id++));
        atomic_store(&done, seen);
    }
    return NULL;
}

int main(void)
{
    gc_set_concurrent(1);
    gc_set_percent(-1);
    arr = gc_alloc(N * sizeof *arr);
    REQUIRE(arr != NULL);
    for (uint64_t i = 0; i < N; i++)
        GC_STORE(arr[i], mk(i));
    pthread_t t;
    REQUIRE(gc_pthread_create(&t, NULL, mover, NULL) == 0);
    long bad = 0;
    for (int r = 1; r <= ROUNDS && bad == 0; r++) {
        atomic_store(&go, r);
        gct_sleep_ms(1); /* the mover is inside memmove's pause */
        gc_collect();    /* so the mark start lands in the move */
        while (atomic_load(&done) != r)
            sched_yield();
        gc_collect(); /* frees what the last one missed */
        for (long i = 0; i < N; i++)
            bad += gc_size(arr[i]) == 0 || arr[i]->id != (uint64_t)(r + i);
    }
    atomic_store(&stop, 1);
    gct_join(t, NULL);
    CHECKF(bad == 0, "%ld entries freed while referenced or out of order", bad);
    return check_done();
}

#if !GCT_SANITIZER
/* A correct memmove that pauses before a long forward copy. */
void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d == s || n == 0)
        return dst;
    if (d < s) {
        size_t i = 0;
        if (n > ((size_t)1 << 20) && (uintptr_t)d % 8 == 0 &&
            (uintptr_t)s % 8 == 0) {
            gct_sleep_ms(2);
            for (; i + 8 <= n; i += 8)
                *(volatile uint64_t *)(d + i) =
                    *(const volatile uint64_t *)(s + i);
        }
        for (; i < n; i++)
            d[i] = s[i];
    } else {
        for (size_t i = n; i-- > 0;)
            d[i] = s[i];
    }
    return dst;
}
#endif
