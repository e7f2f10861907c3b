/*
 * finalizers.c -- gc_set_finalizer, gc_set_finalize_on_demand and
 * gc_run_finalizers (API.md, "Finalisation and weak references").
 *
 *  1. On demand: with gc_set_finalize_on_demand(1) (which returns the
 *     previous setting, 0), no finalizer of 500 unreachable objects runs
 *     through collections and a pause; gc_run_finalizers() then runs them
 *     on the calling thread and returns exactly how many ran (>= 90%); a
 *     second call returns 0.
 *  2. 1000 unreachable objects with a finalizer: >= 90% are finalized
 *     within 5 s of collections, each exactly once (per-object counters);
 *     fn receives the object's start (intact payload) and its data.
 *  3. data that is a heap object, referenced only by the finalizer
 *     registration, stays alive and intact until fn runs.
 *  4. Objects reachable from a global are not finalized.
 *  5. gc_set_finalizer(obj, NULL, NULL) removes: never runs.  Setting again
 *     replaces: only the second fn runs.
 *  6. Ordering: A references B, both finalizable and unreachable: A's
 *     finalizer runs before B's (B intact inside A's finalizer).
 *  7. A finalizer that revives its object by storing it in a global: the
 *     object stays valid with its contents through more garbage and
 *     collections, and is never finalized again.
 * Finalizers also allocate (they run on a library thread, not while the
 * world is stopped).
 */
#include "../check.h"
#include "../../gcheap.h"
#include "gc_util.h"

#include <pthread.h>
#include <stdatomic.h>

enum {
    DEMAND0 = 0,
    DEMAND_N = 500,
    BASIC0 = 500,
    BASIC_N = 1000,
    DATA0 = 1500,
    DATA_N = 100,
    KEPT0 = 1600,
    KEPT_N = 100,
    REMOVED0 = 1700,
    REMOVED_N = 500,
    REPL0 = 2200,
    REPL_N = 500,
    A0 = 2700,
    PAIRS = 200,
    B0 = 2900,
    REVIVE0 = 3100,
    REVIVE_N = 100,
    N = 3200
};

#define MAGIC 0xF1F1F1F1F1F1F1F1ull

struct fobj {
    uint64_t idx;
    uint64_t magic;
    struct fobj *ref;
    uint64_t pay[6];
};

static atomic_int count[N];
static atomic_int wrong_calls; /* fin_wrong ran */
static atomic_int failures;
static atomic_int seqctr;
static int seqno[N];
static int tags[N];
static pthread_t main_thread;
static atomic_int off_main; /* finalizers run off the main thread in phase 1 */

void *kept[KEPT_N]; /* roots */
void *_Atomic revived[REVIVE_N];

#define FAIL(...)                                                              \
    do {                                                                       \
        if (atomic_fetch_add(&failures, 1) < 20)                               \
            fprintf(stderr, __VA_ARGS__);                                      \
    } while (0)

static int obj_ok(const struct fobj *o)
{
    return o != NULL && gc_base(o) == o && o->magic == MAGIC && o->idx < N &&
           gct_bad(o->pay, 6, o->idx) == 0;
}

static struct fobj *new_obj(int idx)
{
    struct fobj *o = gc_alloc(sizeof *o);
    REQUIRE(o != NULL);
    o->idx = (uint64_t)idx;
    o->magic = MAGIC;
    gct_fill(o->pay, 6, (uint64_t)idx);
    return o;
}

static void fin_basic(void *obj, void *data)
{
    struct fobj *o = obj;
    if (!obj_ok(o)) {
        FAIL("finalizer: object %p is not intact\n", obj);
        return;
    }
    if (data != &tags[o->idx])
        FAIL("finalizer of %llu: data %p, want %p\n", (gct_ull)o->idx, data,
             (void *)&tags[o->idx]);
    if (!pthread_equal(pthread_self(), main_thread))
        atomic_store(&off_main, 1);
    void *scratch = gc_alloc(32); /* finalizers may allocate */
    if (scratch == NULL)
        FAIL("finalizer: gc_alloc failed\n");
    atomic_fetch_add(&count[o->idx], 1);
}

static void fin_wrong(void *obj, void *data)
{
    (void)obj;
    (void)data;
    atomic_fetch_add(&wrong_calls, 1);
}

