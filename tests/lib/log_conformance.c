/* log_conformance.c - the log API conformance suite, run once per backend. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log_conformance.h"

/* ------------------------------------------------------------------------
 * Generated entries
 * ------------------------------------------------------------------------ */

/* splitmix64: turns a counter into well-mixed bits, so generated ids,
 * sizes and digests differ from one key to the next. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

/* Fill n bytes from a stream seeded by seed. */
static void fill_bytes(uint8_t *out, size_t n, uint64_t seed)
{
    uint64_t h = seed;
    for (size_t i = 0; i < n; i++) {
        if (i % 8 == 0)
            h = mix(h + i);
        out[i] = (uint8_t)(h >> (8 * (i % 8)));
    }
}

/* Id lengths cycle through 1..REFRAFT_RECORD_ID_MAX, so every run of 255
 * keys exercises both limits. */
static void make_ref(uint64_t key, uint8_t *id, refraft_ref *ref)
{
    uint16_t len = (uint16_t)(1 + key % REFRAFT_RECORD_ID_MAX);
    fill_bytes(id, len, key);
    ref->id = id;
    ref->id_len = len;
    ref->size = mix(key ^ 0x5a5a5a5au);
    fill_bytes(ref->digest, REFRAFT_DIGEST_LEN, ~key);
}

/* Fill out[0..n) with REF entries generated from key + i; ids holds
 * n * REFRAFT_RECORD_ID_MAX bytes. */
static void make_entries(refraft_entry *out, uint8_t *ids, size_t n,
                         uint64_t key, refraft_term term)
{
    for (size_t i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        out[i].term = term;
        out[i].type = REFRAFT_ENTRY_REF;
        make_ref(key + i, ids + i * REFRAFT_RECORD_ID_MAX, &out[i].ref);
    }
}

log_batch log_batch_make(size_t n, uint64_t key, refraft_term term)
{
    log_batch b = {calloc(n > 0 ? n : 1, sizeof(refraft_entry)),
                   calloc(n > 0 ? n : 1, REFRAFT_RECORD_ID_MAX), n};
    assert_non_null(b.e);
    assert_non_null(b.ids);
    make_entries(b.e, b.ids, n, key, term);
    return b;
}

void log_batch_free(log_batch *b)
{
    free(b->e);
    free(b->ids);
}

static refraft_entry noop(refraft_term term)
{
    refraft_entry e;
    memset(&e, 0, sizeof(e));
    e.term = term;
    e.type = REFRAFT_ENTRY_NOOP;
    return e;
}

/* VOID(voided) of term. */
static refraft_entry void_of(refraft_term term, refraft_index voided)
{
    refraft_entry e;
    memset(&e, 0, sizeof(e));
    e.term = term;
    e.type = REFRAFT_ENTRY_VOID;
    e.voided = voided;
    return e;
}

/* ------------------------------------------------------------------------
 * Checks shared with backend-specific tests
 * ------------------------------------------------------------------------ */

/* Whether ref is all zeros: "The ref of a NOOP or VOID ... read back
 * zeroed". */
static bool ref_is_zero(const refraft_ref *ref)
{
    static const uint8_t zero[REFRAFT_DIGEST_LEN];
    return ref->id == NULL && ref->id_len == 0 && ref->size == 0 &&
           memcmp(ref->digest, zero, REFRAFT_DIGEST_LEN) == 0;
}

/* An address as the log must give it back: NULL was stored as "". */
static const char *address_of(const refraft_member *m)
{
    return m->address != NULL ? m->address : "";
}

/* A CONFIG entry reads back with its members, in order, each with its id,
 * address and voter flag; any other entry with members NULL and
 * n_members 0 ("The fields a type does not use are ignored and read back
 * zeroed"). */
static void assert_members(refraft_index index, const refraft_entry *want,
                           const refraft_entry *got)
{
    if (want->type != REFRAFT_ENTRY_CONFIG) {
        if (got->members != NULL || got->n_members != 0)
            fail_msg("entry %" PRIu64 ": type %d with %zu members", index,
                     got->type, got->n_members);
        return;
    }
    if (got->n_members != want->n_members || got->members == NULL)
        fail_msg("entry %" PRIu64 ": %zu members, want %zu", index,
                 got->n_members, want->n_members);
    for (size_t i = 0; i < want->n_members; i++) {
        const refraft_member *w = &want->members[i], *g = &got->members[i];
        if (g->id == NULL || strcmp(g->id, w->id) != 0)
            fail_msg("entry %" PRIu64 ": member %zu is \"%s\", want \"%s\"",
                     index, i, g->id != NULL ? g->id : "(null)", w->id);
        if (strcmp(address_of(g), address_of(w)) != 0)
            fail_msg("entry %" PRIu64 ": member %zu has address \"%s\", "
                     "want \"%s\"",
                     index, i, address_of(g), address_of(w));
        if (g->voter != w->voter)
            fail_msg("entry %" PRIu64 ": member %zu voter %d, want %d", index,
                     i, g->voter, w->voter);
    }
}

/* Only what an entry's type carries must survive: a NOOP, VOID or CONFIG
 * reads back with a zeroed ref, any type but VOID with a voided index of
 * 0, any type but CONFIG without members. */
static void assert_entry(refraft_index index, const refraft_entry *want,
                         const refraft_entry *got)
{
    if (got->term != want->term || got->type != want->type)
        fail_msg("entry %" PRIu64 ": term %" PRIu64
                 " type %d, want term %" PRIu64 " type %d",
                 index, got->term, got->type, want->term, want->type);
    refraft_index voided = want->type == REFRAFT_ENTRY_VOID ? want->voided : 0;
    if (got->voided != voided)
        fail_msg("entry %" PRIu64 ": voided index %" PRIu64 ", want %" PRIu64,
                 index, got->voided, voided);
    assert_members(index, want, got);
    if (want->type != REFRAFT_ENTRY_REF) {
        if (!ref_is_zero(&got->ref))
            fail_msg("entry %" PRIu64 ": type %d with a ref that is not "
                     "zeroed",
                     index, got->type);
        return;
    }
    if (got->ref.id_len != want->ref.id_len || got->ref.id == NULL ||
        memcmp(got->ref.id, want->ref.id, want->ref.id_len) != 0)
        fail_msg("entry %" PRIu64 ": record id differs", index);
    if (got->ref.size != want->ref.size)
        fail_msg("entry %" PRIu64 ": size differs", index);
    if (memcmp(got->ref.digest, want->ref.digest, REFRAFT_DIGEST_LEN) != 0)
        fail_msg("entry %" PRIu64 ": digest differs", index);
}

/* Read n entries from index from in reads of at most step entries each. */
static void assert_get_in_steps(const refraft_log_api *api, refraft_index from,
                                const refraft_entry *expected, size_t n,
                                size_t step, refraft_entry *buf)
{
    for (size_t done = 0; done < n;) {
        size_t want = n - done < step ? n - done : step;
        size_t got = SIZE_MAX;
        assert_int_equal(api->get(api->ctx, from + done, want, buf, &got), 0);
        assert_int_equal(got, want);
        for (size_t i = 0; i < got; i++)
            assert_entry(from + done + i, &expected[done + i], &buf[i]);
        done += got;
    }
}

void log_assert_entries(const refraft_log_api *api, refraft_index from,
                        const refraft_entry *expected, size_t n)
{
    refraft_entry *buf = calloc(n > 0 ? n : 1, sizeof(*buf));
    assert_non_null(buf);
    /* Odd-sized pieces cross whatever internal boundaries a backend has. */
    assert_get_in_steps(api, from, expected, n, n > 0 ? n : 1, buf);
    assert_get_in_steps(api, from, expected, n, 7, buf);
    free(buf);
    for (size_t i = 0; i < n; i++) {
        refraft_term term = 0;
        assert_int_equal(api->term_at(api->ctx, from + i, &term), 0);
        assert_int_equal(term, expected[i].term);
    }
}

/* One member's strings, as a snapshot keeps them. */
struct member_strings {
    char id[REFRAFT_ID_MAX + 1];
    char address[REFRAFT_ADDRESS_MAX + 1];
};

struct log_snapshot {
    refraft_index first;
    refraft_index last;
    refraft_term term;
    char voted_for[REFRAFT_ID_MAX + 1];
    /* Their ids point into ids, their members into members, whose strings
     * are in strings. */
    refraft_entry *entries;
    uint8_t *ids;
    refraft_member *members;
    struct member_strings *strings;
    size_t n;
    /* The base (version 5 logs), its members' strings copied. */
    refraft_snapshot_meta base;
    struct member_strings base_strings[REFRAFT_MAX_PEERS];
    bool base_voter[REFRAFT_MAX_PEERS];
};

/* Copy the log's base into snap (a log without compaction has none). */
static void snapshot_base(const refraft_log_api *api, log_snapshot *snap)
{
    if (api->version < 5 || api->base == NULL)
        return;
    assert_int_equal(api->base(api->ctx, &snap->base), 0);
    assert_true(snap->base.n_members <= REFRAFT_MAX_PEERS);
    for (size_t k = 0; k < snap->base.n_members; k++) {
        const refraft_member *m = &snap->base.members[k];
        snprintf(snap->base_strings[k].id, sizeof(snap->base_strings[k].id),
                 "%s", m->id);
        snprintf(snap->base_strings[k].address,
                 sizeof(snap->base_strings[k].address), "%s", address_of(m));
        snap->base_voter[k] = m->voter;
    }
    snap->base.members = NULL;
}

/* The log's base is what snap recorded. */
static void assert_base(const refraft_log_api *api, const log_snapshot *snap)
{
    if (api->version < 5 || api->base == NULL)
        return;
    refraft_snapshot_meta base;
    assert_int_equal(api->base(api->ctx, &base), 0);
    assert_int_equal(base.last_index, snap->base.last_index);
    assert_int_equal(base.last_term, snap->base.last_term);
    assert_int_equal(base.config_index, snap->base.config_index);
    assert_int_equal(base.n_members, snap->base.n_members);
    for (size_t k = 0; k < base.n_members; k++) {
        assert_string_equal(base.members[k].id, snap->base_strings[k].id);
        assert_string_equal(address_of(&base.members[k]),
                            snap->base_strings[k].address);
        assert_int_equal(base.members[k].voter, snap->base_voter[k]);
    }
}

/* Move the ids of snap's entries into memory the snapshot owns, since the
 * log's own copies are only valid until its next change. */
static void snapshot_own_ids(log_snapshot *snap)
{
    snap->ids = calloc(snap->n > 0 ? snap->n : 1, REFRAFT_RECORD_ID_MAX);
    assert_non_null(snap->ids);
    for (size_t i = 0; i < snap->n; i++) {
        refraft_ref *ref = &snap->entries[i].ref;
        uint8_t *copy = snap->ids + i * REFRAFT_RECORD_ID_MAX;
        if (ref->id_len > 0)
            memcpy(copy, ref->id, ref->id_len);
        ref->id = copy;
    }
}

