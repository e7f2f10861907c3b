/*
 * checkmark: GCHEAP_CHECKMARK=1 reports a skipped write barrier.
 *
 * A long list is marked concurrently; before the marker reaches its tail
 * (which no root holds, so it is reached last), the tail's edge to X is cut and
 * X is stored into an object allocated during the mark (black), reachable from
 * a global.  With the barrier (GC_STORE for both stores) the deletion shades X:
 * nothing is reported. With X moved into a root (a plain store: roots need no
 * barrier) and the tail's edge cut with GC_STORE, only the barrier's deletion
 * half keeps X: again nothing may be reported. gc_weak_get during the mark
 * keeps the object it returns. With plain stores (the skipped barrier) the
 * concurrent mark misses X; the checkmark re-mark must report X, through the
 * black holder's slot, and (healing) keep it alive: its payload is checked
 * after more cycles and garbage.  Moved plainly into two roots, X must be
 * reported with both root slots.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "../check.h"
#include "gc_util.h"

struct node {
    struct node *next;
    uint64_t id;
    uint64_t pad[6]; /* one cache line per node: the marker walks slowly */
};

struct holder {
    struct node *x;
};

#define LIST_LEN GCT_LESS(2000000, 20)
#define X_WORDS 16

static struct node *list;            /* the long list (a root) */
static struct holder *volatile held; /* set during the mark (no rescan) */
static struct node *volatile root_x; /* likewise */
static struct node *volatile root_x2;
static atomic_int reports;
static char last_report[512];

static void on_error(const char *msg)
{
    if (strncmp(msg, "checkmark:", 10) == 0) {
        atomic_fetch_add(&reports, 1);
        snprintf(last_report, sizeof last_report, "%s", msg);
    } else {
        fprintf(stderr, "unexpected error: %s\n", msg);
        abort();
    }
}

static void *collector(void *arg)
{
    (void)arg;
    gc_collect();
    return NULL;
}

static GCT_NOINLINE void build_list(void)
{
    list = NULL;
    for (size_t i = 0; i < LIST_LEN; i++) {
        struct node *n = gc_alloc(sizeof *n);
        n->id = i;
        n->next = list;
        list = n;
    }
}

static struct node *tail_of(struct node *n)
{
    while (n->next)
        n = n->next;
    return n;
}

/* The tail's address, disguised: a root holding the tail itself would
 * have it scanned (and X marked through it) at once, racing the cut. */
static volatile uintptr_t hidden_tail;
#define HIDE(p) ((uintptr_t)(p) ^ 0x5A5A5A5A5A5A5A5Aull)
#define UNHIDE(u) ((struct node *)((u) ^ 0x5A5A5A5A5A5A5A5Aull))

/* X hangs off the tail only (made in a frame of its own, so that no
 * word of the caller's holds its address or the tail's). */
static GCT_NOINLINE void hang_x(uint64_t seed)
{
    struct node *tail = tail_of(list);
    uint64_t *x = gc_alloc_atomic(X_WORDS * sizeof(uint64_t));
    gct_fill(x, X_WORDS, seed);
    tail->next = (struct node *)x;
    hidden_tail = HIDE(tail);
}

/*
 * One try: returns 1 if the stores happened while the cycle marked (the
 * try counts), 0 if marking ended first.  *x_out is X.
 */
static GCT_NOINLINE int attempt(int use_barrier, uint64_t seed)
{
    build_list();
    hang_x(seed);
    gct_clear_stack(); /* no stale copy of X's address on the stack */

    pthread_t t;
    if (gc_pthread_create(&t, NULL, collector, NULL) != 0)
        return -1;
    while (!__atomic_load_n(&gc_internal_barrier_on, __ATOMIC_ACQUIRE))
        ;
    /* Marking runs (and the roots were scanned): cut and re-hang X. */
    struct node *tail = UNHIDE(hidden_tail);
    struct holder *h = gc_alloc(sizeof *h); /* black */
    struct node *moved = tail->next;
    if (use_barrier == 2) {
        /* X into a root (no barrier needed there, none rescanned): only
         * the deletion half of the barrier can save it. */
        root_x = moved;
        GC_STORE(tail->next, NULL);
    } else if (use_barrier == 3) { /* into two roots, the edge cut plainly */
        root_x = moved;
        root_x2 = moved;
        tail->next = NULL;
    } else if (use_barrier) {
        GC_STORE(h->x, moved);
        GC_STORE(tail->next, NULL);
    } else {
        h->x = moved;
        tail->next = NULL;
    }
    moved = NULL;
    held = h;
    int counted = __atomic_load_n(&gc_internal_barrier_on, __ATOMIC_ACQUIRE);
    gct_join(t, NULL);
    return counted;
}

/* gc_weak_get while marking: Y is reachable only through a weak link
 * (in malloc memory, not scanned) when the cycle starts; read during the
 * mark and kept in a root, it must survive, and the link with it. */
static void **weak_link;
static uint64_t *volatile root_y;

static GCT_NOINLINE void make_y(uint64_t seed)
{
    uint64_t *y = gc_alloc_atomic(X_WORDS * sizeof(uint64_t));
    gct_fill(y, X_WORDS, seed);
    gc_weak_link(weak_link, y);
}

