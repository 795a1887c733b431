/* proc_cluster.c - the 3-node cluster of the HTTP benchmarks: node
 * processes on 127.0.0.1 under a fresh directory, and their records. */
#define _GNU_SOURCE /* mkdtemp */

#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"
#include "proc_cluster.h"
#include "util.h"

/* Where `refraft` is: beside this executable. */
static int find_refraft(const char *what, char *out, size_t cap)
{
    char self[4096];
    if (cli_self_exe(self, sizeof self) != 0)
        return -1;
    snprintf(out, cap, "%s/refraft", dirname(self));
    struct stat st;
    if (stat(out, &st) != 0) {
        fprintf(stderr, "refraft-bench %s: %s: %s\n", what, out,
                strerror(errno));
        return -1;
    }
    return 0;
}

/* The token cli_cluster_init wrote, without its newline. */
static int read_token(proc_cluster *p)
{
    FILE *f = fopen(p->c.token_file, "r");
    if (f == NULL || fgets(p->token, (int)sizeof p->token, f) == NULL) {
        if (f != NULL)
            fclose(f);
        fprintf(stderr, "refraft-bench %s: cannot read %s\n", p->what,
                p->c.token_file);
        return -1;
    }
    fclose(f);
    p->token[strcspn(p->token, "\r\n")] = '\0';
    return 0;
}

int proc_cluster_init(proc_cluster *p, const char *what)
{
    memset(p, 0, sizeof *p);
    p->what = what;
    char exe[4096];
    if (find_refraft(what, exe, sizeof exe) != 0)
        return -1;
    const char *base = getenv("TMPDIR");
    snprintf(p->dir, sizeof p->dir, "%s/refraft-bench-%s-XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp", what);
    if (mkdtemp(p->dir) == NULL) {
        fprintf(stderr, "refraft-bench %s: mkdtemp: %s\n", what,
                strerror(errno));
        return -1;
    }
    int rv = cli_cluster_init(&p->c, p->dir, PROC_NODES, NULL, exe, true);
    p->have_c = rv == 0;
    if (rv == 0) {
        p->c.log_level = "warn";
        p->c.election_ms = PROC_FOLLOWER_ELECTION_MS;
    }
    for (size_t i = 0; i < PROC_NODES && rv == 0; i++)
        rv = cli_cluster_new_port(&p->c, i);
    if (rv == 0)
        rv = read_token(p);
    if (rv != 0) {
        proc_cluster_free(p);
        return -1;
    }
    return 0;
}

int proc_cluster_free(proc_cluster *p)
{
    int rv = 0;
    if (p->have_c) {
        if (cli_cluster_stop_all(&p->c, 10000) != 0)
            rv = -1;
        cli_cluster_free(&p->c);
        p->have_c = false;
    }
    if (p->dir[0] != '\0')
        cli_rmtree(p->dir);
    p->dir[0] = '\0';
    return rv;
}

int proc_cluster_start(proc_cluster *p, size_t i, const char *election_ms)
{
    p->c.election_ms = election_ms;
    int rv = cli_cluster_start_node(&p->c, i, PROC_START_TIMEOUT_MS);
    p->c.election_ms = PROC_FOLLOWER_ELECTION_MS;
    return rv;
}

int proc_cluster_run_leader(proc_cluster *p,
                            void (*on_turn)(void *ctx, host *h), void *ctx,
                            bool append_before_send,
                            volatile sig_atomic_t *stop)
{
    /* This process is the leader's: tuned as `refraft node` tunes its
     * own. */
    host_tune_malloc();
    const cli_node *n = p->c.nodes;
    if (mkdir(n[0].dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "refraft-bench %s: %s: %s\n", p->what, n[0].dir,
                strerror(errno));
        return -1;
    }
    host_peer_config peers[PROC_NODES - 1];
    for (size_t i = 1; i < PROC_NODES; i++)
        peers[i - 1] = (host_peer_config){n[i].id, n[i].url};
    host_config cfg = {
        .id = n[0].id,
        .listen_port = n[0].port,
        .url = n[0].url,
        .data_dir = n[0].dir,
        .peers = peers,
        .n_peers = PROC_NODES - 1,
        .token = p->token,
        .election_timeout_ms = PROC_LEADER_ELECTION_MS,
        .log_level = HOST_LOG_WARN,
        .on_turn = on_turn,
        .turn_ctx = ctx,
        .append_before_send = append_before_send,
    };
    host *h = NULL;
    char err[512];
    if (host_create(&cfg, &h, err, sizeof err) != 0) {
        fprintf(stderr, "refraft-bench %s: %s\n", p->what, err);
        return -1;
    }
    int rv = 0;
    for (size_t i = 1; i < PROC_NODES && rv == 0; i++)
        rv = proc_cluster_start(p, i, PROC_FOLLOWER_ELECTION_MS);
    if (rv == 0)
        rv = host_run(h, stop);
    host_destroy(h);
    return rv == 0 ? 0 : -1;
}

int proc_leader_ready(const proc_cluster *p, host *h, uint64_t *deadline_us)
{
    const refraft_node *node = host_node(h);
    if (*deadline_us == 0)
        *deadline_us = bench_now_us() + PROC_LEADER_TIMEOUT_MS * 1000u;
    if (refraft_role(node) == REFRAFT_LEADER &&
        refraft_commit_index(node) >= refraft_last_index(node))
        return 1;
    if (bench_now_us() <= *deadline_us)
        return 0;
    fprintf(stderr, "refraft-bench %s: the load's node did not become leader\n",
            p->what);
    return -1;
}

uint64_t proc_status_kib(pid_t pid, const char *field)
{
    char path[64], line[256];
    if (pid == 0)
        snprintf(path, sizeof path, "/proc/self/status");
    else
        snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    FILE *f = fopen(path, "r");
    uint64_t kib = 0;
    size_t len = strlen(field);
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, field, len) == 0 && line[len] == ':')
            kib = strtoull(line + len + 1, NULL, 10);
    fclose(f);
    return kib;
}

uint64_t proc_rss_anon_kib(pid_t pid)
{
    return proc_status_kib(pid, "RssAnon");
}

size_t proc_record_id(uint64_t seq, char out[PROC_ID_CAP])
{
    return (size_t)snprintf(out, PROC_ID_CAP, "r%016" PRIx64, seq);
}

void proc_record_bytes(uint64_t seq, uint8_t *bytes, size_t size)
{
    size_t head = sizeof seq < size ? sizeof seq : size;
    memcpy(bytes, &seq, head);
    memset(bytes + head, 0x5a, size - head);
}
