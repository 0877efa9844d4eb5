/*
 * concurrency.h - the adaptive concurrency controller: the limit on sessions
 * in flight follows the backend's latency, under a ceiling set by simd's own
 * CPU and the machine's memory (platform.h).
 *
 * The controller is pure: it reads no clock and no file.  The caller feeds
 * it the latency of every completed store or API step with the number of
 * sessions in flight when the step completed, a machine sample (CPU and
 * memory used, in percent, -1 when unknown) every second or so, and a tick
 * with the time (microseconds of any monotonic clock) every tenth of the
 * update interval or so.  A call that changes the limit returns 1, and
 * concurrency_reason() says why, once, for the log.
 *
 * Why not the plan's rule alone (halve above 80 % CPU or memory, double
 * below 50 %): doubling jumps past the point where the backend saturates,
 * halving falls far below it, and the two alternate for as long as the load
 * lasts.  CPU also says nothing about a slow database, which is the usual
 * bottleneck.  So latency is the control signal (a Vegas-style estimate of
 * the queue we cause) and the machine is a ceiling.
 *
 * Latency.  Each update interval (500 ms) that has 64 samples or more gives
 * a median (of its newest 1024); "latency" is the EMA (alpha 0.5) of the
 * medians at the current limit - it starts afresh at every change, so
 * nothing measured at another limit leaks in, and after a cut the samples
 * are dropped until the sessions in flight have drained to the new limit.
 * The "no-load latency" is measured by a probe: first of all, then once a
 * minute, the limit halves (not below min) until in flight has drained to
 * it, the median there is the no-load latency, and the limit is restored.
 * Probes that agree within 15 % are averaged (a measurement has a few % of
 * noise).  Between probes a latency 5 % or more below the no-load latency
 * replaces it.  So the no-load latency can rise when the backend becomes
 * genuinely slower, and cannot creep up with a queue that never drains.
 * With latency / no-load latency as the ratio:
 *   ratio > 1.3 (widened by twice the interval-to-interval spread of the
 *     medians, so a noisy backend gets more room) for two intervals in a
 *     row, or > 2 once: a queue has formed.  The limit falls to what carries
 *     the same throughput at 1.1 x the no-load latency (in flight x 1.1 x
 *     no-load / latency, by Little's law), at most halving, not below min.
 *   ratio <= 1.1 for two intervals in a row (four near the knee), in-flight
 *     work using the limit (its mean at least 3/4 of it) and the machine
 *     having room: the limit grows by sqrt(limit), or by log10(limit) near
 *     the knee (from 3/4 of the limit at which a queue last formed up to it).
 *   otherwise: hold.  The band between 1.1 and 1.3 is wider than a growth
 *     step, so a steady load settles in it and stays.
 * When a cut does not lower latency by half of what queueing predicts
 * (latency in proportion to in flight, down to the no-load latency), the
 * latency was not ours: the backend got slower, or another client holds a
 * lock.  The latency at the lower limit becomes the no-load latency and the
 * limit may grow back, since shedding more load would only cost throughput.
 * A no-load latency that moves by more than 15 % outside a probe brings the
 * next probe forward.
 * Stalls.  Steps that never complete give no samples (another client holds a
 * lock on a table every session writes).  The sessions in flight, given at
 * every tick, say what the latency is meanwhile (Little's law: in flight
 * over completions per unit of time); when an interval has run twice its
 * length with too few samples and that estimate is above 2 x the no-load
 * latency, the limit halves, not below min ("stalled: ..."), and again each
 * time the sessions it holds back have drained or 20 intervals have passed.
 *
 * Machine.  CPU and memory samples are smoothed (EMA, alpha 0.5).  Above
 * cpu_high or mem_high the limit halves, not below min, then waits two
 * samples for the effect to show before cutting again; between low and high
 * it may not grow; below low (or unknown) growth is allowed.  The gap
 * between the two thresholds keeps this rule from oscillating.
 *
 * Bounds.  The adaptive limit stays within [min, max] and never above the
 * hard ceiling (what the store can serve); a ceiling below min wins.  With
 * adaptive off the limit is the base, as set, and latency is still measured
 * for status.  Setting the base (set-concurrency) moves the limit there at
 * once, clamped to the bounds when adaptive, and adapting goes on from it.
 *
 * Measured in tests/unit/concurrency.c on a simulated server: no reversal
 * on a steady load in nine minutes, only the probes; a halved capacity is
 * followed within 3 s; 96-100 % of the best fixed limit's throughput.  A
 * backend whose capacity swings by 30 % second to second costs more (92 %
 * on a flat server): the limit follows the dips faster than the recoveries.
 */
