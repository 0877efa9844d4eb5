/*
 * backoff.h - the one retry policy: whether a failed step is tried again and
 * how long to wait first.  Store steps, the set-up, HTTP requests and LLM calls
 * all use it.
 *
 * Pure: no clock and no randomness of its own.  Times are seconds on whatever
 * clock the caller uses (now, the first failure); jitter comes in as a uniform
 * u in [0, 1) from the caller's generator.
 *
 * The delay before retrying after the n-th failed attempt (n >= 1) is
 *
 *	d = base * factor^min(n - 1, max_exponent)
 *
 * limited to cap (cap_transient after a transient error), then shortened by up
 * to `jitter' of itself: d * (1 - jitter * u).  Jitter only ever shortens, so
 * the caps stay true bounds, and jitter 0 gives the plain figures: with
 * simd's settings (base 0.1 s, factor 2, max_exponent 10, cap_transient 2 s)
 * 0.1, 0.2, 0.4, 0.8, 1.6, 2, 2, ... s after transient errors and up to
 * 102.4 s after others, as retry_backoff_ms always meant.  Whatever the
 * settings, no delay exceeds BACKOFF_DELAY_MAX.
 *
 * A server's Retry-After raises the delay to what it asks, up to
 * retry_after_max; it is never shortened by jitter.
 *
 * A failed step is retried while attempts <= max_retries, or, after a
 * transient error (connection lost, timeout, busy; a 5xx or 429 for HTTP),
 * while less than `window' seconds have passed since the step first failed:
 * an outage is waited out for a time, not for a count.
 */
#ifndef SIM_BACKOFF_H
#define SIM_BACKOFF_H

#include <stddef.h>

#define BACKOFF_DELAY_MAX 86400.0 /* s: one day, whatever the policy says */

struct backoff_policy {
	double base;            /* s, the delay after the first failure */
	double factor;          /* >= 1, growth per further failure */
	unsigned max_exponent;  /* growth stops after this many steps */
	double cap;             /* s, longest delay; 0: none */
	double cap_transient;   /* s, longest delay after a transient error; 0: cap */
	double jitter;          /* in [0, 1], the fraction a delay may be shortened */
	unsigned max_retries;   /* retries after any error */
	double window;          /* s, transient errors are retried this long too */
	double retry_after_max; /* s, longest Retry-After honoured */
};

/* What a caller keeps per step: reset when the step succeeds or a new one starts. */
struct backoff_state {
	unsigned attempts; /* failed attempts of the step so far */
	double first_fail; /* when the first of them failed; valid if attempts > 0 */
};

/* 0, or -1 with a one-line reason in err when a field is out of range. */
int backoff_policy_check(const struct backoff_policy *p, char *err, size_t errlen);

/* Delay (s) before retrying after failed attempt n (n = 0 counts as 1); u in [0, 1). */
double backoff_delay(const struct backoff_policy *p, unsigned n, int transient, double u);
/*
 * The same, but no shorter than a server's Retry-After (s) bounded by
 * retry_after_max; a negative or NaN retry_after means the server said nothing.
 */
double backoff_delay_after(
    const struct backoff_policy *p, unsigned n, int transient, double u, double retry_after);
/* 1 when a step that failed for the attempts-th time should be tried again. */
int backoff_should_retry(const struct backoff_policy *p, unsigned attempts, int transient,
    double first_fail, double now);

void backoff_reset(struct backoff_state *st);
/* Counts a failure at now; returns the attempts that failed so far. */
unsigned backoff_failed(struct backoff_state *st, double now);
/*
 * All of it at once, for a failure at now: counts it in st, then returns 1 with
 * the delay in *delay when the step should be retried, 0 when it should not.
 */
int backoff_next(const struct backoff_policy *p, struct backoff_state *st, int transient,
    double now, double u, double retry_after, double *delay);

#endif
