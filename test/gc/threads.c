/*
 * threads.c -- the collector with several threads (API.md, "Threads" and
 * "Roots": the stacks and saved registers of every registered thread are
 * roots; gc_pthread_create registers the new thread before start runs, so
 * arg may be the only reference to a heap object; exiting unregisters).
 *
 *  - 4 workers, created with gc_pthread_create, each get as arg a heap
 *    object that is the only reference to it (and to a second object it
 *    points to); they verify it at the start, during and at the end.
 *  - Workers build linked lists held only in their locals, hand objects to
 *    each other through a mutex-protected global slot array (a root),
 *    verify what they receive, keep it in a local gc_alloc'ed bag, and
 *    allocate garbage that drives automatic cycles.
 *  - Meanwhile the main thread calls gc_collect() over and over, and starts
 *    short-lived threads that allocate, verify and exit.
 *  - Two threads made with plain pthread_create register themselves, one
 *    with gc_thread_register() (returns 0, twice harmless), one implicitly
 *    by its first gc_alloc; both keep a list only in locals through cycles.
 *  - One thread sits blocked in read() on a pipe, holding a live object
 *    only in a local, while cycles run; it is then woken by writing to the
 *    pipe and verifies the object (not under TSan, which holds signals
 *    back from a thread blocked in read()).
 * Every checksum must hold.
 */
#include "../check.h"
#include "../../gcheap.h"
#include "gc_util.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

enum {
    WORKERS = 4,
    ROUNDS = GCT_TSAN ? 30 : 150,
    NODES_PER_ROUND = 100,
    NSLOTS = 64,
    BAG = 64,
    SHORT_THREADS = GCT_TSAN ? 10 : 40
};

static atomic_int failures;
static atomic_int workers_done;
static atomic_int blocked_ready;
static atomic_int handed, received;

#define FAIL(...)                                                              \
    do {                                                                       \
        if (atomic_fetch_add(&failures, 1) < 20)                               \
            fprintf(stderr, __VA_ARGS__);                                      \
    } while (0)

/* Objects handed between threads; the slot array is a root (.bss). */
static pthread_mutex_t slot_mu = PTHREAD_MUTEX_INITIALIZER;
void *slots[NSLOTS];

struct hobj {
    uint64_t id;
    uint64_t *inner; /* 512 bytes, atomic, checksummed with id + 1 */
    uint64_t pay[6];
};

struct arg {
    uint64_t id;
    uint64_t *extra; /* 4 KiB atomic, checksummed with id ^ 0xE */
    uint64_t pay[14];
};

struct node {
    struct node *next;
    uint64_t id;
    uint64_t pay[2];
};

static struct arg *new_arg(uint64_t id)
{
    struct arg *a = gc_alloc(sizeof *a);
    REQUIRE(a != NULL);
    a->id = id;
    gct_fill(a->pay, 14, id);
    a->extra = gc_alloc_atomic(4096);
    REQUIRE(a->extra != NULL);
    gct_fill(a->extra, 512, id ^ 0xE);
    return a;
}

static int arg_ok(const struct arg *a, uint64_t id)
{
    return gc_base(a) == a && a->id == id && gct_bad(a->pay, 14, id) == 0 &&
           gc_base(a->extra) == a->extra &&
           gct_bad(a->extra, 512, id ^ 0xE) == 0;
}

static struct hobj *new_hobj(uint64_t id)
{
    struct hobj *h = gc_alloc(sizeof *h);
    if (h == NULL)
        return NULL;
    h->id = id;
    gct_fill(h->pay, 6, id);
    h->inner = gc_alloc_atomic(512);
    if (h->inner == NULL)
        return NULL;
    gct_fill(h->inner, 64, id + 1);
    return h;
}

static int hobj_ok(const struct hobj *h)
{
    return gc_base(h) == h && gct_bad(h->pay, 6, h->id) == 0 &&
           gc_base(h->inner) == h->inner &&
           gct_bad(h->inner, 64, h->id + 1) == 0;
}

static long verify_list(const struct node *n, uint64_t tid, long count)
{
    long bad = 0, seen = 0;
    for (; n != NULL && seen <= count; n = n->next, seen++) {
        uint64_t want = (tid << 32) | (uint64_t)(count - 1 - seen);
        if (gc_base(n) != n || n->id != want || gct_bad(n->pay, 2, want) != 0) {
            bad++;
            break;
        }
    }
    return bad + (seen != count);
}

static void lock_slots(void) { gct_lock(&slot_mu); }

