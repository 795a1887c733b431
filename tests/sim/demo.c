/* demo.c - the narrated 3-node run behind `refraft-sim --demo`. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "cluster.h"
#include "demo.h"

#define DEMO_SEED 2024
#define DEMO_TIMEOUT_MS 150
#define DEMO_NODES 3
/* Each stage must finish within this many election timeouts. */
#define STAGE_TIMEOUTS 20

typedef unsigned long long ull;

typedef struct demo {
    cluster cl;
    uint64_t next_order; /* order-0001, order-0002, ... */
    int leader_of_term[64];
    int n_led;
} demo;

static void say(const demo *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void say(const demo *d, const char *fmt, ...)
{
    printf("[%6llu ms] ", (ull)d->cl.now);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

static void stage(const char *title)
{
    printf("\n== %s ==\n", title);
}

static void narrate_role(demo *d, int node, const refraft_event *ev)
{
    ull term = (ull)ev->term;
    switch (ev->role) {
    case REFRAFT_PRECANDIDATE:
        say(d,
            "n%d heard no leader for an election timeout; asks the "
            "others for pre-votes for term %llu",
            node + 1, term + 1);
        break;
    case REFRAFT_CANDIDATE:
        say(d,
            "n%d got a majority of pre-votes; campaigns in term %llu "
            "and votes for itself",
            node + 1, term);
        break;
    case REFRAFT_LEADER:
        say(d,
            "n%d won a majority of votes: LEADER of term %llu; it "
            "appends a no-op entry of its term",
            node + 1, term);
        break;
    default:
        say(d, "n%d is a follower in term %llu", node + 1, term);
        break;
    }
}

static void on_event(void *ctx, int node, const refraft_event *ev)
{
    demo *d = ctx;
    if (ev->type == REFRAFT_EVENT_ROLE)
        narrate_role(d, node, ev);
    if (ev->type == REFRAFT_EVENT_LEADER && ev->leader_id != NULL &&
        ev->role == REFRAFT_FOLLOWER)
        say(d, "n%d follows %s, leader of term %llu", node + 1, ev->leader_id,
            (ull)ev->term);
    if (ev->type == REFRAFT_EVENT_ROLE && ev->role == REFRAFT_LEADER &&
        ev->term < 64 && d->leader_of_term[ev->term] == 0) {
        d->leader_of_term[ev->term] = node + 1;
        d->n_led++;
    }
    if (ev->type == REFRAFT_EVENT_COMMIT && d->cl.nodes[node].rn != NULL &&
        refraft_role(d->cl.nodes[node].rn) == REFRAFT_LEADER)
        say(d,
            "n%d (leader): a majority holds the log and its records up to "
            "index %llu: "
            "committed",
            node + 1, (ull)ev->commit_index);
}

static void
on_apply(void *ctx, int node, refraft_index index, const refraft_entry *entry)
{
    demo *d = ctx;
    entry_sig sig;
    entry_sig_make(&sig, entry);
    say(d, "n%d applies index %llu (%s, term %llu)", node + 1, (ull)index,
        sig.label, (ull)entry->term);
}

/* One event: the earlier of the next delivery (a message or a record)
 * and the next timer (a node's, a sweeper's or a fetch's). */
static void step(demo *d)
{
    int node = -1;
    timer_kind kind = TIMER_NODE;
    uint64_t t_timer = cluster_next_timer(&d->cl, &node, &kind);
    uint64_t t_net = net_next_time(&d->cl.net);
    uint64_t at = t_net <= t_timer ? t_net : t_timer;
    if (at > d->cl.now)
        d->cl.now = at;
    if (t_net <= t_timer)
        cluster_deliver(&d->cl, net_pop(&d->cl.net));
    else
        cluster_tick(&d->cl, node, kind);
    cluster_check(&d->cl);
}

typedef bool (*demo_cond)(const demo *d, int arg);

/* Step until cond holds; false (and a message) after the stage's time
 * bound or on a safety violation. */
static bool run_until(demo *d, demo_cond cond, int arg, const char *what)
{
    uint64_t deadline = d->cl.now + (uint64_t)STAGE_TIMEOUTS * DEMO_TIMEOUT_MS;
    while (!cond(d, arg)) {
        if (d->cl.check.failed) {
            printf("\nSAFETY VIOLATION: %s: %s\n", d->cl.check.v.invariant,
                   d->cl.check.v.detail);
            return false;
        }
        if (d->cl.now > deadline) {
            printf("\nEXPECTATION FAILED: %s within %d election timeouts\n",
                   what, STAGE_TIMEOUTS);
            return false;
        }
        step(d);
    }
    return true;
}

static bool has_leader(const demo *d, int min_term)
{
    int l = cluster_leader(&d->cl);
    return l >= 0 &&
           refraft_current_term(d->cl.nodes[l].rn) >= (refraft_term)min_term;
}

/* Every running node has applied its leader's whole log. */
static bool all_applied(const demo *d, int unused)
{
    (void)unused;
    int l = cluster_leader(&d->cl);
    if (l < 0)
        return false;
    refraft_index last = refraft_last_index(d->cl.nodes[l].rn);
    for (int i = 0; i < DEMO_NODES; i++) {
        const refraft_node *rn = d->cl.nodes[i].rn;
        if (rn != NULL && refraft_applied_index(rn) < last)
            return false;
    }
    return true;
}

static bool propose(demo *d, int leader, int count)
{
    for (int k = 0; k < count; k++) {
        char name[CLIENT_ID_MAX + 1];
        snprintf(name, sizeof(name), "order-%04llu", (ull)++d->next_order);
        record rec;
        record_make(&rec, DEMO_SEED, name);
        refraft_index index = 0;
        int rv = cluster_propose(&d->cl, leader, &rec, 1, &index);
        if (rv != 0) {
            printf("\nEXPECTATION FAILED: n%d refused %s: %s\n", leader + 1,
                   name, refraft_strerror(rv));
            return false;
        }
        say(d,
            "client -> n%d: write %s (%zu bytes); n%d stores it, pushes it "
            "to the others and appends its reference at index %llu, "
            "uncommitted until a majority holds entry and record",
            leader + 1, name, rec.len, leader + 1, (ull)index);
    }
    return true;
}

static bool read_entry(const demo *d, int node, refraft_index i, entry_sig *sig)
{
    const refraft_log_api *log = &d->cl.nodes[node].disk.api;
    refraft_entry e;
    size_t n = 0;
    if (log->get(log->ctx, i, 1, &e, &n) != 0 || n != 1)
        return false;
    entry_sig_make(sig, &e);
    return true;
}

static refraft_index disk_last_index(const demo *d, int node)
{
    const refraft_log_api *log = &d->cl.nodes[node].disk.api;
    return log->last_index(log->ctx);
}

/* Print the logs side by side; true when they are identical. */
static bool show_logs(const demo *d)
{
    refraft_index longest = 0;
    for (int i = 0; i < DEMO_NODES; i++) {
        if (disk_last_index(d, i) > longest)
            longest = disk_last_index(d, i);
    }
    printf("  index | n1                 | n2                 | n3\n");
    bool same = true;
    for (refraft_index k = 1; k <= longest; k++) {
        entry_sig sig[DEMO_NODES];
        printf("  %5llu", (ull)k);
        for (int i = 0; i < DEMO_NODES; i++) {
            char cell[40] = "(missing)";
            if (read_entry(d, i, k, &sig[i]))
                snprintf(cell, sizeof(cell), "term %llu %s", (ull)sig[i].term,
                         sig[i].label);
            else
                sig[i].term = 0;
            printf(i + 1 < DEMO_NODES ? " | %-18s" : " | %s", cell);
            same =
                same && sig[i].term != 0 && entry_sig_equal(&sig[i], &sig[0]);
        }
        printf("\n");
    }
    return same;
}

static bool stage_election(demo *d, int *leader)
{
    stage("1. Election");
    say(d,
        "n1, n2 and n3 start as followers with empty logs; each waits "
        "a random election timeout of %d..%d ms",
        DEMO_TIMEOUT_MS, 2 * DEMO_TIMEOUT_MS);
    if (!run_until(d, has_leader, 1, "a leader elected"))
        return false;
    *leader = cluster_leader(&d->cl);
    return true;
}

static bool stage_replicate(demo *d, int leader, const char *title)
{
    stage(title);
    return propose(d, leader, 3) &&
           run_until(d, all_applied, 0, "the orders applied everywhere");
}

static bool stage_crash(demo *d, int old, int *leader)
{
    stage("3. The leader crashes");
    refraft_term term = refraft_current_term(d->cl.nodes[old].rn);
    say(d,
        "n%d, leader of term %llu, is killed; its disk (log, term and "
        "vote) survives",
        old + 1, (ull)term);
    cluster_crash(&d->cl, old);
    uint64_t since = d->cl.now;
    if (!run_until(d, has_leader, (int)term + 1, "a new leader elected"))
        return false;
    *leader = cluster_leader(&d->cl);
    say(d,
        "the cluster had no leader for %llu ms; n%d now leads term "
        "%llu with the vote of the other survivor",
        (ull)(d->cl.now - since), *leader + 1,
        (ull)refraft_current_term(d->cl.nodes[*leader].rn));
    return true;
}

static bool stage_rejoin(demo *d, int old, refraft_index *received)
{
    stage("5. The old leader returns");
    refraft_index before = disk_last_index(d, old);
    if (cluster_restart(&d->cl, old) != 0)
        return false;
    say(d,
        "n%d restarts from its disk as a follower: term %llu, %llu "
        "entries; its state machine kept what it had applied (index %llu)",
        old + 1, (ull)refraft_current_term(d->cl.nodes[old].rn), (ull)before,
        (ull)d->cl.nodes[old].sm_applied);
    if (!run_until(d, all_applied, 0, "the old leader caught up"))
        return false;
    *received = disk_last_index(d, old) - before;
    say(d,
        "n%d caught up: it received the %llu entries it had missed and "
        "has applied up to index %llu",
        old + 1, (ull)*received,
        (ull)refraft_applied_index(d->cl.nodes[old].rn));
    return true;
}

static void
summary(const demo *d, int first, int second, refraft_index received)
{
    printf("\n== Summary ==\n");
    for (int t = 0; t < 64; t++) {
        if (d->leader_of_term[t] != 0)
            printf("  term %d was led by n%d\n", t, d->leader_of_term[t]);
    }
    printf("  %llu orders committed; %llu log entries in all (one no-op "
           "per leader)\n",
           (ull)d->next_order, (ull)d->cl.check.n_committed);
    printf("  n%d crashed as leader; n%d took over; n%d came back and "
           "received %llu entries\n",
           first + 1, second + 1, first + 1, (ull)received);
    printf("  every step was checked: Election Safety, Log Matching, "
           "Leader Completeness, State Machine Safety, and for the "
           "records Record Integrity, Apply Needs Record, Durable Commit "
           "and Void Safety all held\n");
}

static int demo_stages(demo *d)
{
    int first = -1, second = -1;
    refraft_index received = 0;
    if (!stage_election(d, &first) ||
        !stage_replicate(d, first, "2. Replication") ||
        !stage_crash(d, first, &second) ||
        !stage_replicate(d, second, "4. Two of three carry on") ||
        !stage_rejoin(d, first, &received))
        return -1;
    stage("6. The logs");
    if (!show_logs(d)) {
        printf("\nEXPECTATION FAILED: the logs differ\n");
        return -1;
    }
    printf("  all three logs are identical\n");
    summary(d, first, second, received);
    return 0;
}

int demo_run(void)
{
    demo d;
    memset(&d, 0, sizeof(d));
    cluster_params cp = {
        .n_nodes = DEMO_NODES,
        .election_timeout_ms = DEMO_TIMEOUT_MS,
        .heartbeat_ms = 30,
        .persist_applied = true,
    };
    cluster_observer obs = {&d, on_event, on_apply, NULL, NULL};
    printf("refraft demo: three nodes, a simulated network (2..8 ms per "
           "message), virtual time;\n"
           "log entries carry references, records travel beside them\n");
    int rv = cluster_init(&d.cl, &cp, DEMO_SEED, &obs, false);
    if (rv == 0) {
        net_set_faults(&d.cl.net, 0, 0, 2, 8);
        rv = demo_stages(&d);
    }
    cluster_free(&d.cl);
    return rv;
}
