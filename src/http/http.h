/* http.h - refraft's HTTP transport: a libmicrohttpd server and a libcurl
 * multi client, both driven from the host's event loop. */
#ifndef REFRAFT_HTTP_HTTP_H
#define REFRAFT_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/select.h>

#include "refraft/refraft.h"

/*
 * Nothing here runs on a thread of its own and nothing blocks: the host's
 * loop asks each side for the file descriptors it waits on
 * (http_*_fdset) and how long it may sleep (http_*_timeout_ms), calls
 * select(2), then lets each side do its work (http_*_run).  Handlers and
 * completion callbacks run inside http_*_run, on the loop's thread.
 * docs/http.md shows the loop.
 *
 * select(2) bounds every descriptor by FD_SETSIZE (1024): the server's
 * connection limit keeps it well below that, and a process that holds
 * many other descriptors should lower max_connections.
 *
 * Errors: functions return 0 or a refraft error code (refraft.h) and on
 * error change nothing; errbuf, when given, says what was wrong.
 * Memory the transport allocates for itself goes through the library's
 * allocator (refraft_set_allocator); libmicrohttpd's and libcurl's own
 * allocations do not.
 */

/* ---- server ----------------------------------------------------------- */

typedef struct http_server http_server;
typedef struct http_request http_request;

/*
 * Called once per complete request (its body read in full, within
 * max_body).  The handler answers with http_respond(), now or later: a
 * request not answered before the handler returns stays open (its
 * connection suspended) until http_respond() is called for it, from any
 * later point on the loop's thread.  Every request must be answered
 * exactly once; http_server_stop() answers those still open with 503.
 * The handler may call any function of this header except
 * http_server_stop() on its own server.
 */
typedef void (*http_handler)(void *ctx, http_request *req);

/* Per-connection memory for the request line and headers (libmicrohttpd's
 * MHD_OPTION_CONNECTION_MEMORY_LIMIT): a request whose headers do not
 * fit gets 431 from libmicrohttpd.  Bodies are accumulated apart from
 * it, up to max_body. */
#define HTTP_SERVER_CONN_MEMORY (64u * 1024u)

typedef struct http_server_config {
    const char *host; /* numeric IPv4/IPv6 address, "127.0.0.1" if NULL */
    uint16_t port;    /* 0: an ephemeral port (http_server_port says it) */
    /* Larger bodies get 413 without reaching the handler.  0: the
     * default, REFRAFT_WIRE_MAX_BODY (64 MiB). */
    size_t max_body;
    /* TLS: all three set for mutual TLS (clients must present a
     * certificate signed by ca_file), cert_file and key_file alone for
     * TLS without client certificates, none for plain HTTP.  PEM files. */
    const char *cert_file;
    const char *key_file;
    const char *ca_file;
    http_handler handler;
    void *ctx;
    /* Connections open at once; more are refused at accept.  0: 256.
     * At most FD_SETSIZE - 64 (select(2)). */
    unsigned max_connections;
    /* Seconds a connection may stay idle (no byte read or written)
     * before it is closed; a request waiting for its answer (suspended)
     * never times out.  0: 30. */
    unsigned idle_timeout_s;
} http_server_config;

/*
 * Listen and serve.  On success *out is the server, to be freed with
 * http_server_stop().  REFRAFT_EINVAL for a bad config (no handler, an
 * incomplete TLS set, a limit out of range, a host that is not a numeric
 * IP address, a TLS file that cannot be read, TLS asked of a
 * libmicrohttpd built without it); REFRAFT_EIO when the address cannot
 * be bound or listened on ("cannot listen on 127.0.0.1:8080: Address
 * already in use") or libmicrohttpd refuses to start (a certificate or
 * key it cannot use: errbuf quotes its message); REFRAFT_ENOMEM.  On
 * error *out is untouched.
 */
REFRAFT_WARN_UNUSED int http_server_start(const http_server_config *cfg,
                                          http_server **out, char *errbuf,
                                          size_t errbuf_len);
