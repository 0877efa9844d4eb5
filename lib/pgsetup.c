/*
 * pgsetup.c - prepare() for PostgreSQL (see pgsetup.h).
 *
 * Four steps: read sim_meta; if it does not describe this catalogue, one
 * transaction (a single pipeline) trims the old catalogue, upserts the new one
 * and writes its signature last; then users and wallets, PG_CHUNK agents per
 * job; last, ANALYZE of the tables the sessions read (pgsql_analyze), so that
 * the planner knows them before the first cycle rather than when autovacuum
 * gets round to them.  The row sets are the sqlite driver's.  A chunk is built
 * PG_SLICE users per loop turn (a persona's JSON costs some 25 µs: a whole
 * chunk at once was a 25 ms turn the control socket waited on), and the next
 * chunk is built while one is written, so the server never waits for simd.
 *
 * Chunks in flight: PG_PREP_PARALLEL hide round trips to a server far away.
 * A server on this machine needs none hidden, and each chunk in flight is a
 * backend taking a CPU: on two cores four of them left the loop waiting for
 * the scheduler 3-20 ms at a time (status p99 11-12 ms during a 100,000-agent
 * set-up), for a set-up no faster than with one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/catalog.h"
#include "sim/persona.h"
#include "sim/pgsetup.h"
#include "sim/pgsql.h"

#define PG_CHUNK 1000      /* rows per bulk statement */
#define PG_PREP_PARALLEL 4 /* user chunks written at once, server far away */
#define PG_SLICE 16        /* users added to a chunk in one loop turn */

/* One bulk statement: array parameters (unnested server-side), then scalars. */
struct pg_bulk {
	int ncols, nscalars;
	struct pgarr col[7];
	char scalar[2][24];
	const char *params[9];
};

struct pg_prep {
	struct pgjobs *r;
	struct store_setup su;
	store_done_cb cb;
	void *arg;
	uint32_t next; /* the next agent to write */
	unsigned inflight, parallel;
	struct pg_bulkjob *cur;   /* the chunk being built, or NULL */
	struct pg_bulkjob *ready; /* a whole chunk waiting for room in flight, or NULL */
	uint32_t cur_end;         /* the agent that ends it */
	int resuming;             /* a turn of building is queued (pg_prep_resume) */
	int users;                /* the catalogue is in: users may be written */
	int match;                /* sim_meta describes this very catalogue */
	int analyzed;             /* the ANALYZE that ends the set-up was sent */
	char sig[STORE_SIG_KEYS][STORE_SIG_LEN];
	char *json; /* a persona's JSON */
	size_t jsoncap;
	enum store_err err;
	char msg[PGJOB_MSG_MAX];
};

struct pg_bulkjob {
	struct pgjob job;
	struct pg_prep *prep;
	struct pg_bulk *b;
	struct pgstmt *st;
	int n, cap;
	uint32_t agents; /* users it writes */
};

static void
pg_bulkjob_free(struct pg_bulkjob *x)
{
	int i, c;

	for (i = 0; i < x->n; i++)
		for (c = 0; c < 7; c++)
			pgarr_free(&x->b[i].col[c]);
	free(x->b);
	free(x->st);
	free(x);
}

static struct pg_bulkjob *
pg_bulkjob_new(struct pg_prep *p, int cap, pgjob_done_fn done)
{
	struct pg_bulkjob *x = calloc(1, sizeof(*x));

	if (x == NULL)
		return NULL;
	x->b = calloc((size_t)cap, sizeof(*x->b));
	x->st = calloc((size_t)cap, sizeof(*x->st));
	if (x->b == NULL || x->st == NULL) {
		pg_bulkjob_free(x);
		return NULL;
	}
	x->prep = p;
	x->cap = cap;
	x->job.st = x->st;
	x->job.done = done;
	return x;
}

