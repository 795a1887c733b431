/* prng.h - seeded pseudo-random numbers for the deterministic simulator. */
#ifndef REFRAFT_SIM_PRNG_H
#define REFRAFT_SIM_PRNG_H

#include <stdbool.h>
#include <stdint.h>

/* xoshiro256** state.  The same seed always yields the same sequence, which
 * is what makes a failing run reproducible from its seed alone. */
typedef struct prng {
    uint64_t s[4];
} prng;

/* Seed from one 64-bit value; stream separates independent sequences drawn
 * from the same seed (network, timers, schedule, ...), so that drawing more
 * numbers in one concern does not shift the others. */
void prng_seed(prng *p, uint64_t seed, uint64_t stream);

uint64_t prng_next(prng *p);

/* Uniform in [0, n); n must be positive. */
uint64_t prng_below(prng *p, uint64_t n);

/* Uniform in [lo, hi]; lo <= hi. */
uint64_t prng_range(prng *p, uint64_t lo, uint64_t hi);

/* True with probability per_mille / 1000. */
bool prng_chance(prng *p, uint32_t per_mille);

#endif /* REFRAFT_SIM_PRNG_H */
