/* wire.c - the codec's common ground: strict unpacking (into an arena,
 * arena.c), decoded bodies' storage, and the checks every body shares. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "wire/internal.h"

const char *wire_label(char *buf, size_t len, const char *name, size_t index)
{
    char digits[24];
    size_t n = 0;
    for (size_t v = index; n == 0 || v > 0; v /= 10)
        digits[n++] = (char)('0' + v % 10);
    size_t at = strlen(name);
    if (at + 1 + n >= len) {
        snprintf(buf, len, "%s %zu", name, index);
        return buf;
    }
    memcpy(buf, name, at);
    buf[at++] = ' ';
    while (n > 0)
        buf[at++] = digits[--n];
    buf[at] = '\0';
    return buf;
}

int wire_bad(wire_err *err, const char *fmt, ...)
{
    if (err != NULL && err->buf != NULL && err->len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->buf, err->len, fmt, ap);
        va_end(ap);
    }
    return REFRAFT_EBADMSG;
}

/* ---- decoded bodies ---------------------------------------------------- */

void wire_store_keep(wire_store *s, wire_arena *arena)
{
    s->arena = *arena;
    arena->chunks = NULL;
    arena->big = NULL;
}

void wire_store_free(wire_store *s)
{
    wire_arena_free(&s->arena);
    refraft_free(s);
}

/* ---- strict unpacking -------------------------------------------------- */

static int check_known_fields(const ProtobufCMessage *m, wire_err *err);

/* The sub-message field f of m, or its element i when f is repeated. */
static const ProtobufCMessage *sub_message(const ProtobufCMessage *m,
                                           const ProtobufCFieldDescriptor *f,
                                           size_t i)
{
    const char *base = (const char *)m + f->offset;
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return (*(ProtobufCMessage *const *const *)base)[i];
    return *(ProtobufCMessage *const *)base;
}

static size_t
field_count(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    const char *q = (const char *)m + f->quantifier_offset;
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return *(const size_t *)q;
    /* Of a oneof, only the member the case names is set. */
    if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0)
        return *(const uint32_t *)q == f->id;
    return 1;
}

static int check_sub_fields(const ProtobufCMessage *m,
                            const ProtobufCFieldDescriptor *f, wire_err *err)
{
    size_t n = field_count(m, f);
    for (size_t i = 0; i < n; i++) {
        const ProtobufCMessage *sub = sub_message(m, f, i);
        if (sub == NULL)
            continue;
        int rv = check_known_fields(sub, err);
        if (rv != 0)
            return rv;
    }
    return 0;
}

/* Refuse fields the schema does not define, at any depth (protobuf-c
 * keeps them aside as "unknown"; refraft.proto says why we refuse them). */
static int check_known_fields(const ProtobufCMessage *m, wire_err *err)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    if (m->n_unknown_fields > 0)
        return wire_bad(err, "unknown field %u in %s",
                        (unsigned)m->unknown_fields[0].tag, d->short_name);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        int rv = check_sub_fields(m, f, err);
        if (rv != 0)
            return rv;
    }
    return 0;
}

int wire_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
                size_t len, wire_arena *arena, ProtobufCMessage **out,
                wire_err *err)
{
    /* An AppendEntries unpacks to a few times its body (the structs,
     * and a copy of every id and digest); a RecordBatch to a little more
     * (most of it the records' bytes).  The arena starts at twice and
     * doubles. */
    ProtobufCAllocator alloc = wire_arena_start(
        arena, WIRE_DECODE_FACTOR * len + 65536, 2 * len + 4096);
    if (len > REFRAFT_WIRE_MAX_BODY)
        return wire_bad(err, "body of %zu bytes is over the %u-byte cap", len,
                        REFRAFT_WIRE_MAX_BODY);
    static const uint8_t empty[1];
    if (data == NULL)
        data = empty; /* len is 0 here: an empty body */
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, &alloc, len, data);
    if (m == NULL) {
        /* protobuf-c returns NULL for a malformed body and for a failed
         * allocation alike; the arena knows which it was. */
        bool oom = arena->oom, over = arena->over;
        wire_arena_free(arena);
        if (oom)
            return REFRAFT_ENOMEM;
        if (over)
            return wire_bad(err,
                            "body of %zu bytes would take more than %zu bytes "
                            "to decode (mostly empty fields)",
                            len, WIRE_DECODE_FACTOR * len + 65536);
        return wire_bad(err,
                        "body of %zu bytes is not a valid %s "
                        "(truncated or malformed protobuf)",
                        len, desc->short_name);
    }
    int rv = check_known_fields(m, err);
    /* A body exactly as long as its fields once packed again has each
     * field once and every number in its shortest form: protobuf would
     * otherwise merge repeats (or keep the last of two oneof members)
     * without a word. */
    size_t packed = rv == 0 ? protobuf_c_message_get_packed_size(m) : len;
    if (packed != len)
        rv = wire_bad(err,
                      "body of %zu bytes holds %zu bytes of fields: a field "
                      "given twice, two messages, or a padded number",
                      len, packed);
    if (rv != 0) {
        wire_arena_free(arena);
        return rv;
    }
    *out = m;
    return 0;
}

int wire_decode(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
                size_t len, void *out, wire_convert_fn convert, wire_err *err)
{
    if (out == NULL || (data == NULL && len > 0)) {
        wire_bad(err, "no body to decode or no place to put it");
        return REFRAFT_EINVAL;
    }
    ProtobufCMessage *pb;
    wire_arena arena;
    int rv = wire_unpack(desc, data, len, &arena, &pb, err);
    if (rv == 0) {
        rv = convert(pb, &arena, out, err);
        if (rv != 0)
            wire_arena_free(&arena);
    }
    if (rv == REFRAFT_ENOMEM)
        wire_bad(err, "out of memory");
    return rv;
}

