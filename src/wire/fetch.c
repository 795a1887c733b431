/* fetch.c - the sweeper's batched fetch to protobuf and back: the
 * request and response bodies of POST /raft/v1/fetch. */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "refraft/sweeper.h"
#include "wire/internal.h"

/* FetchStatus carries refraft_fetch_status's numbers. */
_Static_assert((int)REFRAFT__FETCH_STATUS__FETCH_OK == (int)REFRAFT_FETCH_OK &&
                   (int)REFRAFT__FETCH_STATUS__FETCH_ABSENT ==
                       (int)REFRAFT_FETCH_ABSENT &&
                   (int)REFRAFT__FETCH_STATUS__FETCH_UNKNOWN ==
                       (int)REFRAFT_FETCH_UNKNOWN &&
                   (int)REFRAFT__FETCH_STATUS__FETCH_FAILED ==
                       (int)REFRAFT_FETCH_FAILED,
               "refraft.proto's FetchStatus is refraft_fetch_status");

/* A record of 0 bytes has no bytes on the wire, and protobuf-c leaves its
 * data NULL; an OK answer always points somewhere. */
static const uint8_t none[1];

static bool status_known(int status)
{
    return status >= REFRAFT__FETCH_STATUS__FETCH_OK &&
           status <= REFRAFT__FETCH_STATUS__FETCH_FAILED;
}

/* ---- the request --------------------------------------------------------- */

static int check_request(const char *sender_id, refraft_term term,
                         const refraft_ref *refs, size_t n)
{
    if (wire_check_node_id_str(sender_id, "sender_id", NULL) != 0 ||
        wire_check_term(term, false, "term", NULL) != 0 || n == 0 ||
        n > REFRAFT_WIRE_MAX_FETCH || refs == NULL)
        return REFRAFT_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (wire_check_ref(&refs[i], "record", NULL) != 0)
            return REFRAFT_EINVAL;
    return 0;
}

int refraft_wire_encode_fetch_request(const char *sender_id, refraft_term term,
                                      const refraft_ref *refs, size_t n,
                                      refraft_wire_buf *out)
{
    if (out == NULL || check_request(sender_id, term, refs, n) != 0)
        return REFRAFT_EINVAL;
    /* One allocation: the n pointers protobuf-c wants and n Ref structs,
     * which point into refs (ids and digests are packed from there). */
    Refraft__Ref **ptrs =
        refraft_malloc(n * (sizeof(Refraft__Ref *) + sizeof(Refraft__Ref)));
    if (ptrs == NULL)
        return REFRAFT_ENOMEM;
    Refraft__Ref *pr = (Refraft__Ref *)(void *)(ptrs + n);
    for (size_t i = 0; i < n; i++) {
        wire_ref_to_pb(&refs[i], &pr[i]);
        ptrs[i] = &pr[i];
    }
    Refraft__FetchRequest pb = REFRAFT__FETCH_REQUEST__INIT;
    wire_set_present(&pb.base);
    pb.sender_id.data = (uint8_t *)sender_id;
    pb.sender_id.len = strlen(sender_id);
    pb.term = term;
    pb.n_refs = n;
    pb.refs = ptrs;
    int rv = wire_pack(&pb.base, out);
    refraft_free(ptrs);
    return rv;
}

/* What a decoded request's priv holds: the wire_store, then the refs. */
typedef struct request_store {
    wire_store head;
    refraft_ref refs[];
} request_store;

static int check_request_pb(const Refraft__FetchRequest *pb, wire_err *err)
{
    int rv = wire_check_present(&pb->base, "FetchRequest", err);
    if (rv == 0)
        rv = wire_check_node_id(pb->sender_id.data, pb->sender_id.len,
                                "FetchRequest sender_id", err);
    if (rv == 0)
        rv = wire_check_term(pb->term, false, "FetchRequest term", err);
    if (rv == 0 && pb->n_refs == 0)
        rv = wire_bad(err, "FetchRequest has no refs");
    if (rv == 0 && pb->n_refs > REFRAFT_WIRE_MAX_FETCH)
        rv = wire_bad(err, "FetchRequest has %zu refs, over the limit of %u",
                      pb->n_refs, REFRAFT_WIRE_MAX_FETCH);
    return rv;
}

