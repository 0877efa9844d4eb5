/*
 * pgbatch.c - the event batcher and the array literals it builds, without a
 * database: the write function here only records what it was given, and the
 * test decides when and how each write ends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "check.h"
#include "sim/pgbatch.h"
#include "sim/pgsql.h"

struct rec {
	struct pgbatch *b;
	struct batch *pending[16];
	int npending, writes;
	int flushed, flush_err;
	int in_call; /* set while the test calls into the batcher */
	int cb_inside;
};

static void
rec_write(struct pgbatch *b, struct batch *bt, void *arg)
{
	struct rec *r = arg;

	r->b = b;
	r->pending[r->npending++] = bt;
	r->writes++;
}

/* Ends the oldest pending write. */
static void
rec_finish(struct rec *r, enum store_err err)
{
	struct batch *bt = r->pending[0];

	memmove(r->pending, r->pending + 1, (size_t)(r->npending - 1) * sizeof(r->pending[0]));
	r->npending--;
	pgbatch_written(r->b, bt, err, err == STORE_OK ? NULL : "it broke");
}

static void
flush_cb(enum store_err err, const char *msg, void *arg)
{
	struct rec *r = arg;

	if (r->in_call)
		r->cb_inside = 1;
	r->flushed++;
	r->flush_err = err;
}

static void
row(struct pgbatch *b, struct rec *r, const char *key, uint32_t user)
{
	struct pgbatch_row x = { key, "agent_001:1", user, "view", "{\"a\":1}", 1767600000 };

	r->in_call = 1;
	CHECK(pgbatch_add(b, &x) == 0);
	r->in_call = 0;
}

