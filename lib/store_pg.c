/*
 * store_pg.c - the PostgreSQL store driver.
 *
 * open() validates the URL and migrates on a private loop (pgsync), the one
 * place that waits; after that every operation is a job: a connection from the
 * pool (pgpool), the op's statements sent in one pipeline (pgconn), the
 * connection released, op->cb called from the loop.  An op's events go to the
 * batcher once its own writes have committed, so an event row never points at
 * a session that is not there.  Multi-statement writes run between BEGIN and
 * COMMIT in that same pipeline: one round trip, one transaction.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/pgbatch.h"
#include "sim/pgbulk.h"
#include "sim/catalog.h"
#include "sim/log.h"
#include "sim/pgconn.h"
#include "sim/pgfence.h"
#include "sim/pgjob.h"
#include "sim/pgkeys.h"
#include "sim/pgpool.h"
#include "sim/pgsetup.h"
#include "sim/pgsql.h"
#include "sim/store.h"

#define PG_MSG_MAX PGJOB_MSG_MAX
#define PG_OP_STMTS 9 /* the longest op: a fenced checkout with a coupon */
#define PG_OP_PARAMS 40
#define PG_ARR_LEN (STORE_MAX_ITEMS * 12 + 4)
#define PG_KEY_MAX 96
#define PG_PAYLOAD_MAX 128
/*
 * Event batches written at once: 2 while the run goes on (more took
 * connections from the sessions: -30 % sessions/s locally); a quarter of the
 * pool while a flush is awaited, or over a slow link the events of a cycle
 * trailed its sessions by many seconds.
 */
#define PG_BATCH_INFLIGHT 2
/* Seconds the client timer waits beyond statement_timeout for the server's own answer. */
#define PG_CLIENT_GRACE 0.5

struct pg_store {
	struct store pub;
	struct event_base *base;
	char *conninfo;
	char where[100];   /* host:port/dbname: never the password */
	char hostaddr[64]; /* the server's address, looked up once at open */
	int local;         /* the server is on this machine (pgsync_local), as seen at open */
	struct pgconn_opts copts;
	struct pgpool *pool;
	struct pgjobs *jobs;
	struct pgbatch *batcher;
	struct pgbulk *bulk;                      /* write_mode = bulk: the rows of many sessions */
	int bulk_on;                              /* the run's write mode is bulk */
	uint32_t browse_rows[CATALOG_CATEGORIES]; /* bulk: what BROWSE would read, per category */
	int named;                                /* pg_prepared: named statements */
	int pipeline;                             /* pg_pipeline: sessions' steps in chains */
	uint64_t step_waits;                      /* round trips of sessions' steps */
	unsigned queue_max;                       /* event_queue_max */
	char settings[64];                        /* SET statement_timeout, server-side */
	struct pgstmt init[PGSQL_NSTMTS + 1];     /* run on each new connection */
	struct pgfence fence;                     /* store_set_fence */
	store_fenced_fn fenced_fn;                /* store_on_fenced */
	void *fenced_arg;
	store_done_cb prep_cb; /* the prepare() running, if any */
	void *prep_arg;
	int preparing;
	int closed;
};

/* ---- operations ---- */

struct pg_opjob {
	struct pgjob job;
	struct pg_store *s;
	struct store_op *op;
	struct pgstmt st[PG_OP_STMTS];
	const char *pv[PG_OP_PARAMS];
	int npv;
	int count_idx;  /* the statement result_count comes from */
	int count_rows; /* rows returned (else rows affected) */
	int chained;    /* in a chain: reads too between BEGIN and COMMIT */
	int events_in;  /* its events went in with the chain's last step */
	struct pgfence_val fence;
	char bad[PG_MSG_MAX]; /* an answer we cannot accept */
	char user[24], at[24], coupon[16], total[24];
	char session_key[PG_KEY_MAX], idem[PG_KEY_MAX];
	char arr[4][PG_ARR_LEN]; /* store ids, product ids, quantities, unit prices */
};

/*
 * Statement id with n parameters: the connection's prepared statement, or
 * (pg_prepared = no, or a connection that prepared nothing) the same text as
 * an unnamed statement, which lives only until the next one and so never
 * outlives the transaction a pooler lent.
 */
static void
pg_stmt_as(int named, struct pgstmt *st, enum pgsql_stmt id, int n)
{
	st->kind = named ? PGSTMT_PREPARED : PGSTMT_PARAMS;
	st->name = pgsql_prepare[id].name;
	st->sql = named ? NULL : pgsql_prepare[id].sql;
	st->nparams = n;
}

static void
pg_stmt(const struct pg_store *s, struct pgstmt *st, enum pgsql_stmt id, int n)
{
	pg_stmt_as(s->named, st, id, n);
}

/* Adds statement id with its n text parameters. */
static void
pg_add(struct pg_opjob *x, enum pgsql_stmt id, int n, ...)
{
	struct pgstmt *st = &x->st[x->job.n++];
	va_list ap;
	int i;

	pg_stmt(x->s, st, id, n);
	st->params = &x->pv[x->npv];
	va_start(ap, n);
	for (i = 0; i < n; i++)
		x->pv[x->npv++] = va_arg(ap, const char *);
	va_end(ap);
}

/* Whether a later line of the op has the same store and product (the later one wins). */
static int
pg_item_superseded(const struct store_op *op, uint16_t i)
{
	uint16_t k;

	for (k = i + 1; k < op->nitems; k++)
		if (op->items[k].product_id == op->items[i].product_id &&
		    op->items[k].store_id == op->items[i].store_id)
			return 1;
	return 0;
}

/* The item columns as array literals; dedup drops superseded lines (cart upserts). */
static void
pg_item_arrays(struct pg_opjob *x, int dedup)
{
	const struct store_op *op = x->op;
	size_t len[4] = { 0, 0, 0, 0 };
	int col, first = 1;
	uint16_t i;

	for (col = 0; col < 4; col++)
		x->arr[col][len[col]++] = '{';
	for (i = 0; i < op->nitems; i++) {
		const struct store_item *it = &op->items[i];
		unsigned long v[4] = { it->store_id, it->product_id, it->quantity,
			it->price_cents };

		if (dedup && pg_item_superseded(op, i))
			continue;
		for (col = 0; col < 4; col++)
			len[col] += (size_t)snprintf(x->arr[col] + len[col], PG_ARR_LEN - len[col],
			    "%s%lu", first ? "" : ",", v[col]);
		first = 0;
	}
	for (col = 0; col < 4; col++)
		snprintf(x->arr[col] + len[col], PG_ARR_LEN - len[col], "}");
}

