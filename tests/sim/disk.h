/* disk.h - a node's simulated disk: a memlog the checker watches. */
#ifndef REFRAFT_SIM_DISK_H
#define REFRAFT_SIM_DISK_H

#include "check.h"
#include "refraft/memlog.h"
#include "refraft/refraft.h"

/*
 * The node talks to api, which forwards every call to the memlog and, when
 * an append or a truncate succeeds, tells the checker what changed.  So the
 * checker sees each entry exactly once, when a log gains it, without
 * rereading logs.  The memlog outlives the node: a crash destroys the node
 * and keeps the disk.
 */
typedef struct disk {
    refraft_memlog *log;
    refraft_log_api inner; /* the memlog's own API */
    refraft_log_api api;   /* what the node is given */
    checker *check;
    int node;
} disk;

/* Returns 0 or a refraft error from refraft_memlog_create(). */
int disk_init(disk *d, int node, checker *check);
void disk_free(disk *d);

#endif /* REFRAFT_SIM_DISK_H */
