/*
 * store_fence.c - fencing the PostgreSQL store's writes by lease generation
 * (store_set_fence) against a real server ($PG_URL), and the engine failing a
 * run whose write was refused.
 *
 * The test plays the claimer: it bumps simd_shards.generation on its own
 * connection, as another member's claim would.  Every write path is driven:
 * a step on its own, a chain, a FAIL record, an event batch, bulk batches,
 * with named and unnamed statements, pipelined and one statement at a time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "check.h"
#include "pgtest.h"
#include "sim/catalog.h"
#include "sim/config.h"
#include "sim/engine.h"
#include "sim/params.h"
#include "sim/persona.h"
#include "sim/snapshot.h"
#include "sim/store.h"

#define NAGENTS 20
#define SIM_START 1767600000 /* 2026-01-05T08:00:00Z */
#define RUN "r-fence"
#define WAIT_S 30 /* a loaded machine: generous */

struct t {
	struct event_base *base;
	PGconn *admin;
	char url[1024];
	char db[64];
	struct catalog *cat;
	struct persona *personas;
	int fenced_calls;
	char fenced_msg[256];
};

static long long
q_intf(PGconn *c, const char *fmt, const char *arg)
{
	char sql[512];

	snprintf(sql, sizeof(sql), fmt, arg);
	return q_int(c, sql);
}

/* What another member's claim does: the shard's generation moves on. */
static void
bump(struct t *t, int gen)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
	    "UPDATE simd_shards SET generation = %d, holder = 'other' WHERE run_id = '" RUN
	    "' AND shard = 0",
	    gen);
	CHECK(q_exec(t->admin, sql) == 0);
}

static void
fenced_cb(const char *msg, void *arg)
{
	struct t *t = arg;

	t->fenced_calls++;
	snprintf(t->fenced_msg, sizeof(t->fenced_msg), "%s", msg);
}

static void
op_cb(struct store_op *op, void *arg)
{
	struct done *d = arg;

	d->done = 1;
	d->err = op->err;
	snprintf(d->msg, sizeof(d->msg), "%s", op->errmsg);
}

static enum store_err
run_op(struct t *t, struct store *s, struct store_op *op)
{
	struct done d = { 0 };

	op->cb = op_cb;
	op->arg = &d;
	store_submit(s, op);
	if (!run_until(t->base, &d.done, WAIT_S)) {
		fprintf(stderr, "op %s did not complete\n", store_op_name(op->type));
		return STORE_ERR_COUNT;
	}
	return d.err;
}

static enum store_err
run_flush(struct t *t, struct store *s, char *msg, size_t len)
{
	struct done d = { 0 };

	store_flush(s, done_cb, &d);
	if (!run_until(t->base, &d.done, WAIT_S))
		return STORE_ERR_COUNT;
	if (msg != NULL)
		snprintf(msg, len, "%s", d.msg);
	return d.err;
}

static enum store_err
run_prepare(struct t *t, struct store *s, int bulk)
{
	struct store_setup su = {
		.catalog = t->cat, .personas = t->personas, .nagents = NAGENTS, .bulk = bulk
	};
	struct done d = { 0 };

	store_prepare(s, &su, done_cb, &d);
	if (!run_until(t->base, &d.done, WAIT_S))
		return STORE_ERR_COUNT;
	if (d.err != STORE_OK)
		fprintf(stderr, "prepare: %s\n", d.msg);
	return d.err;
}

static void
op_init(struct store_op *op, enum store_op_type type, uint32_t agent, uint32_t cycle)
{
	memset(op, 0, sizeof(*op));
	op->type = type;
	op->seed = 0;
	op->agent = agent;
	op->cycle = cycle;
	op->sim_time = SIM_START + (int64_t)cycle * 3600;
	op->outcome = "abandoned";
	store_agent_id(op->agent_id, sizeof(op->agent_id), agent);
}

static void
op_event(struct store_op *op, enum store_event_type type, uint8_t step)
{
	struct store_event *ev = &op->events[op->nevents];

	ev->type = (uint8_t)type;
	ev->step = step;
	ev->index = op->nevents;
	op->nevents++;
}

static void
op_item(struct store_op *op, const struct product *p)
{
	struct store_item *it = &op->items[op->nitems++];

	it->product_id = p->id;
	it->store_id = p->store_id;
	it->quantity = 1;
	it->price_cents = p->price_cents;
}

