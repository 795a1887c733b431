/* prng.c - xoshiro256** seeded through splitmix64 (Blackman and Vigna). */
#include "prng.h"

/* splitmix64 spreads a small seed over all 256 bits of state; xoshiro must
 * never start from an all-zero state, and splitmix cannot produce one. */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

void prng_seed(prng *p, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03u);
    for (int i = 0; i < 4; i++)
        p->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t prng_next(prng *p)
{
    uint64_t *s = p->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Plain modulo: for the small ranges a simulation draws from, its bias
 * (below n / 2^64) is far below anything a run could notice. */
uint64_t prng_below(prng *p, uint64_t n)
{
    return prng_next(p) % n;
}

uint64_t prng_range(prng *p, uint64_t lo, uint64_t hi)
{
    return lo + prng_below(p, hi - lo + 1);
}

bool prng_chance(prng *p, uint32_t per_mille)
{
    return prng_below(p, 1000) < per_mille;
}