static GCT_NOINLINE int weak_attempt(int mode, uint64_t seed)
{
    (void)mode;
    build_list(); /* a long mark */
    make_y(seed);
    gct_clear_stack();
    pthread_t t;
    if (gc_pthread_create(&t, NULL, collector, NULL) != 0)
        return -1;
    while (!__atomic_load_n(&gc_internal_barrier_on, __ATOMIC_ACQUIRE))
        ;
    root_y = gc_weak_get(weak_link);
    int counted = __atomic_load_n(&gc_internal_barrier_on, __ATOMIC_ACQUIRE);
    gct_join(t, NULL);
    return counted;
}

/* Runs try(mode, seed) with seeds base, base + 1, ... until one try's
 * stores happen while the cycle marks (at most 5 tries); returns that
 * try's seed. */
static uint64_t during_mark(int (*try)(int, uint64_t), int mode, uint64_t base)
{
    int counted = 0;
    uint64_t seed = base;
    for (int i = 0; i < 5 && !counted; i++) {
        seed = base + (uint64_t)i;
        counted = try(mode, seed);
    }
    CHECKF(counted == 1, "the stores never happened while marking");
    return seed;
}

static GCT_NOINLINE int x_intact(uint64_t seed)
{
    struct holder *h = held;
    return h && h->x && gct_bad(h->x, X_WORDS, seed) == 0;
}

int main(void)
{
    setenv("GCHEAP_CHECKMARK", "1", 1);
    gc_set_error_handler(on_error);
    gc_set_concurrent(1);
    gc_set_percent(-1); /* only the cycles this test runs */

    /* A cycle of a heap with no object yet: nothing to check, so nothing
     * is reported (it was reported as the side table not mapped). */
    gc_collect();
    CHECKF(atomic_load(&reports) == 0, "empty heap: %s", last_report);

    /* With the barrier: no report, X intact. */
    uint64_t seed = during_mark(attempt, 1, 100);
    CHECKF(atomic_load(&reports) == 0, "false report: %s", last_report);
    gct_churn(64u << 20, 4, 7);
    CHECK(x_intact(seed));

    /* X kept only by a root stored during the mark: the deletion half. */
    uint64_t rseed = during_mark(attempt, 2, 300);
    CHECKF(atomic_load(&reports) == 0, "deletion barrier: %s", last_report);
    gct_churn(64u << 20, 4, 9);
    CHECK(root_x && gct_bad(root_x, X_WORDS, rseed) == 0);
    root_x = NULL;

    /* A weak link read while marking keeps its object. */
    weak_link = malloc(sizeof *weak_link);
    uint64_t wseed = during_mark(weak_attempt, 0, 400);
    CHECK(root_y != NULL && *weak_link == root_y);
    CHECKF(atomic_load(&reports) == 0, "gc_weak_get: %s", last_report);
    gct_churn(64u << 20, 4, 11);
    CHECK(root_y != NULL && gct_bad(root_y, X_WORDS, wseed) == 0);
    CHECK(gc_weak_get(weak_link) == root_y);
    root_y = NULL;

    /* Without it: reported, and healed. */
    int before = atomic_load(&reports);
    seed = during_mark(attempt, 0, 200);
    CHECKF(atomic_load(&reports) > before,
           "checkmark did not report the skipped barrier");
    char want[64];
    snprintf(want, sizeof want, "%p", (void *)held->x);
    CHECKF(strstr(last_report, want) != NULL, "report names %s: %s", want,
           last_report);
    /* The frontier is the black holder's slot: the re-mark reaches what
     * the heap holds before it reads the stacks, so a word of the test's
     * own frame that kept X after the scan does not hide the heap path. */
    snprintf(want, sizeof want, "slot %p of marked object %p", (void *)&held->x,
             (void *)held);
    CHECKF(strstr(last_report, want) != NULL, "report names %s: %s", want,
           last_report);
    printf("reported: %s\n", last_report);
    gct_churn(64u << 20, 4, 7);
    CHECK(x_intact(seed));

    /* Missed and held by two roots: the report names both slots. */
    before = atomic_load(&reports);
    seed = during_mark(attempt, 3, 500);
    CHECKF(atomic_load(&reports) > before,
           "checkmark did not report the skipped barrier");
    char slot1[32], slot2[32];
    snprintf(want, sizeof want, "object %p not marked", (void *)root_x);
    snprintf(slot1, sizeof slot1, "%p", (void *)&root_x);
    snprintf(slot2, sizeof slot2, "%p", (void *)&root_x2);
    CHECKF(strstr(last_report, want) != NULL &&
               strstr(last_report, "and root slots") != NULL &&
               strstr(last_report, slot1) != NULL &&
               strstr(last_report, slot2) != NULL,
           "report names X and both roots %s %s: %s", slot1, slot2,
           last_report);
    printf("reported: %s\n", last_report);
    gct_churn(64u << 20, 4, 13);
    CHECK(root_x && gct_bad(root_x, X_WORDS, seed) == 0);
    root_x = root_x2 = NULL;
    list = NULL;
    return check_done();
}
