/*
 * concurrency.c - tests for the adaptive concurrency controller, driven by a
 * simulated server in simulated time (nothing here reads a clock).
 *
 * The server shares itself among the requests at it (processor sharing):
 * up to `capacity' requests run at full speed; beyond that each gets
 * capacity / n of it, and contention costs the whole a further
 * degrade * (1 - capacity / n) of it, so throughput falls past the knee (to
 * 1 - degrade of its peak at worst) as on a real database.  A request may
 * first spend a fixed `delay' on the way (a network link).  Sessions of
 * `steps' steps, one request at a time, start whenever the limit allows:
 * demand never runs out.
 *
 * SIM_VERBOSE=1 in the environment prints every change of the limit.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/concurrency.h"
#include "sim/rng.h"

#include "check.h"

#define MAXS 128             /* sessions in flight at most (max is 100) */
#define TICK_US 50000.0      /* the caller's timer */
#define MACHINE_US 1000000.0 /* machine samples */
#define TRACE_MAX 1200       /* seconds of limit trace */
#define SEC 1000000.0

struct server {
	double capacity, degrade;
	double work_us; /* mean service time at no load */
	double sigma;   /* of the service times' logarithm */
	double wander;  /* capacity drawn anew each second, +- this fraction */
	double delay_us;
	unsigned steps;
	double cpu; /* what the machine samples say */
};

struct req {
	double key; /* virtual finish time, or time out of the delay */
	unsigned slot;
};

struct sim {
	struct server srv;
	double now, vtime; /* us; work done per request at the server */
	struct rng rng, wrng;
	double wfactor; /* the capacity's wander this second */
	unsigned wsec;
	unsigned n; /* sessions in flight */
	double step_start[MAXS], work[MAXS];
	unsigned steps_left[MAXS];
	unsigned freel[MAXS], nfree;
	struct req heap[MAXS]; /* at the server, by virtual finish */
	unsigned nheap;
	struct req fifo[MAXS]; /* in the delay, by time out */
	unsigned fhead, nfifo;
	uint64_t sessions;
	int stalled;           /* the server serves nothing (another client's lock) */
	struct concurrency *c; /* NULL: the fixed limit */
	uint32_t fixed;
	double next_tick, next_machine;
	/* what the run showed */
	uint32_t trace[TRACE_MAX];        /* the limit at the end of each second */
	unsigned char probing[TRACE_MAX]; /* a probe was under way in it */
	uint32_t limit_max, limit_min;
	unsigned changes, probes, reversals;
	int dir;           /* of the last change not a probe */
	double count_from; /* changes before this are not counted */
};

typedef void (*phase_fn)(struct sim *s);

static void
sim_init(struct sim *s, const struct server *srv, struct concurrency *c, uint32_t fixed)
{
	unsigned i;

	memset(s, 0, sizeof(*s));
	s->srv = *srv;
	s->c = c;
	s->fixed = fixed;
	s->now = SEC; /* the caller's clock never reads 0 */
	s->next_tick = s->now;
	s->next_machine = s->now;
	s->limit_min = UINT32_MAX;
	rng_seed(&s->rng, 14, 1, 2);
	rng_seed(&s->wrng, 14, 2, 2);
	s->wfactor = 1;
	for (i = 0; i < MAXS; i++)
		s->freel[s->nfree++] = MAXS - 1 - i;
}

static uint32_t
sim_limit(const struct sim *s)
{
	uint32_t l = s->c != NULL ? concurrency_limit(s->c) : s->fixed;

	return l < MAXS ? l : MAXS;
}

static double
sim_rate(const struct sim *s)
{
	double m = s->nheap, cap = s->srv.capacity * s->wfactor;

	if (s->stalled)
		return 0;
	if (m <= cap)
		return 1;
	return cap / m * (1 - s->srv.degrade * (1 - cap / m));
}

