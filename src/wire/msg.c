/* msg.c - core messages (refraft_msg) to protobuf and back: the bodies of
 * POST /raft/v1/msg. */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "wire/internal.h"

/* ---- the checks encode and decode share -------------------------------- */

/* Indexed by refraft_msg_type, which is also the number of the body's
 * field in the protobuf Message. */
static const char *const type_names[] = {NULL,
                                         "AppendEntries",
                                         "AppendEntriesResult",
                                         "RequestVote",
                                         "RequestVoteResult",
                                         "TimeoutNow",
                                         "InstallSnapshot",
                                         "InstallSnapshotResult"};
static const char *const id_names[] = {
    NULL,       "leader_id", "follower_id", "candidate_id",
    "voter_id", "leader_id", "leader_id",   "follower_id"};

static const char *entry_type_name(uint8_t type)
{
    return type == REFRAFT_ENTRY_NOOP   ? "NOOP"
           : type == REFRAFT_ENTRY_REF  ? "REF"
           : type == REFRAFT_ENTRY_VOID ? "VOID"
                                        : "CONFIG";
}

static bool entry_type_known(int64_t type)
{
    return type == REFRAFT_ENTRY_NOOP || type == REFRAFT_ENTRY_REF ||
           type == REFRAFT_ENTRY_VOID || type == REFRAFT_ENTRY_CONFIG;
}

/* The fields a type does not use (the ref of a NOOP, the members of a
 * REF, ...) are not checked: the encoder leaves them out (as the log API
 * ignores them) and the decoder refuses them on the wire. */
static int check_entry(const refraft_entry *e, size_t i, wire_err *err)
{
    char where[32];
    wire_label(where, sizeof where, "entry", i);
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
    if (e->type == REFRAFT_ENTRY_CONFIG) {
        char why[REFRAFT_ERRMSG_LEN];
        if (refraft_check_members(e->members, e->n_members, why, sizeof why))
            return wire_bad(err, "%s: %s", where, why);
    }
    return 0;
}