/* wire_convert_fn: the unpacked request as a refraft_wire_fetch_request
 * whose storage is one allocation (its priv). */
static int convert_request(ProtobufCMessage *unpacked, wire_arena *arena,
                           void *out, wire_err *err)
{
    Refraft__FetchRequest *pb = (Refraft__FetchRequest *)unpacked;
    int rv = check_request_pb(pb, err);
    if (rv != 0)
        return rv;
    size_t n = pb->n_refs;
    request_store *s = refraft_malloc(sizeof *s + n * sizeof(refraft_ref));
    if (s == NULL)
        return REFRAFT_ENOMEM;
    for (size_t i = 0; i < n && rv == 0; i++) {
        char where[32];
        wire_label(where, sizeof where, "record", i);
        rv = wire_ref_from_pb(pb->refs[i], &s->refs[i], where, err);
    }
    if (rv != 0) {
        refraft_free(s);
        return rv;
    }
    wire_store_keep(&s->head, arena);
    wire_copy_node_id(s->head.sender_id, &pb->sender_id);
    refraft_wire_fetch_request *r = out;
    r->sender_id = s->head.sender_id;
    r->term = pb->term;
    r->refs = s->refs;
    r->n = n;
    r->priv = s;
    return 0;
}

int refraft_wire_decode_fetch_request(const uint8_t *data, size_t len,
                                      refraft_wire_fetch_request *out,
                                      char *errbuf, size_t errbuf_len)
{
    wire_err err = {errbuf, errbuf_len};
    return wire_decode(&refraft__fetch_request__descriptor, data, len, out,
                       convert_request, &err);
}

void refraft_wire_fetch_request_free(refraft_wire_fetch_request *r)
{
    if (r == NULL || r->priv == NULL)
        return;
    wire_store_free(r->priv);
    memset(r, 0, sizeof *r);
}

/* ---- the response -------------------------------------------------------- */

/* An answer the decoder would take: a known status, bytes (len of them)
 * on OK only. */
static bool answer_ok(const refraft_wire_fetch_answer *a)
{
    if (!status_known(a->status))
        return false;
    if (a->status != REFRAFT__FETCH_STATUS__FETCH_OK)
        return a->len == 0;
    return a->len == 0 || a->bytes != NULL;
}

int refraft_wire_encode_fetch_response(const char *sender_id,
                                       refraft_index data_index,
                                       const refraft_wire_fetch_answer *answers,
                                       size_t n, refraft_wire_buf *out)
{
    if (out == NULL ||
        wire_check_node_id_str(sender_id, "sender_id", NULL) != 0 ||
        n > REFRAFT_WIRE_MAX_FETCH || (n > 0 && answers == NULL))
        return REFRAFT_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!answer_ok(&answers[i]))
            return REFRAFT_EINVAL;
    /* The n pointers and n FetchAnswer structs in one allocation (at
     * least one byte: refraft_malloc refuses 0).  Bytes are packed from
     * where they are, not copied; wire_pack refuses a body over the cap. */
    size_t each = sizeof(Refraft__FetchAnswer *) + sizeof(Refraft__FetchAnswer);
    Refraft__FetchAnswer **ptrs = refraft_malloc(n > 0 ? n * each : 1);
    if (ptrs == NULL)
        return REFRAFT_ENOMEM;
    Refraft__FetchAnswer *pa = (Refraft__FetchAnswer *)(void *)(ptrs + n);
    for (size_t i = 0; i < n; i++) {
        refraft__fetch_answer__init(&pa[i]);
        pa[i].has_status = 1;
        pa[i].status = (Refraft__FetchStatus)answers[i].status;
        if (answers[i].status == REFRAFT__FETCH_STATUS__FETCH_OK) {
            pa[i].has_bytes = 1;
            pa[i].bytes.data = answers[i].len > 0
                                   ? (uint8_t *)answers[i].bytes
                                   : (uint8_t *)none; /* only read */
            pa[i].bytes.len = answers[i].len;
        }
        ptrs[i] = &pa[i];
    }
    Refraft__FetchResponse pb = REFRAFT__FETCH_RESPONSE__INIT;
    wire_set_present(&pb.base);
    pb.sender_id.data = (uint8_t *)sender_id;
    pb.sender_id.len = strlen(sender_id);
    pb.data_index = data_index;
    pb.n_answers = n;
    pb.answers = n > 0 ? ptrs : NULL;
    int rv = wire_pack(&pb.base, out);
    refraft_free(ptrs);
    return rv;
}

