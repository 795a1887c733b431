/* bench_cluster.c - the benchmark's in-process 3-node cluster. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_cluster.h"

#define ELECTION_TIMEOUT_MS 1000
#define ELECTION_TICKS_MAX 1000

static int send_msg(void *ctx, const char *to_id, const refraft_msg *msg)
{
    bench_node *bn = ctx;
    int to = to_id[0] == 'b' && to_id[2] == '\0' ? to_id[1] - '1' : -1;
    if (to < 0 || to >= BENCH_NODES)
        return REFRAFT_EUNKNOWNPEER;
    return queue_push(&bn->bc->q, to, msg) == 0 ? 0 : REFRAFT_ENOMEM;
}

static uint64_t now_ms(void *ctx)
{
    bench_node *bn = ctx;
    return bn->bc->now;
}

/* xorshift64: the benchmark needs varied timeouts, not good randomness. */
static uint64_t random_bits(void *ctx)
{
    bench_node *bn = ctx;
    uint64_t x = bn->bc->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    bn->bc->rng = x;
    return x;
}

static int apply(void *ctx, refraft_index index, const refraft_entry *entry)
{
    (void)index;
    (void)entry;
    bench_node *bn = ctx;
    bn->applied++;
    return 0;
}

static void on_event(void *ctx, const refraft_event *ev)
{
    bench_node *bn = ctx;
    if (ev->type == REFRAFT_EVENT_ROLE && ev->role == REFRAFT_LEADER)
        bn->bc->leader = (int)(bn - bn->bc->nodes);
}

static int start_node(bench_cluster *bc, int i, uint32_t max_entries)
{
    bench_node *bn = &bc->nodes[i];
    const char *peers[BENCH_NODES - 1];
    size_t n_peers = 0;
    for (int j = 0; j < BENCH_NODES; j++) {
        if (j != i)
            peers[n_peers++] = bc->nodes[j].id;
    }
    refraft_config cfg = {
        .id = bn->id,
        .peers = peers,
        .n_peers = n_peers,
        .election_timeout_ms = ELECTION_TIMEOUT_MS,
        .max_entries_per_msg = max_entries,
        .max_inflight = 8,
    };
    refraft_hull hull = {.version = REFRAFT_HULL_VERSION,
                         .ctx = bn,
                         .send = send_msg,
                         .now_ms = now_ms,
                         .random = random_bits,
                         .apply = apply,
                         .on_event = on_event};
    refraft_log_api api;
    refraft_memlog_api(bn->log, &api);
    char err[REFRAFT_ERRMSG_LEN] = "";
    int rv = refraft_node_create(&cfg, &hull, &api, &bn->rn, err, sizeof(err));
    if (rv != 0)
        fprintf(stderr, "refraft-bench: %s: %s\n", bn->id, err);
    return rv;
}

/* Hand the oldest queued message to its node; popped only afterwards, as
 * the node's answers are pushed while it reads the message. */
static int deliver_one(bench_cluster *bc)
{
    queue_slot *slot = queue_front(&bc->q);
    bench_node *bn = &bc->nodes[slot->to];
    int rv = refraft_on_message(bn->rn, slot->msg, NULL, NULL);
    queue_pop(&bc->q);
    if (rv != 0 && rv != REFRAFT_ESTALE) {
        fprintf(stderr, "refraft-bench: %s: on_message: %s\n", bn->id,
                refraft_errmsg(bn->rn));
        return rv;
    }
    return 0;
}

/* Move the virtual clock to the earliest node deadline and tick that
 * node: elections, and heartbeats when nothing else is left to do. */
static int tick_next(bench_cluster *bc)
{
    int best = 0;
    for (int i = 1; i < BENCH_NODES; i++) {
        if (refraft_next_deadline(bc->nodes[i].rn) <
            refraft_next_deadline(bc->nodes[best].rn))
            best = i;
    }
    uint64_t t = refraft_next_deadline(bc->nodes[best].rn);
    if (t > bc->now)
        bc->now = t;
    return refraft_tick(bc->nodes[best].rn);
}

