/*
 * init.c -- gc_init, gc_version, and fork().
 *
 * Initialisation runs once (pthread_once), from gc_init or from the first
 * slow-path call of any other gc_ function; gci_initialised (release
 * store, acquire load) lets every later call skip it with one load.
 *
 * fork(): the prepare handler waits for a running cycle to end, holds the
 * sweeper off and closes the other threads' fork gates, so no lock of the
 * library is held by a thread that will not exist in the child (the
 * threads keep running: one may hold a lock of malloc's, which fork
 * takes); the parent opens the gates,
 * the child forgets the threads that did not come along (threads.c) and
 * the library's own threads (sweeper, finalizer thread, mark helpers,
 * dedicated workers and the idle marker, sysmon), which it starts again
 * on need.  The prepare handler also waits
 * out a scavenger step, which takes the heap lock at times.
 */
#include "internal.h"

#define STR2(x) #x
#define STR(x) STR2(x)

AO_t gci_initialised;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* The fork gates (threads.c) keep every other registered thread out of
 * the no-stop regions, which hold every lock the library's API takes.
 * Sweeping is blocked and the batches under way waited for (sweep.c);
 * the library's own threads hold only locks the child creates anew. */
static void before_fork(void)
{
    gci_gc_lock_for_fork();
    gci_scavenger_hold();
    gci_sweep_finish();
    gci_threads_fork_prepare();
}

static void after_fork_parent(void)
{
    gci_threads_fork_parent();
    gci_sweep_resume_quiet();
    gci_scavenger_release();
    gci_gc_unlock_after_fork(false);
}

static void after_fork_child(void)
{
    gci_threads_after_fork();
    gci_sysmon_after_fork_child();
    gci_pacer_after_fork_child();
    gci_finalize_after_fork_child();
    gci_sweep_after_fork_child();
    gci_mark_after_fork_child();
    gci_bgmark_after_fork_child();
    gci_gc_unlock_after_fork(true);
}

static void initialise(void)
{
    gci_mheap_init();
    gci_mcentral_init();
    gci_gc_init();
    gci_options_init();
    gci_threads_init();
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
    at_store_rel(&gci_initialised, 1);
    gci_sysmon_ensure();
}

void gci_init_slow(void) { pthread_once(&once, initialise); }

GCI_API void gc_init(void)
{
    init_once();
    if (!gci_tls_cache)
        gci_thread_attach();
}

GCI_API const char *gc_version(void)
{
    return STR(GC_VERSION_MAJOR) "." STR(GC_VERSION_MINOR) "." STR(
        GC_VERSION_PATCH);
}
