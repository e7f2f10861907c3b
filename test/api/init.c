/*
 * init.c -- black-box test of first use from many threads at once (API.md,
 * "Initialisation": gc_init is optional, idempotent and thread-safe; any
 * gc_ call initialises): 8 threads start together and make their first gc_
 * call at the same moment, some gc_init, some gc_alloc, some gc_get_stats;
 * all objects come out distinct, zeroed and usable.
 */
#include "../check.h"
#include "../../gcheap.h"
#include "../wait.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

enum { THREADS = 8, PER_THREAD = 200 };

static pthread_barrier_t start;
static unsigned char *objs[THREADS][PER_THREAD];
static int zero_failures[THREADS];

static void *run(void *arg)
{
    int t = (int)(intptr_t)arg;
    pthread_barrier_wait(&start);
    switch (t % 4) {
    case 0:
        gc_init();
        break;
    case 1:
        break; /* first call is gc_alloc */
    case 2: {
        gc_stats s;
        gc_get_stats(&s);
        break;
    }
    default:
        (void)gc_version();
        break;
    }
    for (int i = 0; i < PER_THREAD; i++) {
        size_t size = 16 + (size_t)(i % 10) * 24;
        unsigned char *p = t % 2 ? gc_alloc_atomic(size) : gc_alloc(size);
        objs[t][i] = p;
        if (!p)
            continue;
        for (size_t k = 0; k < size; k++)
            zero_failures[t] += p[k] != 0;
        memset(p, t * PER_THREAD + i, size);
    }
    gc_init();
    return NULL;
}

static int by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (unsigned char *const *)a;
    uintptr_t y = (uintptr_t) * (unsigned char *const *)b;
    return x < y ? -1 : x > y;
}

int main(void)
{
    pthread_t th[THREADS];
    pthread_barrier_init(&start, NULL, THREADS);
    for (int t = 0; t < THREADS; t++) {
        int rc = pthread_create(&th[t], NULL, run, (void *)(intptr_t)t);
        REQUIRE(rc == 0); /* REQUIRE evaluates its argument twice */
    }
    for (int t = 0; t < THREADS; t++)
        gct_join(th[t], NULL);
    pthread_barrier_destroy(&start);

    int nulls = 0, zero_bad = 0, changed = 0;
    for (int t = 0; t < THREADS; t++) {
        zero_bad += zero_failures[t];
        for (int i = 0; i < PER_THREAD; i++) {
            unsigned char *p = objs[t][i];
            if (!p) {
                nulls++;
                continue;
            }
            size_t size = 16 + (size_t)(i % 10) * 24;
            for (size_t k = 0; k < size; k++)
                changed += p[k] != (unsigned char)(t * PER_THREAD + i);
            CHECK(gc_base(p) == p);
        }
    }
    CHECKF(nulls == 0, "%d allocations returned NULL", nulls);
    CHECKF(zero_bad == 0, "%d bytes not zeroed", zero_bad);
    CHECKF(changed == 0, "%d bytes overwritten (objects overlap)", changed);

    unsigned char **all = &objs[0][0];
    qsort(all, THREADS * PER_THREAD, sizeof *all, by_address);
    int dups = 0;
    for (int i = 1; i < THREADS * PER_THREAD; i++)
        dups += all[i] && all[i] == all[i - 1];
    CHECKF(dups == 0, "%d duplicate pointers", dups);
    for (int i = 0; i < THREADS * PER_THREAD; i++)
        gc_free(all[i]);

    gc_stats s;
    gc_get_stats(&s);
    CHECKF(s.heap_objects == 0, "heap_objects = %llu after freeing all",
           (unsigned long long)s.heap_objects);
    return check_done();
}
