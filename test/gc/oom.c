/*
 * oom.c -- running out of memory under an address-space limit (API.md,
 * "Limits of the environment": near the limit allocations fail with
 * ENOMEM, nothing crashes, and after memory is dropped and collected,
 * allocation works again; "Errors": the OOM handler is called when memory
 * cannot be had after a full collection and its return value is returned
 * by the allocation).
 *
 * In a forked child (the parent checks its exit status):
 *  1. setrlimit(RLIMIT_AS, VmSize + 512 MiB); keep 1 MiB objects (in a
 *     global array) until gc_alloc returns NULL with errno ENOMEM; the kept
 *     objects are intact; drop them all, gc_collect(), and filling again
 *     gets at least 90% as far.
 *  2. With an OOM handler that records its calls and returns NULL: filling
 *     until NULL calls it with the request's size.
 *  3. With an OOM handler that returns a static buffer, the failing
 *     allocation returns that buffer.
 *  4. After dropping everything and collecting, small and large
 *     allocations work.
 * Skipped under sanitizers (they reserve terabytes of address space).
 */
#include "../check.h"
#include "../../gcheap.h"
#include "gc_util.h"

#include <errno.h>
#include <sys/resource.h>
#include <sys/wait.h>

enum { MAXOBJ = 4096 };
#define MIB ((size_t)1 << 20)

uint64_t *kept[MAXOBJ]; /* roots */

static int calls;
static size_t last_size;
static char sentinel[64];

static void *oom_null(size_t size)
{
    calls++;
    last_size = size;
    return NULL;
}

static void *oom_sentinel(size_t size)
{
    calls++;
    last_size = size;
    return sentinel;
}

static long vm_size_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* Keeps 1 MiB objects until an allocation fails; returns how many. */
__attribute__((noinline)) static int fill(int *err)
{
    int n = 0;
    *err = 0;
    while (n < MAXOBJ) {
        errno = 0;
        uint64_t *p = gc_alloc(MIB);
        if (p == NULL) {
            *err = errno;
            break;
        }
        p[0] = (uint64_t)n ^ 0xC0FFEE;
        p[MIB / 8 - 1] = (uint64_t)n * 3;
        kept[n++] = p;
    }
    return n;
}

__attribute__((noinline)) static int check_kept(int n)
{
    int bad = 0;
    for (int i = 0; i < n; i++)
        bad += gc_base(kept[i]) != kept[i] ||
               kept[i][0] != ((uint64_t)i ^ 0xC0FFEE) ||
               kept[i][MIB / 8 - 1] != (uint64_t)i * 3;
    return bad;
}

__attribute__((noinline)) static void drop(void)
{
    for (int i = 0; i < MAXOBJ; i++)
        kept[i] = NULL;
    gct_collect_clean(2);
}

static int child(void)
{
    alarm(60);
    gc_init();
    void *first = gc_alloc(100);
    REQUIRE(first != NULL);
    long kib = vm_size_kib();
    REQUIRE(kib > 0);
    struct rlimit rl;
    int rc = getrlimit(RLIMIT_AS, &rl);
    REQUIRE(rc == 0);
    rl.rlim_cur = (rlim_t)kib * 1024 + 512 * MIB;
    rc = setrlimit(RLIMIT_AS, &rl);
    REQUIRE(rc == 0);

    /* 1 */
    int err;
    int n = fill(&err);
    CHECKF(n >= 64 && n < MAXOBJ, "first fill: %d MiB before failing", n);
    CHECKF(err == ENOMEM, "first fill: errno %d, want ENOMEM", err);
    CHECKF(check_kept(n) == 0, "kept objects corrupted near the limit");
    drop();
    int n2 = fill(&err);
    CHECKF(n2 * 10 >= n * 9, "after drop and collect: %d MiB, first time %d",
           n2, n);
    CHECKF(err == ENOMEM, "second fill: errno %d, want ENOMEM", err);
    CHECKF(check_kept(n2) == 0, "kept objects corrupted (second fill)");

    /* 2 */
    drop();
    gc_set_oom_handler(oom_null);
    calls = 0;
    int n3 = fill(&err);
    CHECKF(n3 * 10 >= n * 9, "third fill: %d MiB, first time %d", n3, n);
    CHECKF(calls >= 1, "OOM handler called %d times", calls);
    CHECKF(last_size == MIB, "OOM handler got size %zu, want %zu", last_size,
           MIB);
    CHECKF(err == ENOMEM,
           "with a handler returning NULL: errno %d, want ENOMEM", err);

    /* 3: still full */
    gc_set_oom_handler(oom_sentinel);
    calls = 0;
    void *p = gc_alloc(MIB);
    CHECKF(p == sentinel, "handler's value not returned: %p, want %p", p,
           (void *)sentinel);
    CHECK(calls == 1);
    gc_set_oom_handler(oom_null);

    /* 4 */
    CHECK(check_kept(n3) == 0);
    drop();
    void *small = gc_alloc(64), *large = gc_alloc(8 * MIB);
    CHECK(small != NULL);
    CHECK(large != NULL);
    printf("child: %d, %d, %d MiB before ENOMEM\n", n, n2, n3);
    fflush(stdout);
    return check_failures ? 1 : 0;
}

int main(void)
{
    if (GCT_SANITIZER) {
        printf("skipped under sanitizers\n");
        return 0;
    }
    fflush(stdout);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0)
        _exit(child());
    int status = 0;
    pid_t w = waitpid(pid, &status, 0);
    REQUIRE(w == pid);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: %s %d",
           WIFEXITED(status) ? "exit status" : "killed by signal",
           WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return check_done();
}
