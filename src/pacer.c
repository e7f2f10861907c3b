/*
 * pacer.c -- when the next cycle starts (Go's GOGC rule).
 *
 * After a cycle that found `live` bytes reachable, the heap goal is
 *     goal = live * (1 + percent / 100),  at least 4 MiB * percent / 100,
 * and with the world stopped for the whole mark the cycle is triggered
 * when the pacer's heap (gci_heap_alloc: the bytes the last cycle marked,
 * plus what was allocated since, less what gc_free freed -- Go's heapLive;
 * sweeping does not lower it) reaches the goal.  A negative percent turns
 * automatic cycles off. The concurrent collector will start earlier, from the
 * measured ratio of allocation to marking work (issue "Concurrent marking").
 *
 * Owns: percent, the last live size, the goal; the trigger is gci_trigger.
 * Concurrency: all atomic words; gc_set_percent may race a cycle's end,
 * and whichever writes the trigger last is from a consistent goal.
 */
#include "internal.h"

#define MIN_GOAL_BYTES ((uint64_t)4 << 20)

AO_t gci_trigger = MIN_GOAL_BYTES;
static AO_t percent = 100; /* an int, stored as size_t */
static AO_t last_live;
static AO_t goal = MIN_GOAL_BYTES;

int gci_pacer_percent(void) { return (int)(ptrdiff_t)at_load(&percent); }

uint64_t gci_pacer_goal(uint64_t live)
{
    int p = gci_pacer_percent();
    if (p < 0)
        return UINT64_MAX;
    uint64_t g = live + live / 100 * (uint64_t)p + live % 100 * p / 100;
    uint64_t floor = MIN_GOAL_BYTES / 100 * (uint64_t)p;
    return g > floor ? g : floor;
}

static void set_goal(uint64_t live)
{
    uint64_t g = gci_pacer_goal(live);
    at_store(&goal, g);
    at_store(&gci_trigger, g);
}

void gci_pacer_cycle_done(uint64_t live)
{
    at_store(&last_live, live);
    set_goal(live);
}

uint64_t gci_pacer_heap_goal(void) { return at_load(&goal); }

int gci_pacer_set_percent(int p)
{
    int old = (int)(ptrdiff_t)at_load(&percent);
    at_store(&percent, (size_t)(ptrdiff_t)p);
    set_goal(at_load(&last_live));
    return old;
}

GCI_API int gc_set_percent(int p)
{
    init_once();
    return gci_pacer_set_percent(p);
}
