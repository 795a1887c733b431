/* main.c - refraft-sim's command line: seeded runs and a tally. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "sim.h"
#include "tmpdir.h"

typedef unsigned long long ull;

/* 1 TiB: far beyond what a run writes. */
#define MAP_KIB_MAX (1ull << 30)

typedef struct cli_args {
    uint64_t runs;
    uint64_t seed;
    int nodes;
    uint64_t steps;
    uint32_t inject;          /* refraft_inject */
    uint32_t sim_inject;      /* sim_inject */
    const char *inject_names; /* as given, for the reproduce line */
    sim_store store;
    uint64_t map_kib;
    bool verbose;
    bool demo;
    bool durable_strict;
    uint64_t in_flight;
    sim_membership membership;
    sim_compaction compaction;
} cli_args;

/* Rules broken on purpose: in the core (refraft_config.inject_bugs) or in
 * the simulated host (sim_inject). */
static const struct {
    const char *name;
    uint32_t bit;
    bool host;
} bugs[] = {
    {"commit-old-term", REFRAFT_INJECT_COMMIT_OLD_TERM, false},
    {"vote-any-log", REFRAFT_INJECT_VOTE_ANY_LOG, false},
    {"forget-vote", REFRAFT_INJECT_FORGET_VOTE, false},
    {"unverified-push", SIM_INJECT_UNVERIFIED_PUSH, true},
    {"lie-have", SIM_INJECT_LIE_HAVE, true},
    {"forget-lost", SIM_INJECT_FORGET_LOST, true},
    {"keep-staged", SIM_INJECT_KEEP_STAGED, true},
    {"reuse-id", SIM_INJECT_REUSE_ID, true},
    {"drop-snapshot-ref", SIM_INJECT_DROP_SNAPSHOT_REF, true},
};

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: refraft-sim [--runs R] [--seed S] [--nodes N] "
        "[--steps K]\n"
        "                   [--inject BUG[,BUG...]] "
        "[--store mem|refstore|mixed]\n"
        "                   [--map-kib M] [--fetches F] [--durable-strict]\n"
        "                   [--membership | --no-membership]\n"
        "                   [--compaction | --no-compaction]\n"
        "                   [--verbose] [--demo]\n"
        "Run i uses seed S+i: K steps of faults in phases, each phase\n"
        "ended by a heal and a liveness test, then a final heal.\n"
        "BUG: commit-old-term, vote-any-log, forget-vote (the core);\n"
        "unverified-push, lie-have, forget-lost, keep-staged, reuse-id,\n"
        "drop-snapshot-ref (the simulated host).\n"
        "--store: the nodes' logs in memory, in refstores under $TMPDIR,\n"
        "or (default) in refstores in about one run in %d.\n"
        "--map-kib: refstores start with an LMDB map of M KiB "
        "(default: half of\n"
        "the runs 32 KiB, which they grow, the others refstore's "
        "default).\n"
        "--fetches: each sweeper has at most F fetches in flight "
        "(default: drawn\nper run).\n"
        "--durable-strict: Durable Commit does not count a follower by\n"
        "a report it sent just before its record store was wiped.\n"
        "--membership: every run changes its membership (servers added,\n"
        "promoted, removed, added back; some nodes start as spares);\n"
        "--no-membership: none does (default: about one run in %d).\n"
        "--compaction: every memlog run compacts its logs (small\n"
        "thresholds, snapshots sent in small chunks); --no-compaction:\n"
        "none does (default: about one run in %d).\n"
        "--demo: a narrated 3-node run (crash and recovery).\n",
        SIM_REFSTORE_ONE_IN, SIM_MEMBERSHIP_ONE_IN, SIM_COMPACTION_ONE_IN);
}

static int parse_inject(const char *list, uint32_t *bits, uint32_t *host)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *tok = strtok(buf, ","); tok != NULL; tok = strtok(NULL, ",")) {
        size_t k = 0;
        while (k < sizeof(bugs) / sizeof(bugs[0]) &&
               strcmp(tok, bugs[k].name) != 0)
            k++;
        if (k == sizeof(bugs) / sizeof(bugs[0])) {
            fprintf(stderr, "refraft-sim: unknown bug \"%s\"\n", tok);
            return -1;
        }
        *(bugs[k].host ? host : bits) |= bugs[k].bit;
    }
    return 0;
}

