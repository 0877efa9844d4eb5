/*
 * engine.c - the scheduler against a store double in this process: the run's
 * lifecycle, the concurrency limit, pause and stop, retries and failures
 * recorded, the same steps whatever the concurrency.  The double completes
 * each op from the loop (as every driver must), when the test lets it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "check.h"
#include "sim/config.h"
#include "sim/defer.h"
#include "sim/engine.h"
#include "sim/rng.h"
#include "sim/snapshot.h"

#include "fakestore.h"

static void
params(struct run_params *p, uint32_t agents, uint32_t cycles, uint32_t limit)
{
	struct sim_config *c = config_new();

	params_from_config(p, c);
	config_free(c);
	p->agents = agents;
	p->cycles = cycles;
	p->time_scale = 0;
	p->max_concurrent = limit;
	p->all_shop = 1;
	p->retry_backoff_ms = 1;
	p->max_retries = 2;
	p->retry_window = 0;
}

/* Runs the loop for ms milliseconds, busy or not (the loop yields to its timers). */
static void
turn(struct event_base *base, int ms)
{
	struct timeval tv = { 0, ms * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static void
run_until_over(struct event_base *base, struct engine *e)
{
	for (int i = 0; i < 3000 && engine_active(e); i++)
		turn(base, 10);
}

static void
snap(struct engine *e, struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
	engine_snapshot(e, s);
}

/* A run at a given limit: its digest, and the counts it ended with. */
static uint64_t
run_at(struct event_base *base, uint32_t limit, struct engine_counts *out)
{
	struct fake f;
	struct run_params p;
	struct snapshot s;
	struct engine *e;
	char err[256];

	fake_init(&f, base);
	e = engine_new(base, &f.pub);
	params(&p, 60, 6, limit);
	CHECK(engine_start(e, &p, err, sizeof(err)) == 0);
	run_until_over(base, e);
	CHECK(engine_state(e) == ENGINE_FINISHED);
	snap(e, &s);
	*out = s.counts;
	CHECK(s.cycle == 6 && s.in_flight == 0);
	engine_free(e);
	defer_free(f.defer);
	return f.digest;
}

/* Same seed, same steps: whatever the concurrency. */
static void
test_determinism(struct event_base *base)
{
	struct engine_counts a, b;
	uint64_t d1 = run_at(base, 1, &a), d64 = run_at(base, 64, &b);

	CHECK(d1 == d64);
	CHECK(a.sessions == 360 && b.sessions == 360 && a.orders == b.orders);
	CHECK(a.agents_processed == 360 && a.errors == 0);
	CHECK(a.rows > a.sessions && a.events > 0);
}

/* Never more in flight than the limit; a new limit applies to what starts next. */
static void
test_limit_pause_stop(struct event_base *base)
{
	struct fake f;
	struct run_params p;
	struct snapshot s;
	struct engine *e;
	char err[256];
	uint64_t before;

	fake_init(&f, base);
	f.hold = 1;
	e = engine_new(base, &f.pub);
	params(&p, 500, 0, 7); /* cycles 0: until stopped */
	CHECK(engine_start(e, &p, err, sizeof(err)) == 0);
	for (int i = 0; i < 50; i++) {
		turn(base, 1);
		fake_release(&f);
	}
	f.hold = 1;
	turn(base, 20);
	CHECK(f.max_held == 7 && engine_in_flight(e) == 7);
	CHECK(engine_set_concurrency(e, 20, err, sizeof(err)) == 0);
	turn(base, 20);
	CHECK(f.max_held == 20 && engine_in_flight(e) == 20);
	/* paused: those in flight finish, nothing starts */
	CHECK(engine_pause(e, err, sizeof(err)) == 0);
	CHECK(engine_pause(e, err, sizeof(err)) == -1 && strstr(err, "nothing to pause"));
	f.hold = 0;
	fake_release(&f);
	turn(base, 20);
	snap(e, &s);
	CHECK(s.in_flight == 0 && s.state == ENGINE_PAUSED);
	before = s.counts.sessions;
	turn(base, 20);
	snap(e, &s);
	CHECK(s.counts.sessions == before && f.nheld == 0);
	/* a run's state for a checkpoint: every agent done or before its session */
	{
		struct run_state rs;
		CHECK(engine_run_state(e, &rs) == 0 && rs.params.agents == 500 &&
		    rs.counts.sessions == before);
	}
	CHECK(engine_resume(e, err, sizeof(err)) == 0);
	turn(base, 20);
	snap(e, &s);
	CHECK(s.counts.sessions > before);
	CHECK(engine_stop(e, err, sizeof(err)) == 0);
	run_until_over(base, e);
	CHECK(engine_state(e) == ENGINE_FINISHED && engine_in_flight(e) == 0);
	CHECK(engine_stop(e, err, sizeof(err)) == -1 && strstr(err, "nothing to stop"));
	engine_free(e);
	defer_free(f.defer);
}

/* The gate holds cycles above its bound until it opens (cluster_max_skew). */
static int
gate_below(void *arg, uint32_t cycle)
{
	return cycle <= *(const uint32_t *)arg;
}

static void
test_gate(struct event_base *base)
{
	struct fake f;
	struct run_params p;
	struct snapshot s;
	struct engine *e;
	char err[256];
	uint32_t gate_upto = 2;

	fake_init(&f, base);
	e = engine_new(base, &f.pub);
	engine_set_gate(e, gate_below, &gate_upto);
	params(&p, 20, 6, 4);
	CHECK(engine_start(e, &p, err, sizeof(err)) == 0);
	turn(base, 200);
	snap(e, &s);
	CHECK(s.cycle == 3 && engine_gated(e) && engine_active(e)); /* 0, 1, 2 done */
	/* paused and resumed while held: still held */
	CHECK(engine_pause(e, err, sizeof(err)) == 0 && engine_resume(e, err, sizeof(err)) == 0);
	turn(base, 50);
	snap(e, &s);
	CHECK(s.cycle == 3 && engine_gated(e));
	gate_upto = 10;
	engine_gate_check(e);
	run_until_over(base, e);
	snap(e, &s);
	CHECK(engine_state(e) == ENGINE_FINISHED && s.cycle == 6 && !engine_gated(e));
	CHECK(s.counts.sessions == 120);
	engine_free(e);
	defer_free(f.defer);
}

/* Agent 3's begin is always refused: 2 of the 10 sessions of 5 agents x 2 cycles fail. */
static struct engine *
engine_failing(struct fake *f, struct event_base *base, struct run_params *p)
{
	fake_init(f, base);
	f->fail_agent = 3;
	f->fail_type = STORE_OP_BEGIN;
	f->fail_times = -1;
	f->fail_err = STORE_ERR_QUERY;
	params(p, 5, 2, 4);
	return engine_new(base, &f->pub);
}

/* A step that keeps failing: retried max_retries times, then the session ends 'failed'. */
static void
test_failures(struct event_base *base)
{
	struct fake f;
	struct run_params p;
	struct snapshot s;
	struct engine *e;
	char err[256];

	e = engine_failing(&f, base, &p);
	CHECK(engine_start(e, &p, err, sizeof(err)) == 0);
	run_until_over(base, e);
	snap(e, &s);
	/* 2 of 10 sessions lost is above the default max_error_rate (5 %): the run failed */
	CHECK(s.state == ENGINE_FAILED && s.counts.sessions == 8 && s.counts.errors == 2);
	CHECK(strstr(s.fail_reason, "2 of 10 sessions failed (20.0 %") != NULL);
	CHECK(s.counts.errors_by_type[STORE_ERR_QUERY] == 2);
	CHECK(s.nfailed_ids == 1 && s.failed_ids[0] == 3);
	CHECK(s.counts.retries == 4);              /* 2 per failed session */
	CHECK(s.op_lat[STORE_OP_FAIL].count == 2); /* each failure recorded once */
	/* the errors panel: the newest of the type, with its agent and step; the newest few */
	CHECK(s.last_error[STORE_ERR_QUERY].set && s.last_error[STORE_ERR_QUERY].agent == 3);
	CHECK(s.last_error[STORE_ERR_QUERY].step == STORE_OP_BEGIN);
	CHECK(s.last_error[STORE_ERR_QUERY].cycle == 1);
	CHECK(strcmp(s.last_error[STORE_ERR_QUERY].msg, "fake: injected query") == 0);
	CHECK(!s.last_error[STORE_ERR_TIMEOUT].set);
	CHECK(s.nrecent == 2 && s.recent[0].cycle == 1 && s.recent[1].cycle == 0);
	CHECK(s.cycle_s_last >= 0 && s.setup.phase == SETUP_DONE && s.setup.users_total == 5);
	engine_free(e);
	defer_free(f.defer);
	/* the same losses at max_error_rate 0.2 (not above it): the run finished */
	e = engine_failing(&f, base, &p);
	p.max_error_rate = 0.2;
	CHECK(engine_start(e, &p, err, sizeof(err)) == 0);
	run_until_over(base, e);
	snap(e, &s);
	CHECK(s.state == ENGINE_FINISHED && s.counts.errors == 2 && s.fail_reason[0] == '\0');
	engine_free(e);
	defer_free(f.defer);
	/* a transient error that goes away is retried, and nothing fails */
	fake_init(&f, base);
	f.fail_agent = 1;
	f.fail_type = STORE_OP_CART;
	f.fail_times = 2;
	f.fail_err = STORE_ERR_CONNECT;
	e = engine_new(base, &f.pub);
	params(&p, 5, 3, 4);
	CHECK(engine_start(e, &p, err, sizeof(err)) == 0);
	run_until_over(base, e);
	snap(e, &s);
	CHECK(s.counts.errors == 0 && s.counts.retries == f.fails && f.fails > 0);
	engine_free(e);
	defer_free(f.defer);
}

static void
count_end(struct engine *e, void *arg)
{
	(*(int *)arg)++;
}

/*
 * A write the store's fence refused fails the run at once: not retried, no
 * FAIL record, no new session, the agent not done, the end of the run as ever.
 */
static void
test_fenced(struct event_base *base)
{
	struct fake f;
	struct run_params p;
	struct snapshot s;
	struct engine *e;
	int ends = 0;
	struct engine_hooks h = { NULL, NULL, count_end, &ends };
	char err[256];
	unsigned ops;

	fake_init(&f, base);
	f.fail_agent = 3;
	f.fail_type = STORE_OP_BEGIN;
	f.fail_times = -1;
	f.fail_err = STORE_ERR_FENCED;
	e = engine_new(base, &f.pub);
	engine_add_hooks(e, &h);
	params(&p, 5, 4, 1); /* one at a time: agent 3's refusal is the last op sent */
	CHECK(engine_start(e, &p, err, sizeof(err)) == 0);
	run_until_over(base, e);
	snap(e, &s);
	CHECK(s.state == ENGINE_FAILED &&
	    strcmp(s.fail_reason, "fenced: fake: injected fenced") == 0);
	CHECK(ends == 1 && s.cycle == 0 && f.fails == 1);
	CHECK(s.counts.retries == 0 && s.op_lat[STORE_OP_FAIL].count == 0);
	CHECK(s.counts.errors == 1 && s.counts.errors_by_type[STORE_ERR_FENCED] == 1);
	CHECK(s.counts.agents_processed == 3 && s.counts.sessions == 3); /* 3 is not done */
	CHECK(s.last_error[STORE_ERR_FENCED].set && s.last_error[STORE_ERR_FENCED].agent == 3);
	engine_free(e);
	defer_free(f.defer);

	/* an event batch refused (the store says so): sessions in flight send nothing more */
	fake_init(&f, base);
	f.hold = 1;
	e = engine_new(base, &f.pub);
	ends = 0;
	engine_add_hooks(e, &h);
	params(&p, 5, 4, 4);
	CHECK(engine_start(e, &p, err, sizeof(err)) == 0);
	for (int i = 0; i < 300 && f.nheld < 4; i++)
		turn(base, 10);
	CHECK(f.nheld == 4 && f.fenced_fn != NULL);
	if (f.fenced_fn != NULL)
		f.fenced_fn(
		    "fenced: shard 2 of run r is no longer held at generation 7", f.fenced_arg);
	ops = f.nheld;
	f.hold = 0;
	fake_release(&f);
	run_until_over(base, e);
	snap(e, &s);
	CHECK(s.state == ENGINE_FAILED &&
	    strcmp(s.fail_reason, "fenced: shard 2 of run r is no longer held at generation 7") ==
		0);
	CHECK(ends == 1 && f.ops == ops && s.counts.sessions == 0 && s.cycle == 0);
	engine_free(e);
	defer_free(f.defer);
	CHECK(strcmp(store_err_name(STORE_ERR_FENCED), "fenced") == 0);
	CHECK(!store_err_transient(STORE_ERR_FENCED));
}

/* What is refused leaves the engine as it was. */
static void
test_refusals(struct event_base *base)
{
	struct fake f;
	struct run_params p;
	struct engine *e;
	char err[256];

	fake_init(&f, base);
	e = engine_new(base, &f.pub);
	CHECK(engine_resume(e, err, sizeof(err)) == -1 && strstr(err, "nothing to resume"));
	CHECK(engine_set_concurrency(e, 0, err, sizeof(err)) == -1);
	params(&p, 5, 0, 4);
	CHECK(engine_start(e, &p, err, sizeof(err)) == 0);
	params(&p, 5, 1, 4);
	CHECK(engine_start(e, &p, err, sizeof(err)) == -1 && strstr(err, "already running"));
	CHECK(engine_stop(e, err, sizeof(err)) == 0);
	run_until_over(base, e);
	engine_free(e);
	defer_free(f.defer);
}

static uint64_t
fixed_clock(void *arg)
{
	return *(const uint64_t *)arg;
}

/* Visits of the cycle due by wall time t (microseconds after the cycle began). */
static uint32_t
due_by(const struct engine *e, const struct run_params *p, uint64_t t)
{
	struct shopper_ctx ctx = { .seed = p->seed, .tick = p->tick, .sim_start = p->sim_start };
	uint32_t n = 0;

	(void)e;
	for (uint32_t a = 0; a < p->agents; a++) {
		int64_t off = shopper_start_time(&ctx, a, 0) - p->sim_start;
		n += (uint64_t)((double)off * 1e6 / p->time_scale) <= t;
	}
	return n;
}

/*
 * time_scale > 0: each visit starts when its simulated minute of the cycle
 * falls due on the engine's clock, and not before, however many could be in
 * flight; its lateness is counted from then.  The clock here only moves when
 * the test moves it, so nothing depends on the machine's speed.
 */
static void
test_paced_arrivals(struct event_base *base)
{
	struct fake f;
	struct run_params p;
	struct snapshot s;
	struct engine *e;
	char err[256];
	uint64_t now = 1000000, t0;
	uint32_t half, all;

	fake_init(&f, base);
	e = engine_new(base, &f.pub);
	engine_set_clock(e, fixed_clock, &now);
	params(&p, 80, 1, 1000);
	p.time_scale = 3600; /* an hourly cycle in a wall second */
	CHECK(engine_start(e, &p, err, sizeof(err)) == 0);
	for (int i = 0; i < 20; i++) /* the set-up, then the plan */
		turn(base, 5);
	t0 = now;
	snap(e, &s);
	CHECK(s.arrival_late.count == due_by(e, &p, 0));
	CHECK(s.arrival_late.count < 5 && s.cursor == 80);
	now = t0 + 500000; /* half-way through the cycle */
	half = due_by(e, &p, 500000);
	for (int i = 0; i < 30; i++)
		turn(base, 5);
	snap(e, &s);
	CHECK(half > 20 && half < 60);
	CHECK(s.arrival_late.count == half);
	CHECK(s.counts.sessions <= half && s.state == ENGINE_RUNNING && s.cycle == 0);
	/* visits that fell due on the way were late by up to half the cycle, and their
	 * session latencies count from when they were due (coordinated omission) */
	CHECK(s.arrival_late.max_us <= 500000 && s.arrival_late.max_us > 100000);
	CHECK(s.session_lat.max_us >= s.arrival_late.max_us * 9 / 10);
	now = t0 + 2000000;
	all = due_by(e, &p, 1000000);
	run_until_over(base, e);
	snap(e, &s);
	CHECK(all == 80 && s.arrival_late.count == 80 && s.counts.sessions == 80);
	CHECK(engine_state(e) == ENGINE_FINISHED && s.cycle == 1);
	/* only the visits due at the cycle's very start began in its first tenth */
	CHECK(s.arrivals_first_tenth == due_by(e, &p, 0));
	engine_free(e);
	defer_free(f.defer);
}

int
main(void)
{
	/* as simd's loop: busy work yields to polling after a few callbacks */
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	event_config_set_max_dispatch_interval(cfg, NULL, 16, 0);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);

	CHECK(base != NULL);
	test_determinism(base);
	test_limit_pause_stop(base);
	test_gate(base);
	test_failures(base);
	test_refusals(base);
	test_fenced(base);
	test_paced_arrivals(base);
	event_base_free(base);
	return CHECK_DONE();
}
