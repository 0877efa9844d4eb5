/* engine.c - the scheduler: cycles, the concurrency limit, pause/stop, retries. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "sim/catalog.h"
#include "sim/engine.h"
#include "sim/log.h"
#include "sim/metrics.h"
#include "sim/persona.h"

#define PUMP_BATCH 2048        /* agents decided per loop turn: status stays responsive */
#define FAILED_IDS_MAX 100
#define TRANSIENT_BACKOFF_MAX_MS 2000

struct session {
	struct engine *e;
	struct shopper_session sh;
	struct store_op op;
	unsigned attempts;
	uint64_t first_fail_us;
	uint64_t op_t0, sess_t0;
	struct event *retry;
	struct session *prev, *next;    /* in flight */
	uint64_t events, rows;
	int failing;                    /* its FAIL op (the failure's record) is under way */
	enum store_err fail_err;        /* what made it fail */
};

struct waiter {
	engine_wait_fn fn;
	void *arg;
	struct waiter *next;
};

struct engine {
	struct event_base *base;
	struct store *store;
	struct engine_hooks hooks;
	enum engine_state state;
	int preparing;                  /* store_prepare under way */
	int closing;                    /* engine_detach(): the store is going away */
	int ending;                     /* the final flush is under way */
	enum engine_state final_state;  /* what the run becomes once flushed */
	struct run_params p;
	struct catalog *cat;
	struct persona *personas;
	struct agent_state *agents;
	struct shopper_ctx sctx;

	uint32_t cycle;
	uint32_t cursor;                /* next position in the agent order */
	uint32_t limit;
	uint32_t in_flight;
	struct session *flying;
	struct session *free_sessions;

	struct event *pump_ev;
	struct event *cycle_timer;
	struct event *hours_timer;
	struct event *prep_timer;       /* a set-up retried after a transient failure */
	uint64_t prep_first_fail_us;
	unsigned prep_attempts;
	uint64_t run_t0_us;             /* wall start of the run (adjusted on resume) */
	uint64_t ended_us;
	double elapsed_before;          /* seconds run before a resume */
	double lag_s;
	int cycle_waiting;              /* between cycles, waiting for the wall clock */

	struct engine_counts counts;
	struct histogram op_lat[STORE_OP_TYPES];
	struct histogram session_lat;
	struct histogram cycle_lat;
	uint64_t cycle_t0_us;
	uint32_t failed_ids[FAILED_IDS_MAX];
	uint32_t nfailed_ids;
	char fail_reason[256];
	struct waiter *waiters;
};

static void pump(struct engine *e);
static void op_submit(struct session *s);
static void notify_waiters(struct engine *e);
static void prepared(enum store_err err, const char *msg, void *arg);
static void prep_retry_cb(evutil_socket_t fd, short what, void *arg);
static int transient(enum store_err err);

static const char *const state_names[] = {
	"idle", "running", "paused", "stopping", "finished", "failed"
};

const char *
engine_state_name(enum engine_state s)
{
	return (unsigned)s < 6 ? state_names[s] : "?";
}

static void
pump_cb(evutil_socket_t fd, short what, void *arg)
{
	pump(arg);
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
	e->pump_ev = event_new(base, -1, 0, pump_cb, e);
	if (e->pump_ev == NULL) {
		free(e);
		return NULL;
	}
	return e;
}

static void
run_clear(struct engine *e)
{
	struct session *s;

	while ((s = e->free_sessions) != NULL) {
		e->free_sessions = s->next;
		if (s->retry)
			event_free(s->retry);
		free(s);
	}
	if (e->cycle_timer)
		event_free(e->cycle_timer);
	if (e->hours_timer)
		event_free(e->hours_timer);
	if (e->prep_timer)
		event_free(e->prep_timer);
	e->cycle_timer = e->hours_timer = e->prep_timer = NULL;
	catalog_free(e->cat);
	free(e->personas);
	free(e->agents);
	free(e->p.only);
	e->cat = NULL;
	e->personas = NULL;
	e->agents = NULL;
	e->p.only = NULL;
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	/* Sessions still in flight belong to ops the store completes on close. */
	while (e->flying != NULL) {
		struct session *s = e->flying;
		e->flying = s->next;
		if (s->retry)
			event_free(s->retry);
		free(s);
	}
	run_clear(e);
	notify_waiters(e);   /* whoever waits for the run's end hears of it now */
	event_free(e->pump_ev);
	free(e);
}