/* A write transaction opens: BEGIN, then the fence's check when one is set. */
static void
pg_add_begin(struct pg_opjob *x)
{
	pg_add(x, PGSQL_BEGIN, 0);
	if (x->fence.on)
		pgfence_stmt(&x->fence, x->s->named, &x->st[x->job.n++]);
}

/*
 * A write of one statement is a transaction of its own; fenced, it needs
 * BEGIN and COMMIT around it and the check, or (one statement at a time, with
 * no pipeline) the check would be a transaction apart from it.
 */
static void
pg_single_open(struct pg_opjob *x)
{
	if (x->fence.on)
		pg_add_begin(x);
}

static void
pg_single_close(struct pg_opjob *x)
{
	if (x->fence.on)
		pg_add(x, PGSQL_COMMIT, 0);
}

static void
pg_build_begin(struct pg_opjob *x)
{
	pg_add_begin(x);
	x->count_idx = x->job.n;
	pg_add(x, PGSQL_SESS_BEGIN, 3, x->session_key, x->user, x->at);
	pg_add(x, PGSQL_USER_SHOPPED, 2, x->user, x->at);
	pg_add(x, PGSQL_COMMIT, 0);
}

static void
pg_build_cart(struct pg_opjob *x)
{
	pg_item_arrays(x, 1);
	pg_add_begin(x);
	pg_add(x, PGSQL_CART_TRIM, 2, x->user, x->arr[1]);
	pg_add(x, PGSQL_CART_SET, 6, x->user, x->at, x->arr[0], x->arr[1], x->arr[2], x->arr[3]);
	pg_add(x, PGSQL_COMMIT, 0);
	x->op->result_count = x->op->nitems;
}

static void
pg_build_checkout(struct pg_opjob *x)
{
	const struct store_op *op = x->op;

	store_order_key(x->idem, sizeof(x->idem), op);
	snprintf(x->coupon, sizeof(x->coupon), "%lu", (unsigned long)op->coupon_id);
	snprintf(x->total, sizeof(x->total), "%lu", (unsigned long)op->total_cents);
	pg_item_arrays(x, 0);
	pg_add_begin(x);
	x->count_idx = x->job.n;
	pg_add(x, PGSQL_ORDER, 6, x->idem, x->user, x->session_key, x->coupon, x->total, x->at);
	pg_add(x, PGSQL_ORDER_ITEMS, 4, x->idem, x->arr[1], x->arr[2], x->arr[3]);
	pg_add(x, PGSQL_INTERACTIONS, 4, x->idem, x->user, x->at, x->arr[1]);
	if (op->coupon_id != 0)
		pg_add(x, PGSQL_REDEEM, 4, x->user, x->coupon, x->at, x->idem);
	pg_add(x, PGSQL_CART_CLEAR, 1, x->user);
	pg_add(x, PGSQL_SESS_END, 3, x->session_key, x->at, "ordered");
	pg_add(x, PGSQL_COMMIT, 0);
}

/*
 * A read with ncols columns a row.  In a chain it is a transaction of its own
 * too: when it fails, the connection stays in the aborted transaction, so the
 * session's later steps, already sent, fail on the server instead of landing.
 */
static void
pg_build_read(struct pg_opjob *x, int ncols)
{
	if (x->chained)
		pg_add(x, PGSQL_BEGIN, 0);
	x->count_idx = x->job.n;
	x->count_rows = ncols;
}

static void
pg_build_read_end(struct pg_opjob *x)
{
	if (x->chained)
		pg_add(x, PGSQL_COMMIT, 0);
}

/* A step whose shop part went through the API and that ends no session: events only. */
static int
pg_records_only_none(const struct store_op *op)
{
	return op->records_only &&
	    (op->type == STORE_OP_BROWSE || op->type == STORE_OP_CART ||
		op->type == STORE_OP_COUPONS);
}

static void
pg_build(struct pg_opjob *x)
{
	struct store_op *op = x->op;

	x->count_idx = -1;
	if (op->records_only && op->type == STORE_OP_CHECKOUT) {
		pg_single_open(x);
		pg_add(x, PGSQL_SESS_END, 3, x->session_key, x->at, "ordered");
		pg_single_close(x);
		return;
	}
	switch (op->type) {
	case STORE_OP_BEGIN: pg_build_begin(x); break;
	case STORE_OP_BROWSE:
		pg_build_read(x, 2);
		pg_add(x, PGSQL_BROWSE, 1, catalog_category_names[op->category]);
		pg_build_read_end(x);
		break;
	case STORE_OP_CART: pg_build_cart(x); break;
	case STORE_OP_COUPONS:
		pg_build_read(x, 3);
		pg_add(x, PGSQL_COUPONS, 2, x->user, x->at);
		pg_build_read_end(x);
		break;
	case STORE_OP_CHECKOUT: pg_build_checkout(x); break;
	case STORE_OP_FAIL:
		snprintf(x->total, sizeof(x->total), "%lld", (long long)op->started);
		pg_single_open(x);
		pg_add(x, PGSQL_SESS_FAIL, 5, x->session_key, x->user, x->total, x->at, op->reason);
		pg_single_close(x);
		break;
	default:
		pg_single_open(x);
		pg_add(x, PGSQL_SESS_END, 3, x->session_key, x->at, op->outcome);
		pg_single_close(x);
		break;
	}
}

/* Every column of every row must be a positive integer: what BROWSE and COUPONS read. */
static int
pg_rows_ok(const PGresult *r, int ncols)
{
	int row, col;

	if (PQnfields(r) != ncols)
		return 0;
	for (row = 0; row < PQntuples(r); row++)
		for (col = 0; col < ncols; col++) {
			const char *v = PQgetvalue(r, row, col);
			char *end;

			if (PQgetisnull(r, row, col) || strtoll(v, &end, 10) < 0 || *end != '\0' ||
			    end == v)
				return 0;
		}
	return 1;
}

static void
pg_op_result(struct pgjob *j, int idx, const PGresult *r)
{
	struct pg_opjob *x = (struct pg_opjob *)j;
	const char *n;
	char *end;

	if (PQresultStatus(r) == PGRES_COMMAND_OK) { /* rows a write changed */
		n = PQcmdTuples((PGresult *)r);
		x->op->rows += (uint32_t)strtoul(n, &end, 10);
	}
	if (idx != x->count_idx)
		return;
	if (x->count_rows > 0) {
		if (!pg_rows_ok(r, x->count_rows))
			snprintf(
			    x->bad, sizeof(x->bad), "unexpected rows from %s", x->st[idx].name);
		else
			x->op->result_count = (uint32_t)PQntuples(r);
		return;
	}
	n = PQcmdTuples((PGresult *)r);
	x->op->result_count = (uint32_t)strtoul(n, &end, 10);
	if (*n == '\0' || *end != '\0')
		snprintf(x->bad, sizeof(x->bad), "no row count from %s", x->st[idx].name);
}

