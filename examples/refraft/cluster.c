/* cluster.c - a local cluster of `refraft node` processes on 127.0.0.1:
 * ports, token, starting, stopping, status. */
#define _GNU_SOURCE /* prctl, realpath */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cluster.h"
#include "jsonget.h"
#include "util.h"

/* How long one status request may take while waiting for a node. */
#define STATUS_TIMEOUT_MS 1000L
#define POLL_MS 50u
/* Lines of a node's log shown when it fails to start. */
#define LOG_TAIL_LINES 15
#define START_ATTEMPTS 2

static int make_token(const char *path)
{
    uint8_t raw[32];
    char hex[65];
    if (cli_random(raw, sizeof(raw)) != 0)
        return -1;
    cli_hex(raw, sizeof(raw), hex);
    hex[64] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, hex, sizeof(hex));
    int saved = errno;
    if (close(fd) != 0 || n != (ssize_t)sizeof(hex)) {
        errno = n < 0 ? saved : EIO;
        unlink(path);
        return -1;
    }
    return 0;
}

int cli_cluster_init(cli_cluster *c, const char *dir, size_t n,
                     const char *token_file, const char *exe,
                     bool tie_to_parent)
{
    memset(c, 0, sizeof(*c));
    c->tie_to_parent = tie_to_parent;
    c->n = n;
    if (n < 1 || n > CLI_MAX_NODES) {
        fprintf(stderr, "refraft: a cluster has 1 to %d nodes\n",
                CLI_MAX_NODES);
        return -1;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "refraft: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    if (realpath(dir, c->dir) == NULL) {
        fprintf(stderr, "refraft: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    /* Room for "/nK/pid" and the like below it. */
    if (strlen(c->dir) > CLI_PATH_MAX - 64) {
        fprintf(stderr, "refraft: %s: path too long\n", c->dir);
        return -1;
    }
    if (exe != NULL)
        snprintf(c->exe, sizeof(c->exe), "%s", exe);
    else if (cli_self_exe(c->exe, sizeof(c->exe)) != 0) {
        fprintf(stderr, "refraft: cannot find my own executable\n");
        return -1;
    }
    if (token_file != NULL) {
        if (realpath(token_file, c->token_file) == NULL) {
            fprintf(stderr, "refraft: %s: %s\n", token_file, strerror(errno));
            return -1;
        }
    } else {
        if (snprintf(c->token_file, sizeof(c->token_file), "%s/token", c->dir) <
            0)
            return -1;
        if (access(c->token_file, F_OK) != 0 &&
            make_token(c->token_file) != 0) {
            fprintf(stderr, "refraft: %s: %s\n", c->token_file,
                    strerror(errno));
            return -1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        cli_node *nd = &c->nodes[i];
        snprintf(nd->id, sizeof(nd->id), "n%zu", i + 1);
        int w = snprintf(nd->dir, sizeof(nd->dir), "%s/n%zu", c->dir, i + 1);
        if (w < 0 || (size_t)w >= sizeof(nd->dir)) {
            fprintf(stderr, "refraft: %s: path too long\n", c->dir);
            return -1;
        }
        if (mkdir(nd->dir, 0700) != 0 && errno != EEXIST) {
            fprintf(stderr, "refraft: %s: %s\n", nd->dir, strerror(errno));
            return -1;
        }
    }
    if (cli_xfer_init(&c->x, CLI_JSON_MAX) != 0) {
        fprintf(stderr, "refraft: libcurl failed to start\n");
        return -1;
    }
    return 0;
}

void cli_cluster_free(cli_cluster *c)
{
    cli_xfer_free(&c->x);
}

static const char *host_of(const cli_node *nd)
{
    return nd->host[0] != '\0' ? nd->host : "127.0.0.1";
}

static void set_port(cli_node *nd, uint16_t port)
{
    nd->port = port;
    snprintf(nd->url, sizeof(nd->url), "http://%s:%u", host_of(nd), port);
}

int cli_cluster_new_port(cli_cluster *c, size_t i)
{
    uint16_t ports[2];
    /* Two, so that one differs from the port the node had. */
    if (cli_free_ports(ports, 2) != 0) {
        fprintf(stderr, "refraft: no free port: %s\n", strerror(errno));
        return -1;
    }
    set_port(&c->nodes[i], ports[0] != c->nodes[i].port ? ports[0] : ports[1]);
    return 0;
}

static void path_in(const cli_node *nd, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", nd->dir, name);
}

/* In the child, between fork and exec: detach or tie, redirect, exec.
 * Only async-signal-safe calls (and _exit) from here on. */
static void exec_child(const cli_cluster *c, const char *log, pid_t parent,
                       char *const *argv)
{
    if (c->tie_to_parent) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) /* the parent died before prctl */
            _exit(127);
    } else {
        setsid();
    }
    /* Ignored signals stay ignored across exec; the node chooses its own
     * dispositions. */
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int in = open("/dev/null", O_RDONLY);
    int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (in < 0 || out < 0)
        _exit(127);
    dup2(in, STDIN_FILENO);
    dup2(out, STDOUT_FILENO);
    dup2(out, STDERR_FILENO);
    /* The node inherits none of the parent's sockets (libcurl's are not
     * close-on-exec): they would outlive the parent's use of them. */
    close_range(3, ~0u, 0);
    execv(argv[0], argv);
    static const char msg[] = "refraft: exec failed\n";
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)ignored;
    _exit(127);
}

