/* alloc.h - the library's allocation hooks (see refraft_set_allocator). */
#ifndef REFRAFT_CORE_ALLOC_H
#define REFRAFT_CORE_ALLOC_H

#include <stddef.h>

/* All return NULL on failure (or for a zero-size request) and change
 * nothing; refraft_free(NULL) does nothing. */
void *refraft_malloc(size_t size);
void *refraft_calloc(size_t count, size_t size);
void *refraft_realloc(void *ptr, size_t size);
void refraft_free(void *ptr);

/* Grow *buf (elements of elem_size, capacity *cap) to hold at least need
 * elements, doubling; returns 0 or -1 on overflow or allocation failure, in
 * which case *buf and *cap are unchanged. */
int refraft_grow(void **buf, size_t *cap, size_t need, size_t elem_size);

/* Free the chunks the wire decoder keeps between decodes
 * (src/wire/arena.c): refraft_set_allocator() calls it before it
 * switches, so that no kept chunk is freed by another allocator than
 * the one that gave it. */
void wire_drop_spares(void);

#endif /* REFRAFT_CORE_ALLOC_H */