/* Is f a plain optional field (a scalar or bytes outside a oneof), the
 * kind with a has_ flag? */
static bool plain_optional(const ProtobufCFieldDescriptor *f)
{
    return f->label == PROTOBUF_C_LABEL_OPTIONAL &&
           f->type != PROTOBUF_C_TYPE_MESSAGE &&
           (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) == 0;
}

int wire_check_present(const ProtobufCMessage *m, const char *where,
                       wire_err *err)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (!plain_optional(f))
            continue;
        const protobuf_c_boolean *has =
            (const protobuf_c_boolean *)((const char *)m +
                                         f->quantifier_offset);
        if (!*has)
            return wire_bad(err, "%s: missing %s", where, f->name);
    }
    return 0;
}

void wire_set_present(ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (plain_optional(f))
            *(protobuf_c_boolean *)((char *)m + f->quantifier_offset) = 1;
    }
}

/* ---- field checks ------------------------------------------------------ */

int wire_check_node_id(const uint8_t *id, size_t len, const char *what,
                       wire_err *err)
{
    if (len == 0)
        return wire_bad(err, "%s is empty", what);
    if (len > REFRAFT_ID_MAX)
        return wire_bad(err, "%s of %zu bytes is over %d", what, len,
                        REFRAFT_ID_MAX);
    if (memchr(id, '\0', len) != NULL)
        return wire_bad(err, "%s contains a NUL byte", what);
    return 0;
}

int wire_check_node_id_str(const char *id, const char *what, wire_err *err)
{
    if (id == NULL)
        return wire_bad(err, "%s is missing", what);
    size_t len = 0;
    while (len <= REFRAFT_ID_MAX && id[len] != '\0')
        len++;
    return wire_check_node_id((const uint8_t *)id, len, what, err);
}

void wire_copy_node_id(char *dst, const ProtobufCBinaryData *id)
{
    memcpy(dst, id->data, id->len);
    dst[id->len] = '\0';
}

int wire_check_term(uint64_t term, bool zero_ok, const char *what,
                    wire_err *err)
{
    if ((term == 0 && !zero_ok) || term > REFRAFT_TERM_MAX)
        return wire_bad(err, "%s %llu is outside [%d, %llu]", what,
                        (unsigned long long)term, zero_ok ? 0 : 1,
                        (unsigned long long)REFRAFT_TERM_MAX);
    return 0;
}

static int check_record_id_len(size_t len, const char *where, wire_err *err)
{
    if (len == 0)
        return wire_bad(err, "%s: record id is empty", where);
    if (len > REFRAFT_RECORD_ID_MAX)
        return wire_bad(err, "%s: record id of %zu bytes is over %d", where,
                        len, REFRAFT_RECORD_ID_MAX);
    return 0;
}

int wire_check_ref(const refraft_ref *ref, const char *where, wire_err *err)
{
    if (ref->id == NULL)
        return wire_bad(err, "%s: record id is missing", where);
    return check_record_id_len(ref->id_len, where, err);
}

int wire_ref_from_pb(const Refraft__Ref *pb, refraft_ref *out,
                     const char *where, wire_err *err)
{
    int rv = wire_check_present(&pb->base, "", NULL);
    if (rv != 0) { /* say where only when it is needed */
        char what[64];
        snprintf(what, sizeof what, "%s ref", where);
        return wire_check_present(&pb->base, what, err);
    }
    rv = check_record_id_len(pb->id.len, where, err);
    if (rv != 0)
        return rv;
    if (pb->digest.len != REFRAFT_DIGEST_LEN)
        return wire_bad(err, "%s: digest of %zu bytes is not %d", where,
                        pb->digest.len, REFRAFT_DIGEST_LEN);
    memset(out, 0, sizeof *out);
    out->id = pb->id.data;
    out->id_len = (uint16_t)pb->id.len;
    out->size = pb->size;
    memcpy(out->digest, pb->digest.data, REFRAFT_DIGEST_LEN);
    return 0;
}

void wire_ref_to_pb(const refraft_ref *ref, Refraft__Ref *pb)
{
    refraft__ref__init(pb);
    pb->has_id = 1;
    pb->id.data = (uint8_t *)ref->id; /* packing only reads it */
    pb->id.len = ref->id_len;
    pb->has_size = 1;
    pb->size = ref->size;
    pb->has_digest = 1;
    pb->digest.data = (uint8_t *)ref->digest;
    pb->digest.len = REFRAFT_DIGEST_LEN;
}

/* ---- buffers ----------------------------------------------------------- */

int wire_pack(const ProtobufCMessage *m, refraft_wire_buf *out)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    if (len > REFRAFT_WIRE_MAX_BODY)
        return REFRAFT_EINVAL;
    /* Every body has at least one field, so len > 0. */
    uint8_t *data = refraft_malloc(len);
    if (data == NULL)
        return REFRAFT_ENOMEM;
    size_t n = protobuf_c_message_pack(m, data);
    (void)n; /* == len: protobuf-c packs what it measured */
    out->data = data;
    out->len = len;
    return 0;
}

void refraft_wire_free(refraft_wire_buf *buf)
{
    if (buf == NULL)
        return;
    refraft_free(buf->data);
    buf->data = NULL;
    buf->len = 0;
}