/* A whole session of agent (begin, cart, checkout) as three ops, each with an event. */
static void
session_ops(struct t *t, struct store_op ops[3], uint32_t agent, uint32_t cycle)
{
	const struct product *p = &t->cat->products[t->cat->by_category[0][0]];

	op_init(&ops[0], STORE_OP_BEGIN, agent, cycle);
	op_event(&ops[0], EV_SESSION_START, 0);
	op_init(&ops[1], STORE_OP_CART, agent, cycle);
	op_item(&ops[1], p);
	op_event(&ops[1], EV_CART_ADD, 1);
	op_init(&ops[2], STORE_OP_CHECKOUT, agent, cycle);
	op_item(&ops[2], p);
	ops[2].total_cents = p->price_cents;
	op_event(&ops[2], EV_CHECKOUT, 2);
}

static long long
sessions_of(struct t *t, const char *key)
{
	return q_intf(
	    t->admin, "SELECT count(*) FROM shopping_sessions WHERE session_key = '%s'", key);
}

static long long
ordered(struct t *t, const char *key)
{
	return q_intf(t->admin,
	    "SELECT count(*) FROM shopping_sessions WHERE session_key = '%s'"
	    " AND outcome = 'ordered'",
	    key);
}

static long long
events_of(struct t *t, const char *key)
{
	return q_intf(t->admin,
	    "SELECT count(*) FROM shopping_session_events WHERE event_key LIKE '%s:%%'", key);
}

static struct store *
open_store(struct t *t, int prepared, int pipeline, int no_pipeline)
{
	struct sim_config *c = config_new();
	struct store_opts o;
	struct store *s;
	char err[512];

	if (c == NULL)
		return NULL;
	free(c->database_url);
	c->database_url = strdup(t->url);
	c->connect_timeout = 10;
	c->pg_prepared = prepared;
	c->pg_pipeline = pipeline;
	c->event_flush_interval = 3600; /* batches go when a test flushes */
	store_opts_from_config(&o, c);
	o.pg_no_pipeline = no_pipeline;
	s = store_open(t->base, &o, err, sizeof(err));
	if (s == NULL)
		fprintf(stderr, "open: %s\n", err);
	config_free(c);
	if (s != NULL)
		store_on_fenced(s, fenced_cb, t);
	return s;
}

/* A session of agent, written step by step and flushed: it ended 'ordered', its events in. */
static void
check_session_lands(struct t *t, struct store *s, uint32_t agent, uint32_t cycle)
{
	struct store_op ops[3];
	char key[64];

	session_ops(t, ops, agent, cycle);
	for (int i = 0; i < 3; i++)
		CHECK(run_op(t, s, &ops[i]) == STORE_OK);
	CHECK(run_flush(t, s, NULL, 0) == STORE_OK);
	store_session_key(key, sizeof(key), &ops[0]);
	CHECK(ordered(t, key) == 1);
	CHECK(events_of(t, key) == 3);
}

/* A store in a mode, the shard held by this member at gen, the store fenced at it. */
static struct store *
fenced_store(struct t *t, const char *what, int gen, int prepared, int pipeline, int no_pipeline)
{
	struct store *s = open_store(t, prepared, pipeline, no_pipeline);
	char sql[160], err[256];

	printf("  %s\n", what);
	CHECK(s != NULL);
	if (s == NULL)
		return NULL;
	snprintf(sql, sizeof(sql),
	    "UPDATE simd_shards SET generation = %d, holder = 'me' WHERE run_id = '" RUN "'", gen);
	CHECK(q_exec(t->admin, sql) == 0);
	t->fenced_calls = 0;
	if (store_set_fence(s, RUN, 0, (uint64_t)gen, err, sizeof(err)) != 0) {
		fprintf(stderr, "store_set_fence: %s\n", err);
		CHECK(!"store_set_fence");
	}
	return s;
}

/*
 * Runs the loop until one of our writes waits on a lock (wait_event) in a
 * statement starting like stmt, as another connection sees it: 1 then,
 * 0 when it never did or d completed first.
 */
static int
wait_blocked(
    struct t *t, PGconn *other, const struct done *d, const char *wait_event, const char *stmt)
{
	char sql[300];

