/* digest.c - checking fetched bytes against their reference (size and
 * SHA-256). */
#include <string.h>

#include "sweeper_internal.h"

int sw_digest_check(const refraft_ref *ref, const void *bytes, size_t len,
                    bool *ok)
{
    *ok = false;
    /* A peer may send anything: the length is checked first, so a huge
     * or short answer costs no hashing. */
    if ((uint64_t)len != ref->size || (bytes == NULL && len > 0))
        return 0;
    uint8_t digest[REFRAFT_DIGEST_LEN];
    int rv = refraft_digest(bytes, len, digest);
    if (rv != 0)
        return rv;
    *ok = memcmp(digest, ref->digest, REFRAFT_DIGEST_LEN) == 0;
    return 0;
}