static int check_append_entries(const refraft_append_entries *ae, wire_err *err)
{
    int rv = wire_check_term(ae->prev_log_term, true,
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

/* The term and the sender's id, which every message has (id_names says
 * which field holds the id). */
static void head_of(const refraft_msg *msg, refraft_term *term, const char **id)
{
    switch (msg->type) {
    case REFRAFT_MSG_APPEND_ENTRIES:
        *term = msg->u.append_entries.term;
        *id = msg->u.append_entries.leader_id;
        break;
    case REFRAFT_MSG_APPEND_ENTRIES_RESULT:
        *term = msg->u.append_entries_result.term;
        *id = msg->u.append_entries_result.follower_id;
        break;
    case REFRAFT_MSG_REQUEST_VOTE:
        *term = msg->u.request_vote.term;
        *id = msg->u.request_vote.candidate_id;
        break;
    case REFRAFT_MSG_TIMEOUT_NOW:
        *term = msg->u.timeout_now.term;
        *id = msg->u.timeout_now.leader_id;
        break;
    case REFRAFT_MSG_INSTALL_SNAPSHOT:
        *term = msg->u.install_snapshot.term;
        *id = msg->u.install_snapshot.leader_id;
        break;
    case REFRAFT_MSG_INSTALL_SNAPSHOT_RESULT:
        *term = msg->u.install_snapshot_result.term;
        *id = msg->u.install_snapshot_result.follower_id;
        break;
    default:
        *term = msg->u.request_vote_result.term;
        *id = msg->u.request_vote_result.voter_id;
        break;
    }
}

/* Everything the decoder refuses that a refraft_msg can express: first
 * what every message has, then the terms and entries of each type. */
static int check_msg(const refraft_msg *msg, wire_err *err)
{
    if (msg->type < REFRAFT_MSG_APPEND_ENTRIES ||
        msg->type > REFRAFT_MSG_INSTALL_SNAPSHOT_RESULT)
        return wire_bad(err, "unknown message type %u", (unsigned)msg->type);
    const char *name = type_names[msg->type];
    refraft_term term;
    const char *id;
    head_of(msg, &term, &id);
    char what[48];
    snprintf(what, sizeof what, "%s term", name);
    int rv = wire_check_term(term, false, what, err);
    if (rv != 0)
        return rv;
    snprintf(what, sizeof what, "%s %s", name, id_names[msg->type]);
    rv = wire_check_node_id_str(id, what, err);
    if (rv != 0)
        return rv;
    switch (msg->type) {
    case REFRAFT_MSG_APPEND_ENTRIES:
        return check_append_entries(&msg->u.append_entries, err);
    case REFRAFT_MSG_APPEND_ENTRIES_RESULT:
        return wire_check_term(msg->u.append_entries_result.conflict_term, true,
                               "AppendEntriesResult conflict_term", err);
    case REFRAFT_MSG_REQUEST_VOTE:
        return wire_check_term(msg->u.request_vote.last_log_term, true,
                               "RequestVote last_log_term", err);
    case REFRAFT_MSG_INSTALL_SNAPSHOT:
        return wire_check_install_snapshot(&msg->u.install_snapshot, err);
    case REFRAFT_MSG_INSTALL_SNAPSHOT_RESULT:
        return wire_check_install_snapshot_result(
            &msg->u.install_snapshot_result, err);
    default:
        return 0;
    }
}

/* ---- encode ------------------------------------------------------------ */

/* The entries of ae as protobuf, in one allocation: the n pointers
 * protobuf-c wants, n Entry structs, a Ref struct per REF entry, and a
 * Member struct and pointer per member of a CONFIG entry.  NULL when out
 * of memory; *scratch gets what to free. */
static Refraft__Entry **
entries_to_pb(const refraft_append_entries *ae, void **scratch)
{
    size_t n = ae->n_entries, n_refs = 0, n_members = 0;
    for (size_t i = 0; i < n; i++) {
        n_refs += ae->entries[i].type == REFRAFT_ENTRY_REF;
        if (ae->entries[i].type == REFRAFT_ENTRY_CONFIG)
            n_members += ae->entries[i].n_members;
    }
    char *block = refraft_malloc(
        n * (sizeof(Refraft__Entry *) + sizeof(Refraft__Entry)) +
        n_refs * sizeof(Refraft__Ref) +
        n_members * (sizeof(Refraft__Member) + sizeof(Refraft__Member *)));
    if (block == NULL)
        return NULL;
    Refraft__Entry **ptrs = (Refraft__Entry **)(void *)block;
    Refraft__Entry *pe = (Refraft__Entry *)(void *)(ptrs + n);
    Refraft__Ref *pr = (Refraft__Ref *)(void *)(pe + n);
    Refraft__Member *pm = (Refraft__Member *)(void *)(pr + n_refs);
    Refraft__Member **pp = (Refraft__Member **)(void *)(pm + n_members);
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
        if (e->type == REFRAFT_ENTRY_CONFIG) {
            wire_members_to_pb(e->members, e->n_members, pm, pp);
            pe[i].members = pp;
            pe[i].n_members = e->n_members;
            pm += e->n_members;
            pp += e->n_members;
        }
        ptrs[i] = &pe[i];
    }
    *scratch = block;
    return ptrs;
}

/* The bodies of each type.  Each has every field (wire_set_present): the
 * decoder refuses a body with one missing. */
static int append_entries_to_pb(const refraft_append_entries *ae,
                                Refraft__AppendEntries *pb, void **scratch)
{
    refraft__append_entries__init(pb);
    wire_set_present(&pb->base);
    pb->term = ae->term;
    pb->leader_id = wire_id_bytes(ae->leader_id);
    pb->prev_log_index = ae->prev_log_index;
    pb->prev_log_term = ae->prev_log_term;
    pb->leader_commit = ae->leader_commit;
    pb->read_round = ae->read_round;
    pb->epoch = ae->epoch;
    if (ae->n_entries > 0) {
        pb->entries = entries_to_pb(ae, scratch);
        if (pb->entries == NULL)
            return REFRAFT_ENOMEM;
        pb->n_entries = ae->n_entries;
    }
    return 0;
}

static void append_entries_result_to_pb(const refraft_append_entries_result *r,
                                        Refraft__AppendEntriesResult *pb)
{
    refraft__append_entries_result__init(pb);
    wire_set_present(&pb->base);
    pb->term = r->term;
    pb->follower_id = wire_id_bytes(r->follower_id);
    pb->success = r->success;
    pb->match_index = r->match_index;
    pb->rejected_index = r->rejected_index;
    pb->conflict_term = r->conflict_term;
    pb->conflict_index = r->conflict_index;
    pb->last_log_index = r->last_log_index;
    pb->data_index = r->data_index;
    pb->read_round = r->read_round;
    pb->epoch = r->epoch;
    pb->records_behind = r->records_behind;
}

static void
timeout_now_to_pb(const refraft_timeout_now *t, Refraft__TimeoutNow *pb)
{
    refraft__timeout_now__init(pb);
    wire_set_present(&pb->base);
    pb->term = t->term;
    pb->leader_id = wire_id_bytes(t->leader_id);
}

static void
request_vote_to_pb(const refraft_request_vote *v, Refraft__RequestVote *pb)
{
    refraft__request_vote__init(pb);
    wire_set_present(&pb->base);
    pb->term = v->term;
    pb->candidate_id = wire_id_bytes(v->candidate_id);
    pb->last_log_index = v->last_log_index;
    pb->last_log_term = v->last_log_term;
    pb->pre_vote = v->pre_vote;
    pb->transfer = v->transfer;
}

static void request_vote_result_to_pb(const refraft_request_vote_result *v,
                                      Refraft__RequestVoteResult *pb)
{
    refraft__request_vote_result__init(pb);
    wire_set_present(&pb->base);
    pb->term = v->term;
    pb->voter_id = wire_id_bytes(v->voter_id);
    pb->vote_granted = v->vote_granted;
    pb->pre_vote = v->pre_vote;
}

int refraft_wire_encode_msg(const refraft_msg *msg, refraft_wire_buf *out)
{
    if (msg == NULL || out == NULL || check_msg(msg, NULL) != 0)
        return REFRAFT_EINVAL;
    union {
        Refraft__AppendEntries ae;
        Refraft__AppendEntriesResult aer;
        Refraft__RequestVote rv;
        Refraft__RequestVoteResult rvr;
        Refraft__TimeoutNow tn;
        Refraft__InstallSnapshot is;
        Refraft__InstallSnapshotResult isr;
    } body;
    /* The body's field number in Message is the message type. */
    Refraft__Message m = REFRAFT__MESSAGE__INIT;
    m.body_case = (Refraft__Message__BodyCase)msg->type;
    void *scratch = NULL;
    int rv = 0;
    switch (msg->type) {
    case REFRAFT_MSG_APPEND_ENTRIES:
        rv = append_entries_to_pb(&msg->u.append_entries, &body.ae, &scratch);
        m.append_entries = &body.ae;
        break;
    case REFRAFT_MSG_APPEND_ENTRIES_RESULT:
        append_entries_result_to_pb(&msg->u.append_entries_result, &body.aer);
        m.append_entries_result = &body.aer;
        break;
    case REFRAFT_MSG_REQUEST_VOTE:
        request_vote_to_pb(&msg->u.request_vote, &body.rv);
        m.request_vote = &body.rv;
        break;
    case REFRAFT_MSG_TIMEOUT_NOW:
        timeout_now_to_pb(&msg->u.timeout_now, &body.tn);
        m.timeout_now = &body.tn;
        break;
    case REFRAFT_MSG_INSTALL_SNAPSHOT:
        rv = wire_install_snapshot_to_pb(&msg->u.install_snapshot, &body.is,
                                         &scratch);
        m.install_snapshot = &body.is;
        break;
    case REFRAFT_MSG_INSTALL_SNAPSHOT_RESULT:
        wire_install_snapshot_result_to_pb(&msg->u.install_snapshot_result,
                                           &body.isr);
        m.install_snapshot_result = &body.isr;
        break;
    default:
        request_vote_result_to_pb(&msg->u.request_vote_result, &body.rvr);
        m.request_vote_result = &body.rvr;
        break;
    }
    if (rv == 0)
        rv = wire_pack(&m.base, out);
    refraft_free(scratch);
    return rv;
}

/* ---- decode ------------------------------------------------------------ */

/* What a decoded message's priv holds: the wire_store, then the
 * entries, the refs of an InstallSnapshot, the members (of CONFIG
 * entries or of the snapshot's meta) and their strings, in the same
 * allocation (members and strings are cursors while decoding). */
typedef struct msg_store {
    wire_store head;
    refraft_snapshot_ref *refs;
    refraft_member *members;
    char *strings;
    refraft_entry entries[];
} msg_store;

/* The members of CONFIG entry i into the store; their count and rules
 * are check_msg's (refraft_check_members). */
static int members_from_pb(const Refraft__Entry *pb, const char *where,
                           msg_store *s, refraft_entry *out, wire_err *err)
{
    out->members = s->members;
    out->n_members = pb->n_members;
    int rv = wire_members_from_pb(pb->members, pb->n_members, where, s->members,
                                  &s->strings, err);
    s->members += pb->n_members;
    return rv;
}

/* What the wire says about entry i that a refraft_entry cannot show:
 * missing fields, an unknown type before it is narrowed, a ref, voided
 * index or members where the type has none.  Fills *out. */
static int entry_from_pb(const Refraft__Entry *pb, size_t i, msg_store *s,
                         refraft_entry *out, wire_err *err)
{
    char where[32];
    wire_label(where, sizeof where, "entry", i);
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
    if (type != REFRAFT_ENTRY_CONFIG && pb->n_members > 0)
        return wire_bad(err, "%s: %s entry carries members", where, name);
    out->voided = pb->voided;
    if (type == REFRAFT_ENTRY_REF)
        return wire_ref_from_pb(pb->ref, &out->ref, where, err);
    if (type == REFRAFT_ENTRY_CONFIG)
        return members_from_pb(pb, where, s, out, err);
    return 0;
}

static int decode_append_entries(const Refraft__AppendEntries *pb, msg_store *s,
                                 refraft_msg *msg, wire_err *err)
{
    refraft_append_entries *ae = &msg->u.append_entries;
    ae->term = pb->term;
    ae->leader_id = s->head.sender_id;
    ae->prev_log_index = pb->prev_log_index;
    ae->prev_log_term = pb->prev_log_term;
    ae->leader_commit = pb->leader_commit;
    ae->read_round = pb->read_round;
    ae->epoch = pb->epoch;
    ae->entries = s->entries;
    ae->n_entries = pb->n_entries;
    for (size_t i = 0; i < pb->n_entries; i++) {
        int rv = entry_from_pb(pb->entries[i], i, s, &s->entries[i], err);
        if (rv != 0)
            return rv;
    }
    return 0;
}

/* The body's one message, its sender's id and its entry and ref counts;
 * refuses a body with no message, a message with a field missing or more
 * entries or refs than a message may carry. */
static int body_of(const Refraft__Message *pb, const ProtobufCMessage **body,
                   const ProtobufCBinaryData **id, size_t *n_entries,
                   size_t *n_refs, wire_err *err)
{
    *n_entries = 0;
    *n_refs = 0;
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
    case REFRAFT__MESSAGE__BODY_TIMEOUT_NOW:
        *body = &pb->timeout_now->base;
        *id = &pb->timeout_now->leader_id;
        break;
    case REFRAFT__MESSAGE__BODY_INSTALL_SNAPSHOT:
        *body = &pb->install_snapshot->base;
        *id = &pb->install_snapshot->leader_id;
        *n_refs = pb->install_snapshot->n_refs;
        break;
    case REFRAFT__MESSAGE__BODY_INSTALL_SNAPSHOT_RESULT:
        *body = &pb->install_snapshot_result->base;
        *id = &pb->install_snapshot_result->follower_id;
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
    if (rv == 0 && *n_refs > REFRAFT_WIRE_MAX_SNAPSHOT_REFS)
        rv = wire_bad(err, "InstallSnapshot has %zu refs, over the limit of %u",
                      *n_refs, REFRAFT_WIRE_MAX_SNAPSHOT_REFS);
    return rv;
}

/* Fill msg from the fields of the results, votes and TimeoutNow
 * (AppendEntries and InstallSnapshot have their own functions: they carry
 * entries, refs and members). */
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
        r->read_round = p->read_round;
        r->epoch = p->epoch;
        r->records_behind = p->records_behind != 0;
    } else if (pb->body_case == REFRAFT__MESSAGE__BODY_TIMEOUT_NOW) {
        msg->u.timeout_now.term = pb->timeout_now->term;
        msg->u.timeout_now.leader_id = id;
    } else if (pb->body_case == REFRAFT__MESSAGE__BODY_REQUEST_VOTE) {
        const Refraft__RequestVote *p = pb->request_vote;
        refraft_request_vote *v = &msg->u.request_vote;
        v->term = p->term;
        v->candidate_id = id;
        v->last_log_index = p->last_log_index;
        v->last_log_term = p->last_log_term;
        v->pre_vote = p->pre_vote != 0;
        v->transfer = p->transfer != 0;
    } else if (pb->body_case ==
               REFRAFT__MESSAGE__BODY_INSTALL_SNAPSHOT_RESULT) {
        wire_install_snapshot_result_from_pb(pb->install_snapshot_result, id,
                                             &msg->u.install_snapshot_result);
    } else {
        const Refraft__RequestVoteResult *p = pb->request_vote_result;
        refraft_request_vote_result *v = &msg->u.request_vote_result;
        v->term = p->term;
        v->voter_id = id;
        v->vote_granted = p->vote_granted != 0;
        v->pre_vote = p->pre_vote != 0;
    }
}

