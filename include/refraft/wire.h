/* wire.h - refraft's wire format: core messages and record exchanges as
 * bytes (protobuf, schema in src/wire/refraft.proto). */
#ifndef REFRAFT_WIRE_H
#define REFRAFT_WIRE_H

#include "refraft/refraft.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Every peer exchange of the HTTP transport is one of these bodies:
 *
 *   POST /raft/v1/msg       request: a core message (refraft_msg), then
 *                           optionally a batch of the records its
 *                           entries name; response: its result, when it
 *                           has one
 *   POST /raft/v1/fetch     request: records a sweeper asks for, by
 *                           reference; response: each one's answer
 *
 * Decoding is strict: a body that is truncated, larger than its cap,
 * carries an unknown message or entry type, a field out of range (a node
 * id empty or over REFRAFT_ID_MAX bytes, a record id over
 * REFRAFT_RECORD_ID_MAX, a digest not 32 bytes, a term over
 * REFRAFT_TERM_MAX, more entries than REFRAFT_MAX_ENTRIES_PER_MSG, more
 * snapshot refs than REFRAFT_WIRE_MAX_SNAPSHOT_REFS), or fields that
 * contradict each other (a REF entry without a record id, a VOID without
 * its voided index, an AppendEntries field on a vote, a snapshot ref
 * outside (after, last_index] or out of index order, members with a
 * config_index of 0, an installed result whose after is not its
 * last_index) is
 * refused with REFRAFT_EBADMSG and a message naming what was wrong.  The
 * core validates what it receives too; the codec's checks keep anything
 * malformed from reaching it at all.
 *
 * Memory comes from the library's allocator (refraft_set_allocator).
 * Every function returns 0 or a refraft error code and on error leaves
 * its outputs untouched.
 */

/* Largest body any peer exchange may have (a record batch or a fetch
 * response; a message carries references only and stays far below). */
#define REFRAFT_WIRE_MAX_BODY (64u << 20)
/* Largest record a push batch may carry. */
#define REFRAFT_WIRE_MAX_RECORD (16u << 20)

/* Most references an InstallSnapshot chunk may carry.  A reference with
 * the longest id takes about 320 bytes on the wire, so a full chunk stays
 * near 42 MiB, under REFRAFT_WIRE_MAX_BODY with its meta: a node whose
 * snapshot_chunk is at most this always gets its chunks through. */
#define REFRAFT_WIRE_MAX_SNAPSHOT_REFS (1u << 17)

/* Bytes the codec allocated: free with refraft_wire_free(). */
typedef struct refraft_wire_buf {
    uint8_t *data;
    size_t len;
} refraft_wire_buf;

REFRAFT_API void refraft_wire_free(refraft_wire_buf *buf);

/* Encode msg (as the core hands it to send() or a reply callback).
 * REFRAFT_EINVAL for a message the decoder would refuse; REFRAFT_ENOMEM. */
REFRAFT_API REFRAFT_WARN_UNUSED int
refraft_wire_encode_msg(const refraft_msg *msg, refraft_wire_buf *out);

/* A decoded message.  msg's strings, entries and record ids point into
 * storage owned by the struct: valid until refraft_wire_msg_free(). */
typedef struct refraft_wire_msg {
    refraft_msg msg;
    void *priv;
} refraft_wire_msg;

/* Decode a message body of len bytes (at most REFRAFT_WIRE_MAX_BODY).
 * REFRAFT_EBADMSG (errbuf says why) or REFRAFT_ENOMEM. */
REFRAFT_API REFRAFT_WARN_UNUSED int
refraft_wire_decode_msg(const uint8_t *data, size_t len, refraft_wire_msg *out,
                        char *errbuf, size_t errbuf_len);

REFRAFT_API void refraft_wire_msg_free(refraft_wire_msg *m);

/* One record of a push batch: its reference and its bytes
 * (ref.size bytes). */
typedef struct refraft_wire_record {
    refraft_ref ref;
    const uint8_t *bytes;
} refraft_wire_record;

/* Encode n records (n >= 1) as one push batch, with the sender's id and
 * term.  The codec does not check digests (the receiver does, before it
 * stores anything).  REFRAFT_EINVAL for a bad id or ref, a record over
 * REFRAFT_WIRE_MAX_RECORD, or a batch over REFRAFT_WIRE_MAX_BODY. */
REFRAFT_API REFRAFT_WARN_UNUSED int
refraft_wire_encode_records(const char *sender_id, refraft_term term,
                            const refraft_wire_record *records, size_t n,
                            refraft_wire_buf *out);

/* A decoded push batch; pointers valid until refraft_wire_records_free. */
typedef struct refraft_wire_records {
    const char *sender_id;
    refraft_term term;
    const refraft_wire_record *records;
    size_t n;
    void *priv;
} refraft_wire_records;

REFRAFT_API REFRAFT_WARN_UNUSED int
refraft_wire_decode_records(const uint8_t *data, size_t len,
                            refraft_wire_records *out, char *errbuf,
                            size_t errbuf_len);

REFRAFT_API void refraft_wire_records_free(refraft_wire_records *r);

/*
 * A sweeper's batched fetch, POST /raft/v1/fetch: the request names up to
 * REFRAFT_WIRE_MAX_FETCH records by reference, with the asker's id and
 * term; the response answers each, in the same order, with the
 * responder's id and data index.  An answer's status is a
 * refraft_fetch_status value (include/refraft/sweeper.h): 0 OK with
 * exactly ref.size bytes, 1 ABSENT, 2 UNKNOWN, 3 FAILED (not read, or
 * left out to keep the response under REFRAFT_WIRE_MAX_BODY); only OK
 * carries bytes.  The codec checks the shape, never digests.
 */
