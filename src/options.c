/*
 * options.c -- the runtime options, read once from the environment.
 *
 * One table: name, what it sets, and a parser.  A value that cannot be
 * parsed is reported as "gcheap: ignoring GCHEAP_X=<value>: <why>" and
 * the default is kept.  docs/options.md lists the same table for readers.
 * GCHEAP_SUSPEND_SIGNAL is read by threads.c, which owns the signal.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gci_opt_trace;
int gci_opt_checkmark;
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

/* A 0-or-1 switch into *out. */
static const char *set_flag(const char *v, int *out)
{
    long n;
    const char *err = parse_long(v, 0, 1, &n);
    if (!err)
        *out = (int)n;
    return err;
}

static const char *set_trace(const char *v)
{
    return set_flag(v, &gci_opt_trace);
}

static const char *set_checkmark(const char *v)
{
    return set_flag(v, &gci_opt_checkmark);
}

static const char *set_idle_mark(const char *v)
{
    return set_flag(v, &gci_opt_idle_mark);
}

static const char *set_procs(const char *v)
{
    long n;
    const char *err = parse_long(v, 1, 1024, &n);
    if (!err)
        gci_gc_set_procs(n);
    return err;
}

static const char *set_concurrent(const char *v)
{
    int on = 0;
    const char *err = set_flag(v, &on);
    if (!err)
        at_store(&gci_concurrent, (size_t)on);
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

/* A number followed by one of the units, or an error message.  *scale
 * is the matching unit's multiplier. */
struct unit {
    const char *name;
    uint64_t scale;
};

static const char *parse_scaled(const char *v, const struct unit *units,
                                uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (end == v || *v == '-' || *v == '+' || *v == ' ')
        return "not a number";
    for (const struct unit *u = units; u->name; u++)
        if (strcmp(end, u->name) == 0) {
            if (errno || (u->scale && n > max / u->scale))
                return "out of range";
            *out = (uint64_t)n * u->scale;
            return NULL;
        }
    return "unknown unit";
}

/* A byte count: "512MiB", "2GiB", "1000000" (bytes). */
const char *gci_parse_bytes(const char *v, uint64_t *out)
{
    static const struct unit units[] = {{"", 1},
                                        {"B", 1},
                                        {"KiB", 1ull << 10},
                                        {"MiB", 1ull << 20},
                                        {"GiB", 1ull << 30},
                                        {"TiB", 1ull << 40},
                                        {NULL, 0}};
    return parse_scaled(v, units, (uint64_t)INT64_MAX, out);
}

/* A duration in nanoseconds: "500ms", "30s", "2m"; "0" and "off": 0. */
const char *gci_parse_duration(const char *v, uint64_t *out)
{
    static const struct unit units[] = {{"ms", 1000000ull},
                                        {"s", 1000000000ull},
                                        {"m", 60000000000ull},
                                        {NULL, 0}};
    if (strcmp(v, "off") == 0 || strcmp(v, "0") == 0) {
        *out = 0;
        return NULL;
    }
    const char *err = parse_scaled(v, units, UINT64_MAX / 2, out);
    return err && strcmp(err, "unknown unit") == 0 ? "needs a unit: ms, s or m"
                                                   : err;
}

static const char *set_memory_limit(const char *v)
{
    uint64_t n;
    const char *err = gci_parse_bytes(v, &n);
    if (!err)
        gci_pacer_set_limit((int64_t)n);
    return err;
}

static const char *set_force_period(const char *v)
{
    uint64_t n;
    const char *err = gci_parse_duration(v, &n);
    if (!err)
        gci_opt_force_period_ns = n;
    return err;
}

static const struct option {
    const char *name;
    const char *(*set)(const char *value);
} options[] = {
    {"GCHEAP_PERCENT", set_percent},
    {"GCHEAP_TRACE", set_trace},
    {"GCHEAP_MARK_BUFFERS", set_mark_buffers},
    {"GCHEAP_MEMORY_LIMIT", set_memory_limit},
    {"GCHEAP_FORCE_PERIOD", set_force_period},
    {"GCHEAP_CONCURRENT", set_concurrent},
    {"GCHEAP_CHECKMARK", set_checkmark},
    {"GCHEAP_IDLE_MARK", set_idle_mark},
    {"GCHEAP_PROCS", set_procs},
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
