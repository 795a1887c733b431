/* netns.h - a drill's nodes in network namespaces of their own, joined
 * by veth pairs to a bridge: a real network between them, which a
 * partition cuts with blackhole routes.  Needs root and ip(8). */
#ifndef REFRAFT_CLI_NETNS_H
#define REFRAFT_CLI_NETNS_H

#include <stdbool.h>
#include <stddef.h>

#include "cluster.h"

typedef struct drill_net {
    char ip_exe[CLI_PATH_MAX];
    char bridge[16];
    char ns[CLI_MAX_NODES][32];
    char host[CLI_MAX_NODES][40]; /* node k's address */
    size_t n;
    unsigned subnet; /* 10.250.<subnet>.0/24 */
    bool bridge_made;
    size_t ns_made;
} drill_net;

/* Whether this process can make network namespaces: ip(8) is on the PATH
 * (its absolute path into ip_exe) and a throw-away namespace can be
 * created.  Prints nothing. */
bool drill_net_available(char *ip_exe, size_t cap);

/* A bridge with address 10.250.S.254 and, for each of n nodes, a
 * namespace with 10.250.S.(k+1) on a veth pair to it, named after this
 * process's pid.  Returns 0, or -1 (printed; what was made is undone). */
int drill_net_create(drill_net *net, const char *ip_exe, size_t n);

/* Remove every namespace and the bridge made. */
void drill_net_destroy(drill_net *net);

/* Cut (or restore) traffic from node i to node j: a blackhole route in
 * i's namespace.  Returns 0 or -1. */
int drill_net_cut(drill_net *net, size_t i, size_t j, bool cut);

#endif /* REFRAFT_CLI_NETNS_H */
