/* proc_cluster.h - the 3-node cluster of the HTTP benchmarks (cluster,
 * cluster --client-http, recover): node processes on 127.0.0.1 under a
 * fresh directory, and the records they write. */
#ifndef REFRAFT_BENCH_PROC_CLUSTER_H
#define REFRAFT_BENCH_PROC_CLUSTER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cluster.h"
#include "host.h"

#define PROC_NODES 3
/* Node 0's election time-out is short (the node's default), the others'
 * long: the node that is meant to lead (the one the load goes to) does. */
#define PROC_LEADER_ELECTION_MS 1000
#define PROC_LEADER_ELECTION_ARG "1000" /* the same, for --election-ms */
#define PROC_FOLLOWER_ELECTION_MS "5000"
#define PROC_START_TIMEOUT_MS 20000
#define PROC_LEADER_TIMEOUT_MS 20000
/* The largest record id proc_record_id writes, with its NUL. */
#define PROC_ID_CAP 32

/*
 * A cluster under DIR = $TMPDIR/refraft-bench-WHAT-XXXXXX (or /tmp/...):
 * node K's data in DIR/nK, the token in DIR/token, each node on a port of
 * its own.  The nodes run the `refraft` executable beside refraft-bench
 * and die with this process (PR_SET_PDEATHSIG).
 */
typedef struct proc_cluster {
    const char *what; /* the subcommand, for messages and the directory */
    char dir[4096];
    char token[256]; /* the cluster token, without its newline */
    cli_cluster c;
    bool have_c;
} proc_cluster;

/* Make the directory, find `refraft`, set up three nodes with ports
 * (none started).  Prints what fails.  Returns 0, or -1 with nothing left
 * to free (the directory is removed). */
int proc_cluster_init(proc_cluster *p, const char *what);

/* SIGTERM every node started, wait for each (SIGKILL after 10 s), free,
 * remove the directory.  Returns 0, or -1 when a node did not stop
 * cleanly (it is named on stderr). */
int proc_cluster_free(proc_cluster *p);

/* Start node i as a `refraft node` process with election time-out
 * election_ms and wait until it answers.  Prints what fails; returns 0 or
 * -1. */
int proc_cluster_start(proc_cluster *p, size_t i, const char *election_ms);

/*
 * Run node 0 inside this process (host_create, host_run) with on_turn
 * called on each turn of its loop, after starting nodes 1 and 2 as
 * processes, until *stop becomes non-zero.  Returns 0 or -1 (printed).
 */
int proc_cluster_run_leader(proc_cluster *p,
                            void (*on_turn)(void *ctx, host *h), void *ctx,
                            bool append_before_send,
                            volatile sig_atomic_t *stop);

/* In on_turn, until node 0 leads with its whole log committed: 1 once it
 * does, 0 while it does not yet, -1 (printed) PROC_LEADER_TIMEOUT_MS
 * after the first call (*deadline_us, 0 before it). */
int proc_leader_ready(const proc_cluster *p, host *h, uint64_t *deadline_us);

/* The field of /proc/PID/status (pid 0: this process) given in kB, as
 * "RssAnon" or "VmHWM", in KiB; 0 when unknown. */
uint64_t proc_status_kib(pid_t pid, const char *field);
/* Resident anonymous memory of process pid (0: this one), in KiB: the
 * heap and stacks, not LMDB's file-backed map.  0 when unknown. */
uint64_t proc_rss_anon_kib(pid_t pid);

/* The id of record seq ("r" and 16 hex digits, NUL-terminated): ids run
 * in sequence, as a log's offsets do, so new records go to the end of the
 * store's tree.  Returns its length. */
size_t proc_record_id(uint64_t seq, char out[PROC_ID_CAP]);

/* The size bytes of record seq: seq's 8 bytes (fewer when size is
 * smaller), then 0x5a. */
void proc_record_bytes(uint64_t seq, uint8_t *bytes, size_t size);

#endif /* REFRAFT_BENCH_PROC_CLUSTER_H */
