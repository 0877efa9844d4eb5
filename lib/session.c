/*
 * session.c - shopping sessions in flight: each step submitted to the store,
 * retried with the run's backoff policy when it fails, the session's end
 * (or its failure, recorded as such) counted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "sim/engine_priv.h"
#include "sim/log.h"

struct session {
	struct engine *e;
	struct shopper_session sh;
	struct store_op op;
	struct backoff_state bo;
	uint64_t op_t0, sess_t0;
	struct event *retry;
	struct session *prev, *next; /* in flight */
	uint64_t events, rows;
	int failing;             /* its FAIL op (the failure's record) is under way */
	enum store_err fail_err; /* what made it fail */
	/* chains (store_chains): every step made up front, sent together */
	struct store_op *steps; /* STORE_CHAIN_MAX of them, kept with the session */
	unsigned nsteps;
	unsigned from;    /* the first step not done */
	unsigned pending; /* completions of the chain in flight still due */
	int failed_at;    /* the chain's first failed step, or -1 */
};

static void op_submit(struct session *s);
static void chain_submit(struct session *s);

static int
transient(enum store_err err)
{
	return store_err_transient(err);
}

static struct session *
session_get(struct engine *e)
{
	struct session *s = e->free_sessions;

	if (s != NULL) {
		e->free_sessions = s->next;
		struct event *keep = s->retry;
		struct store_op *steps = s->steps;
		memset(s, 0, sizeof(*s));
		s->retry = keep;
		s->steps = steps;
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
	case OUTCOME_ABANDONED: e->counts.abandoned++; break;
	default: e->counts.browsed++; break;
	}
	hist_add(&e->session_lat, engine_now_us(e) - s->sess_t0);
	if (e->tally != NULL) {
		struct realism_session r;

		realism_session_fill(&r, &s->sh, &s->op);
		realism_add(e->tally, &r);
	}
	session_put(s);
	engine_pump(e);
}

/*
 * The agents whose sessions failed, in order of id and the lowest kept when there are
 * more: the list is the same whatever order the failures came in (it was not: a
 * report listed agent_009 before agent_007 when 9 happened to fail first).
 */
static void
note_failed_id(struct engine *e, uint32_t agent)
{
	uint32_t i, n = e->nfailed_ids;

	for (i = 0; i < n && e->failed_ids[i] < agent; i++)
		;
	if ((i < n && e->failed_ids[i] == agent) || i == SNAPSHOT_FAILED_MAX)
		return; /* known, or above the lowest SNAPSHOT_FAILED_MAX */
	if (n == SNAPSHOT_FAILED_MAX)
		n--; /* the highest gives way */
	memmove(&e->failed_ids[i + 1], &e->failed_ids[i], (n - i) * sizeof(e->failed_ids[0]));
	e->failed_ids[i] = agent;
	e->nfailed_ids = n + 1;
}

/* The session failed and its failure is recorded (or could not be): the agent is done. */
static void
session_failed(struct session *s)
{
	struct engine *e = s->e;
	struct agent_state *st = &e->agents[s->sh.agent];

	/* The agent keeps its state from before the session, and is done for this cycle. */
	st->done_cycle = e->cycle + 1;
	e->counts.agents_processed++;
	e->counts.agents_shopped++;
	e->counts.errors++;
	e->counts.rows += s->rows;
	e->counts.errors_by_type[s->fail_err < STORE_ERR_COUNT ? s->fail_err : STORE_ERR_QUERY]++;
	note_failed_id(e, s->sh.agent);
	session_put(s);
	engine_pump(e);
}

/* The errors panel's view of a failure: the newest of its type, and of all. */
static void
session_note_error(struct session *s)
{
	struct engine *e = s->e;
	struct snapshot_error *x;
	unsigned t = s->op.err < STORE_ERR_COUNT ? (unsigned)s->op.err : STORE_ERR_QUERY;

	memmove(&e->recent[1], &e->recent[0], (SNAPSHOT_RECENT_ERRORS - 1) * sizeof(e->recent[0]));
	x = &e->recent[0];
	x->set = 1;
	x->type = (uint8_t)t;
	x->step = (uint8_t)s->op.type;
	x->agent = s->sh.agent;
	x->cycle = e->cycle;
	x->at = (int64_t)time(NULL);
	snprintf(x->msg, sizeof(x->msg), "%.159s", s->op.errmsg);
	if (e->nrecent < SNAPSHOT_RECENT_ERRORS)
		e->nrecent++;
	e->last_error[t] = *x;
}

