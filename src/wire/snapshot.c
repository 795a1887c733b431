/* snapshot.c - InstallSnapshot and its result to protobuf and back: the
 * chunks of a reference snapshot (Raft section 7). */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "wire/internal.h"

/* ---- checks ------------------------------------------------------------ */

/* The configuration at last_index: the initial one (config_index 0, no
 * members) or a CONFIG entry's at or before last_index. */
static int check_meta(const refraft_snapshot_meta *m, wire_err *err)
{
    if (m->last_index == 0)
        return wire_bad(err, "InstallSnapshot last_index is 0");
    int rv =
        wire_check_term(m->last_term, false, "InstallSnapshot last_term", err);
    if (rv != 0)
        return rv;
    if (m->config_index > m->last_index)
        return wire_bad(err,
                        "InstallSnapshot config_index %llu is past last_index "
                        "%llu",
                        (unsigned long long)m->config_index,
                        (unsigned long long)m->last_index);
    if (m->config_index == 0) {
        if (m->n_members > 0)
            return wire_bad(err,
                            "InstallSnapshot has %zu members but config_index "
                            "0 (the initial configuration has none)",
                            m->n_members);
        return 0;
    }
    char why[REFRAFT_ERRMSG_LEN];
    if (refraft_check_members(m->members, m->n_members, why, sizeof why))
        return wire_bad(err, "InstallSnapshot: %s", why);
    return 0;
}

/* Each ref's index in (the one before, last_index], the first's past
 * after; each ref's id as in an entry. */
static int check_refs(const refraft_install_snapshot *is, wire_err *err)
{
    if (is->n_refs > REFRAFT_WIRE_MAX_SNAPSHOT_REFS)
        return wire_bad(err,
                        "InstallSnapshot has %zu refs, over the limit of %u",
                        is->n_refs, REFRAFT_WIRE_MAX_SNAPSHOT_REFS);
    if (is->n_refs > 0 && is->refs == NULL)
        return wire_bad(err, "InstallSnapshot has %zu refs but no array",
                        is->n_refs);
    refraft_index prev = is->after;
    for (size_t i = 0; i < is->n_refs; i++) {
        const refraft_snapshot_ref *r = &is->refs[i];
        char where[48];
        wire_label(where, sizeof where, "InstallSnapshot ref", i);
        if (r->index <= prev || r->index > is->meta.last_index)
            return wire_bad(err,
                            "%s: index %llu is not in (%llu, %llu] (refs "
                            "follow after, in index order, up to last_index)",
                            where, (unsigned long long)r->index,
                            (unsigned long long)prev,
                            (unsigned long long)is->meta.last_index);
        int rv = wire_check_ref(&r->ref, where, err);
        if (rv != 0)
            return rv;
        prev = r->index;
    }
    return 0;
}

int wire_check_install_snapshot(const refraft_install_snapshot *is,
                                wire_err *err)
{
    int rv = check_meta(&is->meta, err);
    if (rv != 0)
        return rv;
    if (is->after > is->meta.last_index)
        return wire_bad(err,
                        "InstallSnapshot after %llu is past last_index %llu",
                        (unsigned long long)is->after,
                        (unsigned long long)is->meta.last_index);
    return check_refs(is, err);
}

int wire_check_install_snapshot_result(const refraft_install_snapshot_result *r,
                                       wire_err *err)
{
    if (r->last_index == 0)
        return wire_bad(err, "InstallSnapshotResult last_index is 0");
    if (r->after > r->last_index)
        return wire_bad(err,
                        "InstallSnapshotResult after %llu is past last_index "
                        "%llu",
                        (unsigned long long)r->after,
                        (unsigned long long)r->last_index);
    if (r->installed && r->after != r->last_index)
        return wire_bad(err,
                        "InstallSnapshotResult is installed but after %llu is "
                        "not last_index %llu",
                        (unsigned long long)r->after,
                        (unsigned long long)r->last_index);
    return 0;
}

/* ---- encode ------------------------------------------------------------ */

/* The refs and members of is as protobuf, in one allocation: n_refs
 * pointers, SnapshotRef and Ref structs, then n_members Member structs
 * and pointers.  The caller frees *scratch. */
