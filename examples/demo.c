/*
 * demo.c -- gcheap at work: a few hundred thousand objects of many sizes
 * allocated from four threads, linked into lists, checked, freed; then
 * the heap statistics.  `make demo` builds and runs it.
 */
#include "gcheap.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct node {
    struct node *next;
    uint32_t id;
    uint32_t len;
    unsigned char payload[];
};

enum { THREADS = 4, NODES = 100000 };

static struct node *make_list(uint32_t seed)
{
    struct node *head = NULL;
    for (uint32_t i = 0; i < NODES; i++) {
        uint32_t len = (seed + i * 2654435761u) % 200;
        struct node *n = gc_alloc(sizeof *n + len);
        if (!n)
            return head;
        n->id = i;
        n->len = len;
        memset(n->payload, (int)(i & 0xff), len);
        n->next = head;
        head = n;
    }
    return head;
}

/* Checks every payload, frees every node; returns the number of bad ones. */
static long check_and_free(struct node *n)
{
    long bad = 0;
    while (n) {
        struct node *next = n->next;
        for (uint32_t k = 0; k < n->len; k++)
            bad += n->payload[k] != (n->id & 0xff);
        bad += gc_size(n) < sizeof *n + n->len;
        gc_free(n);
        n = next;
    }
    return bad;
}

static void *worker(void *arg)
{
    uintptr_t seed = (uintptr_t)arg;
    long bad = 0;
    for (int round = 0; round < 3; round++)
        bad += check_and_free(make_list((uint32_t)(seed * 7919 + round)));
    return (void *)bad;
}

int main(void)
{
    gc_init();
    printf("gcheap %s: %d threads x 3 rounds x %d objects of 16-216 bytes\n",
           gc_version(), THREADS, NODES);
    pthread_t t[THREADS];
    for (uintptr_t i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    long bad = 0;
    for (int i = 0; i < THREADS; i++) {
        void *r;
        pthread_join(t[i], &r);
        bad += (long)r;
    }
    char *s = gc_strdup("hello from the gcheap heap");
    gc_stats st;
    gc_get_stats(&st);
    printf("%s: %zu usable bytes at %p\n", s, gc_size(s), (void *)s);
    printf("objects allocated %llu, freed %llu, live %llu\n",
           (unsigned long long)st.mallocs, (unsigned long long)st.frees,
           (unsigned long long)st.heap_objects);
    printf("heap from the OS %.1f MiB, in objects now %llu bytes\n",
           st.heap_sys / 1048576.0, (unsigned long long)st.heap_alloc);
    printf("%s\n", bad ? "CORRUPTION DETECTED" : "all payloads intact");
    return bad != 0;
}
