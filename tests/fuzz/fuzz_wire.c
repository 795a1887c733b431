/* fuzz_wire.c - libFuzzer target for the wire codec: every input is fed
 * to each decoder (messages, record batches, fetch requests and
 * responses), and whatever one accepts must survive a trip back through
 * its encoder unchanged. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgeq.h"
#include "refraft/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken property is a crash, so libFuzzer saves the input. */
#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "fuzz_wire: %s:%d: %s\n", __FILE__, __LINE__,      \
                    #cond);                                                    \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* msgeq_msg() compares what the wire carries.  A decoded entry also
 * carries zeros where its type has no field, so two decodes of the same
 * message agree on every voided index too. */
static bool same_voided(const refraft_msg *a, const refraft_msg *b)
{
    if (a->type != REFRAFT_MSG_APPEND_ENTRIES)
        return true;
    const refraft_append_entries *x = &a->u.append_entries;
    const refraft_append_entries *y = &b->u.append_entries;
    for (size_t i = 0; i < x->n_entries; i++)
        if (x->entries[i].voided != y->entries[i].voided)
            return false;
    return true;
}

static void fuzz_msg(const uint8_t *data, size_t size)
{
    refraft_wire_msg m;
    char err[REFRAFT_ERRMSG_LEN];
    int rv = refraft_wire_decode_msg(data, size, &m, err, sizeof err);
    CHECK(rv == 0 || rv == REFRAFT_EBADMSG);
    if (rv != 0) {
        CHECK(err[0] != '\0' && strlen(err) < sizeof err);
        return;
    }
    refraft_wire_buf buf;
    CHECK(refraft_wire_encode_msg(&m.msg, &buf) == 0);
    /* The decoder takes only bodies as long as their fields, and the
     * encoder writes every field a message has: same length. */
    CHECK(buf.len == size);
    refraft_wire_msg again;
    CHECK(refraft_wire_decode_msg(buf.data, buf.len, &again, NULL, 0) == 0);
    CHECK(msgeq_msg(&m.msg, &again.msg));
    CHECK(same_voided(&m.msg, &again.msg));
    refraft_wire_msg_free(&again);
    refraft_wire_free(&buf);
    refraft_wire_msg_free(&m);
}

static void fuzz_records(const uint8_t *data, size_t size)
{
    refraft_wire_records r;
    char err[REFRAFT_ERRMSG_LEN];
    int rv = refraft_wire_decode_records(data, size, &r, err, sizeof err);
    CHECK(rv == 0 || rv == REFRAFT_EBADMSG);
    if (rv != 0)
        return;
    CHECK(r.n >= 1);
    refraft_wire_buf buf;
    CHECK(refraft_wire_encode_records(r.sender_id, r.term, r.records, r.n,
                                      &buf) == 0);
    CHECK(buf.len == size);
    refraft_wire_records again;
    CHECK(refraft_wire_decode_records(buf.data, buf.len, &again, NULL, 0) == 0);
    CHECK(strcmp(r.sender_id, again.sender_id) == 0 && r.term == again.term &&
          r.n == again.n);
    for (size_t i = 0; i < r.n; i++) {
        CHECK(msgeq_ref(&r.records[i].ref, &again.records[i].ref));
        CHECK(memcmp(r.records[i].bytes, again.records[i].bytes,
                     r.records[i].ref.size) == 0);
    }
    refraft_wire_records_free(&again);
    refraft_wire_free(&buf);
    refraft_wire_records_free(&r);
}

