/*
 * version.c -- black-box test of gc_version and gc_init (API.md,
 * "Initialisation"): gc_version works before anything else, returns a
 * non-NULL "MAJOR.MINOR.PATCH" string matching the GC_VERSION_* macros,
 * the same every time; gc_init is idempotent.
 */
#include "../check.h"
#include "../../gcheap.h"

#include <string.h>

int main(void)
{
    const char *v = gc_version(); /* the very first gc_ call */
    REQUIRE(v != NULL);
    printf("gc_version() = \"%s\"\n", v);

    int major = -1, minor = -1, patch = -1, used = 0;
    int n = sscanf(v, "%d.%d.%d%n", &major, &minor, &patch, &used);
    CHECKF(n == 3, "\"%s\" is not MAJOR.MINOR.PATCH", v);
    CHECKF(used > 0 && (v[used] == 0 || v[used] == '-' || v[used] == '+'),
           "\"%s\": junk after the version number", v);
    CHECKF(major == GC_VERSION_MAJOR && minor == GC_VERSION_MINOR &&
               patch == GC_VERSION_PATCH,
           "\"%s\" disagrees with GC_VERSION_* %d.%d.%d", v, GC_VERSION_MAJOR,
           GC_VERSION_MINOR, GC_VERSION_PATCH);

    char copy[64];
    snprintf(copy, sizeof copy, "%s", v);
    gc_init();
    gc_init();
    void *p = gc_alloc(10);
    CHECK(p != NULL);
    gc_init();
    CHECK(gc_base(p) == p); /* gc_init again does not reset the heap */
    gc_free(p);
    const char *w = gc_version();
    REQUIRE(w != NULL);
    CHECK(strcmp(w, copy) == 0);
    CHECK(strcmp(v, copy) == 0); /* the first string is still valid */
    return check_done();
}