void
engine_detach(struct engine *e)
{
	e->closing = 1;
	if (e->prep_timer)
		evtimer_del(e->prep_timer);
	if (e->cycle_timer)
		evtimer_del(e->cycle_timer);
	if (e->hours_timer)
		evtimer_del(e->hours_timer);
	for (struct session *s = e->flying; s != NULL; s = s->next)
		if (s->retry)
			evtimer_del(s->retry);
}

void
engine_set_hooks(struct engine *e, const struct engine_hooks *hooks)
{
	e->hooks = *hooks;
}

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

const struct engine_counts *
engine_counts(const struct engine *e)
{
	return &e->counts;
}

static uint32_t
population(const struct engine *e)
{
	return e->p.only ? e->p.nonly : e->p.agents;
}

static double
elapsed_s(const struct engine *e)
{
	uint64_t end = e->ended_us ? e->ended_us : metrics_now_us();

	if (e->run_t0_us == 0)
		return e->elapsed_before;
	return e->elapsed_before + (double)(end - e->run_t0_us) / 1e6;
}

/* ---- ending a run ---- */

static void
notify_waiters(struct engine *e)
{
	struct waiter *w = e->waiters;

	e->waiters = NULL;
	while (w != NULL) {
		struct waiter *next = w->next;
		w->fn(e, w->arg);
		free(w);
		w = next;
	}
}

static void
flushed(enum store_err err, const char *msg, void *arg)
{
	struct engine *e = arg;

	if (err != STORE_OK) {
		log_warnx("run %s: final flush failed: %s", e->p.run_id, msg);
		if (e->final_state != ENGINE_FAILED)
			snprintf(e->fail_reason, sizeof(e->fail_reason), "final flush: %s", msg);
		e->final_state = ENGINE_FAILED;
	}
	/* Only now is the run over: every row it wrote is durable. */
	e->state = e->final_state;
	e->ended_us = metrics_now_us();
	if (e->closing)
		return;   /* the daemon is tearing down: nothing else to tell */
	log_info("run %s %s: cycle %u, %llu sessions, %llu orders, %llu errors, %.2f s",
	    e->p.run_id, engine_state_name(e->state), e->cycle,
	    (unsigned long long)e->counts.sessions, (unsigned long long)e->counts.orders,
	    (unsigned long long)e->counts.errors, elapsed_s(e));
	if (e->hooks.run_end)
		e->hooks.run_end(e, e->hooks.arg);
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
	e->cycle_waiting = 0;
	e->state = ENGINE_STOPPING;   /* until the store has flushed */
	e->final_state = final;
	e->ending = 1;
	store_flush(e->store, flushed, e);
}

static void
run_fail(struct engine *e, const char *why)
{
	snprintf(e->fail_reason, sizeof(e->fail_reason), "%s", why);
	log_warnx("run %s failed: %s", e->p.run_id, why);
	e->state = ENGINE_STOPPING;   /* drain what is in flight, then fail */
	if (e->in_flight == 0)
		run_end(e, ENGINE_FAILED);
}

/* ---- sessions ---- */

static struct session *
session_get(struct engine *e)
{
	struct session *s = e->free_sessions;

	if (s != NULL) {
		e->free_sessions = s->next;
		struct event *keep = s->retry;
		memset(s, 0, sizeof(*s));
		s->retry = keep;
	} else if ((s = calloc(1, sizeof(*s))) == NULL) {
		return NULL;
	}
	s->e = e;
	s->next = e->flying;
	if (e->flying)
		e->flying->prev = s;
	e->flying = s;
	e->in_flight++;
	return s;
}

