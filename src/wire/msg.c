/* msg.c - core messages (refraft_msg) to protobuf and back: the bodies of
 * POST /raft/v1/msg. */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "wire/internal.h"

/* ---- the checks encode and decode share -------------------------------- */

/* Indexed by refraft_msg_type, which is also the number of the body's
 * field in the protobuf Message. */
static const char *const type_names[] = {NULL, "AppendEntries",
                                         "AppendEntriesResult", "RequestVote",
                                         "RequestVoteResult"};
static const char *const id_names[] = {NULL, "leader_id", "follower_id",
                                       "candidate_id", "voter_id"};

static const char *entry_type_name(uint8_t type)
{
    return type == REFRAFT_ENTRY_NOOP  ? "NOOP"
           : type == REFRAFT_ENTRY_REF ? "REF"
                                       : "VOID";
}

static bool entry_type_known(int64_t type)
{
    return type == REFRAFT_ENTRY_NOOP || type == REFRAFT_ENTRY_REF ||
           type == REFRAFT_ENTRY_VOID;
}

/* The ref of a NOOP or VOID and the voided index of a NOOP or REF are not
 * checked: the encoder leaves them out (as the log API ignores them) and
 * the decoder refuses them on the wire. */
static int check_entry(const refraft_entry *e, size_t i, wire_err *err)
{
    char where[32];
    snprintf(where, sizeof where, "entry %zu", i);
    if (!entry_type_known(e->type))
        return wire_bad(err, "%s: unknown type %u", where, (unsigned)e->type);
    if (e->term == 0 || e->term > REFRAFT_TERM_MAX)
        return wire_bad(err, "%s: term %llu is outside [1, %llu]", where,
                        (unsigned long long)e->term,
                        (unsigned long long)REFRAFT_TERM_MAX);
    if (e->type == REFRAFT_ENTRY_REF)
        return wire_check_ref(&e->ref, where, err);
    if (e->type == REFRAFT_ENTRY_VOID && e->voided == 0)
        return wire_bad(err, "%s: VOID entry has voided index 0", where);
    return 0;
}

static int check_append_entries(const refraft_append_entries *ae, wire_err *err)
{
    int rv =
        wire_check_node_id_str(ae->leader_id, "AppendEntries leader_id", err);
    if (rv == 0)
        rv = wire_check_term(ae->prev_log_term, true,
                             "AppendEntries prev_log_term", err);
    if (rv != 0)
        return rv;
    if (ae->n_entries > REFRAFT_MAX_ENTRIES_PER_MSG)
        return wire_bad(err,
                        "AppendEntries has %zu entries, over the limit "
                        "of %d",
                        ae->n_entries, REFRAFT_MAX_ENTRIES_PER_MSG);
    if (ae->n_entries > 0 && ae->entries == NULL)
        return wire_bad(err, "AppendEntries has %zu entries but no array",
                        ae->n_entries);
    for (size_t i = 0; i < ae->n_entries; i++) {
        rv = check_entry(&ae->entries[i], i, err);
        if (rv != 0)
            return rv;
    }
    return 0;
}

