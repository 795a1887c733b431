/* server.c - the HTTP server: libmicrohttpd in external-select mode,
 * whole requests handed to one handler, answers now or later. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "core/alloc.h"
#include "http.h"
#include "http_util.h"
#include "refraft/refraft.h"
#include "refraft/wire.h"

#define DEFAULT_MAX_CONNECTIONS 256u
#define DEFAULT_IDLE_TIMEOUT_S 30u
#define LISTEN_BACKLOG 128
/* First allocation for a body whose Content-Length is announced: a
 * client cannot make us reserve max_body by claiming it. */
#define BODY_FIRST_ALLOC (256u * 1024u)
/* How long http_server_stop() lets its 503s drain. */
#define STOP_DRAIN_MS 1000
#define DRAIN_STEP_MS 10

/*
 * A request's life.  MHD calls on_access() first when the headers are
 * in (the request is created, READING), then once per piece of body,
 * then with no data when the body is complete: the handler runs
 * (HANDLING).  Unanswered when the handler returns, the connection is
 * suspended (WAITING) until http_respond().  An answer is kept in
 * `resp` (ANSWERED) until MHD calls on_access() again, where it is
 * queued (QUEUED).  REJECTED requests never reach the handler: their
 * answer (413, 403, 503) is queued at once.  MHD's completion callback
 * frees the request, unless the application still holds it (HANDLING,
 * WAITING): then it is ORPHANED and http_respond() frees it.
 */
typedef enum req_state {
    REQ_READING,
    REQ_REJECTED,
    REQ_HANDLING,
    REQ_WAITING,
    REQ_ANSWERED,
    REQ_QUEUED,
    REQ_ORPHANED
} req_state;

struct http_request {
    http_server *srv;
    struct MHD_Connection *conn; /* NULL once ORPHANED */
    http_request *prev, *next;   /* srv->reqs */
    req_state state;
    bool stop_answered; /* an answer http_server_stop() waits for */
    char *method;
    char *path;
    uint8_t *body;
    size_t len, cap;
    struct MHD_Response *resp; /* ANSWERED, REJECTED: the answer to queue */
    unsigned status;
    char peer[96];
};

struct http_server {
    struct MHD_Daemon *daemon;
    http_handler handler;
    void *ctx;
    size_t max_body;
    uint16_t port;
    bool verify_clients; /* mutual TLS */
    bool stopping;
    /* A request was answered outside http_server_run(): its connection
     * rejoins MHD's descriptor sets only once MHD has run, so the loop
     * must not sleep before that. */
    bool resumed;
    size_t draining;    /* answers http_server_stop() still waits for */
    http_request *reqs; /* every request MHD has shown us */
    char log[256];      /* libmicrohttpd's last message */
};

static const uint8_t empty_body[1];

/* ---- logging ------------------------------------------------------------ */

/* MHD's messages: the last one is kept for a start-up failure's errbuf,
 * the rest (a client that vanished, a malformed request) are the
 * ordinary noise of a server and are dropped. */
static void on_log(void *cls, const char *fmt, va_list ap)
{
    http_server *srv = cls;
    vsnprintf(srv->log, sizeof(srv->log), fmt, ap);
    size_t n = strlen(srv->log);
    while (n > 0 && (srv->log[n - 1] == '\n' || srv->log[n - 1] == '\r'))
        srv->log[--n] = '\0';
}

/* ---- requests ------------------------------------------------------------ */