static int parse_number(const char *s, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (s[0] == '\0' || s[0] == '-' || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

static int parse_store(const char *name, sim_store *store)
{
    static const struct {
        const char *name;
        sim_store store;
    } stores[] = {
        {"mixed", SIM_STORE_MIXED},
        {"mem", SIM_STORE_MEM},
        {"refstore", SIM_STORE_REFSTORE},
    };
    for (size_t k = 0; k < sizeof(stores) / sizeof(stores[0]); k++) {
        if (strcmp(name, stores[k].name) == 0) {
            *store = stores[k].store;
            return 0;
        }
    }
    return -1;
}

static int parse_option(cli_args *a, const char *opt, const char *val)
{
    uint64_t n = 0;
    if (strcmp(opt, "--inject") == 0) {
        a->inject_names = val;
        return parse_inject(val, &a->inject, &a->sim_inject);
    }
    if (strcmp(opt, "--store") == 0)
        return parse_store(val, &a->store);
    if (parse_number(val, &n) != 0)
        return -1;
    if (strcmp(opt, "--runs") == 0)
        a->runs = n;
    else if (strcmp(opt, "--seed") == 0)
        a->seed = n;
    else if (strcmp(opt, "--steps") == 0)
        a->steps = n;
    else if (strcmp(opt, "--fetches") == 0 && n >= 1 && n <= 4096)
        a->in_flight = n;
    else if (strcmp(opt, "--map-kib") == 0 && n >= 1 && n <= MAP_KIB_MAX)
        a->map_kib = n;
    else if (strcmp(opt, "--nodes") == 0 && n >= 1 && n <= REFRAFT_MAX_PEERS)
        a->nodes = (int)n;
    else
        return -1;
    return 0;
}

static int parse_args(int argc, char **argv, cli_args *a)
{
    *a = (cli_args){.runs = 100, .seed = 1, .nodes = 3, .steps = 5000};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(argv[i], "--verbose") == 0) {
            a->verbose = true;
        } else if (strcmp(argv[i], "--demo") == 0) {
            a->demo = true;
        } else if (strcmp(argv[i], "--durable-strict") == 0) {
            a->durable_strict = true;
        } else if (strcmp(argv[i], "--membership") == 0) {
            a->membership = SIM_MEMBERSHIP_ON;
        } else if (strcmp(argv[i], "--no-membership") == 0) {
            a->membership = SIM_MEMBERSHIP_OFF;
        } else if (strcmp(argv[i], "--compaction") == 0) {
            a->compaction = SIM_COMPACTION_ON;
        } else if (strcmp(argv[i], "--no-compaction") == 0) {
            a->compaction = SIM_COMPACTION_OFF;
        } else if (i + 1 < argc && parse_option(a, argv[i], argv[i + 1]) == 0) {
            i++;
        } else {
            fprintf(stderr, "refraft-sim: bad argument \"%s\"\n", argv[i]);
            return -1;
        }
    }
    return 0;
}

static void report_failure(const char *prog, const cli_args *a,
                           const sim_options *opt, const sim_result *res)
{
    printf("seed %llu: %s violated: %s [step %llu, t=%llu ms] -- "
           "reproduce: %s --runs 1 --seed %llu --nodes %d --steps %llu "
           "--store %s %s",
           (ull)opt->seed, res->v.invariant, res->v.detail, (ull)res->step,
           (ull)res->time, prog, (ull)opt->seed, a->nodes, (ull)a->steps,
           res->refstore ? "refstore" : "mem",
           res->membership ? "--membership" : "--no-membership");
    printf(" %s", res->compaction ? "--compaction" : "--no-compaction");
    if (res->refstore && a->map_kib != 0)
        printf(" --map-kib %llu", (ull)a->map_kib);
    if (a->inject_names != NULL)
        printf(" --inject %s", a->inject_names);
    if (a->durable_strict)
        printf(" --durable-strict");
    if (a->in_flight != 0)
        printf(" --fetches %llu", (ull)a->in_flight);
    printf("\n");
}

