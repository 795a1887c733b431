/* net.c - the simulated network: messages in flight, faults, partitions. */
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "msgcopy.h"
#include "net.h"
#include "xalloc.h"

void net_init(net *n, int n_nodes, uint64_t seed)
{
    memset(n, 0, sizeof(*n));
    n->n_nodes = n_nodes;
    prng_seed(&n->rng, seed, 1);
    n->delay_min = 1;
    n->delay_max = 10;
}

void net_free(net *n)
{
    for (size_t i = 0; i < n->len; i++)
        net_packet_free(n->heap[i]);
    free(n->heap);
    n->heap = NULL;
    n->len = n->cap = 0;
}

void net_set_faults(net *n, uint32_t drop_pm, uint32_t dup_pm,
                    uint64_t delay_min, uint64_t delay_max)
{
    n->drop_pm = drop_pm;
    n->dup_pm = dup_pm;
    n->delay_min = delay_min;
    n->delay_max = delay_max;
}

static bool before(const net_packet *a, const net_packet *b)
{
    if (a->deliver_at != b->deliver_at)
        return a->deliver_at < b->deliver_at;
    return a->seq < b->seq;
}

static void swap(net_packet **heap, size_t i, size_t j)
{
    net_packet *t = heap[i];
    heap[i] = heap[j];
    heap[j] = t;
}

static void sift_up(net_packet **heap, size_t i)
{
    while (i > 0 && before(heap[i], heap[(i - 1) / 2])) {
        swap(heap, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void sift_down(net_packet **heap, size_t len, size_t i)
{
    for (;;) {
        size_t best = i;
        size_t l = 2 * i + 1;
        size_t r = l + 1;
        if (l < len && before(heap[l], heap[best]))
            best = l;
        if (r < len && before(heap[r], heap[best]))
            best = r;
        if (best == i)
            return;
        swap(heap, i, best);
        i = best;
    }
}

/* The packet header and the message copy share one allocation; the header
 * is padded so that the copy starts aligned for any object. */
static size_t header_size(void)
{
    size_t align = alignof(max_align_t);
    return (sizeof(net_packet) + align - 1) / align * align;
}

/* What a packet carries: a Raft message to copy, or bytes. */
typedef struct payload {
    const refraft_msg *msg;
    const void *data;
    size_t len;
    uint64_t extra; /* ms added to the drawn delay */
    uint64_t tag;
} payload;

/* msgcopy (tests/lib) copies a message deeply, everything it points to
 * included (entries, ids, members, snapshot refs): a message in flight
 * must own all of it, since its sender may crash and free everything
 * before it arrives. */
static void enqueue(net *n, int from, int to, const payload *pl, uint64_t now)
{
    size_t body = pl->msg != NULL ? msgcopy_size(pl->msg) : pl->len;
    net_packet *p = xmalloc(header_size() + body);
    char *at = (char *)p + header_size();
    p->msg = NULL;
    p->data = NULL;
    p->len = 0;
    if (pl->msg != NULL) {
        p->msg = msgcopy_pack(pl->msg, at);
    } else {
        memcpy(at, pl->data, pl->len);
        p->data = at;
        p->len = pl->len;
    }
    p->from = from;
    p->to = to;
    p->tag = pl->tag;
    p->seq = n->next_seq++;
    p->deliver_at =
        now + pl->extra + prng_range(&n->rng, n->delay_min, n->delay_max);
    n->heap = xgrow(n->heap, &n->cap, n->len + 1, sizeof(*n->heap));
    n->heap[n->len] = p;
    sift_up(n->heap, n->len++);
}

static void
send_payload(net *n, int from, int to, const payload *pl, uint64_t now)
{
    n->stats.sent++;
    if (!net_link_up(n, from, to) || prng_chance(&n->rng, n->drop_pm)) {
        n->stats.dropped++;
        return;
    }
    enqueue(n, from, to, pl, now);
    if (prng_chance(&n->rng, n->dup_pm)) {
        n->stats.duplicated++;
        enqueue(n, from, to, pl, now);
    }
}

void net_send(net *n, int from, int to, const refraft_msg *msg, uint64_t now,
              uint64_t tag)
{
    payload pl = {.msg = msg, .tag = tag};
    send_payload(n, from, to, &pl, now);
}

void net_send_data(net *n, int from, int to, const void *data, size_t len,
                   uint64_t now, uint64_t extra)
{
    payload pl = {.data = data, .len = len, .extra = extra};
    send_payload(n, from, to, &pl, now);
}

uint64_t net_next_time(const net *n)
{
    return n->len > 0 ? n->heap[0]->deliver_at : UINT64_MAX;
}

net_packet *net_pop(net *n)
{
    if (n->len == 0)
        return NULL;
    net_packet *p = n->heap[0];
    n->heap[0] = n->heap[--n->len];
    sift_down(n->heap, n->len, 0);
    return p;
}

void net_drop_to(net *n, int to)
{
    size_t kept = 0;
    for (size_t i = 0; i < n->len; i++) {
        if (n->heap[i]->to == to)
            net_packet_free(n->heap[i]);
        else
            n->heap[kept++] = n->heap[i];
    }
    n->len = kept;
    for (size_t i = n->len / 2 + 1; i-- > 0;)
        sift_down(n->heap, n->len, i);
}

void net_packet_free(net_packet *p)
{
    free(p);
}

bool net_link_up(const net *n, int from, int to)
{
    return !n->cut[from][to];
}

void net_partition(net *n, uint32_t group)
{
    for (int i = 0; i < n->n_nodes; i++) {
        for (int j = 0; j < n->n_nodes; j++) {
            bool in_i = (group >> i) & 1u;
            bool in_j = (group >> j) & 1u;
            if (in_i != in_j)
                n->cut[i][j] = true;
        }
    }
}

void net_cut_oneway(net *n, int from, int to)
{
    n->cut[from][to] = true;
}

void net_heal(net *n)
{
    memset(n->cut, 0, sizeof(n->cut));
}
