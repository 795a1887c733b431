/* main.c - refstore-torture: fork a workload, SIGKILL it, check, repeat. */
#define _XOPEN_SOURCE 700 /* fork, kill, mkdtemp, nftw, nanosleep */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "torture.h"

typedef unsigned long long ull;

static const char *const sync_names[] = {"full", "nometa", "none"};
static const char *const kill_names[] = {"time", "io", "mixed"};

/* An I/O kill at a uniform 1..K-th call: a child's start (open, election,
 * re-applying) takes some tens of calls, each operation after it a few. */
#define DEFAULT_MAX_IO 400
/* A child that neither reaches its kill point nor dies in this time is
 * hung: the round fails. */
#define HANG_US (30 * 1000000ull)

/* Longest kill delays by sync mode (full, nometa, none).  A child's start
 * (open, election, re-applying) takes some ms and a few syncs, and the
 * syncs set the pace after it: the delays let about half the timed kills
 * land past the start, in the workload's loop. */
static const uint32_t default_delay_us[] = {250000, 120000, 50000};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: refstore-torture [--kills N] [--seed S] [--dir DIR] "
            "[--verbose]\n"
            "         [--sync full|nometa|none] [--kill-at time|io|mixed]\n"
            "         [--max-delay-us D] [--max-io K] [--epoch E] "
            "[--map-size BYTES]\n"
            "Each round forks a child that runs a leader node and a "
            "follower log over\n"
            "refstore, SIGKILLs it, reopens both stores and checks them.  "
            "The kill\n"
            "comes after a random 0..D us (time), or when the child is about "
            "to make\n"
            "its random 1..K-th write or sync (io; reproducible from the "
            "seed), or\n"
            "either, by a coin (mixed, the default).  The stores start "
            "afresh every E\n"
            "rounds (default 20).  DIR holds the run's temporary directory "
            "(default\n"
            "$TMPDIR or /tmp); it is removed at the end unless a check "
            "failed.\n"
            "Defaults: 200 kills, a seed from the clock, --sync full, K %u, "
            "D by sync\n"
            "mode (full %u, nometa %u, none %u).\n",
            DEFAULT_MAX_IO, default_delay_us[0], default_delay_us[1],
            default_delay_us[2]);
}

/* Index of name in names[n], or -1. */
static int lookup(const char *const *names, int n, const char *name)
{
    for (int k = 0; k < n; k++)
        if (strcmp(names[k], name) == 0)
            return k;
    return -1;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
        return false;
    *out = v;
    return true;
}

/* Returns 0, 1 to exit successfully (--help), -1 on a bad argument. */
static int parse_args(int argc, char **argv, torture_opts *o)
{
    bool have_seed = false, have_delay = false;
    uint64_t v;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 1;
        } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
            o->verbose = true;
            continue;
        }
        if (val == NULL) {
            fprintf(stderr, "refstore-torture: %s needs a value\n", a);
            return -1;
        }
        i++;
        if (strcmp(a, "--dir") == 0) {
            o->dir = val;
        } else if (strcmp(a, "--sync") == 0) {
            /* The names are in refstore_sync order. */
            if ((o->sync = lookup(sync_names, 3, val)) < 0) {
                fprintf(stderr, "refstore-torture: unknown sync mode %s\n",
                        val);
                return -1;
            }
        } else if (strcmp(a, "--kill-at") == 0) {
            if ((o->kill_at = lookup(kill_names, 3, val)) < 0) {
                fprintf(stderr, "refstore-torture: unknown kill mode %s\n",
                        val);
                return -1;
            }
        } else if (!parse_u64(val, &v)) {
            fprintf(stderr, "refstore-torture: bad number for %s: %s\n", a,
                    val);
            return -1;
        } else if (strcmp(a, "--kills") == 0) {
            o->kills = v;
        } else if (strcmp(a, "--seed") == 0) {
            o->seed = v;
            have_seed = true;
        } else if (strcmp(a, "--max-delay-us") == 0 && v <= UINT32_MAX) {
            o->max_delay_us = (uint32_t)v;
            have_delay = true;
        } else if (strcmp(a, "--max-io") == 0 && v >= 1 && v <= UINT32_MAX) {
            o->max_io = (uint32_t)v;
        } else if (strcmp(a, "--epoch") == 0 && v >= 1 && v <= UINT32_MAX) {
            o->epoch = (uint32_t)v;
        } else if (strcmp(a, "--map-size") == 0) {
            o->map_size = (size_t)v;
        } else {
            fprintf(stderr, "refstore-torture: bad argument %s %s\n", a, val);
            usage(stderr);
            return -1;
        }
    }
    if (!have_seed) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        o->seed = ((uint64_t)ts.tv_sec * 1000003u) ^ (uint64_t)ts.tv_nsec ^
                  ((uint64_t)getpid() << 32);
    }
    if (!have_delay)
        o->max_delay_us = default_delay_us[o->sync];
    return 0;
}

