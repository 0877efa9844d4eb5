/*
 * pgpool.c - the PostgreSQL connection pool and the connection under it.
 *
 * First the parts that need no server (SQLSTATE mapping, message cleaning,
 * host/port/dbname); then, with $PG_URL, the pool against a real server:
 * the hard cap under load (counted by the server in pg_stat_activity), FIFO
 * waiters, LIFO reuse, overflow, timeouts, recycling, pre-ping, a server-side
 * close of an idle connection, connection failures, and jobs in and out of
 * pipeline mode.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "check.h"
#include "pgtest.h"
#include "sim/pgconn.h"
#include "sim/pgpool.h"
#include "sim/pgsetup.h"

struct t {
	struct event_base *base;
	const char *url;
	char app[64]; /* application_name of this run's connections */
	PGconn *admin;
};

/* ---- without a server ---- */

static void
test_sqlstate(void)
{
	CHECK(pgconn_map_sqlstate("40001") == STORE_ERR_BUSY);
	CHECK(pgconn_map_sqlstate("40P01") == STORE_ERR_BUSY);
	CHECK(pgconn_map_sqlstate("08006") == STORE_ERR_CONNECT);
	CHECK(pgconn_map_sqlstate("57P01") == STORE_ERR_CONNECT);
	CHECK(pgconn_map_sqlstate("57014") == STORE_ERR_TIMEOUT);
	CHECK(pgconn_map_sqlstate("23505") == STORE_ERR_QUERY);
	CHECK(pgconn_map_sqlstate("42P01") == STORE_ERR_QUERY);
	CHECK(pgconn_map_sqlstate(NULL) == STORE_ERR_QUERY);
}

/* A server on this machine: a socket or a loopback address; anything else is far away. */
static void
test_host_local(void)
{
	CHECK(pgconn_host_local("/var/run/postgresql", ""));
	CHECK(pgconn_host_local("/tmp", NULL));
	CHECK(pgconn_host_local("localhost", "127.0.0.1"));
	CHECK(pgconn_host_local("db", "127.3.4.5"));
	CHECK(pgconn_host_local("localhost", "::1"));
	CHECK(!pgconn_host_local("db.example.com", "192.0.2.7"));
	CHECK(!pgconn_host_local("db.example.com", "2001:db8::1"));
	CHECK(!pgconn_host_local("128.0.0.1", "128.0.0.1"));
	CHECK(!pgconn_host_local("::ffff:10.0.0.1", "::ffff:10.0.0.1"));
	CHECK(!pgconn_host_local("db", ""));
	CHECK(!pgconn_host_local(NULL, NULL));
	CHECK(pgsetup_parallel(1) == 1 && pgsetup_parallel(0) > 1);
}

static void
test_messages(void)
{
	char out[256];

	pgconn_clean_message(
	    out, sizeof(out), "line one\n\tline  two\n", "postgresql://u:hunter22@h/db");
	CHECK(strcmp(out, "line one line two") == 0);
	/* One line per attempt (SSL, then without): said once. */
	pgconn_clean_message(out, sizeof(out),
	    "failed: FATAL: no\nfailed: FATAL: no\n"
	    "\tIs it there?\nfailed: FATAL: no",
	    "host=h");
	CHECK(strcmp(out, "failed: FATAL: no Is it there?") == 0);
	pgconn_clean_message(out, sizeof(out), "bad token: \"hunter22\" and p@ss99word",
	    "postgresql://u:p%40ss99word@h/db");
	CHECK(strstr(out, "ss99word") == NULL);
	CHECK(strstr(out, "***") != NULL);
	pgconn_clean_message(
	    out, sizeof(out), "echo: hunter22 here", "host=h user=u password=hunter22");
	CHECK(strcmp(out, "echo: *** here") == 0);
	pgconn_clean_message(out, sizeof(out), "echo: p%zzword", "postgresql://u:p%zzword@h/db");
	CHECK(strstr(out, "zzword") == NULL);
	/* Not parseable: quoted pieces of the string go, whatever they are. */
	pgconn_clean_message(
	    out, sizeof(out), "missing \"=\" after \"pw=x y\" in string", "host=h pw=x y");
	CHECK(strcmp(out, "missing \"...\" after \"...\" in string") == 0);
	pgconn_describe(out, sizeof(out), "postgresql://u:hunter22@db.example:6543/shop");
	CHECK(strcmp(out, "db.example:6543/shop") == 0);
	pgconn_describe(out, sizeof(out), "host=10.1.2.3 port=5433 dbname=x password=hunter22");
	CHECK(strcmp(out, "10.1.2.3:5433/x") == 0);
}

