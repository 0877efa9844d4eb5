/*
 * engine.c - a run's lifecycle (set-up, cycles, pause, stop, the end) and the
 * pump that starts sessions within the concurrency limit.  Sessions
 * themselves are session.c's; when cycles start, pacer.c's.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "sim/engine_priv.h"
#include "sim/log.h"
#include "sim/platform.h"

struct engine_waiter {
	engine_wait_fn fn;
	void *arg;
	struct engine_waiter *next;
};

/* clang-format off */
#define COUNT(f) { #f, offsetof(struct engine_counts, f) }
/* clang-format on */
const struct count_def engine_count_defs[] = {
	COUNT(agents_processed),
	COUNT(agents_shopped),
	COUNT(sessions),
	COUNT(orders),
	COUNT(abandoned),
	COUNT(browsed),
	COUNT(events),
	COUNT(errors),
	COUNT(retries),
	COUNT(revenue_cents),
	COUNT(items),
	COUNT(rows),
};
#undef COUNT
const size_t engine_ncount_defs = sizeof(engine_count_defs) / sizeof(engine_count_defs[0]);

static void notify_waiters(struct engine *e);
static void arrive_cb(evutil_socket_t fd, short what, void *arg);
static void prepared(enum store_err err, const char *msg, void *arg);
static void cycle_begin(struct engine *e);

static const char *const state_names[] = { "idle", "running", "paused", "stopping", "finished",
	"failed" };

const char *
engine_state_name(enum engine_state s)
{
	return (unsigned)s < 6 ? state_names[s] : "?";
}

static uint64_t
default_clock(void *arg)
{
	return metrics_now_us();
}

uint64_t
engine_now_us(const struct engine *e)
{
	return e->clock(e->clock_arg);
}

double
engine_now_s(const struct engine *e)
{
	return (double)engine_now_us(e) / 1e6;
}

static void
pump_cb(evutil_socket_t fd, short what, void *arg)
{
	engine_pump(arg);
}

static void
fenced_cb(const char *msg, void *arg)
{
	engine_fenced(arg, msg);
}

static void
kick(struct engine *e)
{
	event_active(e->pump_ev, EV_TIMEOUT, 0);
}

struct engine *
engine_new(struct event_base *base, struct store *store)
{
	struct engine *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->base = base;
	e->store = store;
	e->clock = default_clock;
	e->pump_ev = event_new(base, -1, 0, pump_cb, e);
	e->bp_timer = evtimer_new(base, pump_cb, e);
	if (e->pump_ev == NULL || e->bp_timer == NULL) {
		if (e->pump_ev != NULL)
			event_free(e->pump_ev);
		if (e->bp_timer != NULL)
			event_free(e->bp_timer);
		free(e);
		return NULL;
	}
	adaptive_init(e);
	store_on_fenced(store, fenced_cb, e); /* an event batch refused, say */
	return e;
}

static void
run_clear(struct engine *e)
{
	sessions_free(e, 0);
	if (e->cycle_timer)
		event_free(e->cycle_timer);
	if (e->hours_timer)
		event_free(e->hours_timer);
	if (e->prep_timer)
		event_free(e->prep_timer);
	if (e->arrive_timer)
		event_free(e->arrive_timer);
	e->cycle_timer = e->hours_timer = e->prep_timer = e->arrive_timer = NULL;
	realism_free(e->tally);
	free(e->plan);
	e->tally = NULL;
	e->plan = NULL;
	adaptive_clear(e);
	catalog_free(e->cat);
	free(e->personas);
	free(e->agents);
	params_clear(&e->p);
	e->cat = NULL;
	e->personas = NULL;
	e->agents = NULL;
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	if (e->personas_busy)
		e->psrc.cancel(e->psrc.src);
	sessions_free(e, 1);
	run_clear(e);
	adaptive_free(e);
	notify_waiters(e); /* whoever waits for the run's end hears of it now */
	event_free(e->pump_ev);
	event_free(e->bp_timer);
	free(e);
}

void
engine_detach(struct engine *e)
{
	e->closing = 1;
	store_on_fenced(e->store, NULL, NULL);
	evtimer_del(e->bp_timer);
	if (e->personas_busy)
		e->psrc.cancel(e->psrc.src);
	e->personas_busy = 0;
	if (e->prep_timer)
		evtimer_del(e->prep_timer);
	if (e->cycle_timer)
		evtimer_del(e->cycle_timer);
	if (e->hours_timer)
		evtimer_del(e->hours_timer);
	if (e->arrive_timer)
		evtimer_del(e->arrive_timer);
	sessions_detach(e);
}

int
engine_add_hooks(struct engine *e, const struct engine_hooks *hooks)
{
	if (e->nhooks == ENGINE_MAX_HOOKS)
		return -1;
	e->hooks[e->nhooks++] = *hooks;
	return 0;
}