static int elect(bench_cluster *bc)
{
    for (int n = 0; n < ELECTION_TICKS_MAX; n++) {
        while (bc->q.len > 0) {
            int rv = deliver_one(bc);
            if (rv != 0)
                return rv;
        }
        if (bc->leader >= 0)
            return 0;
        int rv = tick_next(bc);
        if (rv != 0)
            return rv;
    }
    fprintf(stderr, "refraft-bench: no leader elected\n");
    return REFRAFT_EFAILED;
}

/* One batch of refs whose ids are rewritten before each proposal: 16
 * bytes, a counter then a constant tail. */
static int make_batch(bench_cluster *bc, uint32_t batch)
{
    bc->refs = calloc(batch, sizeof(*bc->refs));
    bc->ids = calloc(batch, BENCH_ID_LEN);
    if (bc->refs == NULL || bc->ids == NULL)
        return REFRAFT_ENOMEM;
    for (uint32_t i = 0; i < batch; i++) {
        uint8_t *id = bc->ids + (size_t)i * BENCH_ID_LEN;
        memset(id + 8, 0xab, BENCH_ID_LEN - 8);
        bc->refs[i].id = id;
        bc->refs[i].id_len = BENCH_ID_LEN;
        bc->refs[i].size = BENCH_REF_SIZE;
    }
    return 0;
}

int bench_cluster_init(bench_cluster *bc, uint32_t batch)
{
    memset(bc, 0, sizeof(*bc));
    bc->leader = -1;
    bc->batch = batch;
    bc->rng = 0x9e3779b97f4a7c15u;
    int rv = queue_init(&bc->q) == 0 ? make_batch(bc, batch) : REFRAFT_ENOMEM;
    for (int i = 0; i < BENCH_NODES && rv == 0; i++) {
        bc->nodes[i].bc = bc;
        snprintf(bc->nodes[i].id, sizeof(bc->nodes[i].id), "b%d", i + 1);
        rv = refraft_memlog_create(&bc->nodes[i].log);
    }
    uint32_t max_entries = batch > 1024 ? batch : 1024;
    for (int i = 0; i < BENCH_NODES && rv == 0; i++)
        rv = start_node(bc, i, max_entries);
    if (rv == 0)
        rv = elect(bc);
    if (rv != 0)
        bench_cluster_free(bc);
    return rv;
}

void bench_cluster_free(bench_cluster *bc)
{
    for (int i = 0; i < BENCH_NODES; i++) {
        refraft_node_destroy(bc->nodes[i].rn);
        refraft_memlog_destroy(bc->nodes[i].log);
    }
    queue_free(&bc->q);
    free(bc->refs);
    free(bc->ids);
    memset(bc, 0, sizeof(*bc));
}

static int propose(bench_cluster *bc)
{
    for (uint32_t i = 0; i < bc->batch; i++) {
        uint64_t n = bc->next_ref++;
        memcpy(bc->ids + (size_t)i * BENCH_ID_LEN, &n, sizeof(n));
    }
    refraft_index first = 0;
    bench_node *leader = &bc->nodes[bc->leader];
    int rv = refraft_propose(leader->rn, bc->refs, bc->batch, &first);
    if (rv != 0)
        fprintf(stderr, "refraft-bench: propose: %s\n",
                refraft_errmsg(leader->rn));
    return rv;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) +
           (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* One unit of work: propose when the window has room, else deliver a
 * message, else (all quiet) let the next timer fire. */
static int work(bench_cluster *bc, uint64_t window_entries)
{
    const refraft_node *l = bc->nodes[bc->leader].rn;
    uint64_t pending = refraft_last_index(l) - refraft_applied_index(l);
    if (pending + bc->batch <= window_entries)
        return propose(bc);
    if (bc->q.len > 0)
        return deliver_one(bc);
    return tick_next(bc);
}

int bench_cluster_run(bench_cluster *bc, uint64_t target, double seconds,
                      uint32_t window, uint64_t *entries, double *elapsed)
{
    bench_node *leader = &bc->nodes[bc->leader];
    uint64_t start = leader->applied;
    uint64_t window_entries = (uint64_t)window * bc->batch;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rv = 0;
    for (uint64_t n = 1; rv == 0; n++) {
        rv = work(bc, window_entries);
        if ((n & 1023) == 0 && (leader->applied - start >= target ||
                                seconds_since(&t0) >= seconds))
            break;
    }
    *elapsed = seconds_since(&t0);
    *entries = leader->applied - start;
    return rv;
}