static void format_peer(struct MHD_Connection *conn, char *out, size_t len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, len, "?");
    if (ci == NULL || ci->client_addr == NULL)
        return;
    const struct sockaddr *sa = ci->client_addr;
    socklen_t salen = sa->sa_family == AF_INET6
                          ? (socklen_t)sizeof(struct sockaddr_in6)
                          : (socklen_t)sizeof(struct sockaddr_in);
    char host[64], serv[8]; /* a scoped IPv6 address is long */
    if (getnameinfo(sa, salen, host, sizeof(host), serv, sizeof(serv),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return;
    if (sa->sa_family == AF_INET6)
        snprintf(out, len, "[%s]:%s", host, serv);
    else
        snprintf(out, len, "%s:%s", host, serv);
}

static http_request *request_new(http_server *srv, struct MHD_Connection *conn,
                                 const char *url, const char *method)
{
    http_request *req = refraft_calloc(1, sizeof(*req));
    if (req == NULL)
        return NULL;
    req->method = http_strdup(method);
    req->path = http_strdup(url);
    if (req->method == NULL || req->path == NULL) {
        refraft_free(req->method);
        refraft_free(req->path);
        refraft_free(req);
        return NULL;
    }
    req->srv = srv;
    req->conn = conn;
    req->state = REQ_READING;
    format_peer(conn, req->peer, sizeof(req->peer));
    req->next = srv->reqs;
    if (srv->reqs != NULL)
        srv->reqs->prev = req;
    srv->reqs = req;
    return req;
}

static void request_free(http_request *req)
{
    http_server *srv = req->srv;
    if (req->prev != NULL)
        req->prev->next = req->next;
    else
        srv->reqs = req->next;
    if (req->next != NULL)
        req->next->prev = req->prev;
    if (req->stop_answered && srv->draining > 0)
        srv->draining--;
    if (req->resp != NULL)
        MHD_destroy_response(req->resp);
    refraft_free(req->method);
    refraft_free(req->path);
    refraft_free(req->body);
    refraft_free(req);
}

/* Add "Name: value" to resp.  REFRAFT_EINVAL for a malformed line. */
static int add_header_line(struct MHD_Response *resp, const char *line)
{
    const char *colon = strchr(line, ':');
    if (colon == NULL || colon == line || strpbrk(line, "\r\n") != NULL)
        return REFRAFT_EINVAL;
    size_t name_len = (size_t)(colon - line);
    for (size_t i = 0; i < name_len; i++)
        if (line[i] == ' ' || line[i] == '\t')
            return REFRAFT_EINVAL;
    const char *value = colon + 1;
    while (*value == ' ' || *value == '\t')
        value++;
    char *name = refraft_malloc(name_len + 1);
    if (name == NULL)
        return REFRAFT_ENOMEM;
    memcpy(name, line, name_len);
    name[name_len] = '\0';
    enum MHD_Result ok = MHD_add_response_header(resp, name, value);
    refraft_free(name);
    return ok == MHD_YES ? 0 : REFRAFT_EINVAL;
}

/* Build an MHD response: body copied, headers checked. */
static int make_response(const char *content_type, const void *body, size_t len,
                         const char *const *headers, struct MHD_Response **out)
{
    if (content_type != NULL && strpbrk(content_type, "\r\n") != NULL)
        return REFRAFT_EINVAL;
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, len > 0 ? (void *)(uintptr_t)body : (void *)(uintptr_t) "",
        MHD_RESPMEM_MUST_COPY);
    if (resp == NULL)
        return REFRAFT_ENOMEM;
    int rv = 0;
    if (content_type != NULL &&
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                content_type) != MHD_YES)
        rv = REFRAFT_EINVAL;
    for (size_t i = 0; rv == 0 && headers != NULL && headers[i] != NULL; i++)
        rv = add_header_line(resp, headers[i]);
    if (rv != 0) {
        MHD_destroy_response(resp);
        return rv;
    }
    *out = resp;
    return 0;
}

/* Answer a request that never reaches the handler with a short text.
 * Its connection is closed afterwards: whatever body the client still
 * sends is not read. */
static enum MHD_Result
reject(http_request *req, unsigned status, const char *text)
{
    static const char *const close_hdr[] = {"Connection: close", NULL};
    struct MHD_Response *resp;
    if (make_response("text/plain; charset=utf-8", text, strlen(text),
                      close_hdr, &resp) != 0)
        return MHD_NO;
    req->state = REQ_REJECTED;
    enum MHD_Result ok = MHD_queue_response(req->conn, status, resp);
    MHD_destroy_response(resp);
    return ok;
}

/* ---- MHD callbacks ---------------------------------------------------------
 */

/* The path exactly as sent: http_request_path() promises no decoding. */
static size_t unescape_none(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    return strlen(s);
}

/* Mutual TLS: MHD asks for a client certificate but leaves checking it
 * to the application (its trust option only marks the request
 * optional), so every request is verified here against ca_file. */