/* What fuzzing found (tests/fuzz/fuzz_pgconn.c): each of these leaked, hung or overflowed. */
static void
test_messages_fuzzed(void)
{
	char out[PGCONN_MSG_MAX + 8], msg[PGCONN_MSG_MAX], longpw[300], ci[400];
	size_t i;

	/* The mask as the password: scrubbing it again and again never ended. */
	pgconn_clean_message(out, sizeof(out), "FATAL: *** here", "password=***");
	CHECK(strcmp(out, "FATAL: *** here") == 0);
	/* libpq reads "ab?c%zz" as the password ('?' does not end the userinfo). */
	CHECK(pgconn_check_conninfo("postgresql://u:ab?c%zz@h/db", out, sizeof(out)) == -1);
	CHECK(strstr(out, "ab?c") == NULL && strstr(out, "***") != NULL);
	/* A quote in the password fooled the match of libpq's quoted token. */
	CHECK(pgconn_check_conninfo("postgresql://u:a\"b%zzcd@h/db", out, sizeof(out)) == -1);
	CHECK(strstr(out, "%zzcd") == NULL);
	/* A conninfo libpq cannot parse still has its password hidden: plain, quoted. */
	pgconn_clean_message(out, sizeof(out), "said hunter2x", "password=hunter2x host=h d");
	CHECK(strcmp(out, "said ***") == 0);
	pgconn_clean_message(out, sizeof(out), "said n&m2x", "password=n&m2x host=h d");
	CHECK(strcmp(out, "said ***") == 0); /* '&' ends a value in a URI only */
	pgconn_clean_message(
	    out, sizeof(out), "said it's a \\secret", "password='it\\'s a \\\\secret' host=h d");
	CHECK(strstr(out, "secret") == NULL);
	/* A password of 256 bytes or more was not looked for. */
	memset(longpw, 'x', sizeof(longpw) - 1);
	longpw[sizeof(longpw) - 1] = '\0';
	snprintf(ci, sizeof(ci), "postgresql://u:%s@h/db?bad=1", longpw);
	snprintf(msg, sizeof(msg), "echo %s", longpw);
	pgconn_clean_message(out, sizeof(out), msg, ci);
	CHECK(strstr(out, "xxx") == NULL);
	/* "..." for a quoted "" grows the text: at the end of the buffer it overflowed. */
	for (i = 0; i + 2 < sizeof(msg); i += 2)
		memcpy(msg + i, "\"\"", 2);
	msg[i] = '\0';
	memset(out, 'Z', sizeof(out));
	pgconn_clean_message(out, PGCONN_MSG_MAX, msg, "host=h d");
	CHECK(strlen(out) < PGCONN_MSG_MAX && out[PGCONN_MSG_MAX] == 'Z');
}

/* ---- the pool ---- */

static void
pool_opts(struct t *t, struct pgpool_opts *o, unsigned size, unsigned overflow, unsigned max)
{
	memset(o, 0, sizeof(*o));
	o->conn.conninfo = t->url;
	o->conn.appname = t->app;
	o->conn.connect_timeout = 5;
	o->size = size;
	o->overflow = overflow;
	o->max = max;
	o->timeout = 10;
}

static long long
backends(struct t *t)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
	    "SELECT count(*) FROM pg_stat_activity"
	    " WHERE application_name = '%s'",
	    t->app);
	return q_int(t->admin, sql);
}

/* A worker: takes a connection, sleeps on the server, gives it back, again. */
struct worker {
	struct load *l;
	struct pgpool_req req;
	struct pgconn *c;
	int rounds;
};

struct load {
	struct t *t;
	struct pgpool *p;
	struct worker w[50];
	int active, done, errors, max_total, in_acquire, cb_inside;
};

static const struct pgstmt nap = { PGSTMT_PARAMS, "nap", "SELECT pg_sleep(0.01)", 0, NULL };

static void worker_go(struct worker *w);

static void
load_note(struct load *l)
{
	struct pgpool_stats st;
	int total;

	pgpool_stats(l->p, &st);
	total = (int)(st.active + st.idle + st.connecting);
	if (total > l->max_total)
		l->max_total = total;
}

static void
worker_slept(void *arg, enum store_err err, const char *msg)
{
	struct worker *w = arg;

	if (err != STORE_OK) {
		fprintf(stderr, "nap: %s\n", msg);
		w->l->errors++;
	}
	pgpool_release(w->l->p, w->c);
	load_note(w->l);
	if (--w->rounds > 0)
		worker_go(w);
	else
		w->l->done++;
}

static void
worker_got(struct pgconn *c, enum store_err err, const char *msg, void *arg)
{
	struct worker *w = arg;

	if (w->l->in_acquire)
		w->l->cb_inside = 1;
	load_note(w->l);
	if (err != STORE_OK) {
		fprintf(stderr, "acquire: %s\n", msg);
		w->l->errors++;
		w->l->done++;
		return;
	}
	w->c = c;
	pgconn_exec(c, &nap, 1, NULL, worker_slept, w);
}