static void
heap_push(struct sim *s, double key, unsigned slot)
{
	unsigned i = s->nheap++;

	while (i > 0 && s->heap[(i - 1) / 2].key > key) {
		s->heap[i] = s->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	s->heap[i].key = key;
	s->heap[i].slot = slot;
}

static unsigned
heap_pop(struct sim *s)
{
	unsigned slot = s->heap[0].slot, i = 0, k;
	struct req last = s->heap[--s->nheap];

	while ((k = 2 * i + 1) < s->nheap) {
		if (k + 1 < s->nheap && s->heap[k + 1].key < s->heap[k].key)
			k++;
		if (s->heap[k].key >= last.key)
			break;
		s->heap[i] = s->heap[k];
		i = k;
	}
	s->heap[i] = last;
	return slot;
}

/* Service times are lognormal around the mean. */
static void
step_begin(struct sim *s, unsigned slot)
{
	s->step_start[slot] = s->now;
	s->work[slot] =
	    s->srv.work_us * rng_lognormal(&s->rng, -s->srv.sigma * s->srv.sigma / 2, s->srv.sigma);
	if (s->srv.delay_us > 0) {
		struct req *r = &s->fifo[(s->fhead + s->nfifo++) % MAXS];

		r->key = s->now + s->srv.delay_us;
		r->slot = slot;
	} else {
		heap_push(s, s->vtime + s->work[slot], slot);
	}
}

static void
step_done(struct sim *s, unsigned slot)
{
	if (s->c != NULL)
		concurrency_sample(s->c, (uint64_t)(s->now - s->step_start[slot]), s->n);
	if (--s->steps_left[slot] > 0) {
		step_begin(s, slot);
		return;
	}
	s->sessions++;
	s->n--;
	s->freel[s->nfree++] = slot;
}

static void
sessions_start(struct sim *s)
{
	uint32_t limit = sim_limit(s);

	while (s->n < limit && s->nfree > 0) {
		unsigned slot = s->freel[--s->nfree];

		s->n++;
		s->steps_left[slot] = s->srv.steps;
		step_begin(s, slot);
	}
}

static void
sim_note_change(struct sim *s)
{
	struct concurrency_change ch;
	int dir;

	if (concurrency_history(s->c, &ch, 1) != 1 || s->now < s->count_from)
		return;
	if (getenv("SIM_VERBOSE") != NULL)
		printf("  %7.2f s: %u -> %u: %s\n", s->now / SEC - 1, ch.from, ch.to, ch.reason);
	s->changes++;
	if (ch.cause == CONCURRENCY_PROBE) {
		s->probes++;
		return;
	}
	dir = ch.to > ch.from ? 1 : -1;
	if (s->dir != 0 && dir != s->dir)
		s->reversals++;
	s->dir = dir;
}

static void
sim_tick(struct sim *s, phase_fn phase)
{
	uint32_t limit;
	unsigned sec;

	if (phase != NULL)
		phase(s);
	if (s->c != NULL) {
		if (s->now >= s->next_machine) {
			concurrency_machine(s->c, s->srv.cpu, 40);
			s->next_machine += MACHINE_US;
		}
		concurrency_load(s->c, s->n);
		if (concurrency_tick(s->c, (uint64_t)s->now))
			sim_note_change(s);
	}
	limit = sim_limit(s);
	if (s->now >= s->count_from) {
		s->limit_max = limit > s->limit_max ? limit : s->limit_max;
		s->limit_min = limit < s->limit_min ? limit : s->limit_min;
	}
	sec = (unsigned)(s->now / SEC) - 1;
	if (sec != s->wsec) {
		s->wsec = sec;
		s->wfactor = 1 + s->srv.wander * (2 * rng_double(&s->wrng) - 1);
	}
	if (sec < TRACE_MAX) {
		struct concurrency_change ch;

		s->trace[sec] = limit;
		if (s->c != NULL && concurrency_history(s->c, &ch, 1) == 1 &&
		    ch.cause == CONCURRENCY_PROBE && ch.to < ch.from)
			s->probing[sec] = 1;
	}
	s->next_tick += TICK_US;
}

/* Runs until `secs' of simulated time have passed since the start. */
static void
sim_run(struct sim *s, double secs, phase_fn phase)
{
	double end = SEC + secs * SEC;

	sessions_start(s);
	while (s->now < end) {
		double rate = sim_rate(s), t = s->next_tick, tsrv = INFINITY, tdel = INFINITY;

		if (s->nheap > 0 && rate > 0)
			tsrv = s->now + (s->heap[0].key - s->vtime) / rate;
		if (s->nfifo > 0)
			tdel = s->fifo[s->fhead].key;
		t = tsrv < t ? tsrv : t;
		t = tdel < t ? tdel : t;
		s->vtime += rate * (t - s->now);
		s->now = t;
		if (t == tsrv) {
			step_done(s, heap_pop(s));
		} else if (t == tdel) {
			unsigned slot = s->fifo[s->fhead].slot;

			s->fhead = (s->fhead + 1) % MAXS;
			s->nfifo--;
			heap_push(s, s->vtime + s->work[slot], slot);
		} else {
			sim_tick(s, phase);
		}
		sessions_start(s);
	}
}

static const struct server local = { 40, 0.3, 10000, 0.5, 0, 0, 10, 30 };
/* A flat server: throughput stays at its peak past the knee. */
static const struct server flat = { 70, 0, 10000, 0.5, 0, 0, 10, 30 };
/* 100 ms away, knee at about 70 sessions (2 x 103 ms / 3 ms). */
static const struct server remote = { 2, 0.3, 3000, 0.5, 0, 100000, 10, 30 };
/* 100 ms away from a server that 100 sessions do not saturate. */
static const struct server remote_far = { 4, 0.3, 1000, 0.5, 0, 100000, 10, 30 };
/* Noisier service times, and a capacity that wanders +-10 % second to second. */
static const struct server noisy = { 40, 0.3, 10000, 1.0, 0.1, 0, 10, 30 };

static struct concurrency *
controller(int enabled, uint32_t base, uint32_t ceiling)
{
	struct concurrency_opts o = { enabled, base, 20, 100, ceiling, 80, 50, 80, 50, 0 };
	char err[128];
	struct concurrency *c = concurrency_new(&o, err, sizeof(err));

	if (c == NULL)
		fprintf(stderr, "concurrency_new: %s\n", err);
	return c;
}

static void
trace_print(const struct sim *s, const char *name, unsigned from, unsigned to)
{
	unsigned t;

	printf("%s: the limit every 5 s from %u s\n", name, from);
	for (t = from; t < to && t < TRACE_MAX; t += 5)
		printf("%4u%s", s->trace[t], (t - from) % 60 == 55 ? "\n" : "");
	printf("\n");
}

static double
trace_mean(const struct sim *s, unsigned from, unsigned to)
{
	double sum = 0;
	unsigned t;

	for (t = from; t < to; t++)
		sum += s->trace[t];
	return sum / (to - from);
}

/* The lowest limit in [from, to) seconds, probes aside. */
static uint32_t
trace_min(const struct sim *s, unsigned from, unsigned to)
{
	uint32_t m = UINT32_MAX;
	unsigned t;

	for (t = from; t < to; t++)
		if (!s->probing[t] && s->trace[t] < m)
			m = s->trace[t];
	return m;
}

/* (a) A steady load: the limit settles near the knee and stays. */
static void
test_steady(const char *name, const struct server *srv, double max_per_min)
{
	struct sim s;
	struct concurrency_state st;
	double mean, per_min;

	sim_init(&s, srv, controller(1, 50, 0), 0);
	s.count_from = 61 * SEC;
	sim_run(&s, 600, NULL);
	concurrency_state(s.c, &st);
	mean = trace_mean(&s, 60, 600);
	per_min = s.reversals / 9.0;
	trace_print(&s, name, 0, 600);
	printf("%s: after the first minute: %u changes (%u of them probes), %u reversals "
	       "(%.1f a minute), limit %u..%u, mean %.1f; latency %.1f ms, no-load %.1f ms; "
	       "%.0f sessions/s\n",
	    name, s.changes, s.probes, s.reversals, per_min, s.limit_min, s.limit_max, mean,
	    st.latency_ms, st.no_load_latency_ms, s.sessions / 600.0);
	CHECK(per_min <= max_per_min);
	CHECK(mean >= 40 && mean <= 50);
	concurrency_free(s.c);
}

static void
phase_half(struct sim *s)
{
	s->srv.capacity = s->now >= 91 * SEC && s->now < 151 * SEC ? 20 : 40;
}

static void
phase_slow(struct sim *s)
{
	s->srv.work_us = s->now >= 91 * SEC && s->now < 151 * SEC ? 50000 : 10000;
}

/* (b) The backend steps down for a minute, 90 s in (between probes). */
static void
step_test(const char *name, phase_fn phase, double fall_to)
{
	struct sim s;
	uint32_t before, fell, during, after;

	if (getenv("SIM_VERBOSE") != NULL)
		printf("%s:\n", name);
	sim_init(&s, &local, controller(1, 50, 0), 0);
	sim_run(&s, 270, phase);
	trace_print(&s, name, 80, 270);
	before = s.trace[89];
	fell = trace_min(&s, 90, 93);
	during = s.trace[149];
	after = trace_min(&s, 180, 270);
	printf("%s: limit %u before, %u within 3 s, %u at the end of the step, "
	       "at least %u from 30 s after it\n",
	    name, before, fell, during, after);
	CHECK(fell <= before * fall_to);
	CHECK(after >= 40 && after >= before * 0.85);
	concurrency_free(s.c);
}

static void
phase_spike(struct sim *s)
{
	s->srv.cpu = s->now >= 61 * SEC && s->now < 81 * SEC ? 95 : 30;
}

/* (c) A CPU spike cuts the limit, never below min; it grows back after. */
static void
test_cpu_spike(void)
{
	struct concurrency_change ch[CONCURRENCY_HISTORY];
	struct sim s;
	unsigned i, n, cpu_cuts = 0;
	uint32_t before;

	sim_init(&s, &local, controller(1, 50, 0), 0);
	sim_run(&s, 80, phase_spike);
	n = concurrency_history(s.c, ch, CONCURRENCY_HISTORY);
	for (i = 0; i < n; i++)
		if (ch[i].cause == CONCURRENCY_CPU) {
			cpu_cuts++;
			CHECK(strncmp(ch[i].reason, "cpu ", 4) == 0);
			CHECK(strstr(ch[i].reason, " % > 80 %") != NULL);
			CHECK(ch[i].to == (ch[i].from / 2 > 20 ? ch[i].from / 2 : 20));
			printf("cpu spike: %u -> %u: %s\n", ch[i].from, ch[i].to, ch[i].reason);
		}
	CHECK(cpu_cuts >= 2);
	sim_run(&s, 240, phase_spike);
	trace_print(&s, "cpu spike 95 % from 60 to 80 s", 50, 240);
	before = s.trace[59];
	printf("cpu spike: limit %u before, %u at 65 s, %u lowest, %u at 100 s, %u at 200 s\n",
	    before, s.trace[65], s.limit_min, s.trace[100], s.trace[200]);
	CHECK(s.trace[65] <= before / 2 + 1);
	CHECK(s.limit_min >= 20);
	CHECK(trace_min(&s, 65, 80) == 20);
	CHECK(trace_min(&s, 150, 240) >= 40);
	concurrency_free(s.c);
}

static void
phase_lock(struct sim *s)
{
	s->stalled = s->now >= 91 * SEC && s->now < 96 * SEC;
}

/*
 * (b') Another client locks what every step needs for 5 s, 90 s in: nothing
 * completes, so no sample says so; the limit falls all the same, within
 * seconds, and grows back once the lock is gone.
 */
static void
test_lock(void)
{
	struct concurrency_change ch[CONCURRENCY_HISTORY];
	struct sim s;
	unsigned i, n, stalls = 0;
	uint32_t before, fell, after;

	sim_init(&s, &local, controller(1, 50, 0), 0);
	sim_run(&s, 96, phase_lock);
	n = concurrency_history(s.c, ch, CONCURRENCY_HISTORY);
	for (i = 0; i < n; i++)
		if (ch[i].at >= 91 * SEC) {
			CHECK(strncmp(ch[i].reason, "stalled: ", 9) == 0);
			CHECK(ch[i].cause == CONCURRENCY_LATENCY && ch[i].to < ch[i].from);
			printf("lock: %.1f s: %u -> %u: %s\n", ch[i].at / SEC - 1, ch[i].from,
			    ch[i].to, ch[i].reason);
			stalls++;
		}
	CHECK(stalls >= 1);
	sim_run(&s, 240, phase_lock);
	trace_print(&s, "a lock from 90 to 95 s", 80, 240);
	before = s.trace[89];
	fell = trace_min(&s, 90, 93);
	after = trace_min(&s, 150, 240);
	printf(
	    "lock: limit %u before, %u within 3 s, at least %u from 150 s\n", before, fell, after);
	CHECK(fell <= before / 2 + 1);
	CHECK(after >= 40 && after >= before * 0.85);
	/* no stall called on a steady load */
	for (i = 0, n = concurrency_history(s.c, ch, CONCURRENCY_HISTORY); i < n; i++)
		CHECK(ch[i].at < 96 * SEC || strncmp(ch[i].reason, "stalled", 7) != 0);
	concurrency_free(s.c);
}

static double
throughput(const struct server *srv, struct concurrency *c, uint32_t fixed, double secs)
{
	struct sim s;

	sim_init(&s, srv, c, fixed);
	sim_run(&s, secs, NULL);
	return s.sessions / secs;
}

/* (d) Adaptive from a cold start vs the best fixed limit of a sweep. */
static void
throughput_test(const char *name, const struct server *srv)
{
	struct concurrency *c = controller(1, 50, 0);
	double best = 0, x, adaptive;
	uint32_t l, best_l = 0;

	for (l = 20; l <= 100; l += 5) {
		x = throughput(srv, NULL, l, 120);
		if (getenv("SIM_VERBOSE") != NULL)
			printf("  fixed %u: %.1f sessions/s\n", l, x);
		if (x > best) {
			best = x;
			best_l = l;
		}
	}
	if (getenv("SIM_VERBOSE") != NULL)
		printf("adaptive on %s:\n", name);
	adaptive = throughput(srv, c, 0, 120);
	printf("throughput %s: best fixed limit %u: %.1f sessions/s; adaptive from 50: "
	       "%.1f sessions/s (%.1f %%), limit %u at the end\n",
	    name, best_l, best, adaptive, 100 * adaptive / best, concurrency_limit(c));
	CHECK(adaptive >= 0.9 * best);
	concurrency_free(c);
}

static void
phase_overload(struct sim *s)
{
	s->srv.capacity = 20;
	s->srv.cpu = 95;
}

/* (e) Adaptive off holds the base whatever happens. */
static void
test_disabled(void)
{
	struct concurrency_state st;
	struct sim s;

	sim_init(&s, &local, controller(0, 50, 30), 0);
	sim_run(&s, 120, phase_overload);
	concurrency_state(s.c, &st);
	CHECK(s.limit_min == 50 && s.limit_max == 50);
	CHECK(s.changes == 0 && st.changes == 0);
	CHECK(!st.enabled && st.limit == 50 && st.base == 50);
	CHECK(st.latency_ms > 20); /* still measured, for status */
	CHECK(concurrency_set_base(s.c, 70, 1) == 1 && concurrency_limit(s.c) == 70);
	CHECK(strcmp(concurrency_reason(s.c), "base 70") == 0);
	concurrency_free(s.c);
}

/*
 * (f) The next run on the same daemon takes the last run's no-load latency
 * while its probe is not due: it adapts at once instead of spending its first
 * second at half the limit, and probes when the last run's would have.
 */
static void
test_seed(void)
{
	struct sim s;
	double lat = 0;
	uint64_t due = 0, end;

	sim_init(&s, &remote, controller(1, 50, 0), 0);
	CHECK(concurrency_no_load(s.c, &lat, &due) == -1); /* nothing measured yet */
	sim_run(&s, 20, NULL);
	CHECK(s.probes >= 2); /* the first probe: down and back */
	CHECK(concurrency_no_load(s.c, &lat, &due) == 0);
	end = (uint64_t)s.now;
	printf("seed: no-load latency %.1f ms, next probe %.1f s after the run\n", lat / 1000,
	    ((double)due - (double)end) / SEC);
	CHECK(lat > 100000 && lat < 130000); /* 100 ms away, 2 x 3 ms of work at most */
	CHECK(due > end && due - end <= 60 * SEC);
	concurrency_free(s.c);

	/* Seeded: no probe before it is due (30 s in), one after. */
	sim_init(&s, &remote, controller(1, 50, 0), 0);
	concurrency_seed(s.c, lat, (uint64_t)(SEC + 30 * SEC), (uint64_t)SEC);
	sim_run(&s, 25, NULL);
	CHECK(s.probes == 0 && s.limit_min >= 50);
	sim_run(&s, 40, NULL);
	CHECK(s.probes >= 1);
	concurrency_free(s.c);

	/* Due already, or further than a probe interval away, or no latency: ignored. */
	for (int k = 0; k < 3; k++) {
		sim_init(&s, &remote, controller(1, 50, 0), 0);
		concurrency_seed(s.c, k == 2 ? -1 : lat,
		    k == 0 ? (uint64_t)SEC : (uint64_t)(SEC + (k == 1 ? 61 : 30) * SEC),
		    (uint64_t)SEC);
		sim_run(&s, 10, NULL);
		CHECK(s.probes >= 1);
		concurrency_free(s.c);
	}
}

/* (e) A new base while adaptive: the limit goes there and adapts from there. */
static void
test_base(void)
{
	struct concurrency_change ch[CONCURRENCY_HISTORY];
	struct concurrency_state st;
	struct sim s;
	unsigned i, n, from = 0;

	sim_init(&s, &local, controller(1, 50, 0), 0);
	sim_run(&s, 60, NULL);
	CHECK(concurrency_set_base(s.c, 80, (uint64_t)s.now) == 1);
	CHECK(concurrency_limit(s.c) == 80);
	CHECK(strcmp(concurrency_reason(s.c), "base 80") == 0);
	CHECK(concurrency_set_base(s.c, 80, (uint64_t)s.now) == 0);
	sim_run(&s, 70, NULL);
	n = concurrency_history(s.c, ch, CONCURRENCY_HISTORY);
	for (i = 0; i < n; i++) {
		if (i > 0)
			CHECK(ch[i].from == ch[i - 1].to && ch[i].at >= ch[i - 1].at);
		if (ch[i].cause == CONCURRENCY_BASE)
			from = i + 1;
	}
	CHECK(from > 0 && from < n);
	CHECK(from < n && ch[from].from == 80 && ch[from].to < 80);
	sim_run(&s, 150, NULL);
	concurrency_state(s.c, &st);
	printf(
	    "base 80 at 60 s: %u at 65 s, %u at 150 s (base %u)\n", s.trace[65], st.limit, st.base);
	CHECK(st.base == 80 && st.limit >= 40 && st.limit <= 52);
	/* A base above the bounds is clamped while adaptive. */
	CHECK(concurrency_set_base(s.c, 500, (uint64_t)s.now) == 1);
	CHECK(concurrency_limit(s.c) == 100);
	concurrency_state(s.c, &st);
	CHECK(st.base == 500);
	concurrency_free(s.c);
}

/* (e) The hard ceiling is never exceeded, and a lower one applies at once. */
static void
test_ceiling(void)
{
	struct concurrency_opts o = { 1, 50, 20, 100, 30, 80, 50, 80, 50, 0 };
	struct concurrency_change ch;
	char err[128];
	struct sim s;

	sim_init(&s, &remote, controller(1, 50, 30), 0);
	CHECK(concurrency_limit(s.c) == 30);
	sim_run(&s, 120, NULL);
	printf("ceiling 30 on a backend that takes 70: limit %u..%u\n", s.limit_min, s.limit_max);
	CHECK(s.limit_max <= 30 && s.trace[119] == 30);
	o.ceiling = 25;
	CHECK(concurrency_configure(s.c, &o, (uint64_t)s.now, err, sizeof(err)) == 1);
	CHECK(concurrency_limit(s.c) == 25);
	CHECK(concurrency_history(s.c, &ch, 1) == 1 && ch.cause == CONCURRENCY_CEILING);
	o.ceiling = 10; /* below min: the ceiling wins */
	CHECK(concurrency_configure(s.c, &o, (uint64_t)s.now, err, sizeof(err)) == 1);
	CHECK(concurrency_limit(s.c) == 10);
	s.count_from = s.now;
	s.limit_max = 0;
	sim_run(&s, 180, NULL);
	CHECK(s.limit_max == 10);
	o.enabled = 0;
	CHECK(concurrency_configure(s.c, &o, (uint64_t)s.now, err, sizeof(err)) == 1);
	CHECK(concurrency_limit(s.c) == 50);
	CHECK(strcmp(concurrency_reason(s.c), "adaptive off: base 50") == 0);
	o.enabled = 1;
	o.ceiling = 0;
	o.base = 120;
	CHECK(concurrency_configure(s.c, &o, (uint64_t)s.now, err, sizeof(err)) == 1);
	CHECK(concurrency_limit(s.c) == 100);
	concurrency_free(s.c);
}

static void
test_options(void)
{
	struct concurrency_opts good = { 1, 50, 20, 100, 0, 80, 50, 80, 50, 0 }, o;
	struct concurrency *c;
	char err[128];

	o = good;
	o.min = 0;
	err[0] = '\0';
	CHECK(concurrency_new(&o, err, sizeof(err)) == NULL && err[0] != '\0');
	o = good;
	o.max = 10;
	CHECK(concurrency_new(&o, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "adaptive_min") != NULL);
	o = good;
	o.cpu_low = 90;
	CHECK(concurrency_new(&o, err, sizeof(err)) == NULL && strstr(err, "cpu_low") != NULL);
	o = good;
	o.mem_high = 101;
	CHECK(concurrency_new(&o, err, sizeof(err)) == NULL && strstr(err, "mem_low") != NULL);
	o = good;
	o.base = 0;
	CHECK(concurrency_new(&o, err, sizeof(err)) == NULL);

	CHECK((c = concurrency_new(&good, err, sizeof(err))) != NULL);
	o = good;
	o.min = 200;
	CHECK(concurrency_configure(c, &o, 1, err, sizeof(err)) == -1);
	CHECK(concurrency_limit(c) == 50);
	/* Nothing known yet: the state says so. */
	{
		struct concurrency_state st;

		concurrency_machine(c, -1, 250);
		concurrency_state(c, &st);
		CHECK(st.cpu_pct == -1 && st.mem_pct == -1);
		CHECK(st.latency_ms == -1 && st.no_load_latency_ms == -1);
		CHECK(strcmp(st.reason, "") == 0 && st.changes == 0);
	}
	/* Ticks without samples change nothing. */
	for (uint64_t t = 1; t < 100; t++)
		CHECK(concurrency_tick(c, t * 100000) == 0);
	CHECK(concurrency_set_base(c, 0, 1) == 0);
	CHECK(strcmp(concurrency_cause_name(CONCURRENCY_CPU), "cpu") == 0);
	concurrency_free(c);
	concurrency_free(NULL);
}

int
main(void)
{
	test_options();
	test_steady("steady (knee 40)", &local, 0.5);
	test_steady("steady, noisy (knee 40 +- 10 %)", &noisy, 3);
	step_test("capacity halves from 90 to 150 s", phase_half, 0.7);
	step_test("backend 5x slower from 90 to 150 s", phase_slow, 0.75);
	test_cpu_spike();
	test_lock();
	throughput_test("local, knee 40, degrading", &local);
	throughput_test("local, knee 70, flat", &flat);
	throughput_test("100 ms away, knee 70", &remote);
	throughput_test("100 ms away, knee beyond 100", &remote_far);
	throughput_test("local, noisy", &noisy);
	test_disabled();
	test_base();
	test_seed();
	test_ceiling();
	return CHECK_DONE();
}