int wire_install_snapshot_to_pb(const refraft_install_snapshot *is,
                                Refraft__InstallSnapshot *pb, void **scratch)
{
    refraft__install_snapshot__init(pb);
    wire_set_present(&pb->base);
    pb->term = is->term;
    pb->leader_id = wire_id_bytes(is->leader_id);
    pb->last_index = is->meta.last_index;
    pb->last_term = is->meta.last_term;
    pb->config_index = is->meta.config_index;
    pb->after = is->after;
    pb->done = is->done;
    pb->epoch = is->epoch;
    *scratch = NULL;
    size_t n = is->n_refs, nm = is->meta.n_members;
    if (n == 0 && nm == 0)
        return 0;
    char *block = refraft_malloc(
        n * (sizeof(Refraft__SnapshotRef *) + sizeof(Refraft__SnapshotRef) +
             sizeof(Refraft__Ref)) +
        nm * (sizeof(Refraft__Member) + sizeof(Refraft__Member *)));
    if (block == NULL)
        return REFRAFT_ENOMEM;
    Refraft__SnapshotRef **ptrs = (Refraft__SnapshotRef **)(void *)block;
    Refraft__SnapshotRef *ps = (Refraft__SnapshotRef *)(void *)(ptrs + n);
    Refraft__Ref *pr = (Refraft__Ref *)(void *)(ps + n);
    Refraft__Member *pm = (Refraft__Member *)(void *)(pr + n);
    Refraft__Member **pp = (Refraft__Member **)(void *)(pm + nm);
    for (size_t i = 0; i < n; i++) {
        refraft__snapshot_ref__init(&ps[i]);
        ps[i].has_index = 1;
        ps[i].index = is->refs[i].index;
        wire_ref_to_pb(&is->refs[i].ref, &pr[i]);
        ps[i].ref = &pr[i];
        ptrs[i] = &ps[i];
    }
    wire_members_to_pb(is->meta.members, nm, pm, pp);
    pb->refs = n > 0 ? ptrs : NULL;
    pb->n_refs = n;
    pb->members = nm > 0 ? pp : NULL;
    pb->n_members = nm;
    *scratch = block;
    return 0;
}

void wire_install_snapshot_result_to_pb(
    const refraft_install_snapshot_result *r,
    Refraft__InstallSnapshotResult *pb)
{
    refraft__install_snapshot_result__init(pb);
    wire_set_present(&pb->base);
    pb->term = r->term;
    pb->follower_id = wire_id_bytes(r->follower_id);
    pb->last_index = r->last_index;
    pb->after = r->after;
    pb->installed = r->installed;
    pb->epoch = r->epoch;
}

/* ---- decode ------------------------------------------------------------ */

int wire_install_snapshot_from_pb(const Refraft__InstallSnapshot *pb,
                                  const char *leader_id,
                                  wire_snapshot_room *room,
                                  refraft_install_snapshot *out, wire_err *err)
{
    memset(out, 0, sizeof *out);
    out->term = pb->term;
    out->leader_id = leader_id;
    out->meta.last_index = pb->last_index;
    out->meta.last_term = pb->last_term;
    out->meta.config_index = pb->config_index;
    out->after = pb->after;
    out->done = pb->done != 0;
    out->epoch = pb->epoch;
    int rv = wire_members_from_pb(pb->members, pb->n_members, "InstallSnapshot",
                                  room->members, &room->strings, err);
    if (rv != 0)
        return rv;
    out->meta.members = pb->n_members > 0 ? room->members : NULL;
    out->meta.n_members = pb->n_members;
    for (size_t i = 0; i < pb->n_refs; i++) {
        const Refraft__SnapshotRef *s = pb->refs[i];
        char where[48];
        wire_label(where, sizeof where, "InstallSnapshot ref", i);
        if (!s->has_index || s->ref == NULL)
            return wire_bad(err, "%s: missing %s", where,
                            s->has_index ? "ref" : "index");
        room->refs[i].index = s->index;
        rv = wire_ref_from_pb(s->ref, &room->refs[i].ref, where, err);
        if (rv != 0)
            return rv;
    }
    out->refs = pb->n_refs > 0 ? room->refs : NULL;
    out->n_refs = pb->n_refs;
    return 0;
}

void wire_install_snapshot_result_from_pb(
    const Refraft__InstallSnapshotResult *pb, const char *follower_id,
    refraft_install_snapshot_result *out)
{
    out->term = pb->term;
    out->follower_id = follower_id;
    out->last_index = pb->last_index;
    out->after = pb->after;
    out->installed = pb->installed != 0;
    out->epoch = pb->epoch;
}