static void
worker_go(struct worker *w)
{
	w->l->in_acquire = 1;
	pgpool_acquire(w->l->p, &w->req, worker_got, w);
	w->l->in_acquire = 0;
}

/* 50 workers, pool_max 5: the server never sees more than five of our connections. */
static void
test_cap(struct t *t)
{
	struct pgpool_opts o;
	struct pgpool_stats st;
	struct load l;
	long long seen = 0, b;
	double next = 0;
	int i;

	memset(&l, 0, sizeof(l));
	pool_opts(t, &o, 5, 10, 5);
	l.t = t;
	l.p = pgpool_new(t->base, &o);
	CHECK(l.p != NULL);
	if (l.p == NULL)
		return;
	for (i = 0; i < 50; i++) {
		l.w[i].l = &l;
		l.w[i].rounds = 4;
		worker_go(&l.w[i]);
	}
	while (l.done < 50) {
		event_base_loop(t->base, EVLOOP_ONCE);
		if (now_s() >= next) { /* ask the server while the naps are running */
			if ((b = backends(t)) > seen)
				seen = b;
			next = now_s() + 0.02;
		}
	}
	pgpool_stats(l.p, &st);
	printf("  cap: %lld backends seen, %d connections at most, %llu opened\n", seen,
	    l.max_total, (unsigned long long)st.opened);
	CHECK(l.errors == 0);
	CHECK(l.cb_inside == 0);
	CHECK(seen == 5);        /* the cap was reached ... */
	CHECK(l.max_total <= 5); /* ... and never passed */
	CHECK(st.opened == 5 && st.closed == 0);
	CHECK(st.limit == 5 && st.waiting == 0 && st.active == 0 && st.idle == 5);
	pgpool_free(l.p);
	run_for(t->base, 0.05);
}

/*
 * 30 workers under pool_max 10, then the cap lowered to 3 (a cluster member's
 * share shrinking): idle connections go at once, busy ones as they come back,
 * no nap fails, and from then on neither the pool nor the server count more
 * than 3; raised to 6, the pool grows into it.
 */
static void
test_set_max(struct t *t)
{
	struct pgpool_opts o;
	struct pgpool_stats st;
	struct load l;
	long long seen = 0, b;
	double t0 = now_s(), next = 0;
	int shrunk = 0, settled = 0, i;

	memset(&l, 0, sizeof(l));
	pool_opts(t, &o, 10, 0, 10);
	l.t = t;
	if ((l.p = pgpool_new(t->base, &o)) == NULL) {
		CHECK(l.p != NULL);
		return;
	}
	for (i = 0; i < 30; i++) {
		l.w[i].l = &l;
		l.w[i].rounds = 30;
		worker_go(&l.w[i]);
	}
	while (l.done < 30) {
		event_base_loop(t->base, EVLOOP_ONCE);
		pgpool_stats(l.p, &st);
		if (!shrunk && st.active >= 10) {
			pgpool_set_max(l.p, 3);
			shrunk = 1;
		} else if (shrunk && !settled && st.active + st.idle + st.connecting <= 3) {
			settled = 1; /* the naps in flight came back */
			l.max_total = 0;
			t0 = now_s();
			next = t0 + 0.3; /* the server takes a moment to end closed backends */
		} else if (settled && now_s() >= next) {
			if ((b = backends(t)) > seen)
				seen = b;
			next = now_s() + 0.02;
		}
	}
	pgpool_stats(l.p, &st);
	printf("  set_max: 10 -> 3, then %lld backends seen, %d connections at most over %.2f s\n",
	    seen, l.max_total, now_s() - t0);
	CHECK(shrunk && settled);
	CHECK(l.errors == 0);
	CHECK(l.max_total <= 3 && seen <= 3);
	CHECK(st.limit == 3);
	pgpool_set_max(l.p, 6);
	pgpool_stats(l.p, &st);
	CHECK(st.limit == 6);
	pgpool_free(l.p);
	run_for(t->base, 0.05);
}

struct grab {
	int done, order;
	enum store_err err;
	struct pgconn *c;
	double at;
	int *counter;
	char msg[200];
};

static void
grab_cb(struct pgconn *c, enum store_err err, const char *msg, void *arg)
{
	struct grab *g = arg;

	g->done = 1;
	g->err = err;
	g->c = c;
	g->at = now_s();
	g->order = ++*g->counter;
	snprintf(g->msg, sizeof(g->msg), "%s", msg != NULL ? msg : "");
}

static void
grab(struct pgpool *p, struct pgpool_req *r, struct grab *g, int *counter)
{
	memset(g, 0, sizeof(*g));
	g->counter = counter;
	pgpool_acquire(p, r, grab_cb, g);
}

