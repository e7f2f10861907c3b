/*
 * weak.c -- weak links (API.md, "Finalisation and weak references":
 * gc_weak_link sets *link = obj and the collector clears *link to NULL as
 * soon as obj is unreachable, before any finalizer of obj runs, even if
 * that finalizer revives it; the link must lie in unscanned memory;
 * gc_weak_unlink stops tracking; gc_weak_get reads NULL once cleared).
 *
 *  1. 1000 links in malloc memory to objects kept in a global array: after
 *     garbage and collections every link still reads its object.  Half the
 *     objects are dropped: >= 90% of their links read NULL, and every link
 *     of a kept object still reads it (and the object is intact).
 *  2. Links inside an atomic gc object (reachable from a global) work the
 *     same way.
 *  3. An object reachable only through another reachable object keeps its
 *     link.
 *  4. gc_weak_unlink: the collector no longer writes the link, whether it
 *     still holds the old pointer or something else; links unlinked and
 *     then freed with free() are never written again (ASan would see it).
 *  5. An object with a weak link and a finalizer: inside the finalizer,
 *     gc_weak_get(link) is already NULL; the finalizer revives the object,
 *     and the link stays NULL after more cycles while the object lives on.
 */
#include "../check.h"
#include "../../gcheap.h"
#include "gc_util.h"

#include <stdatomic.h>
#include <stdlib.h>

enum { N = 1000, NA = 200, NU = 500, NF = 300 };

void *objs[N];       /* roots */
void **atomic_links; /* an atomic gc object holding NA links */
void *aobjs[NA];
struct holder {
    void *child;
    uint64_t pay[3];
};
struct holder *gholder;

static void **links; /* malloc: unscanned */
static void **ulinks, **ulinks2;
static void **flinks;

static atomic_int fin_ran, fin_saw_link, fin_bad;
void *_Atomic fin_revived[NF];

static size_t osize(int i)
{
    return 16 + (size_t)(i % 11) * 16 + (i % 101 == 0 ? 50000 : 0);
}

__attribute__((noinline)) static void make_main(void)
{
    for (int i = 0; i < N; i++) {
        objs[i] = (i & 1) ? gc_alloc_atomic(osize(i)) : gc_alloc(osize(i));
        REQUIRE(objs[i] != NULL);
        gct_fill(objs[i], osize(i) / 8, (uint64_t)i);
        gc_weak_link(&links[i], objs[i]);
        CHECK(links[i] == objs[i]); /* *link = obj */
    }
    atomic_links = gc_alloc_atomic(NA * sizeof(void *));
    REQUIRE(atomic_links != NULL);
    for (int i = 0; i < NA; i++) {
        aobjs[i] = gc_alloc(64);
        REQUIRE(aobjs[i] != NULL);
        gct_fill(aobjs[i], 8, 5000u + (uint64_t)i);
        gc_weak_link(&atomic_links[i], aobjs[i]);
    }
}

static void **child_link;

__attribute__((noinline)) static void make_holder(void)
{
    gholder = gc_alloc(sizeof *gholder);
    REQUIRE(gholder != NULL);
    gholder->child = gc_alloc(100);
    REQUIRE(gholder->child != NULL);
    gct_fill(gholder->child, 12, 31337);
    gc_weak_link(child_link, gholder->child);
}

__attribute__((noinline)) static void make_unlinked(void)
{
    for (int i = 0; i < NU; i++) {
        void *p = gc_alloc(32);
        REQUIRE(p != NULL);
        gc_weak_link(&ulinks[i], p);
        gc_weak_unlink(&ulinks[i]);
        if (i & 1)
            ulinks[i] = (void *)(uintptr_t)(0x1000 + i); /* something else */
        /* even: still holds the old pointer (unscanned: the object is
         * garbage), which the collector must leave alone */
        void *q = gc_alloc(32);
        REQUIRE(q != NULL);
        gc_weak_link(&ulinks2[i], q);
        gc_weak_unlink(&ulinks2[i]);
    }
}

static void fin(void *obj, void *data)
{
    void **link = data; /* points into malloc memory: not a gc object */
    atomic_fetch_add(&fin_ran, 1);
    if (gc_weak_get(link) != NULL)
        atomic_fetch_add(&fin_saw_link, 1);
    uint64_t *o = obj;
    if (o[0] >= NF || gct_bad(o + 1, 7, o[0]) != 0) {
        atomic_fetch_add(&fin_bad, 1);
        return;
    }
    atomic_store(&fin_revived[o[0]], obj); /* revive */
}

__attribute__((noinline)) static void make_finalizable(void)
{
    for (int i = 0; i < NF; i++) {
        uint64_t *o = gc_alloc(64);
        REQUIRE(o != NULL);
        o[0] = (uint64_t)i;
        gct_fill(o + 1, 7, (uint64_t)i);
        gc_weak_link(&flinks[i], o);
        gc_set_finalizer(o, fin, &flinks[i]);
    }
}

__attribute__((noinline)) static void drop_half(void)
{
    for (int i = 0; i < N; i += 2)
        objs[i] = NULL;
    for (int i = 0; i < NA; i += 2)
        aobjs[i] = NULL;
}

