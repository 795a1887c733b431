/* alloc.c - allocation through the hooks set by refraft_set_allocator(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "refraft/refraft.h"

static void *default_malloc(void *ctx, size_t size)
{
    (void)ctx;
    return malloc(size);
}

static void *default_realloc(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    return realloc(ptr, size);
}

static void default_free(void *ctx, void *ptr)
{
    (void)ctx;
    free(ptr);
}

static const refraft_allocator default_allocator = {
    NULL, default_malloc, default_realloc, default_free};

static refraft_allocator current = {NULL, default_malloc, default_realloc,
                                    default_free};

int refraft_set_allocator(const refraft_allocator *alloc)
{
    if (alloc != NULL && (alloc->malloc == NULL || alloc->realloc == NULL ||
                          alloc->free == NULL))
        return REFRAFT_EINVAL;
    wire_drop_spares();
    current = alloc != NULL ? *alloc : default_allocator;
    return 0;
}

void *refraft_malloc(size_t size)
{
    return size == 0 ? NULL : current.malloc(current.ctx, size);
}

void *refraft_calloc(size_t count, size_t size)
{
    if (count == 0 || size == 0 || count > SIZE_MAX / size)
        return NULL;
    void *p = current.malloc(current.ctx, count * size);
    if (p != NULL)
        memset(p, 0, count * size);
    return p;
}

void *refraft_realloc(void *ptr, size_t size)
{
    return size == 0 ? NULL : current.realloc(current.ctx, ptr, size);
}

void refraft_free(void *ptr)
{
    if (ptr != NULL)
        current.free(current.ctx, ptr);
}

int refraft_grow(void **buf, size_t *cap, size_t need, size_t elem_size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap > 0 ? *cap : 16;
    while (n < need) {
        if (n > SIZE_MAX / 2)
            return -1;
        n *= 2;
    }
    if (n > SIZE_MAX / elem_size)
        return -1;
    void *p = refraft_realloc(*buf, n * elem_size);
    if (p == NULL)
        return -1;
    *buf = p;
    *cap = n;
    return 0;
}