static void fin_data(void *obj, void *data)
{
    struct fobj *o = obj;
    uint64_t *d = data;
    if (!obj_ok(o)) {
        FAIL("fin_data: object %p is not intact\n", obj);
        return;
    }
    if (gc_base(d) != d || gct_bad(d, 32, o->idx + 77) != 0)
        FAIL("fin_data: data object of %llu freed or corrupted\n",
             (gct_ull)o->idx);
    atomic_fetch_add(&count[o->idx], 1);
}

static void fin_order(void *obj, void *data)
{
    (void)data;
    struct fobj *o = obj;
    if (!obj_ok(o)) {
        FAIL("fin_order: object %p is not intact\n", obj);
        return;
    }
    if (o->idx < B0 && !obj_ok(o->ref))
        FAIL("fin_order: A %llu: its B is not intact inside A's finalizer\n",
             (gct_ull)o->idx);
    seqno[o->idx] = atomic_fetch_add(&seqctr, 1) + 1;
    atomic_fetch_add(&count[o->idx], 1);
}

static void fin_revive(void *obj, void *data)
{
    (void)data;
    struct fobj *o = obj;
    if (!obj_ok(o)) {
        FAIL("fin_revive: object %p is not intact\n", obj);
        return;
    }
    atomic_store(&revived[o->idx - REVIVE0], obj);
    atomic_fetch_add(&count[o->idx], 1);
}

static int ran(int from, int n)
{
    int c = 0;
    for (int i = from; i < from + n; i++)
        c += atomic_load(&count[i]) > 0;
    return c;
}

static int twice(int from, int n)
{
    int c = 0;
    for (int i = from; i < from + n; i++)
        c += atomic_load(&count[i]) > 1;
    return c;
}

/* Collects until at least `want` of [from, from+n) ran, for up to 5 s. */
static int poll(int from, int n, int want)
{
    double t0 = gct_now();
    gct_collect_clean(1);
    while (ran(from, n) < want && gct_now() - t0 < 5.0) {
        gc_collect();
        gct_sleep_ms(10);
    }
    return ran(from, n);
}

__attribute__((noinline)) static void make(int from, int n, gc_finalizer fn)
{
    for (int i = from; i < from + n; i++)
        gc_set_finalizer(new_obj(i), fn, &tags[i]);
}

__attribute__((noinline)) static void make_data_objects(void)
{
    for (int i = DATA0; i < DATA0 + DATA_N; i++) {
        uint64_t *d = gc_alloc(256);
        REQUIRE(d != NULL);
        gct_fill(d, 32, (uint64_t)i + 77);
        gc_set_finalizer(new_obj(i), fin_data, d);
    }
}

__attribute__((noinline)) static void make_kept(void)
{
    for (int i = 0; i < KEPT_N; i++) {
        kept[i] = new_obj(KEPT0 + i);
        gc_set_finalizer(kept[i], fin_basic, &tags[KEPT0 + i]);
    }
}

__attribute__((noinline)) static void make_removed_and_replaced(void)
{
    for (int i = REMOVED0; i < REMOVED0 + REMOVED_N; i++) {
        struct fobj *o = new_obj(i);
        gc_set_finalizer(o, fin_basic, &tags[i]);
        gc_set_finalizer(o, NULL, NULL);
    }
    for (int i = REPL0; i < REPL0 + REPL_N; i++) {
        struct fobj *o = new_obj(i);
        gc_set_finalizer(o, fin_wrong, NULL);
        gc_set_finalizer(o, fin_basic, &tags[i]);
    }
}

__attribute__((noinline)) static void make_pairs(void)
{
    for (int i = 0; i < PAIRS; i++) {
        struct fobj *a = new_obj(A0 + i), *b = new_obj(B0 + i);
        a->ref = b;
        gc_set_finalizer(b, fin_order, NULL);
        gc_set_finalizer(a, fin_order, NULL);
    }
}