/* fork + exec argv with output appended to node i's log.  Returns the
 * child's pid or -1. */
static pid_t spawn(const cli_cluster *c, size_t i, char *const *argv)
{
    char log[CLI_PATH_MAX + 8];
    path_in(&c->nodes[i], "log", log, sizeof(log));
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0)
        exec_child(c, log, parent, argv);
    if (pid < 0)
        fprintf(stderr, "refraft: fork: %s\n", strerror(errno));
    return pid;
}

static int write_pid(const cli_node *nd)
{
    char path[CLI_PATH_MAX + 8], text[32];
    path_in(nd, "pid", path, sizeof(path));
    int n = snprintf(text, sizeof(text), "%ld\n", (long)nd->pid);
    return cli_write_file(path, text, (size_t)n, 0600);
}

static void remove_pid(const cli_node *nd)
{
    char path[CLI_PATH_MAX + 8];
    path_in(nd, "pid", path, sizeof(path));
    unlink(path);
}

static void show_log(const cli_node *nd)
{
    char path[CLI_PATH_MAX + 8], prefix[32];
    path_in(nd, "log", path, sizeof(path));
    fprintf(stderr, "refraft: the last lines of %s:\n", path);
    snprintf(prefix, sizeof(prefix), "  %s| ", nd->id);
    cli_tail_file(path, LOG_TAIL_LINES, prefix);
}

