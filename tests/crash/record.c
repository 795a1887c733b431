/* record.c - records for the torture workload: unique ids, random bytes. */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "torture.h"

void record_sha256(const void *bytes, size_t len,
                   uint8_t digest[REFRAFT_DIGEST_LEN])
{
    SHA256(bytes, len, digest);
}

/* Mostly small records, some spanning several pages, a few near
 * RECORD_MAX_BYTES (LMDB overflow pages). */
static size_t record_size(rng *r)
{
    uint64_t p = rng_below(r, 100);
    if (p < 70)
        return 1 + (size_t)rng_below(r, 512);
    if (p < 96)
        return 512 + (size_t)rng_below(r, 8 * 1024);
    return 8 * 1024 + (size_t)rng_below(r, RECORD_MAX_BYTES - 8 * 1024);
}

bool record_make(record *rec, rng *r, char prefix, uint64_t round, uint64_t seq)
{
    memset(rec, 0, sizeof(*rec));
    char id[REFRAFT_RECORD_ID_MAX + 1];
    int n = snprintf(id, sizeof(id), "%c%llu.%llu", prefix,
                     (unsigned long long)round, (unsigned long long)seq);
    size_t id_len = (size_t)n;
    /* One id in ten is padded to a random length up to the limit. */
    if (rng_pct(r, 10)) {
        size_t want =
            id_len + (size_t)rng_below(r, REFRAFT_RECORD_ID_MAX - id_len + 1);
        memset(id + id_len, '~', want - id_len);
        id_len = want;
    }
    memcpy(rec->id, id, id_len);
    rec->id_len = (uint16_t)id_len;
    rec->len = record_size(r);
    rec->bytes = malloc(rec->len);
    if (rec->bytes == NULL)
        return false;
    for (size_t i = 0; i < rec->len; i += 8) {
        uint64_t v = rng_next(r);
        size_t k = rec->len - i < 8 ? rec->len - i : 8;
        memcpy(rec->bytes + i, &v, k);
    }
    rec->ref.id = rec->id;
    rec->ref.id_len = rec->id_len;
    rec->ref.size = rec->len;
    record_sha256(rec->bytes, rec->len, rec->ref.digest);
    return true;
}

void record_free(record *rec)
{
    free(rec->bytes);
    rec->bytes = NULL;
}
