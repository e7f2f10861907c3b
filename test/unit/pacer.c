/*
 * pacer.c -- the pacer's pure rules and the option parsers it depends on:
 * the GOGC goal, the memory limit's goal, the choice between them with
 * its floor, the CPU limiter over simulated cycles, and the byte-size and
 * duration syntax of GCHEAP_MEMORY_LIMIT and GCHEAP_FORCE_PERIOD; and
 * the concurrent pacer (trigger, cons/mark, assist ratio) in simulation.
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

    /* A process that got only 1.2 of 2 CPUs (the machine shared): 7 ms
     * of collector time in each 10 ms is over half of what it had, so
     * the limiter engages, where the CPUs' wall time (20 ms) says 35%. */
    CHECK(!run(&l, 7, 10, 3));
    l = (struct gci_limiter){0, false};
    for (int i = 0; i < 1200; i++) /* 12 s; 2 ms a cycle fills 2 s */
        gci_limiter_update(&l, 7 * MS, gci_limiter_capacity(12 * MS, 10 * MS),
                           2);
    CHECK(l.on);
    /* An idle program (1 ms of CPU in 10 ms, all of it the collector's):
     * the wall time drains the bucket. */
    for (int i = 0; i < 300; i++)
        gci_limiter_update(&l, 1 * MS, gci_limiter_capacity(1 * MS, 10 * MS),
                           2);
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

/* ---- The concurrent pacer in simulation -------------------------------
 * A program on 2 CPUs with `live` bytes reachable (all of it scan work)
 * allocates `alloc_rate` bytes per second of its CPU; the collector scans
 * `mark_rate` bytes per CPU-second.  A cycle starts at the trigger; the
 * background worker has a quarter of the machine (half a CPU); while it
 * marks, every byte the program allocates owes assist_ratio bytes of
 * scanning, paid from the program's CPU, as barrier.c does.  The pacer's
 * estimate is the largest cons/mark of the last four cycles, as in
 * pacer.c. */
struct sim {
    double live, alloc_rate, mark_rate;
    int percent;
    double hist[4];
    double peak_over_goal; /* of the last cycle */
    double util;           /* the collector's CPU share while it marked */
    double worst;          /* largest peak/goal seen */
};

static void sim_cycle(struct sim *m)
{
    uint64_t live = (uint64_t)m->live;
    uint64_t goal = gci_pacer_gogc_goal(live, m->percent);
    double est = 0;
    for (int i = 0; i < 4; i++)
        est = m->hist[i] > est ? m->hist[i] : est;
    uint64_t trigger = gci_pacer_trigger(live, goal, est, live);
    CHECK(trigger >= live + (goal - live) * 69 / 100 &&
          trigger <= live + (goal - live) * 96 / 100);
    double heap = (double)trigger, done = 0, work = m->live, t = 0;
    double gc_cpu = 0, dt = 1e-4, bank = 0;
    while (done < work) {
        double ratio =
            gci_pacer_assist_ratio((uint64_t)work, (uint64_t)done,
                                   (uint64_t)heap, goal, (uint64_t)heap) /
            65536.0;
        /* The worker scans, and banks what it scans as credit; the
         * program (1.5 CPUs) allocates, paying what it owes from the bank
         * first and by scanning itself for the rest. */
        double bg = 0.5 * dt * m->mark_rate;
        bank += bg;
        double bytes = 1.5 * dt * m->alloc_rate, assist = 0;
        if (bytes * ratio <= bank) {
            bank -= bytes * ratio;
        } else {
            bytes = (1.5 * dt + bank / m->mark_rate) /
                    (1.0 / m->alloc_rate + ratio / m->mark_rate);
            assist = bytes * ratio - bank;
            bank = 0;
        }
        done += bg + assist;
        gc_cpu += 0.5 * dt + assist / m->mark_rate;
        heap += bytes;
        t += dt;
    }
    double util = gc_cpu / (2 * t);
    m->util = util;
    memmove(m->hist + 1, m->hist, 3 * sizeof m->hist[0]);
    m->hist[0] =
        gci_pacer_cons_mark((uint64_t)(heap - (double)trigger), live, util, 0);
    m->peak_over_goal = heap / (double)goal;
    if (m->peak_over_goal > m->worst)
        m->worst = m->peak_over_goal;
}

/* cons/mark = A (u + u_idle) / (W (1 - u)): idle marking counts on the
 * marking side only (the CPU was the program's to leave idle). */