static void
session_put(struct session *s)
{
	struct engine *e = s->e;

	if (s->prev)
		s->prev->next = s->next;
	else
		e->flying = s->next;
	if (s->next)
		s->next->prev = s->prev;
	e->in_flight--;
	s->prev = NULL;
	s->next = e->free_sessions;
	e->free_sessions = s;
}

static uint64_t
op_rows(const struct store_op *op)
{
	switch (op->type) {
	case STORE_OP_BEGIN:
		return 2 + op->nevents;
	case STORE_OP_CART:
		return op->nitems + (uint64_t)op->nevents;
	case STORE_OP_CHECKOUT:
		return 3 + 2 * (uint64_t)op->nitems + (op->coupon_id != 0) + op->nevents +
		    1 /* cart cleared */;
	case STORE_OP_ABANDON:
		return 1 + op->nevents;
	case STORE_OP_FAIL:
		return 1;
	default:
		return op->nevents;
	}
}

static void
session_done(struct session *s)
{
	struct engine *e = s->e;
	struct agent_state *st = &e->agents[s->sh.agent];

	*st = s->sh.st;
	st->done_cycle = e->cycle + 1;
	e->counts.agents_processed++;
	e->counts.agents_shopped++;
	e->counts.sessions++;
	e->counts.events += s->events;
	e->counts.rows += s->rows;
	switch (s->sh.outcome) {
	case OUTCOME_ORDERED:
		e->counts.orders++;
		e->counts.revenue_cents += s->sh.total_cents;
		for (unsigned i = 0; i < s->op.nitems; i++)
			e->counts.items += s->op.items[i].quantity;
		break;
	case OUTCOME_ABANDONED:
		e->counts.abandoned++;
		break;
	default:
		e->counts.browsed++;
		break;
	}
	hist_add(&e->session_lat, metrics_now_us() - s->sess_t0);
	session_put(s);
	pump(e);
}

/* The session failed and its failure is recorded (or could not be): the agent is done. */
static void
session_failed(struct session *s)
{
	struct engine *e = s->e;
	struct agent_state *st = &e->agents[s->sh.agent];
	uint32_t i;

	/* The agent keeps its state from before the session, and is done for this cycle. */
	st->done_cycle = e->cycle + 1;
	e->counts.agents_processed++;
	e->counts.agents_shopped++;
	e->counts.errors++;
	e->counts.errors_by_type[s->fail_err < STORE_ERR_COUNT ? s->fail_err : STORE_ERR_QUERY]++;
	for (i = 0; i < e->nfailed_ids && e->failed_ids[i] != s->sh.agent; i++)
		;
	if (i == e->nfailed_ids && e->nfailed_ids < FAILED_IDS_MAX)
		e->failed_ids[e->nfailed_ids++] = s->sh.agent;
	session_put(s);
	pump(e);
}

/*
 * A step failed for good: the session's row must not look in progress forever,
 * so its end is recorded as 'failed' (STORE_OP_FAIL) before the agent moves on.
 */
static void
session_error(struct session *s)
{
	struct engine *e = s->e;
	char reason[sizeof(s->op.reason)];

	if (s->failing) {
		log_agent(LOG_LEVEL_WARN, s->op.agent_id, "cycle %u: the failed session could not "
		    "be recorded either (%s): %s", e->cycle, store_err_name(s->op.err),
		    s->op.errmsg);
		session_failed(s);
		return;
	}
	log_agent(LOG_LEVEL_WARN, s->op.agent_id, "cycle %u: %s step failed after %u attempts (%s): %s",
	    e->cycle, store_op_name(s->op.type), s->attempts, store_err_name(s->op.err),
	    s->op.errmsg);
	s->fail_err = s->op.err;
	if (s->op.err == STORE_ERR_CLOSED) {
		session_failed(s);
		return;
	}
	snprintf(reason, sizeof(reason), "%s at %s", store_err_name(s->op.err),
	    store_op_name(s->op.type));
	s->failing = 1;
	s->attempts = 0;
	s->first_fail_us = 0;
	shopper_fail(&s->sh, &s->op, reason);
	op_submit(s);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	op_submit(arg);
}