/* pool_max 1: waiters in order; the one that waits too long fails with TIMEOUT. */
static void
test_fifo_timeout(struct t *t)
{
	struct pgpool_opts o;
	struct pgpool_req r[5];
	struct grab g[5];
	struct pgpool_stats st;
	struct pgpool *p;
	int counter = 0, i, ordered = 1;
	double t0;

	pool_opts(t, &o, 1, 0, 1);
	o.timeout = 0.3;
	p = pgpool_new(t->base, &o);
	for (i = 0; i < 4; i++)
		grab(p, &r[i], &g[i], &counter);
	CHECK(!g[0].done);
	for (i = 0; i < 4; i++) {
		run_until(t->base, &g[i].done, 5);
		CHECK(g[i].err == STORE_OK);
		ordered &= g[i].order == i + 1;
		pgpool_release(p, g[i].c);
	}
	CHECK(ordered);
	/* Hold the one connection; the next waiter gives up after pool_timeout. */
	grab(p, &r[0], &g[0], &counter);
	run_until(t->base, &g[0].done, 5);
	t0 = now_s();
	grab(p, &r[1], &g[1], &counter);
	run_until(t->base, &g[1].done, 5);
	CHECK(g[1].err == STORE_ERR_TIMEOUT && g[1].c == NULL);
	CHECK(g[1].at - t0 >= 0.29 && g[1].at - t0 < 1.5);
	CHECK(strstr(g[1].msg, "no database connection free") != NULL);
	pgpool_stats(p, &st);
	CHECK(st.timeouts == 1 && st.waiting == 0 && st.opened == 1);
	/* A cancelled waiter is never called. */
	grab(p, &r[2], &g[2], &counter);
	CHECK(pgpool_cancel(p, &r[2]) == 1);
	pgpool_release(p, g[0].c);
	run_for(t->base, 0.05);
	CHECK(!g[2].done);
	pgpool_stats(p, &st);
	CHECK(st.idle == 1 && st.active == 0);
	pgpool_free(p);
}

/* Overflow connections close when released; idle ones are reused last-in first-out. */
static void
test_overflow_lifo(struct t *t)
{
	struct pgpool_opts o;
	struct pgpool_req r[4];
	struct grab g[4];
	struct pgpool_stats st;
	struct pgpool *p;
	int counter = 0, i;

	pool_opts(t, &o, 2, 2, 10);
	p = pgpool_new(t->base, &o);
	for (i = 0; i < 4; i++)
		grab(p, &r[i], &g[i], &counter);
	for (i = 0; i < 4; i++)
		run_until(t->base, &g[i].done, 5);
	pgpool_stats(p, &st);
	CHECK(st.active == 4 && st.opened == 4 && st.limit == 4);
	for (i = 0; i < 4; i++)
		pgpool_release(p, g[i].c);
	pgpool_stats(p, &st);
	CHECK(st.idle == 2 && st.closed == 2); /* the two beyond pool_size went */
	/* g[0] and g[1] were closed as overflow; g[3] was released last: it comes first. */
	grab(p, &r[0], &g[0], &counter);
	run_until(t->base, &g[0].done, 5);
	CHECK(g[0].c == g[3].c);
	grab(p, &r[1], &g[1], &counter);
	run_until(t->base, &g[1].done, 5);
	CHECK(g[1].c == g[2].c);
	pgpool_release(p, g[1].c);
	pgpool_release(p, g[0].c);
	grab(p, &r[0], &g[0], &counter);
	run_until(t->base, &g[0].done, 5);
	CHECK(g[0].c == g[3].c);
	pgpool_release(p, g[0].c);
	pgpool_stats(p, &st);
	CHECK(st.opened == 4 && st.closed == 2 && st.idle == 2);
	pgpool_free(p);
}

static void
test_recycle(struct t *t)
{
	struct pgpool_opts o;
	struct pgpool_req r;
	struct grab g;
	struct pgpool_stats st;
	struct pgpool *p;
	int counter = 0, i;

	pool_opts(t, &o, 2, 0, 2);
	o.recycle = 0.1;
	p = pgpool_new(t->base, &o);
	for (i = 0; i < 3; i++) {
		grab(p, &r, &g, &counter);
		run_until(t->base, &g.done, 5);
		CHECK(g.err == STORE_OK);
		pgpool_release(p, g.c);
		run_for(t->base, 0.15); /* older than pool_recycle by the next round */
	}
	pgpool_stats(p, &st);
	CHECK(st.opened == 3);
	CHECK(st.closed >= 2);
	pgpool_free(p);
	run_for(t->base, 0.05);
}

