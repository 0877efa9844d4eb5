/*
 * ratelimit.c - the adaptive token bucket (see ratelimit.h).
 *
 * The achieved rate is measured from the grant times of the last RECENT
 * tokens, a ring: enough for a one-second window up to RECENT requests/s, and
 * past that the ring's own span is the window.  A token is granted when the
 * bucket holds 1 - TOKEN_EPS or more, so that a caller who waited exactly the
 * time it was told is not sent back for a rounding error.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "sim/ratelimit.h"

#define RECENT 64
#define TOKEN_EPS 1e-9
#define MEASURE_WINDOW 1.0 /* s, "the last second" of the achieved rate */
#define ROUND_MIN 1.0      /* s, the shortest round of growth */
#define ROUND_TOKENS 3.0   /* token intervals, the shortest round at low rates */
#define SPAN_MIN 1e-3      /* s, the shortest span a rate is measured over */

struct ratelimit {
	struct ratelimit_opts o;
	double rate; /* 0 while unlimited */
	double tokens;
	double last; /* when tokens were last brought up to date */
	double blocked_until;
	double decreased; /* the last decrease; -inf before the first */
	double round_start;
	uint64_t round_granted;
	double created;
	double recent[RECENT]; /* grant times, a ring */
	unsigned nrecent, head;
	struct ratelimit_stats st;
};

static int
bad(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "ratelimit: %s", what);
	return -1;
}

static int
in_range(double x, double lo, double hi)
{
	return x >= lo && x <= hi; /* false for NaN */
}

int
ratelimit_opts_check(const struct ratelimit_opts *o, char *err, size_t errlen)
{
	if (!in_range(o->rate_min, 1e-6, 1e6))
		return bad(err, errlen, "rate_min must be between 0.000001 and 1000000");
	if (!in_range(o->rate_max, o->rate_min, 1e6))
		return bad(err, errlen, "rate_max must be between rate_min and 1000000");
	if (o->rate != 0.0 && !in_range(o->rate, o->rate_min, o->rate_max))
		return bad(
		    err, errlen, "rate must be 0 (unlimited) or between rate_min and rate_max");
	if (!in_range(o->burst, 1.0, 1e6))
		return bad(err, errlen, "burst must be between 1 and 1000000");
	if (!in_range(o->decrease, 0.0, 1.0) || o->decrease == 0.0 || o->decrease == 1.0)
		return bad(err, errlen, "decrease must be above 0 and below 1");
	if (!in_range(o->increase, 1.0, 10.0))
		return bad(err, errlen, "increase must be between 1 and 10");
	if (!in_range(o->block_max, 0.0, 86400.0) || o->block_max == 0.0)
		return bad(err, errlen, "block_max must be above 0 and at most a day");
	return 0;
}

struct ratelimit *
ratelimit_new(const struct ratelimit_opts *o, double now)
{
	struct ratelimit *rl;
	char err[128];

	if (ratelimit_opts_check(o, err, sizeof(err)) != 0)
		return NULL;
	if ((rl = calloc(1, sizeof(*rl))) == NULL)
		return NULL;
	rl->o = *o;
	rl->rate = o->rate;
	rl->tokens = o->burst;
	rl->last = rl->created = rl->round_start = now;
	rl->decreased = -INFINITY;
	return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
	free(rl);
}

/* Tokens accrue at the rate, but not while blocked; a block ends with one token. */
static void
refill(struct ratelimit *rl, double now)
{
	double from = rl->last;

	if (!(now > rl->last)) /* a clock that stood still or went back */
		return;
	rl->last = now;
	if (from < rl->blocked_until) {
		if (now < rl->blocked_until)
			return;
		from = rl->blocked_until;
		if (rl->tokens < 1.0)
			rl->tokens = 1.0;
	}
	rl->tokens += (now - from) * rl->rate;
	if (rl->tokens > rl->o.burst)
		rl->tokens = rl->o.burst;
}

static void
block(struct ratelimit *rl, double now, double secs)
{
	if (!(secs > 0.0))
		return;
	if (secs > rl->o.block_max)
		secs = rl->o.block_max;
	refill(rl, now);
	rl->tokens = 0.0;
	if (now + secs > rl->blocked_until)
		rl->blocked_until = now + secs;
}

