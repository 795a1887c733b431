/* recover.c - refraft-bench recover: how fast a follower whose records
 * were wiped gets them back through its sweeper, against a plain
 * download of the same bytes from the same leader in the same run. */
#define _GNU_SOURCE

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "bench.h"
#include "internal.h" /* the host fetcher's batch limits */
#include "proc_cluster.h"
#include "recover.h"
#include "util.h"

#define LOAD_WINDOW 1024 /* writes in flight while loading */
#define RECORDS_MAX 10000000u
#define POLL_MS 5
#define CATCH_UP_TIMEOUT_MS 60000
#define FOLLOWER 1 /* the node that loses its records: n2 */
#define DOWNLOAD_RUNS 3

typedef struct recover_args {
    uint64_t records;
    unsigned size;
    double seconds_limit;
} recover_args;

typedef struct recover_run recover_run;

/* One write of the load in flight: its bytes stay here until done. */
typedef struct write_slot {
    recover_run *r;
    uint8_t *bytes;
} write_slot;

/*
 * Two threads.  The main one runs node 0, the leader, in this process
 * (host_run) and loads the records from on_turn.  Once every write is
 * answered, on_turn starts the driver, which stops, wipes and restarts
 * the follower and downloads the baseline, all through `refraft`
 * processes and HTTP; it touches nothing of the host, and the main
 * thread touches nothing of the cluster (p->c) until it has joined the
 * driver.  Meanwhile they share only the atomics below; the driver's
 * results are read after the join.
 */
struct recover_run {
    const recover_args *a;
    proc_cluster *p;
    uint64_t leader_deadline_us;
    bool ready;
    uint64_t written, answered, failed;
    char first_failure[256];
    write_slot *slots;
    size_t *free_slots;
    size_t n_free;
    bool driving;
    pthread_t driver;
    _Atomic uint64_t last_index; /* the leader's, once loaded */
    _Atomic bool driver_done;
    _Atomic bool abandon; /* the leader stopped: the driver gives up */
    volatile sig_atomic_t stop;
    int status;
    /* The driver's results. */
    double recover_s, start_s;
    uint64_t fetched;
    recover_download_result dl;
};

static int usage(void)
{
    fprintf(stderr,
            "usage: refraft-bench recover [--records N] [--size S] "
            "[--seconds-limit T]\n"
            "  3 nodes on 127.0.0.1, this process leading: N records of S "
            "bytes (default\n"
            "  100000 of 256) written %d at a time; then follower n2 is "
            "stopped, its\n"
            "  records wiped (`refraft wipe-records`) and it is restarted: "
            "the time until\n"
            "  its data index reaches the leader's last index (at most T "
            "s, default 600),\n"
            "  against a plain download of the same records from the "
            "leader (POST\n"
            "  /raft/v1/fetch, batched as the node's fetcher does, one "
            "request after\n"
            "  another; the median of %d).  One JSON line.\n",
            LOAD_WINDOW, DOWNLOAD_RUNS);
    return 2;
}

static int parse(int argc, char **argv, recover_args *a)
{
    *a = (recover_args){.records = 100000, .size = 256, .seconds_limit = 600};
    if (argc % 2 != 0)
        return -1;
    for (int i = 2; i + 1 < argc; i += 2) {
        char *end = NULL;
        double v = strtod(argv[i + 1], &end);
        if (*end != '\0' || v <= 0)
            return -1;
        if (strcmp(argv[i], "--records") == 0 && v <= RECORDS_MAX)
            a->records = (uint64_t)v;
        else if (strcmp(argv[i], "--size") == 0 && v <= (1u << 20))
            a->size = (unsigned)v;
        else if (strcmp(argv[i], "--seconds-limit") == 0 && v <= 86400)
            a->seconds_limit = v;
        else
            return -1;
    }
    return a->records >= 1 && a->size >= 1 ? 0 : -1;
}

/* ---- the driver: stop, wipe, restart, wait; then the download --------- */

/* Wait until node i's data index reaches target; *st gets its last
 * status.  Returns 0, or -1 after timeout_ms. */
static int wait_data_index(recover_run *r, size_t i, uint64_t target,
                           uint64_t timeout_ms, cli_status *st)
{
    proc_cluster *p = r->p;
    uint64_t deadline = cli_now_ms() + timeout_ms;
    for (;;) {
        if (cli_cluster_status(&p->c, i, st) == 0 && st->data_index >= target)
            return 0;
        if (atomic_load(&r->abandon))
            return -1;
        if (cli_now_ms() >= deadline) {
            fprintf(stderr,
                    "refraft-bench recover: %s's data index is %" PRIu64
                    ", not %" PRIu64 ", after %" PRIu64 " ms\n",
                    p->c.nodes[i].id, st->data_index, target, timeout_ms);
            return -1;
        }
        cli_sleep_ms(POLL_MS);
    }
}

