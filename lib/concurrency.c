/*
 * concurrency.c - the adaptive concurrency controller (see concurrency.h for
 * the algorithm and why).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/concurrency.h"
#include "sim/config.h"

#define RING 1024             /* an interval's newest latency samples */
#define DECIDE_SAMPLES 64     /* fewest samples an interval needs */
#define NOLOAD_SAMPLES 128    /* fewest samples a probe needs */
#define FLAT 1.10             /* latency / no-load at most this: flat */
#define QUEUED 1.30           /* above this: a queue has formed */
#define URGENT 2.00           /* above this: cut without waiting to be sure */
#define LOWER 0.95            /* a no-load latency this much lower replaces it */
#define SAME 0.15             /* probes this close measure the same no-load latency */
#define PROBE_EVERY 60000000u /* us between no-load probes */
#define PATIENCE 20           /* intervals a probe or a drain may take */
#define MACHINE_ALPHA 0.5
#define MACHINE_COOL 2 /* machine samples to wait after a machine cut */
#define DEFAULT_INTERVAL 500000u
#define STALL_INTERVALS 2 /* intervals with too few samples before a stall is called */

struct sample {
	uint32_t latency_us;
	uint32_t in_flight;
};

/* What the samples at the current limit say. */
struct window {
	double latency;   /* median, us */
	double in_flight; /* mean */
	uint32_t in_flight_max;
	unsigned n;
};

struct concurrency {
	struct concurrency_opts o;
	uint32_t limit, lo, hi;
	char reason[CONCURRENCY_REASON];
	int changed; /* since the tick began */

	struct sample ring[RING];
	uint64_t nseen;      /* samples in this interval */
	int settling;        /* after a cut: drop samples until in flight <= limit */
	uint64_t changed_at; /* the last change */
	uint64_t since;      /* when this interval began; 0: not yet */
	double load_sum;     /* of the sessions in flight at each concurrency_load */
	unsigned load_n;     /* since the interval began */
	unsigned intervals;  /* intervals at this limit */
	unsigned high, flat; /* of them, the last ones in a row queued or flat */
	double latency;      /* EMA of their medians, us; -1 unknown */
	double last;         /* the last interval's median, us */
	double spread;       /* EMA of |median - last| / no-load at a constant limit */
	double no_load;      /* us, -1 unknown */
	double probed;       /* the probes' mean while they agree; -1 none */

	double cpu, mem; /* smoothed, -1 unknown */
	int fresh;       /* a machine sample since the last look */
	int cool;

	int probing;
	uint32_t saved; /* the limit the probe restores */
	uint64_t probe_at, probe_began;

	int cut_armed; /* the last cut awaits its check */
	double cut_latency, cut_in_flight;
	uint32_t knee; /* the limit at which a queue last formed; 0: none */

	struct concurrency_change hist[CONCURRENCY_HISTORY];
	uint64_t nchanges;
};

static int
concurrency_check(const struct concurrency_opts *o, char *err, size_t errlen)
{
	if (o->min < 1 || o->max < o->min) {
		snprintf(err, errlen, "adaptive_min (%u) must be from 1 to adaptive_max (%u)",
		    o->min, o->max);
		return -1;
	}
	if (o->base < 1) {
		snprintf(err, errlen, "the concurrency limit must be 1 or more");
		return -1;
	}
	if (!(o->cpu_low >= 0 && o->cpu_low <= o->cpu_high && o->cpu_high <= 100)) {
		snprintf(err, errlen, "cpu_low (%g) must be from 0 to cpu_high (%g), at most 100",
		    o->cpu_low, o->cpu_high);
		return -1;
	}
	if (!(o->mem_low >= 0 && o->mem_low <= o->mem_high && o->mem_high <= 100)) {
		snprintf(err, errlen, "mem_low (%g) must be from 0 to mem_high (%g), at most 100",
		    o->mem_low, o->mem_high);
		return -1;
	}
	return 0;
}