void
engine_set_persona_source(struct engine *e, const struct persona_source *src)
{
	if (src != NULL)
		e->psrc = *src;
	else
		memset(&e->psrc, 0, sizeof(e->psrc));
}

void
engine_set_clock(struct engine *e, engine_clock_fn fn, void *arg)
{
	e->clock = fn != NULL ? fn : default_clock;
	e->clock_arg = arg;
}

/* Calls hook `which' of every set: offsetof into struct engine_hooks. */
#define CALL_HOOKS(e, which)                                                   \
	do {                                                                   \
		for (unsigned h_ = 0; h_ < (e)->nhooks; h_++)                  \
			if ((e)->hooks[h_].which)                              \
				(e)->hooks[h_].which((e), (e)->hooks[h_].arg); \
	} while (0)

enum engine_state
engine_state(const struct engine *e)
{
	return e->state;
}

int
engine_active(const struct engine *e)
{
	return e->state == ENGINE_RUNNING || e->state == ENGINE_PAUSED ||
	    e->state == ENGINE_STOPPING;
}

uint32_t
engine_in_flight(const struct engine *e)
{
	return e->in_flight;
}

uint32_t
engine_limit(const struct engine *e)
{
	return e->limit ? e->limit : e->p.max_concurrent;
}

const char *
engine_fail_reason(const struct engine *e)
{
	return e->fail_reason;
}

static uint32_t
population(const struct engine *e)
{
	return e->p.only ? e->p.nonly : e->p.agents;
}

static double
elapsed_s(const struct engine *e)
{
	return pacer_elapsed(&e->pacer, engine_now_us(e));
}

/* ---- ending a run ---- */

static void
notify_waiters(struct engine *e)
{
	struct engine_waiter *w = e->waiters;

	e->waiters = NULL;
	while (w != NULL) {
		struct engine_waiter *next = w->next;
		w->fn(e, w->arg);
		free(w);
		w = next;
	}
}

/* The end-of-run summary's realism report: each figure beside its band. */
static void
log_realism(const struct engine *e)
{
	struct realism_report *rep = malloc(sizeof(*rep));
	char line[160];

	if (rep == NULL || engine_realism(e, rep) != 0) {
		free(rep);
		return;
	}
	log_info("run %s realism: %u of %d figures outside their band, over %llu sessions and "
		 "%llu orders",
	    e->p.run_id, rep->nout, REALISM_FIGURES, (unsigned long long)rep->sessions,
	    (unsigned long long)rep->orders);
	for (int f = 0; f < REALISM_FIGURES; f++) {
		realism_figure_line(&rep->fig[f], line, sizeof(line));
		log_info("realism: %s", line);
	}
	free(rep);
}

/*
 * A run whose sessions failed beyond max_error_rate lost work that a
 * `finished' would hide: it fails, saying how many (start --wait exits 1).
 */
static int
error_rate_exceeded(struct engine *e)
{
	uint64_t failed = e->counts.errors, all = e->counts.sessions + e->counts.errors;
	double rate;

	if (failed == 0)
		return 0;
	rate = (double)failed / (double)all;
	if (rate <= e->p.max_error_rate)
		return 0;
	snprintf(e->fail_reason, sizeof(e->fail_reason),
	    "%llu of %llu sessions failed (%.1f %%, above max_error_rate %g %%)",
	    (unsigned long long)failed, (unsigned long long)all, rate * 100,
	    e->p.max_error_rate * 100);
	return 1;
}

/* "fenced: ...": the server's line, found in msg (a step's says where it failed first). */
static void
fenced_reason(struct engine *e, const char *msg)
{
	const char *m = msg != NULL ? strstr(msg, "fenced:") : NULL;

	if (m != NULL)
		snprintf(e->fail_reason, sizeof(e->fail_reason), "%s", m);
	else
		snprintf(e->fail_reason, sizeof(e->fail_reason), "fenced: %s",
		    msg != NULL ? msg : "the shard's lease moved on");
}

static void
flushed(enum store_err err, const char *msg, void *arg)
{
	struct engine *e = arg;

	if (err != STORE_OK) {
		log_warnx("run %s: final flush failed: %s", e->p.run_id, msg);
		if (e->final_state != ENGINE_FAILED && err == STORE_ERR_FENCED)
			fenced_reason(e, msg);
		else if (e->final_state != ENGINE_FAILED)
			snprintf(e->fail_reason, sizeof(e->fail_reason), "final flush: %s", msg);
		e->final_state = ENGINE_FAILED;
	}
	if (e->final_state == ENGINE_FINISHED && error_rate_exceeded(e)) {
		log_warnx("run %s failed: %s", e->p.run_id, e->fail_reason);
		e->final_state = ENGINE_FAILED;
	}
	/* Only now is the run over: every row it wrote is durable. */
	e->state = e->final_state;
	platform_trim_memory(); /* the run's queues are gone: RSS goes back down */
	pacer_stop(&e->pacer, engine_now_us(e));
	if (e->closing)
		return; /* the daemon is tearing down: nothing else to tell */
	log_info("run %s %s: cycle %u, %llu sessions, %llu orders, %llu errors, %.2f s",
	    e->p.run_id, engine_state_name(e->state), e->cycle,
	    (unsigned long long)e->counts.sessions, (unsigned long long)e->counts.orders,
	    (unsigned long long)e->counts.errors, elapsed_s(e));
	log_realism(e);
	CALL_HOOKS(e, run_end);
	notify_waiters(e);
}

