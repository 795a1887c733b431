/* tmpdir.h - scratch directories removed with their contents, even on ^C. */
#ifndef REFRAFT_SIM_TMPDIR_H
#define REFRAFT_SIM_TMPDIR_H

#include <stdbool.h>
#include <stddef.h>

/* Room for a directory made here plus a short file name under it. */
#define TMPDIR_PATH_MAX 256

/*
 * Create a fresh directory named prefix.XXXXXX under $TMPDIR (/tmp when
 * unset) and copy its path into path (cap bytes).  The first call also
 * makes SIGINT, SIGTERM, SIGHUP and SIGPIPE set the flag
 * tmpdir_interrupted() reads instead of killing the process, so that a
 * program interrupted mid-run still removes its directories; a second
 * SIGINT, SIGTERM or SIGHUP kills at once.
 * Returns 0, or -1 with errno set and nothing created.
 */
int tmpdir_create(const char *prefix, char *path, size_t cap);

/* Remove path and everything under it (symbolic links are not followed).
 * Returns 0, or -1 with errno set when something could not be removed. */
int tmpdir_remove(const char *path);

/* A signal arrived since the first tmpdir_create(): the program should
 * stop what it does, remove its directories and exit. */
bool tmpdir_interrupted(void);

#endif /* REFRAFT_SIM_TMPDIR_H */
