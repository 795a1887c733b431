/* faults.c - fault actions on a simulated cluster, traced if verbose. */
#include "faults.h"
#include "trace.h"

void fault_crash(cluster *cl, int i)
{
    if (!cluster_alive(cl, i))
        return;
    if (cl->verbose)
        trace_note(cl->now, "fault: crash n%d", i + 1);
    cluster_crash(cl, i);
}

bool fault_crash_wipe(cluster *cl, int i)
{
    if (!cluster_alive(cl, i))
        return false;
    bool wipe = cluster_may_wipe(cl, i);
    if (cl->verbose)
        trace_note(cl->now, "fault: crash n%d%s", i + 1,
                   wipe ? ", wiping its record store" : "");
    cluster_crash(cl, i);
    if (wipe)
        cluster_wipe_records(cl, i);
    return wipe;
}

void fault_cut_records(cluster *cl, int i)
{
    if (cl->verbose)
        trace_note(cl->now, "fault: n%d's records no longer leave it", i + 1);
    cl->rec_cut[i] = true;
}

static void set_record_rates(cluster *cl, record_faults rf)
{
    if (cl->verbose)
        trace_note(cl->now,
                   "fault: pushes lost %u/1000, late %u/1000 (%llu..%llu "
                   "ms), corrupted %u/1000",
                   rf.never_pm, rf.late_pm, (unsigned long long)rf.late_min,
                   (unsigned long long)rf.late_max, rf.corrupt_pm);
    cl->rf = rf;
}

void fault_record_rates(cluster *cl, prng *p)
{
    record_faults rf = {
        .never_pm = (uint32_t)prng_below(p, 4) * 100,
        .late_pm = (uint32_t)prng_below(p, 4) * 50,
        .corrupt_pm = (uint32_t)prng_below(p, 3) * 40,
        .late_min = 100,
        .late_max = prng_range(p, 200, 1000),
    };
    set_record_rates(cl, rf);
}

void fault_sync_failures(cluster *cl, bool on)
{
    const cluster_params *p = &cl->params;
    uint32_t pm = on && p->stage && !p->refstore ? p->sync_fail_pm : 0;
    if (cl->verbose && pm != cl->nodes[0].disk.sync_fail_pm)
        trace_note(cl->now, "fault: syncs fail %u/1000", pm);
    for (int i = 0; i < p->n_nodes; i++)
        cl->nodes[i].disk.sync_fail_pm = pm;
}

void fault_restart(cluster *cl, int i)
{
    if (cluster_alive(cl, i) || cl->nodes[i].out)
        return;
    if (cl->verbose)
        trace_note(cl->now, "fault: restart n%d", i + 1);
    /* A refusal is recorded as a violation by the cluster. */
    (void)cluster_restart(cl, i);
}

void fault_partition(cluster *cl, uint32_t group)
{
    if (cl->verbose)
        trace_note(cl->now, "fault: cut group %#x off from the rest", group);
    net_partition(&cl->net, group);
}

void fault_isolate(cluster *cl, uint32_t group)
{
    net_heal(&cl->net);
    fault_partition(cl, group);
}

void fault_cut_oneway(cluster *cl, int from, int to)
{
    if (cl->verbose)
        trace_note(cl->now, "fault: cut link n%d -> n%d", from + 1, to + 1);
    net_cut_oneway(&cl->net, from, to);
}

void fault_camps(cluster *cl, uint32_t a, uint32_t b)
{
    if (cl->verbose)
        trace_note(cl->now, "fault: camps %#x and %#x cannot talk", a, b);
    for (int i = 0; i < cl->params.n_nodes; i++) {
        for (int j = 0; j < cl->params.n_nodes; j++) {
            if (((a >> i) & 1u) && ((b >> j) & 1u)) {
                net_cut_oneway(&cl->net, i, j);
                net_cut_oneway(&cl->net, j, i);
            }
        }
    }
}

void fault_heal_links(cluster *cl)
{
    if (cl->verbose)
        trace_note(cl->now, "fault: every link back up");
    net_heal(&cl->net);
}

void fault_net_rates(cluster *cl, prng *p)
{
    uint32_t drop = (uint32_t)prng_below(p, 4) * 60;
    uint32_t dup = (uint32_t)prng_below(p, 3) * 40;
    uint64_t max_delay = prng_range(p, 2, FAULTS_MAX_DELAY_MS);
    if (cl->verbose)
        trace_note(cl->now,
                   "fault: loss %u/1000, duplicates %u/1000, delay 1..%llu ms",
                   drop, dup, (unsigned long long)max_delay);
    net_set_faults(&cl->net, drop, dup, 1, max_delay);
}

void fault_heal_all(cluster *cl, prng *p)
{
    if (cl->verbose)
        trace_note(cl->now, "heal: every node up, every link up, no loss");
    for (int i = 0; i < cl->params.n_nodes; i++) {
        fault_restart(cl, i);
        cl->rec_cut[i] = false;
    }
    net_heal(&cl->net);
    net_set_faults(&cl->net, 0, (uint32_t)prng_below(p, 50), 1,
                   prng_range(p, 2, FAULTS_MAX_DELAY_MS));
    record_faults rf = {
        .late_pm = (uint32_t)prng_below(p, 3) * 25,
        .corrupt_pm = (uint32_t)prng_below(p, 3) * 20,
        .late_min = 100,
        .late_max = 300,
    };
    set_record_rates(cl, rf);
    fault_sync_failures(cl, false);
}
