/* host_cmd.h - the refraft CLI's subcommands that run or repair a node. */
#ifndef REFRAFT_HOST_HOST_CMD_H
#define REFRAFT_HOST_HOST_CMD_H

/* `refraft node ...`: run a node of the record service until SIGTERM or
 * SIGINT.  argv[0] is "node".  Returns the process exit status. */
int host_cmd_node(int argc, char **argv);

/* `refraft wipe-records --data DIR`: with the node stopped, drop every
 * record of its store (a lost disk, for recovery drills); the next start
 * finds them lost and the sweeper fetches them again. */
int host_cmd_wipe_records(int argc, char **argv);

#endif /* REFRAFT_HOST_HOST_CMD_H */
