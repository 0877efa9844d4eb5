/* rng.c - tests for the deterministic generator. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "sim/rng.h"

#include "check.h"

#define N 200000

static void
test_reference(void)
{
	/* xoshiro256** from the state {1, 2, 3, 4}: the reference implementation's outputs. */
	struct rng r = { { 1, 2, 3, 4 } };

	CHECK(rng_next(&r) == UINT64_C(11520));
	CHECK(rng_next(&r) == UINT64_C(0));
	CHECK(rng_next(&r) == UINT64_C(1509978240));
	CHECK(rng_next(&r) == UINT64_C(1215971899390074240));
}

static void
test_determinism(void)
{
	struct rng a, b, c, d;
	int i, same = 1, differ_stream = 0, differ_sub = 0;

	rng_seed(&a, 42, 7, 3);
	rng_seed(&b, 42, 7, 3);
	rng_seed(&c, 42, 8, 3);
	rng_seed(&d, 42, 7, 4);
	for (i = 0; i < 1000; i++) {
		uint64_t x = rng_next(&a);

		same &= x == rng_next(&b);
		differ_stream += x != rng_next(&c);
		differ_sub += x != rng_next(&d);
	}
	CHECK(same);
	CHECK(differ_stream > 990);
	CHECK(differ_sub > 990);
	CHECK(a.s[0] != 0 || a.s[1] != 0 || a.s[2] != 0 || a.s[3] != 0);

	CHECK(rng_hash(1, 2, 3) == rng_hash(1, 2, 3));
	CHECK(rng_hash(1, 2, 3) != rng_hash(2, 1, 3));
	CHECK(rng_hash(1, 2, 3) != rng_hash(1, 3, 2));
	CHECK(rng_hash(0, 0, 0) != 0);
	CHECK(rng_hash(0, 0, 0) != rng_hash(0, 0, 1));

	/* Seeding with all zeros must still give a working generator. */
	rng_seed(&a, 0, 0, 0);
	CHECK(rng_next(&a) != rng_next(&a));
}

static void
test_double(void)
{
	struct rng r;
	double sum = 0.0, x, lo = 1.0, hi = 0.0;
	int i, ok = 1;

	rng_seed(&r, 1, 2, 3);
	for (i = 0; i < N; i++) {
		x = rng_double(&r);
		ok &= x >= 0.0 && x < 1.0;
		sum += x;
		lo = x < lo ? x : lo;
		hi = x > hi ? x : hi;
	}
	CHECK(ok);
	CHECK(fabs(sum / N - 0.5) < 0.005);
	CHECK(lo < 0.001 && hi > 0.999);
}

static void
test_below(void)
{
	struct rng r;
	unsigned counts[7] = { 0 };
	uint32_t x, big = UINT32_C(3) << 30;
	int i, ok = 1, low = 0, one = 1;
	double chi = 0.0, e = N / 7.0;

	rng_seed(&r, 5, 0, 0);
	for (i = 0; i < N; i++) {
		x = rng_below(&r, 7);
		ok &= x < 7;
		counts[x < 7 ? x : 0]++;
	}
	CHECK(ok);
	for (i = 0; i < 7; i++)
		chi += (counts[i] - e) * (counts[i] - e) / e;
	CHECK(chi < 30.0); /* 6 degrees of freedom: p < 1e-4 */

	for (i = 0; i < 1000; i++)
		one &= rng_below(&r, 1) == 0;
	CHECK(one);

	/* With n = 3 * 2^30 a plain "x % n" puts half the draws below 2^30; unbiased is 1/3. */
	ok = 1;
	for (i = 0; i < N; i++) {
		x = rng_below(&r, big);
		ok &= x < big;
		low += x < (UINT32_C(1) << 30);
	}
	CHECK(ok);
	CHECK(fabs((double)low / N - 1.0 / 3.0) < 0.01);

	ok = 1;
	for (i = 0; i < 10000; i++)
		ok &= rng_below(&r, UINT32_MAX) < UINT32_MAX;
	CHECK(ok);
}

