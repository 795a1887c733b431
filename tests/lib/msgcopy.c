/* msgcopy.c - deep copies of refraft messages into one flat buffer. */
#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#include "msgcopy.h"

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
    default:
        return NULL;
    }
}

const char *msgcopy_sender(const refraft_msg *msg)
{
    const char **field = id_field((refraft_msg *)msg);
    return field != NULL ? *field : NULL;
}

static size_t entries_offset(void)
{
    size_t align = alignof(refraft_entry);
    return (sizeof(refraft_msg) + align - 1) / align * align;
}

static size_t n_entries(const refraft_msg *msg)
{
    if (msg->type != REFRAFT_MSG_APPEND_ENTRIES)
        return 0;
    return msg->u.append_entries.n_entries;
}

size_t msgcopy_size(const refraft_msg *msg)
{
    size_t n = n_entries(msg);
    size_t size = entries_offset() + n * sizeof(refraft_entry);
    const char *id = msgcopy_sender(msg);
    if (id != NULL)
        size += strlen(id) + 1;
    for (size_t i = 0; i < n; i++) {
        const refraft_entry *e = &msg->u.append_entries.entries[i];
        if (e->type == REFRAFT_ENTRY_REF)
            size += e->ref.id_len;
    }
    return size;
}

/* Copy the ref id bytes of every entry to *tail and point the copies at
 * them; NOOP entries carry no id and keep a NULL one. */
static void pack_entries(const refraft_append_entries *src, refraft_entry *dst,
                         uint8_t **tail)
{
    for (size_t i = 0; i < src->n_entries; i++) {
        dst[i] = src->entries[i];
        if (dst[i].type != REFRAFT_ENTRY_REF || dst[i].ref.id_len == 0) {
            dst[i].ref.id = NULL;
            continue;
        }
        memcpy(*tail, src->entries[i].ref.id, dst[i].ref.id_len);
        dst[i].ref.id = *tail;
        *tail += dst[i].ref.id_len;
    }
}

refraft_msg *msgcopy_pack(const refraft_msg *msg, void *buf)
{
    refraft_msg *copy = buf;
    *copy = *msg;
    refraft_entry *entries = (refraft_entry *)((char *)buf + entries_offset());
    uint8_t *tail = (uint8_t *)(entries + n_entries(msg));
    if (copy->type == REFRAFT_MSG_APPEND_ENTRIES) {
        pack_entries(&msg->u.append_entries, entries, &tail);
        copy->u.append_entries.entries = entries;
    }
    const char **field = id_field(copy);
    if (field != NULL && *field != NULL) {
        size_t len = strlen(*field) + 1;
        memcpy(tail, *field, len);
        *field = (const char *)tail;
    }
    return copy;
}