/*
 * A step the store's fence refused (refused), or one about to be sent once a
 * refusal failed the run: the shard is another member's, so nothing more is
 * written for this session (no FAIL record: it would be refused too) and the
 * agent is not done -- whoever holds the shard now simulates it.  The run
 * fails at once.
 */
static void
session_fenced(struct session *s, int refused)
{
	struct engine *e = s->e;
	char msg[sizeof(s->op.errmsg)];

	snprintf(msg, sizeof(msg), "%s", s->op.errmsg);
	if (refused) {
		log_agent(LOG_LEVEL_WARN, s->op.agent_id, "cycle %u: %s step refused: %s", e->cycle,
		    store_op_name(s->op.type), s->op.errmsg);
		session_note_error(s);
		e->counts.errors++;
		e->counts.errors_by_type[STORE_ERR_FENCED]++;
	}
	e->counts.rows += s->rows; /* its steps before the refusal did land */
	session_put(s);
	if (refused)
		engine_fenced(e, msg);
	engine_pump(e);
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
		log_agent(LOG_LEVEL_WARN, s->op.agent_id,
		    "cycle %u: the failed session could not "
		    "be recorded either (%s): %s",
		    e->cycle, store_err_name(s->op.err), s->op.errmsg);
		session_failed(s);
		return;
	}
	log_agent(LOG_LEVEL_WARN, s->op.agent_id,
	    "cycle %u: %s step failed after %u attempts "
	    "(%s): %s",
	    e->cycle, store_op_name(s->op.type), s->bo.attempts, store_err_name(s->op.err),
	    s->op.errmsg);
	session_note_error(s);
	s->fail_err = s->op.err;
	if (s->op.err == STORE_ERR_CLOSED) {
		session_failed(s);
		return;
	}
	snprintf(reason, sizeof(reason), "%s at %s", store_err_name(s->op.err),
	    store_op_name(s->op.type));
	s->failing = 1;
	if (s->nsteps > 0)
		s->sh.op_time = s->op.sim_time; /* the failed step's, not the last one made */
	backoff_reset(&s->bo);
	shopper_fail(&s->sh, &s->op, reason);
	op_submit(s);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	if (s->e->fenced)
		session_fenced(s, 0);
	else if (s->steps != NULL && s->nsteps > 0 && !s->failing)
		chain_submit(s); /* from the step that failed: the later ones did not land */
	else
		op_submit(s);
}

static void
session_retry(struct session *s, double delay)
{
	struct engine *e = s->e;
	struct timeval tv;

	if (s->retry == NULL && (s->retry = evtimer_new(e->base, retry_cb, s)) == NULL) {
		session_error(s);
		return;
	}
	e->counts.retries++;
	log_debug("%s: retrying %s in %.0f ms (%s)", s->op.agent_id, store_op_name(s->op.type),
	    delay * 1000, s->op.errmsg);
	tv.tv_sec = (time_t)delay;
	tv.tv_usec = (suseconds_t)((delay - (double)tv.tv_sec) * 1e6);
	evtimer_add(s->retry, &tv);
}

/* Retry, or give up: the run's policy, and a failure's record waits out an outage. */
static void
op_failed(struct session *s)
{
	struct engine *e = s->e;
	struct store_op *op = &s->op;
	int tr = transient(op->err), retry;
	double delay;

	if (op->err == STORE_ERR_FENCED || e->fenced) {
		session_fenced(s, op->err == STORE_ERR_FENCED);
		return;
	}
	if (op->err == STORE_ERR_CLOSED || op->permanent) {
		backoff_failed(&s->bo, engine_now_s(e));
		session_error(s);
		return;
	}
	retry = backoff_next(&e->retry, &s->bo, tr, engine_now_s(e), 0, op->retry_after, &delay);
	if (!retry && s->failing && tr &&
	    (e->state == ENGINE_RUNNING || e->state == ENGINE_PAUSED)) {
		retry = 1;
		delay = backoff_delay(&e->retry, s->bo.attempts, tr, 0);
	}
	if (retry)
		session_retry(s, delay);
	else
		session_error(s);
}

/* 1 when op is done; else op->err says why (the store's, or a read that found nothing). */
static int
op_landed(struct session *s, struct store_op *op)
{
	struct engine *e = s->e;

	if (op->err == STORE_OK && op->type == STORE_OP_BROWSE && op->result_count == 0) {
		op->err = STORE_ERR_DATA;
		snprintf(
		    op->errmsg, sizeof(op->errmsg), "no products in category %u", op->category);
	}
	if (op->err != STORE_OK)
		return 0;
	hist_add(&e->op_lat[op->type], engine_now_us(e) - s->op_t0);
	adaptive_sample(e, engine_now_us(e) - s->op_t0);
	s->events += op->nevents;
	s->rows += op->rows;
	backoff_reset(&s->bo);
	return 1;
}