static void
test_weighted(void)
{
	static const float w[5] = { 1.0f, 0.0f, 3.0f, 6.0f, 0.0f };
	static const float zero[3] = { 0.0f, 0.0f, 0.0f };
	static const float only[4] = { 0.0f, 0.0f, 0.0f, 2.5f };
	unsigned counts[5] = { 0 }, k;
	struct rng r;
	int i, ok = 1, all_last = 1;

	rng_seed(&r, 9, 9, 9);
	for (i = 0; i < N; i++) {
		k = rng_weighted(&r, w, 5);
		ok &= k < 5;
		counts[k < 5 ? k : 1]++;
	}
	CHECK(ok);
	CHECK(counts[1] == 0 && counts[4] == 0);
	CHECK(fabs(counts[0] / (double)N - 0.1) < 0.005);
	CHECK(fabs(counts[2] / (double)N - 0.3) < 0.008);
	CHECK(fabs(counts[3] / (double)N - 0.6) < 0.008);

	ok = 1;
	for (i = 0; i < 1000; i++) {
		ok &= rng_weighted(&r, zero, 3) < 3;
		all_last &= rng_weighted(&r, only, 4) == 3;
	}
	CHECK(ok);
	CHECK(all_last);
}

static void
test_normal(void)
{
	struct rng r, r2;
	double x, sum = 0.0, sq = 0.0, mean, var, within = 0.0;
	double lsum = 0.0;
	int i, ok = 1, below = 0;

	rng_seed(&r, 3, 1, 4);
	for (i = 0; i < N; i++) {
		x = rng_normal(&r);
		ok &= isfinite(x);
		sum += x;
		sq += x * x;
		within += fabs(x) < 1.0;
	}
	mean = sum / N;
	var = sq / N - mean * mean;
	CHECK(ok);
	CHECK(fabs(mean) < 0.01);
	CHECK(fabs(var - 1.0) < 0.02);
	CHECK(fabs(within / N - 0.6827) < 0.005);

	/* No hidden state: two generators with equal states give equal normals. */
	rng_seed(&r, 8, 8, 8);
	rng_seed(&r2, 8, 8, 8);
	(void)rng_normal(&r);
	(void)rng_normal(&r2);
	CHECK(rng_normal(&r) == rng_normal(&r2));

	/* Lognormal: the median is exp(mu), the log's spread is sigma. */
	for (i = 0; i < N; i++) {
		x = rng_lognormal(&r, log(3.0), 0.5);
		below += x < 3.0;
		lsum += log(x);
	}
	CHECK(fabs((double)below / N - 0.5) < 0.01);
	CHECK(fabs(lsum / N - log(3.0)) < 0.01);
}

static void
test_poisson(void)
{
	static const double means[] = { 0.5, 3.0, 12.0, 45.0 };
	struct rng r;
	double sum, sq, mean, var;
	unsigned m;
	int i, zero = 1;

	rng_seed(&r, 11, 0, 1);
	for (m = 0; m < sizeof(means) / sizeof(means[0]); m++) {
		sum = sq = 0.0;
		for (i = 0; i < 50000; i++) {
			uint32_t k = rng_poisson(&r, means[m]);

			sum += k;
			sq += (double)k * k;
		}
		mean = sum / 50000;
		var = sq / 50000 - mean * mean;
		CHECK(fabs(mean - means[m]) < 0.05 * means[m] + 0.02);
		CHECK(fabs(var - means[m]) < 0.1 * means[m] + 0.05);
	}
	for (i = 0; i < 100; i++)
		zero &= rng_poisson(&r, 0.0) == 0 && rng_poisson(&r, -1.0) == 0;
	CHECK(zero);
	/* Above the documented range: still terminates with a sensible value. */
	m = rng_poisson(&r, 500.0);
	CHECK(m > 350 && m < 650);
}

int
main(void)
{
	test_reference();
	test_determinism();
	test_double();
	test_below();
	test_weighted();
	test_normal();
	test_poisson();
	return CHECK_DONE();
}