/* Event ev of op as a row, its strings in key and payload (PG_KEY_MAX, PG_PAYLOAD_MAX). */
static void
pg_event_row(struct pgbatch_row *row, const struct store_op *op, const struct store_event *ev,
    const char *session_key, char *key, char *payload)
{
	store_event_key(key, PG_KEY_MAX, op, ev);
	store_event_payload(payload, PG_PAYLOAD_MAX, ev);
	row->key = key;
	row->session_key = session_key;
	row->user_id = op->agent + 1;
	row->type = store_event_name(ev->type);
	row->payload = payload;
	row->created = op->sim_time + ev->dt;
}

/*
 * The op's events are staged now that its writes are in (unless written is
 * set: they went in with them), and a session's end releases what its steps
 * staged into a batch together (see pgbatch_stage).
 */
static int
pg_op_events(struct pg_store *s, const struct store_op *op, const char *session_key, int written)
{
	char key[PG_KEY_MAX], payload[PG_PAYLOAD_MAX];
	struct pgbatch_row row;
	uint16_t i;

	for (i = 0; i < op->nevents && !written; i++) {
		pg_event_row(&row, op, &op->events[i], session_key, key, payload);
		if (pgbatch_stage(s->batcher, op->agent, &row) != 0)
			return -1;
	}
	/* the batch fills across sessions: full, on the interval or on flush it goes */
	if (op->type == STORE_OP_CHECKOUT || op->type == STORE_OP_ABANDON ||
	    op->type == STORE_OP_FAIL)
		return pgbatch_release(s->batcher, op->agent);
	return 0;
}

/*
 * A job that carried fence v ended with err: when that was the server refusing
 * the generation in force, the store is fenced -- what it holds for the run is
 * dropped, and whoever asked is told.  A refusal of an older fence (a new
 * generation was set since) is a write to try again under the new one: the
 * error returned is then STORE_ERR_BUSY (*msg says why), else err.
 */
static enum store_err
pg_fence_note(struct pg_store *s, const struct pgfence_val *v, enum store_err err, const char **msg)
{
	const char *why;

	if (pgfence_stale(&s->fence, v, err)) {
		*msg = "refused under an older fence; to be tried again under the new one";
		return STORE_ERR_BUSY;
	}
	if (s->closed || !pgfence_note(&s->fence, v, err, *msg))
		return err;
	why = pgfence_refused(&s->fence);
	log_warnx("postgres: %s; the run's writes stop here", why);
	pgbatch_fence(s->batcher, why);
	pgbulk_fence(s->bulk, why);
	if (s->fenced_fn != NULL)
		s->fenced_fn(why, s->fenced_arg);
	return err;
}

static void
pg_op_fail(struct store_op *op, enum store_err err, const char *msg)
{
	op->err = err;
	snprintf(op->errmsg, sizeof(op->errmsg), "postgres: %s: %.220s", store_op_name(op->type),
	    msg != NULL && msg[0] != '\0' ? msg : store_err_name(err));
}

static void
pg_op_done(struct pgjob *j, enum store_err err, const char *msg)
{
	struct pg_opjob *x = (struct pg_opjob *)j;
	struct store_op *op = x->op;

	if (err == STORE_OK && x->bad[0] != '\0') {
		err = STORE_ERR_DATA;
		msg = x->bad;
	}
	x->s->step_waits += (uint64_t)j->waits;
	err = pg_fence_note(x->s, &x->fence, err, &msg);
	if (err == STORE_OK)
		op->rows += op->nevents; /* written with the chain, or the batcher has them */
	if (err == STORE_OK && !x->s->closed &&
	    pg_op_events(x->s, op, x->session_key, x->events_in) != 0) {
		err = STORE_ERR_NOMEM;
		msg = "out of memory queueing events";
	}
	if (err != STORE_OK)
		pg_op_fail(op, err, msg);
	free(x);
	if (op->cb != NULL)
		op->cb(op, op->arg);
}

/* The one completion that cannot wait for the loop: there is no memory to park it. */
static void
pg_op_nomem(struct store_op *op)
{
	pg_op_fail(op, STORE_ERR_NOMEM, "out of memory");
	if (op->cb != NULL)
		op->cb(op, op->arg);
}

/* ---- write_mode = bulk (pgbulk.h) ---- */

/* What the realistic BROWSE reads at most (PGSQL_BROWSE's LIMIT). */
#define PG_BROWSE_LIMIT 50

struct pg_bulkop {
	struct pgjob job;
	struct store_op *op;
	uint32_t rows;
};

static void
pg_bulk_done(struct pgjob *j, enum store_err err, const char *msg)
{
	struct pg_bulkop *x = (struct pg_bulkop *)j;
	struct store_op *op = x->op;

	if (err != STORE_OK)
		pg_op_fail(op, err, msg);
	else
		op->rows = x->rows; /* the rows it carries: counted as sent */
	free(x);
	if (op->cb != NULL)
		op->cb(op, op->arg);
}

/*
 * The op's rows join a batch and it completes from the loop.  Reads, which
 * write nothing, are not sent: a browse sees the products the set-up wrote.
 */
static void
pg_bulk_submit(struct pg_store *s, struct store_op *op)
{
	struct pg_bulkop *x = calloc(1, sizeof(*x));
	char key[PG_KEY_MAX];
	int rc;

	if (x == NULL) {
		pg_op_nomem(op);
		return;
	}
	x->op = op;
	x->job.done = pg_bulk_done;
	if (op->type == STORE_OP_BROWSE && !op->records_only)
		op->result_count = s->browse_rows[op->category];
	store_session_key(key, sizeof(key), op);
	rc = pgbulk_add(s->bulk, op, key, &x->rows);
	pgjobs_later(s->jobs, &x->job, rc == 0 ? STORE_OK : STORE_ERR_NOMEM,
	    rc == 0 ? "" : "out of memory queueing rows");
}

