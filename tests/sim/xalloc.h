/* xalloc.h - allocation for the simulator: a test tool stops on OOM. */
#ifndef REFRAFT_SIM_XALLOC_H
#define REFRAFT_SIM_XALLOC_H

#include <stddef.h>

/* Like malloc, calloc and realloc, but print a message and exit(2) when
 * memory runs out: a simulation that lost an allocation cannot go on
 * meaningfully, and no caller would do anything else. */
void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);

/* Grow buf (elements of elem_size, capacity *cap) to hold at least need
 * elements, doubling; returns the (possibly moved) buffer. */
void *xgrow(void *buf, size_t *cap, size_t need, size_t elem_size);

#endif /* REFRAFT_SIM_XALLOC_H */