/*
 * Stop listening (the port is free again when this returns), answer
 * open requests with 503, give those answers up to a second to reach
 * their clients, close every connection and free everything: every
 * http_request of this server is invalid afterwards.  Blocks for at
 * most about a second, and only while 503s are being written.  Must not
 * be called from inside http_server_run() (a handler) of the same
 * server.  NULL is ignored.
 */
void http_server_stop(http_server *srv);
uint16_t http_server_port(const http_server *srv);

/* Add the server's descriptors; *max_fd is raised as needed. */
void http_server_fdset(http_server *srv, fd_set *rd, fd_set *wr, fd_set *ex,
                       int *max_fd);
/* How long the server may wait without being run; UINT64_MAX: no limit. */
uint64_t http_server_timeout_ms(http_server *srv);
/* Do the server's work: rd, wr and ex are the sets select(2) returned
 * (NULL or empty sets: only timers and resumed requests). */
void http_server_run(http_server *srv, const fd_set *rd, const fd_set *wr,
                     const fd_set *ex);
/* Send the answers the handlers gave in the last run now, without
 * waiting for the next select(2) to show their sockets writable: runs
 * the server once more, with a select of its own that does not wait (so
 * it may also take new requests and call the handler). */
void http_server_flush(http_server *srv);

/* The request's method ("GET", "POST", ...), path (without the query,
 * exactly as sent: not percent-decoded, so an encoded '/' or NUL in an
 * id survives for the caller to decode), body (never NULL; len 0 when
 * empty) and a header by name (case-insensitive; NULL if absent).
 * Valid until the request is answered. */
const char *http_request_method(const http_request *req);
const char *http_request_path(const http_request *req);
const uint8_t *http_request_body(const http_request *req, size_t *len);
const char *http_request_header(const http_request *req, const char *name);
/* The value of the query parameter name ("?from=3&max=10": "3" for
 * "from"), not percent-decoded (like the path; libmicrohttpd turns '+'
 * into a space), or NULL when the query has no "name=" (the first one
 * counts when it is repeated; "name" without '=' has no value).  Valid
 * until the request is answered. */
const char *http_request_query(const http_request *req, const char *name);
/* The client's address as "ip:port" ("[ip6]:port" for IPv6). */
const char *http_request_peer(const http_request *req);

/*
 * Answer req: status (200..599), content type (NULL: none), body
 * (copied; NULL when len is 0), and extra headers as NULL-terminated
 * array of "Name: value" strings (NULL for none; Content-Length is the
 * server's business and refused).  req is freed by the server
 * afterwards.  REFRAFT_EINVAL for a status out of range, a header
 * that is not "Name: value" or carries CR or LF, or a request already
 * answered; REFRAFT_ENOMEM.  On error the request is still open and must
 * still be answered (e.g. with a 500).
 */
int http_respond(http_request *req, unsigned status, const char *content_type,
                 const void *body, size_t len, const char *const *headers);

/* ---- client ----------------------------------------------------------- */

typedef struct http_client http_client;

typedef struct http_client_config {
    /* Requests queued or in flight at once; more are refused with
     * REFRAFT_ETOOBIG (the caller drops or retries them).  Default 1024. */
    uint32_t max_queued;
    /* Connections per host kept open and reused
     * (CURLMOPT_MAX_HOST_CONNECTIONS); requests beyond them wait in
     * libcurl's queue for a free connection.  Default 4. */
    uint32_t max_host_connections;
    /* TLS: ca_file verifies servers (their certificate must name the
     * host of the URL, e.g. an IP SAN); cert_file and key_file (both or
     * neither) are the client certificate for mutual TLS.  PEM files.
     * All NULL: the system's CA store, no client certificate. */
    const char *cert_file;
    const char *key_file;
    const char *ca_file;
    /* Largest response body accepted; a larger one ends the request with
     * status 0.  0: the default, REFRAFT_WIRE_MAX_BODY (64 MiB). */
    size_t max_body;
    /* Requests to one origin (scheme, host and port) go out one at a
     * time, in the order made: each waits in this client, not in
     * libcurl, until the one before it has finished.  A server then sees
     * them in that order (libcurl's own queue for a free connection does
     * not keep it).  Their time-outs count from when they were made. */
    bool in_order;
} http_client_config;