static void *worker(void *p)
{
    struct arg *a = p;
    uint64_t tid = a->id;
    gct_sleep_ms(20); /* let some cycles run first */
    if (!arg_ok(a, tid))
        FAIL("worker %llu: its arg was corrupted or freed\n", (gct_ull)tid);

    struct node *list = NULL;
    long nodes = 0;
    struct hobj **bag = gc_alloc(BAG * sizeof *bag);
    if (bag == NULL) {
        FAIL("worker: bag allocation failed\n");
        return NULL;
    }
    uint64_t s = tid * 7919 + 1, seq = 0;
    int bagpos = 0;
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < NODES_PER_ROUND; i++) {
            struct node *n = gc_alloc(sizeof *n);
            if (n == NULL) {
                FAIL("worker: node allocation failed\n");
                return NULL;
            }
            n->id = (tid << 32) | (uint64_t)nodes;
            gct_fill(n->pay, 2, n->id);
            n->next = list;
            list = n;
            nodes++;
        }
        /* hand out up to 4 objects, take up to 4 */
        struct hobj *give[4];
        for (int i = 0; i < 4; i++)
            give[i] = new_hobj((tid << 40) | ++seq);
        for (int i = 0; i < 4; i++)
            if (give[i] == NULL)
                FAIL("worker: allocation failed\n");
        lock_slots();
        int j = (int)(gct_rand(&s) % NSLOTS), placed = 0;
        for (int k = 0; k < NSLOTS && placed < 4; k++, j = (j + 1) % NSLOTS) {
            if (slots[j] == NULL && give[placed] != NULL) {
                slots[j] = give[placed++];
                atomic_fetch_add(&handed, 1);
            }
        }
        struct hobj *took[4] = {NULL, NULL, NULL, NULL};
        j = (int)(gct_rand(&s) % NSLOTS);
        for (int i = 0, k = 0; i < 4 && k < NSLOTS; k++, j = (j + 1) % NSLOTS) {
            if (slots[j] != NULL) {
                took[i++] = slots[j];
                slots[j] = NULL;
            }
        }
        pthread_mutex_unlock(&slot_mu);
        for (int i = 0; i < 4; i++) {
            if (took[i] == NULL)
                continue;
            atomic_fetch_add(&received, 1);
            if (!hobj_ok(took[i]))
                FAIL("worker %llu: received object %llx corrupted\n",
                     (gct_ull)tid, (gct_ull)took[i]->id);
            bag[bagpos] = took[i];
            bagpos = (bagpos + 1) % BAG;
        }
        gct_churn(128u << 10, 0, s + (uint64_t)r);
        if (r % 10 == 9) {
            if (verify_list(list, tid, nodes) != 0)
                FAIL("worker %llu: list of %ld nodes corrupted (round %d)\n",
                     (gct_ull)tid, nodes, r);
            for (int i = 0; i < BAG; i++)
                if (bag[i] != NULL && !hobj_ok(bag[i]))
                    FAIL("worker %llu: bag object %d corrupted\n", (gct_ull)tid,
                         i);
            if (!arg_ok(a, tid))
                FAIL("worker %llu: arg corrupted (round %d)\n", (gct_ull)tid,
                     r);
        }
    }
    if (verify_list(list, tid, nodes) != 0)
        FAIL("worker %llu: list corrupted at the end\n", (gct_ull)tid);
    if (!arg_ok(a, tid))
        FAIL("worker %llu: arg corrupted at the end\n", (gct_ull)tid);
    atomic_fetch_add(&workers_done, 1);
    return NULL;
}

static void *short_lived(void *p)
{
    struct arg *a = p;
    uint64_t id = a->id;
    struct node *list = NULL;
    for (uint64_t i = 0; i < 2000; i++) {
        struct node *n = gc_alloc(sizeof *n);
        if (n == NULL) {
            FAIL("short-lived thread: allocation failed\n");
            return NULL;
        }
        n->id = (id << 32) | i;
        gct_fill(n->pay, 2, n->id);
        n->next = list;
        list = n;
    }
    gct_churn(1u << 20, 0, id);
    if (verify_list(list, id, 2000) != 0)
        FAIL("short-lived thread %llu: list corrupted\n", (gct_ull)id);
    if (!arg_ok(a, id))
        FAIL("short-lived thread %llu: arg corrupted\n", (gct_ull)id);
    return NULL;
}

/* Started with plain pthread_create: registers itself (explicitly when arg
 * is non-NULL, else by its first gc_ call). */
static void *plain(void *arg)
{
    uint64_t id = arg ? 500 : 501;
    if (arg != NULL) {
        if (gc_thread_register() != 0 || gc_thread_register() != 0)
            FAIL("gc_thread_register did not return 0\n");
    }
    struct node *list = NULL;
    for (uint64_t i = 0; i < 3000; i++) {
        struct node *n = gc_alloc(sizeof *n);
        if (n == NULL) {
            FAIL("plain thread: allocation failed\n");
            return NULL;
        }
        n->id = (id << 32) | i;
        gct_fill(n->pay, 2, n->id);
        n->next = list;
        list = n;
    }
    for (int r = 0; r < 20; r++) {
        gct_churn(1u << 20, 0, id * 100 + (uint64_t)r);
        gct_sleep_ms(5);
    }
    if (verify_list(list, id, 3000) != 0)
        FAIL("plain thread %llu: list corrupted\n", (gct_ull)id);
    return NULL;
}

