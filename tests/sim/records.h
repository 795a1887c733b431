/* records.h - the records the simulated application writes: their bytes,
 * their references, and each node's record store. */
#ifndef REFRAFT_SIM_RECORDS_H
#define REFRAFT_SIM_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "refraft/refraft.h"

/* Record ids the simulator makes ("r17", "order-0001") fit in this. */
#define RECORD_ID_MAX 32
/* A record is a few dozen random bytes. */
#define RECORD_MIN_LEN 16
#define RECORD_MAX_LEN 96

/* One record as the client writes it: its bytes and its reference (size
 * and SHA-256 of the bytes).  ref.id points into id: after copying a
 * record, call record_fix() on the copy. */
typedef struct record {
    refraft_ref ref;
    uint8_t id[RECORD_ID_MAX];
    uint8_t bytes[RECORD_MAX_LEN];
    size_t len;
} record;

/* The record named name (cut to RECORD_ID_MAX bytes) of the run seeded
 * with seed: its bytes are drawn from (seed, name) alone, so a name always
 * gets the same bytes and so the same reference. */
void record_make(record *r, uint64_t seed, const char *name);

/* Point r->ref.id at r->id again (after a struct copy). */
void record_fix(record *r);

/* SHA-256 of len bytes (OpenSSL's EVP interface). */
void record_sha256(const void *bytes, size_t len,
                   uint8_t digest[REFRAFT_DIGEST_LEN]);

/* Whether bytes are the record ref names: its size and SHA-256. */
bool record_matches(const refraft_ref *ref, const void *bytes, size_t len);

/* The client's proposal number in a record id "r<seq>"; 0 for others. */
uint64_t record_seq(const uint8_t *id, size_t id_len);

/* "r17" for printing: the id made printable, cut to fit buf. */
void record_id_str(const uint8_t *id, size_t id_len, char *buf, size_t len);

/*
 * A map from record id to a record's bytes, size and digest: one node's
 * record store, which like a disk survives a crash of the node's process
 * unless wiped (a lost disk), and the checker's index of committed record
 * ids.  Open addressing, linear probing, deletion by backward shift.
 */
typedef struct rstore_item {
    uint8_t *id; /* NULL: free slot */
    uint16_t id_len;
    uint64_t size;
    uint8_t digest[REFRAFT_DIGEST_LEN];
    uint8_t *bytes; /* size bytes; NULL in a map without bytes */
    uint64_t value; /* the checker's: an index */
} rstore_item;

typedef struct rstore {
    rstore_item *slots;
    size_t cap; /* a power of two, or 0 */
    size_t count;
} rstore;

void rstore_init(rstore *s);
void rstore_free(rstore *s);

const rstore_item *
rstore_find(const rstore *s, const uint8_t *id, size_t id_len);

/* Whether the record ref names is stored: same id, size and digest. */
bool rstore_has(const rstore *s, const refraft_ref *ref);

/* Store (or replace) the record ref names, with its bytes when bytes is
 * not NULL (len bytes, ref->size of them), and value. */
void rstore_put(rstore *s, const refraft_ref *ref, const void *bytes,
                size_t len, uint64_t value);

/* Delete the record stored under id; false when there was none. */
bool rstore_remove(rstore *s, const uint8_t *id, size_t id_len);

/* Delete every record: the disk is lost. */
void rstore_wipe(rstore *s);

/*
 * Records between nodes travel on the simulated network as these
 * (net_send_data): the leader's host pushing a new record to a follower,
 * a sweeper's fetch request, and the answer to it.
 */
typedef enum rec_kind {
    REC_PUSH = 1,  /* id, size, digest, bytes */
    REC_FETCH = 2, /* id, size, digest; incarnation, token, term, index */
    REC_ANSWER = 3 /* incarnation, token, status, peer_data_index; bytes */
} rec_kind;

typedef struct rec_wire {
    uint8_t kind;   /* rec_kind */
    bool corrupted; /* the fault schedule flipped a byte (for traces) */
    uint16_t id_len;
    uint8_t id[RECORD_ID_MAX];
    uint64_t size;
    uint8_t digest[REFRAFT_DIGEST_LEN];
    /* Fetches: the asking node's incarnation (its answers reach only the
     * sweeper that asked, not one restarted since) and the sweeper's
     * token; the asker's term and the entry's index. */
    uint64_t incarnation;
    uint64_t token;
    refraft_term term;
    refraft_index index;
    int status; /* refraft_fetch_status */
    refraft_index peer_data_index;
    size_t len; /* bytes that follow */
    uint8_t bytes[];
} rec_wire;

/* Fill the reference fields of w from ref (its id cut to fit). */
void rec_wire_set_ref(rec_wire *w, const refraft_ref *ref);

/* The reference w carries; its id points into w. */
refraft_ref rec_wire_ref(const rec_wire *w);

#endif /* REFRAFT_SIM_RECORDS_H */
