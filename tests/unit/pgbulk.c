/*
 * pgbulk.c - the bulk writer without a database: the write function records
 * the batches it is given, and the test decides when and how each ends.
 * Checked: one batch in flight per stream, an agent's steps in order, group
 * commit while a stream is busy, flush waiting for what came before it, a
 * failed batch written again whole, back-pressure, and what close takes back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "check.h"
#include "sim/pgbulk.h"

struct rec {
	struct pgbulk *b;
	struct pgbulk_batch *pending[16];
	int npending, writes;
	int flushed, flush_err;
};

static void
rec_write(struct pgbulk *b, struct pgbulk_batch *bt, void *arg)
{
	struct rec *r = arg;

	r->b = b;
	r->pending[r->npending++] = bt;
	r->writes++;
}

/* Ends pending write i. */
static void
rec_finish(struct rec *r, int i, enum store_err err)
{
	struct pgbulk_batch *bt = r->pending[i];

	memmove(r->pending + i, r->pending + i + 1,
	    (size_t)(r->npending - i - 1) * sizeof(r->pending[0]));
	r->npending--;
	pgbulk_written(r->b, bt, err, err == STORE_OK ? NULL : "it broke");
}

static void
flush_cb(enum store_err err, const char *msg, void *arg)
{
	struct rec *r = arg;

	r->flushed++;
	r->flush_err = err;
}

static void
turn(struct event_base *base)
{
	event_base_loop(base, EVLOOP_NONBLOCK);
	event_base_loop(base, EVLOOP_NONBLOCK);
}

/* A checkout of agent (0-based) in cycle: order, 2 lines, a coupon, 3 events. */
static void
checkout(struct store_op *op, uint32_t agent, uint32_t cycle)
{
	memset(op, 0, sizeof(*op));
	op->type = STORE_OP_CHECKOUT;
	op->seed = 7;
	op->agent = agent;
	op->cycle = cycle;
	op->sim_time = 1767600000 + cycle * 3600;
	store_agent_id(op->agent_id, sizeof(op->agent_id), agent);
	op->nitems = 2;
	op->items[0] = (struct store_item){ 11, 1, 2, 450 };
	op->items[1] = (struct store_item){ 12, 1, 1, 999 };
	op->coupon_id = 3;
	op->total_cents = 1800;
	op->nevents = 3;
	for (uint16_t i = 0; i < 3; i++)
		op->events[i] = (struct store_event){ EV_CHECKOUT, 5, i, 0, 1800, (int32_t)i };
}

static int
has_stmt(const struct pgbulk_batch *bt, const char *name)
{
	int n;
	const struct pgstmt *st = pgbulk_stmts(bt, &n);

	for (int i = 0; i < n; i++)
		if (strcmp(st[i].name, name) == 0)
			return 1;
	return 0;
}

/* The parameter k of statement name, or NULL. */
static const char *
param(const struct pgbulk_batch *bt, const char *name, int k)
{
	int n;
	const struct pgstmt *st = pgbulk_stmts(bt, &n);

	for (int i = 0; i < n; i++)
		if (strcmp(st[i].name, name) == 0 && k < st[i].nparams)
			return st[i].params[k];
	return NULL;
}

