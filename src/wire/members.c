/* members.c - configuration members to protobuf and back: the members of
 * CONFIG entries and of a snapshot's meta travel the same way. */
#include <stdio.h>
#include <string.h>

#include "wire/internal.h"

ProtobufCBinaryData wire_id_bytes(const char *id)
{
    ProtobufCBinaryData b = {strlen(id), (uint8_t *)id};
    return b;
}

void wire_members_to_pb(const refraft_member *m, size_t n, Refraft__Member *pm,
                        Refraft__Member **pp)
{
    for (size_t k = 0; k < n; k++) {
        refraft__member__init(&pm[k]);
        wire_set_present(&pm[k].base);
        pm[k].id = wire_id_bytes(m[k].id);
        const char *address = m[k].address != NULL ? m[k].address : "";
        pm[k].address = wire_id_bytes(address);
        pm[k].voter = m[k].voter;
        pp[k] = &pm[k];
    }
}

size_t wire_members_string_bytes(Refraft__Member *const *pb, size_t n)
{
    size_t bytes = 0;
    for (size_t k = 0; k < n; k++)
        bytes += pb[k]->id.len + pb[k]->address.len + 2;
    return bytes;
}

/* Copy len bytes to the cursor *strings as a C string. */
static const char *copy_string(char **strings, const uint8_t *data, size_t len)
{
    char *out = *strings;
    if (len > 0)
        memcpy(out, data, len);
    out[len] = '\0';
    *strings += len + 1;
    return out;
}

int wire_members_from_pb(Refraft__Member *const *pb, size_t n,
                         const char *where, refraft_member *out, char **strings,
                         wire_err *err)
{
    for (size_t k = 0; k < n; k++) {
        const Refraft__Member *m = pb[k];
        char what[64];
        snprintf(what, sizeof what, "%s member %zu", where, k);
        int rv = wire_check_present(&m->base, what, err);
        if (rv == 0)
            rv = wire_check_node_id(m->id.data, m->id.len, what, err);
        if (rv != 0)
            return rv;
        if (m->address.len > REFRAFT_ADDRESS_MAX ||
            (m->address.len > 0 &&
             memchr(m->address.data, '\0', m->address.len) != NULL))
            return wire_bad(err,
                            "%s: address of %zu bytes is over %d or holds "
                            "a NUL",
                            what, m->address.len, REFRAFT_ADDRESS_MAX);
        out[k].id = copy_string(strings, m->id.data, m->id.len);
        out[k].address = copy_string(strings, m->address.data, m->address.len);
        out[k].voter = m->voter != 0;
    }
    return 0;
}
