/* test_wire.c - the wire codec (include/refraft/wire.h): round trips,
 * every refusal with its message, truncation, allocation faults, the
 * digest header and record ids in paths. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failalloc.h"
#include "mentions.h"
#include "msgeq.h"
#include "refraft/sweeper.h"
#include "refraft/wire.h"
#include "wire_samples.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* 64 and 65 bytes: REFRAFT_ID_MAX and one more. */
#define ID_64 "n123456789012345678901234567890123456789012345678901234567890123"
#define ID_65 ID_64 "4"

/* ---- a protobuf writer of our own --------------------------------------
 *
 * The refusals need bodies the encoder would never write (a field left
 * out, an unknown type, a padded number), so the tests build them by
 * hand, independently of protobuf-c.  Field numbers are refraft.proto's.
 */

typedef struct pb {
    uint8_t *data;
    size_t len, cap;
} pb;

static void pb_raw(pb *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->data = realloc(b->data, b->cap);
        assert_non_null(b->data);
    }
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void pb_varint(pb *b, uint64_t v)
{
    do {
        uint8_t c = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v != 0)
            c |= 0x80;
        pb_raw(b, &c, 1);
    } while (v != 0);
}

static void pb_u64(pb *b, unsigned field, uint64_t v)
{
    pb_varint(b, (uint64_t)field << 3);
    pb_varint(b, v);
}

static void pb_bytes(pb *b, unsigned field, const void *p, size_t n)
{
    pb_varint(b, (uint64_t)field << 3 | 2);
    pb_varint(b, n);
    pb_raw(b, p, n);
}

static void pb_str(pb *b, unsigned field, const char *s)
{
    pb_bytes(b, field, s, strlen(s));
}

/* Append sub as a length-delimited field and free it. */
static void pb_sub(pb *b, unsigned field, pb *sub)
{
    pb_bytes(b, field, sub->data, sub->len);
    free(sub->data);
    memset(sub, 0, sizeof *sub);
}

/* Wrap body as field `type` of Message (the field number is the message
 * type). */
static pb pb_message(unsigned type, pb *body)
{
    pb m = {0};
    pb_sub(&m, type, body);
    return m;
}

/* A field of a hand-built message: a number or some bytes. */
typedef struct field {
    unsigned num;
    const char *name;
    uint64_t v;
    const void *p; /* bytes when not NULL */
    size_t n;
} field;

/* Write fields, leaving out the one numbered omit (0: none). */
static void pb_fields(pb *b, const field *f, size_t n, unsigned omit)
{
    for (size_t i = 0; i < n; i++) {
        if (f[i].num == omit)
            continue;
        if (f[i].p != NULL)
            pb_bytes(b, f[i].num, f[i].p, f[i].n);
        else
            pb_u64(b, f[i].num, f[i].v);
    }
}

