/* util.c - small helpers of the refraft CLI. */
#define _GNU_SOURCE /* getrandom, nftw, sigaction */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "util.h"

volatile sig_atomic_t cli_interrupted;

/* Only a flag is set here: cleaning up (killing nodes, removing files)
 * happens on the program's normal path, which polls the flag. */
static void on_signal(int sig)
{
    (void)sig;
    cli_interrupted = 1;
}

void cli_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = (int)SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    /* A node that goes away mid-request must fail that request, not kill
     * the CLI. */
    signal(SIGPIPE, SIG_IGN);
}

uint64_t cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void cli_sleep_ms(uint64_t ms)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(ms / 1000u);
    ts.tv_nsec = (long)(ms % 1000u) * 1000000L;
    nanosleep(&ts, NULL);
}

void cli_sha256(const void *data, size_t len, uint8_t out[CLI_SHA256_LEN])
{
    SHA256(data, len, out);
}

void cli_hex(const uint8_t *data, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * len] = '\0';
}

/* Decode exactly 32 bytes from their 44-character padded base64. */
static int b64_digest(const char *s, size_t n, uint8_t out[CLI_SHA256_LEN])
{
    unsigned char buf[48];
    if (n != 44 || s[43] != '=' || s[42] == '=')
        return -1;
    /* EVP_DecodeBlock counts the padding as output bytes: 44 -> 33. */
    if (EVP_DecodeBlock(buf, (const unsigned char *)s, (int)n) != 33)
        return -1;
    memcpy(out, buf, CLI_SHA256_LEN);
    return 0;
}

int cli_repr_digest_check(const char *field,
                          const uint8_t digest[CLI_SHA256_LEN])
{
    const char *p = field;
    while (p != NULL && *p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *end = strchr(p, ',');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n > 10 && strncasecmp(p, "sha-256=:", 9) == 0) {
            const char *b64 = p + 9;
            const char *close = memchr(b64, ':', n - 9);
            uint8_t got[CLI_SHA256_LEN];
            if (close == NULL || b64_digest(b64, (size_t)(close - b64), got))
                return -1;
            return memcmp(got, digest, CLI_SHA256_LEN) == 0;
        }
        p = end;
    }
    return -1;
}

int cli_read_file(const char *path, size_t cap, uint8_t **out, size_t *len,
                  char *err, size_t errlen)
{
    bool is_stdin = strcmp(path, "-") == 0;
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t size = 0, alloc = 64 * 1024;
    uint8_t *buf = malloc(alloc);
    if (buf == NULL) {
        snprintf(err, errlen, "out of memory");
        goto err_after_open;
    }
    for (;;) {
        if (size == alloc) {
            /* One byte past cap is read to tell "exactly cap" from
             * "larger". */
            if (alloc > cap) {
                snprintf(err, errlen, "%s: larger than %zu bytes",
                         is_stdin ? "standard input" : path, cap);
                goto err_after_alloc;
            }
            size_t next = alloc * 2 > cap + 1 ? cap + 1 : alloc * 2;
            uint8_t *grown = realloc(buf, next);
            if (grown == NULL) {
                snprintf(err, errlen, "out of memory");
                goto err_after_alloc;
            }
            buf = grown;
            alloc = next;
        }
        ssize_t n = read(fd, buf + size, alloc - size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            goto err_after_alloc;
        }
        if (n == 0)
            break;
        size += (size_t)n;
    }
    if (size > cap) {
        snprintf(err, errlen, "%s: larger than %zu bytes",
                 is_stdin ? "standard input" : path, cap);
        goto err_after_alloc;
    }
    if (!is_stdin)
        close(fd);
    *out = buf;
    *len = size;
    return 0;

err_after_alloc:
    free(buf);
err_after_open:
    if (!is_stdin)
        close(fd);
    return -1;
}

int cli_write_file(const char *path, const void *data, size_t len,
                   unsigned mode)
{
    bool to_stdout = path == NULL || strcmp(path, "-") == 0;
    int fd = to_stdout ? STDOUT_FILENO
                       : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                              (mode_t)mode);
    if (fd < 0)
        return -1;
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;
            if (!to_stdout)
                close(fd);
            errno = saved;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    if (!to_stdout && close(fd) != 0)
        return -1;
    return 0;
}

int cli_random(void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int cli_free_ports(uint16_t *ports, size_t n)
{
    int fds[64];
    size_t opened = 0;
    int rv = -1;
    if (n > sizeof(fds) / sizeof(fds[0])) {
        errno = EINVAL;
        return -1;
    }
    /* All n stay bound until every port is known, so they differ. */
    for (; opened < n; opened++) {
        struct sockaddr_in sa;
        socklen_t salen = sizeof(sa);
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fds[opened] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fds[opened] < 0)
            goto out;
        if (bind(fds[opened], (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
            getsockname(fds[opened], (struct sockaddr *)&sa, &salen) != 0) {
            close(fds[opened]);
            goto out;
        }
        ports[opened] = ntohs(sa.sin_port);
    }
    rv = 0;
out:
    for (size_t i = 0; i < opened; i++)
        close(fds[i]);
    return rv;
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int cli_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    return nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

int cli_self_exe(char *buf, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
    if (n < 0 || (size_t)n >= cap - 1)
        return -1;
    buf[n] = '\0';
    return 0;
}

void cli_tail_file(const char *path, int lines, const char *prefix)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    /* Logs are small in the CLI's runs; find where the last lines begin
     * by counting newlines backwards from the end. */
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return;
    }
    long pos = ftell(f);
    int seen = 0;
    while (pos > 0) {
        fseek(f, pos - 1, SEEK_SET);
        if (fgetc(f) == '\n' && ++seen > lines)
            break;
        pos--;
    }
    fseek(f, pos, SEEK_SET);
    char line[1024];
    while (fgets(line, sizeof(line), f) != NULL) {
        size_t n = strlen(line);
        fprintf(stderr, "%s%s%s", prefix, line,
                n > 0 && line[n - 1] == '\n' ? "" : "\n");
    }
    fclose(f);
}
