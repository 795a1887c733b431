/* cluster_cmd.c - `refraft cluster up` and `refraft cluster down`. */
#define _GNU_SOURCE /* realpath */

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cluster.h"
#include "util.h"

#define START_TIMEOUT_MS 15000u
#define LEADER_TIMEOUT_MS 15000u
#define STOP_TIMEOUT_MS 10000u

static void cluster_usage(FILE *f)
{
    fprintf(f,
            "usage: refraft cluster up --nodes N --dir DIR [--token-file F] "
            "[--log-level L]\n"
            "       refraft cluster down --dir DIR\n"
            "up starts N nodes (1..%d) on free 127.0.0.1 ports, data under "
            "DIR/nK,\nwaits for a leader and prints \"nK URL\" per node; "
            "the nodes keep running.\ndown stops the nodes of DIR (SIGTERM, "
            "then SIGKILL after %u s); their data stays.\n",
            CLI_MAX_NODES, STOP_TIMEOUT_MS / 1000);
}

/*
 * Is pid a `refraft node` of data directory dir?  A pid file can outlive
 * its process and the number be reused, so the process's command line
 * must name the directory before it is signalled.  A zombie counts as
 * gone.
 */
static bool is_node_process(pid_t pid, const char *dir)
{
    char path[64], buf[8192];
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')');
    if (paren == NULL || paren[1] != ' ' || paren[2] == 'Z')
        return false;

    snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return false;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* NUL-separated arguments: look for "--data" followed by dir. */
    bool prev_data = false;
    for (size_t i = 0; i < n; i += strlen(buf + i) + 1) {
        if (prev_data && strcmp(buf + i, dir) == 0)
            return true;
        prev_data = strcmp(buf + i, "--data") == 0;
    }
    return false;
}

static int read_pid(const char *path, pid_t *pid)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    long v = 0;
    int ok = fscanf(f, "%ld", &v);
    fclose(f);
    if (ok != 1 || v <= 1)
        return -1;
    *pid = (pid_t)v;
    return 0;
}

typedef struct running {
    char name[64];
    char dir[CLI_PATH_MAX];
    pid_t pid;
} running;

/* The nodes of DIR whose pid files name live node processes; stale pid
 * files are removed.  Returns how many were found (at most cap). */
static size_t find_running(const char *dir, running *out, size_t cap)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < cap) {
        char pidfile[CLI_PATH_MAX + 128];
        if (e->d_name[0] != 'n' ||
            strspn(e->d_name + 1, "0123456789") != strlen(e->d_name + 1) ||
            e->d_name[1] == '\0' || strlen(e->d_name) >= sizeof(out->name))
            continue;
        running *r = &out[n];
        memcpy(r->name, e->d_name, strlen(e->d_name) + 1);
        int w1 = snprintf(r->dir, sizeof(r->dir), "%s/%s", dir, e->d_name);
        int w2 = snprintf(pidfile, sizeof(pidfile), "%s/pid", r->dir);
        if (w1 < 0 || (size_t)w1 >= sizeof(r->dir) || w2 < 0 ||
            read_pid(pidfile, &r->pid) != 0)
            continue;
        if (is_node_process(r->pid, r->dir))
            n++;
        else
            unlink(pidfile);
    }
    closedir(d);
    return n;
}

