/* trace.c - the --verbose log of a run, stamped with virtual time. */
#include <stdarg.h>
#include <stdio.h>

#include "entry.h"
#include "members.h"
#include "trace.h"

typedef unsigned long long ull;

/* The entries of an AppendEntries, by label, when there are few. */
static void entry_labels(const refraft_entry *e, size_t n)
{
    if (n == 0 || n > 4)
        return;
    printf(" [");
    for (size_t i = 0; i < n; i++) {
        entry_sig sig;
        entry_sig_make(&sig, &e[i]);
        printf("%s%s", i > 0 ? " " : "", sig.label);
    }
    printf("]");
}

static void msg_append_entries(const refraft_append_entries *m)
{
    printf("AppendEntries term %llu prev %llu/%llu commit %llu entries %zu",
           (ull)m->term, (ull)m->prev_log_index, (ull)m->prev_log_term,
           (ull)m->leader_commit, m->n_entries);
    entry_labels(m->entries, m->n_entries);
}

static void msg_append_result(const refraft_append_entries_result *m)
{
    if (m->success) {
        printf("AppendEntriesResult term %llu ok match %llu data %llu",
               (ull)m->term, (ull)m->match_index, (ull)m->data_index);
        return;
    }
    printf("AppendEntriesResult term %llu reject %llu conflict %llu@%llu "
           "last %llu",
           (ull)m->term, (ull)m->rejected_index, (ull)m->conflict_term,
           (ull)m->conflict_index, (ull)m->last_log_index);
}

void trace_msg(uint64_t now, int from, int to, const refraft_msg *msg)
{
    printf("%8llu  n%d -> n%d  ", (ull)now, from + 1, to + 1);
    switch (msg->type) {
    case REFRAFT_MSG_APPEND_ENTRIES:
        msg_append_entries(&msg->u.append_entries);
        break;
    case REFRAFT_MSG_APPEND_ENTRIES_RESULT:
        msg_append_result(&msg->u.append_entries_result);
        break;
    case REFRAFT_MSG_REQUEST_VOTE:
        printf("RequestVote%s term %llu last %llu/%llu",
               msg->u.request_vote.pre_vote ? "(pre)" : "",
               (ull)msg->u.request_vote.term,
               (ull)msg->u.request_vote.last_log_index,
               (ull)msg->u.request_vote.last_log_term);
        break;
    case REFRAFT_MSG_REQUEST_VOTE_RESULT:
        printf("RequestVoteResult%s term %llu %s",
               msg->u.request_vote_result.pre_vote ? "(pre)" : "",
               (ull)msg->u.request_vote_result.term,
               msg->u.request_vote_result.vote_granted ? "granted" : "refused");
        break;
    case REFRAFT_MSG_TIMEOUT_NOW:
        printf("TimeoutNow term %llu", (ull)msg->u.timeout_now.term);
        break;
    case REFRAFT_MSG_INSTALL_SNAPSHOT: {
        const refraft_install_snapshot *is = &msg->u.install_snapshot;
        printf("InstallSnapshot term %llu up to %llu/%llu config %llu after "
               "%llu, %zu refs%s",
               (ull)is->term, (ull)is->meta.last_index, (ull)is->meta.last_term,
               (ull)is->meta.config_index, (ull)is->after, is->n_refs,
               is->done ? ", done" : "");
        break;
    }
    case REFRAFT_MSG_INSTALL_SNAPSHOT_RESULT: {
        const refraft_install_snapshot_result *r =
            &msg->u.install_snapshot_result;
        printf("InstallSnapshotResult term %llu up to %llu: after %llu%s",
               (ull)r->term, (ull)r->last_index, (ull)r->after,
               r->installed ? ", installed" : "");
        break;
    }
    default:
        printf("message of unknown type %u", msg->type);
        break;
    }
    printf("\n");
}

void trace_event(uint64_t now, int node, const refraft_event *ev)
{
    printf("%8llu  n%d  ", (ull)now, node + 1);
    switch (ev->type) {
    case REFRAFT_EVENT_ROLE:
        printf("is %s (term %llu)\n", refraft_role_name(ev->role),
               (ull)ev->term);
        break;
    case REFRAFT_EVENT_TERM:
        printf("term %llu\n", (ull)ev->term);
        break;
    case REFRAFT_EVENT_LEADER:
        printf("leader %s\n", ev->leader_id != NULL ? ev->leader_id : "-");
        break;
    case REFRAFT_EVENT_COMMIT:
        printf("commit %llu\n", (ull)ev->commit_index);
        break;
    case REFRAFT_EVENT_DATA:
        printf("data index %llu (last index %llu)\n", (ull)ev->data_index,
               (ull)ev->last_index);
        break;
    case REFRAFT_EVENT_CONFIG:
        printf("configuration changed (commit %llu, last index %llu)\n",
               (ull)ev->commit_index, (ull)ev->last_index);
        break;
    default:
        printf("event of unknown type %u\n", ev->type);
        break;
    }
}

void trace_config(uint64_t now, int node, const refraft_node *rn)
{
    sim_conf c;
    char who[160];
    sim_conf_of_node(&c, rn);
    sim_conf_describe(&c, who, sizeof(who));
    printf("%8llu  n%d  goes by the configuration at index %llu: %s%s\n",
           (ull)now, node + 1, (ull)c.index, who,
           c.index > refraft_commit_index(rn) ? " (uncommitted)" : "");
}

void trace_note(uint64_t now, const char *fmt, ...)
{
    printf("%8llu  ", (ull)now);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}
