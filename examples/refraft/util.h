/* util.h - small helpers of the refraft CLI: clocks, SHA-256, hex and
 * base64, files, free ports, signals. */
#ifndef REFRAFT_CLI_UTIL_H
#define REFRAFT_CLI_UTIL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLI_SHA256_LEN 32
#define CLI_SHA256_HEX (2 * CLI_SHA256_LEN + 1)

/* Set by the handlers cli_catch_signals() installs (SIGINT, SIGTERM,
 * SIGHUP); long waits poll it and unwind through their cleanup. */
extern volatile sig_atomic_t cli_interrupted;

/* Catch SIGINT, SIGTERM and SIGHUP into cli_interrupted (a second one of
 * them kills the process: SA_RESETHAND) and ignore SIGPIPE. */
void cli_catch_signals(void);

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t cli_now_ms(void);
/* Sleep ms milliseconds, or less when a signal arrives. */
void cli_sleep_ms(uint64_t ms);

void cli_sha256(const void *data, size_t len, uint8_t out[CLI_SHA256_LEN]);
/* Lowercase hex of len bytes into out (2 * len + 1 bytes). */
void cli_hex(const uint8_t *data, size_t len, char *out);

/*
 * Check an RFC 9530 Repr-Digest field value ("sha-256=:<base64>:",
 * possibly among other algorithms, comma-separated) against digest.
 * Returns 1 when it matches, 0 when it differs, -1 when the field holds
 * no well-formed sha-256 member.
 */
int cli_repr_digest_check(const char *field,
                          const uint8_t digest[CLI_SHA256_LEN]);

/*
 * Read a whole file ("-": standard input) of at most cap bytes into a
 * buffer the caller frees.  Returns 0, or -1 with err saying why (a file
 * larger than cap is an error, and nothing is returned).
 */
int cli_read_file(const char *path, size_t cap, uint8_t **out, size_t *len,
                  char *err, size_t errlen);
/* Write len bytes to path (created with mode, truncated), or to standard
 * output for "-" or NULL.  Returns 0, or -1 with errno set. */
int cli_write_file(const char *path, const void *data, size_t len,
                   unsigned mode);

/* Fill buf with len random bytes from the kernel.  Returns 0 or -1. */
int cli_random(void *buf, size_t len);

/*
 * Find n distinct free TCP ports on 127.0.0.1: bind n sockets to port 0
 * at once, read their ports, close them.  Another process may take a
 * port before it is used again; callers that start servers on them check
 * that the server came up.  Returns 0 or -1 with errno set.
 */
int cli_free_ports(uint16_t *ports, size_t n);

/* Remove path and everything under it (not following symbolic links).
 * Returns 0 or -1 with errno set; a missing path is not an error. */
int cli_rmtree(const char *path);

/* The path of the running executable (/proc/self/exe), so that the CLI
 * can start nodes and tools of its own version. */
int cli_self_exe(char *buf, size_t cap);

/* Print the last lines of a file (a node's log) to stderr, each prefixed
 * with prefix. */
void cli_tail_file(const char *path, int lines, const char *prefix);

#endif /* REFRAFT_CLI_UTIL_H */
