/* Unit test of two debug mechanisms of the marker: the work-list overflow
 * path (with the buffer pool shrunk to its minimum, a long list and a wide
 * tree must still be marked completely, through rescans) and the heap
 * verifier (a mark bit cleared on purpose after marking must be reported
 * as a black object pointing to a white one). */
#include "../check.h"
#include "internal.h"

struct node {
    struct node *next, *left, *right;
    uint64_t id, check;
};

static struct node *volatile list_root, *volatile tree_root;
static struct node **volatile wide_root; /* one object of many pointers */

static uint64_t sum_of(uint64_t id) { return id * 0x9e3779b97f4a7c15ull + 1; }

static struct node *node(uint64_t id)
{
    struct node *n = gc_alloc(sizeof *n);
    REQUIRE(n != NULL);
    n->id = id;
    n->check = sum_of(id);
    return n;
}

static struct node *tree(int depth, uint64_t *id)
{
    struct node *n = node((*id)++);
    if (depth > 0) {
        n->left = tree(depth - 1, id);
        n->right = tree(depth - 1, id);
    }
    return n;
}

static uint64_t check_tree(struct node *n)
{
    if (!n)
        return 0;
    uint64_t bad = n->check != sum_of(n->id) || gc_base(n) != n;
    return bad + check_tree(n->left) + check_tree(n->right);
}

__attribute__((noinline)) static void garbage(void)
{
    for (int i = 0; i < 200000; i++)
        ((volatile char *)gc_alloc(16 + i % 200))[0] = 1;
}

/* Many roots, default buffer pool: root marking fills whole buffers and
 * never overflows.  (It did while the idle-worker count of the previous
 * drain stayed up: every push split its buffer as if to feed an idle
 * worker, and 300,000 roots filled the pool with four-item buffers.) */
static void test_roots_do_not_overflow(void)
{
    gci_work_init(16384); /* the default, after test_overflow's 2 */
    enum { ROOTS = 300000 };
    struct node **roots = calloc(ROOTS, sizeof *roots);
    REQUIRE(roots != NULL);
    gc_add_roots(roots, roots + ROOTS); /* before: cycles run meanwhile */
    for (uint64_t i = 0; i < ROOTS; i++)
        roots[i] = node(5000000 + i);
    uint64_t before = at_load(&gci_mark_overflows);
    for (int round = 0; round < 3; round++)
        gc_collect();
    CHECKF(at_load(&gci_mark_overflows) == before,
           "%llu overflows while marking roots",
           (unsigned long long)(at_load(&gci_mark_overflows) - before));
    uint64_t bad = 0;
    for (uint64_t i = 0; i < ROOTS; i++)
        bad += roots[i]->check != sum_of(5000000 + i);
    CHECK(bad == 0);
    gc_remove_roots(roots, roots + ROOTS);
    free(roots);
}

static void test_overflow(void)
{
    gci_work_init(2);
    struct node *head = NULL;
    for (uint64_t i = 0; i < 100000; i++) {
        struct node *n = node(i);
        n->next = head;
        head = n;
    }
    list_root = head;
    head = NULL;
    uint64_t id = 0;
    tree_root = tree(14, &id);
    enum { WIDE = 50000 };
    struct node **wide = gc_alloc(WIDE * sizeof *wide);
    REQUIRE(wide != NULL);
    for (uint64_t i = 0; i < WIDE; i++) { /* the children are reached */
        wide[i] = node(1000000 + i);      /* only by scanning their parents */
        wide[i]->next = node(2000000 + i);
    }
    wide_root = wide;
    wide = NULL;
    uint64_t before = at_load(&gci_mark_overflows);
    for (int round = 0; round < 3; round++) {
        garbage();
        gc_collect();
    }
    CHECKF(at_load(&gci_mark_overflows) > before, "no overflow happened");
    uint64_t bad = 0, count = 0;
    for (struct node *n = list_root; n; n = n->next, count++)
        bad += n->check != sum_of(n->id) || gc_base(n) != n;
    CHECKF(bad == 0 && count == 100000, "list: %llu bad of %llu",
           (unsigned long long)bad, (unsigned long long)count);
    CHECKF(check_tree(tree_root) == 0, "tree damaged");
    bad = 0;
    for (uint64_t i = 0; i < WIDE; i++)
        bad += wide_root[i]->check != sum_of(1000000 + i) ||
               wide_root[i]->next->check != sum_of(2000000 + i) ||
               gc_base(wide_root[i]->next) != wide_root[i]->next;
    CHECKF(bad == 0, "wide: %llu bad", (unsigned long long)bad);
    list_root = tree_root = NULL;
    wide_root = NULL;
    gci_work_init(gci_opt_mark_buffers);
}

static struct node *volatile victim_parent;
static int verifier_reports;

static void plant_missed_mark(void)
{
    struct node *child = victim_parent->next;
    struct span *s = span_of(child);
    size_t i = span_index(s, (uintptr_t)child);
    at_store(span_bits(s, BM_MARK, i >> 6),
             at_load(span_bits(s, BM_MARK, i >> 6)) &
                 ~((uint64_t)1 << (i & 63)));
}

static void record(const char *msg)
{
    if (strstr(msg, "heap verifier"))
        verifier_reports++;
}

static void test_verifier_catches_missed_mark(void)
{
    victim_parent = node(1);
    victim_parent->next = node(2);
    gc_set_error_handler(record);
    gci_debug_after_mark = plant_missed_mark;
    gc_collect();
    gci_debug_after_mark = NULL;
    gc_set_error_handler(NULL);
    victim_parent = NULL; /* its child was swept: drop it unread */
    CHECKF(verifier_reports > 0, "the verifier missed a planted bug");
    int reports = verifier_reports;
    gc_collect();
    CHECKF(verifier_reports == reports, "reports on a sound heap");
}

int main(void)
{
    gc_init();
    if (GCHEAP_DEBUG < 2) {
        printf("skipped: needs GCHEAP_DEBUG >= 2\n");
        return 0;
    }
    test_overflow();
    test_roots_do_not_overflow();
    test_verifier_catches_missed_mark();
    return check_done();
}
