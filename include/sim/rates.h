/*
 * rates.h - current rates, not only totals: the run's counters sampled into a
 * small ring (one sample a second), and the rates between two samples - the
 * last interval, the last minute.  Pure: the caller samples and says when.
 */
#ifndef SIM_RATES_H
#define SIM_RATES_H

#include <stdint.h>

#include <jansson.h>

#include "sim/engine.h"
#include "sim/metrics.h"

#define RATES_RING 128 /* samples kept: two minutes at one a second */

enum rate_counter {
	RATE_AGENTS,
	RATE_SESSIONS,
	RATE_ORDERS,
	RATE_EVENTS,
	RATE_ROWS,
	RATE_ERRORS,
	RATE_RETRIES,
	RATE_NCOUNTERS
};

struct rate_sample {
	uint64_t t_us; /* monotonic */
	uint64_t v[RATE_NCOUNTERS];
	uint64_t lat_count, lat_sum_us; /* sessions' latency histogram */
};

/* Per second over secs seconds; secs 0: nothing to say yet. */
struct rate_window {
	double secs;
	double per_s[RATE_NCOUNTERS];
	double session_avg_ms; /* of the sessions that ended within it; 0 none */
};

struct rates {
	struct rate_sample ring[RATES_RING];
	unsigned head, n; /* ring[head] is the newest of n */
};

/* The counters of a run as a sample taken at t_us. */
void rate_sample_of(struct rate_sample *out, const struct engine_counts *c,
    const struct histogram *session, uint64_t t_us);
void rates_reset(struct rates *r);
/* Adds s as the newest; a counter that went down (a new run) starts the ring afresh. */
void rates_push(struct rates *r, const struct rate_sample *s);
/* The rates from a to b (b later). */
void
rates_between(const struct rate_sample *a, const struct rate_sample *b, struct rate_window *out);
/*
 * The rates over the last `window' seconds up to cur: from the newest sample
 * at least that old, or the oldest there is when the ring is younger.
 */
void rates_over(
    const struct rates *r, const struct rate_sample *cur, double window, struct rate_window *out);
/* {"window_s", "agents_per_s", "sessions_per_s", ..., "session_avg_ms"} */
json_t *rate_window_json(const struct rate_window *w);
extern const char *const rate_names[RATE_NCOUNTERS]; /* "agents_per_s", ... */

#endif
