/*
 * pacer.c -- the pacer's pure rules and the option parsers it depends on:
 * the GOGC goal, the memory limit's goal, the choice between them with
 * its floor, the CPU limiter over simulated cycles, and the byte-size and
 * duration syntax of GCHEAP_MEMORY_LIMIT and GCHEAP_FORCE_PERIOD.
 */
#include "../check.h"
#include "internal.h"

#define MIB ((uint64_t)1 << 20)
#define MS ((uint64_t)1000000)

static void test_gogc_goal(void)
{
    CHECK(gci_pacer_gogc_goal(100 * MIB, 100) == 200 * MIB);
    CHECK(gci_pacer_gogc_goal(100 * MIB, 50) == 150 * MIB);
    CHECK(gci_pacer_gogc_goal(100 * MIB, 200) == 300 * MIB);
    CHECK(gci_pacer_gogc_goal(1 * MIB, 100) == 4 * MIB); /* the floor */
    CHECK(gci_pacer_gogc_goal(1 * MIB, 50) == 2 * MIB);
    CHECK(gci_pacer_gogc_goal(0, 0) == 0);
    CHECK(gci_pacer_gogc_goal(100 * MIB, -1) == UINT64_MAX);
    /* No overflow for large heaps. */
    CHECK(gci_pacer_gogc_goal((uint64_t)1 << 50, 100) == (uint64_t)1 << 51);
    CHECK(gci_pacer_gogc_goal((uint64_t)1 << 60, 2147483647) == UINT64_MAX / 2);
}

static void test_limit_goal(void)
{
    CHECK(gci_pacer_limit_goal(INT64_MAX, 0) == UINT64_MAX);
    /* 100 MiB limit, 10 MiB not objects, headroom 3 MiB + 1 MiB. */
    CHECK(gci_pacer_limit_goal(100 * MIB, 10 * MIB) ==
          100 * MIB - 10 * MIB - (100 * MIB / 100 * 3 + MIB));
    CHECK(gci_pacer_limit_goal(4 * MIB, 10 * MIB) == 0);
}

static void test_choose(void)
{
    /* The smaller of the two goals. */
    CHECK(gci_pacer_choose_goal(10 * MIB, 100, INT64_MAX, 0, false) ==
          20 * MIB);
    uint64_t lg = gci_pacer_limit_goal(16 * MIB, 0);
    CHECK(gci_pacer_choose_goal(10 * MIB, 100, 16 * MIB, 0, false) == lg);
    CHECK(gci_pacer_choose_goal(10 * MIB, -1, 16 * MIB, 0, false) == lg);
    CHECK(gci_pacer_choose_goal(10 * MIB, -1, INT64_MAX, 0, false) ==
          UINT64_MAX);
    /* Never at or below the live heap. */
    CHECK(gci_pacer_choose_goal(10 * MIB, 100, 4 * MIB, 0, false) == 11 * MIB);
    CHECK(gci_pacer_choose_goal(10 * MIB, 0, INT64_MAX, 0, false) == 11 * MIB);
    /* Limiter on: the limit is set aside; at least twice the live heap. */
    CHECK(gci_pacer_choose_goal(10 * MIB, 100, 4 * MIB, 0, true) == 20 * MIB);
    CHECK(gci_pacer_choose_goal(10 * MIB, 50, 4 * MIB, 0, true) == 20 * MIB);
    CHECK(gci_pacer_choose_goal(10 * MIB, 300, 4 * MIB, 0, true) == 40 * MIB);
    CHECK(gci_pacer_choose_goal(10 * MIB, -1, 4 * MIB, 0, true) == 20 * MIB);
    /* Without a limit the limiter changes nothing. */
    CHECK(gci_pacer_choose_goal(10 * MIB, 50, INT64_MAX, 0, true) == 15 * MIB);
}

/* Simulated cycles of `gc` ms collector CPU (both CPUs counted) every
 * `wall` ms on 2 CPUs, for `seconds`; returns the limiter's state. */
static bool run(struct gci_limiter *l, uint64_t gc, uint64_t wall,
                double seconds)
{
    for (double t = 0; t < seconds; t += wall / 1e3)
        gci_limiter_update(l, gc * MS, wall * 2 * MS, 2);
    return l->on;
}

static void test_limiter(void)
{
    struct gci_limiter l = {0, false};
    /* 40% of the CPU: never on. */
    CHECK(!run(&l, 8, 10, 10));
    CHECK(l.bucket == 0);
    /* 90%: on within about a second and a half, not within half a one. */
    CHECK(!run(&l, 18, 10, 0.5));
    CHECK(run(&l, 18, 10, 1.0));
    /* Stays on while the collector keeps over half. */
    CHECK(run(&l, 12, 10, 5));
    /* Back to 20%: off again at once (the bucket is no longer full), and
     * empty within a second or so. */
    CHECK(!run(&l, 4, 10, 0.05));
    run(&l, 4, 10, 2);
    CHECK(l.bucket == 0 && !l.on);
}

static void test_parse(void)
{
    uint64_t v = 1;
    CHECK(!gci_parse_bytes("0", &v) && v == 0);
    CHECK(!gci_parse_bytes("1000", &v) && v == 1000);
    CHECK(!gci_parse_bytes("12B", &v) && v == 12);
    CHECK(!gci_parse_bytes("3KiB", &v) && v == 3072);
    CHECK(!gci_parse_bytes("512MiB", &v) && v == 512 * MIB);
    CHECK(!gci_parse_bytes("2GiB", &v) && v == 2048 * MIB);
    CHECK(!gci_parse_bytes("1TiB", &v) && v == (uint64_t)1 << 40);
    CHECK(gci_parse_bytes("", &v) != NULL);
    CHECK(gci_parse_bytes("MiB", &v) != NULL);
    CHECK(gci_parse_bytes("-5", &v) != NULL);
    CHECK(gci_parse_bytes("5 MiB", &v) != NULL);
    CHECK(gci_parse_bytes("5MB", &v) != NULL);
    CHECK(gci_parse_bytes("9000000TiB", &v) != NULL);
    CHECK(gci_parse_bytes("99999999999999999999", &v) != NULL);

    CHECK(!gci_parse_duration("300ms", &v) && v == 300 * MS);
    CHECK(!gci_parse_duration("30s", &v) && v == 30000 * MS);
    CHECK(!gci_parse_duration("2m", &v) && v == 120000 * MS);
    CHECK(!gci_parse_duration("off", &v) && v == 0);
    CHECK(!gci_parse_duration("0", &v) && v == 0);
    CHECK(gci_parse_duration("300", &v) != NULL); /* a unit is required */
    CHECK(gci_parse_duration("5h", &v) != NULL);
    CHECK(gci_parse_duration("ms", &v) != NULL);
    CHECK(gci_parse_duration("-1s", &v) != NULL);
}

int main(void)
{
    test_gogc_goal();
    test_limit_goal();
    test_choose();
    test_limiter();
    test_parse();
    return check_done();
}