static void
run_end(struct engine *e, enum engine_state final)
{
	if (e->ending)
		return;
	if (e->cycle_timer)
		evtimer_del(e->cycle_timer);
	if (e->hours_timer)
		evtimer_del(e->hours_timer);
	if (e->arrive_timer)
		evtimer_del(e->arrive_timer);
	e->cycle_waiting = 0;
	e->gated = 0;
	e->state = ENGINE_STOPPING; /* until the store has flushed */
	e->final_state = final;
	e->ending = 1;
	log_debug("run %s: sessions done, flushing the store", e->p.run_id);
	store_flush(e->store, flushed, e);
}

void
engine_fail(struct engine *e, const char *why)
{
	snprintf(e->fail_reason, sizeof(e->fail_reason), "%s", why);
	log_warnx("run %s failed: %s", e->p.run_id, why);
	e->state = ENGINE_STOPPING; /* drain what is in flight, then fail */
	if (e->in_flight == 0)
		run_end(e, ENGINE_FAILED);
}

/*
 * Sessions in flight finish by being refused too (the store is fenced: it
 * sends nothing more); a run already ending learns it from its final flush.
 */
void
engine_fenced(struct engine *e, const char *msg)
{
	char why[sizeof(e->fail_reason)];

	if (!engine_active(e) || e->ending || e->fenced)
		return;
	e->fenced = 1;
	fenced_reason(e, msg);
	snprintf(why, sizeof(why), "%s", e->fail_reason);
	engine_fail(e, why);
}

/* ---- cycles ---- */

/* The next cycle, once the gate lets it (else it waits for engine_gate_check). */
static void
cycle_next(struct engine *e)
{
	if (e->gate != NULL && !e->gate(e->gate_arg, e->cycle)) {
		if (!e->gated)
			log_info(
			    "run %s: cycle %u waits for the other shards", e->p.run_id, e->cycle);
		e->gated = 1;
		e->cycle_waiting = 1;
		return;
	}
	e->gated = 0;
	e->cycle_waiting = 0;
	cycle_begin(e);
}

void
engine_set_gate(struct engine *e, engine_gate_fn fn, void *arg)
{
	e->gate = fn;
	e->gate_arg = arg;
}

void
engine_gate_check(struct engine *e)
{
	if (e->gated && e->state == ENGINE_RUNNING)
		cycle_next(e);
}

int
engine_gated(const struct engine *e)
{
	return e->gated;
}

static void
cycle_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;

	e->cycle_waiting = 0;
	if (e->state == ENGINE_RUNNING)
		cycle_next(e);
	/* paused: engine_resume() begins the cycle */
}

static int
run_over(struct engine *e)
{
	if (e->p.cycles != 0 && e->cycle >= e->p.cycles)
		return 1;
	return e->p.hours > 0 && elapsed_s(e) >= e->p.hours * 3600.0;
}

/*
 * A cycle's time: its wall time, less what a paced cycle spent with nothing
 * in flight waiting for its next arrival, so that it says how long the
 * cycle's work took however its arrivals were spread.
 */
static uint64_t
cycle_busy_us(const struct engine *e, uint64_t now)
{
	uint64_t idle = e->idle_us + (e->idle_since_us ? now - e->idle_since_us : 0);
	uint64_t wall = now - e->cycle_t0_us;

	return wall > idle ? wall - idle : 0;
}

static void
cycle_end(struct engine *e)
{
	double wait;

	e->last_cycle_us = cycle_busy_us(e, engine_now_us(e));
	hist_add(&e->cycle_lat, e->last_cycle_us);
	e->cycle++;
	e->cursor = 0;
	realism_set_span(e->tally, (int64_t)(e->cycle - e->tally_cycle0) * e->p.tick * 60);
	CALL_HOOKS(e, cycle_end);
	if (e->state == ENGINE_STOPPING || run_over(e)) {
		run_end(e, ENGINE_FINISHED);
		return;
	}
	wait = pacer_next(
	    &e->pacer, pacer_budget(e->p.tick, e->p.time_scale), e->cycle, engine_now_us(e));
	if (wait <= 0) {
		if (e->pacer.lag > 0.001)
			log_info("run %s: cycle %u starts %.3f s late", e->p.run_id, e->cycle,
			    e->pacer.lag);
		cycle_next(e);
		return;
	}
	struct timeval tv = { (time_t)wait, (suseconds_t)(fmod(wait, 1.0) * 1e6) };
	e->cycle_waiting = 1;
	evtimer_add(e->cycle_timer, &tv);
}

