/* cmd.c - `refraft node` and `refraft wipe-records`: flags to settings. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "host_cmd.h"
#include "refraft/refstore.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static const char node_usage[] =
    "usage: refraft node --id ID --listen HOST:PORT --data DIR\n"
    "                    --token-file FILE [--peer ID=URL ...]\n"
    "                    [--url URL] [--cluster ID] [--election-ms MS]\n"
    "                    [--commit durable|reference] [--no-push]\n"
    "                    [--tls-cert F --tls-key F --tls-ca F]\n"
    "                    [--log-level debug|info|warn|error]\n"
    "                    [--fault-hook] [--join]\n"
    "                    [--compact-entries N] [--compact-keep K]\n"
    "                    [--compact-bytes B] [--snapshot-chunk C]\n"
    "       refraft node --config FILE [flags]\n"
    "Runs one node of the record service.  --listen HOST:0 takes a free\n"
    "port; the node writes its URL to DIR/url once it listens.\n"
    "--fault-hook serves POST /raft/v1/fault, which cuts the node off\n"
    "from chosen peers: a test hook for drills, never for production.\n"
    "--join starts a server to be added to a running cluster (no --peer):\n"
    "it waits until a leader adds it (POST /v1/members, refraft member\n"
    "add); see docs/operations.md.\n"
    "Exit status 2: a bad command line, or the start guard refused a data\n"
    "directory that is new while a peer knew this node from another store\n"
    "(it lost its data: replace it, docs/operations.md).\n"
    "--compact-entries N compacts the log once it holds more than N\n"
    "applied entries (default 65536; 0: no entries bound), down to\n"
    "--compact-keep K entries behind the applied index (default 8192,\n"
    "below N); --compact-bytes B also once its entries take more than B\n"
    "bytes on disk, if more than 2K applied entries are in it (default 0:\n"
    "no bytes bound).  A follower that needs compacted entries gets a\n"
    "snapshot of references, C to a message (--snapshot-chunk, default\n"
    "8192, at most 65536).\n";

/* The token: the file's first line, trailing white space removed. */
static int read_token(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "refraft node: cannot read %s: %s\n", path,
                strerror(errno));
        return -1;
    }
    if (fgets(buf, (int)cap, f) == NULL)
        buf[0] = '\0';
    fclose(f);
    size_t n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
                     buf[n - 1] == ' ' || buf[n - 1] == '\t'))
        buf[--n] = '\0';
    return 0;
}

static int parse_listen(const char *s, char *name, size_t cap, uint16_t *port)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s || (size_t)(colon - s) >= cap)
        return -1;
    char *end;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (*end != '\0' || end == colon + 1 || p > 65535)
        return -1;
    memcpy(name, s, (size_t)(colon - s));
    name[colon - s] = '\0';
    *port = (uint16_t)p;
    return 0;
}

