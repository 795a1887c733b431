/* checks.c - checks of ids, references and members, shared by the core,
 * the wire codec and the log implementations. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/node.h"

int validate_fail(char *errbuf, size_t errbuf_len, int code, const char *fmt,
                  ...)
{
    if (errbuf != NULL && errbuf_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errbuf_len, fmt, ap);
        va_end(ap);
    }
    return code;
}

int validate_id(const char *id, const char *what, char *errbuf,
                size_t errbuf_len)
{
    if (id == NULL)
        return validate_fail(errbuf, errbuf_len, REFRAFT_EINVAL, "%s is NULL",
                             what);
    size_t len = 0;
    while (len <= REFRAFT_ID_MAX && id[len] != '\0')
        len++;
    if (len == 0)
        return validate_fail(errbuf, errbuf_len, REFRAFT_EINVAL, "%s is empty",
                             what);
    if (len > REFRAFT_ID_MAX)
        return validate_fail(errbuf, errbuf_len, REFRAFT_EINVAL,
                             "%s is longer than %d bytes", what,
                             REFRAFT_ID_MAX);
    return 0;
}

int validate_ref(const refraft_ref *ref, char *errbuf, size_t errbuf_len)
{
    if (ref->id == NULL || ref->id_len == 0)
        return validate_fail(errbuf, errbuf_len, REFRAFT_EINVAL,
                             "reference has no record id");
    if (ref->id_len > REFRAFT_RECORD_ID_MAX)
        return validate_fail(errbuf, errbuf_len, REFRAFT_EINVAL,
                             "record id of %u bytes is longer than %d bytes",
                             (unsigned)ref->id_len, REFRAFT_RECORD_ID_MAX);
    return 0;
}

int refraft_check_members(const refraft_member *members, size_t n, char *errbuf,
                          size_t errbuf_len)
{
    if (n == 0 || n > REFRAFT_MAX_PEERS)
        return validate_fail(errbuf, errbuf_len, REFRAFT_EINVAL,
                             "a configuration has %zu members, not 1 to %d", n,
                             REFRAFT_MAX_PEERS);
    if (members == NULL)
        return validate_fail(errbuf, errbuf_len, REFRAFT_EINVAL,
                             "members is NULL");
    bool voter = false;
    for (size_t i = 0; i < n; i++) {
        const refraft_member *m = &members[i];
        int rv = validate_id(m->id, "member id", errbuf, errbuf_len);
        if (rv != 0)
            return rv;
        if (m->address != NULL && strlen(m->address) > REFRAFT_ADDRESS_MAX)
            return validate_fail(
                errbuf, errbuf_len, REFRAFT_EINVAL,
                "member \"%s\" has an address longer than %d bytes", m->id,
                REFRAFT_ADDRESS_MAX);
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->id, members[j].id) == 0)
                return validate_fail(errbuf, errbuf_len, REFRAFT_EINVAL,
                                     "member \"%s\" is listed twice", m->id);
        voter |= m->voter;
    }
    if (!voter)
        return validate_fail(errbuf, errbuf_len, REFRAFT_EINVAL,
                             "a configuration needs at least one voter");
    return 0;
}