/* Appends a statement of ncols array parameters; its scalars are set by the caller. */
static struct pg_bulk *
pg_bulk_add(struct pg_bulkjob *x, const char *name, const char *sql, int ncols)
{
	struct pg_bulk *b = &x->b[x->n];
	struct pgstmt *st = &x->st[x->n++];
	int c;

	for (c = 0; c < 7; c++)
		pgarr_init(&b->col[c]);
	b->ncols = ncols;
	st->kind = PGSTMT_PARAMS;
	st->name = name;
	st->sql = sql;
	return b;
}

static void
pg_bulk_scalar(struct pg_bulk *b, long long v)
{
	snprintf(b->scalar[b->nscalars++], sizeof(b->scalar[0]), "%lld", v);
}

/* Points every statement at its finished parameters; -1 out of memory. */
static int
pg_bulk_seal(struct pg_bulkjob *x)
{
	int i, c;

	for (i = 0; i < x->n; i++) {
		struct pg_bulk *b = &x->b[i];

		for (c = 0; c < b->ncols; c++)
			if ((b->params[c] = pgarr_str(&b->col[c])) == NULL)
				return -1;
		for (c = 0; c < b->nscalars; c++)
			b->params[b->ncols + c] = b->scalar[c];
		x->st[i].nparams = b->ncols + b->nscalars;
		x->st[i].params = b->params;
	}
	x->job.n = x->n;
	return 0;
}

static void pg_prep_pump(struct pg_prep *p);

static void
pg_prep_fail(struct pg_prep *p, enum store_err err, const char *msg)
{
	if (p->err != STORE_OK)
		return;
	p->err = err;
	snprintf(p->msg, sizeof(p->msg), "postgres: prepare: %.170s", msg);
}

static void
pg_prep_finish(struct pg_prep *p)
{
	store_done_cb cb = p->cb;
	void *arg = p->arg;
	enum store_err err = p->err;
	char msg[PGJOB_MSG_MAX];

	pgconn_copy(msg, sizeof(msg), p->msg);
	free(p->json);
	free(p);
	cb(err, err == STORE_OK ? NULL : msg, arg);
}

/*
 * What every finished set-up job does first: note a failure (msg may live in
 * the job, so before the job goes), free the job, count it out.
 */
static struct pg_prep *
pg_prep_job_end(struct pgjob *j, enum store_err err, const char *msg)
{
	struct pg_bulkjob *x = (struct pg_bulkjob *)j;
	struct pg_prep *p = x->prep;

	if (err != STORE_OK)
		pg_prep_fail(p, err, msg);
	pg_bulkjob_free(x);
	p->inflight--;
	return p;
}

/* Starts a bulk job, or fails the preparation when it could not be built. */
static void
pg_prep_start(struct pg_prep *p, struct pg_bulkjob *x, int built)
{
	if (x == NULL || built != 0 || pg_bulk_seal(x) != 0) {
		if (x != NULL)
			pg_bulkjob_free(x);
		pg_prep_fail(p, STORE_ERR_NOMEM, "out of memory");
		return;
	}
	p->inflight++;
	pgjobs_start(p->r, &x->job);
}

static void
pg_prep_users_done(struct pgjob *j, enum store_err err, const char *msg)
{
	uint32_t agents = ((struct pg_bulkjob *)j)->agents;
	struct pg_prep *p = pg_prep_job_end(j, err, msg);

	if (err == STORE_OK && p->su.progress != NULL)
		p->su.progress->users_written += agents;
	if (p->ready != NULL && p->err == STORE_OK) {
		struct pg_bulkjob *x = p->ready;

		p->ready = NULL;
		pg_prep_start(p, x, 0);
	}
	pg_prep_pump(p);
}