static int
remove_fn(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* rm -rf path; false (with a message) on failure. */
static bool remove_tree(const char *path)
{
    if (nftw(path, remove_fn, 16, FTW_DEPTH | FTW_PHYS) != 0 &&
        errno != ENOENT) {
        fprintf(stderr, "refstore-torture: removing %s: %s\n", path,
                strerror(errno));
        return false;
    }
    return true;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* How a round kills its child. */
typedef struct kill_plan {
    bool io;      /* at an I/O call, else after a time */
    uint64_t arg; /* the call's number (from 1), or microseconds */
} kill_plan;

/*
 * Wait until the child stops or dies, or timeout_us passes.  SIGCHLD is
 * blocked (main), so it can be waited for; a stale one from an earlier
 * child only costs a turn of the loop.  Returns true when waitpid reported
 * the child (stopped or dead: *st says which).
 */
static bool wait_child(pid_t pid, uint64_t timeout_us, int *st)
{
    double end = now_s() + (double)timeout_us / 1e6;
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    for (;;) {
        pid_t w = waitpid(pid, st, WNOHANG | WUNTRACED);
        if (w == pid)
            return true;
        double left = end - now_s();
        if (w < 0 || left <= 0)
            return false;
        struct timespec ts = {.tv_sec = (time_t)left,
                              .tv_nsec =
                                  (long)((left - (double)(time_t)left) * 1e9)};
        (void)sigtimedwait(&chld, NULL, &ts);
    }
}

static void report_exit(int st, const char *where)
{
    if (WIFEXITED(st))
        fprintf(stderr, "FAIL %s: the child exited with status %d (%s)\n",
                where, WEXITSTATUS(st),
                WEXITSTATUS(st) == CHILD_EXIT_VIOLATION ? "it saw a violation"
                : WEXITSTATUS(st) == CHILD_EXIT_ERROR   ? "a call failed"
                                                        : "unexpected");
    else if (WIFSIGNALED(st))
        fprintf(stderr, "FAIL %s: the child died of signal %d\n", where,
                WTERMSIG(st));
}

/*
 * Fork the child, let it run to its kill point, SIGKILL it (by its pid
 * only) and reap it.  Returns true when it died of that kill, having
 * reached the kill point; otherwise says what happened instead.
 */
static bool run_child(const char *dir, const torture_opts *o, uint64_t round,
                      const kill_plan *plan, const char *where)
{
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "FAIL %s: fork: %s\n", where, strerror(errno));
        return false;
    }
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* Die with the parent, whatever kills it. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(CHILD_EXIT_ERROR);
        if (plan->io)
            crashpoint_arm(plan->arg);
        workload_run(dir, o, round);
    }
    int st = 0;
    bool seen = wait_child(pid, plan->io ? HANG_US : plan->arg, &st);
    bool ok = true;
    if (seen && !WIFSTOPPED(st)) { /* it ended by itself */
        report_exit(st, where);
        return false;
    }
    if (plan->io && !seen) {
        fprintf(stderr,
                "FAIL %s: the child neither reached its kill point "
                "nor died in %llu s: hung\n",
                where, HANG_US / 1000000);
        ok = false;
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "FAIL %s: waitpid: %s\n", where, strerror(errno));
            return false;
        }
    }
    if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL) {
        report_exit(st, where); /* it ended just before the kill */
        return false;
    }
    return ok;
}