static const char *client_cert_problem(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (ci == NULL || ci->tls_session == NULL)
        return "TLS session unavailable";
    gnutls_session_t session = (gnutls_session_t)ci->tls_session;
    unsigned status = 0;
    int rc = gnutls_certificate_verify_peers2(session, &status);
    if (rc == GNUTLS_E_NO_CERTIFICATE_FOUND ||
        gnutls_certificate_get_peers(session, NULL) == NULL)
        return "a client certificate is required";
    if (rc < 0 || status != 0)
        return "client certificate not trusted";
    return NULL;
}

/* The headers are in: check what can be checked before any body. */
static enum MHD_Result on_headers(http_server *srv, http_request *req)
{
    char text[96];
    if (srv->stopping)
        return reject(req, 503, "server shutting down\n");
    if (srv->verify_clients) {
        const char *problem = client_cert_problem(req->conn);
        if (problem != NULL) {
            snprintf(text, sizeof(text), "%s\n", problem);
            return reject(req, 403, text);
        }
    }
    const char *cl = MHD_lookup_connection_value(
        req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl != NULL) {
        errno = 0;
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno != 0 || end == cl || n > srv->max_body) {
            snprintf(text, sizeof(text), "request body larger than %zu bytes\n",
                     srv->max_body);
            return reject(req, 413, text);
        }
    }
    return MHD_YES;
}

/* A piece of body: keep it, within max_body. */
static enum MHD_Result
on_body(http_server *srv, http_request *req, const char *data, size_t *size)
{
    size_t n = *size;
    *size = 0;
    if (req->state == REQ_REJECTED)
        return MHD_YES; /* discarded; MHD closes the connection after */
    if (n > srv->max_body - req->len) {
        /* A chunked body grew past the cap.  MHD takes no answer while
         * it hands us body, so the connection is closed instead: the
         * client sees it end without a response. */
        return MHD_NO;
    }
    if (req->len + n > req->cap) {
        size_t want = req->cap == 0 ? BODY_FIRST_ALLOC : req->cap * 2;
        if (want < req->len + n)
            want = req->len + n;
        if (want > srv->max_body)
            want = srv->max_body;
        uint8_t *p = refraft_realloc(req->body, want);
        if (p == NULL)
            return MHD_NO;
        req->body = p;
        req->cap = want;
    }
    memcpy(req->body + req->len, data, n);
    req->len += n;
    return MHD_YES;
}

static enum MHD_Result queue_answer(http_request *req)
{
    enum MHD_Result ok = MHD_queue_response(req->conn, req->status, req->resp);
    MHD_destroy_response(req->resp);
    req->resp = NULL;
    req->state = REQ_QUEUED;
    return ok;
}

/* The body is complete (or the request was resumed): run the handler,
 * or queue the answer it gave. */