/* The answer to one request.  status is the HTTP status, or 0 when no
 * complete answer came (connection refused, time-out, body over
 * max_body, ...: errmsg says which; errmsg is NULL when status is not 0).
 * body (never NULL), errmsg and http_response_header() are valid during
 * the callback only.  Redirects are not followed: a 3xx is handed over
 * as it is, Location readable through http_response_header(). */
typedef struct http_response {
    unsigned status;
    const char *errmsg;
    const uint8_t *body;
    size_t len;
    const void *priv;
} http_response;

/* A response header by name (case-insensitive; the value without
 * surrounding blanks; the last one when repeated), or NULL. */
const char *http_response_header(const http_response *res, const char *name);

typedef void (*http_done_fn)(void *ctx, const http_response *res);

/*
 * REFRAFT_EINVAL for a bad config (max_queued or max_host_connections
 * above 65536, cert_file without key_file or the reverse, a file that
 * cannot be read); REFRAFT_ENOMEM; REFRAFT_EIO when libcurl cannot be
 * initialised.  Calls curl_global_init() (libcurl counts the calls and
 * is thread-safe about it since 7.84; http_client_destroy() calls
 * curl_global_cleanup()).
 */
REFRAFT_WARN_UNUSED int http_client_create(const http_client_config *cfg,
                                           http_client **out, char *errbuf,
                                           size_t errbuf_len);
/* Abort what is in flight (their callbacks are NOT called) and free.
 * May be called from a completion callback: no later callback then
 * runs, and the client is freed when http_client_run() returns.  NULL
 * is ignored. */
void http_client_destroy(http_client *cli);

/*
 * Start a request: method "GET" or "POST", url (http:// or https://),
 * extra headers (NULL-terminated "Name: value" strings, copied), body
 * (copied; NULL for none; a POST without a Content-Type header is sent
 * as application/octet-stream), a time-out for the whole exchange
 * (1..INT32_MAX ms; time spent waiting for a free connection counts).
 * done(ctx, res) is called exactly once, from http_client_run() (never
 * from inside this call), unless the request is cancelled or the client
 * destroyed first.  *id (when not NULL) gets a handle for
 * http_client_cancel().  REFRAFT_ETOOBIG when max_queued requests are
 * pending; REFRAFT_EINVAL for a bad method, URL, header or time-out, or
 * a body with GET; REFRAFT_ENOMEM.  On error done is never called.
 */
REFRAFT_WARN_UNUSED int
http_client_request(http_client *cli, const char *method, const char *url,
                    const char *const *headers, const void *body, size_t len,
                    uint32_t timeout_ms, http_done_fn done, void *ctx,
                    uint64_t *id);
/* A POST as http_client_request() makes, but body (from refraft_malloc)
 * becomes the client's instead of being copied: it is freed when the
 * request ends, and on error too. */
REFRAFT_WARN_UNUSED int
http_client_request_take(http_client *cli, const char *url,
                         const char *const *headers, void *body, size_t len,
                         uint32_t timeout_ms, http_done_fn done, void *ctx,
                         uint64_t *id);
/* Abandon a request: its callback will not be called.  An id that is
 * unknown, already completed or already cancelled is ignored (ids are
 * never reused). */
void http_client_cancel(http_client *cli, uint64_t id);
/* Requests pending (queued or in flight). */
size_t http_client_pending(const http_client *cli);

void http_client_fdset(http_client *cli, fd_set *rd, fd_set *wr, fd_set *ex,
                       int *max_fd);
/* How long the client may wait without being run; UINT64_MAX: nothing
 * pending. */
uint64_t http_client_timeout_ms(http_client *cli);
/* Move transfers on and call the callbacks of those that finished. */
void http_client_run(http_client *cli);
/* Move transfers on now (new requests go on the wire) without calling any
 * callback: those that finished are reported by the next
 * http_client_run().  Safe from a completion callback. */
void http_client_push(http_client *cli);

#endif /* REFRAFT_HTTP_HTTP_H */
