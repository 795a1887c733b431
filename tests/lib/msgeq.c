/* msgeq.c - message equality on what the wire carries. */
#include <string.h>

#include "msgeq.h"

bool msgeq_ref(const refraft_ref *a, const refraft_ref *b)
{
    return a->id_len == b->id_len &&
           (a->id_len == 0 || memcmp(a->id, b->id, a->id_len) == 0) &&
           a->size == b->size &&
           memcmp(a->digest, b->digest, REFRAFT_DIGEST_LEN) == 0;
}

/* Same members in the same order; a NULL address is "" on the wire. */
static bool
members_equal(const refraft_member *a, const refraft_member *b, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        const refraft_member *x = &a[k], *y = &b[k];
        const char *xa = x->address != NULL ? x->address : "";
        const char *ya = y->address != NULL ? y->address : "";
        if (strcmp(x->id, y->id) != 0 || strcmp(xa, ya) != 0 ||
            x->voter != y->voter)
            return false;
    }
    return true;
}

bool msgeq_entry(const refraft_entry *a, const refraft_entry *b)
{
    if (a->term != b->term || a->type != b->type)
        return false;
    if (a->type == REFRAFT_ENTRY_REF)
        return msgeq_ref(&a->ref, &b->ref);
    if (a->type == REFRAFT_ENTRY_VOID)
        return a->voided == b->voided;
    if (a->type == REFRAFT_ENTRY_CONFIG)
        return a->n_members == b->n_members &&
               members_equal(a->members, b->members, a->n_members);
    return true;
}

static bool append_entries_equal(const refraft_append_entries *x,
                                 const refraft_append_entries *y)
{
    if (x->term != y->term || strcmp(x->leader_id, y->leader_id) != 0 ||
        x->prev_log_index != y->prev_log_index ||
        x->prev_log_term != y->prev_log_term ||
        x->leader_commit != y->leader_commit || x->n_entries != y->n_entries ||
        x->read_round != y->read_round || x->epoch != y->epoch)
        return false;
    for (size_t i = 0; i < x->n_entries; i++)
        if (!msgeq_entry(&x->entries[i], &y->entries[i]))
            return false;
    return true;
}

static bool append_entries_result_equal(const refraft_append_entries_result *x,
                                        const refraft_append_entries_result *y)
{
    return x->term == y->term && strcmp(x->follower_id, y->follower_id) == 0 &&
           x->success == y->success && x->match_index == y->match_index &&
           x->rejected_index == y->rejected_index &&
           x->conflict_term == y->conflict_term &&
           x->conflict_index == y->conflict_index &&
           x->last_log_index == y->last_log_index &&
           x->data_index == y->data_index && x->read_round == y->read_round &&
           x->epoch == y->epoch && x->records_behind == y->records_behind;
}

static bool
request_vote_equal(const refraft_request_vote *x, const refraft_request_vote *y)
{
    return x->term == y->term &&
           strcmp(x->candidate_id, y->candidate_id) == 0 &&
           x->last_log_index == y->last_log_index &&
           x->last_log_term == y->last_log_term && x->pre_vote == y->pre_vote &&
           x->transfer == y->transfer;
}

static bool request_vote_result_equal(const refraft_request_vote_result *x,
                                      const refraft_request_vote_result *y)
{
    return x->term == y->term && strcmp(x->voter_id, y->voter_id) == 0 &&
           x->vote_granted == y->vote_granted && x->pre_vote == y->pre_vote;
}

static bool install_snapshot_equal(const refraft_install_snapshot *x,
                                   const refraft_install_snapshot *y)
{
    const refraft_snapshot_meta *mx = &x->meta, *my = &y->meta;
    if (x->term != y->term || strcmp(x->leader_id, y->leader_id) != 0 ||
        mx->last_index != my->last_index || mx->last_term != my->last_term ||
        mx->config_index != my->config_index ||
        mx->n_members != my->n_members ||
        !members_equal(mx->members, my->members, mx->n_members) ||
        x->after != y->after || x->n_refs != y->n_refs || x->done != y->done ||
        x->epoch != y->epoch)
        return false;
    for (size_t i = 0; i < x->n_refs; i++)
        if (x->refs[i].index != y->refs[i].index ||
            !msgeq_ref(&x->refs[i].ref, &y->refs[i].ref))
            return false;
    return true;
}

static bool
install_snapshot_result_equal(const refraft_install_snapshot_result *x,
                              const refraft_install_snapshot_result *y)
{
    return x->term == y->term && strcmp(x->follower_id, y->follower_id) == 0 &&
           x->last_index == y->last_index && x->after == y->after &&
           x->installed == y->installed && x->epoch == y->epoch;
}

bool msgeq_msg(const refraft_msg *a, const refraft_msg *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case REFRAFT_MSG_APPEND_ENTRIES:
        return append_entries_equal(&a->u.append_entries, &b->u.append_entries);
    case REFRAFT_MSG_APPEND_ENTRIES_RESULT:
        return append_entries_result_equal(&a->u.append_entries_result,
                                           &b->u.append_entries_result);
    case REFRAFT_MSG_REQUEST_VOTE:
        return request_vote_equal(&a->u.request_vote, &b->u.request_vote);
    case REFRAFT_MSG_REQUEST_VOTE_RESULT:
        return request_vote_result_equal(&a->u.request_vote_result,
                                         &b->u.request_vote_result);
    case REFRAFT_MSG_TIMEOUT_NOW:
        return a->u.timeout_now.term == b->u.timeout_now.term &&
               strcmp(a->u.timeout_now.leader_id, b->u.timeout_now.leader_id) ==
                   0;
    case REFRAFT_MSG_INSTALL_SNAPSHOT:
        return install_snapshot_equal(&a->u.install_snapshot,
                                      &b->u.install_snapshot);
    case REFRAFT_MSG_INSTALL_SNAPSHOT_RESULT:
        return install_snapshot_result_equal(&a->u.install_snapshot_result,
                                             &b->u.install_snapshot_result);
    default:
        return false;
    }
}