/* Warm: the pool opens the pool_size it keeps (never past its cap), then serves from them. */
static void
test_warm(struct t *t)
{
	struct pgpool_opts o;
	struct pgpool_req r;
	struct grab g;
	struct pgpool_stats st;
	struct pgpool *p;
	int counter = 0, i;

	pool_opts(t, &o, 3, 2, 5);
	p = pgpool_new(t->base, &o);
	pgpool_warm(p);
	pgpool_stats(p, &st);
	CHECK(st.connecting == 3 && st.opened == 0); /* in the background */
	for (i = 0; i < 500 && st.idle < 3; i++) {
		run_for(t->base, 0.01);
		pgpool_stats(p, &st);
	}
	CHECK(st.idle == 3 && st.opened == 3 && st.connecting == 0);
	pgpool_warm(p); /* held already: nothing more */
	grab(p, &r, &g, &counter);
	run_until(t->base, &g.done, 5);
	CHECK(g.err == STORE_OK);
	pgpool_stats(p, &st);
	CHECK(st.opened == 3 && st.connecting == 0 && st.active == 1 && st.idle == 2);
	pgpool_release(p, g.c);
	pgpool_free(p);

	pool_opts(t, &o, 3, 2, 5);
	p = pgpool_new(t->base, &o);
	pgpool_set_max(p, 2); /* a cluster member's share below pool_size */
	pgpool_warm(p);
	pgpool_stats(p, &st);
	CHECK(st.connecting == 2);
	pgpool_free(p);
	run_for(t->base, 0.05);
}

/* Pre-ping after ping_after idle seconds; an idle connection the server closes is noticed. */
static void
test_ping_and_lost(struct t *t)
{
	struct pgpool_opts o;
	struct pgpool_req r;
	struct grab g;
	struct pgpool_stats st;
	struct pgpool *p;
	char sql[256];
	int counter = 0;
	double end;

	pool_opts(t, &o, 1, 0, 1);
	o.pre_ping = 1;
	o.ping_after = 0.05;
	p = pgpool_new(t->base, &o);
	grab(p, &r, &g, &counter);
	run_until(t->base, &g.done, 5);
	pgpool_release(p, g.c);
	grab(p, &r, &g, &counter); /* fresh: no ping */
	run_until(t->base, &g.done, 5);
	pgpool_release(p, g.c);
	pgpool_stats(p, &st);
	CHECK(st.pings == 0);
	run_for(t->base, 0.1);
	grab(p, &r, &g, &counter); /* idle long enough: pinged first */
	run_until(t->base, &g.done, 5);
	CHECK(g.err == STORE_OK);
	pgpool_release(p, g.c);
	pgpool_stats(p, &st);
	CHECK(st.pings == 1 && st.opened == 1);
	/* The server drops the idle connection: the pool sees it go by itself. */
	snprintf(sql, sizeof(sql),
	    "SELECT count(pg_terminate_backend(pid)) FROM"
	    " pg_stat_activity WHERE application_name = '%s'",
	    t->app);
	CHECK(q_int(t->admin, sql) == 1);
	end = now_s() + 3;
	do {
		run_for(t->base, 0.01);
		pgpool_stats(p, &st);
	} while (st.closed == 0 && now_s() < end);
	CHECK(st.closed == 1 && st.idle == 0);
	grab(p, &r, &g, &counter);
	run_until(t->base, &g.done, 5);
	CHECK(g.err == STORE_OK);
	pgpool_release(p, g.c);
	pgpool_stats(p, &st);
	CHECK(st.opened == 2);
	pgpool_free(p);
}

/*
 * A new run's name: idle connections are renamed in place (one round trip, no
 * reconnection), one in use when it comes back; a rename that fails closes it.
 */
static void
test_rename(struct t *t)
{
	struct pgpool_opts o;
	struct pgpool_req r1, r2;
	struct grab g1, g2;
	struct pgpool_stats st;
	struct pgpool *p;
	char sql[256], app2[80];
	int counter = 0;
	double end;

	pool_opts(t, &o, 2, 0, 2);
	p = pgpool_new(t->base, &o);
	pgpool_set_appname(p, t->app);
	grab(p, &r1, &g1, &counter);
	grab(p, &r2, &g2, &counter);
	run_until(t->base, &g1.done, 5);
	run_until(t->base, &g2.done, 5);
	CHECK(g1.err == STORE_OK && g2.err == STORE_OK);
	pgpool_release(p, g1.c); /* one idle, one in use */
	snprintf(app2, sizeof(app2), "%s_b", t->app);
	pgpool_set_appname(p, app2);
	snprintf(sql, sizeof(sql),
	    "SELECT count(*) FROM pg_stat_activity WHERE application_name = '%s'", app2);
	end = now_s() + 5;
	while (q_int(t->admin, sql) < 1 && now_s() < end)
		run_for(t->base, 0.01);
	CHECK(q_int(t->admin, sql) == 1); /* the idle one */
	CHECK(backends(t) == 1);          /* the one in use keeps its name for now */
	pgpool_release(p, g2.c);
	end = now_s() + 5;
	do { /* the server has the name before the pool has its answer */
		run_for(t->base, 0.01);
		pgpool_stats(p, &st);
	} while ((st.idle < 2 || q_int(t->admin, sql) < 2) && now_s() < end);
	CHECK(q_int(t->admin, sql) == 2 && backends(t) == 0);
	CHECK(st.opened == 2 && st.closed == 0 && st.idle == 2);
	/* Both renamed are handed out as they are: no reconnection. */
	grab(p, &r1, &g1, &counter);
	run_until(t->base, &g1.done, 5);
	CHECK(g1.err == STORE_OK);
	pgpool_release(p, g1.c);
	pgpool_stats(p, &st);
	CHECK(st.opened == 2 && st.closed == 0);
	pgpool_free(p);
	run_for(t->base, 0.05);
}

