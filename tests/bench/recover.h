/* recover.h - refraft-bench recover's baseline: a plain download of the
 * benchmark's records from a node, over the peers' batched fetch. */
#ifndef REFRAFT_BENCH_RECOVER_H
#define REFRAFT_BENCH_RECOVER_H

#include <stdint.h>

/* Who asks: a peer's id, the cluster token and a term. */
typedef struct recover_asker {
    const char *id;
    const char *token;
    uint64_t term;
} recover_asker;

typedef struct recover_download_result {
    double seconds; /* in the requests: encoding and decoding left out */
    uint64_t requests;
    uint64_t bytes; /* of the records answered */
} recover_download_result;

/*
 * Fetch records 1 to n (ids proc_record_id, size bytes each, of
 * proc_record_bytes) from the node at url with POST /raft/v1/fetch, batch
 * refs a request, one request after another, into memory: no digest
 * checked, nothing stored.  A request that answers only part of its refs
 * (a response kept under the body limit) is followed by one for the rest.
 * Returns 0, or -1 (printed) when a request fails or an answer is other
 * than OK.
 */
int recover_download(const char *url, const recover_asker *who, uint64_t n,
                     unsigned size, unsigned batch,
                     recover_download_result *out);

#endif /* REFRAFT_BENCH_RECOVER_H */
