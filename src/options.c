/*
 * options.c -- the runtime options, read once from the environment.
 *
 * One table: name, what it sets, and a parser.  A value that cannot be
 * parsed is reported as "gcheap: ignoring GCHEAP_X=<value>: <why>" and
 * the default is kept.  docs/options.md lists the same table for readers.
 * Options of the concurrent collector (GCHEAP_CONCURRENT,
 * GCHEAP_MEMORY_LIMIT, GCHEAP_FORCE_PERIOD, GCHEAP_CHECKMARK) are not read
 * yet: they arrive with it.  GCHEAP_SUSPEND_SIGNAL is read by threads.c,
 * which owns the signal.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gci_opt_trace;
size_t gci_opt_mark_buffers = 16384; /* 4 KiB each: 64 MiB of grey items */

void gci_env_warning(const char *name, const char *value, const char *why)
{
    fprintf(stderr, "gcheap: ignoring %s=%s: %s\n", name, value, why);
}

/* A whole decimal number in [lo, hi], or an error message. */
static const char *parse_long(const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (end == v || *end)
        return "not a number";
    if (errno || n < lo || n > hi)
        return "out of range";
    *out = n;
    return NULL;
}

static const char *set_percent(const char *v)
{
    long n;
    if (strcmp(v, "off") == 0)
        n = -1;
    else {
        const char *err = parse_long(v, -1, 1000000, &n);
        if (err)
            return err;
    }
    gci_pacer_set_percent((int)n);
    return NULL;
}

static const char *set_trace(const char *v)
{
    long n;
    const char *err = parse_long(v, 0, 1, &n);
    if (!err)
        gci_opt_trace = (int)n;
    return err;
}

static const char *set_mark_buffers(const char *v)
{
    long n;
    const char *err = parse_long(v, 2, 1L << 24, &n);
    if (!err)
        gci_opt_mark_buffers = (size_t)n;
    return err;
}

static const struct option {
    const char *name;
    const char *(*set)(const char *value);
} options[] = {
    {"GCHEAP_PERCENT", set_percent},
    {"GCHEAP_TRACE", set_trace},
    {"GCHEAP_MARK_BUFFERS", set_mark_buffers},
};

void gci_options_init(void)
{
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
        const char *v = getenv(options[i].name);
        const char *why = v ? options[i].set(v) : NULL;
        if (why)
            gci_env_warning(options[i].name, v, why);
    }
    gci_work_init(gci_opt_mark_buffers);
}