/* The same for the members of CONFIG entries and their strings. */
static void snapshot_own_members(log_snapshot *snap)
{
    size_t total = 0;
    for (size_t i = 0; i < snap->n; i++)
        if (snap->entries[i].type == REFRAFT_ENTRY_CONFIG)
            total += snap->entries[i].n_members;
    snap->members = calloc(total > 0 ? total : 1, sizeof(*snap->members));
    snap->strings = calloc(total > 0 ? total : 1, sizeof(*snap->strings));
    assert_non_null(snap->members);
    assert_non_null(snap->strings);
    size_t k = 0;
    for (size_t i = 0; i < snap->n; i++) {
        refraft_entry *e = &snap->entries[i];
        if (e->type != REFRAFT_ENTRY_CONFIG)
            continue;
        assert_non_null(e->members);
        refraft_member *copy = &snap->members[k];
        for (size_t j = 0; j < e->n_members; j++, k++) {
            struct member_strings *str = &snap->strings[k];
            snprintf(str->id, sizeof(str->id), "%s", e->members[j].id);
            snprintf(str->address, sizeof(str->address), "%s",
                     address_of(&e->members[j]));
            snap->members[k] =
                (refraft_member){str->id, str->address, e->members[j].voter};
        }
        e->members = copy;
    }
}

log_snapshot *log_snapshot_take(const refraft_log_api *api)
{
    log_snapshot *snap = calloc(1, sizeof(*snap));
    assert_non_null(snap);
    snap->first = api->first_index(api->ctx);
    snap->last = api->last_index(api->ctx);
    assert_true(snap->last + 1 >= snap->first);
    assert_int_equal(
        api->load_hard_state(api->ctx, &snap->term, snap->voted_for), 0);
    snap->n = (size_t)(snap->last + 1 - snap->first);
    snap->entries = calloc(snap->n > 0 ? snap->n : 1, sizeof(refraft_entry));
    assert_non_null(snap->entries);
    size_t got = SIZE_MAX;
    assert_int_equal(
        api->get(api->ctx, snap->first, snap->n, snap->entries, &got), 0);
    assert_int_equal(got, snap->n);
    snapshot_own_ids(snap);
    snapshot_own_members(snap);
    snapshot_base(api, snap);
    return snap;
}

void log_assert_snapshot(const refraft_log_api *api, const log_snapshot *snap)
{
    refraft_term term = 0;
    char voted_for[REFRAFT_ID_MAX + 1];
    assert_int_equal(api->first_index(api->ctx), snap->first);
    assert_int_equal(api->last_index(api->ctx), snap->last);
    assert_int_equal(api->load_hard_state(api->ctx, &term, voted_for), 0);
    assert_int_equal(term, snap->term);
    assert_string_equal(voted_for, snap->voted_for);
    log_assert_entries(api, snap->first, snap->entries, snap->n);
    assert_base(api, snap);
}

void log_snapshot_free(log_snapshot *snap)
{
    if (snap == NULL)
        return;
    free(snap->entries);
    free(snap->ids);
    free(snap->members);
    free(snap->strings);
    free(snap);
}

/* ------------------------------------------------------------------------
 * Fixture: every test gets a freshly opened, empty log
 * ------------------------------------------------------------------------ */

struct fixture {
    const log_backend *backend;
    void *handle;
    refraft_log_api api;
};

