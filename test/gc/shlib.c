/*
 * shlib.c -- a shared library's static data is a root, also for a library
 * loaded with dlopen after the program started (and so after the first
 * cycles): objects referenced only from its .bss and .data survive
 * garbage and collections; once those references are dropped, the objects
 * are collected.  The library (test/gc/lib/shlib_root.c) is built next to
 * this test's executable.
 */
#include "../check.h"
#include "../../gcheap.h"
#include "gc_util.h"

#include <dlfcn.h>
#include <limits.h>
#include <unistd.h>

enum { NODES = 50000 };

static void (*set)(int, void *);
static void *(*get)(int);
static void **weak_links; /* malloc memory: not scanned */

/* Builds a list held only by the library's root `which`. */
static void build(int which, uint64_t base)
{
    set(which, gct_list(base, NODES, &weak_links[which * 100]));
}

static int list_bad(int which, uint64_t base)
{
    return gct_list_bad(get(which), base, NODES);
}

static void *load(void)
{
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
    REQUIRE(n > 0);
    path[n] = 0;
    strcpy(strrchr(path, '/') + 1, "libshlib_root.so");
    void *lib = dlopen(path, RTLD_NOW);
    if (!lib)
        fprintf(stderr, "dlopen: %s\n", dlerror());
    return lib;
}

int main(void)
{
    gc_init();
    weak_links = calloc(200, sizeof *weak_links);
    REQUIRE(weak_links != NULL);
    gct_churn(8u << 20, 2, 1); /* cycles before the library exists */
    void *lib = load();
    REQUIRE(lib != NULL);
    *(void **)&set = dlsym(lib, "shlib_set");
    *(void **)&get = dlsym(lib, "shlib_get");
    REQUIRE(set && get);
    build(0, 0);
    build(1, 1000000);
    gct_clear_stack();
    gct_churn(64u << 20, 4, 2);
    CHECKF(list_bad(0, 0) == 0, "list held by the library's .bss lost");
    CHECKF(list_bad(1, 1000000) == 0, "list held by the library's .data lost");
    set(0, NULL);
    set(1, NULL);
    gct_clear_stack();
    for (int i = 0; i < 3; i++)
        gc_collect();
    int cleared = 0;
    for (int i = 0; i < 200; i++)
        cleared += gc_weak_get(&weak_links[i]) == NULL;
    CHECKF(cleared >= 180, "only %d of 200 dropped objects collected", cleared);
    return check_done();
}
