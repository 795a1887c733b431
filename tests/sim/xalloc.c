/* xalloc.c - allocation for the simulator: a test tool stops on OOM. */
#include <stdio.h>
#include <stdlib.h>

#include "xalloc.h"

static void out_of_memory(size_t size)
{
    fprintf(stderr, "refraft-sim: out of memory (%zu bytes)\n", size);
    exit(2);
}

void *xmalloc(size_t size)
{
    void *p = malloc(size > 0 ? size : 1);
    if (p == NULL)
        out_of_memory(size);
    return p;
}

void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count > 0 ? count : 1, size > 0 ? size : 1);
    if (p == NULL)
        out_of_memory(count * size);
    return p;
}

void *xgrow(void *buf, size_t *cap, size_t need, size_t elem_size)
{
    if (need <= *cap)
        return buf;
    size_t n = *cap > 0 ? *cap : 16;
    while (n < need)
        n *= 2;
    void *p = realloc(buf, n * elem_size);
    if (p == NULL)
        out_of_memory(n * elem_size);
    *cap = n;
    return p;
}
