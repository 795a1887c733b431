/* netns.c - network namespaces for a drill's nodes, set up and cut with
 * ip(8). */
#define _GNU_SOURCE

#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netns.h"

/* Run ip with the given arguments (NULL-terminated), its output to
 * /dev/null unless it fails.  Returns 0 when it exits 0. */
static int run_ip(const char *ip_exe, ...)
{
    char *argv[16];
    size_t a = 0;
    argv[a++] = (char *)ip_exe;
    va_list ap;
    va_start(ap, ip_exe);
    for (const char *s; a < 15 && (s = va_arg(ap, const char *)) != NULL;)
        argv[a++] = (char *)s;
    va_end(ap);
    argv[a] = NULL;
    /* The child must not write out what this process has buffered. */
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, STDOUT_FILENO);
        execv(ip_exe, argv);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static bool find_ip(char *out, size_t cap)
{
    const char *path = getenv("PATH");
    char dirs[4096];
    snprintf(dirs, sizeof dirs, "%s:/usr/sbin:/sbin",
             path != NULL ? path : "/usr/bin:/bin");
    char *save = NULL;
    for (char *d = strtok_r(dirs, ":", &save); d != NULL;
         d = strtok_r(NULL, ":", &save)) {
        snprintf(out, cap, "%s/ip", d);
        if (access(out, X_OK) == 0)
            return true;
    }
    return false;
}

bool drill_net_available(char *ip_exe, size_t cap)
{
    if (geteuid() != 0 || !find_ip(ip_exe, cap))
        return false;
    char probe[32];
    snprintf(probe, sizeof probe, "rd%dprobe", (int)getpid());
    if (run_ip(ip_exe, "netns", "add", probe, NULL) != 0)
        return false;
    (void)run_ip(ip_exe, "netns", "del", probe, NULL);
    return true;
}

int drill_net_create(drill_net *net, const char *ip_exe, size_t n)
{
    memset(net, 0, sizeof *net);
    snprintf(net->ip_exe, sizeof net->ip_exe, "%s", ip_exe);
    net->n = n;
    int pid = (int)getpid();
    net->subnet = (unsigned)pid % 250;
    snprintf(net->bridge, sizeof net->bridge, "rd%dbr", pid % 10000000);
    char addr[32];
    snprintf(addr, sizeof addr, "10.250.%u.254/24", net->subnet);
    if (run_ip(ip_exe, "link", "add", net->bridge, "type", "bridge", NULL) != 0)
        goto fail;
    net->bridge_made = true;
    if (run_ip(ip_exe, "addr", "add", addr, "dev", net->bridge, NULL) != 0 ||
        run_ip(ip_exe, "link", "set", net->bridge, "up", NULL) != 0)
        goto fail;
    for (size_t k = 0; k < n; k++) {
        char hside[16], nside[16], nsaddr[48];
        snprintf(net->ns[k], sizeof net->ns[k], "rd%dn%zu", pid, k + 1);
        snprintf(hside, sizeof hside, "rd%dh%u", pid % 10000000,
                 (unsigned)(uint8_t)(k + 1));
        snprintf(nside, sizeof nside, "rd%dv%u", pid % 10000000,
                 (unsigned)(uint8_t)(k + 1));
        snprintf(net->host[k], sizeof net->host[k], "10.250.%u.%zu",
                 net->subnet, k + 1);
        snprintf(nsaddr, sizeof nsaddr, "%s/24", net->host[k]);
        if (run_ip(ip_exe, "netns", "add", net->ns[k], NULL) != 0)
            goto fail;
        net->ns_made = k + 1;
        if (run_ip(ip_exe, "link", "add", hside, "type", "veth", "peer", "name",
                   nside, NULL) != 0 ||
            run_ip(ip_exe, "link", "set", nside, "netns", net->ns[k], NULL) !=
                0 ||
            run_ip(ip_exe, "link", "set", hside, "master", net->bridge, "up",
                   NULL) != 0 ||
            run_ip(ip_exe, "-n", net->ns[k], "addr", "add", nsaddr, "dev",
                   nside, NULL) != 0 ||
            run_ip(ip_exe, "-n", net->ns[k], "link", "set", nside, "up",
                   NULL) != 0 ||
            run_ip(ip_exe, "-n", net->ns[k], "link", "set", "lo", "up", NULL) !=
                0)
            goto fail;
    }
    return 0;
fail:
    fprintf(stderr, "refraft drill: could not set up the network namespaces "
                    "(ip failed)\n");
    drill_net_destroy(net);
    return -1;
}

void drill_net_destroy(drill_net *net)
{
    /* Deleting a namespace deletes the veth end in it, and the pair. */
    for (size_t k = 0; k < net->ns_made; k++)
        (void)run_ip(net->ip_exe, "netns", "del", net->ns[k], NULL);
    net->ns_made = 0;
    if (net->bridge_made)
        (void)run_ip(net->ip_exe, "link", "del", net->bridge, NULL);
    net->bridge_made = false;
}

int drill_net_cut(drill_net *net, size_t i, size_t j, bool cut)
{
    char to[48];
    snprintf(to, sizeof to, "%s/32", net->host[j]);
    return run_ip(net->ip_exe, "-n", net->ns[i], "route", cut ? "add" : "del",
                  "blackhole", to, NULL);
}
