/*
 * touch.c -- the machine's floor for a heap that grows: how long a first
 * touch of fresh memory takes, page by page.
 *
 * bench/latency's loop allocates 64 objects of 64 bytes an iteration,
 * 4 KiB: while a collected heap grows (from L MiB live to about 2L at
 * GOGC=100), most iterations touch one page the process never touched
 * before, and the kernel -- and, in a virtual machine, the host -- must
 * find, zero and map it.  glibc malloc's row in run-latency.sh does not
 * show that cost: it frees each object at once and reuses its memory.
 * This program touches M MiB (argv[1], default 2048) of fresh anonymous
 * memory a page at a time, small pages (MADV_NOHUGEPAGE), timing every
 * touch.  With N (argv[2]) above 0, a second thread meanwhile reads N MiB
 * of its own memory at random, a word at a time, as a concurrent marker
 * does on the other CPU while the program's heap grows.  One line:
 *   RESULT bench=touch mib=M reader_mib=N us_per_page=U max_us=G
 *          over_100us=A over_1ms=B stalled_1ms=C
 * (on one line): the mean and the longest touch, how many took over 100 us
 * and over 1 ms, and how many of those over 1 ms spent under half their
 * time on the CPU (the thread's CPU clock: time neither the program nor
 * the kernel on its behalf ran, as latency's `stalled` gaps).
 *
 * Usage: touch [MiB [reader MiB]]
 */
#define _GNU_SOURCE /* MADV_NOHUGEPAGE */

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static uint64_t now_ns(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static struct {
    uint64_t *words;
    size_t n;
    atomic_int started, stop;
    uint64_t sum; /* what it read: kept, so the reads are made */
} reader;

/* Reads reader.words at random (xorshift) until told to stop. */
static void *read_at_random(void *arg)
{
    (void)arg;
    uint64_t x = 88172645463325252u, sum = 0;
    atomic_store(&reader.started, 1);
    while (!atomic_load_explicit(&reader.stop, memory_order_relaxed))
        for (int k = 0; k < 4096; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            sum += reader.words[x % reader.n];
        }
    reader.sum = sum;
    return NULL;
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 2048;
    size_t reader_mib = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 0;
    size_t bytes = mib << 20, page = 4096;
    if (mib == 0) {
        fprintf(stderr, "usage: touch [MiB [reader MiB]]\n");
        return 2;
    }
    pthread_t rt;
    if (reader_mib) {
        reader.n = (reader_mib << 20) / sizeof(uint64_t);
        reader.words = malloc(reader.n * sizeof(uint64_t));
        if (!reader.words) {
            perror("touch: malloc");
            return 1;
        }
        memset(reader.words, 1, reader.n * sizeof(uint64_t));
        if (pthread_create(&rt, NULL, read_at_random, NULL) != 0) {
            fprintf(stderr, "touch: pthread_create failed\n");
            return 1;
        }
        while (!atomic_load(&reader.started))
            ;
    }
    volatile char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        perror("touch: mmap");
        return 1;
    }
    madvise((void *)p, bytes, MADV_NOHUGEPAGE);
    uint64_t longest = 0, over_100us = 0, over_1ms = 0, stalled = 0;
    uint64_t start = now_ns(CLOCK_MONOTONIC);
    for (size_t off = 0; off < bytes; off += page) {
        uint64_t w0 = now_ns(CLOCK_MONOTONIC);
        uint64_t c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
        p[off] = 1;
        uint64_t cpu = now_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
        uint64_t wall = now_ns(CLOCK_MONOTONIC) - w0;
        if (wall > longest)
            longest = wall;
        over_100us += wall > 100000;
        if (wall > 1000000) {
            over_1ms++;
            stalled += 2 * cpu < wall;
        }
    }
    double total = (double)(now_ns(CLOCK_MONOTONIC) - start);
    if (reader_mib) {
        atomic_store(&reader.stop, 1);
        pthread_join(rt, NULL);
    }
    printf("RESULT bench=touch mib=%zu reader_mib=%zu us_per_page=%.2f "
           "max_us=%" PRIu64 " over_100us=%" PRIu64 " over_1ms=%" PRIu64
           " stalled_1ms=%" PRIu64 "\n",
           mib, reader_mib, total / 1e3 / (double)(bytes / page),
           longest / 1000, over_100us, over_1ms, stalled);
    return reader.sum == 42; /* never: uses the sum */
}