/* Nothing listens: waiters fail with CONNECT at once (not after pool_timeout). */
static void
test_unreachable(struct t *t)
{
	struct pgpool_opts o;
	struct pgpool_req r[3];
	struct grab g[3];
	struct pgpool_stats st;
	struct pgpool *p;
	int counter = 0, i;
	double t0 = now_s();

	pool_opts(t, &o, 5, 0, 5);
	o.conn.conninfo = "postgresql://nobody:hunter22@127.0.0.1:1/none";
	o.timeout = 20;
	p = pgpool_new(t->base, &o);
	for (i = 0; i < 3; i++)
		grab(p, &r[i], &g[i], &counter);
	for (i = 0; i < 3; i++) {
		run_until(t->base, &g[i].done, 5);
		CHECK(g[i].err == STORE_ERR_CONNECT);
	}
	CHECK(now_s() - t0 < 2);
	CHECK(strstr(g[0].msg, "127.0.0.1:1/none") != NULL);
	CHECK(strstr(g[0].msg, "hunter22") == NULL);
	/* After a failure: one probe at a time, after a backoff. */
	for (i = 0; i < 3; i++)
		grab(p, &r[i], &g[i], &counter);
	pgpool_stats(p, &st);
	CHECK(st.connecting <= 1);
	for (i = 0; i < 3; i++)
		run_until(t->base, &g[i].done, 5);
	pgpool_stats(p, &st);
	CHECK(g[2].err == STORE_ERR_CONNECT);
	CHECK(st.connect_failures < 6); /* not one attempt per waiter */
	CHECK(st.opened == 0 && st.connecting == 0);
	pgpool_free(p);
}

/* A host given by name is looked up once, at start-up, and pinned. */
static void
test_pin(struct t *t)
{
	PQconninfoOption *opts = PQconninfoParse(t->url, NULL), *o;
	struct pgconn_opts co;
	struct pgsync *s;
	char info[512], addr[64] = "", err[256];
	size_t n;

	n = (size_t)snprintf(info, sizeof(info), "host=localhost");
	for (o = opts; o != NULL && o->keyword != NULL; o++)
		if (o->val != NULL &&
		    (strcmp(o->keyword, "port") == 0 || strcmp(o->keyword, "user") == 0 ||
			strcmp(o->keyword, "dbname") == 0 || strcmp(o->keyword, "password") == 0) &&
		    n < sizeof(info))
			n += (size_t)snprintf(
			    info + n, sizeof(info) - n, " %s='%s'", o->keyword, o->val);
	PQconninfoFree(opts);
	memset(&co, 0, sizeof(co));
	co.conninfo = info;
	co.connect_timeout = 5;
	if ((s = pgsync_open(&co, err, sizeof(err))) == NULL) {
		printf("  note: no server on localhost (%s): pin check skipped\n", err);
		return;
	}
	CHECK(pgsync_hostaddr(s, addr, sizeof(addr)) == 0);
	CHECK(strcmp(addr, "127.0.0.1") == 0 || strcmp(addr, "::1") == 0);
	CHECK(pgsync_local(s)); /* set-up writes one chunk at a time (pgsetup_parallel) */
	pgsync_close(s);
	/* Pinned: the pool connects to the address, host still names the server. */
	co.hostaddr = addr;
	s = pgsync_open(&co, err, sizeof(err));
	CHECK(s != NULL);
	pgsync_close(s);
	co.conninfo = "host=localhost port=1";
	co.hostaddr = "127.0.0.1";
	s = pgsync_open(&co, err, sizeof(err));
	CHECK(s == NULL && strstr(err, "127.0.0.1") != NULL);
}

/* ---- jobs on one connection ---- */

#define JOB_STMTS 12

struct job {
	int done;
	enum store_err err;
	char msg[200];
	int results[JOB_STMTS];
	long long value[JOB_STMTS];
};

static void
job_result(void *arg, int idx, const PGresult *r)
{
	struct job *j = arg;

	if (idx >= 0 && idx < JOB_STMTS) {
		j->results[idx]++;
		if (PQntuples(r) > 0)
			j->value[idx] = atoll(PQgetvalue(r, PQntuples(r) - 1, 0));
	}
}

