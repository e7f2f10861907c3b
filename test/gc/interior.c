/*
 * interior.c -- interior pointers keep objects alive (API.md,
 * "Reachability": an object stays alive while any word in a root or a
 * reachable scanned object holds an address anywhere in
 * [base, base + gc_size(base))).
 *
 * Objects of many sizes (16 B to 1 MiB: small size classes and large
 * objects) are referenced only by a pointer to their middle, to the last
 * requested byte, or to the last usable byte (base + gc_size - 1), held in
 * a global array; their true addresses are kept disguised.  A chain whose
 * links each point into the middle of the next node is reachable only
 * through an interior pointer to its head.  After 96 MiB of garbage and
 * collections: gc_base(interior) is the object's start, gc_size covers the
 * request, and every payload word is intact.
 */
#include "../check.h"
#include "../../gcheap.h"
#include "gc_util.h"

enum { NSIZE = 15, KINDS = 3, N = NSIZE * KINDS * 4, NCHAIN = 2000 };

static const size_t sizes[NSIZE] = {16,    24,    48,    80,     128,
                                    512,   1008,  2048,  4096,   8192,
                                    20000, 32768, 40000, 300000, 1 << 20};

char *interior[N];          /* the only references: a root */
static uintptr_t hidden[N]; /* the object starts, disguised */
#define HIDE(p) ((uintptr_t)(p) ^ 0xA5A5A5A5A5A5A5A5ull)
#define UNHIDE(u) ((char *)((u) ^ 0xA5A5A5A5A5A5A5A5ull))

static size_t size_of(int i) { return sizes[(i / (KINDS * 4)) % NSIZE]; }

static size_t offset_for(int i, char *p)
{
    size_t size = size_of(i);
    switch (i % KINDS) {
    case 0:
        return size / 2 + 3; /* the middle, unaligned */
    case 1:
        return size - 1; /* the last requested byte */
    default:
        return gc_size(p) - 1; /* the last usable byte */
    }
}

struct link {
    uint64_t pay[3];
    char *next_mid; /* points to the middle of the next node */
    uint64_t pay2[4];
};
char *chain_mid; /* interior pointer to the head of the chain */

__attribute__((noinline)) static void create(void)
{
    for (int i = 0; i < N; i++) {
        size_t size = size_of(i);
        char *p = (i & 4) ? gc_alloc_atomic(size) : gc_alloc(size);
        REQUIRE(p != NULL);
        gct_fill(p, size / 8, (uint64_t)i + 1);
        hidden[i] = HIDE(p);
        interior[i] = p + offset_for(i, p);
    }
    char *next = NULL;
    for (int i = 0; i < NCHAIN; i++) {
        struct link *l = gc_alloc(sizeof *l);
        REQUIRE(l != NULL);
        gct_fill(l->pay, 3, 50000u + (uint64_t)i);
        gct_fill(l->pay2, 4, 60000u + (uint64_t)i);
        l->next_mid = next;
        next = (char *)l + sizeof *l / 2;
    }
    chain_mid = next;
}

__attribute__((noinline)) static void verify(void)
{
    int lost = 0, bad = 0;
    for (int i = 0; i < N; i++) {
        char *p = UNHIDE(hidden[i]);
        size_t size = size_of(i);
        if (gc_base(interior[i]) != p) {
            fprintf(stderr,
                    "object %d (size %zu, offset %td): gc_base %p, want %p\n",
                    i, size, interior[i] - p, gc_base(interior[i]), (void *)p);
            lost++;
            continue;
        }
        CHECKF(gc_size(p) >= size, "object %d: gc_size %zu < %zu", i,
               gc_size(p), size);
        CHECK(gc_size(interior[i]) == gc_size(p));
        bad += gct_bad(p, size / 8, (uint64_t)i + 1) != 0;
    }
    CHECKF(lost == 0, "%d objects held by interior pointers were lost", lost);
    CHECKF(bad == 0, "%d objects corrupted", bad);

    int count = 0, chain_bad = 0;
    for (char *m = chain_mid; m != NULL && count <= NCHAIN; count++) {
        struct link *l = (struct link *)(m - sizeof(struct link) / 2);
        int i = NCHAIN - 1 - count;
        if (gc_base(m) != l) {
            chain_bad++;
            break;
        }
        chain_bad += gct_bad(l->pay, 3, 50000u + (uint64_t)i) != 0 ||
                     gct_bad(l->pay2, 4, 60000u + (uint64_t)i) != 0;
        m = l->next_mid;
    }
    CHECKF(chain_bad == 0, "interior-linked chain: %d bad nodes", chain_bad);
    CHECKF(count == NCHAIN, "interior-linked chain: %d nodes, want %d", count,
           NCHAIN);
}

int main(void)
{
    gc_init();
    create();
    gct_churn(96u << 20, 6, 1);
    verify();
    gct_churn(32u << 20, 3, 2);
    verify();
    return check_done();
}
