/*
 * central_churn.c -- threads fill spans of the same size classes, thin
 * them out and empty them, so that spans keep moving full -> partial ->
 * back to the page heap while other threads take partial spans from the
 * same mcentral.  Every object carries a checksum that is verified before
 * it is freed and after everything else was allocated; a span handed to a
 * cache while another thread empties it, or freed while still in use,
 * shows up as a bad checksum, a report from gc_free, or a crash.
 * Usage: central_churn [seed]; the seed is printed.
 */
#include "../check.h"
#include "../../gcheap.h"
#include "../wait.h"

#include <pthread.h>
#include <stdint.h>
#include <time.h>

enum { THREADS = 3, OBJECTS = 20000, ROUNDS = 400 };

static uint64_t seed0;
static _Atomic long errors;

static void on_error(const char *msg)
{
    fprintf(stderr, "error handler: %s\n", msg);
    errors++;
}

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

struct obj {
    uint64_t check;
    uint64_t id;
    uint64_t pad[];
};

static size_t size_of(uint64_t id) { return 16 + (id % 4) * 16; }

static uint64_t sum_of(uint64_t id) { return id * 0x9e3779b97f4a7c15ull; }

static int verify_and_free(struct obj *o)
{
    int bad = o->check != sum_of(o->id);
    size_t words = (size_of(o->id) - 16) / 8;
    for (size_t i = 0; i < words; i++)
        bad |= o->pad[i] != (o->id ^ i);
    gc_free(o);
    return bad;
}

static void *worker(void *arg)
{
    uint64_t rng = seed0 + (uintptr_t)arg * 7919 + 1;
    static _Thread_local struct obj *objs[OBJECTS];
    long bad = 0;
    for (int round = 0; round < ROUNDS; round++) {
        for (uint64_t i = 0; i < OBJECTS; i++) {
            uint64_t id = next(&rng);
            struct obj *o = gc_alloc(size_of(id));
            if (!o) {
                bad++;
                continue;
            }
            o->check = sum_of(id);
            o->id = id;
            for (size_t k = 0; k < (size_of(id) - 16) / 8; k++)
                o->pad[k] = id ^ k;
            objs[i] = o;
        }
        /* Thin out (spans become partial), then empty them. */
        for (int pass = 0; pass < 2; pass++)
            for (size_t i = 0; i < OBJECTS; i++)
                if (objs[i] && (pass == 1 || i % 7 != 0)) {
                    bad += verify_and_free(objs[i]);
                    objs[i] = NULL;
                }
    }
    return (void *)bad;
}

int main(int argc, char **argv)
{
    seed0 = argc > 1 ? strtoull(argv[1], NULL, 0) : (uint64_t)time(NULL);
    printf("seed=%llu\n", (unsigned long long)seed0);
    gc_set_error_handler(on_error);
    pthread_t t[THREADS];
    for (uintptr_t i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    long bad = 0;
    for (int i = 0; i < THREADS; i++) {
        void *r;
        gct_join(t[i], &r);
        bad += (long)r;
    }
    CHECKF(bad == 0, "%ld corrupted objects (seed %llu)", bad,
           (unsigned long long)seed0);
    CHECKF(errors == 0, "%ld reports from the error handler", (long)errors);
    gc_stats st;
    gc_get_stats(&st);
    CHECK(st.heap_objects == 0);
    return check_done();
}
