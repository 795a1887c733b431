/* msgcopy.c - deep copies of refraft messages into one flat buffer. */
#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#include "msgcopy.h"

/*
 * Layout of a copy: the refraft_msg, then its arrays (an AppendEntries'
 * entries, or an InstallSnapshot's refs), then the members of its CONFIG
 * entries or of its snapshot meta, then the bytes: record ids and
 * strings.  Every array element's size is a multiple of its alignment,
 * so arrays laid end to end stay aligned.
 */

_Static_assert(sizeof(refraft_entry) % alignof(refraft_member) == 0,
               "members follow entries");
_Static_assert(sizeof(refraft_snapshot_ref) % alignof(refraft_member) == 0,
               "members follow snapshot refs");

/* The id field of each message type, so that size and pack share one
 * switch.  NULL for an unknown type, whose copy then carries no string. */
static const char **id_field(refraft_msg *msg)
{
    switch (msg->type) {
    case REFRAFT_MSG_APPEND_ENTRIES:
        return &msg->u.append_entries.leader_id;
    case REFRAFT_MSG_APPEND_ENTRIES_RESULT:
        return &msg->u.append_entries_result.follower_id;
    case REFRAFT_MSG_REQUEST_VOTE:
        return &msg->u.request_vote.candidate_id;
    case REFRAFT_MSG_REQUEST_VOTE_RESULT:
        return &msg->u.request_vote_result.voter_id;
    case REFRAFT_MSG_TIMEOUT_NOW:
        return &msg->u.timeout_now.leader_id;
    case REFRAFT_MSG_INSTALL_SNAPSHOT:
        return &msg->u.install_snapshot.leader_id;
    case REFRAFT_MSG_INSTALL_SNAPSHOT_RESULT:
        return &msg->u.install_snapshot_result.follower_id;
    default:
        return NULL;
    }
}

const char *msgcopy_sender(const refraft_msg *msg)
{
    const char **field = id_field((refraft_msg *)msg);
    return field != NULL ? *field : NULL;
}

static size_t arrays_offset(void)
{
    size_t align = alignof(max_align_t);
    return (sizeof(refraft_msg) + align - 1) / align * align;
}

static size_t n_entries(const refraft_msg *msg)
{
    return msg->type == REFRAFT_MSG_APPEND_ENTRIES
               ? msg->u.append_entries.n_entries
               : 0;
}

static size_t n_refs(const refraft_msg *msg)
{
    return msg->type == REFRAFT_MSG_INSTALL_SNAPSHOT
               ? msg->u.install_snapshot.n_refs
               : 0;
}

static bool has_members(const refraft_member *members, size_t n)
{
    return members != NULL && n > 0;
}

static size_t str_size(const char *s)
{
    return s != NULL ? strlen(s) + 1 : 0;
}

/* Array bytes and string bytes of n members. */
static void
members_size(const refraft_member *m, size_t n, size_t *array, size_t *bytes)
{
    if (!has_members(m, n))
        return;
    *array += n * sizeof(refraft_member);
    for (size_t k = 0; k < n; k++)
        *bytes += str_size(m[k].id) + str_size(m[k].address);
}

size_t msgcopy_size(const refraft_msg *msg)
{
    size_t array = n_entries(msg) * sizeof(refraft_entry) +
                   n_refs(msg) * sizeof(refraft_snapshot_ref);
    size_t bytes = str_size(msgcopy_sender(msg));
    for (size_t i = 0; i < n_entries(msg); i++) {
        const refraft_entry *e = &msg->u.append_entries.entries[i];
        if (e->type == REFRAFT_ENTRY_REF)
            bytes += e->ref.id_len;
        if (e->type == REFRAFT_ENTRY_CONFIG)
            members_size(e->members, e->n_members, &array, &bytes);
    }
    if (msg->type == REFRAFT_MSG_INSTALL_SNAPSHOT) {
        const refraft_install_snapshot *is = &msg->u.install_snapshot;
        for (size_t i = 0; i < is->n_refs; i++)
            bytes += is->refs[i].ref.id_len;
        members_size(is->meta.members, is->meta.n_members, &array, &bytes);
    }
    return arrays_offset() + array + bytes;
}

/* Where the parts of a copy go: members, then bytes. */
struct cursor {
    refraft_member *members;
    uint8_t *tail;
};