static void
cycle_begin(struct engine *e)
{
	e->cursor = 0;
	e->cycle_t0_us = engine_now_us(e);
	e->cycle_errors0 = e->counts.errors;
	e->cycle_rows0 = e->counts.rows;
	e->arrive_t0_us = e->cycle_t0_us;
	e->idle_us = e->idle_since_us = 0;
	e->nplan = e->plan_next = 0;
	log_debug("run %s: cycle %u begins", e->p.run_id, e->cycle);
	kick(e);
}

static int
paced(const struct engine *e)
{
	return e->p.time_scale > 0;
}

static uint32_t
agent_at(const struct engine *e, uint32_t pos)
{
	return e->p.only ? e->p.only[pos] : pos;
}

/* Whether the agent visits in this cycle (rng seeded for its session); else it is done. */
static int
decide(struct engine *e, uint32_t agent, struct rng *rng)
{
	if (e->agents[agent].done_cycle > e->cycle)
		return 0; /* done before the checkpoint this run resumed from */
	if (shopper_decide(&e->sctx, &e->personas[agent], agent, e->cycle, rng))
		return 1;
	e->agents[agent].done_cycle = e->cycle + 1;
	e->counts.agents_processed++;
	return 0;
}

static int
arrival_cmp(const void *a, const void *b)
{
	const struct arrival *x = a, *y = b;

	if (x->offset_s != y->offset_s)
		return x->offset_s < y->offset_s ? -1 : 1;
	return x->agent < y->agent ? -1 : x->agent > y->agent;
}

static void
arrive_cb(evutil_socket_t fd, short what, void *arg)
{
	engine_pump(arg);
}

/*
 * The writes the store has queued are at their bound: no session starts until
 * they drain (looked at again shortly, and whenever a session ends).
 */
static int
congested(struct engine *e)
{
	struct timeval tv = { 0, ENGINE_BP_POLL_MS * 1000 };

	if (!store_congested(e->store))
		return 0;
	evtimer_add(e->bp_timer, &tv);
	return 1;
}

/* Unpaced: every visit of the cycle starts as soon as the limit allows.  0, or -1: return. */
static int
pump_flat(struct engine *e, unsigned *budget)
{
	uint32_t n = population(e), agent;
	struct rng rng;

	while (e->state == ENGINE_RUNNING && e->in_flight < e->limit && e->cursor < n) {
		if ((*budget)-- == 0) {
			kick(e); /* yield to the loop: control requests are answered */
			return -1;
		}
		if (congested(e))
			return 0;
		agent = agent_at(e, e->cursor++);
		if (!decide(e, agent, &rng))
			continue;
		if (session_start(e, agent, &rng, engine_now_us(e)) != 0) {
			e->cursor--;
			engine_fail(e, "out of memory starting a session");
			return -1;
		}
	}
	return 0;
}

/* Paced, first: who visits, and when (the plan, sorted by start). */
static int
pump_plan(struct engine *e, unsigned *budget)
{
	uint32_t n = population(e), agent;
	int64_t c0 = shopper_cycle_time(&e->sctx, e->cycle);
	struct rng rng;

	while (e->state == ENGINE_RUNNING && e->cursor < n) {
		if ((*budget)-- == 0) {
			kick(e);
			return -1;
		}
		agent = agent_at(e, e->cursor++);
		if (decide(e, agent, &rng))
			e->plan[e->nplan++] = (struct arrival){
				(uint32_t)(shopper_start_time(&e->sctx, agent, e->cycle) - c0),
				agent
			};
		if (e->cursor == n)
			qsort(e->plan, e->nplan, sizeof(*e->plan), arrival_cmp);
	}
	return 0;
}

/* Paced, then: each visit starts when it falls due, and its lateness is counted. */
static int
pump_arrivals(struct engine *e, unsigned *budget)
{
	double budget_us = pacer_budget(e->p.tick, e->p.time_scale) * 1e6;
	struct rng rng;

	while (e->state == ENGINE_RUNNING && e->in_flight < e->limit &&
	    e->cursor >= population(e) && e->plan_next < e->nplan) {
		const struct arrival *a = &e->plan[e->plan_next];
		uint64_t due = e->arrive_t0_us + (uint64_t)(a->offset_s * 1e6 / e->p.time_scale);
		uint64_t now = engine_now_us(e);

		if (due > now) {
			if (e->in_flight == 0 && e->idle_since_us == 0)
				e->idle_since_us = now; /* until it falls due */
			struct timeval tv = { (time_t)((due - now) / 1000000),
				(suseconds_t)((due - now) % 1000000) };
			evtimer_add(e->arrive_timer, &tv);
			return 0;
		}
		if ((*budget)-- == 0) {
			kick(e);
			return -1;
		}
		if (congested(e))
			return 0;
		if (e->idle_since_us != 0) {
			e->idle_us += now - e->idle_since_us;
			e->idle_since_us = 0;
		}
		(void)shopper_decide(&e->sctx, &e->personas[a->agent], a->agent, e->cycle, &rng);
		if (session_start(e, a->agent, &rng, due) != 0) {
			engine_fail(e, "out of memory starting a session");
			return -1;
		}
		hist_add(&e->late, now - due);
		e->arrivals_first_tenth += (double)(now - e->arrive_t0_us) * 10 < budget_us;
		e->plan_next++;
	}
	return 0;
}