static const uint8_t digest_a[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                     12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                     23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

#define BYTES(s) 0, (s), sizeof(s) - 1

/* The fields of a valid message of each type. */
static const field ae_fields[] = {{1, "term", 7, NULL, 0},
                                  {2, "leader_id", BYTES("n1")},
                                  {3, "prev_log_index", 10, NULL, 0},
                                  {4, "prev_log_term", 6, NULL, 0},
                                  {5, "leader_commit", 9, NULL, 0},
                                  {7, "read_round", 3, NULL, 0},
                                  {8, "epoch", 4, NULL, 0}};
static const field aer_fields[] = {
    {1, "term", 7, NULL, 0},           {2, "follower_id", BYTES("n2")},
    {3, "success", 1, NULL, 0},        {4, "match_index", 12, NULL, 0},
    {5, "rejected_index", 0, NULL, 0}, {6, "conflict_term", 0, NULL, 0},
    {7, "conflict_index", 0, NULL, 0}, {8, "last_log_index", 12, NULL, 0},
    {9, "data_index", 11, NULL, 0},    {10, "read_round", 3, NULL, 0},
    {11, "epoch", 4, NULL, 0},         {12, "records_behind", 1, NULL, 0}};
static const field rv_fields[] = {{1, "term", 8, NULL, 0},
                                  {2, "candidate_id", BYTES("n3")},
                                  {3, "last_log_index", 12, NULL, 0},
                                  {4, "last_log_term", 7, NULL, 0},
                                  {5, "pre_vote", 1, NULL, 0},
                                  {6, "transfer", 0, NULL, 0}};
static const field rvr_fields[] = {{1, "term", 8, NULL, 0},
                                   {2, "voter_id", BYTES("n1")},
                                   {3, "vote_granted", 1, NULL, 0},
                                   {4, "pre_vote", 0, NULL, 0}};
static const field tn_fields[] = {{1, "term", 8, NULL, 0},
                                  {2, "leader_id", BYTES("n1")}};
/* A chunk of the initial configuration without refs, and an answer. */
static const field is_fields[] = {
    {1, "term", 7, NULL, 0},         {2, "leader_id", BYTES("n1")},
    {3, "last_index", 40, NULL, 0},  {4, "last_term", 6, NULL, 0},
    {5, "config_index", 0, NULL, 0}, {7, "after", 5, NULL, 0},
    {9, "done", 0, NULL, 0},         {10, "epoch", 4, NULL, 0}};
static const field isr_fields[] = {
    {1, "term", 7, NULL, 0},        {2, "follower_id", BYTES("n2")},
    {3, "last_index", 40, NULL, 0}, {4, "after", 12, NULL, 0},
    {5, "installed", 0, NULL, 0},   {6, "epoch", 4, NULL, 0}};

typedef struct msg_fields {
    const char *name;
    const field *f;
    size_t n;
} msg_fields;

static const msg_fields all_msgs[] = {
    {NULL, NULL, 0},
    {"AppendEntries", ae_fields, COUNT(ae_fields)},
    {"AppendEntriesResult", aer_fields, COUNT(aer_fields)},
    {"RequestVote", rv_fields, COUNT(rv_fields)},
    {"RequestVoteResult", rvr_fields, COUNT(rvr_fields)},
    {"TimeoutNow", tn_fields, COUNT(tn_fields)},
    {"InstallSnapshot", is_fields, COUNT(is_fields)},
    {"InstallSnapshotResult", isr_fields, COUNT(isr_fields)}};

/* A Ref with field omit left out; id and digest as given. */
static pb pb_ref(const void *id, size_t id_len, uint64_t size,
                 const void *digest, size_t digest_len, unsigned omit)
{
    pb r = {0};
    field f[] = {{1, "id", 0, id, id_len},
                 {2, "size", size, NULL, 0},
                 {3, "digest", 0, digest, digest_len}};
    pb_fields(&r, f, COUNT(f), omit);
    return r;
}

/* Entry builders.  An entry is any bytes; these give the usual ones. */
static pb pb_noop(uint64_t term)
{
    pb e = {0};
    pb_u64(&e, 1, term);
    pb_u64(&e, 2, REFRAFT_ENTRY_NOOP);
    return e;
}

static pb pb_ref_entry(uint64_t term, const char *id)
{
    pb e = {0};
    pb_u64(&e, 1, term);
    pb_u64(&e, 2, REFRAFT_ENTRY_REF);
    pb r = pb_ref(id, strlen(id), 100, digest_a, 32, 0);
    pb_sub(&e, 3, &r);
    return e;
}

static pb pb_void(uint64_t term, uint64_t voided)
{
    pb e = {0};
    pb_u64(&e, 1, term);
    pb_u64(&e, 2, REFRAFT_ENTRY_VOID);
    pb_u64(&e, 4, voided);
    return e;
}

/* An AppendEntries body carrying three good entries and then `last`. */
static pb ae_with_entry(pb *last)
{
    pb ae = {0};
    pb_fields(&ae, ae_fields, COUNT(ae_fields), 0);
    pb e0 = pb_noop(6), e1 = pb_ref_entry(7, "rec-1"), e2 = pb_void(7, 3);
    pb_sub(&ae, 6, &e0);
    pb_sub(&ae, 6, &e1);
    pb_sub(&ae, 6, &e2);
    pb_sub(&ae, 6, last);
    return pb_message(REFRAFT_MSG_APPEND_ENTRIES, &ae);
}

/* ---- decoding helpers -------------------------------------------------- */

/* The decoders a refusal test can aim at. */
enum decoder {
    DECODE_MSG,
    DECODE_RECORDS,
    DECODE_FETCH_REQUEST,
    DECODE_FETCH_RESPONSE
};

/* Decode b with the decoder named and expect a refusal mentioning word;
 * the output stays untouched.  Frees b. */
static void expect_refused(pb *b, enum decoder d, const char *word)
{
    union {
        refraft_wire_msg msg;
        refraft_wire_records records;
        refraft_wire_fetch_request req;
        refraft_wire_fetch_response res;
    } out, before;
    memset(&out, 0xa5, sizeof out);
    before = out;
    char err[REFRAFT_ERRMSG_LEN] = "";
    int rv;
    switch (d) {
    case DECODE_MSG:
        rv =
            refraft_wire_decode_msg(b->data, b->len, &out.msg, err, sizeof err);
        break;
    case DECODE_RECORDS:
        rv = refraft_wire_decode_records(b->data, b->len, &out.records, err,
                                         sizeof err);
        break;
    case DECODE_FETCH_REQUEST:
        rv = refraft_wire_decode_fetch_request(b->data, b->len, &out.req, err,
                                               sizeof err);
        break;
    default:
        rv = refraft_wire_decode_fetch_response(b->data, b->len, &out.res, err,
                                                sizeof err);
        break;
    }
    if (rv != REFRAFT_EBADMSG)
        fail_msg("decode returned %s, want EBADMSG mentioning \"%s\"",
                 refraft_strerror(rv), word);
    assert_memory_equal(&out, &before, sizeof out);
    assert_mentions(err, word);
    free(b->data);
    memset(b, 0, sizeof *b);
}

static void expect_msg_refused(pb *b, const char *word)
{
    expect_refused(b, DECODE_MSG, word);
}

static void expect_records_refused(pb *b, const char *word)
{
    expect_refused(b, DECODE_RECORDS, word);
}

/* A Member with field omit left out. */
static pb pb_member(const char *id, const void *address, size_t address_len,
                    bool voter, unsigned omit)
{
    pb m = {0};
    field f[] = {{1, "id", 0, id, strlen(id)},
                 {2, "address", 0, address, address_len},
                 {3, "voter", voter, NULL, 0}};
    pb_fields(&m, f, COUNT(f), omit);
    return m;
}

/* An entry of type with the given members (n of them, consumed). */
static pb pb_with_members(uint64_t type, pb *members, size_t n)
{
    pb e = {0};
    pb_u64(&e, 1, 7);
    pb_u64(&e, 2, type);
    if (type == REFRAFT_ENTRY_REF) {
        pb r = pb_ref("r", 1, 100, digest_a, 32, 0);
        pb_sub(&e, 3, &r);
    }
    for (size_t i = 0; i < n; i++)
        pb_sub(&e, 5, &members[i]);
    return e;
}

/* Encode msg, decode the bytes, and expect the same message back. */
static void assert_round_trip(const refraft_msg *msg)
{
    refraft_wire_buf buf = {NULL, 0};
    assert_int_equal(refraft_wire_encode_msg(msg, &buf), 0);
    assert_non_null(buf.data);
    assert_true(buf.len > 0 && buf.len <= REFRAFT_WIRE_MAX_BODY);
    refraft_wire_msg out;
    char err[REFRAFT_ERRMSG_LEN] = "";
    int rv = refraft_wire_decode_msg(buf.data, buf.len, &out, err, sizeof err);
    if (rv != 0)
        fail_msg("decoding our own encoding failed: %s (%s)",
                 refraft_strerror(rv), err);
    assert_true(msgeq_msg(msg, &out.msg));
    refraft_wire_msg_free(&out);
    assert_null(out.priv);
    refraft_wire_free(&buf);
    assert_null(buf.data);
    assert_int_equal(buf.len, 0);
}

static void expect_encode_refused(const refraft_msg *msg)
{
    refraft_wire_buf buf = {(uint8_t *)"untouched", 9};
    assert_int_equal(refraft_wire_encode_msg(msg, &buf), REFRAFT_EINVAL);
    assert_string_equal((const char *)buf.data, "untouched");
    assert_int_equal(buf.len, 9);
}

/* A 255-byte record id holding every byte value but one (NUL included). */
static uint8_t long_id[REFRAFT_RECORD_ID_MAX];

static int setup_ids(void **state)
{
    (void)state;
    if (strlen(ID_64) != REFRAFT_ID_MAX || strlen(ID_65) != REFRAFT_ID_MAX + 1)
        return -1;
    for (size_t i = 0; i < sizeof long_id; i++)
        long_id[i] = (uint8_t)i;
    return 0;
}

/* ---- round trips ------------------------------------------------------- */

/* Every field survives the trip, at its largest and at its smallest. */
static void test_append_entries_round_trips_with_edge_values(void **state)
{
    (void)state;
    refraft_msg m = wire_sample_heartbeat();
    assert_round_trip(&m); /* no entries: a heartbeat */

    refraft_entry e[] = {
        {.term = 1, .type = REFRAFT_ENTRY_NOOP},
        {.term = REFRAFT_TERM_MAX,
         .type = REFRAFT_ENTRY_REF,
         .ref = wire_sample_ref(long_id, sizeof long_id, UINT64_MAX)},
        {.term = REFRAFT_TERM_MAX,
         .type = REFRAFT_ENTRY_VOID,
         .voided = UINT64_MAX},
        {.term = REFRAFT_TERM_MAX,
         .type = REFRAFT_ENTRY_REF,
         .ref = wire_sample_ref("\0", 1, 0)}, /* a one-byte id: NUL */
        {.term = REFRAFT_TERM_MAX, .type = REFRAFT_ENTRY_VOID, .voided = 1}};
    m.u.append_entries =
        (refraft_append_entries){.term = REFRAFT_TERM_MAX,
                                 .leader_id = ID_64,
                                 .prev_log_index = UINT64_MAX,
                                 .prev_log_term = REFRAFT_TERM_MAX,
                                 .leader_commit = UINT64_MAX,
                                 .entries = e,
                                 .n_entries = COUNT(e)};
    assert_round_trip(&m);

    /* The smallest: every number left out is 0. */
    m.u.append_entries = (refraft_append_entries){
        .term = 1, .leader_id = "x", .entries = e, .n_entries = 1};
    assert_round_trip(&m);
}

/* The log API reads back a NOOP's or VOID's ref and a NOOP's or REF's
 * voided index as zero, and ignores them on append: the encoder does the
 * same, and they arrive zeroed. */
static void test_encode_leaves_out_fields_the_type_does_not_use(void **state)
{
    (void)state;
    refraft_ref stray = wire_sample_ref("stray", 5, 9);
    refraft_entry e[] = {
        {.term = 2, .type = REFRAFT_ENTRY_NOOP, .ref = stray, .voided = 4},
        {.term = 2, .type = REFRAFT_ENTRY_VOID, .ref = stray, .voided = 1},
        {.term = 2,
         .type = REFRAFT_ENTRY_REF,
         .ref = wire_sample_ref("kept", 4, 9),
         .voided = 7}};
    refraft_msg m = wire_sample_append_entries(e, COUNT(e));
    refraft_wire_buf buf;
    assert_int_equal(refraft_wire_encode_msg(&m, &buf), 0);
    refraft_wire_msg out;
    assert_int_equal(refraft_wire_decode_msg(buf.data, buf.len, &out, NULL, 0),
                     0);
    const refraft_entry *d = out.msg.u.append_entries.entries;
    assert_null(d[0].ref.id);
    assert_int_equal(d[0].ref.size, 0);
    assert_int_equal(d[0].voided, 0);
    assert_null(d[1].ref.id);
    assert_int_equal(d[1].voided, 1);
    assert_int_equal(d[2].voided, 0);
    assert_memory_equal(d[2].ref.id, "kept", 4);
    refraft_wire_msg_free(&out);
    refraft_wire_free(&buf);
}

/* REFRAFT_MAX_ENTRIES_PER_MSG entries go through; one more does not, in
 * either direction. */
static void test_entry_count_is_capped_at_the_limit(void **state)
{
    (void)state;
    size_t n = REFRAFT_MAX_ENTRIES_PER_MSG;
    refraft_entry *e = calloc(n + 1, sizeof *e);
    assert_non_null(e);
    /* NOOPs of term 1 are the smallest entries on the wire (6 bytes), so
     * the most costly to decode per byte: the decoder's memory bound
     * must still let them through. */
    for (size_t i = 0; i <= n; i++) {
        e[i].term = 1;
        e[i].type = REFRAFT_ENTRY_NOOP;
    }
    refraft_msg m = wire_sample_append_entries(e, n);
    assert_round_trip(&m);
    m.u.append_entries.n_entries = n + 1;
    expect_encode_refused(&m);
    free(e);

    /* The same count, hand-built: refused on decoding. */
    pb ae = {0};
    pb_fields(&ae, ae_fields, COUNT(ae_fields), 0);
    pb noop = pb_noop(7);
    for (size_t i = 0; i <= n; i++)
        pb_bytes(&ae, 6, noop.data, noop.len);
    free(noop.data);
    pb body = pb_message(REFRAFT_MSG_APPEND_ENTRIES, &ae);
    expect_msg_refused(&body, "1048577 entries");
}

/* An AppendEntries of 5,000 entries, REF but for every seventh (a NOOP). */
static refraft_msg many_ref_entries(void)
{
    enum { N = 5000 };
    static refraft_entry e[N];
    static char ids[N][16];
    for (size_t i = 0; i < N; i++) {
        int len = snprintf(ids[i], sizeof ids[i], "record-%zu", i);
        memset(&e[i], 0, sizeof e[i]);
        e[i].term = 3;
        e[i].type = i % 7 == 0 ? REFRAFT_ENTRY_NOOP : REFRAFT_ENTRY_REF;
        if (e[i].type == REFRAFT_ENTRY_REF)
            e[i].ref = wire_sample_ref(ids[i], (size_t)len, i * 31);
    }
    return wire_sample_append_entries(e, N);
}

static void test_many_ref_entries_round_trip(void **state)
{
    (void)state;
    refraft_msg m = many_ref_entries();
    assert_round_trip(&m);
}

/* Decode m's encoding with allocations counted; returns the count (the
 * message must decode and match). */
static long allocations_to_decode(const refraft_msg *m)
{
    refraft_wire_buf buf = {NULL, 0};
    assert_int_equal(refraft_wire_encode_msg(m, &buf), 0);
    failalloc f;
    failalloc_at(&f, 0);
    refraft_wire_msg out;
    int rv = refraft_wire_decode_msg(buf.data, buf.len, &out, NULL, 0);
    long count = f.count;
    failalloc_off();
    assert_int_equal(rv, 0);
    assert_true(msgeq_msg(m, &out.msg));
    refraft_wire_msg_free(&out);
    refraft_wire_free(&buf);
    return count;
}

/* protobuf-c allocates every Entry and Ref, and a copy of every id and
 * digest, on its own; the decoder gives it an arena (arena.c), so a body
 * of thousands of entries costs a few allocations, not thousands. */
static void test_decoding_many_entries_takes_a_few_allocations(void **state)
{
    (void)state;
    refraft_msg m = many_ref_entries();
    long refs = allocations_to_decode(&m);
    print_message("5,000 entries: %ld allocations\n", refs);
    /* The arena's first chunk, sized from the body, holds the entries;
     * protobuf-c's largest scan tables get blocks of their own (freed
     * during the unpack); then the store. */
    assert_in_range(refs, 2, 6);

    /* NOOPs are a few bytes on the wire and far more once unpacked: the
     * arena grows by doubling chunks, and the array of 20,000 pointers
     * and the scan tables get blocks of their own. */
    enum { N = 20000 };
    static refraft_entry e[N];
    for (size_t i = 0; i < N; i++)
        e[i] = (refraft_entry){.term = 3, .type = REFRAFT_ENTRY_NOOP};
    m = wire_sample_append_entries(e, N);
    long noops = allocations_to_decode(&m);
    print_message("20,000 NOOPs: %ld allocations\n", noops);
    assert_in_range(noops, 3, 12);
}

/* An allocator that counts what it has handed out and not had back. */
static long outstanding;
static void *counting_malloc(void *ctx, size_t size)
{
    (void)ctx;
    outstanding++;
    return malloc(size);
}
static void *counting_realloc(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    if (ptr == NULL)
        outstanding++;
    return realloc(ptr, size);
}
static void counting_free(void *ctx, void *ptr)
{
    (void)ctx;
    if (ptr != NULL)
        outstanding--;
    free(ptr);
}

/* The arena keeps a few chunks between decodes (arena.c), so the next
 * body is written to memory already faulted in: a second decode of the
 * same body allocates only its store.  They go back to the allocator
 * that gave them before refraft_set_allocator() switches. */
static void test_decodes_reuse_chunks_until_the_allocator_changes(void **s)
{
    (void)s;
    refraft_msg m = many_ref_entries();
    refraft_wire_buf buf = {NULL, 0};
    assert_int_equal(refraft_wire_encode_msg(&m, &buf), 0);
    refraft_allocator counting = {NULL, counting_malloc, counting_realloc,
                                  counting_free};
    outstanding = 0;
    assert_int_equal(refraft_set_allocator(&counting), 0);
    long before[2], after[2];
    for (int i = 0; i < 2; i++) {
        refraft_wire_msg out;
        before[i] = outstanding;
        int rv = refraft_wire_decode_msg(buf.data, buf.len, &out, NULL, 0);
        after[i] = outstanding;
        if (rv == 0)
            refraft_wire_msg_free(&out);
        assert_int_equal(rv, 0);
    }
    /* Two messages alive at once, each in chunks of its own (one of
     * them kept from before), both intact. */
    refraft_wire_msg one, two;
    int rv1 = refraft_wire_decode_msg(buf.data, buf.len, &one, NULL, 0);
    int rv2 = refraft_wire_decode_msg(buf.data, buf.len, &two, NULL, 0);
    bool both = rv1 == 0 && rv2 == 0 && msgeq_msg(&m, &one.msg) &&
                msgeq_msg(&m, &two.msg);
    if (rv1 == 0)
        refraft_wire_msg_free(&one);
    if (rv2 == 0)
        refraft_wire_msg_free(&two);
    long kept = outstanding;
    assert_int_equal(refraft_set_allocator(NULL), 0);
    long left = outstanding;
    refraft_wire_free(&buf);
    /* The first decode: chunks and the store; the second: the store. */
    assert_true(after[0] - before[0] >= 2);
    assert_int_equal(after[1] - before[1], 1);
    assert_true(both);
    assert_true(kept >= 1);
    assert_int_equal(left, 0);
}

/* A body of 20,000 NOOPs, encoded once: its decode takes several chunks
 * and blocks of its own. */
static refraft_wire_buf noops_body;

static void long_decode_scenario(void *arg)
{
    (void)arg;
    refraft_wire_msg out;
    memset(&out, 0xa5, sizeof out);
    refraft_wire_msg before = out;
    int rv =
        refraft_wire_decode_msg(noops_body.data, noops_body.len, &out, NULL, 0);
    if (rv != 0) {
        assert_int_equal(rv, REFRAFT_ENOMEM);
        assert_memory_equal(&out, &before, sizeof out);
    } else {
        assert_int_equal(out.msg.u.append_entries.n_entries, 20000);
        refraft_wire_msg_free(&out);
    }
}

/* Every allocation of a decode that grows its arena past the first
 * chunk fails cleanly: the second and later chunks, and the blocks of
 * its own that protobuf-c frees again during the unpack. */
static void test_every_allocation_failure_in_a_long_decode_is_clean(void **s)
{
    (void)s;
    enum { N = 20000 };
    static refraft_entry e[N];
    for (size_t i = 0; i < N; i++)
        e[i] = (refraft_entry){.term = 3, .type = REFRAFT_ENTRY_NOOP};
    refraft_msg m = wire_sample_append_entries(e, N);
    assert_int_equal(refraft_wire_encode_msg(&m, &noops_body), 0);
    long points = failalloc_sweep(long_decode_scenario, NULL);
    refraft_wire_free(&noops_body);
    print_message("long decode: %ld allocation points\n", points);
    /* Its chunks, its blocks and the store: 10 when written. */
    assert_true(points >= 8);
}

static void test_append_entries_result_round_trips(void **state)
{
    (void)state;
    refraft_msg m = {.type = REFRAFT_MSG_APPEND_ENTRIES_RESULT};
    m.u.append_entries_result =
        (refraft_append_entries_result){.term = 4,
                                        .follower_id = "n2",
                                        .success = true,
                                        .match_index = 17,
                                        .last_log_index = 17,
                                        .data_index = 15};
    assert_round_trip(&m);
    /* A rejection with its hint, every number at its largest. */
    m.u.append_entries_result =
        (refraft_append_entries_result){.term = REFRAFT_TERM_MAX,
                                        .follower_id = ID_64,
                                        .success = false,
                                        .match_index = UINT64_MAX,
                                        .rejected_index = UINT64_MAX,
                                        .conflict_term = REFRAFT_TERM_MAX,
                                        .conflict_index = UINT64_MAX,
                                        .last_log_index = UINT64_MAX,
                                        .data_index = UINT64_MAX};
    assert_round_trip(&m);
}

static void
test_request_vote_round_trips_with_and_without_pre_vote(void **state)
{
    (void)state;
    refraft_msg m = {.type = REFRAFT_MSG_REQUEST_VOTE};
    m.u.request_vote = (refraft_request_vote){.term = 9,
                                              .candidate_id = "n3",
                                              .last_log_index = 0,
                                              .last_log_term = 0,
                                              .pre_vote = false};
    assert_round_trip(&m);
    m.u.request_vote = (refraft_request_vote){.term = REFRAFT_TERM_MAX,
                                              .candidate_id = ID_64,
                                              .last_log_index = UINT64_MAX,
                                              .last_log_term = REFRAFT_TERM_MAX,
                                              .pre_vote = true};
    assert_round_trip(&m);
}

static void test_request_vote_result_round_trips(void **state)
{
    (void)state;
    refraft_msg m = {.type = REFRAFT_MSG_REQUEST_VOTE_RESULT};
    refraft_request_vote_result *v = &m.u.request_vote_result;
    bool flags[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
    for (size_t i = 0; i < 4; i++) {
        v->term = i == 3 ? REFRAFT_TERM_MAX : 1 + i;
        v->voter_id = i == 3 ? ID_64 : "n1";
        v->vote_granted = flags[i][0];
        v->pre_vote = flags[i][1];
        assert_round_trip(&m);
    }
}

/* Records: an empty one, a long id, and one at REFRAFT_WIRE_MAX_RECORD. */
static void test_record_batch_round_trips(void **state)
{
    (void)state;
    size_t big = REFRAFT_WIRE_MAX_RECORD;
    uint8_t *bytes = malloc(big);
    assert_non_null(bytes);
    for (size_t i = 0; i < big; i++)
        bytes[i] = (uint8_t)(i * 7);
    refraft_wire_record recs[3];
    recs[0].ref = wire_sample_ref("empty", 5, 0);
    recs[0].bytes = NULL;
    recs[1].ref = wire_sample_ref(long_id, sizeof long_id, 1000);
    recs[1].bytes = bytes + 5;
    recs[2].ref = wire_sample_ref("big", 3, big);
    recs[2].bytes = bytes;
    refraft_wire_buf buf;
    assert_int_equal(
        refraft_wire_encode_records(ID_64, REFRAFT_TERM_MAX, recs, 3, &buf), 0);
    refraft_wire_records out;
    char err[REFRAFT_ERRMSG_LEN] = "";
    int rv =
        refraft_wire_decode_records(buf.data, buf.len, &out, err, sizeof err);
    if (rv != 0)
        fail_msg("%s: %s", refraft_strerror(rv), err);
    assert_string_equal(out.sender_id, ID_64);
    assert_int_equal(out.term, REFRAFT_TERM_MAX);
    assert_int_equal(out.n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_true(msgeq_ref(&out.records[i].ref, &recs[i].ref));
        assert_non_null(out.records[i].bytes);
        if (recs[i].ref.size > 0)
            assert_memory_equal(out.records[i].bytes, recs[i].bytes,
                                recs[i].ref.size);
    }
    refraft_wire_records_free(&out);
    assert_null(out.priv);
    refraft_wire_free(&buf);

    /* The smallest batch: one record of one byte. */
    recs[0].ref = wire_sample_ref("a", 1, 1);
    recs[0].bytes = (const uint8_t *)"z";
    assert_int_equal(refraft_wire_encode_records("n", 1, recs, 1, &buf), 0);
    assert_int_equal(
        refraft_wire_decode_records(buf.data, buf.len, &out, NULL, 0), 0);
    assert_int_equal(out.n, 1);
    assert_memory_equal(out.records[0].bytes, "z", 1);
    refraft_wire_records_free(&out);
    refraft_wire_free(&buf);
    free(bytes);
}

/* Freeing twice, or freeing nothing, is harmless. */
static void test_free_functions_accept_null_and_repeats(void **state)
{
    (void)state;
    refraft_wire_free(NULL);
    refraft_wire_msg_free(NULL);
    refraft_wire_records_free(NULL);
    refraft_wire_fetch_request_free(NULL);
    refraft_wire_fetch_response_free(NULL);
    refraft_wire_buf buf = {NULL, 0};
    refraft_wire_free(&buf);
    refraft_msg m = wire_sample_heartbeat();
    assert_int_equal(refraft_wire_encode_msg(&m, &buf), 0);
    refraft_wire_msg out;
    assert_int_equal(refraft_wire_decode_msg(buf.data, buf.len, &out, NULL, 0),
                     0);
    refraft_wire_msg_free(&out);
    refraft_wire_msg_free(&out);
    refraft_wire_free(&buf);
    refraft_wire_free(&buf);

    refraft_ref ref = wire_sample_ref("a", 1, 1);
    assert_int_equal(refraft_wire_encode_fetch_request("n1", 1, &ref, 1, &buf),
                     0);
    refraft_wire_fetch_request req;
    assert_int_equal(
        refraft_wire_decode_fetch_request(buf.data, buf.len, &req, NULL, 0), 0);
    refraft_wire_fetch_request_free(&req);
    refraft_wire_fetch_request_free(&req);
    refraft_wire_free(&buf);
    assert_int_equal(refraft_wire_encode_fetch_response("n1", 1, NULL, 0, &buf),
                     0);
    refraft_wire_fetch_response res;
    assert_int_equal(
        refraft_wire_decode_fetch_response(buf.data, buf.len, &res, NULL, 0),
        0);
    refraft_wire_fetch_response_free(&res);
    refraft_wire_fetch_response_free(&res);
    refraft_wire_free(&buf);
}

/* ---- refusals: the body as a whole ------------------------------------- */

/* wire.h: "a body that is ... larger than its cap ... is refused". */
static void test_body_over_the_cap_is_refused(void **state)
{
    (void)state;
    size_t len = REFRAFT_WIRE_MAX_BODY + 1;
    uint8_t *big = calloc(1, len);
    assert_non_null(big);
    char err[REFRAFT_ERRMSG_LEN] = "";
    refraft_wire_msg m;
    assert_int_equal(refraft_wire_decode_msg(big, len, &m, err, sizeof err),
                     REFRAFT_EBADMSG);
    assert_mentions(err, "cap");
    refraft_wire_records r;
    assert_int_equal(refraft_wire_decode_records(big, len, &r, err, sizeof err),
                     REFRAFT_EBADMSG);
    assert_mentions(err, "cap");
    free(big);
}

static void test_malformed_protobuf_is_refused(void **state)
{
    (void)state;
    /* Not protobuf at all; a length running past the end; a field with
     * the wrong wire type (term as bytes); an unterminated varint. */
    static const uint8_t garbage[] = {0xff, 0xff, 0xff};
    static const uint8_t overrun[] = {0x1a, 0x10, 0x08, 0x01};
    static const uint8_t varint[] = {0x1a, 0x02, 0x08, 0x80};
    const struct {
        const uint8_t *p;
        size_t n;
    } cases[] = {{garbage, sizeof garbage},
                 {overrun, sizeof overrun},
                 {varint, sizeof varint}};
    for (size_t i = 0; i < COUNT(cases); i++) {
        pb b = {0};
        pb_raw(&b, cases[i].p, cases[i].n);
        expect_msg_refused(&b, "not a valid");
    }
    pb rv = {0};
    pb_bytes(&rv, 1, "x", 1); /* term as length-delimited */
    pb body = pb_message(REFRAFT_MSG_REQUEST_VOTE, &rv);
    expect_msg_refused(&body, "not a valid");
}

/* wire.h: "carries an unknown message ... type". */
static void test_empty_body_and_unknown_message_type_are_refused(void **state)
{
    (void)state;
    pb empty = {0};
    expect_msg_refused(&empty, "no message");
    pb sub = {0};
    pb_fields(&sub, rv_fields, COUNT(rv_fields), 0);
    pb body = pb_message(8, &sub);
    expect_msg_refused(&body, "unknown field 8 in Message");
}

/* A body is exactly one message: protobuf would keep the last of two. */
static void test_two_messages_in_one_body_are_refused(void **state)
{
    (void)state;
    pb a = {0}, b = {0}, body = {0};
    pb_fields(&a, rv_fields, COUNT(rv_fields), 0);
    pb_fields(&b, rvr_fields, COUNT(rvr_fields), 0);
    pb_sub(&body, REFRAFT_MSG_REQUEST_VOTE, &a);
    pb_sub(&body, REFRAFT_MSG_REQUEST_VOTE_RESULT, &b);
    expect_msg_refused(&body, "two messages");
}

/* A field given twice (protobuf keeps the last) or a padded number is
 * refused rather than read one way here and another way elsewhere. */
static void test_repeated_fields_and_padded_numbers_are_refused(void **state)
{
    (void)state;
    pb v = {0};
    pb_fields(&v, rv_fields, COUNT(rv_fields), 0);
    pb_u64(&v, 1, 9); /* term again */
    pb body = pb_message(REFRAFT_MSG_REQUEST_VOTE, &v);
    expect_msg_refused(&body, "given twice");

    pb w = {0};
    pb_fields(&w, rv_fields, COUNT(rv_fields), 1);
    static const uint8_t padded_term[] = {0x08, 0x88, 0x80, 0x00}; /* 8 */
    pb_raw(&w, padded_term, sizeof padded_term);
    body = pb_message(REFRAFT_MSG_REQUEST_VOTE, &w);
    expect_msg_refused(&body, "padded");
}

/* wire.h: "an AppendEntries field on a vote": our schema has no place
 * for one, so it arrives as a field RequestVote does not define. */
static void test_unknown_fields_are_refused_at_any_depth(void **state)
{
    (void)state;
    pb v = {0};
    pb_fields(&v, rv_fields, COUNT(rv_fields), 0);
    pb_u64(&v, 7, 1); /* AppendEntries.read_round, on a vote */
    pb body = pb_message(REFRAFT_MSG_REQUEST_VOTE, &v);
    expect_msg_refused(&body, "unknown field 7 in RequestVote");

    pb e = pb_noop(7);
    pb_u64(&e, 9, 1);
    body = ae_with_entry(&e);
    expect_msg_refused(&body, "unknown field 9 in Entry");

    e = (pb){0};
    pb_u64(&e, 1, 7);
    pb_u64(&e, 2, REFRAFT_ENTRY_REF);
    pb r = pb_ref("id", 2, 1, digest_a, 32, 0);
    pb_u64(&r, 4, 1);
    pb_sub(&e, 3, &r);
    body = ae_with_entry(&e);
    expect_msg_refused(&body, "unknown field 4 in Ref");
}

/* Strict presence: every message names what it lacks. */
static void test_every_missing_field_is_named(void **state)
{
    (void)state;
    for (unsigned t = 1; t < COUNT(all_msgs); t++) {
        const msg_fields *mf = &all_msgs[t];
        for (size_t i = 0; i < mf->n; i++) {
            pb sub = {0};
            pb_fields(&sub, mf->f, mf->n, mf->f[i].num);
            pb body = pb_message(t, &sub);
            char want[64];
            snprintf(want, sizeof want, "%s: missing %s", mf->name,
                     mf->f[i].name);
            expect_msg_refused(&body, want);
        }
    }
}

/* wire.h: "a node id empty or over REFRAFT_ID_MAX bytes"; and ids are C
 * strings, so no NUL inside. */
static void test_bad_node_ids_are_refused_by_name(void **state)
{
    (void)state;
    const struct {
        const void *id;
        size_t len;
        const char *word;
    } bad[] = {{"", 0, "is empty"},
               {ID_65, 65, "of 65 bytes is over 64"},
               {"n\0x", 3, "contains a NUL byte"}};
    for (unsigned t = 1; t < COUNT(all_msgs); t++) {
        const msg_fields *mf = &all_msgs[t];
        for (size_t k = 0; k < COUNT(bad); k++) {
            pb sub = {0};
            pb_fields(&sub, mf->f, mf->n, 2);
            pb_bytes(&sub, 2, bad[k].id, bad[k].len);
            pb body = pb_message(t, &sub);
            char want[64];
            snprintf(want, sizeof want, "%s %s %s", mf->name, mf->f[1].name,
                     bad[k].word);
            expect_msg_refused(&body, want);
        }
    }
}

/* wire.h: "a term over REFRAFT_TERM_MAX"; a message term is also at least
 * 1 (term 0 belongs to index 0 alone). */
static void test_terms_out_of_range_are_refused_by_name(void **state)
{
    (void)state;
    const struct {
        unsigned type, field;
        uint64_t value;
        const char *word;
    } bad[] = {
        {1, 1, 0, "AppendEntries term 0"},
        {1, 1, REFRAFT_TERM_MAX + 1, "AppendEntries term 9223372036854775808"},
        {1, 4, REFRAFT_TERM_MAX + 1, "prev_log_term 9223372036854775808"},
        {2, 1, 0, "AppendEntriesResult term 0"},
        {2, 6, UINT64_MAX, "conflict_term 18446744073709551615"},
        {3, 1, 0, "RequestVote term 0"},
        {3, 4, REFRAFT_TERM_MAX + 1, "last_log_term"},
        {4, 1, REFRAFT_TERM_MAX + 1, "RequestVoteResult term"},
        {6, 1, 0, "InstallSnapshot term 0"},
        {6, 4, 0, "InstallSnapshot last_term 0"},
        {6, 4, REFRAFT_TERM_MAX + 1, "last_term 9223372036854775808"},
        {7, 1, REFRAFT_TERM_MAX + 1, "InstallSnapshotResult term"},
    };
    for (size_t k = 0; k < COUNT(bad); k++) {
        const msg_fields *mf = &all_msgs[bad[k].type];
        pb sub = {0};
        for (size_t i = 0; i < mf->n; i++) {
            if (mf->f[i].num == bad[k].field)
                pb_u64(&sub, bad[k].field, bad[k].value);
            else
                pb_fields(&sub, &mf->f[i], 1, 0);
        }
        pb body = pb_message(bad[k].type, &sub);
        expect_msg_refused(&body, bad[k].word);
    }
}

/* ---- refusals: entries ------------------------------------------------- */

/* wire.h: "an unknown ... entry type", "a REF entry without a record id,
 * a VOID without its voided index"; and a record id over
 * REFRAFT_RECORD_ID_MAX, a digest not 32 bytes. */
/* refraft.proto: a CONFIG entry needs 1 to 15 members with distinct ids,
 * at least one a voter, each with all its fields, an id of 1 to 64 bytes
 * and an address of at most 255 bytes without NUL; members are refused on
 * the other types. */
static void test_config_entries_are_refused_by_member(void **state)
{
    (void)state;
    struct {
        uint64_t type;
        const char *id[2];
        const char *address;
        size_t address_len;
        bool voter[2];
        unsigned omit; /* a field left out of member 0 */
        const char *want;
    } cases[] = {
        {REFRAFT_ENTRY_CONFIG,
         {NULL, NULL},
         "",
         0,
         {true, true},
         0,
         "entry 3: a configuration has 0 members"},
        {REFRAFT_ENTRY_REF,
         {"n1", NULL},
         "",
         0,
         {true, true},
         0,
         "entry 3: REF entry carries members"},
        {REFRAFT_ENTRY_NOOP,
         {"n1", NULL},
         "",
         0,
         {true, true},
         0,
         "entry 3: NOOP entry carries members"},
        {REFRAFT_ENTRY_CONFIG,
         {"n1", NULL},
         "",
         0,
         {true, true},
         3,
         "entry 3 member 0: missing voter"},
        {REFRAFT_ENTRY_CONFIG,
         {"n1", NULL},
         "",
         0,
         {true, true},
         1,
         "entry 3 member 0: missing id"},
        {REFRAFT_ENTRY_CONFIG,
         {"", NULL},
         "",
         0,
         {true, true},
         0,
         "entry 3 member 0 is empty"},
        {REFRAFT_ENTRY_CONFIG,
         {"n1", NULL},
         "http://a\0b",
         10,
         {true, true},
         0,
         "holds a NUL"},
        {REFRAFT_ENTRY_CONFIG,
         {"n1", "n1"},
         "",
         0,
         {true, true},
         0,
         "entry 3: member \"n1\" is listed twice"},
        {REFRAFT_ENTRY_CONFIG,
         {"n1", "n2"},
         "",
         0,
         {false, false},
         0,
         "entry 3: a configuration needs at least one voter"},
    };
    for (size_t c = 0; c < COUNT(cases); c++) {
        pb members[2];
        size_t n = 0;
        for (size_t k = 0; k < 2 && cases[c].id[k] != NULL; k++)
            members[n++] = pb_member(cases[c].id[k], cases[c].address,
                                     cases[c].address_len, cases[c].voter[k],
                                     k == 0 ? cases[c].omit : 0);
        pb e = pb_with_members(cases[c].type, members, n);
        pb body = ae_with_entry(&e);
        expect_msg_refused(&body, cases[c].want);
    }
    char address[REFRAFT_ADDRESS_MAX + 2];
    memset(address, 'a', sizeof address);
    pb m = pb_member("n1", address, sizeof address, true, 0);
    pb e = pb_with_members(REFRAFT_ENTRY_CONFIG, &m, 1);
    pb body = ae_with_entry(&e);
    expect_msg_refused(&body, "address of 257 bytes is over 255");
}

/* CONFIG entries, read rounds and TimeoutNow come back as they went. */
static void test_config_read_round_and_timeout_now_round_trip(void **state)
{
    (void)state;
    char long_address[REFRAFT_ADDRESS_MAX + 1];
    memset(long_address, 'u', REFRAFT_ADDRESS_MAX);
    long_address[REFRAFT_ADDRESS_MAX] = '\0';
    refraft_member members[REFRAFT_MAX_PEERS];
    char ids[REFRAFT_MAX_PEERS][8];
    for (size_t k = 0; k < REFRAFT_MAX_PEERS; k++) {
        snprintf(ids[k], sizeof ids[k], "n%zu", k);
        members[k].id = ids[k];
        members[k].address = k == 0 ? long_address : k == 1 ? "" : "http://x";
        members[k].voter = k % 2 == 0;
    }
    refraft_entry entries[3];
    memset(entries, 0, sizeof entries);
    entries[0].term = 4;
    entries[0].type = REFRAFT_ENTRY_CONFIG;
    entries[0].members = members;
    entries[0].n_members = 1;
    entries[1].term = 4;
    entries[1].type = REFRAFT_ENTRY_NOOP;
    entries[2].term = 5;
    entries[2].type = REFRAFT_ENTRY_CONFIG;
    entries[2].members = members;
    entries[2].n_members = REFRAFT_MAX_PEERS;
    refraft_msg m;
    memset(&m, 0, sizeof m);
    m.type = REFRAFT_MSG_APPEND_ENTRIES;
    m.u.append_entries = (refraft_append_entries){.term = 5,
                                                  .leader_id = "n0",
                                                  .prev_log_index = 3,
                                                  .prev_log_term = 2,
                                                  .leader_commit = 3,
                                                  .entries = entries,
                                                  .n_entries = 3,
                                                  .read_round = UINT64_MAX,
                                                  .epoch = UINT64_MAX - 1};
    assert_round_trip(&m);

    memset(&m, 0, sizeof m);
    m.type = REFRAFT_MSG_APPEND_ENTRIES_RESULT;
    m.u.append_entries_result.term = 5;
    m.u.append_entries_result.follower_id = "n2";
    m.u.append_entries_result.success = true;
    m.u.append_entries_result.match_index = 6;
    m.u.append_entries_result.read_round = 42;
    m.u.append_entries_result.epoch = 43;
    m.u.append_entries_result.records_behind = true;
    assert_round_trip(&m);

    memset(&m, 0, sizeof m);
    m.type = REFRAFT_MSG_TIMEOUT_NOW;
    m.u.timeout_now.term = 9;
    m.u.timeout_now.leader_id = "n0";
    assert_round_trip(&m);

    /* The encoder refuses what the decoder would. */
    entries[0].n_members = 0;
    m.type = REFRAFT_MSG_APPEND_ENTRIES;
    memset(&m.u, 0, sizeof m.u);
    m.u.append_entries.term = 5;
    m.u.append_entries.leader_id = "n0";
    m.u.append_entries.entries = entries;
    m.u.append_entries.n_entries = 1;
    expect_encode_refused(&m);
    memset(&m, 0, sizeof m);
    m.type = REFRAFT_MSG_TIMEOUT_NOW;
    m.u.timeout_now.term = 0;
    m.u.timeout_now.leader_id = "n0";
    expect_encode_refused(&m);
}

/* ---- InstallSnapshot ---------------------------------------------------- */

/* A SnapshotRef of index with a good Ref (id "rec"), leaving out field
 * omit. */
static pb pb_snapshot_ref(uint64_t index, unsigned omit)
{
    pb s = {0};
    if (omit != 1)
        pb_u64(&s, 1, index);
    if (omit != 2) {
        pb r = pb_ref("rec", 3, 100, digest_a, 32, 0);
        pb_sub(&s, 2, &r);
    }
    return s;
}

/* An InstallSnapshot body: is_fields (after 5, up to 40) with field
 * replace given the value v instead (0: none), the n members, then the
 * good refs at 6 and 9 and finally `last` (when not NULL). */
static pb is_with(unsigned replace, uint64_t v, pb *members, size_t n, pb *last)
{
    pb is = {0};
    for (size_t i = 0; i < COUNT(is_fields); i++) {
        if (is_fields[i].num == replace)
            pb_u64(&is, replace, v);
        else
            pb_fields(&is, &is_fields[i], 1, 0);
    }
    for (size_t k = 0; k < n; k++)
        pb_sub(&is, 6, &members[k]);
    pb r6 = pb_snapshot_ref(6, 0), r9 = pb_snapshot_ref(9, 0);
    pb_sub(&is, 8, &r6);
    pb_sub(&is, 8, &r9);
    if (last != NULL)
        pb_sub(&is, 8, last);
    return pb_message(REFRAFT_MSG_INSTALL_SNAPSHOT, &is);
}

/* Raft section 7: a snapshot chunk carries the meta (last included index
 * and term, the configuration) and a piece of the state; every field
 * survives the trip, at its largest and at its smallest. */
static void test_install_snapshot_round_trips_with_edge_values(void **state)
{
    (void)state;
    refraft_msg m = wire_sample_install_snapshot(NULL, 0, NULL, 0);
    assert_round_trip(&m); /* an empty state, the initial configuration */

    char long_address[REFRAFT_ADDRESS_MAX + 1];
    memset(long_address, 'u', REFRAFT_ADDRESS_MAX);
    long_address[REFRAFT_ADDRESS_MAX] = '\0';
    refraft_member members[REFRAFT_MAX_PEERS];
    char ids[REFRAFT_MAX_PEERS][8];
    for (size_t k = 0; k < REFRAFT_MAX_PEERS; k++) {
        snprintf(ids[k], sizeof ids[k], "n%zu", k);
        members[k].id = k == 0 ? ID_64 : ids[k];
        members[k].address = k == 0 ? long_address : k == 1 ? NULL : "http://x";
        members[k].voter = k % 2 == 0;
    }
    refraft_snapshot_ref refs[] = {
        {1, wire_sample_ref("\0", 1, 0)},
        {2, wire_sample_ref(long_id, sizeof long_id, UINT64_MAX)},
        {UINT64_MAX, wire_sample_ref("last", 4, 7)}};
    m = wire_sample_install_snapshot(refs, COUNT(refs), members,
                                     REFRAFT_MAX_PEERS);
    m.u.install_snapshot.term = REFRAFT_TERM_MAX;
    m.u.install_snapshot.leader_id = ID_64;
    m.u.install_snapshot.meta.last_index = UINT64_MAX;
    m.u.install_snapshot.meta.last_term = REFRAFT_TERM_MAX;
    m.u.install_snapshot.meta.config_index = UINT64_MAX;
    m.u.install_snapshot.done = false;
    assert_round_trip(&m);

    /* A later chunk: refs after its after; an empty last chunk after
     * the last ref. */
    m = wire_sample_install_snapshot(&refs[0], 1, members, 1);
    m.u.install_snapshot.meta.last_index = 1;
    m.u.install_snapshot.meta.config_index = 1;
    assert_round_trip(&m);
    m = wire_sample_install_snapshot(NULL, 0, NULL, 0);
    m.u.install_snapshot.after = m.u.install_snapshot.meta.last_index;
    assert_round_trip(&m);

    m = (refraft_msg){.type = REFRAFT_MSG_INSTALL_SNAPSHOT_RESULT};
    m.u.install_snapshot_result = (refraft_install_snapshot_result){
        .term = 3, .follower_id = "n2", .last_index = 40, .after = 0};
    assert_round_trip(&m); /* start over */
    m.u.install_snapshot_result.after = 17;
    assert_round_trip(&m);
    m.u.install_snapshot_result =
        (refraft_install_snapshot_result){.term = REFRAFT_TERM_MAX,
                                          .follower_id = ID_64,
                                          .last_index = UINT64_MAX,
                                          .after = UINT64_MAX,
                                          .installed = true};
    assert_round_trip(&m);
}

/* wire.h: REFRAFT_WIRE_MAX_SNAPSHOT_REFS refs of the longest ids, at the
 * largest numbers, fit under the body cap; one more is refused in either
 * direction. */
static void test_snapshot_ref_count_is_capped_at_the_limit(void **state)
{
    (void)state;
    size_t n = REFRAFT_WIRE_MAX_SNAPSHOT_REFS;
    refraft_snapshot_ref *refs = calloc(n + 1, sizeof *refs);
    assert_non_null(refs);
    for (size_t i = 0; i <= n; i++) {
        refs[i].index = UINT64_MAX - n + i;
        refs[i].ref = wire_sample_ref(long_id, sizeof long_id, UINT64_MAX);
    }
    refraft_member member = {ID_64, NULL, true};
    refraft_msg m = wire_sample_install_snapshot(refs, n, &member, 1);
    m.u.install_snapshot.term = REFRAFT_TERM_MAX;
    m.u.install_snapshot.meta.last_index = UINT64_MAX;
    m.u.install_snapshot.meta.last_term = REFRAFT_TERM_MAX;
    m.u.install_snapshot.meta.config_index = UINT64_MAX;
    m.u.install_snapshot.after = UINT64_MAX - n - 1;
    assert_round_trip(&m);
    m.u.install_snapshot.n_refs = n + 1; /* at increasing indexes still */
    expect_encode_refused(&m);
    free(refs);

    /* The same count, hand-built: refused before it is looked at. */
    pb is = {0};
    pb_fields(&is, is_fields, COUNT(is_fields), 0);
    pb r = pb_snapshot_ref(7, 0);
    for (size_t i = 0; i <= n; i++)
        pb_bytes(&is, 8, r.data, r.len);
    free(r.data);
    pb body = pb_message(REFRAFT_MSG_INSTALL_SNAPSHOT, &is);
    expect_msg_refused(&body, "InstallSnapshot has 131073 refs, over the "
                              "limit of 131072");
}

/* refraft.proto: every InstallSnapshot field in its range, refs after
 * `after` in index order up to last_index, each with a whole Ref, and
 * the configuration either the initial one (config_index 0, no members)
 * or a CONFIG entry's at or before last_index. */
static void test_bad_install_snapshots_are_refused_by_name(void **state)
{
    (void)state;
    pb body = is_with(3, 0, NULL, 0, NULL);
    expect_msg_refused(&body, "InstallSnapshot last_index is 0");
    body = is_with(5, 41, NULL, 0, NULL);
    expect_msg_refused(&body, "config_index 41 is past last_index 40");
    body = is_with(7, 41, NULL, 0, NULL);
    expect_msg_refused(&body, "InstallSnapshot after 41 is past last_index 40");
    body = is_with(5, 3, NULL, 0, NULL);
    expect_msg_refused(&body, "InstallSnapshot: a configuration has 0 members");

    pb members[2] = {pb_member("n1", "", 0, true, 0),
                     pb_member("n2", "", 0, false, 0)};
    body = is_with(0, 0, members, 2, NULL);
    expect_msg_refused(&body, "has 2 members but config_index 0");
    members[0] = pb_member("n1", "", 0, true, 3);
    body = is_with(5, 3, members, 1, NULL);
    expect_msg_refused(&body, "InstallSnapshot member 0: missing voter");
    members[0] = pb_member("", "", 0, true, 0);
    body = is_with(5, 3, members, 1, NULL);
    expect_msg_refused(&body, "InstallSnapshot member 0 is empty");
    members[0] = pb_member("n1", "a\0b", 3, true, 0);
    body = is_with(5, 3, members, 1, NULL);
    expect_msg_refused(&body, "member 0: address of 3 bytes");
    members[0] = pb_member("n1", "", 0, false, 0);
    members[1] = pb_member("n1", "", 0, true, 0);
    body = is_with(5, 3, members, 2, NULL);
    expect_msg_refused(&body, "member \"n1\" is listed twice");
    members[0] = pb_member("n1", "", 0, false, 0);
    body = is_with(5, 3, members, 1, NULL);
    expect_msg_refused(&body, "voter");

    /* Refs: the good ones are at 6 and 9, after 5. */
    const struct {
        uint64_t index;
        const char *want;
    } order[] = {{9, "ref 2: index 9 is not in (9, 40]"},
                 {3, "ref 2: index 3 is not in (9, 40]"},
                 {41, "ref 2: index 41 is not in (9, 40]"}};
    for (size_t k = 0; k < COUNT(order); k++) {
        pb r = pb_snapshot_ref(order[k].index, 0);
        body = is_with(0, 0, NULL, 0, &r);
        expect_msg_refused(&body, order[k].want);
    }
    body = is_with(7, 6, NULL, 0, NULL); /* after 6: the ref at 6 is old */
    expect_msg_refused(&body, "ref 0: index 6 is not in (6, 40]");
    pb bad = pb_snapshot_ref(12, 1);
    body = is_with(0, 0, NULL, 0, &bad);
    expect_msg_refused(&body, "InstallSnapshot ref 2: missing index");
    bad = pb_snapshot_ref(12, 2);
    body = is_with(0, 0, NULL, 0, &bad);
    expect_msg_refused(&body, "InstallSnapshot ref 2: missing ref");

    uint8_t id256[256];
    memset(id256, 'r', sizeof id256);
    const struct {
        const void *id;
        size_t id_len;
        size_t digest_len;
        unsigned omit;
        const char *want;
    } refs[] = {
        {"rec", 3, 32, 3, "ref 2 ref: missing digest"},
        {"rec", 3, 32, 2, "ref 2 ref: missing size"},
        {"", 0, 32, 0, "ref 2: record id is empty"},
        {id256, 256, 32, 0, "ref 2: record id of 256 bytes is over 255"},
        {"rec", 3, 31, 0, "ref 2: digest of 31 bytes is not 32"},
    };
    for (size_t k = 0; k < COUNT(refs); k++) {
        pb s = {0};
        pb_u64(&s, 1, 12);
        pb r = pb_ref(refs[k].id, refs[k].id_len, 1, digest_a,
                      refs[k].digest_len, refs[k].omit);
        pb_sub(&s, 2, &r);
        body = is_with(0, 0, NULL, 0, &s);
        expect_msg_refused(&body, refs[k].want);
    }
    pb s = pb_snapshot_ref(12, 0);
    pb_u64(&s, 3, 1);
    body = is_with(0, 0, NULL, 0, &s);
    expect_msg_refused(&body, "unknown field 3 in SnapshotRef");
}

/* refraft.proto: a result's after is at most its last_index, and is its
 * last_index once installed. */
static void test_bad_install_snapshot_results_are_refused_by_name(void **s)
{
    (void)s;
    const struct {
        uint64_t last_index, after, installed;
        const char *want;
    } bad[] = {
        {0, 0, 0, "InstallSnapshotResult last_index is 0"},
        {40, 41, 0, "after 41 is past last_index 40"},
        {40, 12, 1, "is installed but after 12 is not last_index 40"},
    };
    for (size_t k = 0; k < COUNT(bad); k++) {
        pb r = {0};
        pb_u64(&r, 1, 7);
        pb_str(&r, 2, "n2");
        pb_u64(&r, 3, bad[k].last_index);
        pb_u64(&r, 4, bad[k].after);
        pb_u64(&r, 5, bad[k].installed);
        pb_u64(&r, 6, 1);
        pb body = pb_message(REFRAFT_MSG_INSTALL_SNAPSHOT_RESULT, &r);
        expect_msg_refused(&body, bad[k].want);
    }
}

/* The encoder refuses every InstallSnapshot the decoder would. */
static void test_encode_refuses_bad_install_snapshots(void **state)
{
    (void)state;
    refraft_member members[2] = {{"n1", "", true}, {"n1", "", true}};
    refraft_snapshot_ref refs[2] = {{3, wire_sample_ref("a", 1, 1)},
                                    {5, wire_sample_ref("b", 1, 1)}};
    refraft_msg good = wire_sample_install_snapshot(refs, 2, members, 1);
    assert_round_trip(&good);

    refraft_msg m = good;
    m.u.install_snapshot.leader_id = NULL;
    expect_encode_refused(&m);
    m = good;
    m.u.install_snapshot.term = 0;
    expect_encode_refused(&m);
    m = good;
    m.u.install_snapshot.meta.last_index = 0;
    expect_encode_refused(&m);
    m = good;
    m.u.install_snapshot.meta.last_term = REFRAFT_TERM_MAX + 1;
    expect_encode_refused(&m);
    m = good;
    m.u.install_snapshot.meta.config_index = 41;
    expect_encode_refused(&m);
    m = good;
    m.u.install_snapshot.meta.config_index = 0; /* with a member */
    expect_encode_refused(&m);
    m = good;
    m.u.install_snapshot.meta.n_members = 2; /* n1 twice */
    expect_encode_refused(&m);
    m = good;
    m.u.install_snapshot.meta.members = NULL;
    expect_encode_refused(&m);
    m = good;
    m.u.install_snapshot.after = 41;
    expect_encode_refused(&m);
    m = good;
    m.u.install_snapshot.after = 3; /* the ref at 3 is not after it */
    expect_encode_refused(&m);
    m = good;
    m.u.install_snapshot.refs = NULL;
    expect_encode_refused(&m);
    m = good;
    m.u.install_snapshot.n_refs = REFRAFT_WIRE_MAX_SNAPSHOT_REFS + 1;
    expect_encode_refused(&m);
    m = good;
    refs[1].index = 3; /* not increasing */
    expect_encode_refused(&m);
    refs[1].index = 41; /* past last_index */
    expect_encode_refused(&m);
    refs[1].index = 5;
    refs[1].ref.id_len = 0;
    expect_encode_refused(&m);
    refs[1].ref.id = NULL;
    refs[1].ref.id_len = 1;
    expect_encode_refused(&m);

    m = (refraft_msg){.type = REFRAFT_MSG_INSTALL_SNAPSHOT_RESULT};
    m.u.install_snapshot_result = (refraft_install_snapshot_result){
        .term = 3, .follower_id = "n2", .last_index = 40, .after = 40};
    assert_round_trip(&m);
    m.u.install_snapshot_result.after = 41;
    expect_encode_refused(&m);
    m.u.install_snapshot_result.after = 39;
    m.u.install_snapshot_result.installed = true;
    expect_encode_refused(&m);
    m.u.install_snapshot_result.after = 0;
    m.u.install_snapshot_result.last_index = 0;
    m.u.install_snapshot_result.installed = false;
    expect_encode_refused(&m);
    m.u.install_snapshot_result.last_index = 40;
    m.u.install_snapshot_result.follower_id = ID_65;
    expect_encode_refused(&m);
}

/* The position in a refusal is the entry's index in the message, in
 * decimal, however many digits it has. */
static void test_refusals_name_positions_of_several_digits(void **state)
{
    (void)state;
    pb ae = {0};
    pb_fields(&ae, ae_fields, COUNT(ae_fields), 0);
    for (int i = 0; i < 120; i++) {
        pb e = pb_noop(6);
        pb_sub(&ae, 6, &e);
    }
    pb bad = {0};
    pb_u64(&bad, 2, REFRAFT_ENTRY_NOOP);
    pb_sub(&ae, 6, &bad);
    pb body = pb_message(REFRAFT_MSG_APPEND_ENTRIES, &ae);
    expect_msg_refused(&body, "entry 120: missing term");
}

static void test_bad_entries_are_refused_by_position_and_field(void **state)
{
    (void)state;
    uint8_t id300[300];
    memset(id300, 'r', sizeof id300);
    for (int type = -1; type <= 7; type++) {
        if ((type >= 1 && type <= 3) || type == REFRAFT_ENTRY_CONFIG)
            continue;
        pb e = {0};
        pb_u64(&e, 1, 7);
        pb_u64(&e, 2, (uint64_t)(int64_t)type);
        pb body = ae_with_entry(&e);
        char want[48];
        snprintf(want, sizeof want, "entry 3: unknown type %d", type);
        expect_msg_refused(&body, want);
    }
    pb e = {0};
    pb_u64(&e, 2, REFRAFT_ENTRY_NOOP);
    pb body = ae_with_entry(&e);
    expect_msg_refused(&body, "entry 3: missing term");

    e = (pb){0};
    pb_u64(&e, 1, 7);
    body = ae_with_entry(&e);
    expect_msg_refused(&body, "entry 3: missing type");

    e = pb_noop(0);
    body = ae_with_entry(&e);
    expect_msg_refused(&body, "entry 3: term 0 is outside");

    e = pb_noop(REFRAFT_TERM_MAX + 1);
    body = ae_with_entry(&e);
    expect_msg_refused(&body, "entry 3: term 9223372036854775808");

    e = (pb){0};
    pb_u64(&e, 1, 7);
    pb_u64(&e, 2, REFRAFT_ENTRY_REF);
    body = ae_with_entry(&e);
    expect_msg_refused(&body, "entry 3: REF entry has no ref");

    /* A ref without each of its fields. */
    const char *ref_names[] = {NULL, "id", "size", "digest"};
    for (unsigned f = 1; f <= 3; f++) {
        e = (pb){0};
        pb_u64(&e, 1, 7);
        pb_u64(&e, 2, REFRAFT_ENTRY_REF);
        pb r = pb_ref("id", 2, 1, digest_a, 32, f);
        pb_sub(&e, 3, &r);
        body = ae_with_entry(&e);
        char want[48];
        snprintf(want, sizeof want, "entry 3 ref: missing %s", ref_names[f]);
        expect_msg_refused(&body, want);
    }

    const struct {
        const void *id;
        size_t id_len;
        size_t digest_len;
        const char *word;
    } refs[] = {
        {"", 0, 32, "entry 3: record id is empty"},
        {id300, 300, 32, "entry 3: record id of 300 bytes is over 255"},
        {id300, 256, 32, "entry 3: record id of 256 bytes is over 255"},
        {"id", 2, 31, "entry 3: digest of 31 bytes is not 32"},
        {"id", 2, 33, "entry 3: digest of 33 bytes is not 32"},
        {"id", 2, 0, "entry 3: digest of 0 bytes"},
    };
    uint8_t digest33[33] = {0};
    for (size_t k = 0; k < COUNT(refs); k++) {
        e = (pb){0};
        pb_u64(&e, 1, 7);
        pb_u64(&e, 2, REFRAFT_ENTRY_REF);
        pb r = pb_ref(refs[k].id, refs[k].id_len, 1, digest33,
                      refs[k].digest_len, 0);
        pb_sub(&e, 3, &r);
        body = ae_with_entry(&e);
        expect_msg_refused(&body, refs[k].word);
    }

    /* NOOP and VOID carry no ref. */
    for (uint64_t type = 1; type <= 3; type += 2) {
        e = (pb){0};
        pb_u64(&e, 1, 7);
        pb_u64(&e, 2, type);
        pb r = pb_ref("id", 2, 1, digest_a, 32, 0);
        pb_sub(&e, 3, &r);
        if (type == REFRAFT_ENTRY_VOID)
            pb_u64(&e, 4, 2);
        body = ae_with_entry(&e);
        expect_msg_refused(&body, type == 1
                                      ? "entry 3: NOOP entry carries a ref"
                                      : "entry 3: VOID entry carries a ref");
    }

    e = (pb){0};
    pb_u64(&e, 1, 7);
    pb_u64(&e, 2, REFRAFT_ENTRY_VOID);
    body = ae_with_entry(&e);
    expect_msg_refused(&body, "entry 3: VOID entry has no voided index");

    e = pb_void(7, 0);
    body = ae_with_entry(&e);
    expect_msg_refused(&body, "entry 3: VOID entry has voided index 0");

    e = pb_noop(7);
    pb_u64(&e, 4, 2);
    body = ae_with_entry(&e);
    expect_msg_refused(&body, "entry 3: NOOP entry carries a voided index");

    e = pb_ref_entry(7, "x");
    pb_u64(&e, 4, 2);
    body = ae_with_entry(&e);
    expect_msg_refused(&body, "entry 3: REF entry carries a voided index");

    /* The entry builder itself is sound: three entries and a fourth
     * good one decode. */
    e = pb_noop(7);
    body = ae_with_entry(&e);
    refraft_wire_msg out;
    assert_int_equal(
        refraft_wire_decode_msg(body.data, body.len, &out, NULL, 0), 0);
    assert_int_equal(out.msg.u.append_entries.n_entries, 4);
    refraft_wire_msg_free(&out);
    free(body.data);
}

/* A small body must not make the decoder allocate a lot: empty entries
 * cost two bytes on the wire and far more once unpacked. */
static void test_a_body_of_empty_entries_is_refused_before_it_costs(void **s)
{
    (void)s;
    pb ae = {0};
    pb_fields(&ae, ae_fields, COUNT(ae_fields), 0);
    for (size_t i = 0; i < 100000; i++)
        pb_bytes(&ae, 6, "", 0);
    pb body = pb_message(REFRAFT_MSG_APPEND_ENTRIES, &ae);
    expect_msg_refused(&body, "would take more than");
}

/* ---- refusals: record batches ------------------------------------------ */

static pb pb_record(const void *id, size_t id_len, uint64_t size,
                    const void *bytes, size_t n)
{
    pb r = {0};
    pb ref = pb_ref(id, id_len, size, digest_a, 32, 0);
    pb_sub(&r, 1, &ref);
    pb_bytes(&r, 2, bytes, n);
    return r;
}

/* A batch from n1 in term 3 with one good record and then `last` (none
 * when last is NULL). */
static pb batch_with(pb *last)
{
    pb b = {0};
    pb_str(&b, 1, "n1");
    pb_u64(&b, 2, 3);
    pb good = pb_record("a", 1, 3, "abc", 3);
    pb_sub(&b, 3, &good);
    if (last != NULL)
        pb_sub(&b, 3, last);
    return b;
}

static void test_bad_record_batches_are_refused_by_name(void **state)
{
    (void)state;
    pb b = {0};
    pb_str(&b, 1, "n1");
    pb_u64(&b, 2, 3);
    expect_records_refused(&b, "RecordBatch has no records");

    b = (pb){0};
    pb_u64(&b, 2, 3);
    pb r = pb_record("a", 1, 1, "x", 1);
    pb_sub(&b, 3, &r);
    expect_records_refused(&b, "RecordBatch: missing sender_id");

    b = (pb){0};
    pb_str(&b, 1, "n1");
    r = pb_record("a", 1, 1, "x", 1);
    pb_sub(&b, 3, &r);
    expect_records_refused(&b, "RecordBatch: missing term");

    b = (pb){0};
    pb_str(&b, 1, ID_65);
    pb_u64(&b, 2, 3);
    r = pb_record("a", 1, 1, "x", 1);
    pb_sub(&b, 3, &r);
    expect_records_refused(&b, "sender_id of 65 bytes");

    b = (pb){0};
    pb_str(&b, 1, "n1");
    pb_u64(&b, 2, 0);
    r = pb_record("a", 1, 1, "x", 1);
    pb_sub(&b, 3, &r);
    expect_records_refused(&b, "RecordBatch term 0");

    r = pb_record("a", 1, 4, "abc", 3);
    b = batch_with(&r);
    expect_records_refused(&b, "record 1: 3 bytes where its ref says 4");

    r = pb_record("a", 1, 2, "abc", 3);
    b = batch_with(&r);
    expect_records_refused(&b, "record 1: 3 bytes where its ref says 2");

    r = pb_record("a", 1, REFRAFT_WIRE_MAX_RECORD + 1, "abc", 3);
    b = batch_with(&r);
    expect_records_refused(&b, "record 1: size 16777217 is over");

    r = pb_record("", 0, 3, "abc", 3);
    b = batch_with(&r);
    expect_records_refused(&b, "record 1: record id is empty");

    r = (pb){0};
    pb_bytes(&r, 2, "abc", 3);
    b = batch_with(&r);
    expect_records_refused(&b, "record 1: missing ref");

    r = (pb){0};
    pb ref = pb_ref("a", 1, 3, digest_a, 32, 0);
    pb_sub(&r, 1, &ref);
    b = batch_with(&r);
    expect_records_refused(&b, "record 1: missing bytes");

    r = (pb){0};
    ref = pb_ref("a", 1, 3, digest_a, 20, 0);
    pb_sub(&r, 1, &ref);
    pb_bytes(&r, 2, "abc", 3);
    b = batch_with(&r);
    expect_records_refused(&b, "record 1: digest of 20 bytes is not 32");

    r = pb_record("a", 1, 3, "abc", 3);
    pb_u64(&r, 5, 1);
    b = batch_with(&r);
    expect_records_refused(&b, "unknown field 5 in Record");

    /* And the good part alone decodes. */
    b = batch_with(NULL);
    refraft_wire_records out;
    assert_int_equal(refraft_wire_decode_records(b.data, b.len, &out, NULL, 0),
                     0);
    assert_int_equal(out.n, 1);
    refraft_wire_records_free(&out);
    free(b.data);
}

/* A message body is not a record batch, nor the other way round. */
static void test_bodies_do_not_decode_as_the_other_kind(void **state)
{
    (void)state;
    refraft_msg m = wire_sample_heartbeat();
    refraft_wire_buf buf;
    assert_int_equal(refraft_wire_encode_msg(&m, &buf), 0);
    refraft_wire_records r;
    assert_int_equal(
        refraft_wire_decode_records(buf.data, buf.len, &r, NULL, 0),
        REFRAFT_EBADMSG);
    refraft_wire_free(&buf);
    refraft_wire_record rec = {wire_sample_ref("a", 1, 1),
                               (const uint8_t *)"x"};
    assert_int_equal(refraft_wire_encode_records("n1", 2, &rec, 1, &buf), 0);
    refraft_wire_msg out;
    assert_int_equal(refraft_wire_decode_msg(buf.data, buf.len, &out, NULL, 0),
                     REFRAFT_EBADMSG);
    refraft_wire_free(&buf);
}

/* ---- encode refuses what decode refuses -------------------------------- */

static void test_encode_refuses_bad_messages(void **state)
{
    (void)state;
    refraft_wire_buf buf;
    assert_int_equal(refraft_wire_encode_msg(NULL, &buf), REFRAFT_EINVAL);
    refraft_msg m = wire_sample_heartbeat();
    assert_int_equal(refraft_wire_encode_msg(&m, NULL), REFRAFT_EINVAL);

    m.type = 0;
    expect_encode_refused(&m);
    m.type = 8;
    expect_encode_refused(&m);

    const char *bad_ids[] = {NULL, "", ID_65};
    for (size_t k = 0; k < COUNT(bad_ids); k++) {
        m = wire_sample_heartbeat();
        m.u.append_entries.leader_id = bad_ids[k];
        expect_encode_refused(&m);
    }
    m = wire_sample_heartbeat();
    m.u.append_entries.term = 0;
    expect_encode_refused(&m);
    m.u.append_entries.term = REFRAFT_TERM_MAX + 1;
    expect_encode_refused(&m);
    m = wire_sample_heartbeat();
    m.u.append_entries.prev_log_term = REFRAFT_TERM_MAX + 1;
    expect_encode_refused(&m);
    m = wire_sample_heartbeat();
    m.u.append_entries.n_entries = 2; /* no array */
    expect_encode_refused(&m);

    refraft_entry e;
    const struct {
        uint8_t type;
        refraft_term term;
        const char *id;
        size_t id_len;
        refraft_index voided;
    } bad_entries[] = {
        {0, 1, NULL, 0, 0},
        {REFRAFT_ENTRY_ABANDONED, 1, "a", 1, 0},
        {9, 1, NULL, 0, 0},
        {REFRAFT_ENTRY_NOOP, 0, NULL, 0, 0},
        {REFRAFT_ENTRY_NOOP, REFRAFT_TERM_MAX + 1, NULL, 0, 0},
        {REFRAFT_ENTRY_REF, 1, NULL, 0, 0},
        {REFRAFT_ENTRY_REF, 1, NULL, 3, 0},
        {REFRAFT_ENTRY_REF, 1, "a", 0, 0},
        {REFRAFT_ENTRY_REF, 1, "a", 256, 0},
        {REFRAFT_ENTRY_VOID, 1, NULL, 0, 0},
    };
    static uint8_t id256[256];
    for (size_t k = 0; k < COUNT(bad_entries); k++) {
        memset(&e, 0, sizeof e);
        e.type = bad_entries[k].type;
        e.term = bad_entries[k].term;
        e.voided = bad_entries[k].voided;
        if (bad_entries[k].id != NULL || bad_entries[k].id_len > 0)
            e.ref = wire_sample_ref(bad_entries[k].id_len == 256
                                        ? id256
                                        : (const uint8_t *)bad_entries[k].id,
                                    bad_entries[k].id_len, 1);
        m = wire_sample_append_entries(&e, 1);
        expect_encode_refused(&m);
    }

    m = (refraft_msg){.type = REFRAFT_MSG_APPEND_ENTRIES_RESULT};
    m.u.append_entries_result = (refraft_append_entries_result){
        .term = 1, .follower_id = "n2", .conflict_term = REFRAFT_TERM_MAX + 1};
    expect_encode_refused(&m);
    m.u.append_entries_result.conflict_term = 0;
    m.u.append_entries_result.follower_id = NULL;
    expect_encode_refused(&m);

    m = (refraft_msg){.type = REFRAFT_MSG_REQUEST_VOTE};
    m.u.request_vote = (refraft_request_vote){.term = 2, .candidate_id = ID_65};
    expect_encode_refused(&m);
    m.u.request_vote.candidate_id = "n1";
    m.u.request_vote.last_log_term = REFRAFT_TERM_MAX + 1;
    expect_encode_refused(&m);

    m = (refraft_msg){.type = REFRAFT_MSG_REQUEST_VOTE_RESULT};
    m.u.request_vote_result.voter_id = "n1";
    expect_encode_refused(&m); /* term 0 */
}

static void test_encode_refuses_bad_record_batches(void **state)
{
    (void)state;
    refraft_wire_record rec = {wire_sample_ref("a", 1, 1),
                               (const uint8_t *)"x"};
    refraft_wire_buf buf = {NULL, 0};
    assert_int_equal(refraft_wire_encode_records("n1", 1, &rec, 1, NULL),
                     REFRAFT_EINVAL);
    assert_int_equal(refraft_wire_encode_records(NULL, 1, &rec, 1, &buf),
                     REFRAFT_EINVAL);
    assert_int_equal(refraft_wire_encode_records(ID_65, 1, &rec, 1, &buf),
                     REFRAFT_EINVAL);
    assert_int_equal(refraft_wire_encode_records("", 1, &rec, 1, &buf),
                     REFRAFT_EINVAL);
    assert_int_equal(refraft_wire_encode_records("n1", 0, &rec, 1, &buf),
                     REFRAFT_EINVAL);
    assert_int_equal(
        refraft_wire_encode_records("n1", REFRAFT_TERM_MAX + 1, &rec, 1, &buf),
        REFRAFT_EINVAL);
    assert_int_equal(refraft_wire_encode_records("n1", 1, &rec, 0, &buf),
                     REFRAFT_EINVAL);
    assert_int_equal(refraft_wire_encode_records("n1", 1, NULL, 1, &buf),
                     REFRAFT_EINVAL);
    refraft_wire_record bad = rec;
    bad.ref.id = NULL;
    assert_int_equal(refraft_wire_encode_records("n1", 1, &bad, 1, &buf),
                     REFRAFT_EINVAL);
    bad = rec;
    bad.ref.id_len = 0;
    assert_int_equal(refraft_wire_encode_records("n1", 1, &bad, 1, &buf),
                     REFRAFT_EINVAL);
    bad = rec;
    bad.ref.id_len = 256;
    bad.ref.id = long_id; /* only its length matters: refused first */
    assert_int_equal(refraft_wire_encode_records("n1", 1, &bad, 1, &buf),
                     REFRAFT_EINVAL);
    bad = rec;
    bad.bytes = NULL;
    assert_int_equal(refraft_wire_encode_records("n1", 1, &bad, 1, &buf),
                     REFRAFT_EINVAL);
    bad = rec;
    bad.ref.size = REFRAFT_WIRE_MAX_RECORD + 1;
    assert_int_equal(refraft_wire_encode_records("n1", 1, &bad, 1, &buf),
                     REFRAFT_EINVAL);
    assert_null(buf.data);

    /* Three records at the record cap fit in a body; four do not. */
    uint8_t *big = calloc(1, REFRAFT_WIRE_MAX_RECORD);
    assert_non_null(big);
    refraft_wire_record four[4];
    for (size_t i = 0; i < 4; i++) {
        four[i].ref = wire_sample_ref("big", 3, REFRAFT_WIRE_MAX_RECORD);
        four[i].bytes = big;
    }
    assert_int_equal(refraft_wire_encode_records("n1", 1, four, 3, &buf), 0);
    assert_true(buf.len <= REFRAFT_WIRE_MAX_BODY);
    refraft_wire_free(&buf);
    assert_int_equal(refraft_wire_encode_records("n1", 1, four, 4, &buf),
                     REFRAFT_EINVAL);
    assert_null(buf.data);
    free(big);
}

/* ---- fetches ------------------------------------------------------------
 *
 * POST /raft/v1/fetch (wire.h): a FetchRequest of 1 to
 * REFRAFT_WIRE_MAX_FETCH refs, answered by a FetchResponse of 0 to
 * REFRAFT_WIRE_MAX_FETCH answers, each a status and, on OK only, bytes.
 */

static void expect_request_refused(pb *b, const char *word)
{
    expect_refused(b, DECODE_FETCH_REQUEST, word);
}

static void expect_response_refused(pb *b, const char *word)
{
    expect_refused(b, DECODE_FETCH_RESPONSE, word);
}

static refraft_wire_fetch_answer
answer_of(int status, const void *bytes, size_t len)
{
    refraft_wire_fetch_answer a = {status, bytes, len};
    return a;
}

/* A request's refs come back whole and in order: the longest id, a
 * record of 0 bytes and one of the largest size, from the longest
 * sender id in the largest term; and REFRAFT_WIRE_MAX_FETCH refs fit. */
static void test_fetch_request_round_trips(void **state)
{
    (void)state;
    refraft_ref refs[3] = {wire_sample_ref(long_id, sizeof long_id, 1000),
                           wire_sample_ref("empty", 5, 0),
                           wire_sample_ref("huge", 4, UINT64_MAX)};
    refraft_wire_buf buf;
    assert_int_equal(refraft_wire_encode_fetch_request(ID_64, REFRAFT_TERM_MAX,
                                                       refs, 3, &buf),
                     0);
    refraft_wire_fetch_request out;
    char err[REFRAFT_ERRMSG_LEN] = "";
    int rv = refraft_wire_decode_fetch_request(buf.data, buf.len, &out, err,
                                               sizeof err);
    if (rv != 0)
        fail_msg("%s: %s", refraft_strerror(rv), err);
    assert_string_equal(out.sender_id, ID_64);
    assert_int_equal(out.term, REFRAFT_TERM_MAX);
    assert_int_equal(out.n, 3);
    for (size_t i = 0; i < 3; i++)
        assert_true(msgeq_ref(&out.refs[i], &refs[i]));
    refraft_wire_fetch_request_free(&out);
    assert_null(out.priv);
    refraft_wire_free(&buf);

    refraft_ref *many = calloc(REFRAFT_WIRE_MAX_FETCH, sizeof *many);
    assert_non_null(many);
    for (size_t i = 0; i < REFRAFT_WIRE_MAX_FETCH; i++)
        many[i] = wire_sample_ref(long_id + i % 200, 1 + i % 50, i);
    assert_int_equal(refraft_wire_encode_fetch_request(
                         "n", 1, many, REFRAFT_WIRE_MAX_FETCH, &buf),
                     0);
    assert_int_equal(
        refraft_wire_decode_fetch_request(buf.data, buf.len, &out, NULL, 0), 0);
    assert_int_equal(out.n, REFRAFT_WIRE_MAX_FETCH);
    for (size_t i = 0; i < REFRAFT_WIRE_MAX_FETCH; i++)
        assert_true(msgeq_ref(&out.refs[i], &many[i]));
    refraft_wire_fetch_request_free(&out);
    refraft_wire_free(&buf);
    free(many);
}

/* Every status, an OK answer of 0 bytes and a large one, no answers at
 * all, and REFRAFT_WIRE_MAX_FETCH of them. */
static void test_fetch_response_round_trips(void **state)
{
    (void)state;
    size_t big = REFRAFT_WIRE_MAX_RECORD;
    uint8_t *bytes = malloc(big);
    assert_non_null(bytes);
    for (size_t i = 0; i < big; i++)
        bytes[i] = (uint8_t)(i * 13);
    refraft_wire_fetch_answer in[6] = {
        answer_of(REFRAFT_FETCH_OK, "abc", 3),
        answer_of(REFRAFT_FETCH_ABSENT, NULL, 0),
        answer_of(REFRAFT_FETCH_OK, NULL, 0),
        answer_of(REFRAFT_FETCH_UNKNOWN, NULL, 0),
        answer_of(REFRAFT_FETCH_FAILED, "ignored", 0),
        answer_of(REFRAFT_FETCH_OK, bytes, big)};
    refraft_wire_buf buf;
    assert_int_equal(
        refraft_wire_encode_fetch_response(ID_64, UINT64_MAX, in, 6, &buf), 0);
    refraft_wire_fetch_response out;
    char err[REFRAFT_ERRMSG_LEN] = "";
    int rv = refraft_wire_decode_fetch_response(buf.data, buf.len, &out, err,
                                                sizeof err);
    if (rv != 0)
        fail_msg("%s: %s", refraft_strerror(rv), err);
    assert_string_equal(out.sender_id, ID_64);
    assert_true(out.data_index == UINT64_MAX);
    assert_int_equal(out.n, 6);
    for (size_t i = 0; i < 6; i++) {
        const refraft_wire_fetch_answer *a = &out.answers[i];
        assert_int_equal(a->status, in[i].status);
        if (a->status != REFRAFT_FETCH_OK) {
            assert_null(a->bytes);
            assert_int_equal(a->len, 0);
            continue;
        }
        assert_non_null(a->bytes); /* also for 0 bytes */
        assert_int_equal(a->len, in[i].len);
        if (a->len > 0)
            assert_memory_equal(a->bytes, in[i].bytes, a->len);
    }
    refraft_wire_fetch_response_free(&out);
    assert_null(out.priv);
    refraft_wire_free(&buf);
    free(bytes);

    assert_int_equal(refraft_wire_encode_fetch_response("n2", 0, NULL, 0, &buf),
                     0);
    assert_int_equal(
        refraft_wire_decode_fetch_response(buf.data, buf.len, &out, NULL, 0),
        0);
    assert_string_equal(out.sender_id, "n2");
    assert_int_equal(out.data_index, 0);
    assert_int_equal(out.n, 0);
    refraft_wire_fetch_response_free(&out);
    refraft_wire_free(&buf);

    refraft_wire_fetch_answer *many =
        calloc(REFRAFT_WIRE_MAX_FETCH, sizeof *many);
    assert_non_null(many);
    for (size_t i = 0; i < REFRAFT_WIRE_MAX_FETCH; i++)
        many[i] = i % 2 == 0 ? answer_of(REFRAFT_FETCH_OK, long_id, i % 256)
                             : answer_of((int)(i % 4), NULL, 0);
    assert_int_equal(refraft_wire_encode_fetch_response(
                         "n3", 7, many, REFRAFT_WIRE_MAX_FETCH, &buf),
                     0);
    assert_int_equal(
        refraft_wire_decode_fetch_response(buf.data, buf.len, &out, NULL, 0),
        0);
    assert_int_equal(out.n, REFRAFT_WIRE_MAX_FETCH);
    for (size_t i = 0; i < REFRAFT_WIRE_MAX_FETCH; i++) {
        assert_int_equal(out.answers[i].status, many[i].status);
        assert_int_equal(out.answers[i].len, many[i].len);
    }
    refraft_wire_fetch_response_free(&out);
    refraft_wire_free(&buf);
    free(many);
}

/* A request from n1 in term 3 with one good ref and then `last` (none
 * when NULL). */
static pb request_with(pb *last)
{
    pb b = {0};
    pb_str(&b, 1, "n1");
    pb_u64(&b, 2, 3);
    pb good = pb_ref("a", 1, 3, digest_a, 32, 0);
    pb_sub(&b, 3, &good);
    if (last != NULL)
        pb_sub(&b, 3, last);
    return b;
}

/* wire.h: a request names 1 to REFRAFT_WIRE_MAX_FETCH refs "with the
 * asker's id and term"; decoding is strict. */
static void test_bad_fetch_requests_are_refused_by_name(void **state)
{
    (void)state;
    pb b = {0};
    pb_str(&b, 1, "n1");
    pb_u64(&b, 2, 3);
    expect_request_refused(&b, "FetchRequest has no refs");

    b = (pb){0};
    pb_str(&b, 1, "n1");
    pb_u64(&b, 2, 3);
    for (size_t i = 0; i <= REFRAFT_WIRE_MAX_FETCH; i++) {
        pb r = pb_ref("a", 1, 3, digest_a, 32, 0);
        pb_sub(&b, 3, &r);
    }
    expect_request_refused(
        &b, "FetchRequest has 4097 refs, over the limit of 4096");

    const struct {
        const char *sender; /* NULL: left out */
        size_t sender_len;
        bool has_term;
        uint64_t term;
        const char *word;
    } heads[] = {
        {NULL, 0, true, 3, "FetchRequest: missing sender_id"},
        {"n1", 2, false, 0, "FetchRequest: missing term"},
        {"", 0, true, 3, "FetchRequest sender_id is empty"},
        {ID_65, 65, true, 3, "FetchRequest sender_id of 65 bytes is over 64"},
        {"n\0"
         "1",
         3, true, 3, "FetchRequest sender_id contains a NUL byte"},
        {"n1", 2, true, 0, "FetchRequest term 0 is outside [1, "},
        {"n1", 2, true, REFRAFT_TERM_MAX + 1,
         "FetchRequest term 9223372036854775808 is outside"},
    };
    for (size_t k = 0; k < COUNT(heads); k++) {
        b = (pb){0};
        if (heads[k].sender != NULL)
            pb_bytes(&b, 1, heads[k].sender, heads[k].sender_len);
        if (heads[k].has_term)
            pb_u64(&b, 2, heads[k].term);
        pb r = pb_ref("a", 1, 3, digest_a, 32, 0);
        pb_sub(&b, 3, &r);
        expect_request_refused(&b, heads[k].word);
    }

    static const char *const ref_fields[] = {NULL, "id", "size", "digest"};
    for (unsigned omit = 1; omit <= 3; omit++) {
        char word[64];
        snprintf(word, sizeof word, "record 1 ref: missing %s",
                 ref_fields[omit]);
        pb r = pb_ref("a", 1, 3, digest_a, 32, omit);
        b = request_with(&r);
        expect_request_refused(&b, word);
    }
    pb r = pb_ref("", 0, 3, digest_a, 32, 0);
    b = request_with(&r);
    expect_request_refused(&b, "record 1: record id is empty");
    static uint8_t id256[256];
    r = pb_ref(id256, sizeof id256, 3, digest_a, 32, 0);
    b = request_with(&r);
    expect_request_refused(&b, "record 1: record id of 256 bytes is over 255");
    r = pb_ref("a", 1, 3, digest_a, 31, 0);
    b = request_with(&r);
    expect_request_refused(&b, "record 1: digest of 31 bytes is not 32");
    r = pb_ref("a", 1, 3, digest_a, 32, 0);
    pb_u64(&r, 4, 1);
    b = request_with(&r);
    expect_request_refused(&b, "unknown field 4 in Ref");
    b = request_with(NULL);
    pb_u64(&b, 4, 1);
    expect_request_refused(&b, "unknown field 4 in FetchRequest");
    b = request_with(NULL);
    pb_u64(&b, 2, 3); /* the term twice */
    expect_request_refused(&b, "a field given twice");
    b = request_with(NULL);
    b.len--;
    expect_request_refused(&b, "not a valid FetchRequest");

    /* And the good part alone decodes. */
    b = request_with(NULL);
    refraft_wire_fetch_request out;
    assert_int_equal(
        refraft_wire_decode_fetch_request(b.data, b.len, &out, NULL, 0), 0);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.term, 3);
    refraft_wire_fetch_request_free(&out);
    free(b.data);
}

static pb
pb_answer(bool has_status, uint64_t status, const void *bytes, size_t n)
{
    pb a = {0};
    if (has_status)
        pb_u64(&a, 1, status);
    if (bytes != NULL)
        pb_bytes(&a, 2, bytes, n);
    return a;
}

/* A response from n2 with data index 9, one good answer and then `last`
 * (none when NULL). */
static pb response_with(pb *last)
{
    pb b = {0};
    pb_str(&b, 1, "n2");
    pb_u64(&b, 2, 9);
    pb good = pb_answer(true, REFRAFT_FETCH_OK, "abc", 3);
    pb_sub(&b, 3, &good);
    if (last != NULL)
        pb_sub(&b, 3, last);
    return b;
}

/* wire.h: "only OK carries bytes"; status 0..3; at most
 * REFRAFT_WIRE_MAX_FETCH answers. */
static void test_bad_fetch_responses_are_refused_by_name(void **state)
{
    (void)state;
    pb b = {0};
    pb_u64(&b, 2, 9);
    expect_response_refused(&b, "FetchResponse: missing sender_id");
    b = (pb){0};
    pb_str(&b, 1, "n2");
    expect_response_refused(&b, "FetchResponse: missing data_index");
    b = (pb){0};
    pb_str(&b, 1, ID_65);
    pb_u64(&b, 2, 9);
    expect_response_refused(&b,
                            "FetchResponse sender_id of 65 bytes is over 64");
    b = (pb){0};
    pb_str(&b, 1, "");
    pb_u64(&b, 2, 9);
    expect_response_refused(&b, "FetchResponse sender_id is empty");

    b = (pb){0};
    pb_str(&b, 1, "n2");
    pb_u64(&b, 2, 9);
    for (size_t i = 0; i <= REFRAFT_WIRE_MAX_FETCH; i++) {
        pb a = pb_answer(true, REFRAFT_FETCH_ABSENT, NULL, 0);
        pb_sub(&b, 3, &a);
    }
    expect_response_refused(
        &b, "FetchResponse has 4097 answers, over the limit of 4096");

    pb a = pb_answer(false, 0, NULL, 0);
    b = response_with(&a);
    expect_response_refused(&b, "answer 1: missing status");
    a = pb_answer(false, 0, "abc", 3);
    b = response_with(&a);
    expect_response_refused(&b, "answer 1: missing status");
    a = pb_answer(true, 4, NULL, 0);
    b = response_with(&a);
    expect_response_refused(&b, "answer 1: unknown status 4");
    a = pb_answer(true, UINT64_MAX, NULL, 0); /* -1 as an enum */
    b = response_with(&a);
    expect_response_refused(&b, "answer 1: unknown status -1");
    a = pb_answer(true, REFRAFT_FETCH_OK, NULL, 0);
    b = response_with(&a);
    expect_response_refused(&b, "answer 1: OK answer has no bytes");
    static const char *const names[] = {NULL, "ABSENT", "UNKNOWN", "FAILED"};
    for (int s = REFRAFT_FETCH_ABSENT; s <= REFRAFT_FETCH_FAILED; s++) {
        char word[64];
        snprintf(word, sizeof word, "answer 1: %s answer carries bytes",
                 names[s]);
        a = pb_answer(true, (uint64_t)s, "abc", 3);
        b = response_with(&a);
        expect_response_refused(&b, word);
        a = pb_answer(true, (uint64_t)s, "", 0); /* even none */
        b = response_with(&a);
        expect_response_refused(&b, word);
    }
    a = pb_answer(true, REFRAFT_FETCH_OK, "abc", 3);
    pb_u64(&a, 3, 1);
    b = response_with(&a);
    expect_response_refused(&b, "unknown field 3 in FetchAnswer");
    b = response_with(NULL);
    pb_u64(&b, 2, 9); /* data_index twice */
    expect_response_refused(&b, "a field given twice");

    /* The good part alone decodes; an OK answer's bytes are whatever was
     * sent (the codec has no ref to hold them against). */
    b = response_with(NULL);
    refraft_wire_fetch_response out;
    assert_int_equal(
        refraft_wire_decode_fetch_response(b.data, b.len, &out, NULL, 0), 0);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.data_index, 9);
    assert_int_equal(out.answers[0].status, REFRAFT_FETCH_OK);
    assert_int_equal(out.answers[0].len, 3);
    assert_memory_equal(out.answers[0].bytes, "abc", 3);
    refraft_wire_fetch_response_free(&out);
    free(b.data);
}

