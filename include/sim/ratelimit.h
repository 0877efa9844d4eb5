/*
 * ratelimit.h - an adaptive rate limiter for one backend (the shop API, an
 * LLM service): a token bucket whose rate follows the server's 429s and 503s.
 *
 * Pure: no loop, no clock.  Every call takes `now', seconds on the caller's
 * monotonic clock; ratelimit_take() says how long to wait and the caller sets
 * its own timer.  Several requests waiting on one limiter should queue in the
 * caller and ask in turn, so that one timer, not all of them, wakes per token.
 *
 * The bucket holds at most `burst' tokens and refills at `rate' requests/s.
 * A throttle (429, or 503 from a server that sheds load that way):
 *
 *  - honours Retry-After: no token before now + retry_after (at most
 *    block_max), and one token waits at the end of such a block;
 *  - empties the bucket (the server's is empty: a burst would only collect
 *    more 429s) and multiplies the rate by `decrease';
 *  - but decreases once per congestion event only: the throttle of a request
 *    sent before the last decrease changes nothing more, since that request
 *    left at the old rate.  This is TCP's one-decrease-per-round-trip without
 *    an RTT estimate; it is why each report carries `sent', the time the
 *    request's token was granted.  A caller that always passes now gets a
 *    halving per 429.
 *
 * Growth is multiplicative, once per round.  A round begins at a decrease or a
 * growth and ends with the first success, of a request sent after the last
 * decrease, at least max(1 s, 3 / rate) later.  If the round's requests used
 * at least half of what the rate allowed, the rate is multiplied by
 * `increase'; if not, the caller is not using the rate and it stays (as in
 * TCP's congestion window validation: a rate never exercised is no evidence).
 * Why so:
 *
 *  - multiplicative, because one limiter must work from 0.33 requests/s
 *    (OpenRouter's free tier, 20 a minute) to 50 and more: an additive step in
 *    requests/s is either slow at the top or an overshoot at the bottom (+1/s
 *    each second: 81 % of a 50/s server used, but half the requests answered
 *    429 at 20/min, in the scenarios of tests/unit/ratelimit.c).  Several
 *    limiters sharing one server keep their ratio rather than converging to
 *    fair shares (Chiu and Jain); simd has one per backend.
 *  - per round, not per success: x1.1 per success is x2.6 per second at 10
 *    requests/s and x117 at 50; it drew 20 % 429s at 50/s and 12 % at 20/min.
 *    One second bounds the growth in time at high rates (x1.1 per second
 *    alone still drew 12 % at 20/min); three token intervals bound it in
 *    requests at low rates, where a second holds less than one request.  With
 *    both: 0.3 % 429s and 85 % of the server used at 50/s, 4 % and 66 % at
 *    20/min (decrease 0.5, increase 1.1).
 *
 * Unlimited mode (rate 0) grants every token until the first throttle, which
 * starts limiting at decrease times the rate actually achieved, measured from
 * the tokens granted over max(1 s, now - sent) - the last second, or the
 * throttled request's own round trip when that is longer - bounded by rate_min
 * and rate_max.
 *
 * OpenAI-style headers (x-ratelimit-remaining-requests, -reset-requests): a
 * reply saying no requests remain blocks every token until the reset, like a
 * Retry-After, without changing the rate.
 *
 * For OpenRouter's free tier rate_min must be below its 20/minute (0.33/s):
 * a limiter held at 1 request/s there draws a 429 for two requests in three
 * whenever the server sends no Retry-After.
 */
#ifndef SIM_RATELIMIT_H
#define SIM_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

struct ratelimit;

struct ratelimit_opts {
	double rate;      /* requests/s at first; 0: unlimited until throttled */
	double rate_min;  /* requests/s, > 0 */
	double rate_max;  /* requests/s, >= rate_min */
	double burst;     /* tokens the bucket holds, >= 1 */
	double decrease;  /* in (0, 1): the rate's multiplier on a throttle */
	double increase;  /* in [1, 10]: the rate's multiplier per round; 1: none */
	double block_max; /* s, the longest block a Retry-After or reset imposes */
};

struct ratelimit_stats {
	double rate;          /* requests/s now; 0 while unlimited */
	double tokens;        /* in the bucket now */
	double achieved;      /* requests/s granted over about the last second */
	double blocked_until; /* no token before then; 0 when not blocked */
	uint64_t granted;     /* tokens handed out */
	uint64_t throttles;   /* 429s and 503s reported */
	uint64_t decreases;   /* congestion events: throttles that cut the rate */
	uint64_t increases;   /* rounds that raised the rate */
};

/* 0, or -1 with a one-line reason in err when an option is out of range. */
int ratelimit_opts_check(const struct ratelimit_opts *o, char *err, size_t errlen);
/* A full bucket at now.  NULL when o fails ratelimit_opts_check or memory ran out. */
struct ratelimit *ratelimit_new(const struct ratelimit_opts *o, double now);
void ratelimit_free(struct ratelimit *rl);

/* 0: a token was taken, send now.  Otherwise the seconds to wait before asking again. */
double ratelimit_take(struct ratelimit *rl, double now);
/* A reply that was not throttled, to a request whose token was granted at sent. */
void ratelimit_success(struct ratelimit *rl, double now, double sent);
/* A 429 or 503; retry_after in seconds, negative or NaN when the server gave none. */
void ratelimit_throttle(struct ratelimit *rl, double now, double sent, double retry_after);
/*
 * A reply's remaining requests (negative: no header) and seconds until the
 * quota resets (negative or NaN: no header); it does not replace the call to
 * ratelimit_success or ratelimit_throttle.
 */
void ratelimit_headers(struct ratelimit *rl, double now, long remaining, double reset);
void ratelimit_stats(const struct ratelimit *rl, double now, struct ratelimit_stats *st);

#endif