/* The run's write mode, from its set-up. */
static void
pg_bulk_setup(struct pg_store *s, const struct store_setup *su)
{
	s->bulk_on = su->bulk;
	for (int k = 0; k < CATALOG_CATEGORIES; k++)
		s->browse_rows[k] = su->catalog == NULL           ? 0
		    : su->catalog->ncategory[k] < PG_BROWSE_LIMIT ? su->catalog->ncategory[k]
								  : PG_BROWSE_LIMIT;
}

struct pg_bulkjob {
	struct pgjob job;
	struct pg_store *s;
	struct pgbulk_batch *bt;
	struct pgfence_val fence;
	struct pgstmt *fenced; /* the batch's statements with the fence's check, or NULL */
};

static void
pg_bulk_written(struct pgjob *j, enum store_err err, const char *msg)
{
	struct pg_bulkjob *x = (struct pg_bulkjob *)j;
	char line[PG_MSG_MAX + 32];

	err = pg_fence_note(x->s, &x->fence, err, &msg);
	if (!x->s->closed) { /* at close the batch was taken back: see pg_close */
		if (err != STORE_OK) {
			snprintf(line, sizeof(line), "postgres: bulk: %s", msg);
			log_debug("%s", line);
		}
		pgbulk_written(x->s->bulk, x->bt, err, err != STORE_OK ? line : NULL);
	}
	free(x->fenced);
	free(x);
}

static void
pg_bulk_write(struct pgbulk *b, struct pgbulk_batch *bt, void *arg)
{
	struct pg_store *s = arg;
	struct pg_bulkjob *x = calloc(1, sizeof(*x));

	if (x == NULL) {
		pgbulk_written(b, bt, STORE_ERR_NOMEM, "postgres: bulk: out of memory");
		return;
	}
	x->s = s;
	x->bt = bt;
	x->job.st = pgbulk_stmts(bt, &x->job.n);
	x->job.done = pg_bulk_written;
	if (pgfence_take(&s->fence, &x->fence) &&
	    (x->job.st = x->fenced = pgfence_wrap(x->job.st, x->job.n++, &x->fence, s->named)) ==
		NULL) {
		free(x);
		pgbulk_written(b, bt, STORE_ERR_NOMEM, "postgres: bulk: out of memory");
		return;
	}
	pgjobs_start(s->jobs, &x->job);
}

/* A flush waits for the bulk batches, then for the event batcher. */
struct pg_flushjob {
	struct pg_store *s;
	store_done_cb cb;
	void *arg;
};

static void
pg_bulk_flushed(enum store_err err, const char *msg, void *arg)
{
	struct pg_flushjob *f = arg;
	struct pg_store *s = f->s;
	store_done_cb cb = f->cb;
	void *cb_arg = f->arg;

	free(f);
	if (err != STORE_OK || s->closed)
		cb(err, msg, cb_arg);
	else
		pgbatch_flush(s->batcher, cb, cb_arg);
}

/*
 * A job for op, its statements built (NULL when memory ran out: op is then
 * completed).  *bad says why op cannot run, if it cannot; *none that it has
 * no statement (events only).
 */
static struct pg_opjob *
pg_opjob_new(struct pg_store *s, struct store_op *op, int chained, const char **bad, int *none)
{
	struct pg_opjob *x = calloc(1, sizeof(*x));

	op->err = STORE_OK;
	op->errmsg[0] = '\0';
	op->result_count = 0;
	op->rows = 0;
	*bad = NULL;
	*none = 0;
	if (x == NULL)
		return NULL;
	x->op = op;
	x->s = s;
	x->chained = chained;
	x->job.st = x->st;
	x->job.result = pg_op_result;
	x->job.done = pg_op_done;
	pgfence_take(&s->fence, &x->fence);
	if ((*bad = store_op_invalid(op)) != NULL)
		return x;
	store_session_key(x->session_key, sizeof(x->session_key), op);
	snprintf(x->user, sizeof(x->user), "%lu", (unsigned long)op->agent + 1);
	snprintf(x->at, sizeof(x->at), "%lld", (long long)op->sim_time);
	if (pg_records_only_none(op))
		*none = 1;
	else
		pg_build(x);
	return x;
}

static void
pg_submit(struct store *st, struct store_op *op)
{
	struct pg_store *s = st->priv;
	struct pg_opjob *x;
	const char *bad, *fenced = pgfence_refused(&s->fence);
	int none;

	if (s->bulk_on && !s->closed && fenced == NULL && store_op_invalid(op) == NULL) {
		op->err = STORE_OK;
		op->errmsg[0] = '\0';
		op->result_count = 0;
		op->rows = 0;
		pg_bulk_submit(s, op);
		return;
	}
	if ((x = pg_opjob_new(s, op, 0, &bad, &none)) == NULL)
		pg_op_nomem(op);
	else if (s->closed)
		pgjobs_later(s->jobs, &x->job, STORE_ERR_CLOSED, "store closed");
	else if (fenced != NULL) /* written by nobody: the shard is another's now */
		pgjobs_later(s->jobs, &x->job, STORE_ERR_FENCED, fenced);
	else if (bad != NULL)
		pgjobs_later(s->jobs, &x->job, STORE_ERR_QUERY, bad);
	else if (none) /* nothing but events: staged when it completes */
		pgjobs_later(s->jobs, &x->job, STORE_OK, "");
	else
		pgjobs_start(s->jobs, &x->job);
}

/* ---- chains: a session's steps in one pipeline ---- */

#define PG_CHAIN_STMTS (STORE_CHAIN_MAX * PG_OP_STMTS + 1) /* + the events */
#define PG_EV_ARRAYS 4                                     /* PGSQL_SESS_EVENTS's arrays ... */
#define PG_EV_PARAMS 6                                     /* ... among its parameters */

struct pg_chainjob {
	struct pgjob job;
	struct pg_store *s;
	unsigned n;                           /* ops built */
	struct pg_opjob *x[STORE_CHAIN_MAX];  /* NULL: out of memory */
	struct store_op *op[STORE_CHAIN_MAX]; /* all the chain's ops, n and after */
	unsigned nops;
	int start[STORE_CHAIN_MAX + 1]; /* op i's statements: start[i]..start[i+1]-1 */
	enum store_err stop;            /* why op n cannot run, if one cannot */
	char why[PG_MSG_MAX];
	int ev_idx;                    /* the events' statement (PGSQL_SESS_EVENTS), or -1 */
	unsigned ev_op;                /* the op whose transaction it is in */
	struct pgarr ev[PG_EV_ARRAYS]; /* its arrays: keys, types, payloads, times */
	const char *evp[PG_EV_PARAMS];
	struct pgstmt st[PG_CHAIN_STMTS];
	unsigned char sync[PG_CHAIN_STMTS]; /* after each op's last statement */
};