static void describe_exit(const cli_node *nd, int status)
{
    if (WIFEXITED(status))
        fprintf(stderr, "refraft: %s exited with status %d\n", nd->id,
                WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        fprintf(stderr, "refraft: %s was killed by signal %d\n", nd->id,
                WTERMSIG(status));
}

/* Wait until node i answers GET /v1/status; watch for it exiting. */
static int wait_ready(cli_cluster *c, size_t i, uint64_t timeout_ms)
{
    cli_node *nd = &c->nodes[i];
    char url[CLI_URL_MAX];
    snprintf(url, sizeof(url), "%s/v1/status", nd->url);
    uint64_t deadline = cli_now_ms() + timeout_ms;
    while (!cli_interrupted) {
        int status;
        if (waitpid(nd->pid, &status, WNOHANG) == nd->pid) {
            describe_exit(nd, status);
            nd->pid = 0;
            remove_pid(nd);
            show_log(nd);
            return -1;
        }
        cli_xfer_get(&c->x, url, STATUS_TIMEOUT_MS);
        if (cli_xfer_perform(&c->x) == 0 && c->x.status == 200)
            return 0;
        if (cli_now_ms() >= deadline) {
            fprintf(stderr,
                    "refraft: %s (pid %ld) did not answer at %s "
                    "within %llu ms\n",
                    nd->id, (long)nd->pid, url, (unsigned long long)timeout_ms);
            show_log(nd);
            return -1;
        }
        cli_sleep_ms(POLL_MS);
    }
    return -1;
}

/* The words that start node i: room for them and the strings they point
 * to, filled by node_argv. */
struct node_args {
    char listen[64];
    char peers[CLI_MAX_NODES][96];
    char *argv[24 + 2 * CLI_MAX_NODES + CLI_NODE_FLAGS_MAX];
};

static void node_argv(cli_cluster *c, size_t i, struct node_args *na)
{
    cli_node *nd = &c->nodes[i];
    char *listen = na->listen;
    char(*peers)[96] = na->peers;
    char **argv = na->argv;
    size_t a = 0;
    snprintf(listen, sizeof(na->listen), "%s:%u", host_of(nd), nd->port);
    if (nd->netns[0] != '\0') {
        /* ip netns exec enters the namespace and execs the node: its pid
         * is the node's. */
        argv[a++] = c->ip_exe;
        argv[a++] = "netns";
        argv[a++] = "exec";
        argv[a++] = nd->netns;
    }
    argv[a++] = c->exe;
    argv[a++] = "node";
    argv[a++] = "--id";
    argv[a++] = nd->id;
    argv[a++] = "--listen";
    argv[a++] = listen;
    argv[a++] = "--url";
    argv[a++] = nd->url;
    argv[a++] = "--data";
    argv[a++] = nd->dir;
    argv[a++] = "--token-file";
    argv[a++] = c->token_file;
    if (nd->join)
        argv[a++] = "--join";
    for (size_t j = 0; j < c->n && !nd->join; j++) {
        if (j == i)
            continue;
        snprintf(peers[j], sizeof(na->peers[j]), "%s=%s", c->nodes[j].id,
                 c->nodes[j].url);
        argv[a++] = "--peer";
        argv[a++] = peers[j];
    }
    if (c->log_level != NULL) {
        argv[a++] = "--log-level";
        argv[a++] = (char *)c->log_level;
    }
    if (c->election_ms != NULL) {
        argv[a++] = "--election-ms";
        argv[a++] = (char *)c->election_ms;
    }
    if (c->fault_hook)
        argv[a++] = "--fault-hook";
    for (size_t k = 0; c->node_flags != NULL && k < CLI_NODE_FLAGS_MAX &&
                       c->node_flags[k] != NULL;
         k++)
        argv[a++] = (char *)c->node_flags[k];
    argv[a] = NULL;
}

int cli_cluster_start_node(cli_cluster *c, size_t i, uint64_t timeout_ms)
{
    cli_node *nd = &c->nodes[i];
    struct node_args na;
    node_argv(c, i, &na);
    nd->pid = spawn(c, i, na.argv);
    if (nd->pid < 0) {
        nd->pid = 0;
        return -1;
    }
    if (write_pid(nd) != 0)
        fprintf(stderr, "refraft: %s/pid: %s\n", nd->dir, strerror(errno));
    if (wait_ready(c, i, timeout_ms) != 0) {
        cli_cluster_signal(c, i, SIGKILL);
        cli_cluster_reap(c, i, 1000);
        return -1;
    }
    return 0;
}

int cli_cluster_run_node(cli_cluster *c, size_t i, uint64_t timeout_ms)
{
    cli_node *nd = &c->nodes[i];
    struct node_args na;
    node_argv(c, i, &na);
    pid_t pid = spawn(c, i, na.argv);
    if (pid < 0)
        return -1;
    uint64_t deadline = cli_now_ms() + timeout_ms;
    int status;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR) {
            fprintf(stderr, "refraft: waitpid: %s\n", strerror(errno));
            return -1;
        }
        if (cli_now_ms() >= deadline || cli_interrupted) {
            fprintf(stderr,
                    "refraft: %s (pid %ld) still runs after %llu ms; "
                    "SIGKILL\n",
                    nd->id, (long)pid, (unsigned long long)timeout_ms);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        cli_sleep_ms(POLL_MS);
    }
}

/* Remove what dir holds but its "log", depth first. */
static int wipe_tree(const char *dir, bool top)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    int rv = 0;
    struct dirent *e;
    while (rv == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            (top && strcmp(e->d_name, "log") == 0))
            continue;
        char path[CLI_PATH_MAX];
        int w = snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        struct stat st;
        if (w < 0 || (size_t)w >= sizeof(path) || lstat(path, &st) != 0)
            rv = -1;
        else if (S_ISDIR(st.st_mode))
            rv = wipe_tree(path, false) == 0 && rmdir(path) == 0 ? 0 : -1;
        else
            rv = unlink(path);
    }
    closedir(d);
    return rv;
}

int cli_cluster_wipe_dir(cli_cluster *c, size_t i)
{
    cli_node *nd = &c->nodes[i];
    if (nd->pid > 0) {
        fprintf(stderr, "refraft: %s runs: stop it before wiping it\n", nd->id);
        return -1;
    }
    if (wipe_tree(nd->dir, true) != 0) {
        fprintf(stderr, "refraft: wiping %s: %s\n", nd->dir, strerror(errno));
        return -1;
    }
    return 0;
}

