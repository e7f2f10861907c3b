/*
 * fork.c -- fork() is supported: the child can go on allocating and
 * collecting (API.md, "Threads").
 *
 * The parent builds a live set (a 20000-node list and a few large
 * objects, reachable from globals) and keeps a second thread allocating and
 * collecting while it forks, five times.  Each child verifies the live set,
 * allocates 32 MiB of garbage with collections, checks that its cycles
 * counted, verifies again and exits 0 when all is well (a child-side
 * alarm(10) turns a deadlock into a failure).  The parent checks every
 * child's exit status, then collects and verifies its own live set.
 * First, sixteen children forked just after the parent's main thread was
 * parked by another thread's cycle each run 0..15 cycles of their own and
 * then one from a new thread; each must exit (a regression test: the
 * child once reused the parent's stop numbers and hung).  Then 300 forks
 * while two registered threads malloc and free (the parent once hung in
 * fork when one of them was stopped inside malloc; not under ASan).
 * Skipped under TSan, which does not support threads after fork.
 */
#include "../check.h"
#include "../../gcheap.h"
#include "gc_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>

enum { LIST = 20000, NBIG = 8, FORKS = 5 };

struct node {
    struct node *next;
    uint64_t id;
    uint64_t pay[4];
};

struct node *glist; /* roots in .bss */
uint64_t *gbig[NBIG];

static atomic_int stop;

static size_t big_size(int i) { return 100000 + (size_t)i * 50000; }

__attribute__((noinline)) static void build(void)
{
    for (uint64_t i = 0; i < LIST; i++) {
        struct node *n = gc_alloc(sizeof *n);
        REQUIRE(n != NULL);
        n->id = i;
        gct_fill(n->pay, 4, i);
        n->next = glist;
        glist = n;
    }
    for (int i = 0; i < NBIG; i++) {
        gbig[i] = gc_alloc(big_size(i));
        REQUIRE(gbig[i] != NULL);
        gct_fill(gbig[i], big_size(i) / 8, 7000u + (uint64_t)i);
    }
}

/* Returns the number of problems found. */
__attribute__((noinline)) static int verify(const char *who)
{
    int bad = 0;
    long count = 0;
    uint64_t want = LIST - 1;
    for (struct node *n = glist; n != NULL && count <= LIST;
         n = n->next, want--, count++) {
        if (gc_base(n) != n || n->id != want || gct_bad(n->pay, 4, want) != 0) {
            fprintf(stderr, "%s: list node %llu corrupted\n", who,
                    (gct_ull)want);
            bad++;
            break;
        }
    }
    if (count != LIST) {
        fprintf(stderr, "%s: list has %ld nodes\n", who, count);
        bad++;
    }
    for (int i = 0; i < NBIG; i++) {
        if (gc_base(gbig[i]) != gbig[i] ||
            gct_bad(gbig[i], big_size(i) / 8, 7000u + (uint64_t)i) != 0) {
            fprintf(stderr, "%s: big object %d corrupted\n", who, i);
            bad++;
        }
    }
    return bad;
}

static void *busy(void *arg)
{
    (void)arg;
    uint64_t k = 0;
    while (!atomic_load(&stop)) {
        gct_churn(256u << 10, 0, k);
        if (++k % 8 == 0)
            gc_collect();
    }
    return NULL;
}

/* Waits for child `pid` and checks it exited with status 0; `what` and
 * `n` name it in the failure message. */
static void check_child(pid_t pid, const char *what, int n)
{
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s %d: %s %d", what,
           n, WIFEXITED(status) ? "exit status" : "killed by signal",
           WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

static void *collect_once(void *arg)
{
    (void)arg;
    gc_collect();
    return NULL;
}

/* Checks that a child forked just after this thread was parked by
 * another thread's cycle can stop its world from a new thread after
 * `own` cycles of its own.  (A child that reused the parent's stop
 * numbers took such a stop for one this thread had acknowledged already,
 * when the numbers met, and hung.) */
static void fork_after_park(int own)
{
    pthread_t t;
    REQUIRE(gc_pthread_create(&t, NULL, collect_once, NULL) == 0);
    gct_join(t, NULL); /* this thread was parked by its cycle */
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        alarm(10);
        for (int i = 0; i < own; i++)
            gc_collect();
        if (gc_pthread_create(&t, NULL, collect_once, NULL) != 0)
            _exit(1);
        gct_join(t, NULL);
        _exit(0);
    }
    check_child(pid, "fork after park, own cycles", own);
}

