/*
 * backoff.c - the retry policy: the figures engine.c has always used, the caps,
 * jitter, Retry-After, huge attempt counts and the retry decision.
 */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "sim/backoff.h"
#include "sim/rng.h"

#include "check.h"

#define TRANSIENT_CAP_MS 2000

/* simd's step policy for a given retry_backoff_ms, as the engine builds it. */
static struct backoff_policy
simd_policy(unsigned base_ms)
{
	struct backoff_policy p = {
		.base = base_ms / 1000.0,
		.factor = 2.0,
		.max_exponent = 10,
		.cap = 0.0,
		.cap_transient = TRANSIENT_CAP_MS / 1000.0,
		.jitter = 0.0,
		.max_retries = 3,
		.window = 30.0,
		.retry_after_max = 60.0,
	};

	return p;
}

/* engine.c's session_retry(), verbatim: the numbers jitter 0 must reproduce. */
static uint64_t
engine_delay_ms(unsigned base_ms, unsigned attempts, int transient)
{
	unsigned shift = attempts > 10 ? 10 : attempts - 1;
	uint64_t ms = (uint64_t)base_ms << shift;

	if (transient && ms > TRANSIENT_CAP_MS)
		ms = TRANSIENT_CAP_MS;
	return ms;
}

static void
test_engine_figures(void)
{
	static const unsigned bases[] = { 1, 7, 100, 333, 1000, 60000 };
	unsigned i, n;
	int tr, same = 1;

	for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		struct backoff_policy p = simd_policy(bases[i]);

		for (n = 1; n <= 40; n++)
			for (tr = 0; tr <= 1; tr++)
				same &= backoff_delay(&p, n, tr, 0.0) ==
				    (double)engine_delay_ms(bases[i], n, tr) / 1000.0;
	}
	CHECK(same);

	struct backoff_policy p = simd_policy(100);

	CHECK(backoff_delay(&p, 1, 1, 0.0) == 0.1);
	CHECK(backoff_delay(&p, 5, 1, 0.0) == 1.6);
	CHECK(backoff_delay(&p, 6, 1, 0.0) == 2.0);
	CHECK(backoff_delay(&p, 6, 0, 0.0) == 3.2);
	CHECK(backoff_delay(&p, 11, 0, 0.0) == 102.4);
	CHECK(backoff_delay(&p, 12, 0, 0.0) == 102.4); /* growth stops at 2^10 */
	CHECK(backoff_delay(&p, 0, 0, 0.0) == 0.1);    /* 0 counts as the first */
}

static void
test_caps_and_overflow(void)
{
	struct backoff_policy p = simd_policy(100);
	int ok = 1;
	unsigned n;

	p.cap = 5.0;
	CHECK(backoff_delay(&p, 7, 0, 0.0) == 5.0);
	CHECK(backoff_delay(&p, 7, 1, 0.0) == 2.0); /* the transient cap is tighter */
	p.cap_transient = 0.0;                      /* 0: the general cap applies */
	CHECK(backoff_delay(&p, 7, 1, 0.0) == 5.0);

	/* Unbounded growth: huge attempt counts neither overflow nor pass the ceiling. */
	p = simd_policy(60000);
	p.max_exponent = UINT_MAX;
	p.factor = 1000.0;
	for (n = 1; n < 100; n++) {
		double d = backoff_delay(&p, n, 0, 0.0);

		ok &= isfinite(d) && d > 0.0 && d <= BACKOFF_DELAY_MAX;
	}
	CHECK(ok);
	CHECK(backoff_delay(&p, UINT_MAX, 0, 0.0) == BACKOFF_DELAY_MAX);
	CHECK(backoff_delay(&p, UINT_MAX, 1, 0.0) == 2.0);
	p.factor = 2.0;
	CHECK(backoff_delay(&p, UINT_MAX, 0, 0.0) == BACKOFF_DELAY_MAX);
	CHECK(backoff_delay(&p, 3, 0, 0.0) == 240.0);
	p.factor = 1.0; /* constant delay */
	CHECK(backoff_delay(&p, UINT_MAX, 0, 0.0) == 60.0);
}

