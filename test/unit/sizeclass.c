/* Unit test of the generated size-class table (src/sizeclass.c): the
 * alignment, monotonicity and waste rules of tools/mksizeclasses.py, the
 * division-free object index, and the request-to-class lookup. */
#include "../check.h"
#include "internal.h"

static void test_table_rules(void)
{
    CHECKF(GCI_NUM_CLASSES - 1 >= 60 && GCI_NUM_CLASSES - 1 <= 72, "%d classes",
           GCI_NUM_CLASSES - 1);
    CHECK(gci_class_bytes[1] == 8);
    CHECK(gci_class_bytes[GCI_NUM_CLASSES - 1] == GCI_MAX_SMALL);
    for (unsigned c = 1; c < GCI_NUM_CLASSES; c++) {
        size_t size = gci_class_bytes[c];
        size_t span = gci_class_pages[c] * GCI_PAGE_BYTES;
        CHECKF(size < 16 || size % 16 == 0, "class %u: %zu", c, size);
        CHECKF(c == 1 || size > gci_class_bytes[c - 1], "class %u", c);
        CHECKF(gci_class_objects[c] == span / size, "class %u", c);
        CHECKF((span % size) * 8 <= span, "class %u tail waste", c);
        CHECKF(gci_class_objects[c] <= GCI_MAX_OBJECTS, "class %u", c);
        CHECKF(gci_class_pages[c] <= 8, "class %u pages", c);
    }
}

static void test_magic_index(void)
{
    for (unsigned c = 1; c < GCI_NUM_CLASSES; c++) {
        size_t size = gci_class_bytes[c];
        size_t span = gci_class_pages[c] * GCI_PAGE_BYTES;
        size_t bad = 0;
        for (size_t off = 0; off < span; off++)
            bad += ((off * (uint64_t)gci_class_magic[c]) >> 32) != off / size;
        CHECKF(bad == 0, "class %u: %zu offsets misindexed", c, bad);
    }
}

static void test_lookup(void)
{
    for (size_t n = 0; n <= GCI_MAX_SMALL; n++) {
        unsigned c = size_class(n);
        size_t want = n ? n : 1;
        if (c < 1 || c >= GCI_NUM_CLASSES || gci_class_bytes[c] < want ||
            (c > 1 && gci_class_bytes[c - 1] >= want)) {
            CHECKF(0, "request %zu -> class %u", n, c);
            return;
        }
    }
    CHECK(1);
}

int main(void)
{
    test_table_rules();
    test_magic_index();
    test_lookup();
    return check_done();
}