int cli_cluster_add_node(cli_cluster *c, size_t *i)
{
    if (c->n == CLI_MAX_NODES) {
        fprintf(stderr, "refraft: a cluster has at most %d nodes\n",
                CLI_MAX_NODES);
        return -1;
    }
    cli_node *nd = &c->nodes[c->n];
    char dir[CLI_PATH_MAX];
    /* The first nK from c->n + 1 that no node and no directory holds: a
     * node retired from c (a drill replaces voters) keeps its id and its
     * directory. */
    size_t k = c->n + 1;
    for (;; k++) {
        int w = snprintf(dir, sizeof(dir), "%s/n%zu", c->dir, k);
        if (w < 0 || (size_t)w >= sizeof(dir)) {
            fprintf(stderr, "refraft: %s: path too long\n", c->dir);
            return -1;
        }
        char id[16];
        snprintf(id, sizeof(id), "n%zu", k);
        bool taken = access(dir, F_OK) == 0;
        for (size_t j = 0; j < c->n && !taken; j++)
            taken = strcmp(c->nodes[j].id, id) == 0;
        if (!taken)
            break;
    }
    memset(nd, 0, sizeof(*nd));
    snprintf(nd->id, sizeof(nd->id), "n%zu", k);
    memcpy(nd->dir, dir, sizeof(dir));
    if (mkdir(nd->dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "refraft: %s: %s\n", nd->dir, strerror(errno));
        return -1;
    }
    nd->join = true;
    *i = c->n++;
    return cli_cluster_new_port(c, *i);
}

int cli_cluster_start_elsewhere(cli_cluster *c, size_t i, uint64_t timeout_ms)
{
    for (int attempt = 1;; attempt++) {
        if (cli_cluster_new_port(c, i) == 0 &&
            cli_cluster_start_node(c, i, timeout_ms) == 0)
            return 0;
        if (attempt == START_ATTEMPTS || cli_interrupted)
            return -1;
        fprintf(stderr, "refraft: starting %s again on another port\n",
                c->nodes[i].id);
    }
}

static int start_once(cli_cluster *c, uint64_t timeout_ms)
{
    uint16_t ports[CLI_MAX_NODES];
    if (cli_free_ports(ports, c->n) != 0) {
        fprintf(stderr, "refraft: no free ports: %s\n", strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < c->n; i++)
        set_port(&c->nodes[i], ports[i]);
    for (size_t i = 0; i < c->n; i++) {
        if (cli_cluster_start_node(c, i, timeout_ms) != 0) {
            (void)cli_cluster_stop_all(c, 5000);
            return -1;
        }
    }
    return 0;
}

int cli_cluster_start(cli_cluster *c, uint64_t timeout_ms)
{
    /* A port found free can be taken (by any process's outgoing
     * connection, even) before its node binds it; the peers' URLs are
     * fixed at start, so all nodes start over on new ports. */
    for (int attempt = 1;; attempt++) {
        if (start_once(c, timeout_ms) == 0)
            return 0;
        if (attempt == START_ATTEMPTS || cli_interrupted)
            return -1;
        fprintf(stderr, "refraft: starting again on other ports\n");
    }
}

void cli_cluster_signal(cli_cluster *c, size_t i, int sig)
{
    if (c->nodes[i].pid > 0)
        kill(c->nodes[i].pid, sig);
}

int cli_cluster_reap(cli_cluster *c, size_t i, uint64_t timeout_ms)
{
    cli_node *nd = &c->nodes[i];
    if (nd->pid <= 0)
        return -1;
    uint64_t deadline = cli_now_ms() + timeout_ms;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(nd->pid, &status, WNOHANG);
        if (r == nd->pid || (r < 0 && errno == ECHILD))
            break;
        if (cli_now_ms() >= deadline) {
            fprintf(stderr,
                    "refraft: %s (pid %ld) still runs after %llu "
                    "ms; SIGKILL\n",
                    nd->id, (long)nd->pid, (unsigned long long)timeout_ms);
            kill(nd->pid, SIGKILL);
            waitpid(nd->pid, &status, 0);
            break;
        }
        cli_sleep_ms(10);
    }
    nd->pid = 0;
    remove_pid(nd);
    return status;
}

int cli_cluster_stop_all(cli_cluster *c, uint64_t timeout_ms)
{
    int unclean = 0;
    bool ran[CLI_MAX_NODES];
    for (size_t i = 0; i < c->n; i++) {
        ran[i] = c->nodes[i].pid > 0;
        cli_cluster_signal(c, i, SIGTERM);
    }
    uint64_t deadline = cli_now_ms() + timeout_ms;
    for (size_t i = 0; i < c->n; i++) {
        if (!ran[i])
            continue;
        uint64_t now = cli_now_ms();
        int status =
            cli_cluster_reap(c, i, deadline > now ? deadline - now : 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            describe_exit(&c->nodes[i], status);
            unclean++;
        }
    }
    return unclean;
}