static void
pg_chain_result(struct pgjob *j, int idx, const PGresult *r)
{
	struct pg_chainjob *c = (struct pg_chainjob *)j;
	unsigned i = 0;

	if (idx == c->ev_idx) /* the steps' events: each op counts its own */
		return;
	while (i + 1 < c->n && idx >= c->start[i + 1])
		i++;
	pg_op_result(&c->x[i]->job, idx - c->start[i] - (c->ev_idx >= 0 && idx > c->ev_idx), r);
}

/* Op i of a chain that failed earlier: not run, or run and to be run again. */
static void
pg_chain_skip(struct store_op *op, enum store_err err)
{
	pg_op_fail(op, err, "not done: an earlier step of the session failed");
	if (op->cb != NULL)
		op->cb(op, op->arg);
}

/*
 * The ops whose transactions all came back complete in order (a read also
 * checked here, so that a session that failed at it stages no later event);
 * the first one that did not gets the error, the rest are skipped.
 */
static void
pg_chain_done(struct pgjob *j, enum store_err err, const char *msg)
{
	struct pg_chainjob *c = (struct pg_chainjob *)j;
	enum store_err first = STORE_OK;
	char bad[80];
	unsigned i;
	int evin = c->ev_idx >= 0 && c->start[c->ev_op + 1] <= j->ok_upto;

	c->s->step_waits += (uint64_t)j->waits;
	for (i = 0; i < c->nops; i++) {
		struct pg_opjob *x = i < c->n ? c->x[i] : NULL;
		struct store_op *op = c->op[i];

		if (x != NULL)
			x->events_in = evin;
		if (first != STORE_OK) {
			free(x);
			pg_chain_skip(op, first);
		} else if (x == NULL) { /* never built: the chain stops at it */
			first = err != STORE_OK ? err : c->stop;
			pg_op_fail(op, first, err != STORE_OK ? msg : c->why);
			if (op->cb != NULL)
				op->cb(op, op->arg);
		} else if (c->start[i + 1] > j->ok_upto) {
			first = err != STORE_OK ? err : STORE_ERR_QUERY;
			x->job.waits = 0;
			pg_op_done(&x->job, first, msg != NULL ? msg : "no answer");
		} else {
			if (op->type == STORE_OP_BROWSE && x->bad[0] == '\0' &&
			    op->result_count == 0) {
				snprintf(
				    bad, sizeof(bad), "no products in category %u", op->category);
				pgconn_copy(x->bad, sizeof(x->bad), bad);
			}
			if (x->bad[0] != '\0')
				first = STORE_ERR_DATA;
			x->job.waits = 0;
			pg_op_done(&x->job, STORE_OK, NULL);
		}
	}
	for (i = 0; i < PG_EV_ARRAYS; i++)
		pgarr_free(&c->ev[i]);
	free(c);
}

/* Adds the events of op to the chain's arrays; 0, or -1 out of memory. */
static int
pg_chain_add_events(struct pg_chainjob *c, const struct pg_opjob *x)
{
	char key[PG_KEY_MAX], payload[PG_PAYLOAD_MAX];
	struct pgbatch_row row;
	uint16_t k;

	for (k = 0; k < x->op->nevents; k++) {
		pg_event_row(&row, x->op, &x->op->events[k], x->session_key, key, payload);
		if (pgarr_add_text(&c->ev[0], row.key) != 0 ||
		    pgarr_add_text(&c->ev[1], row.type) != 0 ||
		    pgarr_add_text(&c->ev[2], row.payload) != 0 ||
		    pgarr_add_int(&c->ev[3], row.created) != 0)
			return -1;
	}
	return 0;
}

/* Whether statement at is a step's own COMMIT (else the step is one statement). */
static int
pg_ends_commit(const struct pg_chainjob *c, int at)
{
	return strcmp(c->st[at].name, pgsql_prepare[PGSQL_COMMIT].name) == 0;
}

/*
 * The events of all the chain's steps go into the last step's transaction,
 * as an application writes what it logs with the step: before its COMMIT, or
 * beside its one statement in the same implicit transaction (before the
 * sync).  They commit with that step or not at all, every earlier step having
 * committed before it; nothing is left to batch after the session, so over a
 * slow link a cycle's rows are in when its sessions are.  When that
 * transaction does not commit (or memory is short here), each step that did
 * stages its events as a lone step would (pg_op_events).
 */
static void
pg_chain_events(struct pg_chainjob *c)
{
	unsigned i, last = c->n - 1;
	int at;

	if (c->n == 0 || c->n < c->nops || c->x[last]->job.n == 0)
		return; /* a step that cannot run, or a last one with no transaction */
	/* one session, as store.h says a chain is; else the events go the lone way */
	for (i = 0; i < c->n; i++)
		if (strcmp(c->x[i]->session_key, c->x[0]->session_key) != 0 ||
		    pg_chain_add_events(c, c->x[i]) != 0)
			return;
	if (c->ev[0].n == 0)
		return;
	c->evp[0] = pgarr_str(&c->ev[0]);
	c->evp[1] = c->x[0]->session_key;
	c->evp[2] = c->x[0]->user;
	c->evp[3] = pgarr_str(&c->ev[1]);
	c->evp[4] = pgarr_str(&c->ev[2]);
	c->evp[5] = pgarr_str(&c->ev[3]);
	if (c->evp[0] == NULL || c->evp[3] == NULL || c->evp[4] == NULL || c->evp[5] == NULL)
		return; /* no memory for the literals */
	at = c->start[last + 1];
	if (pg_ends_commit(c, at - 1))
		at--; /* before the COMMIT */
	else
		c->sync[at - 1] = 0; /* beside the one statement: the sync comes after both */
	memmove(&c->st[at + 1], &c->st[at], (size_t)(c->job.n - at) * sizeof(c->st[0]));
	memmove(&c->sync[at + 1], &c->sync[at], (size_t)(c->job.n - at));
	pg_stmt(c->s, &c->st[at], PGSQL_SESS_EVENTS, PG_EV_PARAMS);
	c->st[at].params = c->evp;
	c->sync[at] = at == c->start[last + 1] ? PGCONN_SYNC : 0;
	c->start[last + 1]++;
	c->job.n++;
	c->ev_idx = at;
	c->ev_op = last;
}

