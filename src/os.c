/*
 * os.c -- every call gcheap makes to the operating system for memory and
 * time, in one place.
 *
 * Address space is reserved readable and writable with MAP_NORESERVE, a
 * region of whole arenas at a time as the heap needs one (Go likewise maps
 * each arena readable and writable when the heap first needs it).  A page
 * takes memory only when first touched.  The page heap takes the reserved
 * pages into use (mheap.c) without another system call: committing each
 * 1 MiB step with mprotect, as gcheap did first, changed the mapping the
 * program was faulting pages into, and a page fault could then wait
 * milliseconds behind the mapping's locks (bench/README.md, the pause
 * benchmark).  What that costs:
 *   - a stray write past the pages the heap has taken no longer faults; it
 *     would dirty pages the heap later hands out as zero (HEAP-3).  Under
 *     memcheck those pages are no-access (arena.c), so it is reported;
 *   - a region is charged whole when reserved where writable private
 *     mappings are counted at mmap: RLIMIT_DATA, and the commit limit
 *     under vm.overcommit_memory=2 (which ignores MAP_NORESERVE), so there
 *     the heap meets ENOMEM up to a region (64 MiB, 128 during an aligned
 *     reservation's trim) sooner than with 1 MiB commits.  RLIMIT_AS
 *     counted the PROT_NONE reservations too: no change there.
 * A failed reservation is an ordinary ENOMEM for the caller, never fatal.
 *
 * Metadata (span structs, page-map levels, thread records) comes from
 * gci_os_alloc_meta: plain zeroed anonymous memory that is never returned,
 * populated when mapped (the pieces are small and written soon anyway).
 * Populating matters for the page map: a lookup of a page the heap has not
 * taken reads its level, which maps the shared zero page there, and the
 * first write after that replaced it with a real page and flushed the TLB
 * of every CPU running the process; a write-fault that waited on the other
 * CPUs, once per 4 MiB the heap grew (bench/README.md, the pause
 * benchmark).
 */
#include "internal.h"

#include <sys/mman.h>
#include <time.h>

void *gci_os_reserve(size_t bytes, uintptr_t hint)
{
    void *p = mmap((void *)hint, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void gci_os_unreserve(void *p, size_t bytes)
{
    if (bytes)
        munmap(p, bytes);
}

/* Gives the memory of pages the heap has taken back to the OS; they read
 * as zero afterwards. */
bool gci_os_release(void *p, size_t bytes)
{
    return madvise(p, bytes, MADV_DONTNEED) == 0;
}

AO_t gci_meta_bytes; /* all gci_os_alloc_meta has mapped */

void *gci_os_alloc_meta(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    at_fetch_add(&gci_meta_bytes, bytes);
    return p;
}

static uint64_t clock_ns(clockid_t clock)
{
    struct timespec ts = {0, 0}; /* 0 if the clock fails */
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time every thread of the process has used, the library's own
 * included. */
uint64_t gci_os_process_cpu_ns(void)
{
    return clock_ns(CLOCK_PROCESS_CPUTIME_ID);
}

/* CPU time the calling thread has used: what a thread of the collector
 * costs, where its wall time would also hold the time it waited for a
 * CPU. */
uint64_t gci_os_thread_cpu_ns(void)
{
    return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

uint64_t gci_os_now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }

/* The wall clock, for the waits that take a CLOCK_REALTIME deadline. */
uint64_t gci_os_realtime_ns(void) { return clock_ns(CLOCK_REALTIME); }