/* The encoders refuse what the decoders would, and leave out alone. */
static void test_encode_refuses_bad_fetches(void **state)
{
    (void)state;
    refraft_ref ref = wire_sample_ref("a", 1, 1);
    refraft_wire_buf buf = {NULL, 0};
    assert_int_equal(refraft_wire_encode_fetch_request("n1", 1, &ref, 1, NULL),
                     REFRAFT_EINVAL);
    const char *bad_ids[] = {NULL, "", ID_65};
    for (size_t k = 0; k < COUNT(bad_ids); k++)
        assert_int_equal(
            refraft_wire_encode_fetch_request(bad_ids[k], 1, &ref, 1, &buf),
            REFRAFT_EINVAL);
    assert_int_equal(refraft_wire_encode_fetch_request("n1", 0, &ref, 1, &buf),
                     REFRAFT_EINVAL);
    assert_int_equal(refraft_wire_encode_fetch_request(
                         "n1", REFRAFT_TERM_MAX + 1, &ref, 1, &buf),
                     REFRAFT_EINVAL);
    assert_int_equal(refraft_wire_encode_fetch_request("n1", 1, &ref, 0, &buf),
                     REFRAFT_EINVAL);
    assert_int_equal(refraft_wire_encode_fetch_request("n1", 1, NULL, 1, &buf),
                     REFRAFT_EINVAL);
    refraft_ref *many = calloc(REFRAFT_WIRE_MAX_FETCH + 1, sizeof *many);
    assert_non_null(many);
    for (size_t i = 0; i <= REFRAFT_WIRE_MAX_FETCH; i++)
        many[i] = ref;
    assert_int_equal(refraft_wire_encode_fetch_request(
                         "n1", 1, many, REFRAFT_WIRE_MAX_FETCH + 1, &buf),
                     REFRAFT_EINVAL);
    free(many);
    refraft_ref bad = ref;
    bad.id = NULL;
    assert_int_equal(refraft_wire_encode_fetch_request("n1", 1, &bad, 1, &buf),
                     REFRAFT_EINVAL);
    bad = ref;
    bad.id_len = 0;
    assert_int_equal(refraft_wire_encode_fetch_request("n1", 1, &bad, 1, &buf),
                     REFRAFT_EINVAL);
    bad = ref;
    bad.id = long_id;
    bad.id_len = REFRAFT_RECORD_ID_MAX + 1; /* refused before it is read */
    assert_int_equal(refraft_wire_encode_fetch_request("n1", 1, &bad, 1, &buf),
                     REFRAFT_EINVAL);
    assert_null(buf.data);

    refraft_wire_fetch_answer ok = answer_of(REFRAFT_FETCH_OK, "x", 1);
    assert_int_equal(refraft_wire_encode_fetch_response("n1", 1, &ok, 1, NULL),
                     REFRAFT_EINVAL);
    for (size_t k = 0; k < COUNT(bad_ids); k++)
        assert_int_equal(
            refraft_wire_encode_fetch_response(bad_ids[k], 1, &ok, 1, &buf),
            REFRAFT_EINVAL);
    assert_int_equal(refraft_wire_encode_fetch_response("n1", 1, NULL, 1, &buf),
                     REFRAFT_EINVAL);
    refraft_wire_fetch_answer *answers =
        calloc(REFRAFT_WIRE_MAX_FETCH + 1, sizeof *answers);
    assert_non_null(answers);
    for (size_t i = 0; i <= REFRAFT_WIRE_MAX_FETCH; i++)
        answers[i] = answer_of(REFRAFT_FETCH_ABSENT, NULL, 0);
    assert_int_equal(refraft_wire_encode_fetch_response(
                         "n1", 1, answers, REFRAFT_WIRE_MAX_FETCH + 1, &buf),
                     REFRAFT_EINVAL);
    free(answers);
    const refraft_wire_fetch_answer bad_answers[] = {
        answer_of(-1, NULL, 0),
        answer_of(4, NULL, 0),
        answer_of(REFRAFT_FETCH_ABSENT, "x", 1),
        answer_of(REFRAFT_FETCH_UNKNOWN, "x", 1),
        answer_of(REFRAFT_FETCH_FAILED, "x", 1),
        answer_of(REFRAFT_FETCH_OK, NULL, 1),
    };
    for (size_t k = 0; k < COUNT(bad_answers); k++)
        assert_int_equal(refraft_wire_encode_fetch_response(
                             "n1", 1, &bad_answers[k], 1, &buf),
                         REFRAFT_EINVAL);
    assert_null(buf.data);

    /* Over the body cap: four answers of 16 MiB fit in 64 MiB only
     * without their framing. */
    uint8_t *big = calloc(1, REFRAFT_WIRE_MAX_RECORD);
    assert_non_null(big);
    refraft_wire_fetch_answer four[4];
    for (size_t i = 0; i < 4; i++)
        four[i] = answer_of(REFRAFT_FETCH_OK, big, REFRAFT_WIRE_MAX_RECORD);
    assert_int_equal(refraft_wire_encode_fetch_response("n1", 1, four, 3, &buf),
                     0);
    refraft_wire_free(&buf);
    assert_int_equal(refraft_wire_encode_fetch_response("n1", 1, four, 4, &buf),
                     REFRAFT_EINVAL);
    assert_null(buf.data);
    free(big);
}

