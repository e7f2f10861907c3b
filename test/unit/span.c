/* Unit test of one span's bitmaps: priming the alloc cache word by word,
 * the mask of a last partial word, draining freed bits, counting, and the
 * address <-> index mapping for every object of every class. */
#include "../check.h"
#include "internal.h"

static void test_prime_and_masks(void)
{
    unsigned cls = size_class(48); /* 170 objects: 3 words, last of 42 */
    struct span *s = gci_mheap_alloc(gci_class_pages[cls], cls, GCI_SCAN);
    REQUIRE(s != NULL);
    CHECK(s->nelems == 170 && s->nwords == 3);
    CHECK(span_word_mask(s, 2) == ((uint64_t)1 << 42) - 1);
    CHECK(gci_span_prime(s, 0) && s->freeindex == 0 && s->alloc_cache == ~0ull);
    at_store(span_bits(s, BM_ALLOC, 0), ~(uint64_t)0);
    at_store(span_bits(s, BM_ALLOC, 1), ~(uint64_t)0 ^ 0x10);
    CHECK(gci_span_prime(s, 0) && s->freeindex == 64 && s->alloc_cache == 0x10);
    CHECK(gci_span_prime(s, 2) && s->alloc_cache == ((uint64_t)1 << 42) - 1);
    at_store(span_bits(s, BM_ALLOC, 1), ~(uint64_t)0);
    at_store(span_bits(s, BM_ALLOC, 2), ((uint64_t)1 << 42) - 1);
    CHECK(!gci_span_prime(s, 0) && s->alloc_cache == 0);
    CHECK(gci_span_count_alloc(s) == 170);
    at_store(span_bits(s, BM_FREED, 0), 0x5);
    at_store(span_bits(s, BM_FREED, 2), (uint64_t)1 << 41);
    CHECK(gci_span_drain(s) == 3);
    CHECK(gci_span_count_alloc(s) == 167);
    CHECK(!span_bit(s, BM_ALLOC, 0) && span_bit(s, BM_ALLOC, 1));
    CHECK(!span_bit(s, BM_ALLOC, 2) && !span_bit(s, BM_ALLOC, 169));
    CHECK(at_load(span_bits(s, BM_FREED, 0)) == 0 &&
          at_load(span_bits(s, BM_FREED, 2)) == 0);
    CHECK(gci_span_prime(s, 0) && s->alloc_cache == 0x5);
    memset(s->bits, 0, 3 * s->nwords * sizeof(AO_t));
    gci_mheap_free(s);
}

static void test_index_every_class(void)
{
    for (unsigned cls = 1; cls < GCI_NUM_CLASSES; cls++) {
        struct span *s = gci_mheap_alloc(gci_class_pages[cls], cls, GCI_NOSCAN);
        REQUIRE(s != NULL);
        size_t bad = 0;
        for (size_t i = 0; i < s->nelems; i++) {
            uintptr_t obj = span_object(s, i);
            bad += span_index(s, obj) != i;
            bad += span_index(s, obj + s->elemsize - 1) != i;
            bad += obj % (s->elemsize >= 16 ? 16 : 8) != 0;
        }
        bad += span_index(s, span_limit(s) - 1) < s->nelems &&
               span_object(s, s->nelems) < span_limit(s) &&
               span_index(s, span_object(s, s->nelems)) != s->nelems;
        CHECKF(bad == 0, "class %u: %zu bad", cls, bad);
        gci_mheap_free(s);
    }
}

int main(void)
{
    gc_init();
    test_prime_and_masks();
    test_index_every_class();
    CHECK(gci_mheap_verify() && gci_mcentral_verify());
    return check_done();
}
