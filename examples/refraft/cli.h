/* cli.h - the refraft command's subcommands. */
#ifndef REFRAFT_CLI_CLI_H
#define REFRAFT_CLI_CLI_H

/* Exit statuses of every subcommand. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1  /* the operation failed or a check did not hold */
#define CLI_EXIT_USAGE 2 /* bad command line */

/* Each takes the subcommand's arguments, argv[0] being its name
 * ("put", "cluster", ...), and returns the process's exit status. */
int cli_cmd_put(int argc, char **argv);
int cli_cmd_get(int argc, char **argv);
int cli_cmd_status(int argc, char **argv);
int cli_cmd_cluster(int argc, char **argv);
int cli_cmd_demo(int argc, char **argv);
int cli_cmd_drill(int argc, char **argv);
/* member.c: `refraft member add|promote|remove|list`, `refraft transfer`. */
int cli_cmd_member(int argc, char **argv);
int cli_cmd_transfer(int argc, char **argv);

/* Parse a count or a number of seconds in [min, max] for option opt;
 * prints the error.  Returns 0 or -1. */
int cli_parse_uint(const char *opt, const char *s, unsigned long min,
                   unsigned long max, unsigned long *out);

#endif /* REFRAFT_CLI_CLI_H */