static int
transient(enum store_err err)
{
	return err == STORE_ERR_CONNECT || err == STORE_ERR_TIMEOUT || err == STORE_ERR_BUSY;
}

static void
session_retry(struct session *s)
{
	struct engine *e = s->e;
	uint64_t ms;
	struct timeval tv;
	unsigned shift = s->attempts > 10 ? 10 : s->attempts - 1;

	ms = (uint64_t)e->p.retry_backoff_ms << shift;
	if (transient(s->op.err) && ms > TRANSIENT_BACKOFF_MAX_MS)
		ms = TRANSIENT_BACKOFF_MAX_MS;
	if (s->retry == NULL && (s->retry = evtimer_new(e->base, retry_cb, s)) == NULL) {
		session_error(s);
		return;
	}
	evtimer_assign(s->retry, e->base, retry_cb, s);
	e->counts.retries++;
	log_debug("%s: retrying %s in %llu ms (%s)", s->op.agent_id, store_op_name(s->op.type),
	    (unsigned long long)ms, s->op.errmsg);
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(s->retry, &tv);
}

static void
op_done(struct store_op *op, void *arg)
{
	struct session *s = arg;
	struct engine *e = s->e;

	if (e->closing) {   /* the store hands back what was in flight: just let go */
		session_put(s);
		return;
	}
	if (op->err == STORE_OK && op->type == STORE_OP_BROWSE && op->result_count == 0) {
		op->err = STORE_ERR_DATA;
		snprintf(op->errmsg, sizeof(op->errmsg), "no products in category %u", op->category);
	}
	if (op->err != STORE_OK) {
		uint64_t now = metrics_now_us();
		int in_window;

		if (s->first_fail_us == 0)
			s->first_fail_us = now;
		in_window = transient(op->err) &&
		    now - s->first_fail_us < (uint64_t)(e->p.retry_window * 1e6);
		/* A failure's record waits for the store to come back while the run goes on. */
		if (s->failing && transient(op->err) &&
		    (e->state == ENGINE_RUNNING || e->state == ENGINE_PAUSED))
			in_window = 1;
		if (op->err != STORE_ERR_CLOSED && (s->attempts <= e->p.max_retries || in_window))
			session_retry(s);
		else
			session_error(s);
		return;
	}
	hist_add(&e->op_lat[op->type], metrics_now_us() - s->op_t0);
	s->events += op->nevents;
	s->rows += op_rows(op);
	s->attempts = 0;
	s->first_fail_us = 0;
	if (s->failing)
		session_failed(s);
	else if (shopper_next(&s->sh, &s->op))
		op_submit(s);
	else
		session_done(s);
}

static void
op_submit(struct session *s)
{
	s->attempts++;
	s->op.cb = op_done;
	s->op.arg = s;
	s->op.err = STORE_OK;
	s->op.errmsg[0] = '\0';
	s->op.result_count = 0;
	s->op_t0 = metrics_now_us();
	store_submit(s->e->store, &s->op);
}

static int
session_start(struct engine *e, uint32_t agent, const struct rng *rng)
{
	struct session *s = session_get(e);

	if (s == NULL)
		return -1;
	s->sess_t0 = metrics_now_us();
	shopper_session_init(&s->sh, &e->sctx, &e->personas[agent], agent, e->cycle,
	    &e->agents[agent], rng);
	if (!shopper_next(&s->sh, &s->op)) {
		session_done(s);
		return 0;
	}
	op_submit(s);
	return 0;
}

/* ---- cycles ---- */

static void cycle_begin(struct engine *e);

static void
cycle_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;

	e->cycle_waiting = 0;
	if (e->state == ENGINE_RUNNING)
		cycle_begin(e);
	/* paused: engine_resume() begins the cycle */
}