static void
test_rows_and_streams(struct event_base *base)
{
	struct rec r = { 0 };
	struct pgbulk_opts o = { 3600, 0, rec_write, &r };
	struct pgbulk *b = pgbulk_new(base, &o);
	struct store_op op;
	uint32_t rows = 0;
	int n;
	const struct pgstmt *st;

	CHECK(b != NULL);
	checkout(&op, 0, 1);
	CHECK(pgbulk_add(b, &op, "s7:agent_001:1", &rows) == 0);
	/* order, 2 items, 2 interactions, a redemption, the session's end, 3 events */
	CHECK(rows == 1 + 2 + 2 + 1 + 1 + 3);
	CHECK(r.writes == 0); /* never from inside the call */
	turn(base);
	CHECK(r.writes == 1 && r.npending == 1);
	st = pgbulk_stmts(r.pending[0], &n);
	CHECK(n >= 2 && strcmp(st[0].sql, "BEGIN") == 0 && strcmp(st[n - 1].sql, "COMMIT") == 0);
	CHECK(has_stmt(r.pending[0], "bulk_orders") && has_stmt(r.pending[0], "bulk_redeem"));
	CHECK(
	    has_stmt(r.pending[0], "bulk_cart_clear") && !has_stmt(r.pending[0], "bulk_cart_set"));
	CHECK(!has_stmt(r.pending[0], "bulk_sessions")); /* no BEGIN op in it */
	CHECK(param(r.pending[0], "bulk_orders", 0) != NULL &&
	    strcmp(param(r.pending[0], "bulk_orders", 0), "{\"s7:agent_001:1:order\"}") == 0);
	CHECK(strcmp(param(r.pending[0], "bulk_sessions_end", 2), "{\"ordered\"}") == 0);

	/* the same agent while its stream is busy: it waits, and the next steps join it */
	checkout(&op, 0, 2);
	CHECK(pgbulk_add(b, &op, "s7:agent_001:2", &rows) == 0);
	checkout(&op, 2, 2);
	CHECK(pgbulk_add(b, &op, "s7:agent_003:2", &rows) == 0);
	/* another stream's agent goes at once */
	checkout(&op, 1, 2);
	CHECK(pgbulk_add(b, &op, "s7:agent_002:2", &rows) == 0);
	turn(base);
	CHECK(r.writes == 2 && r.npending == 2);
	CHECK(strstr(param(r.pending[1], "bulk_orders", 0), "agent_002") != NULL);

	/* a flush waits for every step added before it, in both streams */
	pgbulk_flush(b, flush_cb, &r);
	turn(base);
	CHECK(r.flushed == 0);
	rec_finish(&r, 1, STORE_OK); /* agent_002's */
	CHECK(r.flushed == 0);
	rec_finish(&r, 0, STORE_OK); /* agent_001 cycle 1: the stream goes on with the next */
	CHECK(r.npending == 1 && r.flushed == 0);
	CHECK(strcmp(param(r.pending[0], "bulk_orders", 0),
		  "{\"s7:agent_001:2:order\",\"s7:agent_003:2:order\"}") == 0);
	/* it fails: the flush hears it, and the stream stops until the next tick or flush */
	rec_finish(&r, 0, STORE_ERR_CONNECT);
	CHECK(r.flushed == 1 && r.flush_err == STORE_ERR_CONNECT);
	CHECK(r.npending == 0);
	checkout(&op, 0, 3);
	CHECK(pgbulk_add(b, &op, "s7:agent_001:3", &rows) == 0);
	turn(base);
	CHECK(r.npending == 0);
	/* a flush writes the failed batch again, whole, before the step that came after it */
	pgbulk_flush(b, flush_cb, &r);
	CHECK(r.npending == 1);
	CHECK(strcmp(param(r.pending[0], "bulk_orders", 0),
		  "{\"s7:agent_001:2:order\",\"s7:agent_003:2:order\"}") == 0);
	rec_finish(&r, 0, STORE_OK);
	CHECK(r.npending == 1 && r.flushed == 1);
	CHECK(strcmp(param(r.pending[0], "bulk_orders", 0), "{\"s7:agent_001:3:order\"}") == 0);
	rec_finish(&r, 0, STORE_OK);
	CHECK(r.flushed == 2 && r.flush_err == STORE_OK);
	/* a flush with nothing queued completes from the loop */
	pgbulk_flush(b, flush_cb, &r);
	CHECK(r.flushed == 2);
	turn(base);
	CHECK(r.flushed == 3 && r.flush_err == STORE_OK);
	pgbulk_free(b);
}

