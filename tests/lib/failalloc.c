/* failalloc.c - an allocator that fails the allocations a test names. */
#include <stdlib.h>

#include "failalloc.h"
#include "refraft/refraft.h"

/* Count this allocation; should it fail? */
static bool fails(failalloc *f)
{
    f->count++;
    if (f->fail_at == 0 || f->count < f->fail_at ||
        (f->count > f->fail_at && !f->fail_after))
        return false;
    f->fired = true;
    return true;
}

static void *fail_malloc(void *ctx, size_t size)
{
    return fails(ctx) ? NULL : malloc(size);
}

static void *fail_realloc(void *ctx, void *ptr, size_t size)
{
    return fails(ctx) ? NULL : realloc(ptr, size);
}

static void fail_free(void *ctx, void *ptr)
{
    (void)ctx;
    free(ptr);
}

static void install(failalloc *f, long n, bool fail_after)
{
    f->fail_at = n;
    f->fail_after = fail_after;
    f->count = 0;
    f->fired = false;
    refraft_allocator a = {f, fail_malloc, fail_realloc, fail_free};
    /* Refused only when one of the three functions is NULL. */
    if (refraft_set_allocator(&a) != 0)
        abort();
}

void failalloc_at(failalloc *f, long n)
{
    install(f, n, false);
}

void failalloc_from(failalloc *f, long n)
{
    install(f, n, true);
}

void failalloc_off(void)
{
    refraft_set_allocator(NULL);
}

long failalloc_sweep(void (*scenario)(void *arg), void *arg)
{
    long k;
    for (k = 1; k < 100000; k++) {
        failalloc f;
        failalloc_at(&f, k);
        scenario(arg);
        failalloc_off();
        if (!f.fired)
            break;
    }
    return k - 1;
}