static bool near(double x, double want)
{
    return x > want - 1e-9 && x < want + 1e-9;
}

static void test_cons_mark_idle(void)
{
    CHECK(near(gci_pacer_cons_mark(300 * MIB, 100 * MIB, 0.25, 0), 1.0));
    CHECK(near(gci_pacer_cons_mark(300 * MIB, 100 * MIB, 0.25, 0.5), 3.0));
    CHECK(near(gci_pacer_cons_mark(300 * MIB, 100 * MIB, 0, 0.5), 1.5));
    CHECK(gci_pacer_cons_mark(300 * MIB, 0, 0.25, 0.5) == 0);
    CHECK(gci_pacer_cons_mark(300 * MIB, 100 * MIB, 0, 0) == 0);
}

static void test_pacer_simulation(void)
{
    struct sim m = {.live = 64.0 * MIB,
                    .alloc_rate = 30e6,
                    .mark_rate = 500e6,
                    .percent = 100};
    /* Steady state: peak within 5% of the goal after 25 cycles. */
    for (int c = 0; c < 25; c++)
        sim_cycle(&m);
    for (int c = 0; c < 10; c++) {
        sim_cycle(&m);
        CHECKF(m.peak_over_goal >= 0.95 && m.peak_over_goal <= 1.05,
               "steady: peak/goal %.3f", m.peak_over_goal);
        /* ... reached by the trigger, not by assists: the collector keeps
         * to its quarter of the CPU */
        CHECKF(m.util < 0.27, "steady: collector CPU share %.3f", m.util);
    }
    /* The program allocates 3x faster: the assists hold the heap near the
     * goal at once, and the trigger moves earlier within a few cycles. */
    m.alloc_rate *= 3;
    m.worst = 0;
    for (int c = 0; c < 10; c++)
        sim_cycle(&m);
    CHECKF(m.worst <= 1.10, "rate step up: worst peak/goal %.3f", m.worst);
    CHECKF(m.peak_over_goal >= 0.95 && m.peak_over_goal <= 1.05,
           "after the step up: peak/goal %.3f", m.peak_over_goal);
    /* ... and back down: the estimate forgets the fast cycles. */
    m.alloc_rate /= 3;
    for (int c = 0; c < 10; c++)
        sim_cycle(&m);
    CHECKF(m.peak_over_goal >= 0.95 && m.peak_over_goal <= 1.05,
           "after the step down: peak/goal %.3f", m.peak_over_goal);
    CHECKF(m.util < 0.27, "after the step down: CPU share %.3f", m.util);
    /* GOGC changes: 50, then 200. */
    int percents[] = {50, 200};
    for (int k = 0; k < 2; k++) {
        m.percent = percents[k];
        m.worst = 0;
        for (int c = 0; c < 25; c++)
            sim_cycle(&m);
        CHECKF(m.worst <= 1.10, "GOGC %d: worst peak/goal %.3f", m.percent,
               m.worst);
        CHECKF(m.peak_over_goal >= 0.95 && m.peak_over_goal <= 1.05,
               "GOGC %d: peak/goal %.3f", m.percent, m.peak_over_goal);
    }
    /* The trigger stays within 70-95% of the runway whatever cons/mark. */
    CHECK(gci_pacer_trigger(100 * MIB, 200 * MIB, 0, 100 * MIB) ==
          100 * MIB + 95 * MIB);
    CHECK(gci_pacer_trigger(100 * MIB, 200 * MIB, 1e9, 100 * MIB) ==
          100 * MIB + 70 * MIB);
    CHECK(gci_pacer_trigger(0, UINT64_MAX, 1, 1) == UINT64_MAX);
    /* Assist ratio: work left over heap left; steeper past the goal. */
    CHECK(gci_pacer_assist_ratio(100, 50, 100 * MIB, 100 * MIB + 50 * 1024, 0) >
          0);
    CHECK(gci_pacer_assist_ratio(1000 * MIB, 500 * MIB, 100 * MIB, 200 * MIB,
                                 0) == 5 * 65536);
    CHECK(gci_pacer_assist_ratio(1, 1, 0, UINT64_MAX, 1) == 0);
}

int main(void)
{
    test_gogc_goal();
    test_limit_goal();
    test_choose();
    test_limiter();
    test_parse();
    test_cons_mark_idle();
    test_pacer_simulation();
    return check_done();
}
