/*
 * strdup.c -- black-box test of gc_strdup (API.md, "Allocation"): an equal,
 * NUL-terminated copy in a new heap object of at least strlen+1 bytes, for
 * lengths 0 .. 10000, also of strings that themselves live in the heap;
 * copies are independent of the original and of each other.
 */
#include "../check.h"
#include "../../gcheap.h"

#include <stdint.h>
#include <string.h>

static int error_reports;

static void on_error(const char *message)
{
    error_reports++;
    fprintf(stderr, "unexpected error report: %s\n", message);
}

static void check_copy(const char *s)
{
    size_t len = strlen(s);
    char *d = gc_strdup(s);
    CHECKF(d != NULL, "gc_strdup of %zu chars = NULL", len);
    if (!d)
        return;
    CHECKF(d != s, "gc_strdup returned its argument");
    CHECKF(strlen(d) == len, "copy of %zu chars has %zu", len, strlen(d));
    CHECKF(memcmp(d, s, len + 1) == 0, "copy of %zu chars differs", len);
    CHECKF(gc_base(d) == d, "gc_base(gc_strdup(%zu chars))", len);
    CHECKF(gc_size(d) >= len + 1, "gc_size(gc_strdup(%zu chars)) = %zu", len,
           gc_size(d));
    CHECKF((uintptr_t)d % (len + 1 >= 16 ? 16 : 8) == 0,
           "gc_strdup(%zu chars) misaligned", len);
    gc_free(d);
}

int main(void)
{
    gc_set_error_handler(on_error);

    check_copy("");
    check_copy("a");
    check_copy("hello, world");
    check_copy("\x01\x7f\x80\xfe\xff high bytes \xc3\xa9");

    static char buf[10001];
    for (size_t len = 0; len <= 10000; len = len < 40 ? len + 1 : len * 3 / 2) {
        for (size_t i = 0; i < len; i++)
            buf[i] = (char)('a' + (i * 7 + len) % 26);
        buf[len] = 0;
        check_copy(buf);
    }
    for (size_t i = 0; i < 10000; i++)
        buf[i] = (char)(1 + i % 255);
    buf[10000] = 0;
    check_copy(buf);

    /* a copy of a heap string, then of the copy; all independent */
    char *a = gc_strdup("first string in the heap");
    REQUIRE(a != NULL);
    char *b = gc_strdup(a);
    REQUIRE(b != NULL);
    char *c = gc_strdup(b + 6);
    REQUIRE(c != NULL);
    CHECK(a != b && b != c);
    CHECK(strcmp(b, "first string in the heap") == 0);
    CHECK(strcmp(c, "string in the heap") == 0);
    a[0] = 'F';
    b[1] = 'I';
    CHECK(strcmp(a, "First string in the heap") == 0);
    CHECK(strcmp(b, "fIrst string in the heap") == 0);
    CHECK(strcmp(c, "string in the heap") == 0);
    gc_free(a);
    CHECK(strcmp(b, "fIrst string in the heap") == 0);
    CHECK(strcmp(c, "string in the heap") == 0);
    gc_free(b);
    gc_free(c);

    /* many short copies live at once keep their own bytes */
    enum { N = 2000 };
    static char *v[N];
    for (int i = 0; i < N; i++) {
        char tmp[32];
        snprintf(tmp, sizeof tmp, "s%d", i * 7);
        v[i] = gc_strdup(tmp);
        REQUIRE(v[i] != NULL);
    }
    int bad = 0;
    for (int i = 0; i < N; i++) {
        char tmp[32];
        snprintf(tmp, sizeof tmp, "s%d", i * 7);
        bad += strcmp(v[i], tmp) != 0;
    }
    CHECKF(bad == 0, "%d of %d short copies changed", bad, N);
    for (int i = 0; i < N; i++)
        gc_free(v[i]);

    CHECKF(error_reports == 0, "%d error reports", error_reports);
    return check_done();
}
