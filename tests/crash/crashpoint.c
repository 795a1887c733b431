/* crashpoint.c - stop the child at its K-th write or sync, for the kill. */
#define _GNU_SOURCE /* RTLD_NEXT */
#include <dlfcn.h>
#include <stdint.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "torture.h"

/*
 * Killing at a random time lands mostly in the child's own work (making
 * records, hashing them), so the last commit before the kill is rarely the
 * middle one of two that should have been one: in sync mode none such a
 * window lasts microseconds.  Killing at the K-th I/O call instead gives
 * every commit boundary, and every point inside a commit (data pages
 * written, meta page not), the same chance.
 *
 * These definitions interpose the calls LMDB (a shared library) makes to
 * write its files: the executable's symbols come first in the dynamic
 * lookup.  Each forwards to the next definition (libc's, or the
 * sanitizer's interceptor).  Once armed in the child, the K-th call on a
 * file descriptor above stderr does not run: the child stops itself with
 * SIGSTOP and the parent, seeing it stopped, sends the SIGKILL.  So the
 * store holds exactly what the first K - 1 calls wrote, and a run in
 * --kill-at io mode is reproducible from its seed.
 */

/* The build hides symbols by default; these must be seen by liblmdb. */
#define INTERPOSE __attribute__((visibility("default")))

static uint64_t countdown; /* 0: disarmed (always, in the parent) */

void crashpoint_arm(uint64_t k)
{
    countdown = k;
}

bool crashpoint_works(void)
{
    void *found = dlsym(RTLD_DEFAULT, "pwrite");
    return found == (void *)(uintptr_t)pwrite;
}

static void io_event(int fd)
{
    if (countdown == 0 || fd <= STDERR_FILENO)
        return;
    if (--countdown > 0)
        return;
    raise(SIGSTOP);
    for (;;) /* the SIGKILL comes while we are stopped */
        pause();
}

/* The next definition of name: POSIX's way to get a function pointer out
 * of dlsym (C has no conversion from void *). */
#define NEXT(fp, name)                                                         \
    do {                                                                       \
        if ((fp) == NULL)                                                      \
            *(void **)(&(fp)) = dlsym(RTLD_NEXT, name);                        \
    } while (0)

INTERPOSE ssize_t write(int fd, const void *buf, size_t n)
{
    static ssize_t (*next)(int, const void *, size_t);
    NEXT(next, "write");
    io_event(fd);
    return next(fd, buf, n);
}

INTERPOSE ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    static ssize_t (*next)(int, const void *, size_t, off_t);
    NEXT(next, "pwrite");
    io_event(fd);
    return next(fd, buf, n, off);
}

INTERPOSE ssize_t writev(int fd, const struct iovec *iov, int n)
{
    static ssize_t (*next)(int, const struct iovec *, int);
    NEXT(next, "writev");
    io_event(fd);
    return next(fd, iov, n);
}

INTERPOSE int fdatasync(int fd)
{
    static int (*next)(int);
    NEXT(next, "fdatasync");
    io_event(fd);
    return next(fd);
}

INTERPOSE int fsync(int fd)
{
    static int (*next)(int);
    NEXT(next, "fsync");
    io_event(fd);
    return next(fd);
}

/* Only with MDB_WRITEMAP; counted as one event, the flush. */
INTERPOSE int msync(void *addr, size_t len, int flags)
{
    static int (*next)(void *, size_t, int);
    NEXT(next, "msync");
    io_event(STDERR_FILENO + 1);
    return next(addr, len, flags);
}