/* Everything the decoder refuses that a refraft_msg can express. */
static int check_msg(const refraft_msg *msg, wire_err *err)
{
    if (msg->type < REFRAFT_MSG_APPEND_ENTRIES ||
        msg->type > REFRAFT_MSG_REQUEST_VOTE_RESULT)
        return wire_bad(err, "unknown message type %u", (unsigned)msg->type);
    char what[48];
    snprintf(what, sizeof what, "%s term", type_names[msg->type]);
    switch (msg->type) {
    case REFRAFT_MSG_APPEND_ENTRIES: {
        const refraft_append_entries *ae = &msg->u.append_entries;
        int rv = wire_check_term(ae->term, false, what, err);
        return rv != 0 ? rv : check_append_entries(ae, err);
    }
    case REFRAFT_MSG_APPEND_ENTRIES_RESULT: {
        const refraft_append_entries_result *r = &msg->u.append_entries_result;
        int rv = wire_check_term(r->term, false, what, err);
        if (rv == 0)
            rv = wire_check_node_id_str(r->follower_id,
                                        "AppendEntriesResult follower_id", err);
        if (rv == 0)
            rv = wire_check_term(r->conflict_term, true,
                                 "AppendEntriesResult conflict_term", err);
        return rv;
    }
    case REFRAFT_MSG_REQUEST_VOTE: {
        const refraft_request_vote *v = &msg->u.request_vote;
        int rv = wire_check_term(v->term, false, what, err);
        if (rv == 0)
            rv = wire_check_node_id_str(v->candidate_id,
                                        "RequestVote candidate_id", err);
        if (rv == 0)
            rv = wire_check_term(v->last_log_term, true,
                                 "RequestVote last_log_term", err);
        return rv;
    }
    default: {
        const refraft_request_vote_result *v = &msg->u.request_vote_result;
        int rv = wire_check_term(v->term, false, what, err);
        if (rv == 0)
            rv = wire_check_node_id_str(v->voter_id,
                                        "RequestVoteResult voter_id", err);
        return rv;
    }
    }
}

/* ---- encode ------------------------------------------------------------ */

static ProtobufCBinaryData id_bytes(const char *id)
{
    ProtobufCBinaryData b = {strlen(id), (uint8_t *)id};
    return b;
}

/* The entries of ae as protobuf, in one allocation: the n pointers
 * protobuf-c wants, n Entry structs and a Ref struct per REF entry.  NULL
 * when out of memory; *scratch gets what to free. */
static Refraft__Entry **
entries_to_pb(const refraft_append_entries *ae, void **scratch)
{
    size_t n = ae->n_entries, n_refs = 0;
    for (size_t i = 0; i < n; i++)
        n_refs += ae->entries[i].type == REFRAFT_ENTRY_REF;
    char *block =
        refraft_malloc(n * (sizeof(Refraft__Entry *) + sizeof(Refraft__Entry)) +
                       n_refs * sizeof(Refraft__Ref));
    if (block == NULL)
        return NULL;
    Refraft__Entry **ptrs = (Refraft__Entry **)(void *)block;
    Refraft__Entry *pe = (Refraft__Entry *)(void *)(ptrs + n);
    Refraft__Ref *pr = (Refraft__Ref *)(void *)(pe + n);
    for (size_t i = 0; i < n; i++) {
        const refraft_entry *e = &ae->entries[i];
        refraft__entry__init(&pe[i]);
        pe[i].has_term = 1;
        pe[i].term = e->term;
        pe[i].has_type = 1;
        pe[i].type = (Refraft__EntryType)e->type;
        if (e->type == REFRAFT_ENTRY_REF) {
            wire_ref_to_pb(&e->ref, pr);
            pe[i].ref = pr++;
        }
        if (e->type == REFRAFT_ENTRY_VOID) {
            pe[i].has_voided = 1;
            pe[i].voided = e->voided;
        }
        ptrs[i] = &pe[i];
    }
    *scratch = block;
    return ptrs;
}

static int
encode_append_entries(const refraft_append_entries *ae, refraft_wire_buf *out)
{
    Refraft__AppendEntries pb = REFRAFT__APPEND_ENTRIES__INIT;
    pb.has_term = pb.has_leader_id = pb.has_prev_log_index = 1;
    pb.has_prev_log_term = pb.has_leader_commit = 1;
    pb.term = ae->term;
    pb.leader_id = id_bytes(ae->leader_id);
    pb.prev_log_index = ae->prev_log_index;
    pb.prev_log_term = ae->prev_log_term;
    pb.leader_commit = ae->leader_commit;
    void *scratch = NULL;
    if (ae->n_entries > 0) {
        pb.entries = entries_to_pb(ae, &scratch);
        if (pb.entries == NULL)
            return REFRAFT_ENOMEM;
        pb.n_entries = ae->n_entries;
    }
    Refraft__Message m = REFRAFT__MESSAGE__INIT;
    m.body_case = REFRAFT__MESSAGE__BODY_APPEND_ENTRIES;
    m.append_entries = &pb;
    int rv = wire_pack(&m.base, out);
    refraft_free(scratch);
    return rv;
}