static int pipefd[2];

static void *blocked(void *p)
{
    struct arg *a = p;
    uint64_t id = a->id;
    uint64_t *local = gc_alloc(64 * 1024);
    if (local == NULL) {
        FAIL("blocked thread: allocation failed\n");
        return NULL;
    }
    gct_fill(local, 8192, 4242);
    atomic_store(&blocked_ready, 1);
    char c;
    ssize_t r;
    int eintr = 0;
    while ((r = read(pipefd[0], &c, 1)) < 0 && errno == EINTR)
        eintr++;
    if (r != 1)
        FAIL("blocked thread: read returned %zd\n", r);
    if (eintr)
        fprintf(stderr, "note: read() was interrupted %d times (EINTR)\n",
                eintr);
    if (gc_base(local) != local || gct_bad(local, 8192, 4242) != 0)
        FAIL("blocked thread: its local object was freed or corrupted\n");
    if (!arg_ok(a, id))
        FAIL("blocked thread: arg corrupted\n");
    return NULL;
}

/* The arg exists only in the new thread once this returns. */
__attribute__((noinline)) static int start(pthread_t *t, void *(*fn)(void *),
                                           uint64_t id)
{
    return gc_pthread_create(t, NULL, fn, new_arg(id));
}

int main(void)
{
    gc_init();
    int rc = pipe(pipefd);
    REQUIRE(rc == 0);
    gc_stats st0, st1;
    gc_get_stats(&st0);

    pthread_t blk, w[WORKERS], sh[SHORT_THREADS], pl[2];
    static int explicit_tag;
    rc = pthread_create(&pl[0], NULL, plain, &explicit_tag);
    REQUIRE(rc == 0);
    rc = pthread_create(&pl[1], NULL, plain, NULL);
    REQUIRE(rc == 0);
    /* Under TSan a signal to a thread blocked in read() waits until read
     * returns, so a signal-based stop of the world cannot complete. */
    if (!GCT_TSAN) {
        rc = start(&blk, blocked, 900);
        REQUIRE(rc == 0);
    }
    for (int i = 0; i < WORKERS; i++) {
        rc = start(&w[i], worker, (uint64_t)i + 1);
        REQUIRE(rc == 0);
    }

    int collects = 0, nshort = 0;
    double t0 = gct_now();
    while (atomic_load(&workers_done) < WORKERS && gct_now() - t0 < 60) {
        gc_collect();
        collects++;
        if (collects % 5 == 0 && nshort < SHORT_THREADS) {
            rc = start(&sh[nshort], short_lived, 100 + (uint64_t)nshort);
            REQUIRE(rc == 0);
            nshort++;
        }
        if (collects % 4 == 0)
            gct_sleep_ms(2);
    }
    CHECKF(atomic_load(&workers_done) == WORKERS,
           "workers did not finish in 60 s");
    for (int i = 0; i < WORKERS; i++)
        gct_join(w[i], NULL);
    while (nshort < SHORT_THREADS) {
        rc = start(&sh[nshort], short_lived, 100 + (uint64_t)nshort);
        REQUIRE(rc == 0);
        nshort++;
    }
    for (int i = 0; i < SHORT_THREADS; i++)
        gct_join(sh[i], NULL);
    gct_join(pl[0], NULL);
    gct_join(pl[1], NULL);

    /* The blocked thread has sat in read() through all of that. */
    while (!GCT_TSAN && !atomic_load(&blocked_ready))
        gct_sleep_ms(1);
    gct_churn(32u << 20, 3, 5);
    if (!GCT_TSAN) {
        ssize_t wr = write(pipefd[1], "x", 1);
        REQUIRE(wr == 1);
        gct_join(blk, NULL);
    }

    /* What is left in the slots is still intact. */
    gc_collect();
    int left = 0;
    for (int i = 0; i < NSLOTS; i++) {
        if (slots[i] != NULL) {
            left++;
            CHECKF(hobj_ok(slots[i]), "slot %d corrupted", i);
        }
    }
    gc_get_stats(&st1);
    CHECKF(atomic_load(&failures) == 0, "%d failures in threads",
           atomic_load(&failures));
    CHECK(atomic_load(&received) > 100);
    CHECK(st1.num_gc >= st0.num_gc + (uint64_t)collects);
    printf("%d collects by main, %llu cycles, %.2fs, %d handed, %d received, "
           "%d left\n",
           collects, (gct_ull)(st1.num_gc - st0.num_gc), gct_now() - t0,
           atomic_load(&handed), atomic_load(&received), left);
    return check_done();
}