static int
pg_prep_user(struct pg_prep *p, struct pg_bulk *u, struct pg_bulk *w, uint32_t a)
{
	const struct persona *pe = &p->su.personas[a];
	uint32_t wallet[CATALOG_WALLET];
	char id[STORE_AGENT_ID_MAX], name[PERSONA_NAME_MAX + 1];
	int i, rc;

	store_agent_id(id, sizeof(id), a);
	snprintf(name, sizeof(name), "%.*s", (int)strnlen(pe->name, sizeof(pe->name)), pe->name);
	rc = store_persona_json(pe, &p->json, &p->jsoncap) < 0 ||
	    pgarr_add_int(&u->col[0], (int64_t)a + 1) || pgarr_add_text(&u->col[1], id) ||
	    pgarr_add_text(&u->col[2], name) || pgarr_add_text(&u->col[3], p->json);
	catalog_wallet(p->su.catalog, a, wallet);
	for (i = 0; i < CATALOG_WALLET && rc == 0; i++)
		if (wallet[i] != 0)
			rc = pgarr_add_int(&w->col[0], (int64_t)a + 1) ||
			    pgarr_add_int(&w->col[1], wallet[i]);
	return rc ? -1 : 0;
}

/* A new chunk of users and their wallets, PG_CHUNK at most: one pipeline, one transaction. */
static int
pg_prep_chunk_new(struct pg_prep *p)
{
	struct pg_bulkjob *x = pg_bulkjob_new(p, 2, pg_prep_users_done);

	if (x == NULL)
		return -1;
	pg_bulk_scalar(
	    pg_bulk_add(x, "users", pgsql_users_put, 4), (long long)p->su.catalog->sim_start);
	pg_bulk_add(x, "wallets", pgsql_wallets_put, 2);
	p->cur = x;
	p->cur_end = p->next + PG_CHUNK;
	if (p->cur_end > p->su.nagents || p->cur_end < p->next)
		p->cur_end = p->su.nagents;
	return 0;
}

/* Adds PG_SLICE users at most to the chunk being built; starts it once it is whole. */
static void
pg_prep_slice(struct pg_prep *p)
{
	struct pg_bulkjob *x;
	uint32_t first = p->next, end;
	int rc = 0;

	if (p->cur == NULL && pg_prep_chunk_new(p) != 0) {
		pg_prep_fail(p, STORE_ERR_NOMEM, "out of memory");
		return;
	}
	x = p->cur;
	end = p->cur_end - first > PG_SLICE ? first + PG_SLICE : p->cur_end;
	for (; p->next < end && rc == 0; p->next++)
		rc = pg_prep_user(p, &x->b[0], &x->b[1], p->next);
	x->agents += p->next - first;
	if (rc != 0 || p->next >= p->cur_end) {
		p->cur = NULL;
		if (rc == 0 && p->inflight >= p->parallel)
			p->ready = x; /* goes when a chunk in flight is done */
		else
			pg_prep_start(p, x, rc);
	}
}

static void pg_prep_resume(enum store_err err, const char *msg, void *arg);

/* Whether users are left to build and there is room for them: a chunk open, or one more. */
static int
pg_prep_can_build(const struct pg_prep *p)
{
	return p->err == STORE_OK && p->next < p->su.nagents &&
	    (p->cur != NULL || p->ready == NULL);
}

static void
pg_prep_analyze_done(struct pgjob *j, enum store_err err, const char *msg)
{
	pg_prep_pump(pg_prep_job_end(j, err, msg));
}

static void
pg_prep_analyze(struct pg_prep *p)
{
	struct pg_bulkjob *x = pg_bulkjob_new(p, 1, pg_prep_analyze_done);

	p->analyzed = 1;
	if (x != NULL)
		pg_bulk_add(x, "analyze", pgsql_analyze, 0);
	pg_prep_start(p, x, 0);
}

/* Users go on: a slice this turn, and the next turn queued while there is more to do. */
static void
pg_prep_pump(struct pg_prep *p)
{
	if (p->users && !p->resuming && pg_prep_can_build(p)) {
		pg_prep_slice(p);
		if (pg_prep_can_build(p)) {
			p->resuming = 1;
			pgjobs_done_later(p->r, pg_prep_resume, p, STORE_OK, NULL);
			return;
		}
	}
	if (p->inflight == 0 && !p->resuming &&
	    (p->err != STORE_OK || (p->users && p->next >= p->su.nagents))) {
		if (p->err == STORE_OK && !p->analyzed) { /* every row is in: the last step */
			pg_prep_analyze(p);
			if (p->inflight > 0)
				return;
		}
		if (p->cur != NULL) /* a failure stopped the chunk being built */
			pg_bulkjob_free(p->cur);
		if (p->ready != NULL) /* or the one waiting to go */
			pg_bulkjob_free(p->ready);
		pg_prep_finish(p);
	}
}