	snprintf(sql, sizeof(sql),
	    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
	    " AND wait_event = '%s' AND query LIKE '%s%%'",
	    wait_event, stmt);
	for (int i = 0; i < WAIT_S * 20 && !d->done; i++) {
		run_for(t->base, 0.05);
		if (q_int(other, sql) == 1)
			return !d->done;
	}
	return 0;
}

/*
 * The check and the write are one transaction: a session's end (one statement
 * of its own), held up by a row lock after its check passed, still holds the
 * shard's shared lock, so a claim cannot take the shard under it.
 */
static void
check_same_tx(struct t *t, struct store *s, uint32_t cycle)
{
	PGconn *other = PQconnectdb(t->url);
	struct store_op op;
	struct done d = { 0 };
	char key[64];

	op_init(&op, STORE_OP_BEGIN, 12, cycle);
	CHECK(run_op(t, s, &op) == STORE_OK);
	store_session_key(key, sizeof(key), &op);
	CHECK(q_exec(t->admin, "BEGIN") == 0);
	CHECK(q_intf(t->admin,
		  "SELECT count(*) FROM (SELECT 1 FROM shopping_sessions WHERE session_key = '%s'"
		  " FOR UPDATE) x",
		  key) == 1);
	op_init(&op, STORE_OP_ABANDON, 12, cycle);
	op.cb = op_cb;
	op.arg = &d;
	store_submit(s, &op);
	CHECK(wait_blocked(t, other, &d, "transactionid", "UPDATE shopping_sessions"));
	CHECK(q_int(other, "SELECT pg_try_advisory_xact_lock(hashtext('" RUN "'), 0)::int") == 0);
	CHECK(q_exec(t->admin, "COMMIT") == 0);
	CHECK(run_until(t->base, &d.done, WAIT_S) && d.err == STORE_OK);
	CHECK(q_int(other, "SELECT pg_try_advisory_xact_lock(hashtext('" RUN "'), 0)::int") == 1);
	PQfinish(other);
}

/*
 * One store in one mode: writes at the generation held land; once the
 * generation moved on, a step, its FAIL record and an event batch are refused
 * (no row of theirs lands), the store sends nothing more and every flush
 * fails; a new fence, and clearing it, let writes go again.  cycle keeps each
 * mode's rows apart.
 */
static void
check_mode(
    struct t *t, const char *what, int prepared, int pipeline, int no_pipeline, uint32_t cycle)
{
	struct store *s = fenced_store(t, what, 1, prepared, pipeline, no_pipeline);
	struct store_op ops[3], op;
	struct store_stats a, b;
	char key[64], msg[256], err[256];

	if (s == NULL)
		return;
	CHECK(run_prepare(t, s, 0) == STORE_OK); /* the set-up is not fenced */

	/* held: a session's steps and its events land */
	check_session_lands(t, s, 0, cycle);
	check_same_tx(t, s, cycle);

	/* events queued while held, and a session begun */
	session_ops(t, ops, 1, cycle);
	CHECK(run_op(t, s, &ops[0]) == STORE_OK);
	CHECK(run_op(t, s, &ops[1]) == STORE_OK);
	op_init(&op, STORE_OP_ABANDON, 2, cycle);
	op_event(&op, EV_ABANDON, 0);
	CHECK(run_op(t, s, &op) == STORE_OK); /* its event waits in the batcher */
	bump(t, 2);

	/* the next step is refused, once, and none of its rows land */
	store_stats(s, &a);
	CHECK(run_op(t, s, &ops[2]) == STORE_ERR_FENCED);
	CHECK(strstr(ops[2].errmsg,
		  "fenced: shard 0 of run " RUN " is no longer held at generation 1") != NULL);
	store_session_key(key, sizeof(key), &ops[2]);
	CHECK(q_intf(t->admin,
		  "SELECT count(*) FROM orders WHERE session_id IN (SELECT id FROM"
		  " shopping_sessions WHERE session_key = '%s')",
		  key) == 0);
	CHECK(q_intf(t->admin,
		  "SELECT count(*) FROM shopping_sessions WHERE session_key = '%s'"
		  " AND outcome IS NULL",
		  key) == 1); /* its BEGIN, from before */
	CHECK(t->fenced_calls == 1 && strncmp(t->fenced_msg, "fenced: shard 0 of run ", 23) == 0);
	/* from now on nothing is sent: a FAIL record, a step, a flush */
	store_stats(s, &b);
	op_init(&op, STORE_OP_FAIL, 1, cycle);
	snprintf(op.reason, sizeof(op.reason), "test");
	CHECK(run_op(t, s, &op) == STORE_ERR_FENCED);
	CHECK(strstr(op.errmsg, "fenced: shard 0") != NULL);
	CHECK(q_intf(t->admin,
		  "SELECT count(*) FROM shopping_sessions WHERE session_key = '%s'"
		  " AND outcome = 'failed'",
		  key) == 0);
	CHECK(run_flush(t, s, msg, sizeof(msg)) == STORE_ERR_FENCED);
	CHECK(strncmp(msg, "fenced: ", 8) == 0);
	store_stats(s, &a);
	CHECK(a.queries == b.queries);
	CHECK(a.events_queued == 0); /* what it held for the generation is dropped */
	op_init(&op, STORE_OP_ABANDON, 2, cycle);
	store_session_key(key, sizeof(key), &op);
	CHECK(events_of(t, key) == 0);
	CHECK(t->fenced_calls == 1);

