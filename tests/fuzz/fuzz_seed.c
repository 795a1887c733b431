/* fuzz_seed.c - writes the fuzzer's seed corpus: one valid body of each
 * kind (messages, snapshot chunks and their answer, a record batch, a
 * fetch request and a fetch response), and a few digest headers and
 * record id paths, one file each into the directory named on the
 * command line.  Generated at build time so
 * that no binary file is committed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "refraft/wire.h"
#include "wire_samples.h"

static const char *dir;
static int n_written;

static void write_seed(const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/seed-%02d", dir, n_written++);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static void seed_msg(const refraft_msg *m)
{
    refraft_wire_buf buf;
    if (refraft_wire_encode_msg(m, &buf) != 0) {
        fprintf(stderr, "fuzz_seed: a seed message did not encode\n");
        exit(1);
    }
    write_seed(buf.data, buf.len);
    refraft_wire_free(&buf);
}

static refraft_ref ref_of(const char *id, uint64_t size)
{
    return wire_sample_ref(id, strlen(id), size);
}

static void seed_messages(void)
{
    refraft_entry e[4] = {
        {.term = 2, .type = REFRAFT_ENTRY_NOOP},
        {.term = 2, .type = REFRAFT_ENTRY_REF, .ref = ref_of("orders/17", 120)},
        {.term = 3, .type = REFRAFT_ENTRY_VOID, .voided = 5},
        {.term = 3, .type = REFRAFT_ENTRY_REF, .ref = ref_of("x", 0)}};
    refraft_msg m = wire_sample_heartbeat();
    seed_msg(&m);
    m = wire_sample_append_entries(e, 4);
    seed_msg(&m);

    m = (refraft_msg){.type = REFRAFT_MSG_APPEND_ENTRIES_RESULT};
    m.u.append_entries_result =
        (refraft_append_entries_result){.term = 3,
                                        .follower_id = "n2",
                                        .success = true,
                                        .match_index = 8,
                                        .last_log_index = 8,
                                        .data_index = 7};
    seed_msg(&m);

    m = (refraft_msg){.type = REFRAFT_MSG_REQUEST_VOTE};
    m.u.request_vote = (refraft_request_vote){.term = 4,
                                              .candidate_id = "n3",
                                              .last_log_index = 8,
                                              .last_log_term = 3,
                                              .pre_vote = true};
    seed_msg(&m);

    m = (refraft_msg){.type = REFRAFT_MSG_REQUEST_VOTE_RESULT};
    m.u.request_vote_result = (refraft_request_vote_result){
        .term = 4, .voter_id = "n1", .vote_granted = true};
    seed_msg(&m);
}

/* A snapshot chunk with refs and a configuration, one of the initial
 * configuration without refs, and an answer. */
static void seed_snapshots(void)
{
    refraft_snapshot_ref refs[3] = {{3, ref_of("orders/17", 120)},
                                    {9, ref_of("x", 0)},
                                    {40, ref_of("last", 7)}};
    refraft_member members[2] = {{"n1", "http://127.0.0.1:7001", true},
                                 {"n4", "", false}};
    refraft_msg m = wire_sample_install_snapshot(refs, 3, members, 2);
    seed_msg(&m);
    m = wire_sample_install_snapshot(NULL, 0, NULL, 0);
    m.u.install_snapshot.after = 40;
    seed_msg(&m);

    m = (refraft_msg){.type = REFRAFT_MSG_INSTALL_SNAPSHOT_RESULT};
    m.u.install_snapshot_result = (refraft_install_snapshot_result){
        .term = 3, .follower_id = "n2", .last_index = 40, .after = 9};
    seed_msg(&m);
}

static void seed_records(void)
{
    refraft_wire_record r[2];
    r[0].ref = ref_of("orders/17", 11);
    r[0].bytes = (const uint8_t *)"hello world";
    r[1].ref = ref_of("empty", 0);
    r[1].bytes = NULL;
    refraft_wire_buf buf;
    if (refraft_wire_encode_records("n1", 3, r, 2, &buf) != 0) {
        fprintf(stderr, "fuzz_seed: the seed batch did not encode\n");
        exit(1);
    }
    write_seed(buf.data, buf.len);
    refraft_wire_free(&buf);
}

static void seed_fetches(void)
{
    refraft_ref refs[3] = {ref_of("orders/17", 11), ref_of("empty", 0),
                           ref_of("gone", 5)};
    refraft_wire_buf buf;
    if (refraft_wire_encode_fetch_request("n2", 3, refs, 3, &buf) != 0) {
        fprintf(stderr, "fuzz_seed: the seed fetch request did not encode\n");
        exit(1);
    }
    write_seed(buf.data, buf.len);
    refraft_wire_free(&buf);
    /* One answer of each status, and an OK of 0 bytes. */
    refraft_wire_fetch_answer a[5] = {{0, (const uint8_t *)"hello world", 11},
                                      {1, NULL, 0},
                                      {2, NULL, 0},
                                      {3, NULL, 0},
                                      {0, NULL, 0}};
    if (refraft_wire_encode_fetch_response("n1", 8, a, 5, &buf) != 0) {
        fprintf(stderr, "fuzz_seed: the seed fetch response did not encode\n");
        exit(1);
    }
    write_seed(buf.data, buf.len);
    refraft_wire_free(&buf);
}

static void seed_strings(void)
{
    uint8_t digest[REFRAFT_DIGEST_LEN];
    for (size_t i = 0; i < sizeof digest; i++)
        digest[i] = (uint8_t)(255 - i);
    char header[REFRAFT_WIRE_DIGEST_HEADER_LEN];
    refraft_wire_format_digest(digest, header);
    write_seed(header, strlen(header));
    char two[256];
    snprintf(two, sizeof two, "sha-512=:AAAA:;q=1, %s, md5=?1", header);
    write_seed(two, strlen(two));
    char path[3 * REFRAFT_RECORD_ID_MAX + 1];
    refraft_wire_encode_id((const uint8_t *)"orders/17 \xff\x00z", 13, path);
    write_seed(path, strlen(path));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_seed DIR\n");
        return 2;
    }
    dir = argv[1];
    seed_messages();
    seed_snapshots();
    seed_records();
    seed_fetches();
    seed_strings();
    return 0;
}
