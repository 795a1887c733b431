/* transfer.c - leadership transfer (Raft thesis §3.10): the leader brings
 * a chosen voter up to date and tells it to campaign at once. */
#include <stdio.h>
#include <string.h>

#include "core/node.h"

int transfer_start(refraft_node *node, const char *target_id)
{
    int rv = validate_id(target_id, "transfer target", node->errmsg,
                         sizeof node->errmsg);
    if (rv != 0)
        return rv;
    if (node->transfer_target[0] != '\0')
        return node_errorf(node, REFRAFT_EBUSY,
                           "leadership is being handed to \"%s\" already",
                           node->transfer_target);
    if (strcmp(target_id, node->id) == 0)
        return node_errorf(node, REFRAFT_EINVAL,
                           "\"%s\" is this node, which leads already",
                           target_id);
    /* The target goes by a configuration without this node, so it would
     * not take TimeoutNow from it; the removal's commit ends this
     * leadership anyway. */
    if (!node->self_member)
        return node_errorf(node, REFRAFT_EINVAL,
                           "this leader is being removed; it steps down "
                           "once the removal commits");
    struct peer *p = node_find_peer(node, target_id);
    if (p == NULL || !p->voter)
        return node_errorf(node, REFRAFT_EINVAL,
                           "\"%s\" is not a voter of the configuration",
                           target_id);
    snprintf(node->transfer_target, sizeof node->transfer_target, "%s",
             target_id);
    node->transfer_deadline = node_now(node) + node->election_timeout_ms;
    node->timeout_now_sent = false;
    transfer_on_progress(node, p);
    return 0;
}

/* The target holds the whole log and its records: a leader it becomes
 * has nothing to fetch or void. */
static bool caught_up(const refraft_node *node, const struct peer *p)
{
    return p->match_index >= node->last_index &&
           p->data_index >= node->last_index && !p->records_behind;
}

void transfer_on_progress(refraft_node *node, const struct peer *p)
{
    if (node->role != REFRAFT_LEADER || node->timeout_now_sent ||
        strcmp(p->id, node->transfer_target) != 0 || !caught_up(node, p))
        return;
    refraft_msg msg;
    memset(&msg, 0, sizeof msg);
    msg.type = REFRAFT_MSG_TIMEOUT_NOW;
    msg.u.timeout_now.term = node->term;
    msg.u.timeout_now.leader_id = node->id;
    (void)node->hull.send(node->hull.ctx, p->id, &msg);
    node->timeout_now_sent = true;
}

int transfer_refuse(refraft_node *node)
{
    if (node->transfer_target[0] == '\0')
        return 0;
    return node_errorf(node, REFRAFT_EBUSY,
                       "leadership is being handed to \"%s\"",
                       node->transfer_target);
}

void transfer_tick(refraft_node *node, uint64_t now)
{
    /* The target did not win in time (lost messages, or it could not
     * catch up): this leader takes proposals again. */
    if (node->transfer_target[0] != '\0' && now >= node->transfer_deadline)
        transfer_clear(node);
}

void transfer_clear(refraft_node *node)
{
    node->transfer_target[0] = '\0';
    node->timeout_now_sent = false;
}

/* The leader chose this node: campaign now, skipping the pre-vote, which
 * the leader's followers would refuse while they hear from it.  Only the
 * leader this node follows in this term may ask. */
int transfer_on_timeout_now(refraft_node *node, const refraft_timeout_now *t)
{
    if (node->role == REFRAFT_LEADER || !node->self_voter ||
        t->term != node->term || strcmp(t->leader_id, node->leader_id) != 0)
        return 0;
    return election_campaign(node);
}
