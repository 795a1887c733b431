/* nodestore.c - a simulated node's record store as its host and its
 * sweeper use it: presence, checked puts, orphans, the lost mark. */
#include "nodestore.h"
#include "trace.h"

void nodestore_put(sim_node *sn, const refraft_ref *ref, const void *bytes,
                   size_t len)
{
    check_record_put(&sn->cl->check, sn->idx, ref, bytes, len);
    rstore_put(&sn->records, ref, bytes, len, 0);
}

static int have(void *ctx, const refraft_ref *refs, size_t n, bool *present)
{
    sim_node *sn = ctx;
    for (size_t i = 0; i < n; i++)
        present[i] = rstore_has(&sn->records, &refs[i]);
    return 0;
}

int nodestore_hull_have(void *ctx, const refraft_ref *refs, size_t n,
                        bool *present)
{
    sim_node *sn = ctx;
    cluster *cl = sn->cl;
    have(ctx, refs, n, present);
    if (!(cl->params.sim_inject & SIM_INJECT_LIE_HAVE))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!present[i])
            present[i] = prng_chance(&cl->rec_rng, 500);
    }
    return 0;
}

/* The sweeper verified the bytes; the checker checks again. */
static int put(void *ctx, const refraft_ref *ref, const void *bytes, size_t len)
{
    nodestore_put(ctx, ref, bytes, len);
    return 0;
}

static int remove_orphan(void *ctx, const uint8_t *id, size_t id_len)
{
    sim_node *sn = ctx;
    cluster *cl = sn->cl;
    check_record_removed(&cl->check, sn->idx, id, id_len);
    if (cl->verbose) {
        char name[RECORD_ID_MAX + 1];
        record_id_str(id, id_len, name, sizeof(name));
        trace_note(cl->now, "n%d: sweeper collects orphan record %s",
                   sn->idx + 1, name);
    }
    rstore_remove(&sn->records, id, id_len);
    return 0;
}

/* The lost mark is kept with the store, like refstore keeps it in its
 * environment: cleared only when the sweeper says the records are back. */
static int clear_lost(void *ctx)
{
    sim_node *sn = ctx;
    if (sn->cl->verbose)
        trace_note(sn->cl->now, "n%d: records lost up to %llu are back",
                   sn->idx + 1, (unsigned long long)sn->lost_upto);
    sn->lost_upto = 0;
    return 0;
}

void nodestore_api(sim_node *sn, refraft_record_store *out)
{
    *out = (refraft_record_store){
        .ctx = sn,
        .have = have,
        .put = put,
        .remove = remove_orphan,
        .clear_lost = clear_lost,
    };
}