static int stop_follower(proc_cluster *p)
{
    cli_cluster_signal(&p->c, FOLLOWER, SIGTERM);
    int status = cli_cluster_reap(&p->c, FOLLOWER, 10000);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    fprintf(stderr, "refraft-bench recover: %s did not stop cleanly\n",
            p->c.nodes[FOLLOWER].id);
    return -1;
}

/* The follower restarted with its records wiped: the time until it
 * vouches for the whole log again. */
static int recover_follower(recover_run *r, uint64_t target)
{
    proc_cluster *p = r->p;
    cli_status st = {0};
    int rv = stop_follower(p);
    if (rv == 0)
        rv = cli_cluster_wipe_records(&p->c, FOLLOWER);
    if (rv != 0)
        return -1;
    /* With the node's default election time-out, not the long one the
     * followers have under load: the sweeper waits a quarter of it
     * (fetch_delay_ms) before it fetches a record it finds missing. */
    uint64_t t0 = bench_now_us();
    rv = proc_cluster_start(p, FOLLOWER, PROC_LEADER_ELECTION_ARG);
    r->start_s = (double)(bench_now_us() - t0) / 1e6;
    if (rv == 0)
        rv = wait_data_index(r, FOLLOWER, target,
                             (uint64_t)(r->a->seconds_limit * 1000), &st);
    r->recover_s = (double)(bench_now_us() - t0) / 1e6;
    r->fetched = st.sw_fetched;
    return rv;
}

/* The refs to a request of records of size bytes, as the host's fetcher
 * groups them (src/host/fetcher.c): up to HOST_FETCH_BATCH_MAX, and no
 * more once HOST_FETCH_BATCH_BYTES of records are in. */
static unsigned fetch_batch(unsigned size)
{
    uint64_t n = (HOST_FETCH_BATCH_BYTES + (uint64_t)size - 1) / size;
    return n < HOST_FETCH_BATCH_MAX ? (unsigned)n : HOST_FETCH_BATCH_MAX;
}

/* DOWNLOAD_RUNS downloads of every record from the leader; r->dl gets
 * the one of median time (a download of 25 MB takes a fraction of a
 * second, which one stray scheduling delay would skew). */
static int download(recover_run *r)
{
    proc_cluster *p = r->p;
    cli_status st;
    if (cli_cluster_status(&p->c, 0, &st) != 0) {
        fprintf(stderr, "refraft-bench recover: no status from the leader\n");
        return -1;
    }
    /* As the follower's sweeper would ask: its id, the current term. */
    recover_asker who = {p->c.nodes[FOLLOWER].id, p->token, st.term};
    recover_download_result runs[DOWNLOAD_RUNS];
    double seconds[DOWNLOAD_RUNS];
    for (size_t i = 0; i < DOWNLOAD_RUNS; i++) {
        if (recover_download(p->c.nodes[0].url, &who, r->a->records, r->a->size,
                             fetch_batch(r->a->size), &runs[i]) != 0)
            return -1;
        seconds[i] = runs[i].seconds;
    }
    double median = bench_median(seconds, DOWNLOAD_RUNS);
    for (size_t i = 0; i < DOWNLOAD_RUNS; i++)
        if (runs[i].seconds == median)
            r->dl = runs[i];
    return 0;
}

static void *drive(void *ctx)
{
    recover_run *r = ctx;
    proc_cluster *p = r->p;
    uint64_t target = atomic_load(&r->last_index);
    cli_status st;
    /* Both followers hold the whole log first, so that the sweeper, not
     * replication, is what brings the wiped one's records back. */
    int rv = 0;
    for (size_t i = 1; i < PROC_NODES && rv == 0; i++)
        rv = wait_data_index(r, i, target, CATCH_UP_TIMEOUT_MS, &st);
    if (rv == 0)
        rv = recover_follower(r, target);
    if (rv == 0)
        rv = download(r);
    /* The restarted follower is this thread's child, and is killed when
     * the thread ends (PR_SET_PDEATHSIG): stop it here, cleanly. */
    if (p->c.nodes[FOLLOWER].pid > 0 && stop_follower(p) != 0)
        rv = -1;
    r->status = rv == 0 ? 0 : 1;
    atomic_store(&r->driver_done, true);
    return NULL;
}

/* ---- the load, on the leader's loop ----------------------------------- */

static void
on_written(void *ctx, unsigned status, refraft_index index, const char *why)
{
    (void)index;
    write_slot *s = ctx;
    recover_run *r = s->r;
    if (status != 201 && r->failed++ == 0)
        snprintf(r->first_failure, sizeof r->first_failure, "%u %s", status,
                 why);
    r->answered++;
    r->free_slots[r->n_free++] = (size_t)(s - r->slots);
}