	/* re-claimed at generation 3: writes go again */
	bump(t, 3);
	CHECK(
	    q_exec(t->admin, "UPDATE simd_shards SET holder = 'me' WHERE run_id = '" RUN "'") == 0);
	CHECK(store_set_fence(s, RUN, 0, 3, err, sizeof(err)) == 0);
	CHECK(run_op(t, s, &ops[2]) == STORE_OK);
	CHECK(run_flush(t, s, NULL, 0) == STORE_OK);
	store_session_key(key, sizeof(key), &ops[2]);
	CHECK(ordered(t, key) == 1);

	/* an event batch refused: the flush fails with it, its rows are not there */
	op_init(&op, STORE_OP_BEGIN, 3, cycle);
	op_event(&op, EV_SESSION_START, 0);
	CHECK(run_op(t, s, &op) == STORE_OK);
	op_init(&op, STORE_OP_ABANDON, 3, cycle);
	op_event(&op, EV_ABANDON, 1);
	CHECK(run_op(t, s, &op) == STORE_OK);
	bump(t, 4);
	CHECK(run_flush(t, s, msg, sizeof(msg)) == STORE_ERR_FENCED);
	CHECK(strstr(msg, "generation 3") != NULL);
	CHECK(t->fenced_calls == 2);
	store_session_key(key, sizeof(key), &op);
	CHECK(sessions_of(t, key) == 1 && events_of(t, key) == 0);

	/* no fence: every write goes as it is */
	CHECK(store_set_fence(s, NULL, 0, 0, err, sizeof(err)) == 0);
	op_init(&op, STORE_OP_BEGIN, 4, cycle);
	op_event(&op, EV_SESSION_START, 0);
	CHECK(run_op(t, s, &op) == STORE_OK);
	op_init(&op, STORE_OP_ABANDON, 4, cycle); /* the session's end releases its events */
	CHECK(run_op(t, s, &op) == STORE_OK);
	CHECK(run_flush(t, s, NULL, 0) == STORE_OK);
	store_session_key(key, sizeof(key), &op);
	CHECK(sessions_of(t, key) == 1 && events_of(t, key) == 1);
	store_close(s);
}

/* Ops in a chain: the refused one and those after it land nowhere. */
static void
chain_cb(struct store_op *op, void *arg)
{
	((int *)arg)[0]++;
}

/* Sends a session of agent as one chain and waits for its three completions. */
static int
run_chain(struct t *t, struct store *s, struct store_op ops[3], uint32_t agent)
{
	struct store_op *p[3];
	int n = 0;
	double end = now_s() + WAIT_S;

	session_ops(t, ops, agent, 50);
	for (int i = 0; i < 3; i++) {
		ops[i].cb = chain_cb;
		ops[i].arg = &n;
		p[i] = &ops[i];
	}
	store_submit_chain(s, p, 3);
	while (n < 3 && now_s() < end)
		event_base_loop(t->base, EVLOOP_ONCE);
	return n;
}