static void fuzz_fetch_request(const uint8_t *data, size_t size)
{
    refraft_wire_fetch_request r;
    char err[REFRAFT_ERRMSG_LEN];
    int rv = refraft_wire_decode_fetch_request(data, size, &r, err, sizeof err);
    CHECK(rv == 0 || rv == REFRAFT_EBADMSG);
    if (rv != 0) {
        CHECK(err[0] != '\0' && strlen(err) < sizeof err);
        return;
    }
    CHECK(r.n >= 1 && r.n <= REFRAFT_WIRE_MAX_FETCH);
    refraft_wire_buf buf;
    CHECK(refraft_wire_encode_fetch_request(r.sender_id, r.term, r.refs, r.n,
                                            &buf) == 0);
    CHECK(buf.len == size);
    refraft_wire_fetch_request again;
    CHECK(refraft_wire_decode_fetch_request(buf.data, buf.len, &again, NULL,
                                            0) == 0);
    CHECK(strcmp(r.sender_id, again.sender_id) == 0 && r.term == again.term &&
          r.n == again.n);
    for (size_t i = 0; i < r.n; i++)
        CHECK(msgeq_ref(&r.refs[i], &again.refs[i]));
    refraft_wire_fetch_request_free(&again);
    refraft_wire_free(&buf);
    refraft_wire_fetch_request_free(&r);
}

static void fuzz_fetch_response(const uint8_t *data, size_t size)
{
    refraft_wire_fetch_response r;
    char err[REFRAFT_ERRMSG_LEN];
    int rv =
        refraft_wire_decode_fetch_response(data, size, &r, err, sizeof err);
    CHECK(rv == 0 || rv == REFRAFT_EBADMSG);
    if (rv != 0) {
        CHECK(err[0] != '\0' && strlen(err) < sizeof err);
        return;
    }
    CHECK(r.n <= REFRAFT_WIRE_MAX_FETCH);
    refraft_wire_buf buf;
    CHECK(refraft_wire_encode_fetch_response(r.sender_id, r.data_index,
                                             r.answers, r.n, &buf) == 0);
    CHECK(buf.len == size);
    refraft_wire_fetch_response again;
    CHECK(refraft_wire_decode_fetch_response(buf.data, buf.len, &again, NULL,
                                             0) == 0);
    CHECK(strcmp(r.sender_id, again.sender_id) == 0 &&
          r.data_index == again.data_index && r.n == again.n);
    for (size_t i = 0; i < r.n; i++) {
        const refraft_wire_fetch_answer *a = &r.answers[i];
        const refraft_wire_fetch_answer *b = &again.answers[i];
        CHECK(a->status == b->status && a->len == b->len);
        /* Bytes on OK only, never NULL there. */
        CHECK((a->status == 0) == (a->bytes != NULL));
        CHECK(a->len == 0 || memcmp(a->bytes, b->bytes, a->len) == 0);
    }
    refraft_wire_fetch_response_free(&again);
    refraft_wire_free(&buf);
    refraft_wire_fetch_response_free(&r);
}

/* The header and path parsers read C strings. */
static void fuzz_strings(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    CHECK(s != NULL);
    memcpy(s, data, size);
    s[size] = '\0';

    uint8_t digest[REFRAFT_DIGEST_LEN];
    if (refraft_wire_parse_digest(s, digest) == 0) {
        char header[REFRAFT_WIRE_DIGEST_HEADER_LEN];
        uint8_t back[REFRAFT_DIGEST_LEN];
        refraft_wire_format_digest(digest, header);
        CHECK(refraft_wire_parse_digest(header, back) == 0);
        CHECK(memcmp(digest, back, sizeof back) == 0);
    }

    uint8_t id[REFRAFT_RECORD_ID_MAX];
    size_t id_len;
    if (refraft_wire_decode_id(s, id, &id_len) == 0) {
        CHECK(id_len >= 1 && id_len <= REFRAFT_RECORD_ID_MAX);
        char path[3 * REFRAFT_RECORD_ID_MAX + 1];
        uint8_t back[REFRAFT_RECORD_ID_MAX];
        size_t back_len;
        refraft_wire_encode_id(id, id_len, path);
        CHECK(refraft_wire_decode_id(path, back, &back_len) == 0);
        CHECK(back_len == id_len && memcmp(id, back, id_len) == 0);
    }
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_msg(data, size);
    fuzz_records(data, size);
    fuzz_fetch_request(data, size);
    fuzz_fetch_response(data, size);
    fuzz_strings(data, size);
    return 0;
}