void
engine_pump(struct engine *e)
{
	unsigned budget = ENGINE_PUMP_BATCH;
	int done;

	if (e->agents == NULL || e->preparing || e->cycle_waiting || e->closing || e->ending)
		return;
	if (!paced(e) ? pump_flat(e, &budget) != 0
		      : pump_plan(e, &budget) != 0 || pump_arrivals(e, &budget) != 0)
		return;
	done = e->cursor >= population(e) && (!paced(e) || e->plan_next >= e->nplan);
	if (e->in_flight == 0 && (e->state == ENGINE_RUNNING || e->state == ENGINE_STOPPING)) {
		if (done)
			cycle_end(e);
		else if (e->state == ENGINE_STOPPING)
			run_end(e, e->fail_reason[0] ? ENGINE_FAILED : ENGINE_FINISHED);
	}
}

/* ---- set-up ---- */

static void
hours_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	char err[64];

	log_info("run %s: %.3g hours are up; stopping", e->p.run_id, e->p.hours);
	engine_stop(e, err, sizeof(err));
}

static void
prepare_start(struct engine *e)
{
	struct store_setup setup;

	setup.catalog = e->cat;
	setup.catalog_out = e->cat; /* the shop API's driver may replace it (shop_catalog = api) */
	setup.catalog_external = 0;
	setup.personas = e->personas;
	setup.nagents = e->p.agents;
	setup.progress = &e->prog;
	setup.bulk = strcmp(e->p.write_mode, "bulk") == 0;
	memset(&e->prog, 0, sizeof(e->prog));
	e->preparing = 1;
	store_prepare(e->store, &setup, prepared, e);
}

static void
prep_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;

	if (e->state == ENGINE_STOPPING) { /* stopped while waiting to retry */
		e->preparing = 0;
		run_end(e, ENGINE_FINISHED);
		return;
	}
	prepare_start(e);
}

/* A set-up that lost its connection is retried like a step (retry_window). */
static int
prepare_retry(struct engine *e, enum store_err err, const char *msg)
{
	struct backoff_policy p = e->retry;
	struct timeval tv;
	double delay;

	p.max_retries = 0; /* only transient failures, within the window */
	if (!store_err_transient(err))
		return 0;
	if (e->state == ENGINE_STOPPING ||
	    !backoff_next(&p, &e->prep_bo, 1, engine_now_s(e), 0, -1, &delay))
		return 0;
	log_warnx(
	    "run %s: set-up failed (%s); retrying in %.0f ms", e->p.run_id, msg, delay * 1000);
	e->counts.retries++;
	e->preparing = 1; /* nothing starts meanwhile */
	tv.tv_sec = (time_t)delay;
	tv.tv_usec = (suseconds_t)((delay - (double)tv.tv_sec) * 1e6);
	evtimer_add(e->prep_timer, &tv);
	return 1;
}

static void
prepared(enum store_err err, const char *msg, void *arg)
{
	struct engine *e = arg;

	e->preparing = 0;
	if (e->closing)
		return;
	if (err != STORE_OK) {
		if (!prepare_retry(e, err, msg))
			engine_fail(e, msg);
		return;
	}
	e->setup_done = 1;
	/* the personas are final now (an LLM's may have replaced the local ones) */
	for (uint32_t i = 0; i < population(e); i++)
		realism_expect(e->tally, &e->personas[agent_at(e, i)]);
	log_info("run %s: %u agents ready (seed %llu); cycle %u begins", e->p.run_id, e->p.agents,
	    (unsigned long long)e->p.seed, e->cycle);
	pacer_start(&e->pacer, engine_now_us(e));
	if (e->p.hours > 0) {
		double left = e->p.hours * 3600.0 - e->pacer.before;
		struct timeval tv = { (time_t)(left > 0 ? left : 0),
			(suseconds_t)(left > 0 ? fmod(left, 1.0) * 1e6 : 0) };
		evtimer_add(e->hours_timer, &tv);
	}
	if (e->state == ENGINE_STOPPING || run_over(e)) {
		run_end(e, ENGINE_FINISHED);
		return;
	}
	cycle_next(e);
}

