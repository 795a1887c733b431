/* wire_samples.c - messages and references for the wire codec's tests
 * and the fuzzer's seed corpus. */
#include "wire_samples.h"

refraft_ref wire_sample_ref(const void *id, size_t len, uint64_t size)
{
    refraft_ref r = {0};
    r.id = id;
    r.id_len = (uint16_t)len;
    r.size = size;
    for (size_t i = 0; i < sizeof r.digest; i++)
        r.digest[i] = (uint8_t)(i * 37 + size);
    return r;
}

refraft_msg wire_sample_heartbeat(void)
{
    return wire_sample_append_entries(NULL, 0);
}

refraft_msg wire_sample_append_entries(const refraft_entry *e, size_t n)
{
    refraft_msg m = {.type = REFRAFT_MSG_APPEND_ENTRIES};
    m.u.append_entries = (refraft_append_entries){.term = 3,
                                                  .leader_id = "n1",
                                                  .prev_log_index = 4,
                                                  .prev_log_term = 2,
                                                  .leader_commit = 4,
                                                  .entries = e,
                                                  .n_entries = n};
    return m;
}

refraft_msg
wire_sample_install_snapshot(const refraft_snapshot_ref *refs, size_t n,
                             const refraft_member *members, size_t n_members)
{
    refraft_msg m = {.type = REFRAFT_MSG_INSTALL_SNAPSHOT};
    m.u.install_snapshot = (refraft_install_snapshot){
        .term = 3,
        .leader_id = "n1",
        .meta = {.last_index = 40,
                 .last_term = 2,
                 .config_index = n_members > 0 ? 7 : 0,
                 .members = members,
                 .n_members = n_members},
        .after = 0,
        .refs = refs,
        .n_refs = n,
        .done = true,
        .epoch = 7};
    return m;
}