/* The four record exchanges do not read one another's bodies. */
static void test_fetch_bodies_do_not_decode_as_other_kinds(void **state)
{
    (void)state;
    refraft_ref ref = wire_sample_ref("a", 1, 1);
    refraft_wire_fetch_answer ans = answer_of(REFRAFT_FETCH_OK, "x", 1);
    refraft_wire_record rec = {ref, (const uint8_t *)"x"};
    refraft_wire_buf req, res, batch;
    assert_int_equal(refraft_wire_encode_fetch_request("n1", 2, &ref, 1, &req),
                     0);
    assert_int_equal(refraft_wire_encode_fetch_response("n1", 2, &ans, 1, &res),
                     0);
    assert_int_equal(refraft_wire_encode_records("n1", 2, &rec, 1, &batch), 0);
    refraft_wire_fetch_request oq;
    refraft_wire_fetch_response os;
    refraft_wire_records orr;
    refraft_wire_msg om;
    assert_int_equal(
        refraft_wire_decode_fetch_response(req.data, req.len, &os, NULL, 0),
        REFRAFT_EBADMSG);
    assert_int_equal(
        refraft_wire_decode_records(req.data, req.len, &orr, NULL, 0),
        REFRAFT_EBADMSG);
    assert_int_equal(refraft_wire_decode_msg(req.data, req.len, &om, NULL, 0),
                     REFRAFT_EBADMSG);
    assert_int_equal(
        refraft_wire_decode_fetch_request(res.data, res.len, &oq, NULL, 0),
        REFRAFT_EBADMSG);
    assert_int_equal(
        refraft_wire_decode_records(res.data, res.len, &orr, NULL, 0),
        REFRAFT_EBADMSG);
    assert_int_equal(
        refraft_wire_decode_fetch_request(batch.data, batch.len, &oq, NULL, 0),
        REFRAFT_EBADMSG);
    assert_int_equal(
        refraft_wire_decode_fetch_response(batch.data, batch.len, &os, NULL, 0),
        REFRAFT_EBADMSG);
    refraft_wire_free(&req);
    refraft_wire_free(&res);
    refraft_wire_free(&batch);
}