int main(void)
{
    gc_init();
    main_thread = pthread_self();

    /* 1. on demand */
    CHECK(gc_set_finalize_on_demand(1) == 0);
    make(DEMAND0, DEMAND_N, fin_basic);
    gct_collect_clean(3);
    gct_sleep_ms(200);
    gc_collect();
    gct_sleep_ms(50);
    CHECKF(ran(DEMAND0, DEMAND_N) == 0,
           "on demand: %d finalizers ran before gc_run_finalizers",
           ran(DEMAND0, DEMAND_N));
    int n = gc_run_finalizers();
    int r = ran(DEMAND0, DEMAND_N);
    CHECKF(n == r, "gc_run_finalizers returned %d, but %d ran", n, r);
    CHECKF(r * 10 >= DEMAND_N * 9, "on demand: only %d of %d finalized", r,
           DEMAND_N);
    CHECK(atomic_load(&off_main) == 0); /* they ran on this thread */
    CHECK(gc_run_finalizers() == 0);
    CHECK(gc_set_finalize_on_demand(0) == 1);

    /* 2-5 */
    make_kept();
    make(BASIC0, BASIC_N, fin_basic);
    make_data_objects();
    make_removed_and_replaced();
    gct_churn(32u << 20, 2, 1); /* data objects must survive this */
    int b = poll(BASIC0, BASIC_N, BASIC_N * 95 / 100);
    int d = poll(DATA0, DATA_N, DATA_N * 95 / 100);
    int rp = poll(REPL0, REPL_N, REPL_N * 95 / 100);
    gct_collect_clean(2);
    gct_sleep_ms(100);
    CHECKF(b * 10 >= BASIC_N * 9, "only %d of %d finalized", b, BASIC_N);
    CHECKF(d * 10 >= DATA_N * 9, "data objects: only %d of %d finalized", d,
           DATA_N);
    CHECKF(rp * 10 >= REPL_N * 9, "replaced: only %d of %d finalized", rp,
           REPL_N);
    CHECKF(twice(0, N) == 0, "%d objects finalized more than once",
           twice(0, N));
    CHECKF(ran(KEPT0, KEPT_N) == 0, "%d reachable objects finalized",
           ran(KEPT0, KEPT_N));
    CHECKF(ran(REMOVED0, REMOVED_N) == 0, "%d removed finalizers ran",
           ran(REMOVED0, REMOVED_N));
    CHECKF(atomic_load(&wrong_calls) == 0, "%d replaced finalizers ran",
           atomic_load(&wrong_calls));
    CHECK(atomic_load(&off_main) == 1); /* on the library thread */
    for (int i = 0; i < KEPT_N; i++)
        CHECKF(obj_ok(kept[i]), "kept object %d corrupted", i);

    /* 6. ordering */
    make_pairs();
    int pb = poll(B0, PAIRS, PAIRS * 95 / 100);
    CHECKF(pb * 10 >= PAIRS * 9, "ordering: only %d of %d B objects finalized",
           pb, PAIRS);
    int misordered = 0;
    for (int i = 0; i < PAIRS; i++) {
        int ca = atomic_load(&count[A0 + i]), cb = atomic_load(&count[B0 + i]);
        if (cb > 0 && (ca == 0 || seqno[A0 + i] >= seqno[B0 + i]))
            misordered++;
    }
    CHECKF(misordered == 0,
           "%d B objects finalized before (or without) their A", misordered);

    /* 7. revival */
    make(REVIVE0, REVIVE_N, fin_revive);
    int rv = poll(REVIVE0, REVIVE_N, REVIVE_N * 95 / 100);
    CHECKF(rv * 10 >= REVIVE_N * 9, "revive: only %d of %d finalized", rv,
           REVIVE_N);
    gct_churn(32u << 20, 3, 2);
    int lost = 0, with = 0;
    for (int i = 0; i < REVIVE_N; i++) {
        struct fobj *o = atomic_load(&revived[i]);
        if (o == NULL)
            continue;
        with++;
        if (!obj_ok(o) || o->idx != (uint64_t)(REVIVE0 + i))
            lost++;
    }
    CHECKF(lost == 0, "%d of %d revived objects freed or corrupted", lost,
           with);
    for (int i = 0; i < REVIVE_N; i++)
        atomic_store(&revived[i], NULL);
    gct_collect_clean(3);
    gct_sleep_ms(100);
    gc_collect();
    gct_sleep_ms(100);
    CHECKF(twice(0, N) == 0,
           "%d objects finalized more than once (after revival)", twice(0, N));

    CHECKF(atomic_load(&failures) == 0, "%d failures inside finalizers",
           atomic_load(&failures));
    printf("finalized: demand %d/%d basic %d/%d data %d/%d replaced %d/%d "
           "pairs %d/%d revived %d/%d\n",
           r, DEMAND_N, b, BASIC_N, d, DATA_N, rp, REPL_N, pb, PAIRS, rv,
           REVIVE_N);
    return check_done();
}
