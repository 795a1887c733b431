/* records.c - the records the simulated application writes: their bytes,
 * their references, and each node's record store. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prng.h"
#include "records.h"
#include "xalloc.h"

/* The prng stream of record contents: apart from every other draw. */
#define RECORD_STREAM 12

static uint64_t hash_id(const uint8_t *id, size_t len)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < len; i++) {
        h ^= id[i];
        h *= 0x100000001b3u;
    }
    return h;
}

void record_sha256(const void *bytes, size_t len,
                   uint8_t digest[REFRAFT_DIGEST_LEN])
{
    unsigned int n = 0;
    if (EVP_Digest(bytes, len, digest, &n, EVP_sha256(), NULL) != 1 ||
        n != REFRAFT_DIGEST_LEN) {
        fprintf(stderr, "refraft-sim: SHA-256 failed\n");
        exit(2);
    }
}

bool record_matches(const refraft_ref *ref, const void *bytes, size_t len)
{
    if (bytes == NULL || ref->size != len)
        return false;
    uint8_t digest[REFRAFT_DIGEST_LEN];
    record_sha256(bytes, len, digest);
    return memcmp(digest, ref->digest, REFRAFT_DIGEST_LEN) == 0;
}

void record_fix(record *r)
{
    r->ref.id = r->id;
}

void record_make(record *r, uint64_t seed, const char *name)
{
    size_t id_len = strlen(name);
    if (id_len > RECORD_ID_MAX)
        id_len = RECORD_ID_MAX;
    memset(r, 0, sizeof(*r));
    memcpy(r->id, name, id_len);
    prng p;
    prng_seed(&p, seed ^ hash_id(r->id, id_len), RECORD_STREAM);
    r->len = (size_t)prng_range(&p, RECORD_MIN_LEN, RECORD_MAX_LEN);
    for (size_t i = 0; i < r->len; i++)
        r->bytes[i] = (uint8_t)prng_next(&p);
    r->ref.id = r->id;
    r->ref.id_len = (uint16_t)id_len;
    r->ref.size = r->len;
    record_sha256(r->bytes, r->len, r->ref.digest);
}

uint64_t record_seq(const uint8_t *id, size_t id_len)
{
    if (id == NULL || id_len < 2 || id_len > 20 || id[0] != 'r')
        return 0;
    uint64_t seq = 0;
    for (size_t i = 1; i < id_len; i++) {
        if (id[i] < '0' || id[i] > '9')
            return 0;
        seq = seq * 10 + (uint64_t)(id[i] - '0');
    }
    return seq;
}

void record_id_str(const uint8_t *id, size_t id_len, char *buf, size_t len)
{
    size_t n = id_len < len - 1 ? id_len : len - 1;
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)(id[i] >= 0x20 && id[i] < 0x7f ? id[i] : '.');
    buf[n] = '\0';
}

/* ---- the map ------------------------------------------------------------ */

void rstore_init(rstore *s)
{
    memset(s, 0, sizeof(*s));
}

static void item_free(rstore_item *it)
{
    free(it->id);
    free(it->bytes);
    memset(it, 0, sizeof(*it));
}

void rstore_free(rstore *s)
{
    rstore_wipe(s);
    free(s->slots);
    memset(s, 0, sizeof(*s));
}

static size_t home(const rstore *s, const uint8_t *id, size_t id_len)
{
    return (size_t)hash_id(id, id_len) & (s->cap - 1);
}

/* The slot holding id, or the free slot where it would go. */
static size_t probe(const rstore *s, const uint8_t *id, size_t id_len)
{
    size_t i = home(s, id, id_len);
    while (s->slots[i].id != NULL && (s->slots[i].id_len != id_len ||
                                      memcmp(s->slots[i].id, id, id_len) != 0))
        i = (i + 1) & (s->cap - 1);
    return i;
}

const rstore_item *
rstore_find(const rstore *s, const uint8_t *id, size_t id_len)
{
    if (s->cap == 0 || id == NULL)
        return NULL;
    const rstore_item *it = &s->slots[probe(s, id, id_len)];
    return it->id != NULL ? it : NULL;
}

bool rstore_has(const rstore *s, const refraft_ref *ref)
{
    const rstore_item *it = rstore_find(s, ref->id, ref->id_len);
    return it != NULL && it->size == ref->size &&
           memcmp(it->digest, ref->digest, REFRAFT_DIGEST_LEN) == 0;
}

/* Keep the load at most one half. */
static void grow(rstore *s)
{
    if (2 * (s->count + 1) <= s->cap)
        return;
    size_t old_cap = s->cap;
    rstore_item *old = s->slots;
    s->cap = old_cap == 0 ? 64 : 2 * old_cap;
    s->slots = xcalloc(s->cap, sizeof(*s->slots));
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].id != NULL)
            s->slots[probe(s, old[i].id, old[i].id_len)] = old[i];
    }
    free(old);
}

void rstore_put(rstore *s, const refraft_ref *ref, const void *bytes,
                size_t len, uint64_t value)
{
    grow(s);
    rstore_item *it = &s->slots[probe(s, ref->id, ref->id_len)];
    if (it->id == NULL) {
        it->id = xmalloc(ref->id_len > 0 ? ref->id_len : 1);
        memcpy(it->id, ref->id, ref->id_len);
        it->id_len = ref->id_len;
        s->count++;
    }
    free(it->bytes);
    it->bytes = NULL;
    if (bytes != NULL) {
        it->bytes = xmalloc(len > 0 ? len : 1);
        memcpy(it->bytes, bytes, len);
    }
    it->size = ref->size;
    memcpy(it->digest, ref->digest, REFRAFT_DIGEST_LEN);
    it->value = value;
}

/* Backward-shift deletion: move later items of the probe run into the
 * hole when their home does not lie (cyclically) between hole and them. */
bool rstore_remove(rstore *s, const uint8_t *id, size_t id_len)
{
    if (s->cap == 0)
        return false;
    size_t hole = probe(s, id, id_len);
    if (s->slots[hole].id == NULL)
        return false;
    item_free(&s->slots[hole]);
    s->count--;
    size_t mask = s->cap - 1;
    for (size_t j = (hole + 1) & mask; s->slots[j].id != NULL;
         j = (j + 1) & mask) {
        size_t h = home(s, s->slots[j].id, s->slots[j].id_len);
        bool stays = hole <= j ? hole < h && h <= j : hole < h || h <= j;
        if (stays)
            continue;
        s->slots[hole] = s->slots[j];
        memset(&s->slots[j], 0, sizeof(s->slots[j]));
        hole = j;
    }
    return true;
}

void rstore_wipe(rstore *s)
{
    for (size_t i = 0; i < s->cap; i++) {
        if (s->slots[i].id != NULL)
            item_free(&s->slots[i]);
    }
    s->count = 0;
}

/* ---- on the wire -------------------------------------------------------- */

void rec_wire_set_ref(rec_wire *w, const refraft_ref *ref)
{
    size_t n = ref->id_len < RECORD_ID_MAX ? ref->id_len : RECORD_ID_MAX;
    memcpy(w->id, ref->id, n);
    w->id_len = (uint16_t)n;
    w->size = ref->size;
    memcpy(w->digest, ref->digest, REFRAFT_DIGEST_LEN);
}

refraft_ref rec_wire_ref(const rec_wire *w)
{
    refraft_ref ref = {.id = w->id, .id_len = w->id_len, .size = w->size};
    memcpy(ref.digest, w->digest, REFRAFT_DIGEST_LEN);
    return ref;
}