static void
check_chain(struct t *t)
{
	struct store *s = fenced_store(t, "a session's steps in one pipeline", 5, 1, 1, 0);
	struct store_op ops[3];
	char key[64];

	if (s == NULL)
		return;
	CHECK(run_prepare(t, s, 0) == STORE_OK);
	CHECK(store_chains(s));
	CHECK(run_chain(t, s, ops, 5) == 3);
	CHECK(ops[0].err == STORE_OK && ops[2].err == STORE_OK);
	store_session_key(key, sizeof(key), &ops[0]);
	CHECK(ordered(t, key) == 1);

	bump(t, 6);
	CHECK(run_chain(t, s, ops, 6) == 3);
	CHECK(ops[0].err == STORE_ERR_FENCED && ops[1].err == STORE_ERR_FENCED &&
	    ops[2].err == STORE_ERR_FENCED);
	store_session_key(key, sizeof(key), &ops[0]);
	CHECK(sessions_of(t, key) == 0);
	CHECK(q_int(t->admin, "SELECT count(*) FROM cart_items WHERE user_id = 7") == 0);
	/* fenced now: the next chain is refused without a statement sent */
	CHECK(run_chain(t, s, ops, 6) == 3 && ops[0].err == STORE_ERR_FENCED);
	store_close(s);
}

/*
 * A claim in progress (the shard's lock taken, the generation raised, not yet
 * committed): a write sent meanwhile waits for it, then sees the new
 * generation and is refused.  When the claim is this member's own re-claim
 * and the store has the new fence by then, the write refused under the old
 * one is to be tried again (busy), and then lands.
 */
static int
claim_race(struct t *t, struct store *s, PGconn *other, struct store_op *op, uint32_t agent,
    int gen, int mine)
{
	struct done d = { 0 };
	char sql[200], err[256];

	CHECK(q_exec(t->admin, "BEGIN") == 0);
	CHECK(q_exec(t->admin, "SELECT pg_advisory_xact_lock(hashtext('" RUN "'), 0)") == 0);
	snprintf(sql, sizeof(sql),
	    "UPDATE simd_shards SET generation = %d, holder = '%s' WHERE run_id = '" RUN "'", gen,
	    mine ? "me" : "other");
	CHECK(q_exec(t->admin, sql) == 0);
	op_init(op, STORE_OP_BEGIN, agent, 60);
	op->cb = op_cb;
	op->arg = &d;
	store_submit(s, op);
	CHECK(wait_blocked(t, other, &d, "advisory", "SELECT simd_fence"));
	if (mine)
		CHECK(store_set_fence(s, RUN, 0, (uint64_t)gen, err, sizeof(err)) == 0);
	CHECK(q_exec(t->admin, "COMMIT") == 0);
	CHECK(run_until(t->base, &d.done, WAIT_S));
	return d.err;
}

static void
check_claim_race(struct t *t)
{
	struct store *s = fenced_store(
	    t, "a claim under way: the write waits for it, then is refused", 7, 1, 1, 0);
	PGconn *other = PQconnectdb(t->url);
	struct store_op op;
	char key[64];

	if (s == NULL)
		return;
	CHECK(claim_race(t, s, other, &op, 8, 8, 0) == STORE_ERR_FENCED);
	CHECK(strstr(op.errmsg, "generation 7") != NULL && t->fenced_calls == 1);
	store_session_key(key, sizeof(key), &op);
	CHECK(sessions_of(t, key) == 0);
	/* held at 8, re-claimed by this member at 9, the store told while the write waited */
	CHECK(store_set_fence(s, RUN, 0, 8, key, sizeof(key)) == 0);
	CHECK(claim_race(t, s, other, &op, 9, 9, 1) == STORE_ERR_BUSY);
	CHECK(strstr(op.errmsg, "older fence") != NULL && t->fenced_calls == 1);
	CHECK(run_op(t, s, &op) == STORE_OK);
	store_session_key(key, sizeof(key), &op);
	CHECK(sessions_of(t, key) == 1);
	PQfinish(other);
	store_close(s);
}

/* write_mode = bulk: batches of many sessions, fenced as one transaction each. */
static void
check_bulk(struct t *t)
{
	struct store *s = fenced_store(t, "write_mode = bulk", 9, 1, 1, 0);
	struct store_op ops[3];
	char key[64], msg[256];

	if (s == NULL)
		return;
	CHECK(run_prepare(t, s, 1) == STORE_OK);
	check_session_lands(t, s, 9, 70);

	bump(t, 10);
	session_ops(t, ops, 10, 70);
	for (int i = 0; i < 3; i++)
		CHECK(run_op(t, s, &ops[i]) == STORE_OK); /* queued: bulk ops complete at once */
	CHECK(run_flush(t, s, msg, sizeof(msg)) == STORE_ERR_FENCED);
	CHECK(strstr(msg, "generation 9") != NULL);
	CHECK(t->fenced_calls == 1);
	store_session_key(key, sizeof(key), &ops[0]);
	CHECK(sessions_of(t, key) == 0 && events_of(t, key) == 0);
	CHECK(run_op(t, s, &ops[0]) == STORE_ERR_FENCED);
	store_close(s);
	CHECK(sessions_of(t, key) == 0); /* close wrote nothing either */
}