/* A decimal number of 0..UINT64_MAX and nothing else. */
static bool parse_u64(const char *s, uint64_t *out)
{
    if (s[0] < '0' || s[0] > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = (uint64_t)v;
    return true;
}

/* A decimal number of 0..UINT32_MAX and nothing else. */
static bool parse_u32(const char *s, uint32_t *out)
{
    uint64_t v;
    if (!parse_u64(s, &v) || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

static int bad(const char *what)
{
    fprintf(stderr, "refraft node: %s\n%s", what, node_usage);
    return 2;
}

static int run_node(int argc, char **argv)
{
    host_config cfg = {.log_level = HOST_LOG_INFO};
    host_peer_config peers[16];
    char peer_ids[16][REFRAFT_ID_MAX + 1];
    char listen_host[256] = "127.0.0.1";
    char token[512] = "";
    char url_file[4096];
    const char *token_file = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(node_usage, stdout);
            return 0;
        }
        if (strcmp(a, "--no-push") == 0) {
            cfg.no_push = true;
            continue;
        }
        if (strcmp(a, "--fault-hook") == 0) {
            cfg.fault_hook = true;
            continue;
        }
        if (strcmp(a, "--join") == 0) {
            cfg.join = true;
            continue;
        }
        if (v == NULL) {
            fprintf(stderr, "refraft node: %s needs a value\n", a);
            return bad("see the usage");
        }
        i++;
        if (strcmp(a, "--id") == 0) {
            cfg.id = v;
        } else if (strcmp(a, "--listen") == 0) {
            if (parse_listen(v, listen_host, sizeof listen_host,
                             &cfg.listen_port) != 0)
                return bad("--listen takes HOST:PORT");
        } else if (strcmp(a, "--data") == 0) {
            cfg.data_dir = v;
        } else if (strcmp(a, "--token-file") == 0) {
            token_file = v;
        } else if (strcmp(a, "--url") == 0) {
            cfg.url = v;
        } else if (strcmp(a, "--cluster") == 0) {
            cfg.cluster_id = v;
        } else if (strcmp(a, "--election-ms") == 0) {
            cfg.election_timeout_ms = (uint32_t)strtoul(v, NULL, 10);
        } else if (strcmp(a, "--commit") == 0) {
            if (strcmp(v, "durable") == 0)
                cfg.commit_policy = REFRAFT_COMMIT_DURABLE;
            else if (strcmp(v, "reference") == 0)
                cfg.commit_policy = REFRAFT_COMMIT_REFERENCE;
            else
                return bad("--commit takes durable or reference");
        } else if (strcmp(a, "--tls-cert") == 0) {
            cfg.cert_file = v;
        } else if (strcmp(a, "--tls-key") == 0) {
            cfg.key_file = v;
        } else if (strcmp(a, "--tls-ca") == 0) {
            cfg.ca_file = v;
        } else if (strcmp(a, "--log-level") == 0) {
            static const char *levels[] = {"debug", "info", "warn", "error"};
            int k = 0;
            while (k < 4 && strcmp(levels[k], v) != 0)
                k++;
            if (k == 4)
                return bad("--log-level takes debug, info, warn or error");
            cfg.log_level = (host_log_level)k;
        } else if (strcmp(a, "--compact-entries") == 0) {
            if (!parse_u32(v, &cfg.compact_entries))
                return bad("--compact-entries takes a number (0: never)");
            cfg.no_compaction = cfg.compact_entries == 0;
        } else if (strcmp(a, "--compact-keep") == 0) {
            if (!parse_u32(v, &cfg.compact_keep) || cfg.compact_keep == 0)
                return bad("--compact-keep takes a number, 1 or more");
        } else if (strcmp(a, "--compact-bytes") == 0) {
            if (!parse_u64(v, &cfg.compact_bytes))
                return bad("--compact-bytes takes a number (0: no bound)");
        } else if (strcmp(a, "--snapshot-chunk") == 0) {
            if (!parse_u32(v, &cfg.snapshot_chunk) || cfg.snapshot_chunk == 0)
                return bad("--snapshot-chunk takes a number, 1 or more");
        } else if (strcmp(a, "--peer") == 0) {
            const char *eq = strchr(v, '=');
            if (eq == NULL || eq == v || (size_t)(eq - v) > REFRAFT_ID_MAX)
                return bad("--peer takes ID=URL");
            if (cfg.n_peers == 16)
                return bad("too many --peer flags");
            memcpy(peer_ids[cfg.n_peers], v, (size_t)(eq - v));
            peer_ids[cfg.n_peers][eq - v] = '\0';
            peers[cfg.n_peers].id = peer_ids[cfg.n_peers];
            peers[cfg.n_peers].url = eq + 1;
            cfg.n_peers++;
        } else {
            fprintf(stderr, "refraft node: unknown flag %s\n", a);
            return bad("see the usage");
        }
    }
    if (cfg.id == NULL || cfg.data_dir == NULL || token_file == NULL)
        return bad("--id, --data and --token-file are required");
    if (cfg.join && cfg.n_peers > 0)
        return bad("--join and --peer do not go together: a joining node "
                   "learns its peers from the leader that adds it");
    if (read_token(token_file, token, sizeof token) != 0)
        return 1;
    cfg.token = token;
    cfg.listen_host = listen_host;
    cfg.peers = peers;
    snprintf(url_file, sizeof url_file, "%s/url", cfg.data_dir);
    cfg.url_file = url_file;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    host_tune_malloc();
    host *h = NULL;
    char err[512];
    int rv = host_create(&cfg, &h, err, sizeof err);
    if (rv != 0) {
        fprintf(stderr, "refraft node: %s (%s)\n", err, refraft_strerror(rv));
        return 1;
    }
    rv = host_run(h, &stop_requested);
    host_destroy(h);
    /* REFRAFT_EWRONGSTORE from host_run: the start guard refused a data
     * directory that is new while the cluster has a log (guard.c; the
     * log says what to do).  Exit 2, so that scripts and drills tell it
     * from a crash. */
    return rv == 0 ? 0 : rv == REFRAFT_EWRONGSTORE ? 2 : 1;
}

#define CONFIG_ARGS_MAX 128
#define CONFIG_LINE_MAX 4096

/* Trim white space at both ends of s, in place. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' ||
                     s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/*
 * A configuration file holds the flags, one per line, as "name = value"
 * (or "name value"; "no-push", "fault-hook" and "join" alone), with # comments:
 * "id = n1", "peer = n2=http://127.0.0.1:7002" (repeated for each peer).
 * Its flags come first, so those given on the command line too win.
 */
static int read_config(const char *path, char **args, size_t *n, char *store,
                       size_t store_cap)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "refraft node: cannot read %s: %s\n", path,
                strerror(errno));
        return -1;
    }
    char line[CONFIG_LINE_MAX];
    size_t used = 0, lineno = 0;
    int rv = 0;
    while (rv == 0 && fgets(line, sizeof line, f) != NULL) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash != NULL)
            *hash = '\0';
        char *s = trim(line);
        if (*s == '\0')
            continue;
        size_t k = strcspn(s, " \t=");
        char *value = s[k] != '\0' ? trim(s + k + 1) : s + k;
        if (*value == '=')
            value = trim(value + 1);
        s[k] = '\0';
        size_t need = strlen(s) + 3 + strlen(value) + 1;
        if (*n + 2 > CONFIG_ARGS_MAX || used + need > store_cap) {
            fprintf(stderr, "refraft node: %s is too long\n", path);
            rv = -1;
            break;
        }
        char *flag = store + used;
        used += (size_t)sprintf(flag, "--%s", s) + 1;
        args[(*n)++] = flag;
        if (*value != '\0') {
            char *v = store + used;
            used += (size_t)sprintf(v, "%s", value) + 1;
            args[(*n)++] = v;
        }
    }
    fclose(f);
    return rv;
}

