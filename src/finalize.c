/*
 * finalize.c -- finalizers and weak links.
 *
 * The tables live in metadata memory the marker never scans, so neither a
 * finalizer's object nor a weak link's target is kept alive by them.
 *
 * Within a cycle (gc.c, step 3), after the roots' mark:
 *   a. every weak link whose target is white is cleared (the target is
 *      unreachable from the roots, whatever a finalizer does next);
 *   b. every white finalizable object has its contents scanned (not
 *      itself marked), so what it references survives, including other
 *      finalizable objects: the referencing one is finalized first;
 *   c. a finalizable object still white after (b) is ready: its entry
 *      moves to the run queue and it is marked, so it and everything it
 *      references stay valid until its finalizer has returned.
 * Queued objects and every entry's `data` are roots until the finalizer
 * runs (and `data` while the finalizer is set).  Finalizers run on the
 * finalizer thread, a registered thread started on first need, or, in
 * on-demand mode, inside gc_run_finalizers.  Objects in a cycle of
 * finalizable objects keep each other alive and are never finalized (as
 * in Go and bdwgc).
 *
 * Owns: the finalizer table, the run queue, the weak-link table.
 * Concurrency: `fin_lock` over all three; the API takes it inside a
 * no-stop region, so a stopped thread never holds it and the collector
 * may take it with the world stopped.
 * FIN-1: an object has at most one entry, in the table or in the queue.
 */
#include "internal.h"

/* `next` first: free entries are linked through their first word. */
struct fin {
    struct fin *next;
    uintptr_t obj;
    gc_finalizer fn;
    void *data;
};

struct weak {
    struct weak *next;
    void **link;
};

static pthread_mutex_t fin_lock = PTHREAD_MUTEX_INITIALIZER;
/* The finalizer thread sleeps on its own lock: it may be stopped while it
 * waits, and must then not hold fin_lock. */
static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fin_wake = PTHREAD_COND_INITIALIZER;
static uint64_t wakeups;
static struct fin *table, *queue, *queue_tail, *spare_fins;
static struct weak *weaks, *spare_weaks;
static AO_t table_size; /* entries in `table`: gc_free's one-load check */
static bool on_demand, thread_started;

/* ---- Entry allocation (metadata memory, recycled) ------------------------ */

#define META_CHUNK ((size_t)64 << 10)

static void *meta_take(void **spare, size_t size)
{
    if (!*spare) {
        char *chunk = gci_os_alloc_meta(META_CHUNK);
        if (!chunk)
            return NULL;
        for (size_t off = 0; off + size <= META_CHUNK; off += size) {
            *(void **)(chunk + off) = *spare;
            *spare = chunk + off;
        }
    }
    void *p = *spare;
    *spare = *(void **)p;
    memset(p, 0, size);
    return p;
}

static struct mcache *enter(void) { return gci_api_lock(&fin_lock); }
static void leave(struct mcache *c) { gci_api_unlock(c, &fin_lock); }

/* ---- Finalizers ------------------------------------------------------------
 */

static struct fin **find_fin(uintptr_t obj)
{
    struct fin **pp = &table;
    while (*pp && (*pp)->obj != obj)
        pp = &(*pp)->next;
    return pp;
}

static bool is_object_start(const void *p) { return p && gc_base(p) == p; }

GCI_API void gc_set_finalizer(void *obj, gc_finalizer fn, void *data)
{
    if (!is_object_start(obj)) {
        gci_report("gc_set_finalizer(%p): not the start of an object", obj);
        return;
    }
    struct mcache *c = enter();
    struct fin **pp = find_fin((uintptr_t)obj);
    struct fin *f = *pp;
    if (!fn) {
        if (f) {
            *pp = f->next;
            f->next = spare_fins;
            spare_fins = f;
            at_store(&table_size, at_load(&table_size) - 1);
        }
    } else if (f || (f = meta_take((void **)&spare_fins, sizeof *f))) {
        if (!*pp) {
            f->obj = (uintptr_t)obj;
            f->next = table;
            table = f;
            at_store(&table_size, at_load(&table_size) + 1);
        }
        f->fn = fn;
        f->data = data;
    }
    leave(c);
}

/* gc_free(obj): its finalizer goes with it (else a later object in the
 * same slot would be finalized in its name). */
void gci_finalize_forget(void *obj)
{
    if (GCI_LIKELY(at_load(&table_size) == 0))
        return;
    gc_set_finalizer(obj, NULL, NULL);
}

/* Roots: each entry's data, each queued object and its data. */
void gci_finalize_mark(struct marker *m)
{
    pthread_mutex_lock(&fin_lock);
    for (struct fin *f = table; f; f = f->next)
        gci_mark_range(m, (uintptr_t)&f->data, (uintptr_t)(&f->data + 1));
    for (struct fin *f = queue; f; f = f->next) {
        gci_mark_range(m, (uintptr_t)&f->obj, (uintptr_t)(&f->obj + 1));
        gci_mark_range(m, (uintptr_t)&f->data, (uintptr_t)(&f->data + 1));
    }
    pthread_mutex_unlock(&fin_lock);
}

/* Step b: white finalizable objects keep what they reference. */
void gci_finalize_mark_unreached(struct marker *m)
{
    for (struct fin *f = table; f; f = f->next) {
        struct span *s;
        size_t i;
        if (gci_mark_find(f->obj, &s, &i) && !span_bit(s, BM_MARK, i) &&
            s->kind != GCI_NOSCAN)
            gci_mark_range(m, f->obj, f->obj + s->elemsize);
    }
}