static void
spin(struct event_base *base, double secs)
{
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		event_base_loop(base, EVLOOP_NONBLOCK);
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while ((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9 < secs);
}

static void
test_pgarr(void)
{
	struct pgarr a;
	int i, fails = 0;

	pgarr_init(&a);
	CHECK(strcmp(pgarr_str(&a), "{}") == 0);
	CHECK(pgarr_add_int(&a, 1) == 0 && pgarr_add_int(&a, -42) == 0);
	CHECK(strcmp(pgarr_str(&a), "{1,-42}") == 0);
	CHECK(pgarr_add_int(&a, 9007199254740993LL) == 0);
	CHECK(strcmp(pgarr_str(&a), "{1,-42,9007199254740993}") == 0);
	pgarr_reset(&a);
	CHECK(pgarr_add_text(&a, "plain") == 0);
	CHECK(pgarr_add_text(&a, "a\"b\\c, {d}") == 0);
	CHECK(pgarr_add_text(&a, "") == 0);
	CHECK(pgarr_add_text(&a, "NULL") == 0); /* quoted: the text NULL, not SQL NULL */
	CHECK(strcmp(pgarr_str(&a), "{\"plain\",\"a\\\"b\\\\c, {d}\",\"\",\"NULL\"}") == 0);
	CHECK(a.n == 4);
	pgarr_free(&a);
	/* Growth well past the first allocation. */
	pgarr_init(&a);
	for (i = 0; i < 5000; i++)
		fails += pgarr_add_text(&a, "0123456789") != 0;
	CHECK(fails == 0);
	CHECK(strlen(pgarr_str(&a)) == 2 + 5000 * 12 + 4999);
	pgarr_free(&a);
}

static void
test_size_and_columns(struct event_base *base)
{
	struct pgbatch_opts o = { 3, 3600, 2, rec_write, NULL, 0, 0 };
	struct rec r = { 0 };
	struct pgbatch_stats st;
	struct pgbatch *b;
	const char *const *p;

	o.arg = &r;
	b = pgbatch_new(base, &o);
	CHECK(b != NULL);
	row(b, &r, "k1", 1);
	row(b, &r, "k\"2", 2);
	CHECK(r.writes == 0); /* not full yet */
	row(b, &r, "k3", 3);
	CHECK(r.writes == 1);
	CHECK(pgbatch_rows(r.pending[0]) == 3);
	p = pgbatch_params(r.pending[0]);
	CHECK(strcmp(p[0], "{\"k1\",\"k\\\"2\",\"k3\"}") == 0);
	CHECK(strcmp(p[1], "{\"agent_001:1\",\"agent_001:1\",\"agent_001:1\"}") == 0);
	CHECK(strcmp(p[2], "{1,2,3}") == 0);
	CHECK(strcmp(p[3], "{\"view\",\"view\",\"view\"}") == 0);
	CHECK(strcmp(p[4], "{\"{\\\"a\\\":1}\",\"{\\\"a\\\":1}\",\"{\\\"a\\\":1}\"}") == 0);
	CHECK(strcmp(p[5], "{1767600000,1767600000,1767600000}") == 0);
	pgbatch_stats(b, &st);
	CHECK(st.rows_queued == 3 && st.rows_written == 0);
	rec_finish(&r, STORE_OK);
	pgbatch_stats(b, &st);
	CHECK(st.rows_queued == 0 && st.rows_written == 3 && st.batches_written == 1);
	pgbatch_free(b);
}

static void
test_inflight_and_kick(struct event_base *base)
{
	struct pgbatch_opts o = { 2, 3600, 2, rec_write, NULL, 0, 0 };
	struct rec r = { 0 };
	struct pgbatch *b;
	int i;

	o.arg = &r;
	b = pgbatch_new(base, &o);
	for (i = 0; i < 6; i++)
		row(b, &r, "k", 1);
	CHECK(r.writes == 2 && r.npending == 2); /* the third batch waits for a slot */
	rec_finish(&r, STORE_OK);
	CHECK(r.writes == 3 && r.npending == 2);
	rec_finish(&r, STORE_OK);
	rec_finish(&r, STORE_OK);
	row(b, &r, "k", 1);
	CHECK(r.writes == 3);
	pgbatch_kick(b); /* a session ended */
	CHECK(r.writes == 4 && pgbatch_rows(r.pending[0]) == 1);
	rec_finish(&r, STORE_OK);
	pgbatch_kick(b); /* nothing queued: nothing written */
	CHECK(r.writes == 4);
	pgbatch_free(b);
}

/*
 * Back-pressure: full at queue_max (the open batch then goes at once), until
 * the rows held are back under three quarters of it; over half full, more
 * batches go at once.
 */
static void
test_queue_bound(struct event_base *base)
{
	struct pgbatch_opts o = { 4, 3600, 1, rec_write, NULL, 3, 8 };
	struct rec r = { 0 };
	struct pgbatch_stats st;
	struct pgbatch *b;
	int i;

	o.arg = &r;
	b = pgbatch_new(base, &o);
	for (i = 0; i < 3; i++)
		row(b, &r, "k", 1);
	CHECK(!pgbatch_full(b) && r.writes == 0);
	row(b, &r, "k", 1); /* a batch of 4: written, one at a time under half full */
	CHECK(r.writes == 1);
	for (i = 0; i < 3; i++)
		row(b, &r, "k", 1);
	CHECK(!pgbatch_full(b));
	row(b, &r, "k", 1); /* 8 held: full; over half full, up to 3 batches at once */
	CHECK(pgbatch_full(b) && r.writes == 2 && r.npending == 2);
	row(b, &r, "k", 1); /* one more, from a session in flight: it waits in the open batch */
	CHECK(pgbatch_full(b) && r.writes == 2);
	rec_finish(&r, STORE_OK); /* 5 held: under three quarters of 8 */
	CHECK(!pgbatch_full(b));
	pgbatch_stats(b, &st);
	CHECK(st.rows_peak == 9 && st.rows_queued == 5);
	rec_finish(&r, STORE_OK);
	pgbatch_kick(b);
	rec_finish(&r, STORE_OK);
	pgbatch_stats(b, &st);
	CHECK(st.rows_queued == 0 && st.rows_peak == 9);
	pgbatch_free(b);
}

/* While a flush is awaited more batches go at once (inflight_flush), then back to inflight. */
static void
flush_noted(enum store_err err, const char *msg, void *arg)
{
	((struct rec *)arg)->flushed++;
}

static void
test_flush_inflight(struct event_base *base)
{
	struct pgbatch_opts o = { 1, 3600, 1, rec_write, NULL, 3, 0 };
	struct rec r = { 0 };
	struct pgbatch *b;
	int i;

	o.arg = &r;
	b = pgbatch_new(base, &o);
	for (i = 0; i < 5; i++)
		row(b, &r, "k", 1);
	CHECK(r.writes == 1 && r.npending == 1); /* one at a time during the run */
	pgbatch_flush(b, flush_noted, &r);
	CHECK(r.writes == 3 && r.npending == 3); /* three at a time for the flush */
	while (r.npending > 0)
		rec_finish(&r, STORE_OK);
	event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK(r.writes == 5 && r.flushed == 1);
	row(b, &r, "k", 1);
	row(b, &r, "k", 1);
	CHECK(r.npending == 1); /* the flush is over: one at a time again */
	while (r.npending > 0)
		rec_finish(&r, STORE_OK);
	pgbatch_free(b);
}

static void
test_flush(struct event_base *base)
{
	struct pgbatch_opts o = { 10, 3600, 2, rec_write, NULL, 0, 0 };
	struct rec r = { 0 };
	struct pgbatch *b;

	o.arg = &r;
	b = pgbatch_new(base, &o);
	/* Nothing queued: done, but from the loop. */
	r.in_call = 1;
	pgbatch_flush(b, flush_cb, &r);
	r.in_call = 0;
	CHECK(r.flushed == 0);
	spin(base, 0.01);
	CHECK(r.flushed == 1 && r.flush_err == STORE_OK);
	/* Two rows: the flush writes them and completes when they are in. */
	row(b, &r, "a", 1);
	row(b, &r, "b", 1);
	r.in_call = 1;
	pgbatch_flush(b, flush_cb, &r);
	r.in_call = 0;
	CHECK(r.writes == 1);
	spin(base, 0.01);
	CHECK(r.flushed == 1);
	/* Rows added after the flush do not hold it back. */
	row(b, &r, "c", 1);
	pgbatch_kick(b);
	CHECK(r.writes == 2);
	rec_finish(&r, STORE_OK);
	spin(base, 0.01);
	CHECK(r.flushed == 2 && r.flush_err == STORE_OK);
	rec_finish(&r, STORE_OK);
	CHECK(r.cb_inside == 0);
	pgbatch_free(b);
}

static void
test_failure(struct event_base *base)
{
	struct pgbatch_opts o = { 2, 0.05, 1, rec_write, NULL, 0, 0 };
	struct rec r = { 0 };
	struct pgbatch_stats st;
	struct pgbatch *b;
	struct batch *bt;
	int n;

	o.arg = &r;
	b = pgbatch_new(base, &o);
	row(b, &r, "a", 1);
	row(b, &r, "b", 1);
	CHECK(r.writes == 1);
	pgbatch_flush(b, flush_cb, &r);
	rec_finish(&r, STORE_ERR_CONNECT); /* the database is away */
	CHECK(r.flushed == 1 && r.flush_err == STORE_ERR_CONNECT);
	pgbatch_stats(b, &st);
	CHECK(st.batches_failed == 1 && st.rows_queued == 2);
	/* While failing, a full batch waits for the timer instead of hammering. */
	row(b, &r, "c", 1);
	row(b, &r, "d", 1);
	CHECK(r.writes == 1);
	spin(base, 0.08);
	CHECK(r.writes == 2); /* the tick retries, one at a time (inflight 1) */
	CHECK(pgbatch_rows(r.pending[0]) == 2);
	CHECK(strcmp(pgbatch_params(r.pending[0])[0], "{\"a\",\"b\"}") == 0); /* oldest first */
	rec_finish(&r, STORE_OK);
	CHECK(r.writes == 3); /* back to normal: the next goes at once */
	rec_finish(&r, STORE_OK);
	pgbatch_stats(b, &st);
	CHECK(st.rows_queued == 0 && st.rows_written == 4);
	/* Shutdown: what is queued or in flight comes back out, exactly once. */
	row(b, &r, "e", 1);
	row(b, &r, "f", 1); /* in flight */
	row(b, &r, "g", 1); /* open */
	pgbatch_flush(b, flush_cb, &r);
	n = 0;
	while ((bt = pgbatch_take(b)) != NULL) {
		n += (int)pgbatch_rows(bt);
		pgbatch_free_batch(bt);
	}
	CHECK(n == 3);
	pgbatch_stats(b, &st);
	CHECK(st.rows_queued == 0);
	r.npending = 0; /* those writes are forgotten */
	pgbatch_abort(b, STORE_ERR_CLOSED, "closed");
	CHECK(r.flushed == 2 && r.flush_err == STORE_ERR_CLOSED);
	pgbatch_free(b);
}

/* Staged groups enter a batch whole, in the order released; the table grows and shrinks. */
static void
test_staging(struct event_base *base)
{
	struct pgbatch_opts o = { 4, 3600, 4, rec_write, NULL, 0, 0 };
	struct rec r = { 0 };
	struct pgbatch_stats st;
	struct pgbatch *b;
	char key[32];
	uint32_t g;
	int i, fails = 0, whole = 1;

	o.arg = &r;
	b = pgbatch_new(base, &o);
	CHECK(b != NULL);
	if (b == NULL)
		return;
	/* 1000 groups of 3 rows, interleaved as sessions interleave */
	for (i = 0; i < 3; i++)
		for (g = 0; g < 1000; g++) {
			struct pgbatch_row x = { key, "s", g + 1, "view", "{}", 1767600000 };
			snprintf(key, sizeof(key), "g%u:%d", g, i);
			fails += pgbatch_stage(b, g, &x) != 0;
		}
	CHECK(fails == 0);
	pgbatch_stats(b, &st);
	CHECK(st.rows_staged == 3000 && st.rows_queued == 0 && r.writes == 0);
	/* released in another order: each batch holds whole groups (3 + 3 > 4 seals) */
	for (g = 0; g < 1000; g++)
		fails += pgbatch_release(b, (g * 7919) % 1000) != 0;
	CHECK(fails == 0);
	CHECK(pgbatch_release(b, 5000) == 0); /* a group never staged: nothing */
	pgbatch_stats(b, &st);
	CHECK(st.rows_staged == 0 && st.rows_queued == 3000);
	CHECK(r.writes == 4 && r.npending == 4);
	/* the first batch: the groups released first, each in its own order */
	CHECK(strcmp(pgbatch_params(r.pending[0])[0],
		  "{\"g0:0\",\"g0:1\",\"g0:2\",\"g919:0\",\"g919:1\",\"g919:2\"}") == 0);
	while (r.npending > 0) {
		whole &= pgbatch_rows(r.pending[0]) == 6;
		rec_finish(&r, STORE_OK);
	}
	CHECK(whole && r.writes == 500);
	pgbatch_flush(b, flush_cb, &r);
	spin(base, 0.05);
	while (r.npending > 0)
		rec_finish(&r, STORE_OK);
	spin(base, 0.05);
	pgbatch_stats(b, &st);
	CHECK(st.rows_written == 3000 && st.rows_queued == 0);
	/* rows staged and never released are freed with the batcher (valgrind checks) */
	{
		struct pgbatch_row x = { "k", "s", 1, "view", "{}", 1767600000 };
		CHECK(pgbatch_stage(b, 42, &x) == 0);
	}
	pgbatch_free(b);
}

int
main(void)
{
	struct event_base *base = event_base_new();

	CHECK(base != NULL);
	if (base == NULL)
		return CHECK_DONE();
	test_pgarr();
	test_size_and_columns(base);
	test_inflight_and_kick(base);
	test_queue_bound(base);
	test_flush_inflight(base);
	test_flush(base);
	test_failure(base);
	test_staging(base);
	event_base_free(base);
	return CHECK_DONE();
}
