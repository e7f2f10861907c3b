/*
 * report.h -- what the misuse tests share: an error handler that records
 * reports instead of aborting, and EXPECT_ONE_REPORT(call), which checks
 * that `call` was reported exactly once.
 */
#ifndef GCHEAP_TEST_WRONG_REPORT_H
#define GCHEAP_TEST_WRONG_REPORT_H

#include <stdio.h>

static int reports, empty_messages;

static void on_error(const char *message)
{
    reports++;
    if (!message || !message[0])
        empty_messages++;
    else
        printf("  reported: %s\n", message);
}

#define EXPECT_ONE_REPORT(call)                                                \
    do {                                                                       \
        int before_ = reports;                                                 \
        call;                                                                  \
        CHECKF(reports == before_ + 1, "%s: %d reports, want 1", #call,        \
               reports - before_);                                             \
    } while (0)

#endif
