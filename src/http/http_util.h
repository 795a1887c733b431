/* http_util.h - small helpers the HTTP server and client share. */
#ifndef REFRAFT_HTTP_UTIL_H
#define REFRAFT_HTTP_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Write a message into errbuf (when not NULL and errbuf_len > 0). */
void http_errf(char *errbuf, size_t errbuf_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A copy of s from the library's allocator, or NULL. */
char *http_strdup(const char *s);

/* Case-insensitive ASCII comparison of a and the first n bytes of b
 * (b must be exactly n bytes long for a match). */
int http_strncaseeq(const char *a, const char *b, size_t n);

/* Read a whole (PEM) file into a NUL-terminated buffer from the
 * library's allocator: 0, or REFRAFT_EINVAL (errbuf says why) when it
 * cannot be read, is empty or is larger than 1 MiB; REFRAFT_ENOMEM. */
int http_read_file(const char *path, char **out, char *errbuf,
                   size_t errbuf_len);

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t http_now_ms(void);

#endif /* REFRAFT_HTTP_UTIL_H */
