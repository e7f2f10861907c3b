/* gc_set_finalizer on something that is not an object's start (a stack
 * address, malloc memory, an interior pointer, a freed object) is reported
 * once through the error handler and sets nothing; valid ones still work
 * afterwards. */
#include "../check.h"
#include "../../gcheap.h"

#include <stdlib.h>

static int reports, runs;

static void record(const char *msg)
{
    CHECK(msg != NULL && msg[0] != 0);
    reports++;
}

static void fin(void *obj, void *data)
{
    (void)obj;
    (void)data;
    runs++;
}

/* A hundred valid ones: a conservative collector may keep any single
 * object alive through a stale stack word. */
__attribute__((noinline)) static void drop_some(void)
{
    for (int i = 0; i < 100; i++)
        gc_set_finalizer(gc_alloc(64), fin, NULL);
}

int main(void)
{
    gc_set_error_handler(record);
    gc_set_finalize_on_demand(1);
    int local;
    char *m = malloc(64);
    char *obj = gc_alloc(64);
    char *freed = gc_alloc(64);
    gc_free(freed);
    void *bad[] = {&local, m, obj + 8, freed};
    for (int i = 0; i < 4; i++) {
        int before = reports;
        gc_set_finalizer(bad[i], fin, NULL);
        CHECKF(reports == before + 1, "case %d: %d reports", i,
               reports - before);
    }
    drop_some();
    for (int i = 0; i < 3; i++) {
        gc_collect();
        gc_run_finalizers();
    }
    CHECKF(runs >= 90 && runs <= 100, "%d of 100 valid finalizers ran", runs);
    CHECK(reports == 4);
    free(m);
    return check_done();
}
