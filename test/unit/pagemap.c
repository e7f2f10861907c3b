/* Unit test of the page map: every page of an in-use span names it,
 * addresses outside the heap or past the address bits name nothing, and a
 * freed span's pages stop resolving. */
#include "../check.h"
#include "internal.h"

int main(void)
{
    gc_init();
    struct span *s = gci_mheap_alloc(20, 0, GCI_SCAN);
    REQUIRE(s != NULL);
    CHECK(s->start % GCI_PAGE_BYTES == 0);
    for (size_t i = 0; i < 20; i++) {
        uintptr_t p = s->start + i * GCI_PAGE_BYTES;
        CHECKF(pagemap_lookup(p) == s && span_of((void *)(p + 100)) == s,
               "page %zu", i);
    }
    CHECK(span_of((void *)(span_limit(s) - 1)) == s);
    CHECK(span_of((void *)span_limit(s)) != s);
    int local;
    CHECK(span_of(&local) == NULL);
    CHECK(span_of((void *)(uintptr_t)0x10) == NULL);
    CHECK(span_of((void *)~(uintptr_t)0) == NULL);
    CHECK(span_of((void *)((uintptr_t)1 << 50)) == NULL);
    uintptr_t start = s->start;
    gci_mheap_free(s);
    CHECK(span_of((void *)start) == NULL);
    CHECK(span_of((void *)(start + 5 * GCI_PAGE_BYTES)) == NULL);
    CHECK(gci_mheap_verify());
    return check_done();
}