static void
pg_prep_resume(enum store_err err, const char *msg, void *arg)
{
	struct pg_prep *p = arg;

	p->resuming = 0;
	if (err != STORE_OK)
		pg_prep_fail(p, err, msg);
	pg_prep_pump(p);
}

static void
pg_prep_catalog_done(struct pgjob *j, enum store_err err, const char *msg)
{
	struct pg_prep *p = pg_prep_job_end(j, err, msg);

	p->users = 1;
	if (err == STORE_OK && p->su.progress != NULL)
		p->su.progress->catalog_written = 1;
	pg_prep_pump(p);
}

static int
pg_prep_stores(struct pg_bulkjob *x, const struct catalog *c)
{
	struct pg_bulk *b = NULL;
	char name[32];
	uint32_t i;
	int rc = 0;

	for (i = 1; i <= c->nstores && rc == 0; i++) {
		if ((i - 1) % PG_CHUNK == 0)
			b = pg_bulk_add(x, "stores", pgsql_stores_put, 2);
		catalog_store_name(name, sizeof(name), i);
		rc = pgarr_add_int(&b->col[0], i) || pgarr_add_text(&b->col[1], name);
	}
	return rc;
}

static int
pg_prep_products(struct pg_bulkjob *x, const struct catalog *c)
{
	struct pg_bulk *b = NULL;
	char name[sizeof(c->products[0].name) + 1];
	uint32_t i;
	int rc = 0;

	for (i = 0; i < c->nproducts && rc == 0; i++) {
		const struct product *pr = &c->products[i];

		if (i % PG_CHUNK == 0)
			b = pg_bulk_add(x, "products", pgsql_products_put, 5);
		snprintf(
		    name, sizeof(name), "%.*s", (int)strnlen(pr->name, sizeof(pr->name)), pr->name);
		rc = pgarr_add_int(&b->col[0], pr->id) || pgarr_add_int(&b->col[1], pr->store_id) ||
		    pgarr_add_text(
			&b->col[2], catalog_category_names[pr->category % CATALOG_CATEGORIES]) ||
		    pgarr_add_text(&b->col[3], name) || pgarr_add_int(&b->col[4], pr->price_cents);
	}
	return rc;
}

static int
pg_prep_coupons(struct pg_bulkjob *x, const struct catalog *c)
{
	struct pg_bulk *b = NULL;
	char code[32];
	uint32_t i;
	int rc = 0;

	for (i = 0; i < c->ncoupons && rc == 0; i++) {
		const struct coupon *cp = &c->coupons[i];

		if (i % PG_CHUNK == 0)
			b = pg_bulk_add(x, "coupons", pgsql_coupons_put, 7);
		catalog_coupon_code(code, sizeof(code), cp);
		rc = pgarr_add_int(&b->col[0], cp->id) || pgarr_add_int(&b->col[1], cp->store_id) ||
		    pgarr_add_text(&b->col[2], code) || pgarr_add_int(&b->col[3], cp->pct_off) ||
		    pgarr_add_int(&b->col[4], cp->min_spend_cents) ||
		    pgarr_add_int(&b->col[5], cp->valid_from) ||
		    pgarr_add_int(&b->col[6], cp->valid_to);
	}
	return rc;
}

static int
pg_prep_meta_put(struct pg_prep *p, struct pg_bulkjob *x)
{
	struct pg_bulk *b = pg_bulk_add(x, "sim_meta", pgsql_meta_put, 2);
	int i, rc = 0;

	for (i = 0; i < STORE_SIG_KEYS && rc == 0; i++)
		rc = pgarr_add_text(&b->col[0], store_sig_keys[i]) ||
		    pgarr_add_text(&b->col[1], p->sig[i]);
	return rc;
}