static int
run_over(struct engine *e)
{
	if (e->p.cycles != 0 && e->cycle >= e->p.cycles)
		return 1;
	return e->p.hours > 0 && elapsed_s(e) >= e->p.hours * 3600.0;
}

static void
cycle_end(struct engine *e)
{
	double budget, due, now;

	hist_add(&e->cycle_lat, metrics_now_us() - e->cycle_t0_us);
	e->cycle++;
	e->cursor = 0;
	if (e->hooks.cycle_end)
		e->hooks.cycle_end(e, e->hooks.arg);
	if (e->state == ENGINE_STOPPING || run_over(e)) {
		run_end(e, ENGINE_FINISHED);
		return;
	}
	if (e->p.time_scale <= 0) {
		cycle_begin(e);
		return;
	}
	/* Wall seconds the run has been going, across resumes, against cycles x budget. */
	budget = e->p.tick * 60.0 / e->p.time_scale;
	due = budget * e->cycle;
	now = elapsed_s(e);
	if (now >= due) {
		e->lag_s = now - due;
		if (e->lag_s > 0.001)
			log_info("run %s: cycle %u starts %.3f s late", e->p.run_id, e->cycle,
			    e->lag_s);
		cycle_begin(e);
		return;
	}
	e->lag_s = 0;
	struct timeval tv = { (time_t)(due - now), (suseconds_t)(fmod(due - now, 1.0) * 1e6) };
	e->cycle_waiting = 1;
	evtimer_add(e->cycle_timer, &tv);
}

static void
cycle_begin(struct engine *e)
{
	e->cursor = 0;
	e->cycle_t0_us = metrics_now_us();
	log_debug("run %s: cycle %u begins", e->p.run_id, e->cycle);
	kick(e);
}

static void
pump(struct engine *e)
{
	unsigned budget = PUMP_BATCH;
	uint32_t n = population(e);
	struct rng rng;

	if (e->agents == NULL || e->preparing || e->cycle_waiting || e->closing || e->ending)
		return;
	while (e->state == ENGINE_RUNNING && e->in_flight < e->limit && e->cursor < n) {
		uint32_t agent;

		if (budget-- == 0) {
			kick(e);    /* yield to the loop: control requests are answered */
			return;
		}
		agent = e->p.only ? e->p.only[e->cursor] : e->cursor;
		e->cursor++;
		if (e->agents[agent].done_cycle > e->cycle)
			continue;   /* done before the checkpoint this run resumed from */
		if (!shopper_decide(&e->sctx, &e->personas[agent], agent, e->cycle, &rng)) {
			e->agents[agent].done_cycle = e->cycle + 1;
			e->counts.agents_processed++;
			continue;
		}
		if (session_start(e, agent, &rng) != 0) {
			e->cursor--;
			run_fail(e, "out of memory starting a session");
			return;
		}
	}
	if (e->in_flight == 0 && (e->state == ENGINE_RUNNING || e->state == ENGINE_STOPPING)) {
		if (e->cursor >= n)
			cycle_end(e);
		else if (e->state == ENGINE_STOPPING)
			run_end(e, e->fail_reason[0] ? ENGINE_FAILED : ENGINE_FINISHED);
	}
}

/* ---- starting ---- */

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
	setup.personas = e->personas;
	setup.nagents = e->p.agents;
	e->preparing = 1;
	e->prep_attempts++;
	store_prepare(e->store, &setup, prepared, e);
}