int main(void)
{
    gc_init();
    links = calloc(N, sizeof *links);
    ulinks = calloc(NU, sizeof *ulinks);
    ulinks2 = calloc(NU, sizeof *ulinks2);
    flinks = calloc(NF, sizeof *flinks);
    child_link = calloc(1, sizeof *child_link);
    REQUIRE(links && ulinks && ulinks2 && flinks && child_link);

    /* 1-3 */
    make_main();
    make_holder();
    gct_churn(64u << 20, 4, 1);
    int wrong = 0;
    for (int i = 0; i < N; i++)
        wrong += gc_weak_get(&links[i]) != objs[i];
    CHECKF(wrong == 0, "%d links of reachable objects changed", wrong);
    wrong = 0;
    for (int i = 0; i < NA; i++)
        wrong += gc_weak_get(&atomic_links[i]) != aobjs[i];
    CHECKF(wrong == 0,
           "%d links (in an atomic object) of reachable objects changed",
           wrong);

    drop_half();
    gct_collect_clean(3);
    int cleared = 0, kept_wrong = 0, kept_bad = 0;
    for (int i = 0; i < N; i++) {
        void *p = gc_weak_get(&links[i]);
        if (i & 1) {
            kept_wrong += p != objs[i];
            kept_bad += gc_base(objs[i]) != objs[i] ||
                        gct_bad(objs[i], osize(i) / 8, (uint64_t)i) != 0;
        } else {
            cleared += p == NULL;
        }
    }
    CHECKF(cleared * 10 >= N / 2 * 9,
           "only %d of %d links of dropped objects cleared", cleared, N / 2);
    CHECKF(kept_wrong == 0, "%d links of kept objects changed", kept_wrong);
    CHECKF(kept_bad == 0, "%d kept objects corrupted", kept_bad);
    int acleared = 0, akept_wrong = 0;
    for (int i = 0; i < NA; i++) {
        void *p = gc_weak_get(&atomic_links[i]);
        if (i & 1)
            akept_wrong += p != aobjs[i];
        else
            acleared += p == NULL;
    }
    CHECKF(acleared * 10 >= NA / 2 * 9,
           "atomic object: only %d of %d links cleared", acleared, NA / 2);
    CHECKF(akept_wrong == 0, "atomic object: %d links of kept objects changed",
           akept_wrong);
    void *child = gc_weak_get(child_link);
    CHECK(child == gholder->child);
    CHECK(gct_bad(gholder->child, 12, 31337) == 0);

    /* 4. unlink */
    make_unlinked();
    void **freed = calloc(64, sizeof *freed);
    REQUIRE(freed != NULL);
    for (int i = 0; i < 64; i++) {
        void *p = gc_alloc(48);
        REQUIRE(p != NULL);
        gc_weak_link(&freed[i], p);
        gc_weak_unlink(&freed[i]);
    }
    free(freed);
    gct_collect_clean(3);
    gct_churn(16u << 20, 2, 2);
    int touched = 0;
    for (int i = 0; i < NU; i++)
        if ((i & 1) && ulinks[i] != (void *)(uintptr_t)(0x1000 + i))
            touched++;
    int nulled = 0;
    for (int i = 0; i < NU; i++)
        nulled += (ulinks2[i] == NULL) + ((i & 1) == 0 && ulinks[i] == NULL);
    CHECKF(touched == 0, "%d unlinked links were overwritten", touched);
    CHECKF(nulled == 0,
           "%d unlinked links (holding their old pointer) were cleared",
           nulled);

    /* 5. cleared before the finalizer runs, even when it revives */
    make_finalizable();
    gct_collect_clean(1);
    double t0 = gct_now();
    while (atomic_load(&fin_ran) < NF * 95 / 100 && gct_now() - t0 < 5.0) {
        gc_collect();
        gct_sleep_ms(10);
    }
    int fr = atomic_load(&fin_ran);
    CHECKF(fr * 10 >= NF * 9, "only %d of %d finalizers ran", fr, NF);
    CHECKF(atomic_load(&fin_saw_link) == 0,
           "%d finalizers saw their object's weak link still set",
           atomic_load(&fin_saw_link));
    CHECK(atomic_load(&fin_bad) == 0);
    gct_churn(16u << 20, 2, 3);
    int relinked = 0, revived_bad = 0, revived = 0;
    for (int i = 0; i < NF; i++) {
        uint64_t *o = atomic_load(&fin_revived[i]);
        if (o == NULL)
            continue;
        revived++;
        relinked += gc_weak_get(&flinks[i]) != NULL;
        revived_bad += gc_base(o) != o || o[0] != (uint64_t)i ||
                       gct_bad(o + 1, 7, (uint64_t)i) != 0;
    }
    CHECKF(relinked == 0, "%d links set again after their object was revived",
           relinked);
    CHECKF(revived_bad == 0, "%d revived objects freed or corrupted",
           revived_bad);
    printf("dropped %d/%d cleared, atomic %d/%d, finalized %d/%d, revived %d\n",
           cleared, N / 2, acleared, NA / 2, fr, NF, revived);
    return check_done();
}
