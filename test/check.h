/*
 * check.h -- the tiny test helper every gcheap test uses.
 *
 * CHECK(cond) records a failure (file, line, the expression) and goes on, so
 * one run shows every broken assertion.  A test's main() ends with
 * `return check_done();`, which prints a one-line verdict and returns the
 * process exit status (0 only when nothing failed).  test/run.sh counts the
 * exit statuses and prints the "N passed, N failed" line.
 */
#ifndef GCHEAP_TEST_CHECK_H
#define GCHEAP_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                            \
    do {                                                                       \
        check_count++;                                                         \
        if (!(cond)) {                                                         \
            check_failures++;                                                  \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
        }                                                                      \
    } while (0)

/* CHECK with a formatted explanation printed on failure. */
#define CHECKF(cond, ...)                                                      \
    do {                                                                       \
        check_count++;                                                         \
        if (!(cond)) {                                                         \
            check_failures++;                                                  \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__,   \
                    #cond);                                                    \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
        }                                                                      \
    } while (0)

/* A failure that makes going on pointless (e.g. a NULL where an object was
 * needed). */
#define REQUIRE(cond)                                                          \
    do {                                                                       \
        int require_ok_ = !!(cond); /* evaluated once */                       \
        CHECKF(require_ok_, "%s", #cond);                                      \
        if (!require_ok_) {                                                    \
            fprintf(stderr, "stopping: required condition failed\n");          \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

static inline int check_done(void)
{
    if (check_failures) {
        fprintf(stderr, "FAILED: %d of %d checks\n", check_failures,
                check_count);
        return 1;
    }
    printf("ok: %d checks\n", check_count);
    return 0;
}

#endif