static uint32_t
clamp_u32(uint32_t v, uint32_t lo, uint32_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static void
concurrency_bounds(struct concurrency *c)
{
	c->hi = c->o.max;
	if (c->o.ceiling != 0 && c->o.ceiling < c->hi)
		c->hi = c->o.ceiling;
	c->lo = c->o.min < c->hi ? c->o.min : c->hi;
}

/* Latencies in ms with about two significant digits: "41", "6.2", "0.35". */
static const char *
fmt_ms(char *buf, size_t len, double us)
{
	double ms = us / 1000.0;

	snprintf(buf, len, ms >= 10 ? "%.0f" : ms >= 1 ? "%.1f" : "%.2f", ms);
	return buf;
}

static void
window_reset(struct concurrency *c, uint64_t now, int settle)
{
	c->nseen = 0;
	c->settling = settle;
	c->since = settle ? 0 : now;
	c->load_sum = c->load_n = 0;
	c->intervals = c->high = c->flat = 0;
}

/*
 * The no-load latency moved outside a probe.  A big move (the backend got
 * faster or slower) is measured properly at the next decision: the value
 * came from a load that may have queued.
 */
static void
no_load_shift(struct concurrency *c, uint64_t now, double latency)
{
	if (c->no_load > 0 && fabs(latency - c->no_load) > SAME * c->no_load)
		c->probe_at = now;
	c->no_load = c->probed = latency;
}

/*
 * An interval ends: its median joins the EMA of the intervals at this limit
 * (the first one alone, so nothing from another limit leaks in), and a
 * latency clearly below the no-load latency replaces it.
 */
static void
window_next(struct concurrency *c, uint64_t now, const struct window *w)
{
	c->nseen = 0;
	c->since = now;
	c->load_sum = c->load_n = 0;
	if (c->intervals > 0 && c->no_load > 0)
		c->spread = 0.9 * c->spread + 0.1 * fabs(w->latency - c->last) / c->no_load;
	c->last = w->latency;
	c->latency = c->intervals++ == 0 ? w->latency : (c->latency + w->latency) / 2;
	if (c->intervals < 2)
		return;
	if (c->no_load < 0 ? !c->o.enabled : c->latency < LOWER * c->no_load)
		no_load_shift(c, now, c->latency);
}

static void __attribute__((format(printf, 5, 6))) set_limit(struct concurrency *c, uint64_t now,
    uint32_t to, enum concurrency_cause cause, const char *fmt, ...)
{
	struct concurrency_change *ch = &c->hist[c->nchanges % CONCURRENCY_HISTORY];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	c->changed_at = ch->at = now;
	ch->from = c->limit;
	ch->to = to;
	ch->cause = cause;
	memcpy(ch->reason, c->reason, sizeof(ch->reason));
	c->nchanges++;
	window_reset(c, now, to < c->limit);
	c->limit = to;
	c->changed = 1;
}

struct concurrency *
concurrency_new(const struct concurrency_opts *o, char *err, size_t errlen)
{
	struct concurrency *c;

	if (concurrency_check(o, err, errlen) != 0)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->o = *o;
	if (c->o.interval_us == 0)
		c->o.interval_us = DEFAULT_INTERVAL;
	concurrency_bounds(c);
	c->limit = o->enabled ? clamp_u32(o->base, c->lo, c->hi) : o->base;
	c->latency = c->no_load = c->probed = -1;
	c->cpu = c->mem = -1;
	return c;
}

int
concurrency_no_load(const struct concurrency *c, double *latency_us, uint64_t *due)
{
	if (c->no_load <= 0 || c->probing)
		return -1;
	*latency_us = c->no_load;
	*due = c->probe_at;
	return 0;
}

void
concurrency_seed(struct concurrency *c, double latency_us, uint64_t due, uint64_t now)
{
	if (!(latency_us > 0) || due <= now || due - now > PROBE_EVERY)
		return;
	c->no_load = c->probed = latency_us;
	c->probe_at = due;
}

void
concurrency_free(struct concurrency *c)
{
	free(c);
}

/* The base moves the limit (clamped when adaptive) and adapting starts afresh from it. */
static void
concurrency_rebase(struct concurrency *c, uint64_t now, const char *what)
{
	uint32_t to = c->o.enabled ? clamp_u32(c->o.base, c->lo, c->hi) : c->o.base;

	c->probing = 0;
	c->cut_armed = 0;
	c->knee = 0;
	if (to != c->limit)
		set_limit(c, now, to, CONCURRENCY_BASE, "%sbase %u", what, c->o.base);
}

int
concurrency_configure(
    struct concurrency *c, const struct concurrency_opts *o, uint64_t now, char *err, size_t errlen)
{
	struct concurrency_opts old = c->o;

	if (concurrency_check(o, err, errlen) != 0)
		return -1;
	c->o = *o;
	if (c->o.interval_us == 0)
		c->o.interval_us = DEFAULT_INTERVAL;
	concurrency_bounds(c);
	c->changed = 0;
	if (o->enabled != old.enabled) {
		c->probe_at = 0;
		window_reset(c, now, 0);
		concurrency_rebase(c, now, o->enabled ? "adaptive on: " : "adaptive off: ");
	} else if (o->base != old.base || !o->enabled) {
		concurrency_rebase(c, now, "");
	} else if (c->limit > c->hi || c->limit < c->lo) {
		c->probing = 0;
		set_limit(c, now, clamp_u32(c->limit, c->lo, c->hi), CONCURRENCY_CEILING,
		    "bounds %u to %u", c->lo, c->hi);
	}
	return c->changed;
}

int
concurrency_set_base(struct concurrency *c, uint32_t base, uint64_t now)
{
	if (base < 1)
		return 0;
	c->o.base = base;
	c->changed = 0;
	concurrency_rebase(c, now, "");
	return c->changed;
}

void
concurrency_sample(struct concurrency *c, uint64_t latency_us, uint32_t in_flight)
{
	struct sample *s;

	if (c->settling) {
		if (in_flight > c->limit)
			return;
		c->settling = 0;
	}
	s = &c->ring[c->nseen % RING];
	s->latency_us = latency_us > UINT32_MAX ? UINT32_MAX
	    : latency_us < 1                    ? 1
						: (uint32_t)latency_us;
	s->in_flight = in_flight < 1 ? 1 : in_flight;
	c->nseen++;
}

void
concurrency_load(struct concurrency *c, uint32_t in_flight)
{
	c->load_sum += in_flight;
	c->load_n++;
}

static double
smooth(double old, double v)
{
	if (!(v >= 0 && v <= 100)) /* unknown, or not a percentage */
		return -1;
	return old < 0 ? v : MACHINE_ALPHA * v + (1 - MACHINE_ALPHA) * old;
}

void
concurrency_machine(struct concurrency *c, double cpu_pct, double mem_pct)
{
	c->cpu = smooth(c->cpu, cpu_pct);
	c->mem = smooth(c->mem, mem_pct);
	c->fresh = 1;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void
window_read(const struct concurrency *c, struct window *w)
{
	uint32_t lat[RING];
	uint64_t sum = 0;
	unsigned i;

	w->n = c->nseen < RING ? (unsigned)c->nseen : RING;
	w->in_flight_max = 0;
	for (i = 0; i < w->n; i++) {
		lat[i] = c->ring[i].latency_us;
		sum += c->ring[i].in_flight;
		if (c->ring[i].in_flight > w->in_flight_max)
			w->in_flight_max = c->ring[i].in_flight;
	}
	qsort(lat, w->n, sizeof(lat[0]), cmp_u32);
	w->latency = w->n % 2 ? lat[w->n / 2] : (lat[w->n / 2 - 1] + (double)lat[w->n / 2]) / 2;
	w->in_flight = (double)sum / w->n;
}

/* CPU or memory above its high mark: halve, not below min. */
static void
machine_check(struct concurrency *c, uint64_t now)
{
	uint32_t to = c->limit / 2 > c->lo ? c->limit / 2 : c->lo;

	if (!c->fresh || c->probing)
		return;
	c->fresh = 0;
	if (c->cool > 0) {
		c->cool--;
		return;
	}
	if (to >= c->limit)
		return;
	if (c->cpu > c->o.cpu_high) {
		c->cool = MACHINE_COOL;
		set_limit(
		    c, now, to, CONCURRENCY_CPU, "cpu %.0f %% > %.0f %%", c->cpu, c->o.cpu_high);
	} else if (c->mem > c->o.mem_high) {
		c->cool = MACHINE_COOL;
		set_limit(
		    c, now, to, CONCURRENCY_MEM, "mem %.0f %% > %.0f %%", c->mem, c->o.mem_high);
	}
}

static void
probe_end(struct concurrency *c, uint64_t now, const struct window *w)
{
	char ms[16];
	uint32_t to = clamp_u32(c->saved, c->lo, c->hi);

	c->probing = 0;
	c->probe_at = now + PROBE_EVERY;
	if (w == NULL) {
		set_limit(c, now, to, CONCURRENCY_PROBE, "probe abandoned: too few samples");
		return;
	}
	/* Probes that agree are averaged: a measurement has a few % of noise. */
	if (c->probed > 0 && fabs(w->latency - c->probed) <= SAME * c->probed)
		c->probed = (c->probed + w->latency) / 2;
	else
		c->probed = w->latency;
	c->no_load = c->probed;
	set_limit(c, now, to, CONCURRENCY_PROBE, "no-load latency %s ms at %u",
	    fmt_ms(ms, sizeof(ms), w->latency), c->limit);
}

/* 1 when a probe began (the limit was lowered). */
static int
probe_begin(struct concurrency *c, uint64_t now, const struct window *w)
{
	uint32_t to = c->limit / 2 > c->lo ? c->limit / 2 : c->lo;

	if (w->in_flight_max <= to) {
		/* The load is already that low: this is the measurement. */
		if (w->n < NOLOAD_SAMPLES)
			return 0;
		c->no_load = c->probed = w->latency;
		c->probe_at = now + PROBE_EVERY;
		return 0;
	}
	c->probing = 1;
	c->saved = c->limit;
	c->probe_began = now;
	set_limit(c, now, to, CONCURRENCY_PROBE, "probe: no-load latency at %u", to);
	return 1;
}

/*
 * After a cut: if latency fell by less than half of what queueing predicts
 * (it scales with the sessions in flight, down to the no-load latency), the
 * latency was not our queue.  It becomes the no-load latency.
 */
static void
cut_check(struct concurrency *c, uint64_t now, const struct window *w)
{
	double predicted = c->cut_latency * w->in_flight / c->cut_in_flight;

	c->cut_armed = 0;
	if (predicted < c->no_load)
		predicted = c->no_load;
	if (c->cut_latency - w->latency < (c->cut_latency - predicted) / 2) {
		no_load_shift(c, now, w->latency);
		c->knee = 0;
	}
}

static void
latency_cut(struct concurrency *c, uint64_t now, const struct window *w)
{
	char a[16], b[16];
	double target = w->in_flight * FLAT * c->no_load / c->latency;
	uint32_t floor = c->limit / 2 > c->lo ? c->limit / 2 : c->lo;
	uint32_t to = target < floor ? floor : target >= c->limit ? c->limit - 1 : (uint32_t)target;

	if (to < floor || to >= c->limit)
		return;
	c->cut_armed = 1;
	c->cut_latency = c->latency;
	c->cut_in_flight = w->in_flight;
	c->knee = c->limit;
	set_limit(c, now, to, CONCURRENCY_LATENCY, "latency %s ms vs %s ms",
	    fmt_ms(a, sizeof(a), c->latency), fmt_ms(b, sizeof(b), c->no_load));
}

/* Near the limit at which a queue last formed (from 3/4 of it): go slowly. */
static int
near_knee(const struct concurrency *c)
{
	return c->knee != 0 && c->limit < c->knee && c->limit * 4 >= c->knee * 3;
}

static void
latency_grow(struct concurrency *c, uint64_t now)
{
	char room[48] = "";
	double step;
	uint32_t to;

	if (c->limit >= c->hi)
		return;
	step = near_knee(c) ? log10(c->limit) : sqrt(c->limit);
	to = c->limit + (step < 1 ? 1 : (uint32_t)lround(step));
	to = to > c->hi ? c->hi : to;
	if (c->knee != 0 && to >= c->knee)
		c->knee = 0;
	if (c->cpu >= 0)
		snprintf(room, sizeof(room), "cpu %.0f %%, ", c->cpu);
	if (c->mem >= 0)
		snprintf(room + strlen(room), sizeof(room) - strlen(room), "mem %.0f %%, ", c->mem);
	set_limit(c, now, to, CONCURRENCY_ROOM, "room: %slatency flat", room);
}

static void
concurrency_decide(struct concurrency *c, uint64_t now)
{
	struct window w;
	double ratio;
	int room;

	window_read(c, &w);
	if (c->probing) {
		if (w.n >= NOLOAD_SAMPLES)
			probe_end(c, now, &w);
		return;
	}
	window_next(c, now, &w);
	if (c->cut_armed)
		cut_check(c, now, &w);
	if (now >= c->probe_at && probe_begin(c, now, &w))
		return;
	if (c->no_load <= 0)
		return;
	ratio = c->latency / c->no_load;
	c->high = ratio > QUEUED + 2 * c->spread ? c->high + 1 : 0;
	c->flat = ratio <= FLAT ? c->flat + 1 : 0;
	room = (c->cpu < 0 || c->cpu <= c->o.cpu_low) && (c->mem < 0 || c->mem <= c->o.mem_low);
	if (c->high >= 2 || ratio > URGENT)
		latency_cut(c, now, &w);
	else if (c->flat >= (near_knee(c) ? 4u : 2u) && room && w.in_flight * 4 >= c->limit * 3.0)
		latency_grow(c, now);
}

/*
 * Steps that do not complete give no samples: while another client holds a
 * lock every session waits, and the medians see nothing until it is
 * released.  Little's law says what the latency is meanwhile: the sessions
 * in flight over the steps completed per unit of time.  When an interval
 * has run twice its length without enough samples and that estimate is
 * above URGENT x the no-load latency, the limit halves (not below min), as
 * for a queue.  The cut is not checked afterwards as a queue's would be: a
 * stall says nothing of the latency we cause.
 */
static void
stall_check(struct concurrency *c, uint64_t now)
{
	char a[16], b[16];
	uint32_t to = c->limit / 2 > c->lo ? c->limit / 2 : c->lo;
	double span, load, est;

	if (c->probing || c->since == 0 || c->no_load <= 0 || c->nseen >= DECIDE_SAMPLES ||
	    c->load_n == 0 || to >= c->limit)
		return;
	span = (double)(now - c->since);
	load = c->load_sum / c->load_n;
	est = load * span / (c->nseen > 0 ? (double)c->nseen : 1.0);
	if (span < STALL_INTERVALS * (double)c->o.interval_us || span <= URGENT * c->no_load ||
	    load < 1 || est <= URGENT * c->no_load)
		return;
	c->cut_armed = 0;
	if (c->nseen == 0)
		set_limit(c, now, to, CONCURRENCY_LATENCY,
		    "stalled: no step done in %.1f s with %.0f in flight; no-load latency %s ms",
		    span / 1e6, load, fmt_ms(b, sizeof(b), c->no_load));
	else
		set_limit(c, now, to, CONCURRENCY_LATENCY,
		    "stalled: %u steps done in %.1f s with %.0f in flight; latency %s ms vs %s ms",
		    (unsigned)c->nseen, span / 1e6, load, fmt_ms(a, sizeof(a), est),
		    fmt_ms(b, sizeof(b), c->no_load));
}

int
concurrency_tick(struct concurrency *c, uint64_t now)
{
	struct window w;

	c->changed = 0;
	/* In flight may never fall to the limit if the caller counts it otherwise. */
	if (c->settling && now - c->changed_at > PATIENCE * c->o.interval_us)
		c->settling = 0;
	if (c->since == 0 && !c->settling) {
		c->since = now;
		c->load_sum = c->load_n = 0;
	}
	if (c->o.enabled) {
		machine_check(c, now);
		if (!c->changed && c->probing && now - c->probe_began > PATIENCE * c->o.interval_us)
			probe_end(c, now, NULL);
		if (!c->changed)
			stall_check(c, now);
	}
	if (c->changed || c->since == 0 || now - c->since < c->o.interval_us ||
	    c->nseen < DECIDE_SAMPLES)
		return c->changed;
	if (c->o.enabled) {
		concurrency_decide(c, now);
	} else {
		window_read(c, &w);
		window_next(c, now, &w);
	}
	return c->changed;
}

uint32_t
concurrency_limit(const struct concurrency *c)
{
	return c->limit;
}

const char *
concurrency_reason(const struct concurrency *c)
{
	return c->reason;
}

void
concurrency_state(const struct concurrency *c, struct concurrency_state *st)
{
	st->enabled = c->o.enabled;
	st->limit = c->limit;
	st->base = c->o.base;
	st->reason = c->reason;
	st->cpu_pct = c->cpu;
	st->mem_pct = c->mem;
	st->latency_ms = c->latency < 0 ? -1 : c->latency / 1000.0;
	st->no_load_latency_ms = c->no_load < 0 ? -1 : c->no_load / 1000.0;
	st->changes = c->nchanges;
}

unsigned
concurrency_history(const struct concurrency *c, struct concurrency_change *out, unsigned n)
{
	uint64_t have = c->nchanges < CONCURRENCY_HISTORY ? c->nchanges : CONCURRENCY_HISTORY;
	unsigned i;

	if (n > have)
		n = (unsigned)have;
	for (i = 0; i < n; i++)
		out[i] = c->hist[(c->nchanges - n + i) % CONCURRENCY_HISTORY];
	return n;
}

const char *
concurrency_cause_name(enum concurrency_cause cause)
{
	static const char *const names[] = {
		"base",
		"ceiling",
		"latency",
		"room",
		"cpu",
		"mem",
		"probe",
	};

	return (unsigned)cause < sizeof(names) / sizeof(names[0]) ? names[cause] : "?";
}

int
concurrency_opts_check(const struct concurrency_opts *o, char *err, size_t errlen)
{
	return concurrency_check(o, err, errlen);
}

void
concurrency_opts_from_config(struct concurrency_opts *o, const struct sim_config *c)
{
	memset(o, 0, sizeof(*o));
	o->enabled = c->adaptive != 0;
	o->base = (uint32_t)c->max_concurrent;
	o->min = (uint32_t)c->adaptive_min;
	o->max = (uint32_t)c->adaptive_max;
	o->ceiling = c->database_url[0] != '\0' ? 2 * (uint32_t)c->pool_max : 0;
	o->cpu_high = c->cpu_high;
	o->cpu_low = c->cpu_low;
	o->mem_high = c->mem_high;
	o->mem_low = c->mem_low;
}