static void
prep_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;

	if (e->state == ENGINE_STOPPING) {   /* stopped while waiting to retry */
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
	uint64_t now = metrics_now_us(), ms;
	struct timeval tv;

	if (!transient(err) || e->state == ENGINE_STOPPING)
		return 0;
	if (e->prep_first_fail_us == 0)
		e->prep_first_fail_us = now;
	if (now - e->prep_first_fail_us >= (uint64_t)(e->p.retry_window * 1e6))
		return 0;
	ms = (uint64_t)e->p.retry_backoff_ms << (e->prep_attempts > 10 ? 10 : e->prep_attempts);
	if (ms > TRANSIENT_BACKOFF_MAX_MS)
		ms = TRANSIENT_BACKOFF_MAX_MS;
	log_warnx("run %s: set-up failed (%s); retrying in %llu ms", e->p.run_id, msg,
	    (unsigned long long)ms);
	e->counts.retries++;
	e->preparing = 1;   /* nothing starts meanwhile */
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
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
			run_fail(e, msg);
		return;
	}
	log_info("run %s: %u agents ready (seed %llu); cycle %u begins", e->p.run_id,
	    e->p.agents, (unsigned long long)e->p.seed, e->cycle);
	e->run_t0_us = metrics_now_us();
	if (e->p.hours > 0) {
		double left = e->p.hours * 3600.0 - e->elapsed_before;
		struct timeval tv = { (time_t)(left > 0 ? left : 0),
			(suseconds_t)(left > 0 ? fmod(left, 1.0) * 1e6 : 0) };
		evtimer_add(e->hours_timer, &tv);
	}
	if (e->state == ENGINE_STOPPING) {
		run_end(e, ENGINE_FINISHED);
		return;
	}
	if (run_over(e)) {
		run_end(e, ENGINE_FINISHED);
		return;
	}
	cycle_begin(e);
}