int host_cmd_node(int argc, char **argv)
{
    const char *config = NULL;
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--config") == 0)
            config = argv[i + 1];
    if (config == NULL)
        return run_node(argc, argv);
    static char store[CONFIG_ARGS_MAX * 512];
    char *args[CONFIG_ARGS_MAX + 64];
    size_t n = 0;
    args[n++] = argv[0];
    if (read_config(config, args, &n, store, sizeof store) != 0)
        return 2;
    for (int i = 1; i < argc && n < CONFIG_ARGS_MAX + 63; i++) {
        if (strcmp(argv[i], "--config") == 0) {
            i++;
            continue;
        }
        args[n++] = argv[i];
    }
    args[n] = NULL;
    return run_node((int)n, args);
}

int host_cmd_wipe_records(int argc, char **argv)
{
    const char *data = NULL, *cluster = "refraft", *id = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--data") == 0)
            data = argv[i + 1];
        else if (strcmp(argv[i], "--cluster") == 0)
            cluster = argv[i + 1];
        else if (strcmp(argv[i], "--id") == 0)
            id = argv[i + 1];
    }
    if (data == NULL || id == NULL) {
        fputs("usage: refraft wipe-records --data DIR --id ID "
              "[--cluster ID]\n"
              "With the node stopped, drops every record of its store; the "
              "next start fetches them again.\n",
              stderr);
        return 2;
    }
    refstore_options o = {.path = data, .cluster_id = cluster, .node_id = id};
    refstore *s = NULL;
    char err[512];
    int rv = refstore_open(&o, &s, err, sizeof err);
    if (rv != 0) {
        fprintf(stderr, "refraft wipe-records: %s\n", err);
        return 1;
    }
    rv = refstore_records_wipe(s);
    if (rv != 0)
        fprintf(stderr, "refraft wipe-records: %s\n", refstore_errmsg(s));
    refstore_close(s);
    return rv == 0 ? 0 : 1;
}