/* Step c, first half: white entries move to the run queue. */
void gci_finalize_after_mark(void)
{
    struct fin **pp = &table;
    while (*pp) {
        struct fin *f = *pp;
        if (gci_is_marked((void *)f->obj)) {
            pp = &f->next;
            continue;
        }
        *pp = f->next;
        f->next = NULL;
        at_store(&table_size, at_load(&table_size) - 1);
        if (queue_tail)
            queue_tail->next = f;
        else
            queue = f;
        queue_tail = f;
    }
}

/* Step c, second half: queued objects are marked (they may not be white
 * any more if they were queued by an earlier cycle). */
void gci_finalize_mark_ready(struct marker *m)
{
    for (struct fin *f = queue; f; f = f->next)
        gci_mark_range(m, (uintptr_t)&f->obj, (uintptr_t)(&f->obj + 1));
}

static struct fin *dequeue(void)
{
    struct fin *f = queue;
    if (f) {
        queue = f->next;
        if (!queue)
            queue_tail = NULL;
    }
    return f;
}

/* Runs queued finalizers on the calling thread; how many ran.  The
 * finalizer thread (`background`) leaves them alone in on-demand mode. */
static int run_queued(bool background)
{
    int n = 0;
    for (;;) {
        struct mcache *c = enter();
        struct fin *f = background && on_demand ? NULL : dequeue();
        struct fin copy = f ? *f : (struct fin){0};
        if (f) {
            f->next = spare_fins;
            spare_fins = f;
        }
        leave(c);
        if (!f)
            return n;
        copy.fn((void *)copy.obj, copy.data);
        n++;
    }
}

static void *finalizer_main(void *arg)
{
    (void)arg;
    gci_name_thread("gcheap-final");
    gci_thread_attach_created();
    uint64_t seen = 0;
    for (;;) {
        run_queued(true);
        pthread_mutex_lock(&wake_lock);
        while (seen == wakeups)
            pthread_cond_wait(&fin_wake, &wake_lock);
        seen = wakeups;
        pthread_mutex_unlock(&wake_lock);
    }
    return NULL;
}

static void wake_finalizer_thread(void)
{
    pthread_mutex_lock(&wake_lock);
    wakeups++;
    pthread_cond_signal(&fin_wake);
    pthread_mutex_unlock(&wake_lock);
}

/* After the world restarts: wake (or start) the finalizer thread. */
void gci_finalize_cycle_done(void)
{
    struct mcache *c = enter();
    bool start = queue && !on_demand && !thread_started;
    if (start)
        thread_started = true;
    leave(c);
    wake_finalizer_thread();
    if (start) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        gci_thread_create_begin();
        if (pthread_create(&t, &attr, finalizer_main, NULL) != 0) {
            gci_thread_create_end();
            thread_started = false;
        }
        pthread_attr_destroy(&attr);
    }
}

GCI_API int gc_set_finalize_on_demand(int on)
{
    struct mcache *c = enter();
    int old = on_demand;
    on_demand = on != 0;
    leave(c);
    if (!on)
        gci_finalize_cycle_done();
    return old;
}

GCI_API int gc_run_finalizers(void) { return run_queued(false); }

/* ---- Weak links ------------------------------------------------------------
 */

static struct weak **find_weak(void **link)
{
    struct weak **pp = &weaks;
    while (*pp && (*pp)->link != link)
        pp = &(*pp)->next;
    return pp;
}

GCI_API void gc_weak_link(void **link, void *obj)
{
    struct mcache *c = enter();
    *link = obj;
    struct weak **pp = find_weak(link);
    struct weak *w = *pp;
    if (!w && (w = meta_take((void **)&spare_weaks, sizeof *w))) {
        w->link = link;
        w->next = weaks;
        weaks = w;
    }
    leave(c);
    if (!w)
        gci_report("gc_weak_link(%p): out of memory", (void *)link);
}

GCI_API void gc_weak_unlink(void **link)
{
    struct mcache *c = enter();
    struct weak **pp = find_weak(link);
    struct weak *w = *pp;
    if (w) {
        *pp = w->next;
        w->next = spare_weaks;
        spare_weaks = w;
    }
    leave(c);
}

/* Reads under fin_lock, which the collector holds while it clears links,
 * so a reader never sees a target that is being declared dead. */
/* While a concurrent cycle marks, the object read is shaded: the caller
 * now holds it in a root the mark start did not scan, and a weak link is
 * no path the marker follows (a read barrier, as Go's weak pointers have).
 * Clearing happens with the world stopped, so under the lock the link
 * is either cleared or its object shaded before the clearing looks. */
GCI_API void *gc_weak_get(void **link)
{
    struct mcache *c = enter();
    void *obj = *link;
    if (obj && gci_marking())
        gci_shade_range(link, sizeof *link);
    leave(c);
    return obj;
}

/* Step a: clears links to white objects (before any finalizer can revive
 * them) and stops tracking them. */
void gci_finalize_after_roots(void)
{
    pthread_mutex_lock(&fin_lock);
    struct weak **pp = &weaks;
    while (*pp) {
        struct weak *w = *pp;
        void *target = *w->link;
        struct span *s;
        size_t i;
        if (target && gci_mark_find((uintptr_t)target, &s, &i) &&
            !span_bit(s, BM_MARK, i)) {
            *w->link = NULL;
            *pp = w->next;
            w->next = spare_weaks;
            spare_weaks = w;
            continue;
        }
        pp = &w->next;
    }
    pthread_mutex_unlock(&fin_lock);
}

/* fork(): the child has no finalizer thread until it needs one. */
void gci_finalize_after_fork_child(void)
{
    pthread_mutex_init(&fin_lock, NULL);
    pthread_mutex_init(&wake_lock, NULL);
    pthread_cond_init(&fin_wake, NULL);
    thread_started = false;
}
