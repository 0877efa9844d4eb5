/*
 * rng.c - deterministic random numbers.
 *
 * xoshiro256** (Blackman and Vigna) for the stream, splitmix64 to expand a
 * 64-bit key into its 256-bit state.  Nothing here keeps hidden state: every
 * draw depends only on the struct rng passed in, which is what lets an agent's
 * choices be a pure function of (seed, agent, cycle).
 */
#include <math.h>
#include <stdint.h>

#include "sim/rng.h"

#define RNG_GOLDEN UINT64_C(0x9e3779b97f4a7c15)

static uint64_t
rng_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint64_t
rng_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t
rng_hash(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t h;

	/* Each word goes through a full finaliser, so (a, b, c) and (b, a, c) differ. */
	h = rng_mix(a + RNG_GOLDEN);
	h = rng_mix(h ^ (b + 2 * RNG_GOLDEN));
	return rng_mix(h ^ (c + 3 * RNG_GOLDEN));
}

void
rng_seed(struct rng *r, uint64_t seed, uint64_t stream, uint64_t sub)
{
	uint64_t x = rng_hash(seed, stream, sub);
	int i;

	/* splitmix64 outputs four distinct values, so the state is never all zero. */
	for (i = 0; i < 4; i++) {
		x += RNG_GOLDEN;
		r->s[i] = rng_mix(x);
	}
}

uint64_t
rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rng_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rng_rotl(s[3], 45);
	return result;
}

double
rng_double(struct rng *r)
{
	/* The top 53 bits fill a double's mantissa exactly. */
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

uint32_t
rng_below(struct rng *r, uint32_t n)
{
	uint64_t m;
	uint32_t l, t;

	if (n == 0)
		return 0;
	/* Lemire's multiply-and-reject: unbiased with rarely more than one draw. */
	m = (rng_next(r) >> 32) * (uint64_t)n;
	l = (uint32_t)m;
	if (l < n) {
		t = (uint32_t)(-n) % n;
		while (l < t) {
			m = (rng_next(r) >> 32) * (uint64_t)n;
			l = (uint32_t)m;
		}
	}
	return (uint32_t)(m >> 32);
}

double
rng_normal(struct rng *r)
{
	double u1, u2;

	/*
	 * Box-Muller, using only the cosine half: keeping the sine half for the
	 * next call would need state outside the four words, and a draw that
	 * depends on the previous call's parity breaks replays.
	 */
	u1 = 1.0 - rng_double(r); /* (0, 1]: log(u1) is finite */
	u2 = rng_double(r);
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

double
rng_lognormal(struct rng *r, double mu, double sigma)
{
	return exp(mu + sigma * rng_normal(r));
}

uint32_t
rng_poisson(struct rng *r, double mean)
{
	double limit, prod, x;
	uint32_t k;

	if (!(mean > 0.0))
		return 0;
	if (mean > 50.0) {
		/* Outside the documented range: a normal approximation, never a hang. */
		x = floor(mean + sqrt(mean) * rng_normal(r) + 0.5);
		if (x < 0.0)
			return 0;
		return x > 4e9 ? UINT32_C(4000000000) : (uint32_t)x;
	}
	/* Knuth: count uniforms until their product drops below e^-mean. */
	limit = exp(-mean);
	prod = rng_double(r);
	for (k = 0; prod > limit; k++)
		prod *= rng_double(r);
	return k;
}

unsigned
rng_weighted(struct rng *r, const float *weights, unsigned n)
{
	double total = 0.0, x;
	unsigned i, last = 0;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (weights[i] > 0.0f && isfinite(weights[i])) {
			total += weights[i];
			last = i;
		}
	}
	if (!(total > 0.0))
		return rng_below(r, n);
	x = rng_double(r) * total;
	for (i = 0; i < n; i++) {
		if (!(weights[i] > 0.0f && isfinite(weights[i])))
			continue;
		if (x < weights[i])
			return i;
		x -= weights[i];
	}
	/* Rounding left x just above the last weight: that is the last positive one. */
	return last;
}