static enum MHD_Result on_complete(http_server *srv, http_request *req)
{
    switch (req->state) {
    case REQ_READING:
        req->state = REQ_HANDLING;
        srv->handler(srv->ctx, req);
        if (req->state == REQ_ANSWERED)
            return queue_answer(req);
        req->state = REQ_WAITING;
        MHD_suspend_connection(req->conn);
        return MHD_YES;
    case REQ_ANSWERED:
        return queue_answer(req);
    case REQ_WAITING:
        /* Not expected while suspended; wait on. */
        MHD_suspend_connection(req->conn);
        return MHD_YES;
    default:
        return MHD_YES;
    }
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn,
                                 const char *url, const char *method,
                                 const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    http_server *srv = cls;
    http_request *req = *con_cls;
    (void)version;
    if (req == NULL) {
        req = request_new(srv, conn, url, method);
        if (req == NULL)
            return MHD_NO;
        *con_cls = req;
        return on_headers(srv, req);
    }
    if (*upload_data_size != 0)
        return on_body(srv, req, upload_data, upload_data_size);
    return on_complete(srv, req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    http_request *req = *con_cls;
    (void)cls;
    (void)conn;
    (void)toe;
    if (req == NULL)
        return;
    *con_cls = NULL;
    if (req->state == REQ_HANDLING || req->state == REQ_WAITING) {
        /* The application still holds it: http_respond() frees it. */
        req->state = REQ_ORPHANED;
        req->conn = NULL;
        return;
    }
    request_free(req);
}

/* ---- start --------------------------------------------------------------- */

static void format_addr(const char *host, uint16_t port, char *out, size_t len)
{
    if (strchr(host, ':') != NULL)
        snprintf(out, len, "[%s]:%u", host, (unsigned)port);
    else
        snprintf(out, len, "%s:%u", host, (unsigned)port);
}

/* Bind and listen ourselves rather than through MHD: errno then names
 * the failure ("Address already in use"), and SO_REUSEADDR lets a
 * restarted server take its port back at once. */
static int listen_on(const char *host, uint16_t port, int *fd_out, char *errbuf,
                     size_t errbuf_len)
{
    char addr[300], portstr[8];
    format_addr(host, port, addr, sizeof(addr));
    snprintf(portstr, sizeof(portstr), "%u", (unsigned)port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    int gai = getaddrinfo(host, portstr, &hints, &res);
    if (gai != 0) {
        http_errf(errbuf, errbuf_len, "cannot listen on %s: %s", addr,
                  gai == EAI_NONAME ? "not a numeric IP address"
                                    : gai_strerror(gai));
        return REFRAFT_EINVAL;
    }
    int err = 0;
    int fd = -1;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
            bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
            listen(fd, LISTEN_BACKLOG) != 0 ||
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        http_errf(errbuf, errbuf_len, "cannot listen on %s: %s", addr,
                  strerror(err));
        return REFRAFT_EIO;
    }
    *fd_out = fd;
    return 0;
}

/* The port actually bound (port 0 asked for an ephemeral one). */
static uint16_t bound_port(struct MHD_Daemon *daemon, int fd)
{
    const union MHD_DaemonInfo *di =
        MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (di != NULL && di->port != 0)
        return di->port;
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

typedef struct tls_files {
    char *cert, *key, *ca;
} tls_files;

static void tls_files_free(tls_files *t)
{
    refraft_free(t->cert);
    /* The key is a secret: do not leave it in freed memory. */
    if (t->key != NULL)
        memset(t->key, 0, strlen(t->key));
    refraft_free(t->key);
    refraft_free(t->ca);
}

static int
check_config(const http_server_config *cfg, char *errbuf, size_t errbuf_len)
{
    if (cfg->handler == NULL) {
        http_errf(errbuf, errbuf_len, "no handler");
        return REFRAFT_EINVAL;
    }
    if ((cfg->cert_file == NULL) != (cfg->key_file == NULL) ||
        (cfg->ca_file != NULL && cfg->cert_file == NULL)) {
        http_errf(errbuf, errbuf_len,
                  "TLS needs cert_file and key_file (and ca_file for "
                  "client certificates)");
        return REFRAFT_EINVAL;
    }
    if (cfg->cert_file != NULL &&
        MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        http_errf(errbuf, errbuf_len, "libmicrohttpd was built without TLS");
        return REFRAFT_EINVAL;
    }
    if (cfg->max_connections > FD_SETSIZE - 64) {
        http_errf(errbuf, errbuf_len, "max_connections %u over %d (select)",
                  cfg->max_connections, FD_SETSIZE - 64);
        return REFRAFT_EINVAL;
    }
    return 0;
}

static int load_tls(const http_server_config *cfg, tls_files *t, char *errbuf,
                    size_t errbuf_len)
{
    int rv = 0;
    if (cfg->cert_file != NULL)
        rv = http_read_file(cfg->cert_file, &t->cert, errbuf, errbuf_len);
    if (rv == 0 && cfg->key_file != NULL)
        rv = http_read_file(cfg->key_file, &t->key, errbuf, errbuf_len);
    if (rv == 0 && cfg->ca_file != NULL)
        rv = http_read_file(cfg->ca_file, &t->ca, errbuf, errbuf_len);
    return rv;
}

static struct MHD_Daemon *start_daemon(http_server *srv,
                                       const http_server_config *cfg,
                                       const tls_files *t, int fd)
{
    unsigned flags = MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    struct MHD_OptionItem tls[4];
    size_t n = 0;
    if (t->cert != NULL) {
        flags |= MHD_USE_TLS;
        tls[n++] =
            (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, t->cert};
        tls[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, t->key};
        if (t->ca != NULL)
            tls[n++] =
                (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, t->ca};
    }
    tls[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    unsigned max_conn = cfg->max_connections != 0 ? cfg->max_connections
                                                  : DEFAULT_MAX_CONNECTIONS;
    unsigned timeout =
        cfg->idle_timeout_s != 0 ? cfg->idle_timeout_s : DEFAULT_IDLE_TIMEOUT_S;
    return MHD_start_daemon(
        flags, 0, NULL, NULL, on_access, srv, MHD_OPTION_EXTERNAL_LOGGER,
        on_log, srv, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
        max_conn, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)HTTP_SERVER_CONN_MEMORY, MHD_OPTION_CONNECTION_TIMEOUT, timeout,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape_none, NULL, MHD_OPTION_ARRAY,
        tls, MHD_OPTION_END);
}

int http_server_start(const http_server_config *cfg, http_server **out,
                      char *errbuf, size_t errbuf_len)
{
    if (cfg == NULL || out == NULL) {
        http_errf(errbuf, errbuf_len, "no config or no out pointer");
        return REFRAFT_EINVAL;
    }
    int rv = check_config(cfg, errbuf, errbuf_len);
    if (rv != 0)
        return rv;
    http_server *srv = refraft_calloc(1, sizeof(*srv));
    if (srv == NULL) {
        http_errf(errbuf, errbuf_len, "out of memory");
        return REFRAFT_ENOMEM;
    }
    srv->handler = cfg->handler;
    srv->ctx = cfg->ctx;
    srv->max_body = cfg->max_body != 0 ? cfg->max_body : REFRAFT_WIRE_MAX_BODY;
    srv->verify_clients = cfg->ca_file != NULL;
    tls_files t = {0};
    rv = load_tls(cfg, &t, errbuf, errbuf_len);
    if (rv != 0)
        goto err_after_srv;
    const char *host = cfg->host != NULL ? cfg->host : "127.0.0.1";
    int fd;
    rv = listen_on(host, cfg->port, &fd, errbuf, errbuf_len);
    if (rv != 0)
        goto err_after_tls;
    srv->daemon = start_daemon(srv, cfg, &t, fd);
    if (srv->daemon == NULL) {
        char addr[300];
        format_addr(host, cfg->port, addr, sizeof(addr));
        http_errf(errbuf, errbuf_len, "cannot serve on %s: %s%s", addr,
                  srv->log[0] != '\0' ? srv->log : "libmicrohttpd failed",
                  t.cert != NULL ? " (check cert_file and key_file)" : "");
        close(fd);
        rv = REFRAFT_EIO;
        goto err_after_tls;
    }
    srv->port = bound_port(srv->daemon, fd);
    tls_files_free(&t); /* MHD keeps its own copies */
    *out = srv;
    return 0;

err_after_tls:
    tls_files_free(&t);
err_after_srv:
    refraft_free(srv);
    return rv;
}

/* ---- loop ------------------------------------------------------------------
 */

uint16_t http_server_port(const http_server *srv)
{
    return srv->port;
}

void http_server_fdset(http_server *srv, fd_set *rd, fd_set *wr, fd_set *ex,
                       int *max_fd)
{
    MHD_socket max = *max_fd;
    if (MHD_get_fdset2(srv->daemon, rd, wr, ex, &max, FD_SETSIZE) == MHD_YES)
        *max_fd = max;
}

uint64_t http_server_timeout_ms(http_server *srv)
{
    MHD_UNSIGNED_LONG_LONG t;
    if (srv->resumed)
        return 0;
    if (MHD_get_timeout(srv->daemon, &t) != MHD_YES)
        return UINT64_MAX;
    return (uint64_t)t;
}

void http_server_run(http_server *srv, const fd_set *rd, const fd_set *wr,
                     const fd_set *ex)
{
    fd_set none;
    FD_ZERO(&none);
    srv->resumed = false;
    (void)MHD_run_from_select(srv->daemon, rd != NULL ? rd : &none,
                              wr != NULL ? wr : &none, ex != NULL ? ex : &none);
}

void http_server_flush(http_server *srv)
{
    (void)MHD_run(srv->daemon);
}

/* ---- stop ------------------------------------------------------------------
 */

/* Run the daemon until the 503s are written or the deadline passes.
 * Resumed connections rejoin MHD's descriptor sets only once it has
 * run, so it runs first, and each wait is kept short. */
static void drain(http_server *srv)
{
    uint64_t deadline = http_now_ms() + STOP_DRAIN_MS;
    http_server_run(srv, NULL, NULL, NULL);
    while (srv->draining > 0 && http_now_ms() < deadline) {
        fd_set rd, wr, ex;
        FD_ZERO(&rd);
        FD_ZERO(&wr);
        FD_ZERO(&ex);
        int max_fd = -1;
        http_server_fdset(srv, &rd, &wr, &ex, &max_fd);
        uint64_t wait = http_server_timeout_ms(srv);
        if (wait > DRAIN_STEP_MS)
            wait = DRAIN_STEP_MS;
        struct timeval tv = {0, (suseconds_t)wait * 1000};
        if (select(max_fd + 1, &rd, &wr, &ex, &tv) < 0) {
            if (errno != EINTR)
                break;
            continue;
        }
        http_server_run(srv, &rd, &wr, &ex);
    }
}

void http_server_stop(http_server *srv)
{
    if (srv == NULL)
        return;
    srv->stopping = true;
    /* Stop accepting first, so the port is free when we return. */
    MHD_socket lfd = MHD_quiesce_daemon(srv->daemon);
    if (lfd != MHD_INVALID_SOCKET)
        close(lfd);
    /* MHD must not be stopped with suspended connections: answer them. */
    http_request *next;
    for (http_request *req = srv->reqs; req != NULL; req = next) {
        next = req->next;
        if (req->state == REQ_WAITING) {
            static const char text[] = "server shutting down\n";
            (void)http_respond(req, 503, "text/plain; charset=utf-8", text,
                               sizeof(text) - 1, NULL);
        } else if (req->state == REQ_ORPHANED) {
            request_free(req);
            continue;
        }
        /* Answers on their way get the drain's time to arrive. */
        if (req->state == REQ_ANSWERED || req->state == REQ_QUEUED) {
            req->stop_answered = true;
            srv->draining++;
        }
    }
    drain(srv);
    MHD_stop_daemon(srv->daemon);
    /* What MHD did not complete (none is expected) goes too. */
    while (srv->reqs != NULL)
        request_free(srv->reqs);
    refraft_free(srv);
}

/* ---- requests: the handler's side ------------------------------------------
 */

const char *http_request_method(const http_request *req)
{
    return req->method;
}

const char *http_request_path(const http_request *req)
{
    return req->path;
}

const uint8_t *http_request_body(const http_request *req, size_t *len)
{
    if (len != NULL)
        *len = req->len;
    return req->body != NULL ? req->body : empty_body;
}

const char *http_request_header(const http_request *req, const char *name)
{
    if (req->conn == NULL || name == NULL)
        return NULL;
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_request_query(const http_request *req, const char *name)
{
    if (req->conn == NULL || name == NULL)
        return NULL;
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_request_peer(const http_request *req)
{
    return req->peer;
}

int http_respond(http_request *req, unsigned status, const char *content_type,
                 const void *body, size_t len, const char *const *headers)
{
    if (req == NULL || status < 200 || status > 599 ||
        (body == NULL && len != 0))
        return REFRAFT_EINVAL;
    if (req->state != REQ_HANDLING && req->state != REQ_WAITING &&
        req->state != REQ_ORPHANED)
        return REFRAFT_EINVAL;
    struct MHD_Response *resp;
    int rv = make_response(content_type, body, len, headers, &resp);
    if (rv != 0)
        return rv;
    if (req->state == REQ_ORPHANED) {
        /* Its connection is gone: nobody to tell. */
        MHD_destroy_response(resp);
        request_free(req);
        return 0;
    }
    bool resume = req->state == REQ_WAITING;
    req->resp = resp;
    req->status = status;
    req->state = REQ_ANSWERED;
    /* Answered from the handler: on_complete() queues it on return.
     * Later: MHD calls on_access() again once resumed, and it is queued
     * there (MHD takes answers only inside that callback). */
    if (resume) {
        MHD_resume_connection(req->conn);
        req->srv->resumed = true;
    }
    return 0;
}
