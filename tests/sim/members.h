/* members.h - node ids and configurations as the simulator keeps them:
 * compact, hashed, comparable. */
#ifndef REFRAFT_SIM_MEMBERS_H
#define REFRAFT_SIM_MEMBERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "refraft/refraft.h"

/*
 * Node ids.  Slot i (0-based) runs the server "n<i+1>"; when a removed
 * server's disk is wiped and the slot comes back as a brand-new server,
 * that server is the slot's next generation g and its id is "n<i+1>.<g>".
 * A server that lost its disk never comes back under its old id: old
 * configurations still name that id as a voter, and a server that
 * replayed them from an empty log could count its own fresh vote, or
 * lead alone, where the old one had voted or held entries.
 */
#define SIM_ID_LEN 24

void sim_id_format(char *buf, size_t len, int slot, uint32_t gen);

/* Parse an id of the form above: false for anything else. */
bool sim_id_parse(const char *id, int *slot, uint32_t *gen);

/* The address a simulated server gives for itself (opaque to the core). */
void sim_address_format(char *buf, size_t len, const char *id);

/* A member: the slot and generation its id names (slot -1: an id the
 * simulator never gave out), and whether it votes. */
typedef struct conf_member {
    int8_t slot;
    bool voter;
    uint32_t gen;
} conf_member;

/* A configuration: the CONFIG entry it comes from (index 0: a node's
 * initial configuration), and a hash of its members' ids, addresses and
 * voter flags, in order, which is what two configurations are compared
 * by. */
typedef struct sim_conf {
    refraft_index index;
    refraft_term term;
    uint64_t hash;
    uint64_t ids_hash; /* the same without the addresses */
    uint8_t n;
    uint8_t n_voters;
    conf_member m[REFRAFT_MAX_PEERS];
} sim_conf;

/* The hash of n members (also part of a CONFIG entry's signature). */
uint64_t members_hash(const refraft_member *m, size_t n);

void sim_conf_from(sim_conf *c, refraft_index index, refraft_term term,
                   const refraft_member *m, size_t n);

/* The configuration node rn says it goes by (refraft_config_index and
 * refraft_member_get); its term is left 0. */
void sim_conf_of_node(sim_conf *c, const refraft_node *rn);

/* Same members, in the same order, with the same addresses and flags;
 * with_addresses false: whatever their addresses (a node fills in the
 * addresses of its initial configuration as it likes). */
bool sim_conf_same_members(const sim_conf *a, const sim_conf *b,
                           bool with_addresses);

bool sim_conf_has(const sim_conf *c, int slot, uint32_t gen);
bool sim_conf_votes(const sim_conf *c, int slot, uint32_t gen);

/* "n1 n2 n4~" (~: a learner), cut to fit buf. */
void sim_conf_describe(const sim_conf *c, char *buf, size_t len);

#endif /* REFRAFT_SIM_MEMBERS_H */
