/*
 * error.c -- reporting misuse and running out of memory.
 *
 * Misuse (a free of something that is no object, a double free) goes to
 * the error handler; the default prints "gcheap: <message>" and aborts.  A
 * handler that returns makes the offending call do nothing.  Reports are
 * made with no lock held, so a handler may call gcheap.
 *
 * Owns: the two handler pointers (atomic).
 */
#include "internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static AO_t error_handler; /* gc_error_handler, 0 = default */
static AO_t oom_handler;   /* gc_oom_handler, 0 = return NULL */

GCI_API void gc_set_error_handler(gc_error_handler fn)
{
    at_store(&error_handler, (size_t)fn);
}

GCI_API void gc_set_oom_handler(gc_oom_handler fn)
{
    at_store(&oom_handler, (size_t)fn);
}

void gci_report(const char *fmt, ...)
{
    char message[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    gc_error_handler fn = (gc_error_handler)at_load(&error_handler);
    if (fn) {
        fn(message);
        return;
    }
    fprintf(stderr, "gcheap: %s\n", message);
    abort();
}

/* What an allocation returns when the heap cannot grow: the OOM handler's
 * answer, or NULL with errno = ENOMEM. */
void *gci_out_of_memory(size_t size)
{
    gc_oom_handler fn = (gc_oom_handler)at_load(&oom_handler);
    void *p = fn ? fn(size) : NULL;
    if (!p)
        errno = ENOMEM;
    return p;
}

void gci_assert_fail(const char *cond, const char *file, int line)
{
    fprintf(stderr, "gcheap: assertion failed: %s (%s:%d)\n", cond, file, line);
    abort();
}

void gci_fatal(const char *what)
{
    fprintf(stderr, "gcheap: fatal: %s\n", what);
    abort();
}
