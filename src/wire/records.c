/* records.c - record push batches to protobuf and back: the records that
 * follow an AppendEntries in the body of POST /raft/v1/msg. */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "wire/internal.h"

/* ---- encode ------------------------------------------------------------ */

static int check_record(const refraft_wire_record *r, size_t i)
{
    char where[32];
    wire_label(where, sizeof where, "record", i);
    if (wire_check_ref(&r->ref, where, NULL) != 0 ||
        r->ref.size > REFRAFT_WIRE_MAX_RECORD ||
        (r->ref.size > 0 && r->bytes == NULL))
        return REFRAFT_EINVAL;
    return 0;
}

static int check_batch(const char *sender_id, refraft_term term,
                       const refraft_wire_record *records, size_t n)
{
    if (wire_check_node_id_str(sender_id, "sender_id", NULL) != 0 ||
        wire_check_term(term, false, "term", NULL) != 0 || n == 0 ||
        records == NULL)
        return REFRAFT_EINVAL;
    /* Each record packs to more than its 32-byte digest, so more than
     * this many could never fit the body cap (wire_pack checks the exact
     * size); the bound keeps the allocation below from overflowing. */
    if (n > REFRAFT_WIRE_MAX_BODY / REFRAFT_DIGEST_LEN)
        return REFRAFT_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (check_record(&records[i], i) != 0)
            return REFRAFT_EINVAL;
    return 0;
}

int refraft_wire_encode_records(const char *sender_id, refraft_term term,
                                const refraft_wire_record *records, size_t n,
                                refraft_wire_buf *out)
{
    if (out == NULL || check_batch(sender_id, term, records, n) != 0)
        return REFRAFT_EINVAL;
    /* One allocation: n Record structs, n Ref structs and the n pointers
     * protobuf-c wants.  The records' bytes are packed from where they
     * are, not copied. */
    size_t each = sizeof(Refraft__Record *) + sizeof(Refraft__Record) +
                  sizeof(Refraft__Ref);
    char *block = refraft_malloc(n * each);
    if (block == NULL)
        return REFRAFT_ENOMEM;
    Refraft__Record **ptrs = (Refraft__Record **)(void *)block;
    Refraft__Record *pr = (Refraft__Record *)(void *)(ptrs + n);
    Refraft__Ref *pf = (Refraft__Ref *)(void *)(pr + n);
    for (size_t i = 0; i < n; i++) {
        refraft__record__init(&pr[i]);
        wire_ref_to_pb(&records[i].ref, &pf[i]);
        pr[i].ref = &pf[i];
        pr[i].has_bytes = 1;
        /* Packing only reads the bytes; an empty record may have none. */
        static uint8_t none[1];
        pr[i].bytes.data =
            records[i].bytes != NULL ? (uint8_t *)records[i].bytes : none;
        pr[i].bytes.len = (size_t)records[i].ref.size;
        ptrs[i] = &pr[i];
    }
    Refraft__RecordBatch pb = REFRAFT__RECORD_BATCH__INIT;
    pb.has_sender_id = pb.has_term = 1;
    pb.sender_id.data = (uint8_t *)sender_id;
    pb.sender_id.len = strlen(sender_id);
    pb.term = term;
    pb.n_records = n;
    pb.records = ptrs;
    int rv = wire_pack(&pb.base, out);
    refraft_free(block);
    return rv;
}

/* ---- decode ------------------------------------------------------------ */

/* What a decoded batch's priv holds: the wire_store, then the records. */
typedef struct records_store {
    wire_store head;
    refraft_wire_record records[];
} records_store;

static int record_from_pb(const Refraft__Record *pb, size_t i,
                          refraft_wire_record *out, wire_err *err)
{
    char where[32];
    wire_label(where, sizeof where, "record", i);
    if (pb->ref == NULL)
        return wire_bad(err, "%s: missing ref", where);
    if (!pb->has_bytes)
        return wire_bad(err, "%s: missing bytes", where);
    int rv = wire_ref_from_pb(pb->ref, &out->ref, where, err);
    if (rv != 0)
        return rv;
    if (out->ref.size > REFRAFT_WIRE_MAX_RECORD)
        return wire_bad(err, "%s: size %llu is over the %u-byte cap", where,
                        (unsigned long long)out->ref.size,
                        REFRAFT_WIRE_MAX_RECORD);
    if (pb->bytes.len != out->ref.size)
        return wire_bad(err, "%s: %zu bytes where its ref says %llu", where,
                        pb->bytes.len, (unsigned long long)out->ref.size);
    /* protobuf-c leaves data NULL for 0 bytes; a record is never NULL. */
    static const uint8_t none[1];
    out->bytes = pb->bytes.data != NULL ? pb->bytes.data : none;
    return 0;
}

static int check_batch_pb(const Refraft__RecordBatch *pb, wire_err *err)
{
    int rv = wire_check_present(&pb->base, "RecordBatch", err);
    if (rv == 0)
        rv = wire_check_node_id(pb->sender_id.data, pb->sender_id.len,
                                "RecordBatch sender_id", err);
    if (rv == 0)
        rv = wire_check_term(pb->term, false, "RecordBatch term", err);
    if (rv == 0 && pb->n_records == 0)
        rv = wire_bad(err, "RecordBatch has no records");
    return rv;
}

/* wire_convert_fn: turn the unpacked body into a refraft_wire_records
 * whose storage is one allocation (its priv). */
static int
convert(ProtobufCMessage *unpacked, wire_arena *arena, void *out, wire_err *err)
{
    Refraft__RecordBatch *pb = (Refraft__RecordBatch *)unpacked;
    int rv = check_batch_pb(pb, err);
    if (rv != 0)
        return rv;
    size_t n = pb->n_records;
    records_store *s =
        refraft_malloc(sizeof *s + n * sizeof(refraft_wire_record));
    if (s == NULL)
        return REFRAFT_ENOMEM;
    for (size_t i = 0; i < n && rv == 0; i++)
        rv = record_from_pb(pb->records[i], i, &s->records[i], err);
    if (rv != 0) {
        refraft_free(s);
        return rv;
    }
    wire_store_keep(&s->head, arena);
    wire_copy_node_id(s->head.sender_id, &pb->sender_id);
    refraft_wire_records *r = out;
    r->sender_id = s->head.sender_id;
    r->term = pb->term;
    r->records = s->records;
    r->n = n;
    r->priv = s;
    return 0;
}

int refraft_wire_decode_records(const uint8_t *data, size_t len,
                                refraft_wire_records *out, char *errbuf,
                                size_t errbuf_len)
{
    wire_err err = {errbuf, errbuf_len};
    return wire_decode(&refraft__record_batch__descriptor, data, len, out,
                       convert, &err);
}

void refraft_wire_records_free(refraft_wire_records *r)
{
    if (r == NULL || r->priv == NULL)
        return;
    wire_store_free(r->priv);
    memset(r, 0, sizeof *r);
}
