/*
 * os.c -- every call gcheap makes to the operating system for memory and
 * time, in one place.
 *
 * Address space is reserved readable and writable with MAP_NORESERVE: it
 * costs no memory until a page is first touched, only address space, which
 * RLIMIT_AS limits.  The page heap takes it into use (mheap.c) without
 * another system call: committing each step with mprotect, as gcheap did
 * first, changed the mapping the program was faulting pages into, and a
 * page fault could then wait milliseconds behind the mapping's locks
 * (bench/README.md, the pause benchmark).  Go maps a whole arena the same
 * way.  A failed reservation is an ordinary ENOMEM for the caller, never
 * fatal.
 *
 * Metadata (span structs, page-map levels, thread records) comes from
 * gci_os_alloc_meta: plain zeroed anonymous memory that is never returned.
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

/* Gives committed pages' memory back; they read as zero afterwards. */
bool gci_os_release(void *p, size_t bytes)
{
    return madvise(p, bytes, MADV_DONTNEED) == 0;
}

AO_t gci_meta_bytes; /* all gci_os_alloc_meta has mapped */

void *gci_os_alloc_meta(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    at_fetch_add(&gci_meta_bytes, bytes);
    return p;
}

static uint64_t clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time every thread of the process has used, the library's own
 * included. */
uint64_t gci_os_process_cpu_ns(void)
{
    return clock_ns(CLOCK_PROCESS_CPUTIME_ID);
}

uint64_t gci_os_now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }

/* The wall clock, for the waits that take a CLOCK_REALTIME deadline. */
uint64_t gci_os_realtime_ns(void) { return clock_ns(CLOCK_REALTIME); }