/* ---- truncation -------------------------------------------------------- */

/* Every prefix of a valid encoding is refused or, when it happens to be
 * a complete body itself, decodes to something the encoder accepts. */
static void test_every_prefix_decodes_cleanly(void **state)
{
    (void)state;
    refraft_entry e[] = {{.term = 2, .type = REFRAFT_ENTRY_NOOP},
                         {.term = 3,
                          .type = REFRAFT_ENTRY_REF,
                          .ref = wire_sample_ref(long_id, 40, 77)},
                         {.term = 3, .type = REFRAFT_ENTRY_VOID, .voided = 9}};
    refraft_msg m = wire_sample_append_entries(e, COUNT(e));
    refraft_wire_buf buf;
    assert_int_equal(refraft_wire_encode_msg(&m, &buf), 0);
    /* A message body is a single length-delimited field: no proper
     * prefix of it is a whole body. */
    for (size_t len = 0; len < buf.len; len++) {
        uint8_t *copy = malloc(len + 1); /* exactly len bytes for ASan */
        memcpy(copy, buf.data, len);
        refraft_wire_msg out;
        char err[REFRAFT_ERRMSG_LEN];
        int rv = refraft_wire_decode_msg(len ? copy : NULL, len, &out, err,
                                         sizeof err);
        if (rv != REFRAFT_EBADMSG)
            fail_msg("prefix of %zu bytes: %s", len, refraft_strerror(rv));
        free(copy);
    }
    refraft_wire_free(&buf);

    /* A batch is several top-level fields: a prefix that stops between
     * records is a smaller batch. */
    refraft_wire_record recs[3];
    for (size_t i = 0; i < 3; i++) {
        recs[i].ref = wire_sample_ref(long_id + i, 10, 5);
        recs[i].bytes = (const uint8_t *)"hello";
    }
    assert_int_equal(refraft_wire_encode_records("n1", 4, recs, 3, &buf), 0);
    size_t decoded = 0;
    for (size_t len = 0; len <= buf.len; len++) {
        uint8_t *copy = malloc(len + 1);
        memcpy(copy, buf.data, len);
        refraft_wire_records out;
        int rv = refraft_wire_decode_records(copy, len, &out, NULL, 0);
        if (rv == 0) {
            decoded++;
            assert_true(out.n >= 1 && out.n <= 3);
            refraft_wire_buf again;
            assert_int_equal(refraft_wire_encode_records(out.sender_id,
                                                         out.term, out.records,
                                                         out.n, &again),
                             0);
            refraft_wire_free(&again);
            refraft_wire_records_free(&out);
        } else {
            assert_int_equal(rv, REFRAFT_EBADMSG);
        }
        free(copy);
    }
    assert_int_equal(decoded, 3); /* after record 1, 2 and 3 */
    refraft_wire_free(&buf);

    /* So are a fetch request and a fetch response: a request after each
     * of its refs, a response also before its first answer. */
    refraft_ref refs[3];
    refraft_wire_fetch_answer answers[3];
    for (size_t i = 0; i < 3; i++) {
        refs[i] = recs[i].ref;
        answers[i] = (refraft_wire_fetch_answer){
            (int)i, i == 0 ? (const uint8_t *)"hello" : NULL, i == 0 ? 5 : 0};
    }
    refraft_wire_buf rq, rs;
    assert_int_equal(refraft_wire_encode_fetch_request("n1", 4, refs, 3, &rq),
                     0);
    assert_int_equal(
        refraft_wire_encode_fetch_response("n1", 4, answers, 3, &rs), 0);
    size_t requests = 0, responses = 0;
    for (size_t len = 0; len <= rs.len || len <= rq.len; len++) {
        uint8_t *copy = malloc(len + 1);
        refraft_wire_fetch_request q;
        refraft_wire_fetch_response r;
        if (len <= rq.len) {
            memcpy(copy, rq.data, len);
            int rv = refraft_wire_decode_fetch_request(copy, len, &q, NULL, 0);
            assert_true(rv == 0 || rv == REFRAFT_EBADMSG);
            if (rv == 0) {
                requests++;
                refraft_wire_fetch_request_free(&q);
            }
        }
        if (len <= rs.len) {
            memcpy(copy, rs.data, len);
            int rv = refraft_wire_decode_fetch_response(copy, len, &r, NULL, 0);
            assert_true(rv == 0 || rv == REFRAFT_EBADMSG);
            if (rv == 0) {
                responses++;
                refraft_wire_fetch_response_free(&r);
            }
        }
        free(copy);
    }
    assert_int_equal(requests, 3);
    assert_int_equal(responses, 4);
    refraft_wire_free(&rq);
    refraft_wire_free(&rs);
}