int
engine_shopper(const struct run_params *p, struct shopper_opts *opts, struct calendar *cal,
    char *err, size_t errlen)
{
	*opts = p->shop;
	calendar_init(cal);
	if (shopper_opts_check(opts, err, errlen) != 0 ||
	    calendar_set_weekdays(cal, p->weekday_mix, err, errlen) != 0 ||
	    calendar_set_events(cal, p->calendar, err, errlen) != 0)
		return -1;
	return 0;
}

static void
personas_done(int rc, const char *why, void *arg)
{
	struct engine *e = arg;

	e->personas_busy = 0;
	e->preparing = 0;
	if (e->closing)
		return;
	if (rc != 0) {
		engine_fail(e, why);
		return;
	}
	if (e->state == ENGINE_STOPPING) {
		run_end(e, ENGINE_FINISHED);
		return;
	}
	prepare_start(e);
}

/* The set-up: the personas first when they come from elsewhere, then the store's part. */
static void
setup_start(struct engine *e)
{
	char err[256];

	if (e->psrc.fill == NULL) {
		prepare_start(e);
		return;
	}
	e->preparing = 1;
	e->personas_busy = 1;
	if (e->psrc.fill(e->psrc.src, e->p.seed, e->personas, e->p.agents, personas_done, e, err,
		sizeof(err)) != 0) {
		e->personas_busy = 0;
		e->preparing = 0;
		engine_fail(e, err);
	}
}

static int
run_alloc(struct engine *e, char *err, size_t errlen)
{
	const struct run_params *p = &e->p;

	if (engine_shopper(p, &e->sopts, &e->cal, err, errlen) != 0)
		return -1;
	e->cat = catalog_new(
	    p->seed, p->sim_start, p->catalog_stores, p->catalog_products, p->catalog_coupons);
	e->personas = calloc(p->agents, sizeof(*e->personas));
	e->agents = calloc(p->agents, sizeof(*e->agents));
	e->cycle_timer = evtimer_new(e->base, cycle_timer_cb, e);
	e->hours_timer = evtimer_new(e->base, hours_cb, e);
	e->prep_timer = evtimer_new(e->base, prep_retry_cb, e);
	e->arrive_timer = evtimer_new(e->base, arrive_cb, e);
	e->tally = realism_new(p->agents, p->sim_start);
	e->plan = p->time_scale > 0 ? calloc(population(e), sizeof(*e->plan)) : NULL;
	if (!e->cat || !e->personas || !e->agents || !e->cycle_timer || !e->hours_timer ||
	    !e->prep_timer || !e->arrive_timer || !e->tally ||
	    (p->time_scale > 0 && e->plan == NULL)) {
		snprintf(err, errlen, "out of memory for %u agents", p->agents);
		return -1;
	}
	for (uint32_t i = 0; i < p->agents; i++)
		persona_generate(&e->personas[i], p->seed, i);
	e->sctx.cat = e->cat;
	e->sctx.seed = p->seed;
	e->sctx.tick = p->tick;
	e->sctx.sim_start = p->sim_start;
	e->sctx.all_shop = p->all_shop;
	e->sctx.opts = &e->sopts;
	e->sctx.cal = &e->cal;
	return 0;
}