static void report_run(const sim_options *opt, const sim_result *res)
{
    const record_stats *r = &res->records;
    const refraft_sweeper_stats *sw = &res->sweepers;
    printf("seed %llu: %s; %d fault phases, %d liveness tests passed, %llu "
           "crashes, %llu store failures; %llu refs proposed, %llu entries "
           "committed; %llu messages (%llu lost, %llu duplicated); %llu "
           "steps, %llu ms [%s]\n",
           (ull)opt->seed, res->failed ? "FAILED" : "ok", res->fault_phases,
           res->heals_passed, (ull)res->crashes, (ull)res->store_failures,
           (ull)res->proposed, (ull)res->committed, (ull)res->messages.sent,
           (ull)res->messages.dropped, (ull)res->messages.duplicated,
           (ull)res->step, (ull)res->time, res->config);
    printf("seed %llu: records: %llu pushed (%llu lost, %llu late), %llu "
           "corrupted (%llu pushes refused, %llu fetched copies rejected), "
           "%llu wipes; sweepers: %llu fetches (%llu timed out), %llu "
           "records fetched, %llu VOIDs, %llu orphans collected; converged "
           "after %llu heals, at most %llu ms (bound %llu), %llu records "
           "missing\n",
           (ull)opt->seed, (ull)r->pushed, (ull)r->never, (ull)r->late,
           (ull)r->corrupted, (ull)r->refused, (ull)sw->digest_failures,
           (ull)r->wipes, (ull)r->fetches, (ull)r->timeouts, (ull)sw->fetched,
           (ull)sw->voided, (ull)sw->orphans_collected, (ull)res->converged,
           (ull)res->converge_max_ms, (ull)res->converge_max_bound,
           (ull)res->converge_max_missing);
    printf("seed %llu: storage: %s; %llu syncs of staged entries, %llu "
           "failed (injected), %llu of them followed by a crash\n",
           (ull)opt->seed, res->stage ? "stage/sync" : "no stage/sync",
           (ull)res->syncs, (ull)res->sync_failures, (ull)res->sync_crashes);
    printf("seed %llu: snapshots: %s; %llu compactions (%llu asked by the "
           "schedule), %llu installs; transfers: %llu asked, %llu under way "
           "(%llu refused busy), %llu ended\n",
           (ull)opt->seed, res->compaction ? "compaction" : "no compaction",
           (ull)res->compactions, (ull)res->compacts, (ull)res->installs,
           (ull)res->transfers.asked, (ull)res->transfers.started,
           (ull)res->transfers.busy, (ull)res->transfers.ended);
    if (!res->membership)
        return;
    const change_stats *c = &res->changes;
    printf("seed %llu: membership: %llu changes asked, %llu learners added "
           "(%llu back with their disk, %llu as new servers), %llu "
           "promoted, %llu removed (%llu leaders themselves), %llu shut "
           "down; refused %llu times busy, %llu lagging; %llu given up\n",
           (ull)opt->seed, (ull)c->asked, (ull)c->added, (ull)c->returned,
           (ull)c->renewed, (ull)c->promoted, (ull)c->removed, (ull)c->self,
           (ull)c->shut_down, (ull)c->busy, (ull)c->lagging, (ull)c->given_up);
}

/* Record convergence over all runs: heals that had records to fetch. */
typedef struct tally {
    uint64_t converged;
    uint64_t total_ms;
    uint64_t max_ms;
    uint64_t max_seed;
    uint64_t voided;
    uint64_t wipes;
    uint64_t rejected;
    uint64_t staged_runs;
    uint64_t syncs;
    uint64_t sync_failures;
    uint64_t sync_crashes;
    uint64_t member_runs;
    change_stats changes;
    uint64_t compaction_runs;
    uint64_t compacted_runs; /* with at least one compaction */
    uint64_t installed_runs; /* with at least one install */
    uint64_t compactions;
    uint64_t installs;
    transfer_stats transfers;
} tally;

static void tally_run(tally *t, const sim_options *opt, const sim_result *res)
{
    t->converged += res->converged;
    t->total_ms += res->converge_total_ms;
    if (res->converge_max_ms > t->max_ms) {
        t->max_ms = res->converge_max_ms;
        t->max_seed = opt->seed;
    }
    t->voided += res->sweepers.voided;
    t->wipes += res->records.wipes;
    t->rejected += res->records.refused + res->sweepers.digest_failures;
    t->staged_runs += res->stage;
    t->syncs += res->syncs;
    t->sync_failures += res->sync_failures;
    t->sync_crashes += res->sync_crashes;
    t->member_runs += res->membership;
    const change_stats *c = &res->changes;
    t->changes.added += c->added;
    t->changes.promoted += c->promoted;
    t->changes.removed += c->removed;
    t->changes.self += c->self;
    t->changes.renewed += c->renewed;
    t->changes.returned += c->returned;
    t->changes.given_up += c->given_up;
    t->compaction_runs += res->compaction;
    t->compacted_runs += res->compactions > 0;
    t->installed_runs += res->installs > 0;
    t->compactions += res->compactions;
    t->installs += res->installs;
    t->transfers.asked += res->transfers.asked;
    t->transfers.started += res->transfers.started;
    t->transfers.busy += res->transfers.busy;
    t->transfers.ended += res->transfers.ended;
}