/* ---- errbuf ------------------------------------------------------------ */

static void test_errbuf_is_optional_and_bounded(void **state)
{
    (void)state;
    pb e = pb_noop(0);
    pb body = ae_with_entry(&e);
    refraft_wire_msg out;
    assert_int_equal(
        refraft_wire_decode_msg(body.data, body.len, &out, NULL, 0),
        REFRAFT_EBADMSG);
    char small[8];
    memset(small, 'x', sizeof small);
    assert_int_equal(
        refraft_wire_decode_msg(body.data, body.len, &out, small, sizeof small),
        REFRAFT_EBADMSG);
    assert_int_equal(strlen(small), sizeof small - 1);
    free(body.data);

    char err[REFRAFT_ERRMSG_LEN];
    assert_int_equal(refraft_wire_decode_msg(NULL, 5, &out, err, sizeof err),
                     REFRAFT_EINVAL);
    assert_int_equal(
        refraft_wire_decode_msg((const uint8_t *)"", 0, NULL, err, sizeof err),
        REFRAFT_EINVAL);
    refraft_wire_records r;
    assert_int_equal(refraft_wire_decode_records(NULL, 5, &r, err, sizeof err),
                     REFRAFT_EINVAL);
    refraft_wire_fetch_request fq;
    refraft_wire_fetch_response fs;
    assert_int_equal(
        refraft_wire_decode_fetch_request(NULL, 5, &fq, err, sizeof err),
        REFRAFT_EINVAL);
    assert_int_equal(refraft_wire_decode_fetch_request((const uint8_t *)"", 0,
                                                       NULL, err, sizeof err),
                     REFRAFT_EINVAL);
    assert_int_equal(
        refraft_wire_decode_fetch_response(NULL, 5, &fs, err, sizeof err),
        REFRAFT_EINVAL);
    assert_int_equal(refraft_wire_decode_fetch_response((const uint8_t *)"", 0,
                                                        NULL, err, sizeof err),
                     REFRAFT_EINVAL);
}