/* wire_convert_fn: turn the unpacked body into a refraft_wire_msg whose
 * storage is one allocation (its priv). */
static int
convert(ProtobufCMessage *unpacked, wire_arena *arena, void *out, wire_err *err)
{
    Refraft__Message *pb = (Refraft__Message *)unpacked;
    const ProtobufCMessage *body = NULL;
    const ProtobufCBinaryData *id = NULL;
    size_t n, n_refs;
    int rv = body_of(pb, &body, &id, &n, &n_refs, err);
    if (rv != 0)
        return rv;
    /* Room for the members (of CONFIG entries, or of a snapshot's meta)
     * and their strings (each string with its NUL), counted before
     * anything is checked: their lengths add up to less than the
     * body's. */
    size_t n_members = 0, n_bytes = 0;
    for (size_t i = 0; i < n; i++) {
        const Refraft__Entry *e = pb->append_entries->entries[i];
        n_members += e->n_members;
        n_bytes += wire_members_string_bytes(e->members, e->n_members);
    }
    if (pb->body_case == REFRAFT__MESSAGE__BODY_INSTALL_SNAPSHOT) {
        const Refraft__InstallSnapshot *is = pb->install_snapshot;
        n_members = is->n_members;
        n_bytes = wire_members_string_bytes(is->members, is->n_members);
    }
    msg_store *s = refraft_malloc(sizeof *s + n * sizeof(refraft_entry) +
                                  n_refs * sizeof(refraft_snapshot_ref) +
                                  n_members * sizeof(refraft_member) + n_bytes);
    if (s == NULL)
        return REFRAFT_ENOMEM;
    s->refs = (refraft_snapshot_ref *)(void *)(s->entries + n);
    s->members = (refraft_member *)(void *)(s->refs + n_refs);
    s->strings = (char *)(s->members + n_members);
    wire_copy_node_id(s->head.sender_id, id);
    refraft_msg msg;
    memset(&msg, 0, sizeof msg);
    msg.type = (uint8_t)pb->body_case;
    if (pb->body_case == REFRAFT__MESSAGE__BODY_APPEND_ENTRIES) {
        rv = decode_append_entries(pb->append_entries, s, &msg, err);
    } else if (pb->body_case == REFRAFT__MESSAGE__BODY_INSTALL_SNAPSHOT) {
        wire_snapshot_room room = {s->refs, s->members, s->strings};
        rv = wire_install_snapshot_from_pb(pb->install_snapshot,
                                           s->head.sender_id, &room,
                                           &msg.u.install_snapshot, err);
    } else {
        decode_other(pb, s->head.sender_id, &msg);
    }
    if (rv == 0)
        rv = check_msg(&msg, err);
    if (rv != 0) {
        refraft_free(s);
        return rv;
    }
    wire_store_keep(&s->head, arena);
    refraft_wire_msg *m = out;
    m->msg = msg;
    m->priv = s;
    return 0;
}

int refraft_wire_decode_msg(const uint8_t *data, size_t len,
                            refraft_wire_msg *out, char *errbuf,
                            size_t errbuf_len)
{
    wire_err err = {errbuf, errbuf_len};
    return wire_decode(&refraft__message__descriptor, data, len, out, convert,
                       &err);
}

void refraft_wire_msg_free(refraft_wire_msg *m)
{
    if (m == NULL || m->priv == NULL)
        return;
    wire_store_free(m->priv);
    memset(m, 0, sizeof *m);
}