/* What a decoded response's priv holds: the wire_store, then the
 * answers. */
typedef struct response_store {
    wire_store head;
    refraft_wire_fetch_answer answers[];
} response_store;

static const char *const status_names[] = {"OK", "ABSENT", "UNKNOWN", "FAILED"};

static int answer_from_pb(const Refraft__FetchAnswer *pb, size_t i,
                          refraft_wire_fetch_answer *out, wire_err *err)
{
    if (!pb->has_status)
        return wire_bad(err, "answer %zu: missing status", i);
    if (!status_known(pb->status))
        return wire_bad(err,
                        "answer %zu: unknown status %d (not OK 0, ABSENT 1, "
                        "UNKNOWN 2 or FAILED 3)",
                        i, (int)pb->status);
    bool ok = pb->status == REFRAFT__FETCH_STATUS__FETCH_OK;
    if (ok && !pb->has_bytes)
        return wire_bad(err, "answer %zu: OK answer has no bytes", i);
    if (!ok && pb->has_bytes)
        return wire_bad(err, "answer %zu: %s answer carries bytes", i,
                        status_names[pb->status]);
    out->status = (int)pb->status;
    out->bytes = ok ? (pb->bytes.data != NULL ? pb->bytes.data : none) : NULL;
    out->len = ok ? pb->bytes.len : 0;
    return 0;
}

static int check_response_pb(const Refraft__FetchResponse *pb, wire_err *err)
{
    int rv = wire_check_present(&pb->base, "FetchResponse", err);
    if (rv == 0)
        rv = wire_check_node_id(pb->sender_id.data, pb->sender_id.len,
                                "FetchResponse sender_id", err);
    if (rv == 0 && pb->n_answers > REFRAFT_WIRE_MAX_FETCH)
        rv =
            wire_bad(err, "FetchResponse has %zu answers, over the limit of %u",
                     pb->n_answers, REFRAFT_WIRE_MAX_FETCH);
    return rv;
}

/* wire_convert_fn: the unpacked response as a
 * refraft_wire_fetch_response whose storage is one allocation. */
static int convert_response(ProtobufCMessage *unpacked, wire_arena *arena,
                            void *out, wire_err *err)
{
    Refraft__FetchResponse *pb = (Refraft__FetchResponse *)unpacked;
    int rv = check_response_pb(pb, err);
    if (rv != 0)
        return rv;
    size_t n = pb->n_answers;
    response_store *s =
        refraft_malloc(sizeof *s + n * sizeof(refraft_wire_fetch_answer));
    if (s == NULL)
        return REFRAFT_ENOMEM;
    for (size_t i = 0; i < n && rv == 0; i++)
        rv = answer_from_pb(pb->answers[i], i, &s->answers[i], err);
    if (rv != 0) {
        refraft_free(s);
        return rv;
    }
    wire_store_keep(&s->head, arena);
    wire_copy_node_id(s->head.sender_id, &pb->sender_id);
    refraft_wire_fetch_response *r = out;
    r->sender_id = s->head.sender_id;
    r->data_index = pb->data_index;
    r->answers = s->answers;
    r->n = n;
    r->priv = s;
    return 0;
}

int refraft_wire_decode_fetch_response(const uint8_t *data, size_t len,
                                       refraft_wire_fetch_response *out,
                                       char *errbuf, size_t errbuf_len)
{
    wire_err err = {errbuf, errbuf_len};
    return wire_decode(&refraft__fetch_response__descriptor, data, len, out,
                       convert_response, &err);
}

void refraft_wire_fetch_response_free(refraft_wire_fetch_response *r)
{
    if (r == NULL || r->priv == NULL)
        return;
    wire_store_free(r->priv);
    memset(r, 0, sizeof *r);
}