/* ---- allocation faults ------------------------------------------------- */

static int restore_allocator(void **state)
{
    (void)state;
    refraft_set_allocator(NULL);
    return 0;
}

/* The fetch exchange under the sweep: a request of 20 refs and a
 * response of 20 answers, encoded and decoded. */
static void fetch_scenario(void)
{
    refraft_ref refs[20];
    refraft_wire_fetch_answer answers[20];
    for (size_t i = 0; i < COUNT(refs); i++) {
        refs[i] = wire_sample_ref(long_id + i, 8, i);
        answers[i] = i % 2 == 0 ? answer_of(REFRAFT_FETCH_OK, long_id, i)
                                : answer_of(REFRAFT_FETCH_UNKNOWN, NULL, 0);
    }
    refraft_wire_buf buf = {NULL, 0};
    int rv =
        refraft_wire_encode_fetch_request("n1", 2, refs, COUNT(refs), &buf);
    if (rv != 0) {
        assert_int_equal(rv, REFRAFT_ENOMEM);
        assert_null(buf.data);
    } else {
        refraft_wire_fetch_request out;
        memset(&out, 0xa5, sizeof out);
        refraft_wire_fetch_request before = out;
        rv =
            refraft_wire_decode_fetch_request(buf.data, buf.len, &out, NULL, 0);
        if (rv != 0) {
            assert_int_equal(rv, REFRAFT_ENOMEM);
            assert_memory_equal(&out, &before, sizeof out);
        } else {
            assert_int_equal(out.n, COUNT(refs));
            refraft_wire_fetch_request_free(&out);
        }
        refraft_wire_free(&buf);
    }
    rv = refraft_wire_encode_fetch_response("n2", 5, answers, COUNT(answers),
                                            &buf);
    if (rv != 0) {
        assert_int_equal(rv, REFRAFT_ENOMEM);
        assert_null(buf.data);
        return;
    }
    refraft_wire_fetch_response out;
    memset(&out, 0xa5, sizeof out);
    refraft_wire_fetch_response before = out;
    char err[REFRAFT_ERRMSG_LEN] = "";
    rv = refraft_wire_decode_fetch_response(buf.data, buf.len, &out, err,
                                            sizeof err);
    if (rv != 0) {
        assert_int_equal(rv, REFRAFT_ENOMEM);
        assert_memory_equal(&out, &before, sizeof out);
        assert_mentions(err, "out of memory");
    } else {
        assert_int_equal(out.n, COUNT(answers));
        refraft_wire_fetch_response_free(&out);
    }
    refraft_wire_free(&buf);
}

/* Encode and decode m: each step succeeds or returns REFRAFT_ENOMEM
 * with its output untouched. */
static void msg_scenario(const refraft_msg *m)
{
    refraft_wire_buf buf = {NULL, 0};
    int rv = refraft_wire_encode_msg(m, &buf);
    if (rv != 0) {
        assert_int_equal(rv, REFRAFT_ENOMEM);
        assert_null(buf.data);
    } else {
        refraft_wire_msg out;
        memset(&out, 0xa5, sizeof out);
        refraft_wire_msg before = out;
        char err[REFRAFT_ERRMSG_LEN] = "";
        rv = refraft_wire_decode_msg(buf.data, buf.len, &out, err, sizeof err);
        if (rv != 0) {
            assert_int_equal(rv, REFRAFT_ENOMEM);
            assert_memory_equal(&out, &before, sizeof out);
            assert_mentions(err, "out of memory");
        } else {
            assert_true(msgeq_msg(m, &out.msg));
            refraft_wire_msg_free(&out);
        }
        refraft_wire_free(&buf);
    }
}

