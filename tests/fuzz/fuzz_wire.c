/* fuzz_wire.c - libFuzzer target for the wire codec: every input is fed
 * to each decoder, and whatever one accepts must survive a trip back
 * through its encoder unchanged. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static bool ref_equal(const refraft_ref *a, const refraft_ref *b)
{
    return a->id_len == b->id_len && memcmp(a->id, b->id, a->id_len) == 0 &&
           a->size == b->size &&
           memcmp(a->digest, b->digest, REFRAFT_DIGEST_LEN) == 0;
}

/* Decoded entries carry zeros where their type has no field. */
static bool entry_equal(const refraft_entry *a, const refraft_entry *b)
{
    return a->term == b->term && a->type == b->type && a->voided == b->voided &&
           (a->type != REFRAFT_ENTRY_REF || ref_equal(&a->ref, &b->ref));
}

static bool msg_equal(const refraft_msg *a, const refraft_msg *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case REFRAFT_MSG_APPEND_ENTRIES: {
        const refraft_append_entries *x = &a->u.append_entries;
        const refraft_append_entries *y = &b->u.append_entries;
        if (x->term != y->term || strcmp(x->leader_id, y->leader_id) != 0 ||
            x->prev_log_index != y->prev_log_index ||
            x->prev_log_term != y->prev_log_term ||
            x->leader_commit != y->leader_commit ||
            x->n_entries != y->n_entries)
            return false;
        for (size_t i = 0; i < x->n_entries; i++)
            if (!entry_equal(&x->entries[i], &y->entries[i]))
                return false;
        return true;
    }
    case REFRAFT_MSG_APPEND_ENTRIES_RESULT: {
        const refraft_append_entries_result *x = &a->u.append_entries_result;
        const refraft_append_entries_result *y = &b->u.append_entries_result;
        return x->term == y->term &&
               strcmp(x->follower_id, y->follower_id) == 0 &&
               x->success == y->success && x->match_index == y->match_index &&
               x->rejected_index == y->rejected_index &&
               x->conflict_term == y->conflict_term &&
               x->conflict_index == y->conflict_index &&
               x->last_log_index == y->last_log_index &&
               x->data_index == y->data_index;
    }
    case REFRAFT_MSG_REQUEST_VOTE: {
        const refraft_request_vote *x = &a->u.request_vote;
        const refraft_request_vote *y = &b->u.request_vote;
        return x->term == y->term &&
               strcmp(x->candidate_id, y->candidate_id) == 0 &&
               x->last_log_index == y->last_log_index &&
               x->last_log_term == y->last_log_term &&
               x->pre_vote == y->pre_vote;
    }
    case REFRAFT_MSG_REQUEST_VOTE_RESULT: {
        const refraft_request_vote_result *x = &a->u.request_vote_result;
        const refraft_request_vote_result *y = &b->u.request_vote_result;
        return x->term == y->term && strcmp(x->voter_id, y->voter_id) == 0 &&
               x->vote_granted == y->vote_granted && x->pre_vote == y->pre_vote;
    }
    default:
        return false;
    }
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
    CHECK(msg_equal(&m.msg, &again.msg));
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
        CHECK(ref_equal(&r.records[i].ref, &again.records[i].ref));
        CHECK(memcmp(r.records[i].bytes, again.records[i].bytes,
                     r.records[i].ref.size) == 0);
    }
    refraft_wire_records_free(&again);
    refraft_wire_free(&buf);
    refraft_wire_records_free(&r);
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
    fuzz_strings(data, size);
    return 0;
}