int cli_cluster_wipe_records(cli_cluster *c, size_t i)
{
    cli_node *nd = &c->nodes[i];
    char *argv[] = {c->exe, "wipe-records", "--data", nd->dir,
                    "--id", nd->id,         NULL};
    pid_t pid = spawn(c, i, argv);
    if (pid < 0)
        return -1;
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "refraft: waitpid: %s\n", strerror(errno));
            return -1;
        }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    fprintf(stderr, "refraft: wipe-records of %s failed\n", nd->id);
    show_log(nd);
    return -1;
}

int cli_status_parse(const char *json, size_t len, cli_status *st)
{
    memset(st, 0, sizeof(*st));
    bool ok = cli_json_str(json, len, "id", st->id, sizeof(st->id)) &&
              cli_json_str(json, len, "role", st->role, sizeof(st->role)) &&
              cli_json_u64(json, len, "term", &st->term) &&
              cli_json_u64(json, len, "commit_index", &st->commit_index) &&
              cli_json_u64(json, len, "applied_index", &st->applied_index) &&
              cli_json_u64(json, len, "last_index", &st->last_index) &&
              cli_json_u64(json, len, "data_index", &st->data_index) &&
              cli_json_u64(json, len, "records", &st->records);
    if (!ok)
        return -1;
    /* No leader: null or "" (either reads as ""). */
    cli_json_str(json, len, "leader", st->leader, sizeof(st->leader));
    cli_json_str(json, len, "leader_url", st->leader_url,
                 sizeof(st->leader_url));
    cli_json_u64(json, len, "sweeper.missing", &st->sw_missing);
    cli_json_u64(json, len, "sweeper.in_flight", &st->sw_in_flight);
    cli_json_u64(json, len, "sweeper.fetched", &st->sw_fetched);
    cli_json_u64(json, len, "sweeper.bytes_fetched", &st->sw_bytes_fetched);
    cli_json_u64(json, len, "sweeper.digest_failures", &st->sw_digest_failures);
    cli_json_u64(json, len, "sweeper.fetch_failures", &st->sw_fetch_failures);
    cli_json_u64(json, len, "sweeper.unrecoverable", &st->sw_unrecoverable);
    return 0;
}

int cli_cluster_status(cli_cluster *c, size_t i, cli_status *st)
{
    char url[CLI_URL_MAX];
    snprintf(url, sizeof(url), "%s/v1/status", c->nodes[i].url);
    cli_xfer_get(&c->x, url, STATUS_TIMEOUT_MS);
    if (cli_xfer_perform(&c->x) != 0 || c->x.status != 200)
        return -1;
    return cli_status_parse(c->x.body, c->x.len, st);
}

/* The index of the node whose id is id, or c->n. */
static size_t node_index(const cli_cluster *c, const char *id)
{
    size_t i = 0;
    while (i < c->n && strcmp(c->nodes[i].id, id) != 0)
        i++;
    return i;
}

/* One look at every running node: do they agree on a leader? */
static bool leader_agreed(cli_cluster *c, size_t *leader)
{
    char agreed[128] = "";
    for (size_t i = 0; i < c->n; i++) {
        cli_status st;
        if (c->nodes[i].pid == 0)
            continue;
        if (cli_cluster_status(c, i, &st) != 0 || st.leader[0] == '\0')
            return false;
        if (agreed[0] == '\0')
            snprintf(agreed, sizeof(agreed), "%s", st.leader);
        else if (strcmp(agreed, st.leader) != 0)
            return false;
        if (strcmp(st.id, st.leader) == 0 && strcmp(st.role, "leader") != 0)
            return false;
    }
    *leader = node_index(c, agreed);
    return *leader < c->n && c->nodes[*leader].pid != 0;
}

int cli_cluster_wait_leader(cli_cluster *c, uint64_t timeout_ms, size_t *leader)
{
    uint64_t deadline = cli_now_ms() + timeout_ms;
    while (!cli_interrupted) {
        if (leader_agreed(c, leader))
            return 0;
        if (cli_now_ms() >= deadline)
            return -1;
        cli_sleep_ms(POLL_MS);
    }
    return -1;
}
