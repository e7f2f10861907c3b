/*
 * gcheap.h -- the one public header of gcheap, the Go runtime's memory
 * manager as a C library.
 *
 * The contract is ../shared/design/API.md (mirrored in docs/api.md).  This
 * header declares what the library implements: the allocator, the
 * collector (stop-the-world or concurrent) with its roots, threads, write
 * barrier and finalizers, error handling and statistics.
 */
#ifndef GCHEAP_H
#define GCHEAP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GC_VERSION_MAJOR 0
#define GC_VERSION_MINOR 1
#define GC_VERSION_PATCH 0

/* ---- Initialisation ---------------------------------------------------- */

/* Optional, idempotent, thread-safe; every other gc_ call initialises on
 * first use. */
void gc_init(void);
const char *gc_version(void);

/* ---- Allocation ---------------------------------------------------------
 * Every allocation is zeroed and aligned to 16 bytes when size >= 16 (8
 * below), or NULL with errno == ENOMEM.  gc_alloc(0) returns a unique
 * non-NULL pointer. */

void *gc_alloc(size_t size);
void *gc_alloc_atomic(size_t size);
void *gc_alloc_uncollectable(size_t size);
void *gc_calloc(size_t count, size_t size);
void *gc_realloc(void *ptr, size_t size);
char *gc_strdup(const char *s);
void gc_free(void *ptr);
size_t gc_size(const void *ptr);
void *gc_base(const void *ptr);

/* ---- Collection and tuning -------------------------------------------- */

/* A full cycle: returns after marking and sweeping of a cycle that started
 * after the call began. */
void gc_collect(void);
/* Go's GOGC; negative turns automatic collection off.  Returns the old
 * value. */
int gc_set_percent(int percent);
/* Go's soft memory limit: cycles run more often to keep the heap's memory
 * under it; allocation never fails because of it.  Returns the previous
 * limit; a negative argument only queries.  Default INT64_MAX (none). */
int64_t gc_set_memory_limit(int64_t bytes);
/* Collects, then returns every free page to the OS. */
void gc_release_memory(void);
/* 1: marking runs beside the program, which promises that every store of
 * a heap pointer into a heap object goes through gc_store, GC_STORE or
 * gc_memmove.  0 (the default unless GCHEAP_CONCURRENT=1): marking stops
 * every registered thread.  Takes effect from the next cycle; returns the
 * previous setting. */
int gc_set_concurrent(int enabled);

/* ---- Roots ------------------------------------------------------------- */

void gc_add_roots(void *start, void *end);
void gc_remove_roots(void *start, void *end);

/* ---- Threads ----------------------------------------------------------- */

int gc_thread_register(void);
void gc_thread_unregister(void);
int gc_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                      void *(*start)(void *), void *arg);

/* ---- Write barrier -------------------------------------------------------
 * `*(void **)slot = value`, with the hybrid write barrier while a cycle
 * marks: one load and one branch otherwise.  The two gc_internal_ names
 * are not part of the API; gc_store needs them to be inline. */

extern int gc_internal_barrier_on;
void gc_internal_store_slow(void *slot, void *value);

static inline void gc_store(void *slot, void *value)
{
    /* The flag is read after every access before it in program order
     * (a compiler-only fence: no instruction), see barrier.c. */
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if (__builtin_expect(
            __atomic_load_n(&gc_internal_barrier_on, __ATOMIC_RELAXED), 0))
        gc_internal_store_slow(slot, value);
    else
        *(void **)slot = value;
}

#define GC_STORE(lvalue, value) gc_store((void *)&(lvalue), (value))

/* memmove for memory that may hold heap pointers, with barriers. */
void gc_memmove(void *dst, const void *src, size_t n);

/* ---- Coroutines and fibers ---------------------------------------------- */

typedef struct gc_fiber gc_fiber;
gc_fiber *gc_fiber_register(void *stack_lo, void *stack_hi);
void gc_fiber_switch(gc_fiber *to);
void gc_fiber_unregister(gc_fiber *fiber);

/* ---- Finalisation and weak references ---------------------------------- */

typedef void (*gc_finalizer)(void *obj, void *data);
void gc_set_finalizer(void *obj, gc_finalizer fn, void *data);
int gc_set_finalize_on_demand(int on);
int gc_run_finalizers(void);

void gc_weak_link(void **link, void *obj);
void gc_weak_unlink(void **link);
void *gc_weak_get(void **link);

/* ---- Statistics -------------------------------------------------------- */

typedef struct gc_stats {
    uint64_t heap_alloc;    /* bytes in allocated objects */
    uint64_t heap_live;     /* bytes marked live by the last cycle */
    uint64_t heap_goal;     /* heap size at which the next cycle ends */
    uint64_t heap_sys;      /* heap bytes obtained from the OS */
    uint64_t heap_released; /* bytes of heap_sys returned to the OS */
    uint64_t heap_objects;  /* objects allocated and not yet freed */
    uint64_t total_alloc;   /* cumulative bytes allocated */
    uint64_t mallocs;       /* cumulative objects allocated */
    uint64_t frees;         /* cumulative objects freed */
    uint64_t num_gc;        /* completed cycles */
    uint64_t num_forced_gc;
    uint64_t num_periodic_gc;
    uint64_t pause_total_ns;
    uint64_t pause_max_ns;
    uint64_t last_pause_ns;
    uint64_t assist_ns;
    double gc_cpu_fraction;
    int percent;
    int concurrent;
} gc_stats;

void gc_get_stats(gc_stats *out);

/* ---- Errors ------------------------------------------------------------ */

typedef void *(*gc_oom_handler)(size_t size);
void gc_set_oom_handler(gc_oom_handler fn);

typedef void (*gc_error_handler)(const char *message);
void gc_set_error_handler(gc_error_handler fn);

#ifdef __cplusplus
}
#endif

#endif /* GCHEAP_H */