static void
job_done(void *arg, enum store_err err, const char *msg)
{
	struct job *j = arg;

	j->done = 1;
	j->err = err;
	snprintf(j->msg, sizeof(j->msg), "%s", msg != NULL ? msg : "");
}

static void
run_job(struct t *t, struct pgconn *c, const struct pgstmt *st, int n, struct job *j)
{
	memset(j, 0, sizeof(*j));
	pgconn_exec(c, st, n, job_result, job_done, j);
	CHECK(!j->done);
	run_until(t->base, &j->done, 5);
	CHECK(j->done);
}

/*
 * Three transactions in one job, marks after their statements: the first
 * (inserting first) lands, the second fails, and the third (inserting last)
 * -- sent with them -- never lands, then the job rolls back.
 */
static void
three_txns(struct t *t, struct pgconn *c, const unsigned char *marks, const char *first,
    const char *last, int no_pipeline)
{
	const char *const v1[] = { first }, *const v2[] = { last };
	const struct pgstmt three[] = {
		{ PGSTMT_PARAMS, "begin", "BEGIN", 0, NULL },
		{ PGSTMT_PARAMS, "ins", "INSERT INTO pgpool_t VALUES ($1::int)", 1, v1 },
		{ PGSTMT_PARAMS, "commit", "COMMIT", 0, NULL },
		{ PGSTMT_PARAMS, "begin", "BEGIN", 0, NULL },
		{ PGSTMT_PARAMS, "dup", "INSERT INTO pgpool_t VALUES (42)", 0, NULL },
		{ PGSTMT_PARAMS, "commit", "COMMIT", 0, NULL },
		{ PGSTMT_PARAMS, "begin", "BEGIN", 0, NULL },
		{ PGSTMT_PARAMS, "ins", "INSERT INTO pgpool_t VALUES ($1::int)", 1, v2 },
		{ PGSTMT_PARAMS, "commit", "COMMIT", 0, NULL },
	};
	struct job j;

	memset(&j, 0, sizeof(j));
	pgconn_exec_syncs(c, three, marks, 9, job_result, job_done, &j);
	run_until(t->base, &j.done, 5);
	CHECK(j.done && j.err == STORE_ERR_QUERY && strstr(j.msg, "[dup]") != NULL);
	/* in for good: the first transaction (and, one at a time, the BEGIN after it) */
	CHECK(pgconn_ok_upto(c) == (no_pipeline ? 4 : 3));
	/* one pipeline and the rollback; else each statement up to the failed one, and it */
	CHECK(pgconn_job_waits(c) == (no_pipeline ? 6 : 2));
	CHECK(j.results[7] == 0 && j.results[8] == 0 && pgconn_ok(c));
}

/*
 * A sync after each transaction: the third fails on the server too (the
 * connection sits in the aborted transaction).  One sync at the end, the
 * COMMITs marked: the first's COMMIT tells it landed, the server skips the
 * rest up to the sync.
 */
static void
test_syncs(struct t *t, struct pgconn *c, int no_pipeline)
{
	const unsigned char sync[] = { 0, 0, PGCONN_SYNC, 0, 0, PGCONN_SYNC, 0, 0, 0 };
	const unsigned char marks[] = { 0, 0, PGCONN_COMMIT, 0, 0, PGCONN_COMMIT, 0, 0,
		PGCONN_COMMIT };
	const struct pgstmt count[] = {
		{ PGSTMT_PARAMS, "count", "SELECT count(*) FROM pgpool_t WHERE v >= 100", 0, NULL },
	};
	const struct pgstmt two[] = {
		{ PGSTMT_PARAMS, "one", "SELECT 1", 0, NULL },
		{ PGSTMT_PARAMS, "two", "SELECT 2", 0, NULL },
	};
	const unsigned char sync2[] = { PGCONN_SYNC, 0 };
	struct job j;

	three_txns(t, c, sync, "100", "101", no_pipeline);
	run_job(t, c, count, 1, &j);
	CHECK(j.err == STORE_OK && j.value[0] == 1);
	memset(&j, 0, sizeof(j));
	pgconn_exec_syncs(c, two, sync2, 2, job_result, job_done, &j);
	run_until(t->base, &j.done, 5);
	CHECK(j.err == STORE_OK && pgconn_ok_upto(c) == 2 && j.value[1] == 2);
	CHECK(pgconn_job_waits(c) == (no_pipeline ? 2 : 1));
	three_txns(t, c, marks, "102", "103", no_pipeline);
	run_job(t, c, count, 1, &j);
	CHECK(j.err == STORE_OK && j.value[0] == 2); /* 100 and 102 */
}