#ifndef SIM_CONCURRENCY_H
#define SIM_CONCURRENCY_H

#include <stddef.h>
#include <stdint.h>

struct concurrency;

#define CONCURRENCY_HISTORY 16 /* changes kept for stats */
#define CONCURRENCY_REASON 80

struct concurrency_opts {
	int enabled;              /* adaptive = on */
	uint32_t base;            /* the limit to start from; set-concurrency sets it */
	uint32_t min, max;        /* adaptive_min, adaptive_max (20, 100) */
	uint32_t ceiling;         /* what the store can serve; 0: none */
	double cpu_high, cpu_low; /* percent (80, 50) */
	double mem_high, mem_low; /* percent (80, 50) */
	uint64_t interval_us;     /* between decisions; 0: 500 ms */
};

enum concurrency_cause {
	CONCURRENCY_BASE,    /* set by hand, or adaptive turned on or off */
	CONCURRENCY_CEILING, /* the bounds moved below the limit */
	CONCURRENCY_LATENCY, /* a queue formed */
	CONCURRENCY_ROOM,    /* latency flat and the machine has room */
	CONCURRENCY_CPU,
	CONCURRENCY_MEM,
	CONCURRENCY_PROBE, /* the no-load probe and its end */
};

struct concurrency_change {
	uint64_t at; /* the caller's clock, us */
	uint32_t from, to;
	enum concurrency_cause cause;
	char reason[CONCURRENCY_REASON];
};

/* What status shows; latencies and machine figures are -1 while unknown. */
struct concurrency_state {
	int enabled;
	uint32_t limit, base;
	const char *reason;      /* of the last change; "" before any */
	double cpu_pct, mem_pct; /* smoothed */
	double latency_ms, no_load_latency_ms;
	uint64_t changes; /* since concurrency_new */
};

/* NULL with a message in err when the options are inconsistent or memory ran out. */
struct concurrency *concurrency_new(const struct concurrency_opts *o, char *err, size_t errlen);
void concurrency_free(struct concurrency *c);

/*
 * New options (SIGHUP, --adaptive on|off, a new store ceiling): 1 when the
 * limit changed, 0 when not, -1 with a message in err (and nothing changed)
 * when the options are inconsistent.
 */
int concurrency_configure(struct concurrency *c, const struct concurrency_opts *o, uint64_t now,
    char *err, size_t errlen);
/* set-concurrency: 1 when the limit changed. */
int concurrency_set_base(struct concurrency *c, uint32_t base, uint64_t now);

/* A completed step: its latency and the sessions in flight then (itself included). */
void concurrency_sample(struct concurrency *c, uint64_t latency_us, uint32_t in_flight);
/*
 * The sessions in flight now, before each tick: with too few steps
 * completing, the controller estimates their latency from it (a stall).
 */
void concurrency_load(struct concurrency *c, uint32_t in_flight);
/* Machine use in percent, -1 for unknown. */
void concurrency_machine(struct concurrency *c, double cpu_pct, double mem_pct);
/*
 * The no-load latency (us) and when the next probe is due (the controller's
 * clock): 0, or -1 while there is none.  For the next run's controller on the
 * same daemon and store (concurrency_seed).
 */
int concurrency_no_load(const struct concurrency *c, double *latency_us, uint64_t *due);
/*
 * Takes an earlier controller's no-load latency, if its probe is not yet due at
 * now: this controller then adapts from it at once instead of probing first,
 * and probes when that one would have.  A short run after another (the bench's
 * warm cycle) otherwise spends its first second at half the limit.
 */
void concurrency_seed(struct concurrency *c, double latency_us, uint64_t due, uint64_t now);
/* Decides when due; 1 when the limit changed. */
int concurrency_tick(struct concurrency *c, uint64_t now);

uint32_t concurrency_limit(const struct concurrency *c);
const char *concurrency_reason(const struct concurrency *c);
void concurrency_state(const struct concurrency *c, struct concurrency_state *st);
/* Copies up to n of the last changes, oldest first; returns how many. */
unsigned
concurrency_history(const struct concurrency *c, struct concurrency_change *out, unsigned n);
const char *concurrency_cause_name(enum concurrency_cause cause);

struct sim_config;
/*
 * The options a configuration gives: adaptive and its keys, base its
 * max_concurrent, ceiling twice pool_max with PostgreSQL (its connections and
 * a step waiting for each: more in flight only waits in the pool), none with
 * SQLite.
 */
void concurrency_opts_from_config(struct concurrency_opts *o, const struct sim_config *c);
/* What concurrency_new would refuse of o: 0, or -1 with a message. */
int concurrency_opts_check(const struct concurrency_opts *o, char *err, size_t errlen);

#endif
