/* main.c - the refraft command: a node of the record service, its
 * client, a local cluster and the demo. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "cli.h"
#include "host_cmd.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    bool uses_curl;
    const char *summary;
} command;

static const command commands[] = {
    {"node", host_cmd_node, false, "run a node of the record service"},
    {"put", cli_cmd_put, true, "store a record (follows the leader)"},
    {"get", cli_cmd_get, true, "fetch a record and check its digest"},
    {"status", cli_cmd_status, true, "show a node's status"},
    {"cluster", cli_cmd_cluster, true,
     "start (up) or stop (down) a local cluster"},
    {"demo", cli_cmd_demo, true,
     "3 nodes, 1,000 records, a follower wiped and recovered"},
    {"member", cli_cmd_member, true,
     "add, promote, remove or list the cluster's members"},
    {"transfer", cli_cmd_transfer, true, "hand leadership over to a voter"},
    {"wipe-records", host_cmd_wipe_records, false,
     "wipe a stopped node's records (recovery drills)"},
    {"drill", cli_cmd_drill, true,
     "a cluster under load and injected faults, checked for lost writes"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: refraft COMMAND [ARGS]   (refraft COMMAND --help)\n\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-13s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nSee docs/cli.md.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        const command *c = &commands[i];
        if (strcmp(argv[1], c->name) != 0)
            continue;
        if (!c->uses_curl)
            return c->run(argc - 1, argv + 1);
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            fprintf(stderr, "refraft: libcurl failed to initialize\n");
            return CLI_EXIT_FAIL;
        }
        int rv = c->run(argc - 1, argv + 1);
        curl_global_cleanup();
        return rv;
    }
    fprintf(stderr, "refraft: unknown command \"%s\"\n\n", argv[1]);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