/* A cart step then a begin: the cart's lines keep only the later of two same lines. */
static void
test_cart(struct event_base *base)
{
	struct rec r = { 0 };
	struct pgbulk_opts o = { 3600, 0, rec_write, &r };
	struct pgbulk *b = pgbulk_new(base, &o);
	struct store_op op;
	uint32_t rows;

	memset(&op, 0, sizeof(op));
	op.type = STORE_OP_BEGIN;
	op.seed = 7;
	op.sim_time = 100;
	CHECK(pgbulk_add(b, &op, "s7:agent_001:0", &rows) == 0 && rows == 2);
	op.type = STORE_OP_CART;
	op.nitems = 3;
	op.items[0] = (struct store_item){ 11, 1, 2, 450 };
	op.items[1] = (struct store_item){ 12, 1, 1, 999 };
	op.items[2] = (struct store_item){ 11, 1, 5, 450 };
	CHECK(pgbulk_add(b, &op, "s7:agent_001:0", &rows) == 0 && rows == 2);
	op.type = STORE_OP_BROWSE;
	op.nitems = 0;
	CHECK(pgbulk_add(b, &op, "s7:agent_001:0", &rows) == 0 && rows == 0);
	turn(base);
	CHECK(r.npending == 1);
	/* the carts rewritten: user 1 at its second step; each line names them both */
	CHECK(strcmp(param(r.pending[0], "bulk_cart_set", 0), "{1}") == 0);
	CHECK(strcmp(param(r.pending[0], "bulk_cart_set", 1), "{2}") == 0);
	CHECK(strcmp(param(r.pending[0], "bulk_cart_set", 2), "{1,1}") == 0);
	CHECK(strcmp(param(r.pending[0], "bulk_cart_set", 3), "{2,2}") == 0);
	CHECK(strcmp(param(r.pending[0], "bulk_cart_set", 5), "{12,11}") == 0);
	CHECK(strcmp(param(r.pending[0], "bulk_cart_set", 6), "{1,5}") == 0);
	CHECK(strcmp(param(r.pending[0], "bulk_sessions", 0), "{\"s7:agent_001:0\"}") == 0);
	CHECK(pgbulk_rows(r.pending[0]) == 4);
	rec_finish(&r, 0, STORE_OK);
	pgbulk_free(b);
}

static void
test_backpressure_and_take(struct event_base *base)
{
	struct rec r = { 0 };
	struct pgbulk_opts o = { 3600, 40, rec_write, &r };
	struct pgbulk *b = pgbulk_new(base, &o);
	struct pgbulk_batch *bt;
	struct pgbulk_stats st;
	struct store_op op;
	uint32_t rows, i;
	uint64_t seen = 0;

	for (i = 0; i < 4; i++) { /* 40 rows: full */
		checkout(&op, i, 1);
		CHECK(pgbulk_add(b, &op, "s7:x:1", &rows) == 0);
	}
	CHECK(pgbulk_full(b));
	turn(base);
	CHECK(r.npending == 2);
	rec_finish(&r, 0, STORE_OK); /* 20 rows left: under three quarters */
	CHECK(!pgbulk_full(b));
	pgbulk_stats(b, &st);
	CHECK(st.rows_queued == 20 && st.rows_written == 20 && st.rows_peak == 40);
	checkout(&op, 1, 2); /* stream 1 is busy: it waits in an open batch */
	CHECK(pgbulk_add(b, &op, "s7:x:2", &rows) == 0);
	pgbulk_flush(b, flush_cb, &r);
	/* close takes back the batch in flight and the one behind it, in order */
	while ((bt = pgbulk_take(b)) != NULL) {
		const char *k = param(bt, "bulk_orders", 0);
		CHECK(k != NULL);
		seen = seen * 10 + (strstr(k, ":2:") != NULL ? 2 : 1);
		pgbulk_free_batch(bt);
	}
	CHECK(seen == 12);
	pgbulk_stats(b, &st);
	CHECK(st.rows_queued == 0);
	CHECK(r.flushed == 0);
	pgbulk_abort(b, STORE_ERR_CLOSED, "closed");
	CHECK(r.flushed == 1 && r.flush_err == STORE_ERR_CLOSED);
	pgbulk_free(b);
}

int
main(void)
{
	struct event_base *base = event_base_new();

	CHECK(base != NULL);
	test_rows_and_streams(base);
	test_cart(base);
	test_backpressure_and_take(base);
	event_base_free(base);
	return CHECK_DONE();
}
