/* pool.c - a benchmark allocator that reuses large freed blocks. */
#define _DEFAULT_SOURCE /* madvise, posix_memalign */

#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>

#include "pool.h"
#include "refraft/refraft.h"

/* Blocks this large or larger are cached when freed; smaller ones are
 * cheap for malloc and are freed at once. */
#define LARGE_BLOCK (64 * 1024)
#define CACHE_MAX 16384
/* Blocks this large are aligned to, and advised into, transparent huge
 * pages: a fresh 2 MB page costs one fault instead of 512. */
#define HUGE_PAGE (2 * 1024 * 1024)

/* Every block starts with its capacity, padded to keep the user part
 * aligned for any object. */
typedef union header {
    size_t cap;
    max_align_t align;
} header;

static header *cache[CACHE_MAX];
static size_t n_cached;

static void *user_part(header *h)
{
    return h + 1;
}

static header *header_of(void *p)
{
    return (header *)p - 1;
}

/* The smallest cached block that holds size bytes, taken out of the
 * cache; NULL when none does. */
static header *take_cached(size_t size)
{
    size_t best = n_cached;
    for (size_t i = 0; i < n_cached; i++) {
        if (cache[i]->cap >= size &&
            (best == n_cached || cache[i]->cap < cache[best]->cap))
            best = i;
    }
    if (best == n_cached)
        return NULL;
    header *h = cache[best];
    cache[best] = cache[--n_cached];
    return h;
}

/* A new block from the system; huge ones on huge pages when the kernel
 * offers them (the advice is only a hint: without it, plain pages). */
static header *new_block(size_t size)
{
    if (size > SIZE_MAX - sizeof(header) - HUGE_PAGE)
        return NULL;
    size_t total = sizeof(header) + size;
    void *p = NULL;
    if (total < HUGE_PAGE) {
        p = malloc(total);
    } else {
        total = (total + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
        if (posix_memalign(&p, HUGE_PAGE, total) != 0)
            p = NULL;
#ifdef MADV_HUGEPAGE
        if (p != NULL)
            (void)madvise(p, total, MADV_HUGEPAGE);
#endif
    }
    header *h = p;
    if (h != NULL)
        h->cap = total - sizeof(header);
    return h;
}

static void *pool_malloc(void *ctx, size_t size)
{
    (void)ctx;
    header *h = size >= LARGE_BLOCK ? take_cached(size) : NULL;
    if (h == NULL)
        h = new_block(size);
    return h != NULL ? user_part(h) : NULL;
}

static void pool_free(void *ctx, void *p)
{
    (void)ctx;
    if (p == NULL)
        return;
    header *h = header_of(p);
    if (h->cap >= LARGE_BLOCK && n_cached < CACHE_MAX)
        cache[n_cached++] = h;
    else
        free(h);
}

/* Growing copies the whole old block: the pool does not know how much of
 * it is in use, and for the memlog's doubling arrays that is all of it. */
static void *pool_realloc(void *ctx, void *p, size_t size)
{
    if (p == NULL)
        return pool_malloc(ctx, size);
    header *h = header_of(p);
    if (size <= h->cap)
        return p;
    void *q = pool_malloc(ctx, size);
    if (q == NULL)
        return NULL;
    memcpy(q, p, h->cap);
    pool_free(ctx, p);
    return q;
}

void pool_install(void)
{
    refraft_allocator a = {NULL, pool_malloc, pool_realloc, pool_free};
    refraft_set_allocator(&a);
}

void pool_release(void)
{
    while (n_cached > 0)
        free(cache[--n_cached]);
}