static int encode_append_entries_result(const refraft_append_entries_result *r,
                                        refraft_wire_buf *out)
{
    Refraft__AppendEntriesResult pb = REFRAFT__APPEND_ENTRIES_RESULT__INIT;
    pb.has_term = pb.has_follower_id = pb.has_success = 1;
    pb.has_match_index = pb.has_rejected_index = pb.has_conflict_term = 1;
    pb.has_conflict_index = pb.has_last_log_index = pb.has_data_index = 1;
    pb.term = r->term;
    pb.follower_id = id_bytes(r->follower_id);
    pb.success = r->success;
    pb.match_index = r->match_index;
    pb.rejected_index = r->rejected_index;
    pb.conflict_term = r->conflict_term;
    pb.conflict_index = r->conflict_index;
    pb.last_log_index = r->last_log_index;
    pb.data_index = r->data_index;
    Refraft__Message m = REFRAFT__MESSAGE__INIT;
    m.body_case = REFRAFT__MESSAGE__BODY_APPEND_ENTRIES_RESULT;
    m.append_entries_result = &pb;
    return wire_pack(&m.base, out);
}

static int
encode_request_vote(const refraft_request_vote *v, refraft_wire_buf *out)
{
    Refraft__RequestVote pb = REFRAFT__REQUEST_VOTE__INIT;
    pb.has_term = pb.has_candidate_id = pb.has_last_log_index = 1;
    pb.has_last_log_term = pb.has_pre_vote = 1;
    pb.term = v->term;
    pb.candidate_id = id_bytes(v->candidate_id);
    pb.last_log_index = v->last_log_index;
    pb.last_log_term = v->last_log_term;
    pb.pre_vote = v->pre_vote;
    Refraft__Message m = REFRAFT__MESSAGE__INIT;
    m.body_case = REFRAFT__MESSAGE__BODY_REQUEST_VOTE;
    m.request_vote = &pb;
    return wire_pack(&m.base, out);
}

static int encode_request_vote_result(const refraft_request_vote_result *v,
                                      refraft_wire_buf *out)
{
    Refraft__RequestVoteResult pb = REFRAFT__REQUEST_VOTE_RESULT__INIT;
    pb.has_term = pb.has_voter_id = pb.has_vote_granted = pb.has_pre_vote = 1;
    pb.term = v->term;
    pb.voter_id = id_bytes(v->voter_id);
    pb.vote_granted = v->vote_granted;
    pb.pre_vote = v->pre_vote;
    Refraft__Message m = REFRAFT__MESSAGE__INIT;
    m.body_case = REFRAFT__MESSAGE__BODY_REQUEST_VOTE_RESULT;
    m.request_vote_result = &pb;
    return wire_pack(&m.base, out);
}

int refraft_wire_encode_msg(const refraft_msg *msg, refraft_wire_buf *out)
{
    if (msg == NULL || out == NULL || check_msg(msg, NULL) != 0)
        return REFRAFT_EINVAL;
    switch (msg->type) {
    case REFRAFT_MSG_APPEND_ENTRIES:
        return encode_append_entries(&msg->u.append_entries, out);
    case REFRAFT_MSG_APPEND_ENTRIES_RESULT:
        return encode_append_entries_result(&msg->u.append_entries_result, out);
    case REFRAFT_MSG_REQUEST_VOTE:
        return encode_request_vote(&msg->u.request_vote, out);
    default:
        return encode_request_vote_result(&msg->u.request_vote_result, out);
    }
}

/* ---- decode ------------------------------------------------------------ */

/* What a decoded message's priv holds: the unpacked protobuf (record ids
 * point into it), the sender's id as a C string, and the entries. */
typedef struct msg_store {
    Refraft__Message *pb;
    char id[REFRAFT_ID_MAX + 1];
    refraft_entry entries[];
} msg_store;

/* What the wire says about entry i that a refraft_entry cannot show:
 * missing fields, an unknown type before it is narrowed, a ref or voided
 * index where the type has none.  Fills *out. */