/*
 * Builds op by op until one cannot run.  The chain is one pipeline with one
 * sync at its end, as pgbench's \startpipeline sends a script: a step that is
 * a transaction of its own ends at its COMMIT, which tells the connection it
 * is in (PGCONN_COMMIT); a step of one statement has no COMMIT and needs a
 * sync after it to be a transaction apart from the next.  When a step fails,
 * the server skips what follows up to the sync: the later steps never run.
 */
static void
pg_chain_build(struct pg_chainjob *c)
{
	const char *bad;
	int none, k, at = 0;

	for (c->n = 0; c->n < c->nops; c->n++) {
		struct pg_opjob *x = pg_opjob_new(c->s, c->op[c->n], 1, &bad, &none);

		c->start[c->n] = at;
		if (x == NULL || bad != NULL) {
			c->stop = x == NULL ? STORE_ERR_NOMEM : STORE_ERR_QUERY;
			pgconn_copy(c->why, sizeof(c->why), x == NULL ? "out of memory" : bad);
			free(x);
			break;
		}
		c->x[c->n] = x;
		for (k = 0; k < x->job.n; k++)
			c->st[at++] = x->st[k];
		if (x->job.n > 0)
			c->sync[at - 1] = pg_ends_commit(c, at - 1) ? PGCONN_COMMIT : PGCONN_SYNC;
	}
	c->start[c->n] = at;
	c->job.n = at;
	pg_chain_events(c);
}

static void
pg_submit_chain(struct store *st, struct store_op *const *ops, unsigned n)
{
	struct pg_store *s = st->priv;
	struct pg_chainjob *c = calloc(1, sizeof(*c));
	unsigned i;

	if (c == NULL || n > STORE_CHAIN_MAX) {
		free(c);
		for (i = 0; i < n; i++)
			pg_op_nomem(ops[i]);
		return;
	}
	c->s = s;
	c->nops = n;
	c->ev_idx = -1;
	for (i = 0; i < PG_EV_ARRAYS; i++)
		pgarr_init(&c->ev[i]);
	memcpy(c->op, ops, n * sizeof(*ops));
	c->job.st = c->st;
	c->job.sync = c->sync;
	c->job.result = pg_chain_result;
	c->job.done = pg_chain_done;
	if (s->closed || pgfence_refused(&s->fence) != NULL) {
		c->stop = s->closed ? STORE_ERR_CLOSED : STORE_ERR_FENCED;
		pgconn_copy(c->why, sizeof(c->why),
		    s->closed ? "store closed" : pgfence_refused(&s->fence));
		pgjobs_later(s->jobs, &c->job, STORE_OK, NULL);
		return;
	}
	pg_chain_build(c);
	if (c->n < c->nops && c->n == 0)
		pgjobs_later(s->jobs, &c->job, STORE_OK, NULL);
	else
		pgjobs_start(s->jobs, &c->job);
}

static int
pg_chains(struct store *st)
{
	struct pg_store *s = st->priv;

	return s->pipeline && !s->closed && !s->bulk_on; /* bulk: rows of many sessions */
}

/* ---- event batches ---- */

struct pg_batchjob {
	struct pgjob job;
	struct pg_store *s;
	struct batch *bt;
	struct pgfence_val fence;
	struct pgstmt st[4]; /* the INSERT; fenced: BEGIN, the check, the INSERT, COMMIT */
};

static void
pg_batch_done(struct pgjob *j, enum store_err err, const char *msg)
{
	struct pg_batchjob *x = (struct pg_batchjob *)j;
	char line[PG_MSG_MAX + 32];

	err = pg_fence_note(x->s, &x->fence, err, &msg);
	if (!x->s->closed) { /* at close the batch was taken back: see pg_close */
		if (err != STORE_OK) {
			snprintf(line, sizeof(line), "postgres: events: %s", msg);
			log_debug("%s", line);
			pgbatch_written(x->s->batcher, x->bt, err, line);
		} else {
			pgbatch_written(x->s->batcher, x->bt, STORE_OK, NULL);
		}
	}
	free(x);
}

static void
pg_batch_write(struct pgbatch *b, struct batch *bt, void *arg)
{
	struct pg_store *s = arg;
	struct pg_batchjob *x = calloc(1, sizeof(*x));

	if (x == NULL) {
		pgbatch_written(b, bt, STORE_ERR_NOMEM, "postgres: events: out of memory");
		return;
	}
	x->bt = bt;
	x->s = s;
	pg_stmt(s, &x->st[0], PGSQL_EVENTS, BATCH_COLS);
	x->st[0].params = pgbatch_params(bt);
	x->job.st = x->st;
	x->job.n = 1;
	x->job.done = pg_batch_done;
	if (pgfence_take(&s->fence, &x->fence)) {
		x->st[2] = x->st[0];
		pg_stmt(s, &x->st[0], PGSQL_BEGIN, 0);
		pgfence_stmt(&x->fence, s->named, &x->st[1]);
		pg_stmt(s, &x->st[3], PGSQL_COMMIT, 0);
		x->job.n = 4;
	}
	pgjobs_start(s->jobs, &x->job);
}

static void
pg_flush(struct store *st, store_done_cb cb, void *arg)
{
	struct pg_store *s = st->priv;
	struct pg_flushjob *f;

	if (s->closed)
		pgjobs_done_later(
		    s->jobs, cb, arg, STORE_ERR_CLOSED, "postgres: flush: store closed");
	else if ((f = malloc(sizeof(*f))) == NULL)
		cb(STORE_ERR_NOMEM, "postgres: flush: out of memory", arg);
	else {
		f->s = s;
		f->cb = cb;
		f->arg = arg;
		pgbulk_flush(s->bulk, pg_bulk_flushed, f);
	}
}

/* ---- prepare ---- */

static void
pg_prepared(enum store_err err, const char *msg, void *arg)
{
	struct pg_store *s = arg;
	store_done_cb cb = s->prep_cb;

	s->preparing = 0;
	s->prep_cb = NULL;
	cb(err, msg, s->prep_arg);
}

static void
pg_prepare(struct store *st, const struct store_setup *su, store_done_cb cb, void *arg)
{
	struct pg_store *s = st->priv;

	if (s->closed) {
		pgjobs_done_later(
		    s->jobs, cb, arg, STORE_ERR_CLOSED, "postgres: prepare: store closed");
	} else if (s->preparing) {
		pgjobs_done_later(s->jobs, cb, arg, STORE_ERR_QUERY,
		    "postgres: prepare: a preparation is already running");
	} else {
		s->preparing = 1;
		/* the run's connections open while its users are written */
		pgpool_warm(s->pool);
		pg_bulk_setup(s, su);
		s->prep_cb = cb;
		s->prep_arg = arg;
		pgsetup_run(s->jobs, su, s->local, pg_prepared, s);
	}
}