static const char *put_str(struct cursor *c, const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s) + 1;
    memcpy(c->tail, s, n);
    const char *copy = (const char *)c->tail;
    c->tail += n;
    return copy;
}

static void put_ref(struct cursor *c, refraft_ref *ref)
{
    if (ref->id == NULL || ref->id_len == 0) {
        ref->id = NULL;
        return;
    }
    memcpy(c->tail, ref->id, ref->id_len);
    ref->id = c->tail;
    c->tail += ref->id_len;
}

/* Copy n members and their strings; returns the copy (NULL for none). */
static const refraft_member *
put_members(struct cursor *c, const refraft_member *m, size_t n)
{
    if (!has_members(m, n))
        return NULL;
    refraft_member *out = c->members;
    c->members += n;
    for (size_t k = 0; k < n; k++) {
        out[k] = m[k];
        out[k].id = put_str(c, m[k].id);
        out[k].address = put_str(c, m[k].address);
    }
    return out;
}

/* The entries, their ref ids and the members of CONFIG entries.  Entries
 * of other types keep a NULL id and no members. */
static void pack_entries(const refraft_append_entries *src, refraft_entry *dst,
                         struct cursor *c)
{
    for (size_t i = 0; i < src->n_entries; i++) {
        dst[i] = src->entries[i];
        if (dst[i].type == REFRAFT_ENTRY_REF)
            put_ref(c, &dst[i].ref);
        else
            dst[i].ref.id = NULL;
        if (dst[i].type == REFRAFT_ENTRY_CONFIG)
            dst[i].members = put_members(c, dst[i].members, dst[i].n_members);
        else
            dst[i].members = NULL;
        if (dst[i].members == NULL)
            dst[i].n_members = 0;
    }
}

static void pack_snapshot(const refraft_install_snapshot *src,
                          refraft_install_snapshot *dst,
                          refraft_snapshot_ref *refs, struct cursor *c)
{
    for (size_t i = 0; i < src->n_refs; i++) {
        refs[i] = src->refs[i];
        put_ref(c, &refs[i].ref);
    }
    dst->refs = src->n_refs > 0 ? refs : NULL;
    dst->meta.members = put_members(c, src->meta.members, src->meta.n_members);
    if (dst->meta.members == NULL)
        dst->meta.n_members = 0;
}

/* Members the copy of msg holds, all messages' arrays counted. */
static size_t n_members_of(const refraft_msg *msg)
{
    size_t array = 0, bytes = 0;
    for (size_t i = 0; i < n_entries(msg); i++) {
        const refraft_entry *e = &msg->u.append_entries.entries[i];
        if (e->type == REFRAFT_ENTRY_CONFIG)
            members_size(e->members, e->n_members, &array, &bytes);
    }
    if (msg->type == REFRAFT_MSG_INSTALL_SNAPSHOT)
        members_size(msg->u.install_snapshot.meta.members,
                     msg->u.install_snapshot.meta.n_members, &array, &bytes);
    return array / sizeof(refraft_member);
}

refraft_msg *msgcopy_pack(const refraft_msg *msg, void *buf)
{
    refraft_msg *copy = buf;
    *copy = *msg;
    char *arrays = (char *)buf + arrays_offset();
    refraft_entry *entries = (refraft_entry *)(void *)arrays;
    refraft_snapshot_ref *refs = (refraft_snapshot_ref *)(void *)arrays;
    struct cursor c;
    c.members =
        (refraft_member *)(void *)(arrays +
                                   n_entries(msg) * sizeof(refraft_entry) +
                                   n_refs(msg) * sizeof(refraft_snapshot_ref));
    c.tail = (uint8_t *)(c.members + n_members_of(msg));
    if (copy->type == REFRAFT_MSG_APPEND_ENTRIES) {
        pack_entries(&msg->u.append_entries, entries, &c);
        copy->u.append_entries.entries = n_entries(msg) > 0 ? entries : NULL;
    } else if (copy->type == REFRAFT_MSG_INSTALL_SNAPSHOT) {
        pack_snapshot(&msg->u.install_snapshot, &copy->u.install_snapshot, refs,
                      &c);
    }
    const char **field = id_field(copy);
    if (field != NULL)
        *field = put_str(&c, *field);
    return copy;
}
