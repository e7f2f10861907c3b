/*
 * rlimit_as.c -- black-box test of allocation under an address-space limit
 * (API.md, "Limits of the environment" and "Errors"), in a forked child
 * whose RLIMIT_AS is its current size + 256 MiB:
 *  1. 1 MiB objects until NULL: errno is ENOMEM, nothing crashes, all the
 *     objects got are intact; then 64-byte objects until NULL, likewise.
 *  2. after freeing everything, about as many 1 MiB objects fit again.
 *  3. gc_set_oom_handler: at exhaustion the handler is called with the size
 *     asked for, and what it returns is what the allocation returns (a
 *     sentinel from every allocating call; NULL -> NULL with ENOMEM); also
 *     for one request larger than the whole limit; a gc_realloc that fails
 *     leaves its object intact.
 * Not run under sanitizers or valgrind (they need address space of their
 * own).
 */
#include "../check.h"
#include "../../gcheap.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MIB = 1 << 20, HEADROOM_MIB = 256, CAP = 2 * HEADROOM_MIB };

static size_t vm_size_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kib = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %zu kB", &kib) == 1)
            break;
    fclose(f);
    return kib * 1024;
}

/* One word per 4 KiB page, so that every page is touched. */
static void stamp(unsigned char *p, size_t size, uint64_t seed)
{
    for (size_t off = 0; off + 8 <= size; off += 4096) {
        uint64_t w = seed * 0x9E3779B97F4A7C15ull + off;
        memcpy(p + off, &w, 8);
    }
}

static int stamped(const unsigned char *p, size_t size, uint64_t seed)
{
    for (size_t off = 0; off + 8 <= size; off += 4096) {
        uint64_t w = seed * 0x9E3779B97F4A7C15ull + off, got;
        memcpy(&got, p + off, 8);
        if (got != w)
            return 0;
    }
    return 1;
}

static unsigned char *big[CAP + 1];

/* 1 MiB objects until NULL; returns how many were had. */
static int exhaust_big(const char *round)
{
    int n = 0;
    for (;;) {
        if (n == CAP) {
            CHECKF(0,
                   "%s: %d MiB allocated under a %d MiB headroom, no "
                   "ENOMEM: the limit is not honoured",
                   round, CAP, HEADROOM_MIB);
            break;
        }
        errno = 0;
        unsigned char *p = gc_alloc(MIB);
        int e = errno;
        if (!p) {
            CHECKF(e == ENOMEM, "%s: NULL after %d MiB with errno %d", round, n,
                   e);
            break;
        }
        CHECKF(gc_base(p) == p, "%s: object %d not an object", round, n);
        stamp(p, MIB, (uint64_t)n);
        big[n++] = p;
    }
    printf("%s: %d objects of 1 MiB before ENOMEM\n", round, n);
    return n;
}

static void free_big(int n, const char *round)
{
    int bad = 0;
    for (int i = 0; i < n; i++) {
        bad += !stamped(big[i], MIB, (uint64_t)i);
        gc_free(big[i]);
    }
    CHECKF(bad == 0, "%s: %d of %d objects changed", round, bad, n);
}

/* 64-byte objects until NULL, chained through their first word. */
static void exhaust_small(void)
{
    void **head = NULL;
    long n = 0;
    for (; n < 4000000; n++) {
        errno = 0;
        void **p = gc_alloc(64);
        int e = errno;
        if (!p) {
            CHECKF(e == ENOMEM, "small: NULL after %ld objects, errno %d", n,
                   e);
            break;
        }
        p[0] = head;
        p[1] = (void *)(uintptr_t)n;
        head = p;
    }
    CHECKF(n < 4000000, "small: no ENOMEM after 4000000 objects of 64 B");
    printf("small: %ld objects of 64 bytes before ENOMEM\n", n);
    long bad = 0;
    while (head) {
        void **next = head[0];
        bad += (uintptr_t)head[1] != (uintptr_t)--n;
        gc_free(head);
        head = next;
    }
    CHECKF(bad == 0 && n == 0, "small: %ld objects changed", bad);
}

static unsigned char sentinel[64];
static void *oom_result;
static int oom_calls;
static size_t oom_size;

static void *oom_handler(size_t size)
{
    oom_calls++;
    oom_size = size;
    return oom_result;
}