static void
test_jitter(void)
{
	struct backoff_policy p = simd_policy(100);
	struct rng r;
	double d, sum = 0.0, lo = 1e9, hi = 0.0;
	int i, ok = 1;

	p.jitter = 0.5;
	CHECK(backoff_delay(&p, 3, 0, 0.0) == 0.4); /* u = 0: no jitter */
	CHECK(fabs(backoff_delay(&p, 3, 0, 0.5) - 0.3) < 1e-12);
	CHECK(backoff_delay(&p, 3, 0, -1.0) == 0.4); /* nonsense u: no jitter */
	CHECK(backoff_delay(&p, 3, 0, NAN) == 0.4);
	CHECK(backoff_delay(&p, 3, 0, 7.0) == 0.2); /* counts as 1 */
	rng_seed(&r, 1, 2, 3);
	for (i = 0; i < 10000; i++) {
		d = backoff_delay(&p, 9, 1, rng_double(&r));
		ok &= d > 1.0 && d <= 2.0; /* jitter never lifts past the cap */
		sum += d;
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	CHECK(ok);
	CHECK(fabs(sum / 10000 - 1.5) < 0.02); /* (1 - jitter / 2) * cap */
	CHECK(lo < 1.01 && hi > 1.99);
	p.jitter = 1.0; /* "full jitter": [0, d) */
	CHECK(backoff_delay(&p, 1, 0, 0.999) < 0.001);
	CHECK(backoff_delay(&p, 1, 0, 0.999) >= 0.0);
}

static void
test_retry_after(void)
{
	struct backoff_policy p = simd_policy(100);

	CHECK(backoff_delay_after(&p, 1, 1, 0.0, -1.0) == 0.1); /* none given */
	CHECK(backoff_delay_after(&p, 1, 1, 0.0, NAN) == 0.1);
	CHECK(backoff_delay_after(&p, 1, 1, 0.0, 0.0) == 0.1);
	CHECK(backoff_delay_after(&p, 1, 1, 0.0, 5.0) == 5.0);     /* the server's is longer */
	CHECK(backoff_delay_after(&p, 5, 1, 0.0, 0.5) == 1.6);     /* ours is longer */
	CHECK(backoff_delay_after(&p, 1, 1, 0.0, 3600.0) == 60.0); /* bounded */
	CHECK(backoff_delay_after(&p, 1, 1, 0.0, INFINITY) == 60.0);
	p.jitter = 1.0; /* jitter never undercuts it */
	CHECK(backoff_delay_after(&p, 20, 1, 0.9, 1.5) == 1.5);
	p.retry_after_max = 0.0; /* 0: never honoured */
	CHECK(backoff_delay_after(&p, 1, 0, 0.0, 5.0) == 0.1);
}

static void
test_decision(void)
{
	struct backoff_policy p = simd_policy(100);

	/* engine.c: attempts <= max_retries, or transient and inside the window. */
	CHECK(backoff_should_retry(&p, 1, 0, 0.0, 1000.0));
	CHECK(backoff_should_retry(&p, 3, 0, 0.0, 1000.0));
	CHECK(!backoff_should_retry(&p, 4, 0, 0.0, 0.0));
	CHECK(backoff_should_retry(&p, 4, 1, 10.0, 39.999));
	CHECK(!backoff_should_retry(&p, 4, 1, 10.0, 40.0));      /* window is half-open */
	CHECK(backoff_should_retry(&p, 1000000, 1, 10.0, 20.0)); /* the window, not a count */
	p.window = 0.0;
	CHECK(!backoff_should_retry(&p, 4, 1, 10.0, 10.0));
	p.max_retries = 0; /* the set-up: transient only */
	p.window = 30.0;
	CHECK(!backoff_should_retry(&p, 1, 0, 0.0, 0.0));
	CHECK(backoff_should_retry(&p, 1, 1, 0.0, 0.0));
}

static void
test_state(void)
{
	struct backoff_policy p = simd_policy(100);
	struct backoff_state st;
	double now = 0.0, d = -1.0, slept = 0.0;
	int retries = 0;

	backoff_reset(&st);
	CHECK(st.attempts == 0);
	CHECK(backoff_failed(&st, 5.0) == 1 && st.first_fail == 5.0);
	CHECK(backoff_failed(&st, 6.0) == 2 && st.first_fail == 5.0);
	st.attempts = UINT_MAX;
	CHECK(backoff_failed(&st, 7.0) == UINT_MAX); /* saturates */

	/* A step failing for good: 3 retries after 0.1, 0.2, 0.4 s, then no more. */
	backoff_reset(&st);
	CHECK(backoff_next(&p, &st, 0, 0.0, 0.0, -1.0, &d) && d == 0.1);
	CHECK(backoff_next(&p, &st, 0, 0.1, 0.0, -1.0, &d) && d == 0.2);
	CHECK(backoff_next(&p, &st, 0, 0.3, 0.0, -1.0, &d) && d == 0.4);
	d = -1.0;
	CHECK(!backoff_next(&p, &st, 0, 0.7, 0.0, -1.0, &d) && d == -1.0);

	/* An outage: retried every 2 s at most until 30 s after the first failure. */
	backoff_reset(&st);
	while (backoff_next(&p, &st, 1, now, 0.0, -1.0, &d)) {
		retries++;
		now += d;
		slept = d > slept ? d : slept;
	}
	CHECK(now >= 30.0 && now < 32.0);
	CHECK(slept == 2.0);
	CHECK(retries == 5 + 14); /* 0.1 .. 1.6 s, then 2 s: the 20th failure is at 31.1 s */
	backoff_reset(&st);       /* the step succeeded: a fresh start */
	CHECK(backoff_next(&p, &st, 1, now, 0.0, -1.0, &d) && d == 0.1);
}

static void
test_check(void)
{
	struct backoff_policy p = simd_policy(100), q;
	char err[128];

	CHECK(backoff_policy_check(&p, err, sizeof(err)) == 0);
	q = p, q.base = 0.0;
	CHECK(backoff_policy_check(&q, err, sizeof(err)) == -1 && strstr(err, "base"));
	q = p, q.base = NAN;
	CHECK(backoff_policy_check(&q, err, sizeof(err)) == -1 && strstr(err, "base"));
	q = p, q.factor = 0.5;
	CHECK(backoff_policy_check(&q, err, sizeof(err)) == -1 && strstr(err, "factor"));
	q = p, q.cap = -1.0;
	CHECK(backoff_policy_check(&q, err, sizeof(err)) == -1 && strstr(err, "cap"));
	q = p, q.jitter = 1.5;
	CHECK(backoff_policy_check(&q, err, sizeof(err)) == -1 && strstr(err, "jitter"));
	q = p, q.window = INFINITY;
	CHECK(backoff_policy_check(&q, err, sizeof(err)) == -1 && strstr(err, "window"));
	q = p, q.retry_after_max = -1.0;
	CHECK(backoff_policy_check(&q, err, sizeof(err)) == -1 && strstr(err, "retry_after"));
	CHECK(strchr(err, '\n') == NULL);
}

int
main(void)
{
	test_engine_figures();
	test_caps_and_overflow();
	test_jitter();
	test_retry_after();
	test_decision();
	test_state();
	test_check();
	return CHECK_DONE();
}
