/* tmpdir.c - scratch directories removed with their contents, even on ^C. */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw, sigaction */

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "tmpdir.h"

/* nftw keeps at most this many directories open while it walks. */
#define WALK_FDS 16

static volatile sig_atomic_t interrupted;
static bool handlers_installed;

/* Only a flag is set here: removing files is not async-signal-safe, so
 * the program notices the flag and cleans up on its normal path. */
static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void handle(int sig, unsigned int flags)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sa.sa_flags = (int)(flags | SA_RESTART);
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

/* SA_RESETHAND makes a second ^C kill a program that fails to stop;
 * SA_RESTART keeps a signal from failing a read or write under way.  A
 * closed pipe (`refraft-sim --verbose | head`) stops the program too, but
 * the writes still in flight must not kill it: they just fail. */
static void install_handlers(void)
{
    handle(SIGINT, SA_RESETHAND);
    handle(SIGTERM, SA_RESETHAND);
    handle(SIGHUP, SA_RESETHAND);
    handle(SIGPIPE, 0);
    handlers_installed = true;
}

int tmpdir_create(const char *prefix, char *path, size_t cap)
{
    const char *base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    int n = snprintf(path, cap, "%s/%s.XXXXXX", base, prefix);
    if (n < 0 || (size_t)n >= cap) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (!handlers_installed)
        install_handlers();
    return mkdtemp(path) != NULL ? 0 : -1;
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int tmpdir_remove(const char *path)
{
    return nftw(path, remove_one, WALK_FDS, FTW_DEPTH | FTW_PHYS);
}

bool tmpdir_interrupted(void)
{
    return interrupted != 0;
}