static int cluster_up(int argc, char **argv)
{
    static const struct option opts[] = {
        {"nodes", required_argument, NULL, 'n'},
        {"dir", required_argument, NULL, 'd'},
        {"token-file", required_argument, NULL, 't'},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *dir = NULL, *token = NULL, *level = NULL;
    unsigned long nodes = 3;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "n:d:t:l:h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (cli_parse_uint("--nodes", optarg, 1, CLI_MAX_NODES, &nodes))
                return CLI_EXIT_USAGE;
            break;
        case 'd':
            dir = optarg;
            break;
        case 't':
            token = optarg;
            break;
        case 'l':
            level = optarg;
            break;
        case 'h':
            cluster_usage(stdout);
            return CLI_EXIT_OK;
        default:
            cluster_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (dir == NULL || optind != argc) {
        cluster_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    cli_cluster cl;
    if (cli_cluster_init(&cl, dir, nodes, token, NULL, false) != 0) {
        cli_cluster_free(&cl);
        return CLI_EXIT_FAIL;
    }
    cl.log_level = level;
    running live[CLI_MAX_NODES * 2];
    size_t n_live = find_running(cl.dir, live, CLI_MAX_NODES * 2);
    if (n_live > 0) {
        fprintf(stderr,
                "refraft cluster up: %s already runs in %s (pid %ld); "
                "`refraft cluster down --dir %s` first\n",
                live[0].name, cl.dir, (long)live[0].pid, cl.dir);
        cli_cluster_free(&cl);
        return CLI_EXIT_FAIL;
    }
    cli_catch_signals();
    if (cli_cluster_start(&cl, START_TIMEOUT_MS) != 0) {
        cli_cluster_free(&cl);
        return CLI_EXIT_FAIL;
    }
    size_t leader;
    if (cli_cluster_wait_leader(&cl, LEADER_TIMEOUT_MS, &leader) != 0)
        fprintf(stderr,
                "refraft cluster up: no leader after %u s; the nodes run "
                "on (see %s/nK/log)\n",
                LEADER_TIMEOUT_MS / 1000, cl.dir);
    for (size_t i = 0; i < cl.n; i++)
        printf("%s %s\n", cl.nodes[i].id, cl.nodes[i].url);
    cli_cluster_free(&cl);
    return CLI_EXIT_OK;
}

static int by_number(const void *a, const void *b)
{
    long x = atol(((const running *)a)->name + 1);
    long y = atol(((const running *)b)->name + 1);
    return (x > y) - (x < y);
}

static bool any_alive(running *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (r[i].pid != 0 && is_node_process(r[i].pid, r[i].dir))
            return true;
    return false;
}

static int cluster_down(int argc, char **argv)
{
    static const struct option opts[] = {{"dir", required_argument, NULL, 'd'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *dir_arg = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir_arg = optarg;
            break;
        case 'h':
            cluster_usage(stdout);
            return CLI_EXIT_OK;
        default:
            cluster_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (dir_arg == NULL || optind != argc) {
        cluster_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    char dir[CLI_PATH_MAX];
    if (realpath(dir_arg, dir) == NULL) {
        fprintf(stderr, "refraft cluster down: %s: %s\n", dir_arg,
                strerror(errno));
        return CLI_EXIT_FAIL;
    }
    running live[64];
    size_t n = find_running(dir, live, 64);
    if (n == 0) {
        printf("no node runs in %s\n", dir);
        return CLI_EXIT_OK;
    }
    qsort(live, n, sizeof(live[0]), by_number);
    for (size_t i = 0; i < n; i++)
        kill(live[i].pid, SIGTERM);
    /* The nodes are not our children (the `cluster up` that forked them
     * has exited): watch /proc rather than waitpid. */
    uint64_t deadline = cli_now_ms() + STOP_TIMEOUT_MS;
    while (any_alive(live, n) && cli_now_ms() < deadline)
        cli_sleep_ms(50);
    for (size_t i = 0; i < n; i++) {
        bool killed = false;
        if (is_node_process(live[i].pid, live[i].dir)) {
            kill(live[i].pid, SIGKILL);
            killed = true;
        }
        char pidfile[CLI_PATH_MAX + 8];
        snprintf(pidfile, sizeof(pidfile), "%s/pid", live[i].dir);
        unlink(pidfile);
        printf("%s stopped (pid %ld%s)\n", live[i].name, (long)live[i].pid,
               killed ? ", SIGKILL after the time-out" : "");
    }
    return CLI_EXIT_OK;
}

int cli_cmd_cluster(int argc, char **argv)
{
    if (argc < 2) {
        cluster_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "up") == 0)
        return cluster_up(argc - 1, argv + 1);
    if (strcmp(argv[1], "down") == 0)
        return cluster_down(argc - 1, argv + 1);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        cluster_usage(stdout);
        return CLI_EXIT_OK;
    }
    cluster_usage(stderr);
    return CLI_EXIT_USAGE;
}