/* Room for the stores' paths under the run's directory. */
#define ROOT_MAX (PATH_MAX / 2)

typedef struct run {
    torture_opts o;
    char root[ROOT_MAX];  /* the run's temporary directory */
    char store[PATH_MAX]; /* root/stores: the current epoch's stores */
    check_history hist[2];
    uint64_t passed, failed;
    bool keep_root;
    bool fresh; /* the next round starts in fresh stores */
} run;

/* Fresh stores: the old ones go, and so does what the checker knew. */
static bool new_epoch(run *r)
{
    for (int i = 0; i < 2; i++)
        check_history_free(&r->hist[i]);
    if (!remove_tree(r->store))
        return false;
    if (mkdir(r->store, 0700) != 0) {
        fprintf(stderr, "refstore-torture: mkdir %s: %s\n", r->store,
                strerror(errno));
        return false;
    }
    return true;
}

/* Keep a failing epoch's stores for inspection; the next round starts a
 * new epoch. */
static void keep_failed(run *r, uint64_t round)
{
    char kept[PATH_MAX];
    snprintf(kept, sizeof(kept), "%s/failed-round-%llu", r->root, (ull)round);
    if (rename(r->store, kept) == 0)
        fprintf(stderr, "    stores kept in %s\n", kept);
    r->keep_root = true;
}

static void print_round(const char *where, const check_summary sum[2])
{
    printf("%s:", where);
    for (int i = 0; i < 2; i++)
        printf(" %s term %llu first %llu last %llu applied %llu commit %llu "
               "data %llu configs %llu map %zu KiB;",
               i == 0 ? "leader" : "follower", (ull)sum[i].term,
               (ull)sum[i].first, (ull)sum[i].last, (ull)sum[i].applied,
               (ull)sum[i].commit, (ull)sum[i].data, (ull)sum[i].configs,
               sum[i].map_size / 1024);
    printf(" staged %llu; %.1f MB of records\n", (ull)sum[1].staged,
           (double)(sum[0].record_bytes + sum[1].record_bytes) / 1e6);
}

/* The first child of an epoch creates the stores, in a few tens of I/O
 * calls: its I/O kill comes among them, where otherwise it would only
 * rarely. */
#define CREATE_IO 40

static kill_plan plan_kill(const torture_opts *o, rng *prng, bool creating)
{
    kill_plan p;
    p.io = o->kill_at == KILL_AT_IO ||
           (o->kill_at == KILL_AT_MIXED && rng_pct(prng, 50));
    uint64_t max_io = creating && o->max_io > CREATE_IO ? CREATE_IO : o->max_io;
    p.arg = p.io ? 1 + rng_below(prng, max_io)
                 : rng_below(prng, (uint64_t)o->max_delay_us + 1);
    return p;
}

static bool one_round(run *r, uint64_t round, rng *prng)
{
    bool creating = r->fresh || round % r->o.epoch == 0;
    r->fresh = false;
    if (creating && !new_epoch(r))
        return false;
    kill_plan plan = plan_kill(&r->o, prng, creating);
    char where[96];
    snprintf(where, sizeof(where), "round %llu (kill %s %llu%s)", (ull)round,
             plan.io ? "at I/O call" : "after", (ull)plan.arg,
             plan.io ? "" : " us");
    bool ok = run_child(r->store, &r->o, round, &plan, where);
    check_summary sum[2];
    int failures = 0;
    for (int i = 0; i < 2; i++) {
        char w[160];
        snprintf(w, sizeof(w), "%s: %s", where, i == 0 ? "leader" : "follower");
        failures +=
            check_store(r->store, i == 0, &r->o, &r->hist[i], &sum[i], w);
    }
    if (r->o.verbose)
        print_round(where, sum);
    if (ok && failures == 0) {
        r->passed++;
        return true;
    }
    r->failed++;
    keep_failed(r, round);
    r->fresh = true;
    return true;
}

