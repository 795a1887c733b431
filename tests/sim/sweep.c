/* sweep.c - one sweeper per simulated node: created with the node,
 * destroyed in its crash, ticked like the node's timers. */
#include <stdio.h>

#include "fetch.h"
#include "nodestore.h"
#include "sweep.h"
#include "trace.h"

static uint64_t now_ms(void *ctx)
{
    cluster *cl = ctx;
    return cl->now;
}

static uint64_t random_bits(void *ctx)
{
    cluster *cl = ctx;
    return prng_next(&cl->sw_rng);
}

static void
on_unrecoverable(void *ctx, refraft_index index, const refraft_ref *ref)
{
    sim_node *sn = ctx;
    if (!sn->cl->verbose)
        return;
    char id[RECORD_ID_MAX + 1];
    record_id_str(ref->id, ref->id_len, id, sizeof(id));
    trace_note(sn->cl->now,
               "n%d: sweeper: no node that answered has the record %s of "
               "committed index %llu (for now)",
               sn->idx + 1, id, (unsigned long long)index);
}

/* put_batch, in the runs that offer it (fetch_run_mode): the records go
 * in as put puts them, each checked by the checker; the simulated store
 * does not fail. */
static int put_batch(void *ctx, const refraft_ref *refs,
                     const void *const *bytes, size_t n, int *results)
{
    sim_node *sn = ctx;
    for (size_t k = 0; k < n; k++) {
        nodestore_put(sn, &refs[k], bytes[k], (size_t)refs[k].size);
        results[k] = 0;
    }
    return 0;
}

/* The sweeper reads the application's reference state as the node's
 * snapshot_read does (refstate.h), for the records named below the log's
 * first index. */
static int snapshot_read(void *ctx, refraft_index last, refraft_index after,
                         refraft_snapshot_ref *out, size_t max, size_t *n)
{
    sim_node *sn = ctx;
    refstate_read(&sn->state, last, after, out, max, n);
    return 0;
}

/*
 * Scans as often as the leader sends heartbeats, backs off 10..500 ms,
 * and keeps orphans for a few election timeouts.  lost_upto is what the
 * host kept with its record store since the wipe (cluster.c) or the
 * last snapshot install (hull.c), whichever is higher.  The run's
 * mode (fetch.h) says whether the store offers put_batch.
 */
int sweep_start(cluster *cl, int i)
{
    sim_node *sn = &cl->nodes[i];
    const cluster_params *p = &cl->params;
    refraft_sweeper_config cfg = {
        .node = sn->rn,
        .log = sn->disk.api,
        .clock_ctx = cl,
        .now_ms = now_ms,
        .random = random_bits,
        .interval_ms = p->heartbeat_ms,
        .max_in_flight = p->sweeper_in_flight,
        .backoff_min_ms = SWEEP_BACKOFF_MIN_MS,
        .backoff_max_ms = SWEEP_BACKOFF_MAX_MS,
        .orphan_grace_ms = 3 * p->election_timeout_ms,
        .lost_upto = sn->lost_upto,
        .app_ctx = sn,
        .on_unrecoverable = on_unrecoverable,
        .snapshot_ctx = sn,
        .snapshot_read = snapshot_read,
    };
    nodestore_api(sn, &cfg.store);
    unsigned mode = fetch_run_mode(cl);
    if (mode & FETCH_MODE_PUT_BATCH)
        cfg.store.put_batch = put_batch;
    if (cl->verbose && i == 0 && sn->incarnation == 1)
        trace_note(cl->now, "sweepers: answers %s, requests %s, %s",
                   mode & FETCH_MODE_BATCH_ANSWERS ? "batched" : "one by one",
                   mode & FETCH_MODE_HOLD_REQUESTS ? "held until flush"
                                                   : "sent at once",
                   mode & FETCH_MODE_PUT_BATCH ? "put_batch" : "put only");
    fetch_fill(&cfg.fetcher, sn);
    char err[REFRAFT_ERRMSG_LEN] = "";
    int rv = refraft_sweeper_create(&cfg, &sn->sw, err, sizeof(err));
    if (rv != 0) {
        sn->sw = NULL;
        check_fail(&cl->check, "API Contract",
                   "n%d: refraft_sweeper_create: %s (%s)", i + 1,
                   refraft_strerror(rv), err);
    }
    return rv;
}

static void
add_stats(refraft_sweeper_stats *sum, const refraft_sweeper_stats *s)
{
    sum->fetched += s->fetched;
    sum->bytes_fetched += s->bytes_fetched;
    sum->digest_failures += s->digest_failures;
    sum->fetch_failures += s->fetch_failures;
    sum->voided += s->voided;
    sum->orphans_collected += s->orphans_collected;
    sum->scans += s->scans;
}

void sweep_stats(const sim_node *sn, refraft_sweeper_stats *out)
{
    *out = sn->sw_total;
    if (sn->sw != NULL) {
        refraft_sweeper_stats s;
        refraft_sweeper_get_stats(sn->sw, &s);
        add_stats(out, &s);
        out->unrecoverable = s.unrecoverable;
        out->missing = s.missing;
    }
}

void sweep_stop(cluster *cl, int i)
{
    sim_node *sn = &cl->nodes[i];
    (void)cl;
    if (sn->sw != NULL) {
        refraft_sweeper_stats s;
        refraft_sweeper_get_stats(sn->sw, &s);
        add_stats(&sn->sw_total, &s);
        refraft_sweeper_destroy(sn->sw);
        sn->sw = NULL;
    }
    fetch_forget(sn);
}

uint64_t sweep_deadline(const sim_node *sn)
{
    return sn->sw != NULL ? refraft_sweeper_next_deadline(sn->sw) : UINT64_MAX;
}

void sweep_tick(cluster *cl, int i)
{
    int rv = refraft_sweeper_tick(cl->nodes[i].sw);
    if (rv != 0)
        cluster_sweeper_fail(cl, i, "sweeper_tick", rv);
    fetch_check_flushed(cl, i);
}