static int entry_from_pb(const Refraft__Entry *pb, size_t i, refraft_entry *out,
                         wire_err *err)
{
    char where[32];
    snprintf(where, sizeof where, "entry %zu", i);
    if (!pb->has_term || !pb->has_type)
        return wire_bad(err, "%s: missing %s", where,
                        pb->has_term ? "type" : "term");
    if (!entry_type_known(pb->type))
        return wire_bad(err, "%s: unknown type %d", where, (int)pb->type);
    uint8_t type = (uint8_t)pb->type;
    const char *name = entry_type_name(type);
    memset(out, 0, sizeof *out);
    out->term = pb->term;
    out->type = type;
    if (type == REFRAFT_ENTRY_REF && pb->ref == NULL)
        return wire_bad(err, "%s: REF entry has no ref", where);
    if (type != REFRAFT_ENTRY_REF && pb->ref != NULL)
        return wire_bad(err, "%s: %s entry carries a ref", where, name);
    if (type == REFRAFT_ENTRY_VOID && !pb->has_voided)
        return wire_bad(err, "%s: VOID entry has no voided index", where);
    if (type != REFRAFT_ENTRY_VOID && pb->has_voided)
        return wire_bad(err, "%s: %s entry carries a voided index", where,
                        name);
    out->voided = pb->voided;
    if (type == REFRAFT_ENTRY_REF)
        return wire_ref_from_pb(pb->ref, &out->ref, where, err);
    return 0;
}

static int decode_append_entries(const Refraft__AppendEntries *pb, msg_store *s,
                                 refraft_msg *msg, wire_err *err)
{
    refraft_append_entries *ae = &msg->u.append_entries;
    ae->term = pb->term;
    ae->leader_id = s->id;
    ae->prev_log_index = pb->prev_log_index;
    ae->prev_log_term = pb->prev_log_term;
    ae->leader_commit = pb->leader_commit;
    ae->entries = s->entries;
    ae->n_entries = pb->n_entries;
    for (size_t i = 0; i < pb->n_entries; i++) {
        int rv = entry_from_pb(pb->entries[i], i, &s->entries[i], err);
        if (rv != 0)
            return rv;
    }
    return 0;
}

/* The body's one message, its sender's id and its entry count; refuses a
 * body with no message or a message with a field missing. */
static int body_of(const Refraft__Message *pb, const ProtobufCMessage **body,
                   const ProtobufCBinaryData **id, size_t *n_entries,
                   wire_err *err)
{
    *n_entries = 0;
    switch (pb->body_case) {
    case REFRAFT__MESSAGE__BODY_APPEND_ENTRIES:
        *body = &pb->append_entries->base;
        *id = &pb->append_entries->leader_id;
        *n_entries = pb->append_entries->n_entries;
        break;
    case REFRAFT__MESSAGE__BODY_APPEND_ENTRIES_RESULT:
        *body = &pb->append_entries_result->base;
        *id = &pb->append_entries_result->follower_id;
        break;
    case REFRAFT__MESSAGE__BODY_REQUEST_VOTE:
        *body = &pb->request_vote->base;
        *id = &pb->request_vote->candidate_id;
        break;
    case REFRAFT__MESSAGE__BODY_REQUEST_VOTE_RESULT:
        *body = &pb->request_vote_result->base;
        *id = &pb->request_vote_result->voter_id;
        break;
    default:
        return wire_bad(err, "body holds no message");
    }
    const char *name = type_names[pb->body_case];
    int rv = wire_check_present(*body, name, err);
    if (rv != 0)
        return rv;
    char what[48];
    snprintf(what, sizeof what, "%s %s", name, id_names[pb->body_case]);
    rv = wire_check_node_id((*id)->data, (*id)->len, what, err);
    if (rv == 0 && *n_entries > REFRAFT_MAX_ENTRIES_PER_MSG)
        rv =
            wire_bad(err, "AppendEntries has %zu entries, over the limit of %d",
                     *n_entries, REFRAFT_MAX_ENTRIES_PER_MSG);
    return rv;
}