/* ---- open, close, stats ---- */

static void
pg_stats(struct store *st, struct store_stats *out)
{
	struct pg_store *s = st->priv;
	struct pgpool_stats ps;
	struct pgbatch_stats bs;
	struct pgbulk_stats us;

	pgpool_stats(s->pool, &ps);
	memset(out, 0, sizeof(*out));
	out->driver = "postgres";
	out->connections_active = ps.active + ps.connecting;
	out->connections_idle = ps.idle;
	out->waiting = ps.waiting;
	out->max = ps.limit;
	out->opened = ps.opened;
	out->closed = ps.closed;
	out->queries = pgjobs_queries(s->jobs);
	out->round_trips = pgjobs_waits(s->jobs);
	out->step_round_trips = s->step_waits;
	pgbatch_stats(s->batcher, &bs);
	pgbulk_stats(s->bulk, &us);
	out->events_queued = bs.rows_staged + bs.rows_queued + us.rows_queued;
	out->events_queue_max = s->queue_max;
	out->events_queued_peak = bs.rows_peak;
	out->events_batched = bs.rows_written;
}

static int
pg_congested(struct store *st)
{
	struct pg_store *s = st->priv;

	return !s->closed && (pgbatch_full(s->batcher) || pgbulk_full(s->bulk));
}

/*
 * Writes what the batcher still holds on a private connection: close() may wait.
 * Its statements are unnamed (nothing is prepared there), fenced as the pool's.
 */
static void
pg_drain(struct pg_store *s)
{
	struct pgstmt st[4] = { { 0 } };
	struct pgfence_val fv;
	struct pgsync *sy = NULL;
	struct batch *bt;
	unsigned long lost = 0;
	char e[PG_MSG_MAX] = "";
	int failed = pgfence_refused(&s->fence) != NULL, fenced = pgfence_take(&s->fence, &fv);

	if (failed)
		pgconn_copy(e, sizeof(e), pgfence_refused(&s->fence));
	pg_stmt_as(0, &st[0], PGSQL_BEGIN, 0);
	pgfence_stmt(&fv, 0, &st[1]);
	pg_stmt_as(0, &st[2], PGSQL_EVENTS, BATCH_COLS);
	pg_stmt_as(0, &st[3], PGSQL_COMMIT, 0);
	while ((bt = pgbatch_take(s->batcher)) != NULL) {
		if (sy == NULL && !failed && (sy = pgsync_open(&s->copts, e, sizeof(e))) == NULL)
			failed = 1;
		st[2].params = pgbatch_params(bt);
		if (failed ||
		    pgsync_exec(sy, fenced ? st : &st[2], fenced ? 4 : 1, NULL, NULL, NULL, e,
			sizeof(e)) != 0) {
			failed = 1;
			lost += pgbatch_rows(bt);
		}
		pgbatch_free_batch(bt);
	}
	pgsync_close(sy);
	if (lost > 0)
		log_warnx("postgres: %lu events not written at close (%s); a replay from the"
			  " last checkpoint writes them again",
		    lost, e);
	pgbatch_abort(s->batcher, failed ? STORE_ERR_CLOSED : STORE_OK,
	    failed ? "postgres: flush: store closed before the events were written" : NULL);
}

/* Writes the bulk batches still held, stream order kept, on a private connection. */
static void
pg_bulk_drain(struct pg_store *s)
{
	struct pgsync *sy = NULL;
	struct pgbulk_batch *bt;
	const struct pgstmt *st;
	struct pgstmt *fst = NULL;
	struct pgfence_val fv;
	unsigned long lost = 0;
	char e[PG_MSG_MAX] = "";
	int n, failed = pgfence_refused(&s->fence) != NULL, fenced = pgfence_take(&s->fence, &fv);

	if (failed)
		pgconn_copy(e, sizeof(e), pgfence_refused(&s->fence));
	while ((bt = pgbulk_take(s->bulk)) != NULL) {
		st = pgbulk_stmts(bt, &n);
		if (!failed && n > 0 && fenced) {
			if ((st = fst = pgfence_wrap(st, n++, &fv, 0)) == NULL)
				n = 0;
		}
		if (sy == NULL && !failed && (sy = pgsync_open(&s->copts, e, sizeof(e))) == NULL)
			failed = 1;
		if (failed || n == 0 ||
		    pgsync_exec(sy, st, n, NULL, NULL, NULL, e, sizeof(e)) != 0) {
			failed = 1;
			lost += pgbulk_rows(bt);
		}
		free(fst);
		fst = NULL;
		pgbulk_free_batch(bt);
	}
	pgsync_close(sy);
	if (lost > 0)
		log_warnx("postgres: %lu rows of bulk batches not written at close (%s); a replay"
			  " from the last checkpoint writes them again",
		    lost, e);
	pgbulk_abort(s->bulk, failed ? STORE_ERR_CLOSED : STORE_OK,
	    failed ? "postgres: flush: store closed before the rows were written" : NULL);
}

static void
pg_free(struct pg_store *s)
{
	pgjobs_free(s->jobs);
	pgpool_free(s->pool);
	pgbatch_free(s->batcher);
	pgbulk_free(s->bulk);
	free(s->conninfo);
	free(s);
}

/*
 * Close from the loop's top level, not from inside one of this store's own
 * callbacks: the connection whose callback is running would be freed under it.
 * Whatever is still in flight completes here, synchronously, with
 * STORE_ERR_CLOSED: after close there is no loop event left to run it.
 */
static void
pg_close(struct store *st)
{
	struct pg_store *s = st->priv;

	s->closed = 1;
	pg_bulk_drain(s);
	pg_drain(s);
	pgjobs_fail_all(s->jobs, STORE_ERR_CLOSED,
	    "store closed before the operation"
	    " completed (it may have committed; it is safe to retry)");
	pg_free(s);
}

/* Connects once, synchronously, to validate the URL and bring the schema up to date. */
static int
pg_migrate(struct pg_store *s, char *err, size_t errlen)
{
	struct pgsync *sy;
	char e[PG_MSG_MAX];

	if (pgconn_check_conninfo(s->conninfo, err, errlen) != 0)
		return -1;

	if ((sy = pgsync_open(&s->copts, e, sizeof(e))) == NULL) {
		snprintf(err, errlen, "postgres: cannot connect to %s: %s", s->where, e);
		return -1;
	}
	if (pgsql_migrate(sy, e, sizeof(e)) != 0) {
		snprintf(err, errlen, "postgres: %s: %s", s->where, e);
		pgsync_close(sy);
		return -1;
	}
	if (pgsync_hostaddr(sy, s->hostaddr, sizeof(s->hostaddr)) == 0)
		s->copts.hostaddr = s->hostaddr; /* no DNS lookup on the loop from now on */
	s->local = pgsync_local(sy);
	pgsync_close(sy);
	return 0;
}

