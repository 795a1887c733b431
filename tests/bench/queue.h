/* queue.h - the benchmark's FIFO of message copies, buffers reused. */
#ifndef REFRAFT_BENCH_QUEUE_H
#define REFRAFT_BENCH_QUEUE_H

#include <stddef.h>

#include "refraft/refraft.h"

/* One queued message.  buf is kept when the slot is reused, so that in
 * steady state copying a message allocates nothing. */
typedef struct queue_slot {
    int to;
    refraft_msg *msg; /* points into buf */
    void *buf;
    size_t cap;
} queue_slot;

/* A ring of slots; it doubles when full (never in steady state: the
 * number of messages in flight is bounded by the pipeline). */
typedef struct queue {
    queue_slot *slots;
    size_t cap; /* a power of two */
    size_t head;
    size_t len;
} queue;

/* Returns 0 or -1 when memory runs out (the queue is then empty). */
int queue_init(queue *q);
void queue_free(queue *q);

/* Copy msg for node to.  Returns 0 or -1 when memory runs out (nothing
 * queued). */
int queue_push(queue *q, int to, const refraft_msg *msg);

/* The oldest message, or NULL.  The slot pointer is valid until the next
 * push; the message it holds stays valid until queue_pop(), which is why
 * a message is popped only after it was delivered (delivering it pushes
 * the answers). */
queue_slot *queue_front(queue *q);
void queue_pop(queue *q);

#endif /* REFRAFT_BENCH_QUEUE_H */