static int
run_alloc(struct engine *e, char *err, size_t errlen)
{
	const struct run_params *p = &e->p;

	e->cat = catalog_new(p->seed, p->sim_start, p->catalog_stores, p->catalog_products,
	    p->catalog_coupons);
	e->personas = calloc(p->agents, sizeof(*e->personas));
	e->agents = calloc(p->agents, sizeof(*e->agents));
	e->cycle_timer = evtimer_new(e->base, cycle_timer_cb, e);
	e->hours_timer = evtimer_new(e->base, hours_cb, e);
	e->prep_timer = evtimer_new(e->base, prep_retry_cb, e);
	if (!e->cat || !e->personas || !e->agents || !e->cycle_timer || !e->hours_timer ||
	    !e->prep_timer) {
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
	return 0;
}

static void
make_run_id(char *buf, size_t len, uint64_t seed)
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

static int
run_begin(struct engine *e, const struct run_params *p, char *err, size_t errlen)
{
	if (engine_active(e) || e->preparing) {
		snprintf(err, errlen, "a run is already %s (run %s); stop it first",
		    engine_state_name(e->state), e->p.run_id);
		return -1;
	}
	run_clear(e);
	memset(&e->counts, 0, sizeof(e->counts));
	memset(e->op_lat, 0, sizeof(e->op_lat));
	memset(&e->session_lat, 0, sizeof(e->session_lat));
	memset(&e->cycle_lat, 0, sizeof(e->cycle_lat));
	e->nfailed_ids = 0;
	e->fail_reason[0] = '\0';
	e->ending = 0;
	e->p = *p;
	if (e->p.run_id[0] == '\0')
		make_run_id(e->p.run_id, sizeof(e->p.run_id), p->seed);
	e->cycle = 0;
	e->cursor = 0;
	e->lag_s = 0;
	e->elapsed_before = 0;
	e->run_t0_us = 0;
	e->ended_us = 0;
	e->cycle_waiting = 0;
	e->limit = p->max_concurrent;
	if (run_alloc(e, err, errlen) != 0) {
		e->p.only = NULL;   /* still the caller's */
		run_clear(e);
		return -1;
	}
	e->state = ENGINE_RUNNING;
	e->prep_first_fail_us = 0;
	e->prep_attempts = 0;
	prepare_start(e);
	return 0;
}

int
engine_start(struct engine *e, const struct run_params *p, char *err, size_t errlen)
{
	struct run_params q = *p;

	q.run_id[0] = '\0';
	if (run_begin(e, &q, err, errlen) != 0)
		return -1;
	if (e->hooks.run_start)
		e->hooks.run_start(e, e->hooks.arg);
	return 0;
}

int
engine_resume_from(struct engine *e, const struct engine_snapshot *snap, char *err,
    size_t errlen)
{
	if (run_begin(e, &snap->params, err, errlen) != 0)
		return -1;
	e->cycle = snap->cycle;
	e->counts = snap->counts;
	e->elapsed_before = snap->elapsed_s;
	e->lag_s = snap->lag_s;
	memcpy(e->agents, snap->agents, (size_t)snap->params.agents * sizeof(*e->agents));
	log_info("run %s resumed at cycle %u", e->p.run_id, e->cycle);
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
	log_info("run %s resumed", e->p.run_id);
	if (e->cycle_waiting && !evtimer_pending(e->cycle_timer, NULL))
		e->cycle_waiting = 0;
	if (!e->cycle_waiting && !e->preparing && e->cursor == 0 && e->in_flight == 0)
		cycle_begin(e);
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
	if (e->preparing)
		return 0;   /* prepared() ends it */
	if (e->in_flight == 0)
		run_end(e, ENGINE_FINISHED);
	return 0;
}

int
engine_set_concurrency(struct engine *e, uint32_t n, char *err, size_t errlen)
{
	if (n < 1 || n > ENGINE_MAX_CONCURRENT) {
		snprintf(err, errlen, "concurrency must be from 1 to %u", ENGINE_MAX_CONCURRENT);
		return -1;
	}
	log_info("concurrency limit %u -> %u", e->limit ? e->limit : e->p.max_concurrent, n);
	e->limit = n;
	e->p.max_concurrent = n;
	if (e->state == ENGINE_RUNNING)
		kick(e);
	return 0;
}

int
engine_wait(struct engine *e, engine_wait_fn fn, void *arg)
{
	struct waiter *w = malloc(sizeof(*w));

	if (w == NULL)
		return -1;
	w->fn = fn;
	w->arg = arg;
	w->next = e->waiters;
	e->waiters = w;
	return 0;
}

int
engine_snapshot(const struct engine *e, struct engine_snapshot *out)
{
	if (e->agents == NULL)
		return -1;
	memset(out, 0, sizeof(*out));
	out->params = e->p;
	out->cycle = e->cycle;
	out->counts = e->counts;
	out->elapsed_s = elapsed_s(e);
	out->lag_s = e->lag_s;
	out->agents = e->agents;   /* sessions in flight wrote nothing into it yet */
	return 0;
}

/* ---- reporting ---- */

static json_t *
counts_json(const struct engine_counts *c)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "agents_processed",
	    (json_int_t)c->agents_processed, "agents_shopped", (json_int_t)c->agents_shopped,
	    "sessions", (json_int_t)c->sessions, "orders", (json_int_t)c->orders, "events",
	    (json_int_t)c->events, "errors", (json_int_t)c->errors);
}

static json_t *
eta_json(const struct engine *e)
{
	double el = elapsed_s(e), done, eta;
	uint32_t n = population(e);

	if (!engine_active(e))
		return json_null();   /* nothing left to wait for */
	if (e->p.cycles) {
		done = e->cycle + (n ? (double)e->cursor / n : 0);
		if (done <= 0)
			return json_null();
		eta = el / done * (e->p.cycles - done);
		if (e->p.time_scale > 0) {
			double paced = e->p.tick * 60.0 / e->p.time_scale * (e->p.cycles - done);
			if (paced > eta)
				eta = paced;
		}
		if (e->p.hours > 0 && e->p.hours * 3600 - el < eta)
			eta = e->p.hours * 3600 - el;
		return metrics_real(eta > 0 ? eta : 0, 3);
	}
	if (e->p.hours > 0)
		return metrics_real(e->p.hours * 3600 - el > 0 ? e->p.hours * 3600 - el : 0, 3);
	return json_null();
}

