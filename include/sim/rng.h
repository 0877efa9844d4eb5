/* rng.h - deterministic random numbers: xoshiro256** seeded by splitmix64. */
#ifndef SIM_RNG_H
#define SIM_RNG_H

#include <stdint.h>

struct rng {
	uint64_t s[4];
};

/* Mixes up to three 64-bit words into one well-spread word (splitmix64 finaliser). */
uint64_t rng_hash(uint64_t a, uint64_t b, uint64_t c);

/*
 * Seeds a generator from (seed, stream, sub): the engine uses
 * (run seed, agent index, cycle) so that every choice an agent makes in a
 * cycle is a pure function of those three, whatever the timing.
 */
void rng_seed(struct rng *r, uint64_t seed, uint64_t stream, uint64_t sub);
uint64_t rng_next(struct rng *r);
double rng_double(struct rng *r);              /* uniform in [0, 1) */
uint32_t rng_below(struct rng *r, uint32_t n); /* uniform in [0, n), n > 0, unbiased */
double rng_normal(struct rng *r);              /* standard normal */
double rng_lognormal(struct rng *r, double mu, double sigma);
uint32_t rng_poisson(struct rng *r, double mean); /* mean <= 50 */
/* Index drawn with probability weights[i] / sum(weights); n > 0, weights >= 0. */
unsigned rng_weighted(struct rng *r, const float *weights, unsigned n);

#endif
