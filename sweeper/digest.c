/* digest.c - checking fetched bytes against their reference (size and
 * SHA-256). */
#include <string.h>

#include <openssl/evp.h>

#include "sweeper_internal.h"

int sw_digest_check(const refraft_ref *ref, const void *bytes, size_t len,
                    bool *ok)
{
    *ok = false;
    /* A peer may send anything: the length is checked first, so a huge
     * or short answer costs no hashing. */
    if ((uint64_t)len != ref->size || (bytes == NULL && len > 0))
        return 0;
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    if (EVP_Digest(len > 0 ? bytes : "", len, digest, &digest_len, EVP_sha256(),
                   NULL) != 1 ||
        digest_len != REFRAFT_DIGEST_LEN)
        return REFRAFT_ENOMEM;
    *ok = memcmp(digest, ref->digest, REFRAFT_DIGEST_LEN) == 0;
    return 0;
}
