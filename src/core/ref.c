/* ref.c - references: the SHA-256 digest a ref carries, and whether two
 * refs name the same record. */
#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>

#include "refraft/refraft.h"

/* OpenSSL 3 looks the algorithm up again on every EVP_sha256() use (an
 * "implicit fetch"), which costs as much as hashing a 256-byte record:
 * it is fetched once, for the life of the process. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void fetch_sha256(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int refraft_digest(const void *bytes, size_t len,
                   uint8_t digest[REFRAFT_DIGEST_LEN])
{
    if (digest == NULL || (bytes == NULL && len > 0))
        return REFRAFT_EINVAL;
    if (pthread_once(&sha256_once, fetch_sha256) != 0 || sha256_md == NULL)
        return REFRAFT_ENOMEM;
    uint8_t out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(len > 0 ? bytes : "", len, out, &n, sha256_md, NULL) != 1 ||
        n != REFRAFT_DIGEST_LEN)
        return REFRAFT_ENOMEM;
    memcpy(digest, out, REFRAFT_DIGEST_LEN);
    return 0;
}

bool refraft_ref_equal(const refraft_ref *a, const refraft_ref *b)
{
    if (a == NULL || b == NULL || a->id_len != b->id_len ||
        a->size != b->size ||
        memcmp(a->digest, b->digest, REFRAFT_DIGEST_LEN) != 0)
        return false;
    return a->id_len == 0 || (a->id != NULL && b->id != NULL &&
                              memcmp(a->id, b->id, a->id_len) == 0);
}
