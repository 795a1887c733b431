/* queue.c - the benchmark's FIFO of message copies, buffers reused. */
#include <stdlib.h>
#include <string.h>

#include "msgcopy.h"
#include "queue.h"

#define INITIAL_SLOTS 64

int queue_init(queue *q)
{
    memset(q, 0, sizeof(*q));
    q->slots = calloc(INITIAL_SLOTS, sizeof(*q->slots));
    if (q->slots == NULL)
        return -1;
    q->cap = INITIAL_SLOTS;
    return 0;
}

void queue_free(queue *q)
{
    for (size_t i = 0; i < q->cap; i++)
        free(q->slots[i].buf);
    free(q->slots);
    memset(q, 0, sizeof(*q));
}

/* Double the ring, unrolling it so that the oldest slot comes first;
 * slots past the old ones start without buffers. */
static int grow(queue *q)
{
    queue_slot *slots = calloc(2 * q->cap, sizeof(*slots));
    if (slots == NULL)
        return -1;
    for (size_t i = 0; i < q->cap; i++)
        slots[i] = q->slots[(q->head + i) & (q->cap - 1)];
    free(q->slots);
    q->slots = slots;
    q->head = 0;
    q->cap *= 2;
    return 0;
}

int queue_push(queue *q, int to, const refraft_msg *msg)
{
    if (q->len == q->cap && grow(q) != 0)
        return -1;
    queue_slot *slot = &q->slots[(q->head + q->len) & (q->cap - 1)];
    size_t size = msgcopy_size(msg);
    if (size > slot->cap) {
        void *buf = realloc(slot->buf, size);
        if (buf == NULL)
            return -1;
        slot->buf = buf;
        slot->cap = size;
    }
    slot->to = to;
    slot->msg = msgcopy_pack(msg, slot->buf);
    q->len++;
    return 0;
}

queue_slot *queue_front(queue *q)
{
    return q->len > 0 ? &q->slots[q->head] : NULL;
}

void queue_pop(queue *q)
{
    q->head = (q->head + 1) & (q->cap - 1);
    q->len--;
}