static void print_repro(const run *r, const char *argv0)
{
    fprintf(stderr,
            "reproduce: %s --kills %llu --seed %llu --sync %s --kill-at %s "
            "--max-delay-us %u --max-io %u --epoch %u",
            argv0, (ull)r->o.kills, (ull)r->o.seed, sync_names[r->o.sync],
            kill_names[r->o.kill_at], r->o.max_delay_us, r->o.max_io,
            r->o.epoch);
    if (r->o.map_size != 0)
        fprintf(stderr, " --map-size %zu", r->o.map_size);
    fputc('\n', stderr);
    if (r->o.kill_at != KILL_AT_IO)
        fprintf(stderr, "    (timed kills move with the machine's speed: "
                        "the failure may take a few runs to recur; with "
                        "--kill-at io a run repeats exactly)\n");
}

int main(int argc, char **argv)
{
    /* LMDB callocs a 2 MiB dirty-page list for every environment it
     * opens, four per round here.  Once the first is freed, glibc's
     * adaptive mmap threshold serves the next from the heap, where calloc
     * must clear it, faulting in every page: I/O-kill rounds ran 4x
     * slower.  With a fixed threshold the list is freshly mmapped, zero
     * already, and only the pages LMDB touches are faulted in.  (A no-op
     * under the sanitizers' allocator.) */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    static run r; /* zeroed; large */
    r.o.kills = 200;
    r.o.sync = REFSTORE_SYNC_FULL;
    r.o.epoch = 20;
    r.o.kill_at = KILL_AT_MIXED;
    r.o.max_io = DEFAULT_MAX_IO;
    int rv = parse_args(argc, argv, &r.o);
    if (rv != 0)
        return rv > 0 ? 0 : 2;
    if (r.o.kill_at != KILL_AT_TIME && !crashpoint_works()) {
        fprintf(stderr, "refstore-torture: the write and sync calls are not "
                        "interposed (see crashpoint.c); use --kill-at time\n");
        return 2;
    }
    const char *base = r.o.dir;
    if (base == NULL)
        base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    if ((size_t)snprintf(r.root, sizeof(r.root), "%s/refstore-torture.XXXXXX",
                         base) >= sizeof(r.root)) {
        fprintf(stderr, "refstore-torture: directory name too long: %s\n",
                base);
        return 2;
    }
    if (mkdtemp(r.root) == NULL) {
        fprintf(stderr, "refstore-torture: mkdtemp under %s: %s\n", base,
                strerror(errno));
        return 2;
    }
    snprintf(r.store, sizeof(r.store), "%s/stores", r.root);
    /* Blocked, SIGCHLD can be waited for with a timeout (wait_child). */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    printf("refstore-torture: seed %llu, %llu kills, sync %s, kill at %s "
           "(0..%u us, call 1..%u), fresh stores every %u kills, in %s\n",
           (ull)r.o.seed, (ull)r.o.kills, sync_names[r.o.sync],
           kill_names[r.o.kill_at], r.o.max_delay_us, r.o.max_io, r.o.epoch,
           r.root);
    rng prng = {.s = r.o.seed};
    double t0 = now_s();
    bool ok = true;
    for (uint64_t round = 0; ok && round < r.o.kills; round++)
        ok = one_round(&r, round, &prng);
    double secs = now_s() - t0;
    for (int i = 0; i < 2; i++)
        check_history_free(&r.hist[i]);
    uint64_t done = r.passed + r.failed;
    printf("%llu kills in %.1f s: %.1f kills/s (sync %s)\n", (ull)done, secs,
           secs > 0 ? (double)done / secs : 0.0, sync_names[r.o.sync]);
    if (r.failed > 0 || !ok) {
        print_repro(&r, argv[0]);
        fprintf(stderr, "the run's directory is kept: %s\n", r.root);
    } else if (!remove_tree(r.root)) {
        ok = false;
    }
    printf("%llu passed, %llu failed\n", (ull)r.passed, (ull)r.failed);
    return r.failed == 0 && ok ? 0 : 1;
}