#define REFRAFT_WIRE_MAX_FETCH 4096u

/* Encode a request for n refs (1 to REFRAFT_WIRE_MAX_FETCH) from
 * sender_id in term (1 to REFRAFT_TERM_MAX).  REFRAFT_EINVAL for a bad
 * id, term or count, or a ref whose id is NULL, empty or over
 * REFRAFT_RECORD_ID_MAX bytes; REFRAFT_ENOMEM. */
REFRAFT_API REFRAFT_WARN_UNUSED int
refraft_wire_encode_fetch_request(const char *sender_id, refraft_term term,
                                  const refraft_ref *refs, size_t n,
                                  refraft_wire_buf *out);

typedef struct refraft_wire_fetch_request {
    const char *sender_id;
    refraft_term term;
    const refraft_ref *refs; /* n of them, 1 to REFRAFT_WIRE_MAX_FETCH */
    size_t n;
    void *priv;
} refraft_wire_fetch_request;

/* Decode a request body.  The refs' ids point into storage owned by out:
 * valid until refraft_wire_fetch_request_free().  REFRAFT_EBADMSG (errbuf
 * says why: a field missing, a bad sender id or term, no refs or more
 * than REFRAFT_WIRE_MAX_FETCH, a ref refused as in a record batch) or
 * REFRAFT_ENOMEM. */
REFRAFT_API REFRAFT_WARN_UNUSED int
refraft_wire_decode_fetch_request(const uint8_t *data, size_t len,
                                  refraft_wire_fetch_request *out, char *errbuf,
                                  size_t errbuf_len);
REFRAFT_API void refraft_wire_fetch_request_free(refraft_wire_fetch_request *r);

typedef struct refraft_wire_fetch_answer {
    int status; /* refraft_fetch_status */
    const uint8_t *bytes;
    size_t len; /* 0 unless status is OK */
} refraft_wire_fetch_answer;

/* Encode n answers (0 to REFRAFT_WIRE_MAX_FETCH) from sender_id with its
 * data index.  The bytes are packed from where they are.  REFRAFT_EINVAL
 * for a bad id or count, a status outside 0..3, bytes (len > 0) on an
 * answer that is not OK, an OK answer with len > 0 and bytes NULL, or a
 * body over REFRAFT_WIRE_MAX_BODY; REFRAFT_ENOMEM. */
REFRAFT_API REFRAFT_WARN_UNUSED int
refraft_wire_encode_fetch_response(const char *sender_id,
                                   refraft_index data_index,
                                   const refraft_wire_fetch_answer *answers,
                                   size_t n, refraft_wire_buf *out);

typedef struct refraft_wire_fetch_response {
    const char *sender_id;
    refraft_index data_index;
    const refraft_wire_fetch_answer *answers; /* n of them */
    size_t n;
    void *priv;
} refraft_wire_fetch_response;

/* Decode a response body.  An OK answer's bytes (never NULL, len of them,
 * whatever length was sent: the codec has no ref to compare them with;
 * the asker checks size and digest) point into storage owned by out:
 * valid until refraft_wire_fetch_response_free().  REFRAFT_EBADMSG
 * (errbuf says why: a field missing, a bad sender id, more than
 * REFRAFT_WIRE_MAX_FETCH answers, an unknown status, an OK answer without
 * bytes or another with them) or REFRAFT_ENOMEM. */
REFRAFT_API REFRAFT_WARN_UNUSED int
refraft_wire_decode_fetch_response(const uint8_t *data, size_t len,
                                   refraft_wire_fetch_response *out,
                                   char *errbuf, size_t errbuf_len);
REFRAFT_API void
refraft_wire_fetch_response_free(refraft_wire_fetch_response *r);

/*
 * The record digest header (RFC 9530) of the record service's
 * GET /v1/records/{id} (src/host, docs/runtime.md):
 * "sha-256=:<base64 of the 32 bytes>:".  format writes it into buf (at
 * least REFRAFT_WIRE_DIGEST_HEADER_LEN bytes, NUL-terminated); parse
 * reads one (other algorithms listed beside it are skipped) and returns
 * REFRAFT_EBADMSG when there is no valid sha-256 member.
 */
#define REFRAFT_WIRE_DIGEST_HEADER_LEN 56
REFRAFT_API void refraft_wire_format_digest(const uint8_t *digest, char *buf);
REFRAFT_API REFRAFT_WARN_UNUSED int
refraft_wire_parse_digest(const char *header, uint8_t *digest);

/*
 * Record ids in URL paths (the record service's /v1/records/{id}): ids
 * are opaque bytes, so a path carries them
 * percent-encoded (every byte outside A-Z a-z 0-9 - . _ ~).  encode writes
 * into buf (at least 3 * REFRAFT_RECORD_ID_MAX + 1 bytes); decode
 * refuses (REFRAFT_EINVAL) a malformed escape, an empty id or one over
 * REFRAFT_RECORD_ID_MAX bytes, writing at most REFRAFT_RECORD_ID_MAX
 * bytes to id and the length to *id_len.
 */
REFRAFT_API void
refraft_wire_encode_id(const uint8_t *id, size_t id_len, char *buf);
REFRAFT_API REFRAFT_WARN_UNUSED int
refraft_wire_decode_id(const char *path_part, uint8_t *id, size_t *id_len);

#ifdef __cplusplus
}
#endif

#endif /* REFRAFT_WIRE_H */
