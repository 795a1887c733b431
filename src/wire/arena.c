/* arena.c - the memory an unpacked message lives in: a few large chunks
 * instead of one allocation per protobuf struct and bytes field, and a
 * few chunks kept between decodes. */
#include <pthread.h>
#include <stdalign.h>
#include <stddef.h>

#include "core/alloc.h"
#include "wire/internal.h"

struct wire_chunk {
    wire_chunk *next;
    size_t size; /* of data */
    size_t used;
    alignas(max_align_t) unsigned char data[];
};

/*
 * Chunks kept for the next decode, at most WIRE_SPARE_BYTES of them.  A
 * follower decodes a body or two per AppendEntries, each chunk about
 * twice the body; freed, memory that large goes back to the kernel
 * (malloc unmaps it, or trims the heap), and the next body faults every
 * page in again.  Kept here it is written without a fault.  Shared by
 * every thread that decodes, under spare_lock; refraft_set_allocator()
 * empties it first (wire_drop_spares), so no chunk outlives the
 * allocator that made it.
 */
#define WIRE_SPARE_BYTES ((size_t)4 << 20)
static pthread_mutex_t spare_lock = PTHREAD_MUTEX_INITIALIZER;
static wire_chunk *spares;
static size_t spare_bytes;

/* The smallest kept chunk of at least n bytes, taken from the list; NULL
 * when none is that large. */
static wire_chunk *take_spare(size_t n)
{
    pthread_mutex_lock(&spare_lock);
    wire_chunk **best = NULL;
    for (wire_chunk **at = &spares; *at != NULL; at = &(*at)->next)
        if ((*at)->size >= n && (best == NULL || (*at)->size < (*best)->size))
            best = at;
    wire_chunk *c = NULL;
    if (best != NULL) {
        c = *best;
        *best = c->next;
        spare_bytes -= c->size;
    }
    pthread_mutex_unlock(&spare_lock);
    return c;
}

/* Keep c for a later decode when there is room; true if kept. */
static bool keep_spare(wire_chunk *c)
{
    pthread_mutex_lock(&spare_lock);
    bool keep = c->size <= WIRE_SPARE_BYTES - spare_bytes;
    if (keep) {
        c->next = spares;
        spares = c;
        spare_bytes += c->size;
    }
    pthread_mutex_unlock(&spare_lock);
    return keep;
}

void wire_drop_spares(void)
{
    pthread_mutex_lock(&spare_lock);
    while (spares != NULL) {
        wire_chunk *c = spares;
        spares = c->next;
        refraft_free(c);
    }
    spare_bytes = 0;
    pthread_mutex_unlock(&spare_lock);
}

/* A chunk of at least n bytes: a kept one, or a new one. */
static wire_chunk *new_chunk(size_t n)
{
    wire_chunk *c = take_spare(n);
    if (c == NULL) {
        if (n > SIZE_MAX - sizeof *c)
            return NULL;
        c = refraft_malloc(sizeof *c + n);
        if (c == NULL)
            return NULL;
        c->size = n;
    }
    c->used = 0;
    return c;
}

static void *arena_alloc(void *data, size_t size)
{
    wire_arena *a = data;
    /* Whole units of the strictest alignment, so every allocation starts
     * aligned; protobuf-c never asks for 0 bytes, but NULL would read as
     * a failure. */
    size_t unit = alignof(max_align_t);
    size_t need = size > 0 ? (size + unit - 1) / unit * unit : unit;
    if (need < size || need > a->left) {
        a->over = true;
        return NULL;
    }
    wire_chunk *c = a->chunks;
    if (c == NULL || c->size - c->used < need) {
        /* next_size, or more for a large allocation, and never much more
         * than the budget still allows. */
        size_t n = a->next_size < a->left ? a->next_size : a->left;
        c = new_chunk(n > need ? n : need);
        if (c == NULL) {
            a->oom = true;
            return NULL;
        }
        c->next = a->chunks;
        a->chunks = c;
        a->next_size = 2 * c->size;
    }
    void *p = c->data + c->used;
    c->used += need;
    a->left -= need;
    return p;
}

/* What protobuf-c frees goes with the arena. */
static void arena_free(void *data, void *ptr)
{
    (void)data;
    (void)ptr;
}

ProtobufCAllocator
wire_arena_start(wire_arena *a, size_t budget, size_t first_chunk)
{
    *a = (wire_arena){NULL, budget, first_chunk, false, false};
    return (ProtobufCAllocator){arena_alloc, arena_free, a};
}

void wire_arena_free(wire_arena *a)
{
    while (a->chunks != NULL) {
        wire_chunk *c = a->chunks;
        a->chunks = c->next;
        if (!keep_spare(c))
            refraft_free(c);
    }
}