/* What the sweep runs once per failure point: encode and decode two
 * messages (entries; a snapshot chunk's refs and members), a batch and
 * a fetch exchange.  Each step succeeds or returns REFRAFT_ENOMEM with
 * its output untouched. */
static void codec_scenario(void *arg)
{
    (void)arg;
    refraft_entry e[20];
    memset(e, 0, sizeof e);
    for (size_t i = 0; i < COUNT(e); i++) {
        e[i].term = 2;
        e[i].type = i % 3 == 0   ? REFRAFT_ENTRY_NOOP
                    : i % 3 == 1 ? REFRAFT_ENTRY_REF
                                 : REFRAFT_ENTRY_VOID;
        e[i].ref = wire_sample_ref(long_id + i, 8, i);
        e[i].voided = i;
    }
    refraft_msg m = wire_sample_append_entries(e, COUNT(e));
    msg_scenario(&m);
    refraft_snapshot_ref refs[10];
    for (size_t i = 0; i < COUNT(refs); i++)
        refs[i] = (refraft_snapshot_ref){i * 3 + 1,
                                         wire_sample_ref(long_id + i, 8, i)};
    refraft_member members[3] = {
        {"n1", "http://a", true}, {"n2", "", true}, {"n3", NULL, false}};
    m = wire_sample_install_snapshot(refs, COUNT(refs), members, 3);
    msg_scenario(&m);

    refraft_wire_buf buf = {NULL, 0};
    int rv;
    refraft_wire_record recs[20];
    for (size_t i = 0; i < COUNT(recs); i++) {
        recs[i].ref = wire_sample_ref(long_id + i, 8, 5);
        recs[i].bytes = (const uint8_t *)"bytes";
    }
    fetch_scenario();
    rv = refraft_wire_encode_records("n1", 2, recs, COUNT(recs), &buf);
    if (rv != 0) {
        assert_int_equal(rv, REFRAFT_ENOMEM);
        return;
    }
    refraft_wire_records out;
    memset(&out, 0xa5, sizeof out);
    refraft_wire_records before = out;
    rv = refraft_wire_decode_records(buf.data, buf.len, &out, NULL, 0);
    if (rv != 0) {
        assert_int_equal(rv, REFRAFT_ENOMEM);
        assert_memory_equal(&out, &before, sizeof out);
    } else {
        assert_int_equal(out.n, COUNT(recs));
        refraft_wire_records_free(&out);
    }
    refraft_wire_free(&buf);
}

/* STYLE.md: "A pluggable allocator lets tests fail every allocation in
 * turn and assert a clean REFRAFT_ENOMEM".  ASan checks that no failure
 * path leaks. */
static void test_every_allocation_failure_is_clean(void **state)
{
    (void)state;
    long points = failalloc_sweep(codec_scenario, NULL);
    print_message("allocation sweep: %ld allocation points\n", points);
    /* Six bodies: each encode and each decode allocates at least once (a
     * decode its store, and its first chunk unless one kept from the
     * decode before serves), so every step is failed at least once. */
    assert_true(points >= 12);
}

/* ---- digest header ----------------------------------------------------- */

/* SHA-256 of "abc" (FIPS 180-2 appendix B.1) and its base64. */
static const uint8_t sha_abc[32] = {
    0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
    0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
    0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
#define B64_ABC "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="

static void test_digest_header_is_rfc9530_repr_digest(void **state)
{
    (void)state;
    char buf[REFRAFT_WIRE_DIGEST_HEADER_LEN];
    memset(buf, 'x', sizeof buf);
    refraft_wire_format_digest(sha_abc, buf);
    assert_string_equal(buf, "sha-256=:" B64_ABC ":");
    assert_true(strlen(buf) < sizeof buf);
    uint8_t d[32];
    assert_int_equal(refraft_wire_parse_digest(buf, d), 0);
    assert_memory_equal(d, sha_abc, 32);

    /* Every digest survives the trip. */
    for (int v = 0; v < 256; v++) {
        uint8_t in[32];
        for (size_t i = 0; i < 32; i++)
            in[i] = (uint8_t)((size_t)v + i * 13);
        refraft_wire_format_digest(in, buf);
        assert_int_equal(refraft_wire_parse_digest(buf, d), 0);
        assert_memory_equal(d, in, 32);
    }
}

/* RFC 9530: the field may list several algorithms; we read sha-256 and
 * step over the others, whatever their syntax. */
static void test_digest_parse_skips_other_members(void **state)
{
    (void)state;
    const char *good[] = {
        "sha-512=:" B64_ABC B64_ABC ":, sha-256=:" B64_ABC ":",
        "sha-256=:" B64_ABC ":, sha-512=:AAAA:",
        "  sha-256=:" B64_ABC ":  ",
        "unixsum=12345,\tsha-256=:" B64_ABC ":;q=1;x, md5=?1",
        "id-sha-256=:AAAA:, sha-256=:" B64_ABC ":",
        "a=\"str, with \\\"comma\\\"\", b=tok/en:x, c=-1.5, "
        "d=(1 \"x\" :AA==:);p=2, e, sha-256=:" B64_ABC ":",
        /* Unpadded base64: RFC 8941 asks parsers to accept it. */
        "sha-256=:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0:",
        /* The last of two sha-256 members counts (RFC 8941 3.2). */
        "sha-256=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:, "
        "sha-256=:" B64_ABC ":",
    };
    for (size_t i = 0; i < COUNT(good); i++) {
        uint8_t d[32];
        memset(d, 0, sizeof d);
        int rv = refraft_wire_parse_digest(good[i], d);
        if (rv != 0)
            fail_msg("\"%s\": %s", good[i], refraft_strerror(rv));
        assert_memory_equal(d, sha_abc, 32);
    }
}

static void test_digest_parse_refuses_bad_headers(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "   ",
        "sha-512=:" B64_ABC ":",     /* no sha-256 */
        "sha-256=" B64_ABC,          /* not :bytes: */
        "sha-256=:" B64_ABC,         /* unterminated */
        "sha-256",                   /* boolean */
        "sha-256=:AAAA:",            /* 3 bytes */
        "sha-256=:" B64_ABC "AAAA:", /* 35 bytes */
        "sha-256=:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa=:", /* 31.5 */
        "sha-256=:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAF==:",
        "sha-256=:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=A:",
        "sha-256=:ungWv48Bz!pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=:", /* "!" */
        "sha-256=:ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0=:", /* url */
        "SHA-256=:" B64_ABC ":",   /* keys are lower */
        "sha-256=:" B64_ABC ":,",  /* trailing comma */
        "sha-256=:" B64_ABC ": x", /* junk after */
        "a=\"unterminated, sha-256=:" B64_ABC ":",
        "a=(1 2, sha-256=:" B64_ABC ":",
        "sha-256=:" B64_ABC ":;=1",
        ", sha-256=:" B64_ABC ":",
    };
    for (size_t i = 0; i < COUNT(bad); i++) {
        uint8_t d[32];
        memset(d, 0x5a, sizeof d);
        int rv = refraft_wire_parse_digest(bad[i], d);
        if (rv != REFRAFT_EBADMSG)
            fail_msg("\"%s\": %s, want EBADMSG", bad[i], refraft_strerror(rv));
        for (size_t k = 0; k < 32; k++)
            assert_int_equal(d[k], 0x5a);
    }
    uint8_t d[32];
    assert_int_equal(refraft_wire_parse_digest(NULL, d), REFRAFT_EBADMSG);
    assert_int_equal(refraft_wire_parse_digest("sha-256=:" B64_ABC ":", NULL),
                     REFRAFT_EINVAL);
}

/* ---- record ids in paths ----------------------------------------------- */

static void assert_id_round_trip(const uint8_t *id, size_t len)
{
    char buf[3 * REFRAFT_RECORD_ID_MAX + 1];
    memset(buf, 'x', sizeof buf);
    refraft_wire_encode_id(id, len, buf);
    size_t n = strlen(buf);
    assert_true(n >= len && n <= 3 * len);
    for (const char *p = buf; *p != '\0'; p++) {
        if (*p == '%') {
            assert_true(isxdigit((unsigned char)p[1]) &&
                        isxdigit((unsigned char)p[2]));
            assert_false(islower((unsigned char)p[1]) ||
                         islower((unsigned char)p[2]));
            p += 2;
        } else {
            assert_true(isalnum((unsigned char)*p) || strchr("-._~", *p));
        }
    }
    uint8_t back[REFRAFT_RECORD_ID_MAX];
    size_t back_len = 0;
    assert_int_equal(refraft_wire_decode_id(buf, back, &back_len), 0);
    assert_int_equal(back_len, len);
    assert_memory_equal(back, id, len);
}

static void test_record_ids_round_trip_over_every_byte(void **state)
{
    (void)state;
    for (int c = 0; c < 256; c++) {
        uint8_t one = (uint8_t)c;
        assert_id_round_trip(&one, 1);
    }
    assert_id_round_trip(long_id, sizeof long_id);
    uint8_t top[REFRAFT_RECORD_ID_MAX];
    for (size_t i = 0; i < sizeof top; i++)
        top[i] = (uint8_t)(255 - i);
    assert_id_round_trip(top, sizeof top);
    assert_id_round_trip((const uint8_t *)"plain-id_1.2~3", 14);

    char buf[3 * 5 + 1];
    refraft_wire_encode_id((const uint8_t *)"a/b c", 5, buf);
    assert_string_equal(buf, "a%2Fb%20c");
}

static void test_record_id_decode_refuses_malformed_paths(void **state)
{
    (void)state;
    char too_long[REFRAFT_RECORD_ID_MAX + 2];
    memset(too_long, 'a', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';
    char too_long_escaped[3 * (REFRAFT_RECORD_ID_MAX + 1) + 1] = "";
    for (int i = 0; i <= REFRAFT_RECORD_ID_MAX; i++)
        strcat(too_long_escaped, "%00");
    const char *bad[] = {"",    "%",        "%4",   "%G0",    "%4G",
                         "a%",  "a%2",      "a/b",  "a b",    "a?b",
                         "a#b", "\xc3\xa9", "%%41", too_long, too_long_escaped,
                         "a\tb"};
    for (size_t i = 0; i < COUNT(bad); i++) {
        uint8_t id[REFRAFT_RECORD_ID_MAX];
        memset(id, 0x5a, sizeof id);
        size_t len = 12345;
        if (refraft_wire_decode_id(bad[i], id, &len) != REFRAFT_EINVAL)
            fail_msg("\"%s\" was accepted", bad[i]);
        assert_int_equal(len, 12345);
        assert_int_equal(id[0], 0x5a);
    }
    uint8_t id[REFRAFT_RECORD_ID_MAX];
    size_t len;
    assert_int_equal(refraft_wire_decode_id(NULL, id, &len), REFRAFT_EINVAL);
    assert_int_equal(refraft_wire_decode_id("a", NULL, &len), REFRAFT_EINVAL);
    assert_int_equal(refraft_wire_decode_id("a", id, NULL), REFRAFT_EINVAL);

    /* Lower-case escapes and characters a path may carry raw are read as
     * what they say; 255 bytes is the longest id. */
    assert_int_equal(refraft_wire_decode_id("%2f%2F!$&'()*+,;=:@", id, &len),
                     0);
    assert_int_equal(len, 15);
    assert_memory_equal(id, "//!$&'()*+,;=:@", 15);
    too_long[REFRAFT_RECORD_ID_MAX] = '\0';
    assert_int_equal(refraft_wire_decode_id(too_long, id, &len), 0);
    assert_int_equal(len, REFRAFT_RECORD_ID_MAX);

    /* An id encode cannot write comes out empty, which decode refuses. */
    char buf[4] = "xyz";
    refraft_wire_encode_id(NULL, 3, buf);
    assert_string_equal(buf, "");
    refraft_wire_encode_id(long_id, REFRAFT_RECORD_ID_MAX + 1, buf);
    assert_string_equal(buf, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_entries_round_trips_with_edge_values),
        cmocka_unit_test(test_encode_leaves_out_fields_the_type_does_not_use),
        cmocka_unit_test(test_entry_count_is_capped_at_the_limit),
        cmocka_unit_test(test_refusals_name_positions_of_several_digits),
        cmocka_unit_test(test_many_ref_entries_round_trip),
        cmocka_unit_test(test_decoding_many_entries_takes_a_few_allocations),
        cmocka_unit_test(test_decodes_reuse_chunks_until_the_allocator_changes),
        cmocka_unit_test(
            test_every_allocation_failure_in_a_long_decode_is_clean),
        cmocka_unit_test(test_append_entries_result_round_trips),
        cmocka_unit_test(
            test_request_vote_round_trips_with_and_without_pre_vote),
        cmocka_unit_test(test_request_vote_result_round_trips),
        cmocka_unit_test(test_record_batch_round_trips),
        cmocka_unit_test(test_free_functions_accept_null_and_repeats),
        cmocka_unit_test(test_body_over_the_cap_is_refused),
        cmocka_unit_test(test_malformed_protobuf_is_refused),
        cmocka_unit_test(test_empty_body_and_unknown_message_type_are_refused),
        cmocka_unit_test(test_two_messages_in_one_body_are_refused),
        cmocka_unit_test(test_repeated_fields_and_padded_numbers_are_refused),
        cmocka_unit_test(test_unknown_fields_are_refused_at_any_depth),
        cmocka_unit_test(test_every_missing_field_is_named),
        cmocka_unit_test(test_bad_node_ids_are_refused_by_name),
        cmocka_unit_test(test_terms_out_of_range_are_refused_by_name),
        cmocka_unit_test(test_bad_entries_are_refused_by_position_and_field),
        cmocka_unit_test(test_install_snapshot_round_trips_with_edge_values),
        cmocka_unit_test(test_snapshot_ref_count_is_capped_at_the_limit),
        cmocka_unit_test(test_bad_install_snapshots_are_refused_by_name),
        cmocka_unit_test(test_bad_install_snapshot_results_are_refused_by_name),
        cmocka_unit_test(test_encode_refuses_bad_install_snapshots),
        cmocka_unit_test(test_config_entries_are_refused_by_member),
        cmocka_unit_test(test_config_read_round_and_timeout_now_round_trip),
        cmocka_unit_test(
            test_a_body_of_empty_entries_is_refused_before_it_costs),
        cmocka_unit_test(test_bad_record_batches_are_refused_by_name),
        cmocka_unit_test(test_bodies_do_not_decode_as_the_other_kind),
        cmocka_unit_test(test_encode_refuses_bad_messages),
        cmocka_unit_test(test_encode_refuses_bad_record_batches),
        cmocka_unit_test(test_fetch_request_round_trips),
        cmocka_unit_test(test_fetch_response_round_trips),
        cmocka_unit_test(test_bad_fetch_requests_are_refused_by_name),
        cmocka_unit_test(test_bad_fetch_responses_are_refused_by_name),
        cmocka_unit_test(test_encode_refuses_bad_fetches),
        cmocka_unit_test(test_fetch_bodies_do_not_decode_as_other_kinds),
        cmocka_unit_test(test_every_prefix_decodes_cleanly),
        cmocka_unit_test(test_errbuf_is_optional_and_bounded),
        cmocka_unit_test_teardown(test_every_allocation_failure_is_clean,
                                  restore_allocator),
        cmocka_unit_test(test_digest_header_is_rfc9530_repr_digest),
        cmocka_unit_test(test_digest_parse_skips_other_members),
        cmocka_unit_test(test_digest_parse_refuses_bad_headers),
        cmocka_unit_test(test_record_ids_round_trip_over_every_byte),
        cmocka_unit_test(test_record_id_decode_refuses_malformed_paths),
    };
    return cmocka_run_group_tests_name("wire", tests, setup_ids, NULL);
}