/*
 * What each pool connection runs once connected: with pg_prepared, the server's
 * own statement_timeout (session state, which a transaction pooler would hand
 * to another client: there the client timer alone and the role's setting
 * apply) and the prepared statements.
 */
static int
pg_init_stmts(struct pg_store *s, const struct store_opts *o)
{
	int n = 0;

	if (!s->named)
		return 0;
	if (o->statement_timeout > 0) {
		snprintf(s->settings, sizeof(s->settings), "SET statement_timeout = %.0f",
		    o->statement_timeout * 1000);
		s->init[n++] =
		    (struct pgstmt){ PGSTMT_PARAMS, "statement_timeout", s->settings, 0, NULL };
	}
	memcpy(&s->init[n], pgsql_prepare, sizeof(pgsql_prepare));
	return n + PGSQL_NSTMTS;
}

/* The options come checked by the configuration's bounds (config.c): nothing restated. */
static int
pg_make_parts(struct pg_store *s, const struct store_opts *o)
{
	struct pgpool_opts po;
	struct pgbatch_opts bo;
	struct pgbulk_opts uo;

	memset(&po, 0, sizeof(po));
	po.conn = s->copts;
	po.conn.prepare = s->init;
	po.conn.nprepare = pg_init_stmts(s, o);
	po.size = o->pool_size;
	po.overflow = o->pool_overflow;
	po.max = o->pool_max;
	po.timeout = o->pool_timeout;
	po.pre_ping = o->pool_pre_ping;
	po.recycle = o->pool_recycle;
	memset(&bo, 0, sizeof(bo));
	bo.size = o->event_batch_size;
	bo.interval = o->event_flush_interval;
	bo.inflight = PG_BATCH_INFLIGHT;
	bo.inflight_flush = po.max / 4 > PG_BATCH_INFLIGHT ? po.max / 4 : PG_BATCH_INFLIGHT;
	bo.queue_max = o->event_queue_max;
	bo.write = pg_batch_write;
	bo.arg = s;
	if ((s->pool = pgpool_new(s->base, &po)) == NULL ||
	    (s->jobs = pgjobs_new(s->base, s->pool)) == NULL)
		return -1;
	s->batcher = pgbatch_new(s->base, &bo);
	memset(&uo, 0, sizeof(uo));
	uo.interval = o->event_flush_interval;
	uo.queue_max = o->event_queue_max;
	uo.write = pg_bulk_write;
	uo.arg = s;
	s->bulk = pgbulk_new(s->base, &uo);
	return s->batcher != NULL && s->bulk != NULL ? 0 : -1;
}

static struct store *
pg_open(struct event_base *base, const struct store_opts *cfg, char *err, size_t errlen)
{
	struct pg_store *s;

	if (cfg->database_url == NULL || cfg->database_url[0] == '\0') {
		snprintf(err, errlen, "postgres: database_url is empty");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->conninfo = strdup(cfg->database_url)) == NULL) {
		free(s);
		snprintf(err, errlen, "postgres: out of memory");
		return NULL;
	}
	s->base = base;
	pgconn_describe(s->where, sizeof(s->where), s->conninfo);
	s->copts.conninfo = s->conninfo;
	s->copts.appname = STORE_APPNAME_PREFIX;
	s->copts.connect_timeout = cfg->connect_timeout;
	/* the server's own limit (see pg_init_stmts) answers first, with its message */
	s->copts.statement_timeout = cfg->statement_timeout;
	s->copts.timeout_grace = PG_CLIENT_GRACE;
	s->copts.no_pipeline = cfg->pg_no_pipeline;
	s->named = cfg->pg_prepared;
	s->pipeline = cfg->pg_pipeline;
	s->queue_max = cfg->event_queue_max;
	if (pg_migrate(s, err, errlen) != 0) {
		pg_free(s);
		return NULL;
	}
	if (pg_make_parts(s, cfg) != 0) {
		pg_free(s);
		snprintf(err, errlen, "postgres: out of memory");
		return NULL;
	}
	s->pub.drv = &store_pg_driver;
	s->pub.priv = s;
	return &s->pub;
}

static void
pg_set_run(struct store *pub, const char *run_id)
{
	struct pg_store *s = pub->priv;
	char name[STORE_APPNAME_MAX];

	store_appname(name, sizeof(name), run_id);
	pgpool_set_appname(s->pool, name);
}

static int
pg_set_fence(struct store *pub, const char *run_id, uint32_t shard, uint64_t generation, char *err,
    size_t errlen)
{
	struct pg_store *s = pub->priv;

	if (pgfence_set(&s->fence, run_id, shard, generation, err, errlen) != 0)
		return -1;
	pgbatch_fence(s->batcher, NULL); /* what they held went with the old generation */
	pgbulk_fence(s->bulk, NULL);
	return 0;
}

static void
pg_on_fenced(struct store *pub, store_fenced_fn fn, void *arg)
{
	struct pg_store *s = pub->priv;

	s->fenced_fn = fn;
	s->fenced_arg = arg;
}

static void
pg_set_pool_max(struct store *pub, unsigned max)
{
	struct pg_store *s = pub->priv;

	pgpool_set_max(s->pool, max);
}

static void
pg_keyed(struct store *pub, struct store_keyjob *j)
{
	struct pg_store *s = pub->priv;

	if (s->closed)
		pgjobs_done_later(
		    s->jobs, j->cb, j->arg, STORE_ERR_CLOSED, "postgres: store closed");
	else
		pgkeys_start(s->jobs, j);
}

const struct store_driver store_pg_driver = {
	.name = "postgres",
	.open = pg_open,
	.close = pg_close,
	.prepare = pg_prepare,
	.submit = pg_submit,
	.flush = pg_flush,
	.stats = pg_stats,
	.set_run = pg_set_run,
	.set_pool_max = pg_set_pool_max,
	.congested = pg_congested,
	.keyed = pg_keyed,
	.chains = pg_chains,
	.submit_chain = pg_submit_chain,
	.set_fence = pg_set_fence,
	.on_fenced = pg_on_fenced,
};