static void load(recover_run *r, host *h)
{
    while (r->written < r->a->records && r->n_free > 0) {
        write_slot *s = &r->slots[r->free_slots[r->n_free - 1]];
        uint64_t seq = r->written + 1;
        char id[PROC_ID_CAP];
        size_t id_len = proc_record_id(seq, id);
        proc_record_bytes(seq, s->bytes, r->a->size);
        if (host_write(h, (const uint8_t *)id, id_len, s->bytes, r->a->size,
                       on_written, s) != 0)
            return; /* this turn's batch is full */
        r->n_free--;
        r->written++;
    }
}

static void on_turn(void *ctx, host *h)
{
    recover_run *r = ctx;
    if (r->driving) {
        if (atomic_load(&r->driver_done))
            r->stop = 1;
        return;
    }
    if (!r->ready) {
        int ready = proc_leader_ready(r->p, h, &r->leader_deadline_us);
        r->ready = ready > 0;
        if (ready < 0) {
            r->status = 1;
            r->stop = 1;
        }
        return;
    }
    load(r, h);
    if (r->answered < r->a->records)
        return;
    if (r->failed > 0) {
        fprintf(stderr,
                "refraft-bench recover: %" PRIu64 " writes failed; the "
                "first: %s\n",
                r->failed, r->first_failure);
        r->status = 1;
        r->stop = 1;
        return;
    }
    atomic_store(&r->last_index, refraft_last_index(host_node(h)));
    if (pthread_create(&r->driver, NULL, drive, r) != 0) {
        fprintf(stderr, "refraft-bench recover: no thread\n");
        r->status = 1;
        r->stop = 1;
        return;
    }
    r->driving = true;
}

static int slots_init(recover_run *r)
{
    r->slots = calloc(LOAD_WINDOW, sizeof *r->slots);
    r->free_slots = calloc(LOAD_WINDOW, sizeof *r->free_slots);
    if (r->slots == NULL || r->free_slots == NULL)
        return -1;
    for (size_t i = 0; i < LOAD_WINDOW; i++) {
        r->slots[i].r = r;
        r->slots[i].bytes = malloc(r->a->size);
        if (r->slots[i].bytes == NULL)
            return -1;
        r->free_slots[r->n_free++] = i;
    }
    return 0;
}

static void slots_free(recover_run *r)
{
    if (r->slots != NULL)
        for (size_t i = 0; i < LOAD_WINDOW; i++)
            free(r->slots[i].bytes);
    free(r->slots);
    free(r->free_slots);
}

static void print(const recover_run *r)
{
    double mb = (double)r->a->records * r->a->size / 1e6;
    double recover = mb / r->recover_s, dl = mb / r->dl.seconds;
    printf("{\"bench\":\"recover\",\"nodes\":3,\"records\":%" PRIu64
           ",\"record_bytes\":%u,\"seconds\":%.3f,\"start_seconds\":%.3f,"
           "\"records_per_s\":%.0f,\"recover_mb_per_s\":%.2f,"
           "\"fetched\":%" PRIu64 ",\"download_batch\":%u,"
           "\"download_runs\":%d,\"download_requests\":%" PRIu64
           ",\"download_seconds\":%.3f,"
           "\"download_mb_per_s\":%.2f,\"ratio_recover_to_download\":%.3f}\n",
           r->a->records, r->a->size, r->recover_s, r->start_s,
           (double)r->a->records / r->recover_s, recover, r->fetched,
           fetch_batch(r->a->size), DOWNLOAD_RUNS, r->dl.requests,
           r->dl.seconds, dl, recover / dl);
    fflush(stdout);
}

int bench_recover(int argc, char **argv)
{
    recover_args a;
    if (parse(argc, argv, &a) != 0)
        return usage();
    proc_cluster p;
    if (proc_cluster_init(&p, "recover") != 0)
        return 1;
    recover_run r;
    memset(&r, 0, sizeof r);
    r.a = &a;
    r.p = &p;
    atomic_init(&r.last_index, 0);
    atomic_init(&r.driver_done, false);
    atomic_init(&r.abandon, false);
    int rv = slots_init(&r);
    if (rv == 0)
        rv = proc_cluster_run_leader(&p, on_turn, &r, false, &r.stop);
    if (r.driving) {
        atomic_store(&r.abandon, true); /* no-op once the driver is done */
        pthread_join(r.driver, NULL);
    }
    if (rv == 0 && r.status == 0)
        print(&r);
    slots_free(&r);
    if (proc_cluster_free(&p) != 0)
        rv = -1;
    return rv == 0 ? r.status : 1;
}
