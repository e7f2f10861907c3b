/*
 * init.c -- gc_init and gc_version.
 *
 * Initialisation runs once (pthread_once), from gc_init or from the first
 * slow-path call of any other gc_ function; gci_initialised (release
 * store, acquire load) lets every later call skip it with one load.
 */
#include "internal.h"

#define STR2(x) #x
#define STR(x) STR2(x)

AO_t gci_initialised;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void initialise(void)
{
    gci_mheap_init();
    gci_mcentral_init();
    gci_threads_init();
    at_store_rel(&gci_initialised, 1);
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
