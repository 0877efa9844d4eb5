/*
 * backoff.c - the retry policy (see backoff.h).
 *
 * The exponent is bounded before pow() is called, so a huge attempt count costs
 * nothing and cannot overflow; what pow() still makes of an extreme factor
 * (inf) ends at BACKOFF_DELAY_MAX.  Comparisons are written so that a NaN
 * falls on the safe side (no delay, no Retry-After, no jitter).
 */
#include <math.h>
#include <stdio.h>

#include "sim/backoff.h"

static int
bad(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "backoff: %s", what);
	return -1;
}

static int
in_range(double x, double lo, double hi)
{
	return x >= lo && x <= hi; /* false for NaN */
}

int
backoff_policy_check(const struct backoff_policy *p, char *err, size_t errlen)
{
	if (!in_range(p->base, 0.0, BACKOFF_DELAY_MAX) || p->base == 0.0)
		return bad(err, errlen, "base must be above 0 and at most a day");
	if (!in_range(p->factor, 1.0, 1000.0))
		return bad(err, errlen, "factor must be between 1 and 1000");
	if (!in_range(p->cap, 0.0, BACKOFF_DELAY_MAX))
		return bad(err, errlen, "cap must be between 0 (none) and a day");
	if (!in_range(p->cap_transient, 0.0, BACKOFF_DELAY_MAX))
		return bad(err, errlen, "cap_transient must be between 0 (as cap) and a day");
	if (!in_range(p->jitter, 0.0, 1.0))
		return bad(err, errlen, "jitter must be between 0 and 1");
	if (!in_range(p->window, 0.0, BACKOFF_DELAY_MAX))
		return bad(err, errlen, "window must be between 0 and a day");
	if (!in_range(p->retry_after_max, 0.0, BACKOFF_DELAY_MAX))
		return bad(err, errlen, "retry_after_max must be between 0 and a day");
	return 0;
}

/* base * factor^min(n - 1, max_exponent), within [0, BACKOFF_DELAY_MAX]. */
static double
grown(const struct backoff_policy *p, unsigned n)
{
	unsigned k = n > 1 ? n - 1 : 0;
	double d;

	if (k > p->max_exponent)
		k = p->max_exponent;
	d = p->base * pow(p->factor, (double)k);
	if (!(d > 0.0))
		return 0.0;
	return d < BACKOFF_DELAY_MAX ? d : BACKOFF_DELAY_MAX;
}

double
backoff_delay(const struct backoff_policy *p, unsigned n, int transient, double u)
{
	double d = grown(p, n), cap, j;

	cap = transient && p->cap_transient > 0.0 ? p->cap_transient : p->cap;
	if (cap > 0.0 && d > cap)
		d = cap;
	j = p->jitter < 1.0 ? p->jitter : 1.0;
	if (j > 0.0 && u > 0.0) /* u past 1 counts as 1: never below zero */
		d *= 1.0 - j * (u < 1.0 ? u : 1.0);
	return d;
}

double
backoff_delay_after(
    const struct backoff_policy *p, unsigned n, int transient, double u, double retry_after)
{
	double d = backoff_delay(p, n, transient, u);

	if (!(retry_after > 0.0))
		return d;
	if (retry_after > p->retry_after_max)
		retry_after = p->retry_after_max;
	return retry_after > d ? retry_after : d;
}

int
backoff_should_retry(
    const struct backoff_policy *p, unsigned attempts, int transient, double first_fail, double now)
{
	if (attempts <= p->max_retries)
		return 1;
	return transient && now - first_fail < p->window;
}

void
backoff_reset(struct backoff_state *st)
{
	st->attempts = 0;
	st->first_fail = 0.0;
}

unsigned
backoff_failed(struct backoff_state *st, double now)
{
	if (st->attempts == 0)
		st->first_fail = now;
	if (st->attempts < (unsigned)-1)
		st->attempts++;
	return st->attempts;
}

int
backoff_next(const struct backoff_policy *p, struct backoff_state *st, int transient, double now,
    double u, double retry_after, double *delay)
{
	unsigned n = backoff_failed(st, now);

	if (!backoff_should_retry(p, n, transient, st->first_fail, now))
		return 0;
	*delay = backoff_delay_after(p, n, transient, u, retry_after);
	return 1;
}
