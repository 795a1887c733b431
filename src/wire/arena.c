/* arena.c - the memory an unpacked message lives in: a few large chunks
 * instead of one allocation per protobuf struct and bytes field, and a
 * few chunks kept between decodes. */
#include <pthread.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include "core/alloc.h"
#include "wire/internal.h"

struct wire_chunk {
    wire_chunk *next;
    size_t size; /* of data */
    size_t used;
    alignas(max_align_t) unsigned char data[];
};

/* An allocation this large gets a block of its own (on a->big), which
 * protobuf-c's free gives back at once: the tables it builds while it
 * scans a body of many entries, and freed, would otherwise stay in a
 * chunk as long as the message. */
#define WIRE_BIG ((size_t)64 << 10)
/* The smallest chunk made, and the smallest kept between decodes. */
#define WIRE_CHUNK_MIN ((size_t)4 << 10)
/* The largest first chunk: a larger body grows its arena by doubling. */
#define WIRE_FIRST_CHUNK_MAX ((size_t)4 << 20)

/*
 * Chunks kept for the next decode, at most WIRE_SPARE_BYTES of them.  A
 * follower decodes a body or two per AppendEntries, each chunk about
 * twice the body; freed, memory that large goes back to the kernel
 * (malloc unmaps it, or trims the heap), and the next body faults every
 * page in again.  Kept here it is written without a fault.  Shared by
 * every thread that decodes, under spare_lock.  refraft_set_allocator()
 * empties it first (wire_drop_spares); a message still decoded then
 * gives its chunks back later, through whichever allocator is set, so
 * free decoded messages before switching (docs/api.md).
 */
#define WIRE_SPARE_BYTES ((size_t)4 << 20)
static pthread_mutex_t spare_lock = PTHREAD_MUTEX_INITIALIZER;
static wire_chunk *spares;
static size_t spare_bytes;

/* The smallest kept chunk of at least min and at most max bytes, taken
 * from the list; NULL when there is none. */
static wire_chunk *take_spare(size_t min, size_t max)
{
    pthread_mutex_lock(&spare_lock);
    wire_chunk **best = NULL;
    for (wire_chunk **at = &spares; *at != NULL; at = &(*at)->next) {
        size_t size = (*at)->size;
        if (size >= min && size <= max &&
            (best == NULL || size < (*best)->size))
            best = at;
    }
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
    if (c->size < WIRE_CHUNK_MIN)
        return false;
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
    wire_chunk *list = spares;
    spares = NULL;
    spare_bytes = 0;
    pthread_mutex_unlock(&spare_lock);
    while (list != NULL) {
        wire_chunk *c = list;
        list = c->next;
        refraft_free(c);
    }
}

/* A block of size bytes from the allocator, or NULL. */
static wire_chunk *block(size_t size)
{
    if (size > SIZE_MAX - sizeof(wire_chunk))
        return NULL;
    wire_chunk *c = refraft_malloc(sizeof *c + size);
    if (c != NULL) {
        c->size = size;
        c->used = 0;
    }
    return c;
}

/* A chunk of want bytes (a kept one of up to max, if any), or of need
 * bytes when want cannot be had. */
static wire_chunk *new_chunk(size_t need, size_t want, size_t max)
{
    wire_chunk *c = take_spare(want, max);
    if (c != NULL) {
        c->used = 0;
        return c;
    }
    c = block(want);
    return c != NULL || want == need ? c : block(need);
}

/* need bytes (within the budget) from a's current chunk, or a new one;
 * NULL when the allocator says no.  The budget counts what is handed
 * out, not the chunks: the unused end of a chunk that could not take
 * an allocation is not counted, so the chunks may come to up to twice
 * the budget. */
static void *from_chunk(wire_arena *a, size_t need)
{
    wire_chunk *c = a->chunks;
    if (c == NULL || c->size - c->used < need) {
        /* next_size (at least WIRE_CHUNK_MIN), but not much more than
         * the budget still allows, and at least need. */
        size_t want =
            a->next_size < WIRE_CHUNK_MIN ? WIRE_CHUNK_MIN : a->next_size;
        if (want > a->left)
            want = a->left;
        if (want < need)
            want = need;
        c = new_chunk(need, want, 2 * want);
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
    if (need < WIRE_BIG)
        return from_chunk(a, need);
    /* Counted against the budget for good, even once freed: the budget
     * bounds what one decode asks for. */
    wire_chunk *b = block(need);
    if (b == NULL) {
        a->oom = true;
        return NULL;
    }
    b->next = a->big;
    a->big = b;
    a->left -= need;
    return b->data;
}

/* protobuf-c frees what it no longer needs: a block of its own goes back
 * now; what lies in a chunk goes with the arena. */
static void arena_free(void *data, void *ptr)
{
    wire_arena *a = data;
    for (wire_chunk **at = &a->big; *at != NULL; at = &(*at)->next)
        if ((*at)->data == ptr) {
            wire_chunk *b = *at;
            *at = b->next;
            refraft_free(b);
            return;
        }
}

ProtobufCAllocator
wire_arena_start(wire_arena *a, size_t budget, size_t first_chunk)
{
    if (first_chunk > WIRE_FIRST_CHUNK_MAX)
        first_chunk = WIRE_FIRST_CHUNK_MAX;
    *a = (wire_arena){NULL, NULL, budget, first_chunk, false, false};
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
    while (a->big != NULL) {
        wire_chunk *b = a->big;
        a->big = b->next;
        refraft_free(b);
    }
}