static void
test_jobs(struct t *t, int no_pipeline)
{
	static const char *const one[] = { "41" };
	const struct pgstmt setup[] = {
		{ PGSTMT_SIMPLE, NULL,
		    "DROP TABLE IF EXISTS pgpool_t; CREATE TEMP TABLE"
		    " pgpool_t (v int PRIMARY KEY)",
		    0, NULL },
	};
	const struct pgstmt ok[] = {
		{ PGSTMT_PARAMS, "begin", "BEGIN", 0, NULL },
		{ PGSTMT_PARAMS, "ins", "INSERT INTO pgpool_t VALUES ($1::int + 1)", 1, one },
		{ PGSTMT_PARAMS, "series", "SELECT generate_series(1, 3)", 0, NULL },
		{ PGSTMT_PARAMS, "commit", "COMMIT", 0, NULL },
	};
	const struct pgstmt bad[] = {
		{ PGSTMT_PARAMS, "begin", "BEGIN", 0, NULL },
		{ PGSTMT_PARAMS, "ins", "INSERT INTO pgpool_t VALUES (7)", 0, NULL },
		{ PGSTMT_PARAMS, "dup", "INSERT INTO pgpool_t VALUES (42)", 0, NULL },
		{ PGSTMT_PARAMS, "after", "SELECT 1", 0, NULL },
		{ PGSTMT_PARAMS, "commit", "COMMIT", 0, NULL },
	};
	const struct pgstmt busy[] = {
		{ PGSTMT_PARAMS, "ser",
		    "DO $$BEGIN RAISE EXCEPTION 'try again'"
		    " USING ERRCODE = '40001'; END$$",
		    0, NULL },
	};
	const struct pgstmt count[] = {
		{ PGSTMT_PARAMS, "count", "SELECT count(*) FROM pgpool_t", 0, NULL },
	};
	struct pgpool_opts o;
	struct pgpool_req r;
	struct grab g;
	struct job j;
	struct pgpool *p;
	int counter = 0;

	pool_opts(t, &o, 1, 0, 1);
	o.conn.no_pipeline = no_pipeline;
	p = pgpool_new(t->base, &o);
	grab(p, &r, &g, &counter);
	run_until(t->base, &g.done, 5);
	CHECK(g.err == STORE_OK);
	if (g.err != STORE_OK)
		goto out;
	run_job(t, g.c, setup, 1, &j);
	CHECK(j.err == STORE_OK);
	run_job(t, g.c, ok, 4, &j);
	CHECK(j.err == STORE_OK);
	CHECK(j.results[0] == 1 && j.results[1] == 1 && j.results[2] == 1 && j.results[3] == 1);
	CHECK(j.value[2] == 3);
	/* A statement fails inside the transaction: the rest never runs, all rolls back. */
	run_job(t, g.c, bad, 5, &j);
	CHECK(j.err == STORE_ERR_QUERY);
	CHECK(strstr(j.msg, "duplicate key") != NULL && strstr(j.msg, "[dup]") != NULL);
	CHECK(j.results[3] == 0);
	CHECK(pgconn_ok(g.c));
	run_job(t, g.c, count, 1, &j);
	CHECK(j.err == STORE_OK && j.value[0] == 1);
	run_job(t, g.c, busy, 1, &j);
	CHECK(j.err == STORE_ERR_BUSY);
	CHECK(strstr(j.msg, "try again") != NULL);
	test_syncs(t, g.c, no_pipeline);
	pgpool_release(p, g.c);
out:
	pgpool_free(p);
}

int
main(void)
{
	struct event *tick;
	struct timeval tv = { 0, 5000 };
	struct t t;

	test_sqlstate();
	test_host_local();
	test_messages();
	test_messages_fuzzed();
	memset(&t, 0, sizeof(t));
	t.url = getenv("PG_URL");
	if (t.url == NULL || t.url[0] == '\0') {
		if (check_failed)
			return CHECK_DONE();
		printf("pgpool: PG_URL not set, skipped\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(t.app, sizeof(t.app), "pgpool_test_%ld", (long)getpid());
	t.base = event_base_new();
	tick = event_new(t.base, -1, EV_PERSIST, tick_cb, NULL);
	event_add(tick, &tv);
	t.admin = PQconnectdb(t.url);
	if (PQstatus(t.admin) != CONNECTION_OK) {
		printf("pgpool: cannot connect to $PG_URL, skipped\n");
		return 77;
	}
	PQsetNoticeProcessor(t.admin, quiet, NULL);
	test_cap(&t);
	test_set_max(&t);
	test_fifo_timeout(&t);
	test_overflow_lifo(&t);
	test_recycle(&t);
	test_warm(&t);
	test_ping_and_lost(&t);
	test_rename(&t);
	test_unreachable(&t);
	test_pin(&t);
	test_jobs(&t, 0);
	test_jobs(&t, 1);
	PQfinish(t.admin);
	event_free(tick);
	event_base_free(t.base);
	return CHECK_DONE();
}