void
engine_new_run_id(char *buf, size_t len, uint64_t seed)
{
	struct timespec ts;
	struct tm tm;
	char when[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y%m%dT%H%M%S", &tm);
	snprintf(buf, len, "%s-%04lx-s%llu", when, (unsigned long)(ts.tv_nsec / 1000) & 0xffff,
	    (unsigned long long)seed);
}

/* The run's retry parameters as the one backoff policy (backoff.h). */
static void
retry_policy(struct backoff_policy *bp, const struct run_params *p)
{
	memset(bp, 0, sizeof(*bp));
	bp->base = p->retry_backoff_ms / 1000.0;
	bp->factor = 2;
	bp->max_exponent = 10;
	bp->cap_transient = ENGINE_TRANSIENT_CAP;
	bp->max_retries = p->max_retries;
	bp->window = p->retry_window;
}

/* Takes p's agent list, whatever the outcome. */
static int
run_begin(struct engine *e, const struct run_params *p, char *err, size_t errlen)
{
	if (engine_active(e) || e->preparing) {
		snprintf(err, errlen, "a run is already %s (run %s); stop it first",
		    engine_state_name(e->state), e->p.run_id);
		free(p->only);
		return -1;
	}
	run_clear(e);
	memset(&e->counts, 0, sizeof(e->counts));
	memset(e->op_lat, 0, sizeof(e->op_lat));
	memset(&e->session_lat, 0, sizeof(e->session_lat));
	memset(&e->cycle_lat, 0, sizeof(e->cycle_lat));
	memset(&e->late, 0, sizeof(e->late));
	e->arrivals_first_tenth = 0;
	e->paused_us = 0;
	e->nfailed_ids = 0;
	memset(e->last_error, 0, sizeof(e->last_error));
	e->nrecent = 0;
	e->setup_done = 0;
	e->last_cycle_us = e->cycle_t0_us = 0;
	e->fail_reason[0] = '\0';
	e->ending = 0;
	e->fenced = 0;
	e->p = *p;
	if (e->p.run_id[0] == '\0')
		engine_new_run_id(e->p.run_id, sizeof(e->p.run_id), p->seed);
	store_set_run(e->store, e->p.run_id);
	retry_policy(&e->retry, &e->p);
	e->cycle = e->tally_cycle0 = 0;
	e->cursor = 0;
	pacer_reset(&e->pacer, 0, 0);
	e->cycle_waiting = 0;
	e->limit = p->max_concurrent;
	if (run_alloc(e, err, errlen) != 0 || adaptive_begin(e, err, errlen) != 0) {
		run_clear(e);
		return -1;
	}
	e->state = ENGINE_RUNNING;
	backoff_reset(&e->prep_bo);
	return 0;
}

int
engine_start_as(struct engine *e, const struct run_params *p, char *err, size_t errlen)
{
	if (run_begin(e, p, err, errlen) != 0)
		return -1;
	CALL_HOOKS(e, run_start);
	setup_start(e);
	return 0;
}

int
engine_start(struct engine *e, const struct run_params *p, char *err, size_t errlen)
{
	struct run_params q = *p;

	q.run_id[0] = '\0';
	return engine_start_as(e, &q, err, errlen);
}

int
engine_resume_from(struct engine *e, const struct run_state *rs, char *err, size_t errlen)
{
	struct run_params q;

	if (params_copy(&q, &rs->params) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (run_begin(e, &q, err, errlen) != 0)
		return -1;
	e->cycle = e->tally_cycle0 = rs->cycle;
	e->counts = rs->counts;
	pacer_reset(&e->pacer, rs->elapsed_s, rs->lag_s);
	memcpy(e->agents, rs->agents, (size_t)rs->params.agents * sizeof(*e->agents));
	log_info("run %s resumed at cycle %u", e->p.run_id, e->cycle);
	setup_start(e);
	return 0;
}

/* ---- control ---- */

int
engine_pause(struct engine *e, char *err, size_t errlen)
{
	if (e->state != ENGINE_RUNNING) {
		snprintf(err, errlen, "nothing to pause: the simulation is %s",
		    engine_state_name(e->state));
		return -1;
	}
	e->state = ENGINE_PAUSED;
	e->paused_us = engine_now_us(e);
	if (e->personas_busy)
		e->psrc.pause(e->psrc.src, 1);
	log_info("run %s paused at cycle %u (%u sessions finishing)", e->p.run_id, e->cycle,
	    e->in_flight);
	return 0;
}

int
engine_resume(struct engine *e, char *err, size_t errlen)
{
	if (e->state != ENGINE_PAUSED) {
		snprintf(err, errlen, "nothing to resume: the simulation is %s",
		    engine_state_name(e->state));
		return -1;
	}
	e->state = ENGINE_RUNNING;
	if (e->paused_us != 0) /* paced visits fall due the pause's length later */
		e->arrive_t0_us += engine_now_us(e) - e->paused_us;
	e->paused_us = 0;
	if (e->personas_busy)
		e->psrc.pause(e->psrc.src, 0);
	log_info("run %s resumed", e->p.run_id);
	if (e->gated) {
		engine_gate_check(e);
		return 0;
	}
	if (e->cycle_waiting && !evtimer_pending(e->cycle_timer, NULL))
		e->cycle_waiting = 0;
	if (!e->cycle_waiting && !e->preparing && e->cursor == 0 && e->in_flight == 0)
		cycle_next(e);
	else
		kick(e);
	return 0;
}

int
engine_stop(struct engine *e, char *err, size_t errlen)
{
	if (!engine_active(e)) {
		snprintf(err, errlen, "nothing to stop: the simulation is %s",
		    engine_state_name(e->state));
		return -1;
	}
	if (e->state == ENGINE_STOPPING)
		return 0;
	e->state = ENGINE_STOPPING;
	log_info("run %s stopping (%u sessions finishing)", e->p.run_id, e->in_flight);
	if (e->personas_busy) {
		e->psrc.cancel(e->psrc.src);
		e->personas_busy = 0;
		e->preparing = 0;
		run_end(e, ENGINE_FINISHED);
		return 0;
	}
	if (e->preparing)
		return 0; /* prepared() ends it */
	if (e->in_flight == 0)
		run_end(e, ENGINE_FINISHED);
	return 0;
}

int
engine_set_concurrency(struct engine *e, uint32_t n, char *err, size_t errlen)
{
	if (n < 1) {
		snprintf(err, errlen, "concurrency must be at least 1");
		return -1;
	}
	e->p.max_concurrent = n;
	adaptive_set_base(e, n); /* the limit, or the base the controller adapts from */
	if (e->state == ENGINE_RUNNING)
		kick(e);
	return 0;
}

int
engine_wait(struct engine *e, engine_wait_fn fn, void *arg)
{
	struct engine_waiter *w = malloc(sizeof(*w));

	if (w == NULL)
		return -1;
	w->fn = fn;
	w->arg = arg;
	w->next = e->waiters;
	e->waiters = w;
	return 0;
}

void
engine_unwait(struct engine *e, engine_wait_fn fn, void *arg)
{
	struct engine_waiter **pw = &e->waiters, *w;

	while ((w = *pw) != NULL) {
		if (w->fn == fn && w->arg == arg) {
			*pw = w->next;
			free(w);
		} else {
			pw = &w->next;
		}
	}
}

int
engine_run_state(const struct engine *e, struct run_state *out)
{
	if (e->agents == NULL)
		return -1;
	memset(out, 0, sizeof(*out));
	out->params = e->p;
	out->cycle = e->cycle;
	out->counts = e->counts;
	out->elapsed_s = elapsed_s(e);
	out->lag_s = e->pacer.lag;
	out->agents = e->agents; /* sessions in flight wrote nothing into it yet */
	return 0;
}

/* ---- what status shows ---- */

static double
eta(const struct engine *e)
{
	double el = elapsed_s(e), done, left;
	uint32_t n = population(e);

	if (!engine_active(e))
		return -1; /* nothing left to wait for */
	if (e->p.cycles) {
		done = e->cycle + (n ? (double)e->cursor / n : 0);
		if (done <= 0)
			return -1;
		left = el / done * (e->p.cycles - done);
		if (e->p.time_scale > 0) {
			double paced =
			    pacer_budget(e->p.tick, e->p.time_scale) * (e->p.cycles - done);
			if (paced > left)
				left = paced;
		}
		if (e->p.hours > 0 && e->p.hours * 3600 - el < left)
			left = e->p.hours * 3600 - el;
		return left > 0 ? left : 0;
	}
	if (e->p.hours > 0)
		return e->p.hours * 3600 - el > 0 ? e->p.hours * 3600 - el : 0;
	return -1;
}

static void
setup_snapshot(const struct engine *e, struct snapshot_setup *u)
{
	memset(u, 0, sizeof(*u));
	if (e->agents == NULL)
		return;
	u->personas_total = u->users_total = e->p.agents;
	u->personas_done = e->personas != NULL ? e->p.agents : 0; /* generated at start */
	if (e->psrc.fill != NULL) {
		e->psrc.progress(e->psrc.src, &u->personas_done, &u->personas_llm);
		if (e->personas_busy) {
			u->phase = SETUP_PERSONAS;
			return;
		}
	}
	u->catalog_written = e->setup_done || e->prog.catalog_written;
	u->users_written = e->setup_done ? e->p.agents : e->prog.users_written;
	if (e->setup_done)
		u->phase = SETUP_DONE;
	else if (e->preparing)
		u->phase = u->catalog_written ? SETUP_USERS : SETUP_CATALOG;
}

void
engine_snapshot(const struct engine *e, struct snapshot *s)
{
	s->state = e->state;
	s->params = e->p;
	s->params.only = NULL;
	s->population = population(e);
	s->cycle = e->cycle;
	s->cursor = e->cursor;
	s->has_sim_time = e->agents != NULL;
	s->sim_time = e->agents != NULL ? shopper_cycle_time(&e->sctx, e->cycle) : 0;
	s->elapsed_s = elapsed_s(e);
	s->lag_s = e->pacer.lag;
	s->eta_s = eta(e);
	snprintf(s->fail_reason, sizeof(s->fail_reason), "%s", e->fail_reason);
	s->limit = engine_limit(e);
	s->in_flight = e->in_flight;
	adaptive_snapshot(e, s);
	s->counts = e->counts;
	memcpy(s->op_lat, e->op_lat, sizeof(s->op_lat));
	s->session_lat = e->session_lat;
	s->cycle_lat = e->cycle_lat;
	memcpy(s->failed_ids, e->failed_ids, e->nfailed_ids * sizeof(e->failed_ids[0]));
	s->nfailed_ids = e->nfailed_ids;
	memcpy(s->last_error, e->last_error, sizeof(s->last_error));
	memcpy(s->recent, e->recent, sizeof(s->recent));
	s->nrecent = e->nrecent;
	setup_snapshot(e, &s->setup);
	s->cycle_s_last = (double)e->last_cycle_us / 1e6;
	s->cycle_s_now = e->cycle_t0_us != 0 && !e->cycle_waiting && engine_active(e)
	    ? (double)cycle_busy_us(e, engine_now_us(e)) / 1e6
	    : 0;
	s->arrival_late = e->late;
	s->arrivals_first_tenth = e->arrivals_first_tenth;
	s->cycle_errors = e->counts.errors - e->cycle_errors0;
	s->cycle_rows = e->counts.rows - e->cycle_rows0;
}

int
engine_realism(const struct engine *e, struct realism_report *out)
{
	if (e->tally == NULL)
		return -1;
	realism_report(e->tally, out);
	return 0;
}