/* cmocka hands each test its CMUnitTest's initial_state, the backend. */
static int setup(void **state)
{
    const log_backend *backend = *state;
    struct fixture *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    f->backend = backend;
    if (backend->open(backend->ctx, &f->api, &f->handle) != 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    f->backend->close(f->handle);
    free(f);
    return 0;
}

static refraft_log_api *api_of(void **state)
{
    struct fixture *f = *state;
    return &f->api;
}

static void reopen(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(f->backend->reopen(f->handle, &f->api), 0);
}

static void
append_ok(const refraft_log_api *api, const refraft_entry *e, size_t n)
{
    assert_int_equal(api->append(api->ctx, e, n), 0);
}

static refraft_index last_index(const refraft_log_api *api)
{
    return api->last_index(api->ctx);
}

static refraft_term term_at(const refraft_log_api *api, refraft_index index)
{
    refraft_term term = UINT64_MAX;
    assert_int_equal(api->term_at(api->ctx, index, &term), 0);
    return term;
}

/* Append count generated entries of term and keep them for checking. */
static log_batch append_batch(const refraft_log_api *api, size_t count,
                              uint64_t key, refraft_term term)
{
    log_batch b = log_batch_make(count, key, term);
    append_ok(api, b.e, b.n);
    return b;
}

/* ------------------------------------------------------------------------
 * Empty log
 * ------------------------------------------------------------------------ */

/* "An empty log has first_index 1 and last_index 0." */
static void empty_log_has_first_index_1_and_last_index_0(void **state)
{
    refraft_log_api *api = api_of(state);
    assert_int_equal(api->version, REFRAFT_LOG_API_VERSION);
    assert_int_equal(api->first_index(api->ctx), 1);
    assert_int_equal(last_index(api), 0);
}

static void empty_log_reads_no_entries(void **state)
{
    refraft_log_api *api = api_of(state);
    refraft_entry e;
    size_t n = SIZE_MAX;
    assert_int_equal(api->get(api->ctx, 1, 10, &e, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(term_at(api, 0), 0);
    refraft_term term;
    assert_int_equal(api->term_at(api->ctx, 1, &term), REFRAFT_ENOTFOUND);
}

/* "term 0 and "" when nothing was ever saved" */
static void empty_log_hard_state_is_term_0_and_no_vote(void **state)
{
    refraft_log_api *api = api_of(state);
    refraft_term term = 99;
    char voted_for[REFRAFT_ID_MAX + 1];
    memset(voted_for, 'x', sizeof(voted_for));
    assert_int_equal(api->load_hard_state(api->ctx, &term, voted_for), 0);
    assert_int_equal(term, 0);
    assert_string_equal(voted_for, "");
}

/* ------------------------------------------------------------------------
 * Append and read back
 * ------------------------------------------------------------------------ */

static void append_single_entry_reads_back(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = append_batch(api, 1, 42, 1);
    assert_int_equal(last_index(api), 1);
    log_assert_entries(api, 1, b.e, 1);
    log_batch_free(&b);
}

/* A follower appends a leader's entries of several terms in one batch. */
static void
append_batch_of_mixed_types_and_rising_terms_reads_back(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = log_batch_make(6, 100, 1);
    b.e[0] = noop(1);
    b.e[2].term = 2;
    b.e[3] = noop(3);
    b.e[4].term = 3;
    b.e[5].term = 5;
    append_ok(api, b.e, b.n);
    assert_int_equal(last_index(api), 6);
    log_assert_entries(api, 1, b.e, b.n);
    log_batch_free(&b);
}

/* "Append n entries at last_index + 1" */
static void appends_continue_at_last_index_plus_1(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch a = append_batch(api, 3, 1, 1);
    log_batch b = append_batch(api, 1, 50, 1);
    log_batch c = append_batch(api, 4, 60, 2);
    assert_int_equal(last_index(api), 8);
    log_assert_entries(api, 1, a.e, 3);
    log_assert_entries(api, 4, b.e, 1);
    log_assert_entries(api, 5, c.e, 4);
    log_batch_free(&a);
    log_batch_free(&b);
    log_batch_free(&c);
}

static void append_of_zero_entries_changes_nothing(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = append_batch(api, 2, 7, 1);
    assert_int_equal(api->append(api->ctx, NULL, 0), 0);
    assert_int_equal(api->append(api->ctx, b.e, 0), 0);
    assert_int_equal(last_index(api), 2);
    log_assert_entries(api, 1, b.e, 2);
    log_batch_free(&b);
}

/* "The log copies the entries and their ids; the caller keeps ownership of
 * its arrays." */
static void append_copies_entries_and_ids(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = append_batch(api, 3, 9, 1);
    log_batch want = log_batch_make(3, 9, 1);
    memset(b.ids, 0xee, 3 * REFRAFT_RECORD_ID_MAX);
    memset(b.e, 0, 3 * sizeof(*b.e));
    log_batch_free(&b);
    log_assert_entries(api, 1, want.e, 3);
    log_batch_free(&want);
}

/* "The ref of a NOOP ... and the voided index of a NOOP ... are ignored
 * and read back zeroed", however invalid they would be for a REF. */
static void noop_entry_ignores_its_ref_and_reads_back_without_id(void **state)
{
    refraft_log_api *api = api_of(state);
    uint8_t junk[300];
    memset(junk, 'j', sizeof(junk));
    refraft_entry e = noop(1);
    e.ref.id = junk;
    e.ref.id_len = sizeof(junk);
    e.ref.size = 12345;
    memset(e.ref.digest, 0xdd, REFRAFT_DIGEST_LEN);
    e.voided = 99;
    append_ok(api, &e, 1);
    refraft_entry got;
    memset(&got, 0xee, sizeof(got));
    size_t n = 0;
    assert_int_equal(api->get(api->ctx, 1, 1, &got, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(got.type, REFRAFT_ENTRY_NOOP);
    assert_int_equal(got.term, 1);
    assert_true(ref_is_zero(&got.ref));
    assert_int_equal(got.voided, 0);
}

/* "the voided index of a NOOP or REF [is] ignored and read back zeroed" */
static void ref_entry_ignores_a_voided_index_and_reads_back_0(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = log_batch_make(3, 5, 1);
    b.e[0].voided = 1;
    b.e[1].voided = 7;
    b.e[2].voided = UINT64_MAX;
    append_ok(api, b.e, b.n);
    refraft_entry got[3];
    memset(got, 0xee, sizeof(got));
    size_t n = 0;
    assert_int_equal(api->get(api->ctx, 1, 3, got, &n), 0);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(got[i].voided, 0);
    /* log_assert_entries wants voided 0 for a REF, whatever was given. */
    log_assert_entries(api, 1, b.e, b.n);
    log_batch_free(&b);
}

/* ------------------------------------------------------------------------
 * VOID entries
 * ------------------------------------------------------------------------ */

/* "VOID(k): the record of the REF entry at index k (.voided) was lost":
 * a VOID reads back with its term, type and voided index, and no ref. */
static void void_entry_reads_back_with_its_voided_index(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = append_batch(api, 3, 20, 1);
    refraft_entry v[2] = {void_of(2, 1), void_of(2, 3)};
    append_ok(api, v, 2);
    assert_int_equal(last_index(api), 5);
    log_assert_entries(api, 1, b.e, 3);
    log_assert_entries(api, 4, v, 2);
    assert_int_equal(term_at(api, 5), 2);
    log_batch_free(&b);
}

/* A follower takes a leader's batch in which a VOID names an entry of the
 * same batch, right before it. */
static void void_may_name_an_entry_of_its_own_batch(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = log_batch_make(6, 40, 1);
    b.e[0] = noop(1);
    b.e[2] = void_of(2, 2);
    b.e[3].term = 2;
    b.e[4] = void_of(3, 4);
    b.e[5].term = 3;
    append_ok(api, b.e, b.n);
    log_assert_entries(api, 1, b.e, b.n);
    log_batch_free(&b);
}

/* "The ref of a NOOP or VOID ... [is] ignored and read back zeroed" */
static void void_entry_ignores_its_ref_and_reads_back_zeroed(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = append_batch(api, 1, 60, 1);
    uint8_t junk[300];
    memset(junk, 'j', sizeof(junk));
    refraft_entry e = void_of(1, 1);
    e.ref.id = junk;
    e.ref.id_len = sizeof(junk);
    e.ref.size = 777;
    memset(e.ref.digest, 0xdd, REFRAFT_DIGEST_LEN);
    append_ok(api, &e, 1);
    refraft_entry got;
    memset(&got, 0xee, sizeof(got));
    size_t n = 0;
    assert_int_equal(api->get(api->ctx, 2, 1, &got, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(got.type, REFRAFT_ENTRY_VOID);
    assert_int_equal(got.term, 1);
    assert_int_equal(got.voided, 1);
    assert_true(ref_is_zero(&got.ref));
    log_batch_free(&b);
}

/* "what they wrote must survive a crash of the process": VOIDs too, and a
 * truncation removes them like any entry. */
static void void_entries_survive_reopen_and_truncate(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = append_batch(api, 4, 80, 1);
    refraft_entry v[3] = {void_of(1, 2), void_of(2, 4), void_of(2, 1)};
    append_ok(api, v, 3);
    reopen(state);
    api = api_of(state);
    assert_int_equal(last_index(api), 7);
    log_assert_entries(api, 1, b.e, 4);
    log_assert_entries(api, 5, v, 3);
    assert_int_equal(api->truncate(api->ctx, 6), 0);
    refraft_entry w = void_of(3, 3);
    append_ok(api, &w, 1);
    reopen(state);
    api = api_of(state);
    assert_int_equal(last_index(api), 6);
    log_assert_entries(api, 5, v, 1);
    log_assert_entries(api, 6, &w, 1);
    log_batch_free(&b);
}

/* Record ids are opaque byte strings: NUL bytes are data, and both length
 * limits (1 and REFRAFT_RECORD_ID_MAX) are allowed. */
static void record_ids_are_bytes_of_1_to_255(void **state)
{
    refraft_log_api *api = api_of(state);
    static const uint8_t nul_id[] = {0, 'a', 0};
    uint8_t one = 0;
    uint8_t longest[REFRAFT_RECORD_ID_MAX];
    memset(longest, 0, sizeof(longest));
    longest[REFRAFT_RECORD_ID_MAX - 1] = 'z';
    refraft_entry e[3];
    memset(e, 0, sizeof(e));
    const uint8_t *ids[3] = {nul_id, &one, longest};
    const uint16_t lens[3] = {sizeof(nul_id), 1, REFRAFT_RECORD_ID_MAX};
    for (size_t i = 0; i < 3; i++) {
        e[i].term = 1;
        e[i].type = REFRAFT_ENTRY_REF;
        e[i].ref.id = ids[i];
        e[i].ref.id_len = lens[i];
    }
    append_ok(api, e, 3);
    log_assert_entries(api, 1, e, 3);
}

/* ------------------------------------------------------------------------
 * get
 * ------------------------------------------------------------------------ */

/* "Read up to max entries starting at index from" */
static void get_returns_at_most_max_entries(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = append_batch(api, 10, 3, 1);
    refraft_entry out[10];
    size_t n = 0;
    assert_int_equal(api->get(api->ctx, 2, 3, out, &n), 0);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++)
        assert_entry(2 + i, &b.e[1 + i], &out[i]);
    log_batch_free(&b);
}

static void get_stops_at_last_index(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = append_batch(api, 5, 3, 1);
    refraft_entry out[10];
    size_t n = 0;
    assert_int_equal(api->get(api->ctx, 4, 10, out, &n), 0);
    assert_int_equal(n, 2);
    assert_entry(4, &b.e[3], &out[0]);
    assert_entry(5, &b.e[4], &out[1]);
    assert_int_equal(api->get(api->ctx, 5, 10, out, &n), 0);
    assert_int_equal(n, 1);
    assert_entry(5, &b.e[4], &out[0]);
    log_batch_free(&b);
}

/* "*n gets the count (0 when from > last_index)" */
static void get_past_last_index_returns_no_entries(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = append_batch(api, 5, 3, 1);
    refraft_entry out[2];
    size_t n = SIZE_MAX;
    assert_int_equal(api->get(api->ctx, 6, 2, out, &n), 0);
    assert_int_equal(n, 0);
    n = SIZE_MAX;
    assert_int_equal(api->get(api->ctx, UINT64_MAX, 2, out, &n), 0);
    assert_int_equal(n, 0);
    log_batch_free(&b);
}

static void get_with_max_0_returns_no_entries(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = append_batch(api, 5, 3, 1);
    size_t n = SIZE_MAX;
    assert_int_equal(api->get(api->ctx, 1, 0, NULL, &n), 0);
    assert_int_equal(n, 0);
    log_batch_free(&b);
}

/* "REFRAFT_ENOTFOUND when from < first_index" */
static void get_before_first_index_is_enotfound(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = append_batch(api, 5, 3, 1);
    refraft_entry out[2];
    size_t n = 0;
    refraft_index first = api->first_index(api->ctx);
    assert_int_equal(api->get(api->ctx, first - 1, 2, out, &n),
                     REFRAFT_ENOTFOUND);
    log_batch_free(&b);
}

/* ------------------------------------------------------------------------
 * term_at
 * ------------------------------------------------------------------------ */

/* "index 0 has term 0" */
static void term_at_index_0_is_term_0(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = append_batch(api, 3, 3, 4);
    assert_int_equal(term_at(api, 0), 0);
    log_batch_free(&b);
}

static void term_at_returns_the_term_of_each_entry(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = log_batch_make(5, 3, 1);
    b.e[2].term = 2;
    b.e[3].term = 2;
    b.e[4].term = 7;
    append_ok(api, b.e, b.n);
    static const refraft_term want[] = {1, 1, 2, 2, 7};
    for (refraft_index i = 1; i <= 5; i++)
        assert_int_equal(term_at(api, i), want[i - 1]);
    log_batch_free(&b);
}

/* "REFRAFT_ENOTFOUND outside that range" */
static void term_at_past_last_index_is_enotfound(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = append_batch(api, 3, 3, 1);
    refraft_term term = 99;
    assert_int_equal(api->term_at(api->ctx, 4, &term), REFRAFT_ENOTFOUND);
    assert_int_equal(api->term_at(api->ctx, UINT64_MAX, &term),
                     REFRAFT_ENOTFOUND);
    assert_int_equal(term, 99);
    log_batch_free(&b);
}

/* ------------------------------------------------------------------------
 * truncate
 * ------------------------------------------------------------------------ */

/* "Remove the entries at index from and after" */
static void truncate_in_the_middle_removes_from_there_on(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = append_batch(api, 10, 3, 1);
    assert_int_equal(api->truncate(api->ctx, 4), 0);
    assert_int_equal(last_index(api), 3);
    log_assert_entries(api, 1, b.e, 3);
    refraft_term term;
    assert_int_equal(api->term_at(api->ctx, 4, &term), REFRAFT_ENOTFOUND);
    refraft_entry out[1];
    size_t n = SIZE_MAX;
    assert_int_equal(api->get(api->ctx, 4, 1, out, &n), 0);
    assert_int_equal(n, 0);
    log_batch_free(&b);
}

static void truncate_at_first_index_empties_the_log(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = append_batch(api, 10, 3, 1);
    assert_int_equal(api->truncate(api->ctx, api->first_index(api->ctx)), 0);
    assert_int_equal(last_index(api), 0);
    assert_int_equal(term_at(api, 0), 0);
    log_batch_free(&b);
}

/* "first_index <= from <= last_index + 1": the upper end removes nothing. */
static void truncate_at_last_index_plus_1_changes_nothing(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = append_batch(api, 4, 3, 1);
    assert_int_equal(api->truncate(api->ctx, 5), 0);
    assert_int_equal(last_index(api), 4);
    log_assert_entries(api, 1, b.e, 4);
    log_batch_free(&b);
}

/* A new leader overwrites a follower's uncommitted suffix (Raft §5.3);
 * the new entries may have a lower term than the removed ones. */
static void truncate_then_append_with_other_terms_reads_back(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch a = append_batch(api, 2, 10, 1);
    log_batch old = append_batch(api, 2, 20, 3);
    assert_int_equal(api->truncate(api->ctx, 3), 0);
    log_batch b = append_batch(api, 3, 30, 2);
    assert_int_equal(last_index(api), 5);
    log_assert_entries(api, 1, a.e, 2);
    log_assert_entries(api, 3, b.e, 3);
    assert_int_equal(api->truncate(api->ctx, 2), 0);
    log_batch c = append_batch(api, 1, 40, 4);
    assert_int_equal(last_index(api), 2);
    log_assert_entries(api, 1, a.e, 1);
    log_assert_entries(api, 2, c.e, 1);
    log_batch_free(&a);
    log_batch_free(&old);
    log_batch_free(&b);
    log_batch_free(&c);
}

/* Ids of removed entries must not leak into the ids of later ones, nor
 * may new ids overwrite those of entries that stay, whether the cut is at
 * a REF or at a NOOP. */
static void ids_stay_correct_after_truncate_and_reappend(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch a = append_batch(api, 300, 1000, 1);
    assert_int_equal(api->truncate(api->ctx, 150), 0);
    log_batch b = append_batch(api, 20, 5000, 2);
    refraft_entry n = noop(2);
    append_ok(api, &n, 1);
    log_batch c = append_batch(api, 40, 7000, 2);
    assert_int_equal(last_index(api), 149 + 20 + 1 + 40);
    log_assert_entries(api, 1, a.e, 149);
    log_assert_entries(api, 150, b.e, 20);
    log_assert_entries(api, 170, &n, 1);
    log_assert_entries(api, 171, c.e, 40);
    assert_int_equal(api->truncate(api->ctx, 170), 0);
    log_batch d = append_batch(api, 30, 9000, 3);
    assert_int_equal(last_index(api), 199);
    log_assert_entries(api, 1, a.e, 149);
    log_assert_entries(api, 150, b.e, 20);
    log_assert_entries(api, 170, d.e, 30);
    log_batch_free(&a);
    log_batch_free(&b);
    log_batch_free(&c);
    log_batch_free(&d);
}

/* ------------------------------------------------------------------------
 * Ids handed out by get
 * ------------------------------------------------------------------------ */

/*
 * "The ids inside the returned refs are owned by the log and valid until
 * the next call that changes the log": a caller copies them, and the log's
 * own ids stay right however much it grows afterwards.
 */
static void ids_read_earlier_stay_correct_after_later_appends(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch a = append_batch(api, 3, 1, 1);
    log_snapshot *before = log_snapshot_take(api);
    log_batch big = append_batch(api, 5000, 100, 1);
    log_batch more = append_batch(api, 1, 9000, 2);
    log_assert_entries(api, 1, before->entries, 3);
    log_assert_entries(api, 4, big.e, 5000);
    log_assert_entries(api, 5004, more.e, 1);
    log_snapshot_free(before);
    log_batch_free(&a);
    log_batch_free(&big);
    log_batch_free(&more);
}

/* ------------------------------------------------------------------------
 * Hard state
 * ------------------------------------------------------------------------ */

static void assert_hard_state(const refraft_log_api *api, refraft_term term,
                              const char *voted_for)
{
    refraft_term got = 0;
    char buf[REFRAFT_ID_MAX + 1];
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(api->load_hard_state(api->ctx, &got, buf), 0);
    assert_int_equal(got, term);
    assert_string_equal(buf, voted_for);
}

/* "Load what save_hard_state last stored" */
static void hard_state_loads_what_was_last_saved(void **state)
{
    refraft_log_api *api = api_of(state);
    assert_int_equal(api->save_hard_state(api->ctx, 5, "node-a"), 0);
    assert_hard_state(api, 5, "node-a");
    assert_int_equal(api->save_hard_state(api->ctx, 6, "b"), 0);
    assert_hard_state(api, 6, "b");
}

/* "voted_for is a node id or NULL for no vote ... it gets the empty string
 * for no vote." */
static void hard_state_null_vote_loads_as_empty_string(void **state)
{
    refraft_log_api *api = api_of(state);
    assert_int_equal(api->save_hard_state(api->ctx, 3, "node-a"), 0);
    assert_int_equal(api->save_hard_state(api->ctx, 4, NULL), 0);
    assert_hard_state(api, 4, "");
}

static void hard_state_vote_of_id_max_bytes_round_trips(void **state)
{
    refraft_log_api *api = api_of(state);
    char id[REFRAFT_ID_MAX + 1];
    memset(id, 'n', REFRAFT_ID_MAX);
    id[REFRAFT_ID_MAX] = '\0';
    assert_int_equal(api->save_hard_state(api->ctx, UINT64_MAX, id), 0);
    assert_hard_state(api, UINT64_MAX, id);
}

/* Terms and votes are stored apart from entries: neither kind of write
 * disturbs the other. */
static void hard_state_and_entries_are_independent(void **state)
{
    refraft_log_api *api = api_of(state);
    assert_int_equal(api->save_hard_state(api->ctx, 2, "node-a"), 0);
    log_batch b = append_batch(api, 4, 3, 1);
    assert_int_equal(api->truncate(api->ctx, 3), 0);
    assert_hard_state(api, 2, "node-a");
    assert_int_equal(api->save_hard_state(api->ctx, 3, NULL), 0);
    assert_int_equal(last_index(api), 2);
    log_assert_entries(api, 1, b.e, 2);
    log_batch_free(&b);
}

/* ------------------------------------------------------------------------
 * Restart
 * ------------------------------------------------------------------------ */

/* "when append, truncate or save_hard_state returns 0, what they wrote
 * must survive a crash of the process" */
static void entries_and_hard_state_survive_reopen(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = log_batch_make(50, 77, 2);
    b.e[0] = noop(2);
    append_ok(api, b.e, b.n);
    assert_int_equal(api->save_hard_state(api->ctx, 3, "node-c"), 0);
    reopen(state);
    api = api_of(state);
    assert_int_equal(api->first_index(api->ctx), 1);
    assert_int_equal(last_index(api), 50);
    log_assert_entries(api, 1, b.e, b.n);
    assert_hard_state(api, 3, "node-c");
    log_batch_free(&b);
}

static void truncated_entries_stay_gone_after_reopen(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = append_batch(api, 20, 1, 1);
    assert_int_equal(api->truncate(api->ctx, 8), 0);
    reopen(state);
    api = api_of(state);
    assert_int_equal(last_index(api), 7);
    log_assert_entries(api, 1, b.e, 7);
    log_batch_free(&b);
}

static void null_vote_survives_reopen(void **state)
{
    refraft_log_api *api = api_of(state);
    assert_int_equal(api->save_hard_state(api->ctx, 3, "node-a"), 0);
    assert_int_equal(api->save_hard_state(api->ctx, 4, NULL), 0);
    reopen(state);
    assert_hard_state(api_of(state), 4, "");
}

static void reopened_log_accepts_appends_and_truncates(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch a = append_batch(api, 5, 1, 1);
    reopen(state);
    api = api_of(state);
    assert_int_equal(api->truncate(api->ctx, 4), 0);
    log_batch b = append_batch(api, 5, 100, 2);
    reopen(state);
    api = api_of(state);
    assert_int_equal(last_index(api), 8);
    log_assert_entries(api, 1, a.e, 3);
    log_assert_entries(api, 4, b.e, 5);
    log_batch_free(&a);
    log_batch_free(&b);
}

/* ------------------------------------------------------------------------
 * Bad input: "on error the call has no effect"
 * ------------------------------------------------------------------------ */

/* A log with entries of terms 1 and 2 and a vote, to show that a rejected
 * call leaves all of it alone. */
static log_batch fill_for_bad_input(const refraft_log_api *api)
{
    log_batch b = log_batch_make(5, 11, 1);
    b.e[3].term = 2;
    b.e[4].term = 2;
    append_ok(api, b.e, b.n);
    assert_int_equal(api->save_hard_state(api->ctx, 2, "node-a"), 0);
    return b;
}

/* Append the entries, expecting EINVAL and no change to the log.  A log
 * that stages must refuse them there too ("stage: like append (same
 * checks, same errors)"), staging nothing: the sync after it changes
 * nothing either. */
static void assert_append_rejected(const refraft_log_api *api,
                                   const refraft_entry *e, size_t n)
{
    log_snapshot *snap = log_snapshot_take(api);
    assert_int_equal(api->append(api->ctx, e, n), REFRAFT_EINVAL);
    log_assert_snapshot(api, snap);
    if (api->stage != NULL) {
        assert_int_equal(api->stage(api->ctx, e, n), REFRAFT_EINVAL);
        log_assert_snapshot(api, snap);
        assert_int_equal(api->sync(api->ctx), 0);
        log_assert_snapshot(api, snap);
    }
    log_snapshot_free(snap);
}

static void append_null_entries_is_einval(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = fill_for_bad_input(api);
    assert_append_rejected(api, NULL, 1);
    log_batch_free(&b);
}

/* "REFRAFT_EINVAL for a type other than NOOP, REF, VOID and (version 4)
 * CONFIG": ABANDONED (4) is never stored, only handed to hull.apply().
 * These entries carry no members, so a CONFIG among them is refused by
 * every version: as an unknown type before 4, for its members from 4 on. */
static void append_of_unknown_entry_type_is_einval(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = fill_for_bad_input(api);
    static const uint8_t bad_types[] = {0, REFRAFT_ENTRY_ABANDONED,
                                        REFRAFT_ENTRY_CONFIG,
                                        REFRAFT_ENTRY_CONFIG + 1, 255};
    for (size_t i = 0; i < sizeof(bad_types); i++) {
        log_batch e = log_batch_make(1, 50, 2);
        e.e[0].type = bad_types[i];
        assert_append_rejected(api, e.e, 1);
        log_batch_free(&e);
    }
    log_batch_free(&b);
}

/* A reference names its record by an id of 1..REFRAFT_RECORD_ID_MAX
 * bytes. */
static void append_of_ref_with_bad_id_is_einval(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = fill_for_bad_input(api);
    uint8_t id[REFRAFT_RECORD_ID_MAX + 1];
    memset(id, 'i', sizeof(id));
    log_batch e = log_batch_make(1, 50, 2);
    e.e[0].ref.id = NULL;
    assert_append_rejected(api, e.e, 1);
    e.e[0].ref.id = id;
    e.e[0].ref.id_len = 0;
    assert_append_rejected(api, e.e, 1);
    e.e[0].ref.id_len = REFRAFT_RECORD_ID_MAX + 1;
    assert_append_rejected(api, e.e, 1);
    log_batch_free(&e);
    log_batch_free(&b);
}

/* "or a VOID whose voided index is 0" */
static void append_of_void_with_voided_0_is_einval(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = fill_for_bad_input(api);
    refraft_entry v = void_of(2, 0);
    assert_append_rejected(api, &v, 1);
    log_batch_free(&b);
}

/* "or not below its own index": a VOID abandons an earlier entry, never
 * itself or one after it, whether alone or inside a batch. */
static void append_of_void_not_below_its_own_index_is_einval(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = fill_for_bad_input(api);
    /* The log holds 1..5: a VOID appended alone goes at 6. */
    static const refraft_index bad[] = {6, 7, UINT64_MAX};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        refraft_entry v = void_of(2, bad[i]);
        assert_append_rejected(api, &v, 1);
    }
    /* Third of a batch, at 8: 8 is itself, 9 lies past it. */
    log_batch e = log_batch_make(3, 50, 2);
    e.e[2] = void_of(2, 8);
    assert_append_rejected(api, e.e, 3);
    e.e[2] = void_of(2, 9);
    assert_append_rejected(api, e.e, 3);
    /* Below its own index it is fine. */
    e.e[2] = void_of(2, 7);
    append_ok(api, e.e, 3);
    log_assert_entries(api, 6, e.e, 3);
    log_batch_free(&e);
    log_batch_free(&b);
}

/* A VOID takes part in the term rules like any entry (Raft §5.3). */
static void append_of_void_with_term_0_or_going_down_is_einval(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = fill_for_bad_input(api);
    refraft_entry v = void_of(0, 1);
    assert_append_rejected(api, &v, 1);
    v = void_of(1, 1);
    assert_append_rejected(api, &v, 1);
    log_batch_free(&b);
}

/* Term 0 belongs to index 0 alone: no entry can carry it. */
static void append_of_entry_with_term_0_is_einval(void **state)
{
    refraft_log_api *api = api_of(state);
    refraft_entry e = noop(0);
    assert_append_rejected(api, &e, 1);
    log_batch b = log_batch_make(1, 1, 0);
    assert_append_rejected(api, b.e, 1);
    log_batch_free(&b);
}

/* Terms in a log never decrease (Raft §5.3, Log Matching). */
static void append_of_decreasing_terms_in_a_batch_is_einval(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = fill_for_bad_input(api);
    log_batch e = log_batch_make(3, 50, 3);
    e.e[2].term = 2;
    assert_append_rejected(api, e.e, 3);
    log_batch_free(&e);
    log_batch_free(&b);
}

static void append_of_term_below_the_last_entry_term_is_einval(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = fill_for_bad_input(api);
    log_batch e = log_batch_make(2, 50, 1);
    assert_append_rejected(api, e.e, 2);
    refraft_entry n = noop(1);
    assert_append_rejected(api, &n, 1);
    log_batch_free(&e);
    log_batch_free(&b);
}

/* "Append n entries ..., all or none": one bad entry at the very end of a
 * large batch keeps every good one before it out of the log. */
static void append_with_one_bad_entry_appends_none(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = fill_for_bad_input(api);
    log_batch e = log_batch_make(1000, 50, 2);
    e.e[999].ref.id_len = 0;
    assert_append_rejected(api, e.e, e.n);
    /* The same with a bad VOID last, after good ones. */
    e.e[999] = void_of(2, 1005);
    e.e[500] = void_of(2, 3);
    assert_append_rejected(api, e.e, e.n);
    log_batch_free(&e);
    log_batch_free(&b);
}

/* "first_index <= from <= last_index + 1" */
static void truncate_outside_first_to_last_plus_1_is_einval(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = fill_for_bad_input(api);
    log_snapshot *snap = log_snapshot_take(api);
    refraft_index first = api->first_index(api->ctx);
    static const refraft_index bad[] = {0, 7, 8, UINT64_MAX};
    assert_int_equal(api->truncate(api->ctx, first - 1), REFRAFT_EINVAL);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(api->truncate(api->ctx, bad[i]), REFRAFT_EINVAL);
    log_assert_snapshot(api, snap);
    log_snapshot_free(snap);
    log_batch_free(&b);
}

/* Node ids are 1..REFRAFT_ID_MAX bytes; load_hard_state's buffer holds no
 * more. */
static void save_hard_state_vote_longer_than_id_max_is_einval(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = fill_for_bad_input(api);
    log_snapshot *snap = log_snapshot_take(api);
    char id[REFRAFT_ID_MAX + 2];
    memset(id, 'n', REFRAFT_ID_MAX + 1);
    id[REFRAFT_ID_MAX + 1] = '\0';
    assert_int_equal(api->save_hard_state(api->ctx, 9, id), REFRAFT_EINVAL);
    log_assert_snapshot(api, snap);
    log_snapshot_free(snap);
    log_batch_free(&b);
}

/* Reads with nowhere to put the result are rejected, not crashed on. */
static void reads_without_output_pointer_are_einval(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = fill_for_bad_input(api);
    refraft_entry out[1];
    size_t n = 0;
    char vote[REFRAFT_ID_MAX + 1];
    refraft_term term = 0;
    assert_int_equal(api->get(api->ctx, 1, 1, out, NULL), REFRAFT_EINVAL);
    assert_int_equal(api->get(api->ctx, 1, 1, NULL, &n), REFRAFT_EINVAL);
    assert_int_equal(api->term_at(api->ctx, 1, NULL), REFRAFT_EINVAL);
    assert_int_equal(api->load_hard_state(api->ctx, NULL, vote),
                     REFRAFT_EINVAL);
    assert_int_equal(api->load_hard_state(api->ctx, &term, NULL),
                     REFRAFT_EINVAL);
    log_batch_free(&b);
}

/* ------------------------------------------------------------------------
 * Scale
 * ------------------------------------------------------------------------ */

#define LARGE_BATCH 100000

/* A leader's group commit or a catching-up follower writes big batches. */
static void large_batch_in_one_append_reads_back(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = append_batch(api, LARGE_BATCH, 1, 1);
    assert_int_equal(last_index(api), LARGE_BATCH);
    log_assert_entries(api, 1, b.e, b.n);
    assert_int_equal(api->truncate(api->ctx, LARGE_BATCH / 2), 0);
    assert_int_equal(last_index(api), LARGE_BATCH / 2 - 1);
    assert_int_equal(term_at(api, LARGE_BATCH / 2 - 1), 1);
    log_batch c = append_batch(api, 10, 900000, 2);
    log_assert_entries(api, LARGE_BATCH / 2 - 10, b.e + LARGE_BATCH / 2 - 11,
                       10);
    log_assert_entries(api, LARGE_BATCH / 2, c.e, 10);
    log_batch_free(&b);
    log_batch_free(&c);
}

/* ------------------------------------------------------------------------
 * Stage and sync: optional ("both or neither"), so these run only for a
 * backend whose log API has them.
 * ------------------------------------------------------------------------ */

static void
stage_ok(const refraft_log_api *api, const refraft_entry *e, size_t n)
{
    assert_int_equal(api->stage(api->ctx, e, n), 0);
}

static void sync_ok(const refraft_log_api *api)
{
    assert_int_equal(api->sync(api->ctx), 0);
}

/* "They are part of the log at once: first_index, last_index, term_at and
 * get see them." */
static void staged_entries_are_readable_at_once(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch a = append_batch(api, 3, 1, 1);
    log_batch b = log_batch_make(4, 50, 2);
    b.e[0] = noop(2);
    b.e[3] = void_of(2, 2);
    stage_ok(api, b.e, b.n);
    assert_int_equal(api->first_index(api->ctx), 1);
    assert_int_equal(last_index(api), 7);
    log_assert_entries(api, 1, a.e, a.n);
    log_assert_entries(api, 4, b.e, b.n);
    sync_ok(api);
    assert_int_equal(last_index(api), 7);
    log_assert_entries(api, 4, b.e, b.n);
    log_batch_free(&a);
    log_batch_free(&b);
}

/* sync: "On success the log is as if append had been called": the
 * entries survive a restart, and appends and truncations go on from
 * them. */
static void synced_entries_are_as_if_appended(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch a = append_batch(api, 2, 1, 1);
    log_batch b = log_batch_make(5, 100, 2);
    stage_ok(api, b.e, b.n);
    sync_ok(api);
    reopen(state);
    api = api_of(state);
    assert_int_equal(last_index(api), 7);
    log_assert_entries(api, 1, a.e, a.n);
    log_assert_entries(api, 3, b.e, b.n);
    /* The term rule counts them: the last entry is of term 2. */
    log_batch low = log_batch_make(1, 300, 1);
    assert_int_equal(api->append(api->ctx, low.e, 1), REFRAFT_EINVAL);
    assert_int_equal(api->truncate(api->ctx, 6), 0);
    log_batch c = append_batch(api, 2, 200, 3);
    reopen(state);
    api = api_of(state);
    assert_int_equal(last_index(api), 7);
    log_assert_entries(api, 3, b.e, 3);
    log_assert_entries(api, 6, c.e, c.n);
    log_batch_free(&a);
    log_batch_free(&b);
    log_batch_free(&low);
    log_batch_free(&c);
}

/* With nothing staged, sync has nothing to make durable; a stage of no
 * entries stages nothing. */
static void sync_with_nothing_staged_changes_nothing(void **state)
{
    refraft_log_api *api = api_of(state);
    sync_ok(api);
    log_batch a = append_batch(api, 2, 1, 1);
    assert_int_equal(api->save_hard_state(api->ctx, 3, "node-a"), 0);
    log_snapshot *snap = log_snapshot_take(api);
    sync_ok(api);
    log_assert_snapshot(api, snap);
    stage_ok(api, NULL, 0);
    stage_ok(api, a.e, 0);
    sync_ok(api);
    log_assert_snapshot(api, snap);
    reopen(state);
    log_assert_snapshot(api_of(state), snap);
    log_snapshot_free(snap);
    log_batch_free(&a);
}

/* ------------------------------------------------------------------------
 * CONFIG entries: version 4 logs store them, so these run only for a log
 * whose API version is 4 or later.
 * ------------------------------------------------------------------------ */

/* The members of one CONFIG entry and the strings they point to, with
 * room for one member too many and strings one byte too long, to make bad
 * ones. */
typedef struct members_buf {
    refraft_member m[REFRAFT_MAX_PEERS + 1];
    char ids[REFRAFT_MAX_PEERS + 1][REFRAFT_ID_MAX + 2];
    char addresses[REFRAFT_MAX_PEERS + 1][REFRAFT_ADDRESS_MAX + 2];
    size_t n;
} members_buf;

/* len printable bytes from a stream seeded by seed, NUL-terminated. */
static void fill_text(char *out, size_t len, uint64_t seed)
{
    fill_bytes((uint8_t *)out, len, seed);
    for (size_t i = 0; i < len; i++)
        out[i] = (char)('a' + (uint8_t)out[i] % 26);
    out[len] = '\0';
}

/* n members generated from key: distinct ids (member i's starts with
 * 'A' + i) of 1..REFRAFT_ID_MAX bytes, addresses of 0..REFRAFT_ADDRESS_MAX
 * bytes, the first a voter and the others voters or learners. */
static void members_make(members_buf *mb, size_t n, uint64_t key)
{
    memset(mb, 0, sizeof(*mb));
    mb->n = n;
    for (size_t i = 0; i < n; i++) {
        uint64_t h = mix(key * 31 + i);
        size_t id_len = 1 + h % REFRAFT_ID_MAX;
        size_t address_len = (h >> 16) % (REFRAFT_ADDRESS_MAX + 1);
        fill_text(mb->ids[i], id_len, h);
        mb->ids[i][0] = (char)('A' + i);
        fill_text(mb->addresses[i], address_len, ~h);
        mb->m[i] = (refraft_member){mb->ids[i], mb->addresses[i],
                                    i == 0 || ((h >> 40) & 1) != 0};
    }
}

static refraft_entry config_of(refraft_term term, const members_buf *mb)
{
    refraft_entry e;
    memset(&e, 0, sizeof(e));
    e.term = term;
    e.type = REFRAFT_ENTRY_CONFIG;
    e.members = mb->m;
    e.n_members = mb->n;
    return e;
}

/* REFRAFT_ENTRY_CONFIG: "The cluster's whole new configuration (.members)":
 * ids, addresses and voter flags read back as appended, in order. */
static void config_entry_reads_back_with_its_members(void **state)
{
    refraft_log_api *api = api_of(state);
    const refraft_member members[] = {
        {"n3", "http://10.0.0.3:7001", true},
        {"n1", "", true},
        {"learner-2", "http://[::1]:7002", false},
    };
    refraft_entry e[2] = {noop(1), noop(2)};
    e[1].type = REFRAFT_ENTRY_CONFIG;
    e[1].members = members;
    e[1].n_members = 3;
    append_ok(api, e, 2);
    assert_int_equal(last_index(api), 2);
    log_assert_entries(api, 1, e, 2);
    refraft_entry got;
    size_t n = 0;
    assert_int_equal(api->get(api->ctx, 2, 1, &got, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(got.type, REFRAFT_ENTRY_CONFIG);
    assert_int_equal(got.n_members, 3);
    assert_string_equal(got.members[0].id, "n3");
    assert_string_equal(got.members[2].address, "http://[::1]:7002");
    assert_false(got.members[2].voter);
    assert_true(ref_is_zero(&got.ref));
    assert_int_equal(got.voided, 0);
}

/* "1..REFRAFT_MAX_PEERS members": every size, in one batch with REF,
 * NOOP and VOID entries around them. */
static void config_entries_of_1_to_max_peers_members_round_trip(void **state)
{
    refraft_log_api *api = api_of(state);
    static members_buf mb[REFRAFT_MAX_PEERS];
    log_batch b = log_batch_make(2 * REFRAFT_MAX_PEERS + 2, 500, 1);
    for (size_t k = 0; k < REFRAFT_MAX_PEERS; k++) {
        members_make(&mb[k], k + 1, 700 + k);
        b.e[2 * k + 1] = config_of(1 + k / 4, &mb[k]);
        b.e[2 * k + 2].term = 1 + k / 4;
    }
    b.e[b.n - 1] = void_of(4, 3);
    b.e[0] = noop(1);
    append_ok(api, b.e, b.n);
    log_assert_entries(api, 1, b.e, b.n);
    log_batch_free(&b);
}

/* A member id of REFRAFT_ID_MAX bytes and an address of
 * REFRAFT_ADDRESS_MAX are allowed, as are a 1-byte id and an empty or
 * NULL address (read back as ""). */
static void config_member_strings_at_their_limits_round_trip(void **state)
{
    refraft_log_api *api = api_of(state);
    members_buf mb;
    members_make(&mb, 4, 1);
    fill_text(mb.ids[0], REFRAFT_ID_MAX, 11);
    fill_text(mb.addresses[0], REFRAFT_ADDRESS_MAX, 12);
    fill_text(mb.ids[1], 1, 13);
    mb.ids[1][0] = '1';
    mb.addresses[1][0] = '\0';
    mb.m[2].address = NULL;
    refraft_entry e = config_of(1, &mb);
    append_ok(api, &e, 1);
    log_assert_entries(api, 1, &e, 1);
    refraft_entry got;
    size_t n = 0;
    assert_int_equal(api->get(api->ctx, 1, 1, &got, &n), 0);
    assert_int_equal(strlen(got.members[0].id), REFRAFT_ID_MAX);
    assert_int_equal(strlen(got.members[0].address), REFRAFT_ADDRESS_MAX);
    assert_string_equal(got.members[1].id, "1");
    assert_true(got.members[2].address == NULL ||
                got.members[2].address[0] == '\0');
}

/* "The log copies the entries, their ids and members; the caller keeps
 * ownership of its arrays." */
static void append_copies_config_members(void **state)
{
    refraft_log_api *api = api_of(state);
    members_buf mb, want;
    members_make(&mb, 7, 42);
    members_make(&want, 7, 42);
    refraft_entry e = config_of(1, &mb);
    append_ok(api, &e, 1);
    members_make(&mb, 7, 43);
    memset(mb.ids, 'x', sizeof(mb.ids));
    memset(mb.addresses, 'y', sizeof(mb.addresses));
    memset(mb.m, 0, sizeof(mb.m));
    refraft_entry w = config_of(1, &want);
    log_assert_entries(api, 1, &w, 1);
}

/* "The fields a type does not use are ignored and read back zeroed":
 * members given with a NOOP, REF or VOID, even ones a CONFIG could not
 * have, are neither checked nor kept. */
static void other_entries_ignore_members_and_read_back_without(void **state)
{
    refraft_log_api *api = api_of(state);
    const refraft_member dup[] = {{"a", "", true}, {"a", "", true}};
    log_batch b = log_batch_make(3, 900, 1);
    b.e[0] = noop(1);
    b.e[2] = void_of(1, 2);
    for (size_t i = 0; i < 3; i++) {
        b.e[i].members = dup;
        b.e[i].n_members = 2 + i * REFRAFT_MAX_PEERS;
    }
    append_ok(api, b.e, b.n);
    refraft_entry got[3];
    memset(got, 0xee, sizeof(got));
    size_t n = 0;
    assert_int_equal(api->get(api->ctx, 1, 3, got, &n), 0);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_null(got[i].members);
        assert_int_equal(got[i].n_members, 0);
    }
    log_batch_free(&b);
}

/* A CONFIG carries no ref and no voided index: they are ignored and read
 * back zeroed. */
static void config_entry_ignores_its_ref_and_voided_index(void **state)
{
    refraft_log_api *api = api_of(state);
    members_buf mb;
    members_make(&mb, 2, 5);
    uint8_t junk[300];
    memset(junk, 'j', sizeof(junk));
    refraft_entry e = config_of(1, &mb);
    e.ref.id = junk;
    e.ref.id_len = sizeof(junk);
    e.ref.size = 777;
    memset(e.ref.digest, 0xdd, REFRAFT_DIGEST_LEN);
    e.voided = 99;
    append_ok(api, &e, 1);
    refraft_entry got;
    memset(&got, 0xee, sizeof(got));
    size_t n = 0;
    assert_int_equal(api->get(api->ctx, 1, 1, &got, &n), 0);
    assert_int_equal(n, 1);
    assert_true(ref_is_zero(&got.ref));
    assert_int_equal(got.voided, 0);
    log_assert_entries(api, 1, &e, 1);
}

/* A configuration rolls back when truncated (Raft thesis §4.1): the log
 * must drop a removed CONFIG entry for good, keep the ones before the
 * cut, and take a new one at the same index; all of it survives a
 * restart. */
static void config_entries_survive_truncate_and_reopen(void **state)
{
    refraft_log_api *api = api_of(state);
    members_buf a, b, c, d;
    members_make(&a, 3, 1);
    members_make(&b, 4, 2);
    members_make(&c, 2, 3);
    members_make(&d, 5, 4);
    log_batch refs = log_batch_make(2, 10, 2);
    refraft_entry e[5] = {noop(1), config_of(1, &a), refs.e[0],
                          config_of(2, &b), refs.e[1]};
    append_ok(api, e, 5);
    reopen(state);
    api = api_of(state);
    log_assert_entries(api, 1, e, 5);
    /* The cut takes the CONFIG at 4 and what follows it. */
    assert_int_equal(api->truncate(api->ctx, 4), 0);
    refraft_entry next = config_of(3, &c);
    append_ok(api, &next, 1);
    log_assert_entries(api, 1, e, 3);
    log_assert_entries(api, 4, &next, 1);
    reopen(state);
    api = api_of(state);
    assert_int_equal(last_index(api), 4);
    log_assert_entries(api, 1, e, 3);
    log_assert_entries(api, 4, &next, 1);
    /* A cut right at a CONFIG, then another in its place. */
    assert_int_equal(api->truncate(api->ctx, 2), 0);
    refraft_entry other = config_of(4, &d);
    append_ok(api, &other, 1);
    reopen(state);
    api = api_of(state);
    assert_int_equal(last_index(api), 2);
    log_assert_entries(api, 1, e, 1);
    log_assert_entries(api, 2, &other, 1);
    log_batch_free(&refs);
}

/* Many CONFIG entries among many others, cut and refilled at several
 * places: each keeps its own members. */
static void many_config_entries_survive_truncate_and_reappend(void **state)
{
    refraft_log_api *api = api_of(state);
    enum { N = 5000, EVERY = 97 };
    static members_buf mb[N / EVERY + 1], later[N / EVERY + 1];
    log_batch b = log_batch_make(N, 3000, 1);
    log_batch c = log_batch_make(N, 9000, 2);
    for (size_t i = 0, k = 0; i < N; i += EVERY, k++) {
        members_make(&mb[k], 1 + k % REFRAFT_MAX_PEERS, k);
        members_make(&later[k], 1 + (k + 5) % REFRAFT_MAX_PEERS, 1000 + k);
        b.e[i] = config_of(1, &mb[k]);
        c.e[i] = config_of(2, &later[k]);
    }
    append_ok(api, b.e, b.n);
    log_assert_entries(api, 1, b.e, b.n);
    static const size_t cuts[] = {4097, 2049, 98, 1};
    for (size_t j = 0; j < sizeof(cuts) / sizeof(cuts[0]); j++) {
        size_t from = cuts[j];
        assert_int_equal(api->truncate(api->ctx, from), 0);
        append_ok(api, c.e, N - (from - 1));
        assert_int_equal(last_index(api), N);
        log_assert_entries(api, 1, b.e, from - 1);
        log_assert_entries(api, from, c.e, N - (from - 1));
        assert_int_equal(api->truncate(api->ctx, from), 0);
        append_ok(api, b.e + from - 1, N - (from - 1));
    }
    log_assert_entries(api, 1, b.e, b.n);
    log_batch_free(&b);
    log_batch_free(&c);
}

/* Append a CONFIG entry with mb's members (of term 2, after the log of
 * fill_for_bad_input), alone and last of a batch after good entries, a
 * good CONFIG among them, expecting EINVAL and nothing appended. */
static void
assert_config_rejected(const refraft_log_api *api, const members_buf *mb)
{
    refraft_entry bad = config_of(2, mb);
    assert_append_rejected(api, &bad, 1);
    members_buf good;
    members_make(&good, 3, 77);
    log_batch e = log_batch_make(4, 50, 2);
    e.e[1] = config_of(2, &good);
    e.e[3] = bad;
    assert_append_rejected(api, e.e, e.n);
    log_batch_free(&e);
}

/* "or a CONFIG entry whose members break refraft_entry's rules": 1..
 * REFRAFT_MAX_PEERS members with distinct ids of 1..REFRAFT_ID_MAX bytes,
 * at least one a voter, addresses of at most REFRAFT_ADDRESS_MAX bytes
 * (refraft_check_members). */
static void append_of_config_with_bad_members_is_einval(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = fill_for_bad_input(api);
    members_buf mb;

    members_make(&mb, 3, 1); /* no members */
    mb.n = 0;
    assert_config_rejected(api, &mb);
    members_make(&mb, REFRAFT_MAX_PEERS + 1, 2); /* one too many */
    assert_int_equal(mb.n, REFRAFT_MAX_PEERS + 1);
    assert_config_rejected(api, &mb);
    members_make(&mb, 4, 3); /* the same id twice */
    snprintf(mb.ids[3], sizeof(mb.ids[3]), "%s", mb.ids[1]);
    assert_config_rejected(api, &mb);
    members_make(&mb, 3, 4); /* an empty id */
    mb.ids[2][0] = '\0';
    assert_config_rejected(api, &mb);
    members_make(&mb, 3, 5); /* a NULL id */
    mb.m[1].id = NULL;
    assert_config_rejected(api, &mb);
    members_make(&mb, 3, 6); /* an id one byte too long */
    fill_text(mb.ids[1], REFRAFT_ID_MAX + 1, 6);
    assert_config_rejected(api, &mb);
    members_make(&mb, 3, 7); /* no voter */
    for (size_t i = 0; i < mb.n; i++)
        mb.m[i].voter = false;
    assert_config_rejected(api, &mb);
    members_make(&mb, 3, 8); /* an address one byte too long */
    fill_text(mb.addresses[2], REFRAFT_ADDRESS_MAX + 1, 8);
    assert_config_rejected(api, &mb);

    /* members NULL, with or without a count. */
    refraft_entry e = config_of(2, &mb);
    e.members = NULL;
    assert_append_rejected(api, &e, 1);
    e.n_members = 0;
    assert_append_rejected(api, &e, 1);
    log_batch_free(&b);
}

/* A CONFIG takes part in the term rules like any entry (Raft §5.3). */
static void append_of_config_with_term_0_or_going_down_is_einval(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch b = fill_for_bad_input(api);
    members_buf mb;
    members_make(&mb, 3, 1);
    refraft_entry e = config_of(0, &mb);
    assert_append_rejected(api, &e, 1);
    e.term = 1;
    assert_append_rejected(api, &e, 1);
    log_batch_free(&b);
}

/* "stage: like append": a leader stages its own CONFIG entries. */
static void staged_config_entries_read_back_and_sync(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch a = append_batch(api, 2, 1, 1);
    members_buf mb;
    members_make(&mb, 6, 9);
    refraft_entry e[2] = {noop(2), config_of(2, &mb)};
    stage_ok(api, e, 2);
    log_assert_entries(api, 3, e, 2);
    sync_ok(api);
    reopen(state);
    api = api_of(state);
    assert_int_equal(last_index(api), 4);
    log_assert_entries(api, 1, a.e, a.n);
    log_assert_entries(api, 3, e, 2);
    log_batch_free(&a);
}

/* ------------------------------------------------------------------------
 * Compaction: version 5 logs with compact, install and base
 * ------------------------------------------------------------------------ */

/* What the log's size says its entries take. */
static uint64_t size_of(const refraft_log_api *api)
{
    uint64_t bytes = UINT64_MAX;
    assert_int_equal(api->size(api->ctx, &bytes), 0);
    return bytes;
}

/* A meta ending at last (of term) with the configuration mb at
 * config_index (none: mb NULL, index 0). */
static refraft_snapshot_meta meta_of(refraft_index last, refraft_term term,
                                     refraft_index config_index,
                                     const members_buf *mb)
{
    refraft_snapshot_meta m;
    memset(&m, 0, sizeof(m));
    m.last_index = last;
    m.last_term = term;
    m.config_index = config_index;
    if (mb != NULL) {
        m.members = mb->m;
        m.n_members = mb->n;
    }
    return m;
}

/* The base is meta, its members compared by value. */
static void
assert_base_is(const refraft_log_api *api, const refraft_snapshot_meta *meta)
{
    refraft_snapshot_meta base;
    assert_int_equal(api->base(api->ctx, &base), 0);
    assert_int_equal(base.last_index, meta->last_index);
    assert_int_equal(base.last_term, meta->last_term);
    assert_int_equal(base.config_index, meta->config_index);
    assert_int_equal(base.n_members, meta->n_members);
    for (size_t k = 0; k < base.n_members; k++) {
        assert_string_equal(base.members[k].id, meta->members[k].id);
        assert_string_equal(address_of(&base.members[k]),
                            address_of(&meta->members[k]));
        assert_int_equal(base.members[k].voter, meta->members[k].voter);
    }
}

/* Entries below first are gone: get says ENOTFOUND, and term_at too,
 * except for the base itself. */
static void assert_gone_below(const refraft_log_api *api, refraft_index first)
{
    refraft_entry e;
    size_t n = 0;
    refraft_term t = 0;
    assert_int_equal(api->first_index(api->ctx), first);
    assert_int_equal(api->get(api->ctx, first - 1, 1, &e, &n),
                     REFRAFT_ENOTFOUND);
    if (first >= 2)
        assert_int_equal(api->term_at(api->ctx, first - 2, &t),
                         REFRAFT_ENOTFOUND);
}

/* "A log that never compacted has base.last_index 0." */
static void uncompacted_log_has_base_0(void **state)
{
    refraft_log_api *api = api_of(state);
    refraft_snapshot_meta zero = meta_of(0, 0, 0, NULL);
    assert_base_is(api, &zero);
    log_batch b = append_batch(api, 3, 1, 1);
    assert_base_is(api, &zero);
    log_batch_free(&b);
}

/* compact: "drop the entries up to meta->last_index ... and make meta
 * the base": first_index is base.last_index + 1, "and term_at answers
 * for base.last_index with base.last_term". */
static void compact_drops_entries_and_keeps_the_meta(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch a = append_batch(api, 6, 10, 1);
    log_batch b = append_batch(api, 4, 20, 2);
    members_buf mb;
    members_make(&mb, 3, 7);
    refraft_snapshot_meta meta = meta_of(7, 2, 5, &mb);
    assert_int_equal(api->compact(api->ctx, &meta), 0);
    assert_gone_below(api, 8);
    assert_int_equal(last_index(api), 10);
    assert_int_equal(term_at(api, 7), 2);
    log_assert_entries(api, 8, b.e + 1, 3);
    /* The members were copied: the caller's buffer may change. */
    members_buf copy;
    members_make(&copy, 3, 7);
    memset(&mb, 'x', sizeof(mb));
    meta.members = copy.m;
    assert_base_is(api, &meta);
    log_batch_free(&a);
    log_batch_free(&b);
}

/* Durable on return, like append. */
static void compacted_log_survives_reopen(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch a = append_batch(api, 9, 30, 3);
    assert_int_equal(api->save_hard_state(api->ctx, 4, "node-b"), 0);
    members_buf mb;
    members_make(&mb, 5, 8);
    refraft_snapshot_meta meta = meta_of(4, 3, 2, &mb);
    assert_int_equal(api->compact(api->ctx, &meta), 0);
    log_snapshot *snap = log_snapshot_take(api);
    reopen(state);
    api = api_of(state);
    log_assert_snapshot(api, snap);
    log_assert_entries(api, 5, a.e + 4, 5);
    assert_base_is(api, &meta);
    log_snapshot_free(snap);
    log_batch_free(&a);
}

/* A compacted log goes on: appends at last_index + 1 (no term below the
 * last one, the base's when it is empty), truncation down to its first
 * index but not below, a second compaction further on. */
static void compacted_log_appends_truncates_and_compacts_again(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch a = append_batch(api, 5, 40, 2);
    refraft_snapshot_meta meta = meta_of(5, 2, 0, NULL);
    assert_int_equal(api->compact(api->ctx, &meta), 0);
    assert_int_equal(last_index(api), 5);
    assert_int_equal(term_at(api, 5), 2);
    refraft_entry low = noop(1);
    assert_append_rejected(api, &low, 1);
    log_batch b = append_batch(api, 6, 50, 3);
    log_assert_entries(api, 6, b.e, 6);
    assert_int_equal(api->truncate(api->ctx, 5), REFRAFT_EINVAL);
    assert_int_equal(api->truncate(api->ctx, 9), 0);
    assert_int_equal(last_index(api), 8);
    assert_int_equal(api->truncate(api->ctx, 6), 0);
    assert_int_equal(last_index(api), 5);
    assert_int_equal(term_at(api, 5), 2);
    log_batch c = append_batch(api, 4, 60, 4);
    meta = meta_of(8, 4, 0, NULL);
    assert_int_equal(api->compact(api->ctx, &meta), 0);
    assert_gone_below(api, 9);
    log_assert_entries(api, 9, c.e + 3, 1);
    log_batch_free(&a);
    log_batch_free(&b);
    log_batch_free(&c);
}

/* Compaction across many thousands of entries, in steps, with CONFIG
 * entries on both sides of each step, then the whole log. */
static void compaction_of_a_long_log_keeps_the_rest_readable(void **state)
{
    refraft_log_api *api = api_of(state);
    members_buf mb;
    members_make(&mb, 4, 9);
    log_batch a = append_batch(api, 4000, 70, 1);
    refraft_entry cfg = config_of(1, &mb);
    append_ok(api, &cfg, 1); /* at 4001 */
    log_batch b = append_batch(api, 3000, 80, 2);
    refraft_snapshot_meta meta = meta_of(2500, 1, 0, NULL);
    assert_int_equal(api->compact(api->ctx, &meta), 0);
    log_assert_entries(api, 2501, a.e + 2500, 1500);
    log_assert_entries(api, 4002, b.e, 3000);
    meta = meta_of(4100, 2, 4001, &mb);
    assert_int_equal(api->compact(api->ctx, &meta), 0);
    assert_gone_below(api, 4101);
    log_assert_entries(api, 4101, b.e + 99, 2901);
    assert_int_equal(api->truncate(api->ctx, 5000), 0);
    reopen(state);
    api = api_of(state);
    log_assert_entries(api, 4101, b.e + 99, 899);
    meta = meta_of(4999, 2, 4001, &mb);
    assert_int_equal(api->compact(api->ctx, &meta), 0);
    assert_int_equal(api->first_index(api->ctx), 5000);
    assert_int_equal(last_index(api), 4999);
    log_batch c = append_batch(api, 3, 90, 2);
    log_assert_entries(api, 5000, c.e, 3);
    assert_base_is(api, &meta);
    log_batch_free(&a);
    log_batch_free(&b);
    log_batch_free(&c);
}

/* compact refuses, changing nothing: an index outside [first_index,
 * last_index], a term that is not that entry's, or a meta that describes
 * no snapshot. */
static void compact_of_a_bad_meta_is_einval(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch a = append_batch(api, 6, 100, 2);
    refraft_snapshot_meta ok = meta_of(3, 2, 0, NULL);
    assert_int_equal(api->compact(api->ctx, &ok), 0);
    members_buf good, bad;
    members_make(&good, 2, 11);
    members_make(&bad, 2, 11);
    snprintf(bad.ids[1], sizeof(bad.ids[1]), "%s", bad.ids[0]);
    refraft_snapshot_meta metas[] = {
        meta_of(3, 2, 0, NULL),  /* the base already */
        meta_of(2, 2, 0, NULL),  /* below it */
        meta_of(7, 2, 0, NULL),  /* past the last index */
        meta_of(5, 1, 0, NULL),  /* another term */
        meta_of(5, 0, 0, NULL),  /* term 0 */
        meta_of(5, 2, 6, &good), /* configuration past last_index */
        meta_of(5, 2, 4, NULL),  /* a CONFIG index without members */
        meta_of(5, 2, 4, &bad),  /* members listed twice */
    };
    for (size_t k = 0; k < sizeof(metas) / sizeof(metas[0]); k++) {
        log_snapshot *snap = log_snapshot_take(api);
        assert_int_equal(api->compact(api->ctx, &metas[k]), REFRAFT_EINVAL);
        log_assert_snapshot(api, snap);
        log_snapshot_free(snap);
    }
    log_batch_free(&a);
}

/* install: "drop every entry and make meta the base: the log is then
 * empty, first_index meta->last_index + 1 ... The hard state is
 * unchanged." */
static void install_empties_the_log_at_the_meta(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch a = append_batch(api, 8, 110, 2);
    assert_int_equal(api->save_hard_state(api->ctx, 9, "node-c"), 0);
    members_buf mb;
    members_make(&mb, 3, 12);
    refraft_snapshot_meta meta = meta_of(100, 7, 90, &mb);
    assert_int_equal(api->install(api->ctx, &meta), 0);
    assert_int_equal(api->first_index(api->ctx), 101);
    assert_int_equal(last_index(api), 100);
    assert_int_equal(term_at(api, 100), 7);
    assert_gone_below(api, 101);
    refraft_entry e;
    size_t n = SIZE_MAX;
    assert_int_equal(api->get(api->ctx, 101, 1, &e, &n), 0);
    assert_int_equal(n, 0);
    assert_hard_state(api, 9, "node-c");
    assert_base_is(api, &meta);
    refraft_entry low = noop(6);
    assert_append_rejected(api, &low, 1);
    log_batch b = append_batch(api, 3, 120, 7);
    log_assert_entries(api, 101, b.e, 3);
    reopen(state);
    api = api_of(state);
    log_assert_entries(api, 101, b.e, 3);
    assert_base_is(api, &meta);
    log_batch_free(&a);
    log_batch_free(&b);
}

/* An install may land inside the log (its entries all go all the same),
 * not below the base; a bad meta is refused; nothing changes then. */
static void install_below_the_base_or_of_a_bad_meta_is_einval(void **state)
{
    refraft_log_api *api = api_of(state);
    log_batch a = append_batch(api, 10, 130, 3);
    refraft_snapshot_meta meta = meta_of(6, 3, 0, NULL);
    assert_int_equal(api->install(api->ctx, &meta), 0);
    assert_int_equal(api->first_index(api->ctx), 7);
    assert_int_equal(last_index(api), 6);
    members_buf good;
    members_make(&good, 2, 13);
    refraft_snapshot_meta metas[] = {
        meta_of(5, 3, 0, NULL),   /* below the base */
        meta_of(0, 0, 0, NULL),   /* no entry */
        meta_of(9, 0, 0, NULL),   /* term 0 */
        meta_of(9, 3, 10, &good), /* configuration past it */
        meta_of(9, 3, 8, NULL),   /* CONFIG index without members */
    };
    for (size_t k = 0; k < sizeof(metas) / sizeof(metas[0]); k++) {
        log_snapshot *snap = log_snapshot_take(api);
        assert_int_equal(api->install(api->ctx, &metas[k]), REFRAFT_EINVAL);
        log_assert_snapshot(api, snap);
        log_snapshot_free(snap);
    }
    log_batch_free(&a);
}

/* CONFIG entries after the base read back with their members; those the
 * compaction dropped are gone, and a truncation of the rest works. */
static void config_entries_after_the_base_stay(void **state)
{
    refraft_log_api *api = api_of(state);
    members_buf m1, m2;
    members_make(&m1, 2, 14);
    members_make(&m2, 3, 15);
    refraft_entry e[] = {noop(1), config_of(1, &m1), noop(1),
                         noop(2), config_of(2, &m2), noop(2)};
    append_ok(api, e, 6);
    refraft_snapshot_meta meta = meta_of(3, 1, 2, &m1);
    assert_int_equal(api->compact(api->ctx, &meta), 0);
    log_assert_entries(api, 4, e + 3, 3);
    reopen(state);
    api = api_of(state);
    log_assert_entries(api, 4, e + 3, 3);
    assert_int_equal(api->truncate(api->ctx, 5), 0);
    log_assert_entries(api, 4, e + 3, 1);
    append_ok(api, &e[4], 1);
    log_assert_entries(api, 4, e + 3, 2);
    assert_base_is(api, &meta);
}

/* ------------------------------------------------------------------------
 * The group
 * ------------------------------------------------------------------------ */

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

static const struct CMUnitTest suite[] = {
    T(empty_log_has_first_index_1_and_last_index_0),
    T(empty_log_reads_no_entries),
    T(empty_log_hard_state_is_term_0_and_no_vote),
    T(append_single_entry_reads_back),
    T(append_batch_of_mixed_types_and_rising_terms_reads_back),
    T(appends_continue_at_last_index_plus_1),
    T(append_of_zero_entries_changes_nothing),
    T(append_copies_entries_and_ids),
    T(noop_entry_ignores_its_ref_and_reads_back_without_id),
    T(ref_entry_ignores_a_voided_index_and_reads_back_0),
    T(void_entry_reads_back_with_its_voided_index),
    T(void_may_name_an_entry_of_its_own_batch),
    T(void_entry_ignores_its_ref_and_reads_back_zeroed),
    T(void_entries_survive_reopen_and_truncate),
    T(record_ids_are_bytes_of_1_to_255),
    T(get_returns_at_most_max_entries),
    T(get_stops_at_last_index),
    T(get_past_last_index_returns_no_entries),
    T(get_with_max_0_returns_no_entries),
    T(get_before_first_index_is_enotfound),
    T(term_at_index_0_is_term_0),
    T(term_at_returns_the_term_of_each_entry),
    T(term_at_past_last_index_is_enotfound),
    T(truncate_in_the_middle_removes_from_there_on),
    T(truncate_at_first_index_empties_the_log),
    T(truncate_at_last_index_plus_1_changes_nothing),
    T(truncate_then_append_with_other_terms_reads_back),
    T(ids_stay_correct_after_truncate_and_reappend),
    T(ids_read_earlier_stay_correct_after_later_appends),
    T(hard_state_loads_what_was_last_saved),
    T(hard_state_null_vote_loads_as_empty_string),
    T(hard_state_vote_of_id_max_bytes_round_trips),
    T(hard_state_and_entries_are_independent),
    T(entries_and_hard_state_survive_reopen),
    T(truncated_entries_stay_gone_after_reopen),
    T(null_vote_survives_reopen),
    T(reopened_log_accepts_appends_and_truncates),
    T(append_null_entries_is_einval),
    T(append_of_unknown_entry_type_is_einval),
    T(append_of_ref_with_bad_id_is_einval),
    T(append_of_void_with_voided_0_is_einval),
    T(append_of_void_not_below_its_own_index_is_einval),
    T(append_of_void_with_term_0_or_going_down_is_einval),
    T(append_of_entry_with_term_0_is_einval),
    T(append_of_decreasing_terms_in_a_batch_is_einval),
    T(append_of_term_below_the_last_entry_term_is_einval),
    T(append_with_one_bad_entry_appends_none),
    T(truncate_outside_first_to_last_plus_1_is_einval),
    T(save_hard_state_vote_longer_than_id_max_is_einval),
    T(reads_without_output_pointer_are_einval),
    T(large_batch_in_one_append_reads_back),
};

/* Only for a backend whose log API has stage and sync. */
static const struct CMUnitTest stage_suite[] = {
    T(staged_entries_are_readable_at_once),
    T(synced_entries_are_as_if_appended),
    T(sync_with_nothing_staged_changes_nothing),
};

/* Only for a backend whose log API is of version 4 or later. */
static const struct CMUnitTest config_suite[] = {
    T(config_entry_reads_back_with_its_members),
    T(config_entries_of_1_to_max_peers_members_round_trip),
    T(config_member_strings_at_their_limits_round_trip),
    T(append_copies_config_members),
    T(other_entries_ignore_members_and_read_back_without),
    T(config_entry_ignores_its_ref_and_voided_index),
    T(config_entries_survive_truncate_and_reopen),
    T(many_config_entries_survive_truncate_and_reappend),
    T(append_of_config_with_bad_members_is_einval),
    T(append_of_config_with_term_0_or_going_down_is_einval),
};

/* Only for a backend that has both. */
static const struct CMUnitTest config_stage_suite[] = {
    T(staged_config_entries_read_back_and_sync),
};

/* Only for a backend of version 5 with compact, install and base. */
static const struct CMUnitTest compact_suite[] = {
    T(uncompacted_log_has_base_0),
    T(compact_drops_entries_and_keeps_the_meta),
    T(compacted_log_survives_reopen),
    T(compacted_log_appends_truncates_and_compacts_again),
    T(compaction_of_a_long_log_keeps_the_rest_readable),
    T(compact_of_a_bad_meta_is_einval),
    T(install_empties_the_log_at_the_meta),
    T(install_below_the_base_or_of_a_bad_meta_is_einval),
    T(config_entries_after_the_base_stay),
};

/* size: "It grows with append and stage and shrinks with truncate,
 * compact and install."  Enough entries that a log counting pages
 * (refstore) spans many of them. */
static void size_grows_with_appends_and_shrinks_with_removals(void **state)
{
    refraft_log_api *api = api_of(state);
    uint64_t empty = size_of(api);
    log_batch a = append_batch(api, 1000, 140, 1);
    uint64_t one = size_of(api);
    assert_true(one > empty);
    log_batch b = append_batch(api, 1000, 150, 2);
    uint64_t two = size_of(api);
    assert_true(two > one);
    assert_int_equal(api->truncate(api->ctx, 1501), 0);
    uint64_t truncated = size_of(api);
    assert_true(truncated < two && truncated > one);
    refraft_snapshot_meta meta = meta_of(900, 1, 0, NULL);
    assert_int_equal(api->compact(api->ctx, &meta), 0);
    uint64_t compacted = size_of(api);
    assert_true(compacted < truncated);
    /* Durable: the same after a restart. */
    reopen(state);
    api = api_of(state);
    assert_int_equal(size_of(api), compacted);
    meta = meta_of(3000, 3, 0, NULL);
    assert_int_equal(api->install(api->ctx, &meta), 0);
    uint64_t installed = size_of(api);
    assert_true(installed < compacted && installed < one);
    log_batch c = append_batch(api, 10, 160, 3);
    assert_true(size_of(api) > installed);
    assert_int_equal(api->size(api->ctx, NULL), REFRAFT_EINVAL);
    log_batch_free(&a);
    log_batch_free(&b);
    log_batch_free(&c);
}

/* Only for a backend that compacts and has size. */
static const struct CMUnitTest size_suite[] = {
    T(size_grows_with_appends_and_shrinks_with_removals),
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Whether backend's log API has stage (and so sync: both or neither),
 * compaction and size, and its version. */
static void probe_backend(const log_backend *backend, bool *stages,
                          bool *compacts, bool *sizes, int *version)
{
    refraft_log_api api;
    void *handle = NULL;
    memset(&api, 0, sizeof(api));
    *stages = false;
    *compacts = false;
    *sizes = false;
    *version = REFRAFT_LOG_API_VERSION;
    if (backend->open(backend->ctx, &api, &handle) != 0)
        return; /* every test's setup fails and says so */
    *stages = api.stage != NULL;
    *compacts = api.version >= 5 && api.compact != NULL;
    *sizes = *compacts && api.size != NULL;
    *version = api.version;
    backend->close(handle);
}

int log_conformance_run(const log_backend *backend)
{
    /* Each test starts with the backend as its state (see setup); cmocka
     * wants a non-const pointer there, so the tests get a copy. */
    log_backend copy = *backend;
    struct CMUnitTest tests[N_OF(suite) + N_OF(stage_suite) +
                            N_OF(config_suite) + N_OF(config_stage_suite) +
                            N_OF(compact_suite) + N_OF(size_suite)];
    size_t n = 0;
    bool stages, compacts, sizes;
    int version;
    probe_backend(backend, &stages, &compacts, &sizes, &version);
    for (size_t i = 0; i < N_OF(suite); i++)
        tests[n++] = suite[i];
    if (stages)
        for (size_t i = 0; i < N_OF(stage_suite); i++)
            tests[n++] = stage_suite[i];
    if (version >= 4)
        for (size_t i = 0; i < N_OF(config_suite); i++)
            tests[n++] = config_suite[i];
    if (stages && version >= 4)
        for (size_t i = 0; i < N_OF(config_stage_suite); i++)
            tests[n++] = config_stage_suite[i];
    if (compacts)
        for (size_t i = 0; i < N_OF(compact_suite); i++)
            tests[n++] = compact_suite[i];
    if (sizes)
        for (size_t i = 0; i < N_OF(size_suite); i++)
            tests[n++] = size_suite[i];
    for (size_t i = 0; i < n; i++)
        tests[i].initial_state = &copy;
    char name[128];
    snprintf(name, sizeof(name), "log_conformance/%s", backend->name);
    return _cmocka_run_group_tests(name, tests, n, NULL, NULL);
}