/*
 * LMDB allocates about 3 MiB for each environment it opens (its dirty page
 * lists), and a run on refstore opens hundreds: one per restart.  glibc's
 * adaptive thresholds hand such blocks back to the kernel on free, so each
 * open faulted them in and zeroed them afresh: half the time of a refstore
 * run (perf).  Fixed thresholds keep them on the heap, warm.
 */
static void keep_large_blocks(void)
{
#ifdef M_MMAP_THRESHOLD
    mallopt(M_MMAP_THRESHOLD, 8 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
}

int main(int argc, char **argv)
{
    cli_args a;
    if (parse_args(argc, argv, &a) != 0) {
        usage(stderr);
        return 2;
    }
    if (a.demo)
        return demo_run() == 0 ? 0 : 1;
    keep_large_blocks();
    uint64_t passed = 0, failed = 0;
    tally t = {0};
    for (uint64_t i = 0; i < a.runs; i++) {
        sim_options opt = {
            .n_nodes = a.nodes,
            .seed = a.seed + i,
            .steps = a.steps,
            .inject_bugs = a.inject,
            .sim_inject = a.sim_inject,
            .store = a.store,
            .map_size = (size_t)a.map_kib * 1024,
            .verbose = a.verbose,
            .durable_strict = a.durable_strict,
            .in_flight = (uint32_t)a.in_flight,
            .membership = a.membership,
            .compaction = a.compaction,
        };
        sim_result res;
        sim_run(&opt, &res);
        /* A run cut short proves nothing: stop without a tally.  Its
         * directory is already removed. */
        if (tmpdir_interrupted()) {
            printf("interrupted in the run of seed %llu\n", (ull)opt.seed);
            return 130;
        }
        if (a.verbose)
            report_run(&opt, &res);
        if (res.failed)
            report_failure(argv[0], &a, &opt, &res);
        if (res.failed)
            failed++;
        else
            passed++;
        tally_run(&t, &opt, &res);
    }
    printf("records: %llu VOIDs, %llu wipes, %llu corrupted copies refused; "
           "after %llu heals with records missing, every node held every "
           "committed record within %llu ms at most (seed %llu), %llu ms "
           "on average\n",
           (ull)t.voided, (ull)t.wipes, (ull)t.rejected, (ull)t.converged,
           (ull)t.max_ms, (ull)t.max_seed,
           (ull)(t.converged > 0 ? t.total_ms / t.converged : 0));
    printf("storage: %llu runs with stage/sync, %llu syncs of staged "
           "entries, %llu failed (injected), %llu of them followed by a "
           "crash\n",
           (ull)t.staged_runs, (ull)t.syncs, (ull)t.sync_failures,
           (ull)t.sync_crashes);
    printf("membership: %llu runs with changes: %llu learners added (%llu "
           "back with their disk, %llu as new servers), %llu promoted, %llu "
           "removed (%llu leaders themselves), %llu changes given up\n",
           (ull)t.member_runs, (ull)t.changes.added, (ull)t.changes.returned,
           (ull)t.changes.renewed, (ull)t.changes.promoted,
           (ull)t.changes.removed, (ull)t.changes.self,
           (ull)t.changes.given_up);
    printf("snapshots: %llu runs with compaction, %llu of them compacted "
           "(%llu compactions), %llu installed snapshots (%llu installs); "
           "transfers: %llu asked, %llu under way, %llu refused busy, %llu "
           "ended\n",
           (ull)t.compaction_runs, (ull)t.compacted_runs, (ull)t.compactions,
           (ull)t.installed_runs, (ull)t.installs, (ull)t.transfers.asked,
           (ull)t.transfers.started, (ull)t.transfers.busy,
           (ull)t.transfers.ended);
    printf("%llu passed, %llu failed\n", (ull)passed, (ull)failed);
    return failed == 0 ? 0 : 1;
}