/* A registered thread that mallocs and frees blocks too big for glibc's
 * per-thread cache (so it takes an arena lock every time), and allocates
 * from the collected heap between rounds. */
static void *mallocer(void *arg)
{
    uint64_t k = (uint64_t)(uintptr_t)arg;
    while (!atomic_load(&stop)) {
        void *p[8];
        for (int i = 0; i < 8; i++) {
            p[i] = malloc(2000 + (size_t)((k + i) % 16) * 4000);
            if (!p[i])
                abort();
        }
        for (int i = 0; i < 8; i++)
            free(p[i]);
        for (int i = 0; i < 8; i++)
            if (!gc_alloc(64))
                abort();
        k++;
    }
    return NULL;
}

/* fork() while other registered threads are inside malloc: glibc's fork
 * takes malloc's locks after the prepare handlers, so a prepare handler
 * that left a thread stopped inside malloc would hang the parent (the
 * alarm turns that into a failure).  Each child mallocs, collects and
 * allocates. */
static void fork_while_malloc(int forks)
{
    enum { NM = 2 };
    pthread_t m[NM];
    atomic_store(&stop, 0);
    for (int i = 0; i < NM; i++)
        REQUIRE(gc_pthread_create(&m[i], NULL, mallocer,
                                  (void *)(uintptr_t)(i * 7)) == 0);
    alarm(60);
    for (int r = 0; r < forks; r++) {
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            alarm(10);
            void *p = malloc(50000);
            free(p);
            gc_collect();
            for (int i = 0; i < 20000; i++) /* refills in the threads' class */
                if (!gc_alloc(64))
                    _exit(1);
            _exit(p != NULL ? 0 : 1);
        }
        check_child(pid, "fork while malloc, child", r);
    }
    alarm(0);
    atomic_store(&stop, 1);
    for (int i = 0; i < NM; i++)
        gct_join(m[i], NULL);
    atomic_store(&stop, 0);
}

static int child(int round)
{
    alarm(10);
    int bad = verify("child (before)");
    gc_stats a, b;
    gc_get_stats(&a);
    gct_churn(32u << 20, 3, 100u + (uint64_t)round);
    gc_collect();
    gc_get_stats(&b);
    if (b.num_gc < a.num_gc + 4) {
        fprintf(stderr, "child: num_gc %llu -> %llu after 4 gc_collect calls\n",
                (gct_ull)a.num_gc, (gct_ull)b.num_gc);
        bad++;
    }
    bad += verify("child (after)");
    /* a new thread works in the child too */
    pthread_t t;
    if (gc_pthread_create(&t, NULL, busy, NULL) != 0) {
        bad++;
    } else {
        atomic_store(&stop, 1);
        gct_join(t, NULL);
    }
    bad += verify("child (end)");
    return bad ? 1 : 0;
}

int main(void)
{
    if (GCT_TSAN) {
        /* TSan dies on threads started after a multithreaded fork. */
        printf("skipped under TSan\n");
        return 0;
    }
    gc_init();
    for (int own = 0; own < 16; own++)
        fork_after_park(own);
    /* Not under ASan: its malloc replaces glibc's, and its allocator (GCC
     * 12's) is not fork-safe: a child forked while another thread mallocs
     * can hang in its first malloc or thread start, library or not (a
     * plain program: 1 hung child in 100). */
    if (!GCT_SANITIZER)
        fork_while_malloc(300);
    build();
    gc_collect();
    CHECK(verify("parent (start)") == 0);

    pthread_t t;
    int rc = gc_pthread_create(&t, NULL, busy, NULL);
    REQUIRE(rc == 0);
    for (int r = 0; r < FORKS; r++) {
        gct_sleep_ms(20);
        fflush(stdout);
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0)
            _exit(child(r));
        check_child(pid, "child", r);
    }
    atomic_store(&stop, 1);
    gct_join(t, NULL);

    gct_churn(16u << 20, 2, 9);
    gc_collect();
    CHECK(verify("parent (end)") == 0);
    return check_done();
}