static void
op_done(struct store_op *op, void *arg)
{
	struct session *s = arg;
	struct engine *e = s->e;

	if (e->closing) { /* the store hands back what was in flight: just let go */
		session_put(s);
		return;
	}
	if (!op_landed(s, op)) {
		op_failed(s);
		return;
	}
	if (s->failing)
		session_failed(s);
	else if (!shopper_next(&s->sh, &s->op))
		session_done(s);
	else if (e->fenced)
		session_fenced(s, 0);
	else
		op_submit(s);
}

/* An op about to be submitted: its answer fields cleared, its callback set. */
static void
op_arm(struct store_op *op, store_cb cb, void *arg)
{
	op->cb = cb;
	op->arg = arg;
	store_op_clear(op);
}

static void
op_submit(struct session *s)
{
	op_arm(&s->op, op_done, s);
	s->op_t0 = engine_now_us(s->e);
	store_submit(s->e->store, &s->op);
}

/*
 * A step of the chain completed (they complete in order).  Once the whole
 * chain is back: the session is done, or its first failed step goes the
 * usual way (retried, then the later steps sent again after it; or the
 * session's failure recorded), as s->op.
 */
static void
chain_done(struct store_op *op, void *arg)
{
	struct session *s = arg;
	struct engine *e = s->e;

	s->pending--;
	if (e->closing) {
		if (s->pending == 0)
			session_put(s);
		return;
	}
	if (s->failed_at < 0) {
		if (op_landed(s, op))
			s->from = (unsigned)(op - s->steps) + 1;
		else
			s->failed_at = (int)(op - s->steps);
	}
	if (s->pending > 0)
		return;
	if (s->failed_at >= 0) {
		s->op = s->steps[s->failed_at];
		op_failed(s);
		return;
	}
	s->op = s->steps[s->nsteps - 1]; /* what the session's end reads: the last step */
	session_done(s);
}

/* Sends the steps from s->from on, together. */
static void
chain_submit(struct session *s)
{
	struct store_op *ops[STORE_CHAIN_MAX];
	unsigned i, n = 0;

	for (i = s->from; i < s->nsteps; i++) {
		op_arm(&s->steps[i], chain_done, s);
		ops[n++] = &s->steps[i];
	}
	s->pending = n;
	s->failed_at = -1;
	s->op_t0 = engine_now_us(s->e);
	store_submit_chain(s->e->store, ops, n);
}

/* Every step of the session, made now: the shopper's choices never wait on an answer. */
static int
chain_start(struct session *s)
{
	if (s->steps == NULL && (s->steps = calloc(STORE_CHAIN_MAX, sizeof(*s->steps))) == NULL)
		return -1;
	while (shopper_next(&s->sh, &s->steps[s->nsteps]))
		if (++s->nsteps == STORE_CHAIN_MAX)
			fatalx("a session of more than %d steps", STORE_CHAIN_MAX);
	if (s->nsteps == 0) {
		session_done(s);
		return 0;
	}
	chain_submit(s);
	return 0;
}

int
session_start(struct engine *e, uint32_t agent, const struct rng *rng, uint64_t t0_us)
{
	struct session *s = session_get(e);

	if (s == NULL)
		return -1;
	s->sess_t0 = t0_us;
	shopper_session_init(
	    &s->sh, &e->sctx, &e->personas[agent], agent, e->cycle, &e->agents[agent], rng);
	if (store_chains(e->store)) {
		if (chain_start(s) == 0)
			return 0;
		session_put(s);
		return -1;
	}
	if (!shopper_next(&s->sh, &s->op)) {
		session_done(s);
		return 0;
	}
	op_submit(s);
	return 0;
}

void
sessions_free(struct engine *e, int flying)
{
	struct session *s;

	/* Sessions still in flight belong to ops the store completes on close. */
	while (flying && (s = e->flying) != NULL) {
		e->flying = s->next;
		if (s->retry)
			event_free(s->retry);
		free(s->steps);
		free(s);
	}
	while ((s = e->free_sessions) != NULL) {
		e->free_sessions = s->next;
		if (s->retry)
			event_free(s->retry);
		free(s->steps);
		free(s);
	}
}

void
sessions_detach(struct engine *e)
{
	for (struct session *s = e->flying; s != NULL; s = s->next)
		if (s->retry)
			evtimer_del(s->retry);
}