/* A store closed with events queued writes them fenced; refused, it writes none. */
static void
check_close(struct t *t)
{
	struct store *s = fenced_store(t, "close with events queued", 11, 1, 1, 0);
	struct store_op op;
	char key[64];

	if (s == NULL)
		return;
	op_init(&op, STORE_OP_ABANDON, 11, 80);
	op_event(&op, EV_ABANDON, 0);
	CHECK(run_op(t, s, &op) == STORE_OK);
	bump(t, 12);
	store_close(s); /* its drain is fenced too */
	store_session_key(key, sizeof(key), &op);
	CHECK(events_of(t, key) == 0);
}

static void
check_refusals(struct t *t)
{
	struct sim_config *c = config_new();
	struct store *pg = open_store(t, 1, 1, 0), *lite = NULL;
	struct store_opts o;
	char dir[128], cmd[256], err[256] = "";

	printf("  what store_set_fence refuses\n");
	CHECK(pg != NULL);
	if (pg != NULL) {
		CHECK(store_set_fence(pg, "", 0, 1, err, sizeof(err)) == -1);
		CHECK(store_set_fence(pg, "a\nb", 0, 1, err, sizeof(err)) == -1);
		CHECK(store_set_fence(pg, RUN, 0x80000000u, 1, err, sizeof(err)) == -1);
		CHECK(store_set_fence(pg, RUN, 0, UINT64_MAX, err, sizeof(err)) == -1);
		CHECK(strstr(err, "bigint") != NULL);
		store_close(pg);
	}
	if (c == NULL || mkdtemp(check_tmpl(dir, sizeof(dir), "simd-fence", 90)) == NULL) {
		CHECK(!"mkdtemp");
		config_free(c);
		return;
	}
	free(c->data_dir);
	c->data_dir = strdup(dir);
	store_opts_from_config(&o, c);
	lite = store_open(t->base, &o, err, sizeof(err));
	CHECK(lite != NULL);
	if (lite != NULL) {
		err[0] = '\0';
		CHECK(store_set_fence(lite, RUN, 0, 1, err, sizeof(err)) == -1);
		CHECK(strcmp(err, "fencing needs the PostgreSQL store") == 0);
		CHECK(store_set_fence(lite, NULL, 0, 0, err, sizeof(err)) == -1);
		store_close(lite);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (strchr(dir, '\'') == NULL && system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	config_free(c);
}

/* ---- the engine: a refused write fails the run at once ---- */

struct eng {
	struct t *t;
	int cycles_seen, run_end;
};

static void
eng_cycle_end(struct engine *e, void *arg)
{
	struct eng *g = arg;

	if (++g->cycles_seen == 2)
		bump(g->t, 21); /* another member took the shard after cycle 1 */
}

static void
eng_run_end(struct engine *e, void *arg)
{
	((struct eng *)arg)->run_end++;
}

static void
check_engine(struct t *t)
{
	struct store *s = fenced_store(t, "the engine: a refused step fails the run", 20, 1, 1, 0);
	struct sim_config *c = config_new();
	struct engine_hooks h = { NULL, eng_cycle_end, eng_run_end, NULL };
	struct eng g = { t, 0, 0 };
	struct run_params p;
	struct snapshot *snap = calloc(1, sizeof(*snap));
	struct engine *e;
	char err[256];

	memset(&p, 0, sizeof(p));
	CHECK(c != NULL && snap != NULL);
	if (s == NULL || c == NULL || snap == NULL)
		goto out;
	e = engine_new(t->base, s);
	CHECK(e != NULL);
	if (e == NULL)
		goto out;
	h.arg = &g;
	engine_add_hooks(e, &h);
	params_from_config(&p, c);
	p.seed = 77;
	p.agents = NAGENTS;
	p.cycles = 6;
	p.time_scale = 0;
	p.all_shop = 1;
	p.max_concurrent = 4;
	p.retry_backoff_ms = 1;
	CHECK(engine_start(e, &p, err, sizeof(err)) == 0);
	for (int i = 0; i < WAIT_S * 20 && engine_active(e); i++)
		run_for(t->base, 0.05);
	CHECK(engine_state(e) == ENGINE_FAILED);
	if (strncmp(engine_fail_reason(e), "fenced: shard 0 of run " RUN, 23 + strlen(RUN)) != 0)
		fprintf(stderr, "fail reason: %s\n", engine_fail_reason(e));
	CHECK(strncmp(engine_fail_reason(e), "fenced: shard 0 of run " RUN, 23 + strlen(RUN)) == 0);
	CHECK(strstr(engine_fail_reason(e), "generation 20") != NULL);
	CHECK(g.run_end == 1 && g.cycles_seen == 2);
	engine_snapshot(e, snap);
	CHECK(snap->counts.errors_by_type[STORE_ERR_FENCED] >= 1);
	CHECK(strcmp(store_err_name(STORE_ERR_FENCED), "fenced") == 0);
	CHECK(!store_err_transient(STORE_ERR_FENCED));
	/* cycles 0 and 1 landed; nothing of cycle 2 on, not even a failure's record */
	CHECK(q_int(t->admin,
		  "SELECT count(*) FROM shopping_sessions WHERE session_key LIKE"
		  " 's77:%:1'") > 0);
	CHECK(q_int(t->admin,
		  "SELECT count(*) FROM shopping_sessions WHERE session_key LIKE"
		  " 's77:%' AND split_part(session_key, ':', 3)::int >= 2") == 0);
	engine_detach(e);
	store_close(s);
	s = NULL;
	engine_free(e);
out:
	params_clear(&p);
	free(snap);
	store_close(s);
	config_free(c);
}

static PGconn *
setup(struct t *t, const char *pg_url)
{
	snprintf(t->db, sizeof(t->db), "simd_store_fence_%ld", (long)getpid());
	return pgtest_db_create(
	    "store_fence", pg_url, t->db, "store_fence_test", t->url, sizeof(t->url));
}

int
main(void)
{
	const char *pg_url = getenv("PG_URL");
	struct event *tick;
	struct timeval tv = { 0, 5000 };
	struct store *s;
	struct t t;

	if (pg_url == NULL || pg_url[0] == '\0') {
		printf("store_fence: PG_URL not set, skipped\n");
		return 77;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&t, 0, sizeof(t));
	t.base = event_base_new();
	tick = event_new(t.base, -1, EV_PERSIST, tick_cb, NULL);
	event_add(tick, &tv);
	t.cat = catalog_new(42, SIM_START, 3, 120, 10);
	t.personas = calloc(NAGENTS, sizeof(*t.personas));
	if (t.cat == NULL || t.personas == NULL || (t.admin = setup(&t, pg_url)) == NULL) {
		printf("store_fence: no test database, skipped\n");
		return 77;
	}
	for (uint32_t i = 0; i < NAGENTS; i++)
		persona_generate(&t.personas[i], 42, i);
	/* the schema first (open migrates), then the run and its one shard, held */
	s = open_store(&t, 1, 1, 0);
	CHECK(s != NULL);
	store_close(s);
	CHECK(q_exec(t.admin,
		  "INSERT INTO simd_runs (run_id, params, shards, state) VALUES ('" RUN
		  "', '{}', 1, 'running');"
		  "INSERT INTO simd_shards (run_id, shard, state, holder, generation)"
		  " VALUES ('" RUN "', 0, 'held', 'me', 1)") == 0);

	check_mode(&t, "named statements, one op at a time", 1, 0, 0, 10);
	check_mode(&t, "pg_prepared = off (a transaction pooler)", 0, 0, 0, 20);
	check_mode(&t, "one statement at a time (libpq without pipelines)", 1, 0, 1, 30);
	check_mode(&t, "unnamed, one statement at a time", 0, 0, 1, 40);
	check_chain(&t);
	check_claim_race(&t);
	check_bulk(&t);
	check_close(&t);
	check_refusals(&t);
	check_engine(&t);

	pgtest_db_drop(t.admin, pg_url, t.db);
	catalog_free(t.cat);
	free(t.personas);
	event_free(tick);
	event_base_free(t.base);
	return CHECK_DONE();
}
