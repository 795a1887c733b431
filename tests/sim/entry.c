/* entry.c - compact signatures of log entries. */
#include <stdio.h>
#include <string.h>

#include "entry.h"
#include "members.h"

uint64_t sim_hash_bytes(uint64_t h, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3u;
    }
    return h;
}

uint64_t sim_hash_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static bool has_ref(const refraft_entry *e)
{
    return e->type == REFRAFT_ENTRY_REF || e->type == REFRAFT_ENTRY_ABANDONED;
}

static void make_label(char *label, const refraft_entry *e)
{
    if (e->type == REFRAFT_ENTRY_CONFIG) {
        sim_conf c;
        char who[ENTRY_LABEL_LEN - 4]; /* "cfg " and who fit */
        sim_conf_from(&c, 0, e->term, e->members, e->n_members);
        sim_conf_describe(&c, who, sizeof(who));
        snprintf(label, ENTRY_LABEL_LEN, "cfg %s", who);
        return;
    }
    if (e->type == REFRAFT_ENTRY_VOID) {
        snprintf(label, ENTRY_LABEL_LEN, "void(%llu)",
                 (unsigned long long)e->voided);
        return;
    }
    if (!has_ref(e) || e->ref.id == NULL) {
        snprintf(label, ENTRY_LABEL_LEN, "%s",
                 e->type == REFRAFT_ENTRY_NOOP ? "noop" : "?");
        return;
    }
    const char *prefix = e->type == REFRAFT_ENTRY_ABANDONED ? "abandoned " : "";
    size_t p = strlen(prefix);
    memcpy(label, prefix, p);
    size_t n = e->ref.id_len < ENTRY_LABEL_LEN - 1 - p
                   ? e->ref.id_len
                   : ENTRY_LABEL_LEN - 1 - p;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = e->ref.id[i];
        label[p + i] = (char)(c >= 0x20 && c < 0x7f ? c : '.');
    }
    label[p + n] = '\0';
}

void entry_sig_make(entry_sig *sig, const refraft_entry *e)
{
    uint64_t h = sim_hash_bytes(SIM_HASH_START, &e->type, sizeof(e->type));
    if (has_ref(e)) {
        if (e->ref.id != NULL)
            h = sim_hash_bytes(h, e->ref.id, e->ref.id_len);
        h = sim_hash_bytes(h, &e->ref.size, sizeof(e->ref.size));
        h = sim_hash_bytes(h, e->ref.digest, sizeof(e->ref.digest));
    } else if (e->type == REFRAFT_ENTRY_VOID) {
        h = sim_hash_bytes(h, &e->voided, sizeof(e->voided));
    } else if (e->type == REFRAFT_ENTRY_CONFIG) {
        uint64_t m = members_hash(e->members, e->n_members);
        h = sim_hash_bytes(h, &m, sizeof(m));
    }
    sig->term = e->term;
    sig->type = e->type;
    sig->hash = sim_hash_mix(h);
    make_label(sig->label, e);
}

bool entry_sig_equal(const entry_sig *a, const entry_sig *b)
{
    return a->term == b->term && a->hash == b->hash;
}

void entry_sig_describe(const entry_sig *sig, char *buf, size_t len)
{
    snprintf(buf, len, "term %llu %s", (unsigned long long)sig->term,
             sig->label);
}