json_t *
engine_status(const struct engine *e)
{
	char when[32] = "";
	json_t *o;

	if (e->agents != NULL)
		store_time_iso(when, sizeof(when), shopper_cycle_time(&e->sctx, e->cycle));
	o = json_pack("{s:s, s:s?, s:I, s:i, s:i, s:i, s:s?, s:o, s:o, s:o, s:{s:i, s:i, s:b}, "
	    "s:o}",
	    "state", engine_state_name(e->state),
	    "run_id", e->p.run_id[0] ? e->p.run_id : NULL,
	    "seed", (json_int_t)e->p.seed,
	    "agents", (int)(e->p.only ? e->p.nonly : e->p.agents),
	    "cycle", (int)e->cycle,
	    "cycles_total", (int)e->p.cycles,
	    "sim_time", when[0] ? when : NULL,
	    "elapsed_s", metrics_real(elapsed_s(e), 3),
	    "eta_s", eta_json(e),
	    "lag_s", metrics_real(e->lag_s, 3),
	    "concurrency", "limit", (int)(e->limit ? e->limit : e->p.max_concurrent),
	    "in_flight", (int)e->in_flight, "adaptive", 0,
	    "counts", counts_json(&e->counts));
	if (o != NULL && e->fail_reason[0])
		json_object_set_new(o, "error", json_string(e->fail_reason));
	return o;
}

static json_t *
errors_json(const struct engine *e)
{
	json_t *by = json_object(), *ids = json_array();
	char id[STORE_AGENT_ID_MAX];

	for (int i = 0; i < STORE_ERR_COUNT; i++)
		if (i != STORE_OK && e->counts.errors_by_type[i])
			json_object_set_new(by, store_err_name((enum store_err)i),
			    json_integer((json_int_t)e->counts.errors_by_type[i]));
	for (uint32_t i = 0; i < e->nfailed_ids; i++) {
		store_agent_id(id, sizeof(id), e->failed_ids[i]);
		json_array_append_new(ids, json_string(id));
	}
	return json_pack("{s:I, s:o, s:o, s:I}", "total", (json_int_t)e->counts.errors,
	    "by_type", by, "failed_agents", ids, "retries", (json_int_t)e->counts.retries);
}

json_t *
engine_stats(const struct engine *e)
{
	double el = elapsed_s(e);
	json_t *steps = json_object();

	for (int t = 0; t < STORE_OP_TYPES; t++)
		json_object_set_new(steps, store_op_name((enum store_op_type)t),
		    hist_json(&e->op_lat[t]));
	return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
	    "state", engine_state_name(e->state),
	    "elapsed_s", metrics_real(el, 3),
	    "sessions_per_s", metrics_real(el > 0 ? (double)e->counts.sessions / el : 0.0, 1),
	    "writes_per_s", metrics_real(el > 0 ? (double)e->counts.rows / el : 0.0, 1),
	    "events_per_s", metrics_real(el > 0 ? (double)e->counts.events / el : 0.0, 1),
	    "steps", steps,
	    "session", hist_json(&e->session_lat),
	    "cycle", hist_json(&e->cycle_lat),
	    "errors", errors_json(e),
	    "summary", engine_summary(e));
}

json_t *
engine_summary(const struct engine *e)
{
	const struct engine_counts *c = &e->counts;
	uint64_t carts = c->orders + c->abandoned;

	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:o, s:I, s:o, s:I}",
	    "sessions", (json_int_t)c->sessions, "orders", (json_int_t)c->orders,
	    "abandoned", (json_int_t)c->abandoned, "browsed", (json_int_t)c->browsed,
	    "events", (json_int_t)c->events,
	    "abandonment_rate", metrics_real(carts ? (double)c->abandoned / (double)carts : 0.0, 4),
	    "revenue_cents", (json_int_t)c->revenue_cents,
	    "avg_basket_items", metrics_real(c->orders ? (double)c->items / (double)c->orders :
	    0.0, 2),
	    "rows_written", (json_int_t)c->rows, "wall_s", metrics_real(elapsed_s(e), 3),
	    "errors", (json_int_t)c->errors);
}