/* At exhaustion every allocating call returns what the handler returns. */
static void check_oom_handler(void)
{
    gc_set_oom_handler(oom_handler);
    oom_result = sentinel;
    int n = 0;
    void *p = NULL;
    while (n < CAP) {
        p = gc_alloc(MIB);
        if (p == sentinel || p == NULL)
            break;
        stamp(p, MIB, (uint64_t)n);
        big[n++] = p;
    }
    CHECKF(p == sentinel,
           "gc_alloc at exhaustion returned %p, want the "
           "handler's %p (after %d MiB)",
           p, (void *)sentinel, n);
    CHECKF(oom_calls == 1, "handler called %d times, want 1", oom_calls);
    CHECKF(oom_size == MIB, "handler got size %zu, want %d", oom_size, MIB);

    int calls = oom_calls;
    CHECK(gc_alloc_atomic(MIB) == sentinel);
    CHECK(gc_alloc_uncollectable(MIB) == sentinel);
    CHECK(gc_calloc(MIB / 16, 16) == sentinel);
    CHECKF(oom_calls == calls + 3, "handler calls %d, want %d", oom_calls,
           calls + 3);

    /* larger than the whole limit, but no overflow: the handler decides */
    calls = oom_calls;
    CHECK(gc_alloc((size_t)HEADROOM_MIB * 2 * MIB) == sentinel);
    CHECKF(oom_calls == calls + 1 && oom_size == (size_t)HEADROOM_MIB * 2 * MIB,
           "handler not called with the size of a 512 MiB request");

    /* a handler that declines: NULL with ENOMEM */
    oom_result = NULL;
    calls = oom_calls;
    errno = 0;
    p = gc_alloc(MIB);
    CHECKF(p == NULL && errno == ENOMEM, "declined: %p, errno %d", p, errno);
    CHECKF(oom_calls == calls + 1, "declining handler not called");

    /* a failing gc_realloc leaves its object alone (room for small objects
     * may remain, so grow one to a size that cannot fit) */
    unsigned char *s = gc_alloc(100);
    if (s) {
        memset(s, 0x5A, 100);
        errno = 0;
        void *q = gc_realloc(s, (size_t)HEADROOM_MIB * 2 * MIB);
        CHECKF(q == NULL && errno == ENOMEM, "failing realloc: %p, errno %d", q,
               errno);
        int intact = gc_base(s) == s;
        for (int i = 0; i < 100 && intact; i++)
            intact = s[i] == 0x5A;
        CHECKF(intact, "failing gc_realloc changed its object");
        gc_free(s);
    }

    free_big(n, "oom handler");
    /* with memory back, the handler is not needed */
    calls = oom_calls;
    oom_result = sentinel;
    for (int i = 0; i < 16; i++) {
        big[i] = gc_alloc(MIB);
        CHECKF(big[i] != NULL && big[i] != sentinel,
               "gc_alloc(1 MiB) #%d after freeing: %p", i, (void *)big[i]);
    }
    CHECKF(oom_calls == calls, "handler called with memory available");
    for (int i = 0; i < 16; i++)
        if (big[i] != sentinel)
            gc_free(big[i]);
}

static int child(void)
{
    alarm(60);
    gc_init();
    void *warm = gc_alloc(1000); /* the heap is set up before the limit */
    gc_free(warm);
    printf("rlimit_as child starting\n"); /* stdio buffers exist too */
    fflush(stdout);

    size_t vm = vm_size_bytes();
    REQUIRE(vm > 0);
    struct rlimit rl;
    int rc = getrlimit(RLIMIT_AS, &rl);
    REQUIRE(rc == 0); /* REQUIRE evaluates its argument twice */
    rl.rlim_cur = vm + (size_t)HEADROOM_MIB * MIB;
    rc = setrlimit(RLIMIT_AS, &rl);
    REQUIRE(rc == 0);
    printf("VmSize %zu MiB, RLIMIT_AS %zu MiB\n", vm / MIB,
           (size_t)rl.rlim_cur / MIB);

    int n1 = exhaust_big("first");
    CHECKF(n1 >= HEADROOM_MIB / 4, "only %d MiB fit in %d MiB of headroom", n1,
           HEADROOM_MIB);
    exhaust_small();
    free_big(n1, "first");

    int n2 = exhaust_big("again");
    CHECKF(n2 >= n1 * 3 / 4, "after freeing %d MiB only %d MiB fit again", n1,
           n2);
    free_big(n2, "again");

    check_oom_handler();
    return check_done();
}

int main(void)
{
    fflush(stdout);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int rc = child();
        fflush(stdout);
        _exit(rc);
    }
    int status;
    pid_t waited;
    while ((waited = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    REQUIRE(waited == pid); /* REQUIRE evaluates its argument twice */
    if (WIFSIGNALED(status))
        fprintf(stderr, "child killed by signal %d (%s)\n", WTERMSIG(status),
                strsignal(WTERMSIG(status)));
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0,
           "child failed (status 0x%x)", status);
    return check_done();
}