/* Fill msg from the fields of the results and votes (AppendEntries has
 * its own function: it has entries). */
static void
decode_other(const Refraft__Message *pb, const char *id, refraft_msg *msg)
{
    if (pb->body_case == REFRAFT__MESSAGE__BODY_APPEND_ENTRIES_RESULT) {
        const Refraft__AppendEntriesResult *p = pb->append_entries_result;
        refraft_append_entries_result *r = &msg->u.append_entries_result;
        r->term = p->term;
        r->follower_id = id;
        r->success = p->success != 0;
        r->match_index = p->match_index;
        r->rejected_index = p->rejected_index;
        r->conflict_term = p->conflict_term;
        r->conflict_index = p->conflict_index;
        r->last_log_index = p->last_log_index;
        r->data_index = p->data_index;
    } else if (pb->body_case == REFRAFT__MESSAGE__BODY_REQUEST_VOTE) {
        const Refraft__RequestVote *p = pb->request_vote;
        refraft_request_vote *v = &msg->u.request_vote;
        v->term = p->term;
        v->candidate_id = id;
        v->last_log_index = p->last_log_index;
        v->last_log_term = p->last_log_term;
        v->pre_vote = p->pre_vote != 0;
    } else {
        const Refraft__RequestVoteResult *p = pb->request_vote_result;
        refraft_request_vote_result *v = &msg->u.request_vote_result;
        v->term = p->term;
        v->voter_id = id;
        v->vote_granted = p->vote_granted != 0;
        v->pre_vote = p->pre_vote != 0;
    }
}

/* Turn a checked protobuf message into a refraft_msg with storage in one
 * allocation (*store). */
static int convert(Refraft__Message *pb, refraft_msg *msg, msg_store **store,
                   wire_err *err)
{
    const ProtobufCMessage *body = NULL;
    const ProtobufCBinaryData *id = NULL;
    size_t n;
    int rv = body_of(pb, &body, &id, &n, err);
    if (rv != 0)
        return rv;
    msg_store *s = refraft_malloc(sizeof *s + n * sizeof(refraft_entry));
    if (s == NULL)
        return REFRAFT_ENOMEM;
    s->pb = pb;
    wire_copy_node_id(s->id, id);
    memset(msg, 0, sizeof *msg);
    msg->type = (uint8_t)pb->body_case;
    if (pb->body_case == REFRAFT__MESSAGE__BODY_APPEND_ENTRIES)
        rv = decode_append_entries(pb->append_entries, s, msg, err);
    else
        decode_other(pb, s->id, msg);
    if (rv == 0)
        rv = check_msg(msg, err);
    if (rv != 0) {
        refraft_free(s);
        return rv;
    }
    *store = s;
    return 0;
}

int refraft_wire_decode_msg(const uint8_t *data, size_t len,
                            refraft_wire_msg *out, char *errbuf,
                            size_t errbuf_len)
{
    wire_err err = {errbuf, errbuf_len};
    if (out == NULL || (data == NULL && len > 0)) {
        wire_bad(&err, "no body to decode or no place to put it");
        return REFRAFT_EINVAL;
    }
    ProtobufCMessage *pb;
    int rv = wire_unpack(&refraft__message__descriptor, data, len, &pb, &err);
    refraft_msg msg;
    msg_store *s = NULL;
    if (rv == 0) {
        rv = convert((Refraft__Message *)pb, &msg, &s, &err);
        if (rv != 0)
            wire_unpacked_free(pb);
    }
    if (rv == REFRAFT_ENOMEM)
        wire_bad(&err, "out of memory");
    if (rv != 0)
        return rv;
    out->msg = msg;
    out->priv = s;
    return 0;
}

void refraft_wire_msg_free(refraft_wire_msg *m)
{
    if (m == NULL || m->priv == NULL)
        return;
    msg_store *s = m->priv;
    wire_unpacked_free(&s->pb->base);
    refraft_free(s);
    memset(m, 0, sizeof *m);
}