/* Requests/s granted over the last `window' seconds (see the top of the file). */
static double
achieved(const struct ratelimit *rl, double now, double window)
{
	unsigned i, n = 0;
	double t, span;

	for (i = 0; i < rl->nrecent; i++) {
		t = rl->recent[(rl->head + RECENT - 1 - i) % RECENT];
		if (t < now - window)
			break;
		n++;
	}
	if (n == RECENT)
		span = now - rl->recent[rl->head]; /* the oldest */
	else
		span = now - rl->created < window ? now - rl->created : window;
	return n / (span > SPAN_MIN ? span : SPAN_MIN);
}

static void
granted(struct ratelimit *rl, double now)
{
	rl->recent[rl->head] = now;
	rl->head = (rl->head + 1) % RECENT;
	if (rl->nrecent < RECENT)
		rl->nrecent++;
	rl->round_granted++;
	rl->st.granted++;
}

double
ratelimit_take(struct ratelimit *rl, double now)
{
	if (now < rl->blocked_until)
		return rl->blocked_until - now;
	refill(rl, now);
	if (rl->rate > 0.0) {
		if (rl->tokens < 1.0 - TOKEN_EPS)
			return (1.0 - rl->tokens) / rl->rate;
		rl->tokens = rl->tokens > 1.0 ? rl->tokens - 1.0 : 0.0;
	}
	granted(rl, now);
	return 0.0;
}

static double
clamp_rate(const struct ratelimit *rl, double r)
{
	if (!(r >= rl->o.rate_min)) /* NaN too */
		return rl->o.rate_min;
	return r < rl->o.rate_max ? r : rl->o.rate_max;
}

/* A sent time later than now (or NaN) is a caller's slip: count it as now. */
static double
sent_at(double now, double sent)
{
	return sent <= now ? sent : now;
}

static void
new_round(struct ratelimit *rl, double now)
{
	rl->round_start = now;
	rl->round_granted = 0;
}

void
ratelimit_success(struct ratelimit *rl, double now, double sent)
{
	double len = now - rl->round_start, need, r;

	if (rl->rate == 0.0 || sent_at(now, sent) <= rl->decreased)
		return;
	need = ROUND_TOKENS / rl->rate;
	if (len < (need > ROUND_MIN ? need : ROUND_MIN))
		return;
	if ((double)rl->round_granted >= 0.5 * rl->rate * len) {
		refill(rl, now); /* what accrued so far, at the old rate */
		r = clamp_rate(rl, rl->rate * rl->o.increase);
		if (r > rl->rate)
			rl->st.increases++;
		rl->rate = r;
	}
	new_round(rl, now);
}

void
ratelimit_throttle(struct ratelimit *rl, double now, double sent, double retry_after)
{
	double base, window;

	rl->st.throttles++;
	sent = sent_at(now, sent);
	block(rl, now, retry_after);
	if (sent <= rl->decreased) /* left at the old rate: same congestion event */
		return;
	refill(rl, now);
	if (rl->rate == 0.0) {
		window = now - sent > MEASURE_WINDOW ? now - sent : MEASURE_WINDOW;
		base = achieved(rl, now, window);
	} else {
		base = rl->rate;
	}
	rl->rate = clamp_rate(rl, base * rl->o.decrease);
	rl->tokens = 0.0;
	rl->decreased = now;
	rl->st.decreases++;
	new_round(rl, now);
}

void
ratelimit_headers(struct ratelimit *rl, double now, long remaining, double reset)
{
	if (remaining == 0)
		block(rl, now, reset);
}

void
ratelimit_stats(const struct ratelimit *rl, double now, struct ratelimit_stats *st)
{
	struct ratelimit copy = *rl;

	refill(&copy, now);
	*st = rl->st;
	st->rate = rl->rate;
	st->tokens = rl->rate > 0.0 ? copy.tokens : rl->o.burst;
	st->achieved = achieved(rl, now, MEASURE_WINDOW);
	st->blocked_until = rl->blocked_until > now ? rl->blocked_until : 0.0;
}