static int
pg_chunks(uint32_t n)
{
	return (int)((n + PG_CHUNK - 1) / PG_CHUNK);
}

/* A different catalogue (or none): old rows out, new rows in, signature last. */
static void
pg_prep_catalog(struct pg_prep *p)
{
	const struct catalog *c = p->su.catalog;
	int n = 8 + pg_chunks(c->nstores) + pg_chunks(c->nproducts) + pg_chunks(c->ncoupons);
	struct pg_bulkjob *x = pg_bulkjob_new(p, n, pg_prep_catalog_done);
	int rc;

	if (x == NULL) {
		pg_prep_start(p, NULL, -1);
		return;
	}
	pg_bulk_add(x, "begin", "BEGIN", 0);
	pg_bulk_scalar(pg_bulk_add(x, "products", pgsql_products_trim, 0), c->nproducts);
	pg_bulk_add(x, "wallets", pgsql_wallets_reset, 0);
	pg_bulk_scalar(pg_bulk_add(x, "coupons", pgsql_coupons_trim, 0), c->ncoupons);
	rc = pg_prep_stores(x, c) || pg_prep_products(x, c) || pg_prep_coupons(x, c);
	pg_bulk_scalar(pg_bulk_add(x, "stores", pgsql_stores_trim, 0), c->nstores);
	rc = rc || pg_prep_meta_put(p, x);
	pg_bulk_add(x, "commit", "COMMIT", 0);
	pg_prep_start(p, x, rc);
}

static void
pg_prep_meta_row(struct pgjob *j, int idx, const PGresult *r)
{
	struct pg_prep *p = ((struct pg_bulkjob *)j)->prep;
	int row, i, found = 0;

	if (PQnfields(r) != 2)
		return; /* match stays 0: the catalogue is rewritten */
	for (row = 0; row < PQntuples(r); row++)
		for (i = 0; i < STORE_SIG_KEYS; i++)
			if (strcmp(PQgetvalue(r, row, 0), store_sig_keys[i]) == 0 &&
			    strcmp(PQgetvalue(r, row, 1), p->sig[i]) == 0)
				found++;
	p->match = found == STORE_SIG_KEYS;
}

static void
pg_prep_meta_done(struct pgjob *j, enum store_err err, const char *msg)
{
	struct pg_prep *p = pg_prep_job_end(j, err, msg);

	if (err == STORE_OK && !p->match && !p->su.catalog_external)
		pg_prep_catalog(p);
	p->users = p->match || p->su.catalog_external; /* the shop's own: not written */
	if (p->users && p->su.progress != NULL)
		p->su.progress->catalog_written = 1;
	pg_prep_pump(p);
}

unsigned
pgsetup_parallel(int local)
{
	return local ? 1 : PG_PREP_PARALLEL;
}

void
pgsetup_run(struct pgjobs *r, const struct store_setup *su, int local, store_done_cb cb, void *arg)
{
	struct pg_prep *p;
	struct pg_bulkjob *x;

	if (su == NULL || su->catalog == NULL || (su->nagents > 0 && su->personas == NULL)) {
		pgjobs_done_later(
		    r, cb, arg, STORE_ERR_QUERY, "postgres: prepare: no catalogue or no personas");
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		pgjobs_done_later(r, cb, arg, STORE_ERR_NOMEM, "postgres: prepare: out of memory");
		return;
	}
	p->r = r;
	p->parallel = pgsetup_parallel(local);
	p->su = *su;
	p->cb = cb;
	p->arg = arg;
	store_catalog_signature(p->su.catalog, p->sig);
	x = pg_bulkjob_new(p, 1, pg_prep_meta_done);
	if (x != NULL) {
		pg_bulk_add(x, "sim_meta", pgsql_meta_get, 0);
		x->job.result = pg_prep_meta_row;
	}
	pg_prep_start(p, x, 0);
	if (p->inflight == 0) { /* nothing started: complete from the loop */
		pgjobs_done_later(r, cb, arg, p->err, p->msg);
		free(p);
	}
}
