/* members.c - node ids and configurations as the simulator keeps them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "entry.h"
#include "members.h"

void sim_id_format(char *buf, size_t len, int slot, uint32_t gen)
{
    if (gen == 0)
        snprintf(buf, len, "n%d", slot + 1);
    else
        snprintf(buf, len, "n%d.%u", slot + 1, gen);
}

static bool parse_uint(const char *s, const char **end, unsigned long *out)
{
    if (*s < '0' || *s > '9')
        return false;
    char *e = NULL;
    *out = strtoul(s, &e, 10);
    *end = e;
    return true;
}

bool sim_id_parse(const char *id, int *slot, uint32_t *gen)
{
    if (id == NULL || id[0] != 'n')
        return false;
    const char *end = NULL;
    unsigned long k = 0, g = 0;
    if (!parse_uint(id + 1, &end, &k) || k < 1 || k > 64)
        return false;
    if (*end == '.') {
        if (!parse_uint(end + 1, &end, &g) || g == 0 || g > UINT32_MAX)
            return false;
    }
    if (*end != '\0')
        return false;
    *slot = (int)k - 1;
    *gen = (uint32_t)g;
    return true;
}

void sim_address_format(char *buf, size_t len, const char *id)
{
    snprintf(buf, len, "sim://%s", id);
}

static uint64_t hash_members(const refraft_member *m, size_t n, bool addresses)
{
    uint64_t h = sim_hash_bytes(SIM_HASH_START, &n, sizeof(n));
    for (size_t i = 0; i < n; i++) {
        const char *id = m[i].id != NULL ? m[i].id : "";
        h = sim_hash_bytes(h, id, strlen(id) + 1);
        if (addresses) {
            const char *a = m[i].address != NULL ? m[i].address : "";
            h = sim_hash_bytes(h, a, strlen(a) + 1);
        }
        uint8_t v = m[i].voter ? 1 : 0;
        h = sim_hash_bytes(h, &v, 1);
    }
    return sim_hash_mix(h);
}

uint64_t members_hash(const refraft_member *m, size_t n)
{
    return hash_members(m, n, true);
}

void sim_conf_from(sim_conf *c, refraft_index index, refraft_term term,
                   const refraft_member *m, size_t n)
{
    memset(c, 0, sizeof(*c));
    c->index = index;
    c->term = term;
    if (n > REFRAFT_MAX_PEERS || (n > 0 && m == NULL))
        n = 0;
    c->n = (uint8_t)n;
    c->hash = hash_members(m, n, true);
    c->ids_hash = hash_members(m, n, false);
    for (size_t i = 0; i < n; i++) {
        int slot = -1;
        uint32_t gen = 0;
        if (!sim_id_parse(m[i].id, &slot, &gen))
            slot = -1;
        c->m[i] = (conf_member){
            .slot = (int8_t)slot, .voter = m[i].voter, .gen = gen};
        c->n_voters += m[i].voter;
    }
}

void sim_conf_of_node(sim_conf *c, const refraft_node *rn)
{
    refraft_member m[REFRAFT_MAX_PEERS];
    size_t n = refraft_n_members(rn);
    if (n > REFRAFT_MAX_PEERS)
        n = REFRAFT_MAX_PEERS;
    for (size_t i = 0; i < n; i++) {
        if (refraft_member_get(rn, i, &m[i]) != 0)
            m[i] = (refraft_member){.id = "?", .address = ""};
    }
    sim_conf_from(c, refraft_config_index(rn), 0, m, n);
}

bool sim_conf_same_members(const sim_conf *a, const sim_conf *b,
                           bool with_addresses)
{
    if (a->n != b->n)
        return false;
    return with_addresses ? a->hash == b->hash : a->ids_hash == b->ids_hash;
}

static const conf_member *find(const sim_conf *c, int slot, uint32_t gen)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->m[i].slot == slot && c->m[i].gen == gen)
            return &c->m[i];
    }
    return NULL;
}

bool sim_conf_has(const sim_conf *c, int slot, uint32_t gen)
{
    return find(c, slot, gen) != NULL;
}

bool sim_conf_votes(const sim_conf *c, int slot, uint32_t gen)
{
    const conf_member *m = find(c, slot, gen);
    return m != NULL && m->voter;
}

void sim_conf_describe(const sim_conf *c, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    if (c->n == 0)
        snprintf(buf, len, "(empty)");
    for (size_t i = 0; i < c->n && used < len; i++) {
        char id[SIM_ID_LEN];
        if (c->m[i].slot >= 0)
            sim_id_format(id, sizeof(id), c->m[i].slot, c->m[i].gen);
        else
            snprintf(id, sizeof(id), "?");
        int w = snprintf(buf + used, len - used, "%s%s%s", i > 0 ? " " : "", id,
                         c->m[i].voter ? "" : "~");
        if (w < 0)
            break;
        used += (size_t)w;
    }
}
