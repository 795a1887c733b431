/* main.c - refraft-bench: pick the subcommand. */
#include <stdio.h>
#include <string.h>

#include "bench.h"

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "core") == 0)
        return bench_core(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "store") == 0)
        return bench_store(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "sweep") == 0)
        return bench_sweep(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "limit") == 0)
        return bench_limit(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "cluster") == 0)
        return bench_http_cluster(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "recover") == 0)
        return bench_recover(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "decode") == 0)
        return bench_decode(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "install") == 0)
        return bench_install(argc, argv);
    fprintf(stderr, "usage: refraft-bench "
                    "core|store|sweep|limit|cluster|recover|decode|install "
                    "[options]\n"
                    "  core   commits per second of a 3-node cluster\n"
                    "  store  refstore appends per second against plain "
                    "LMDB puts\n"
                    "  sweep  records per second the sweeper refetches for a "
                    "node that lost them all\n"
                    "  limit  synced LMDB transactions per second of the "
                    "disk\n"
                    "  cluster  commits per second and latency of 3 node "
                    "processes over HTTP\n"
                    "           (--client-http: through POST /v1/records "
                    "from concurrent clients)\n"
                    "  recover  MB/s a follower with wiped records gets "
                    "them back at, against\n"
                    "           a plain download of the same bytes\n"
                    "  decode   what decoding an AppendEntries and its "
                    "records costs\n"
                    "  install  what staging and installing a snapshot "
                    "costs a follower's node\n"
                    "           in time and memory\n");
    return 2;
}
