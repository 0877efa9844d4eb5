/*
 * pgbulk.c - bulk writes (see pgbulk.h).
 *
 * A batch holds one array column per column of each statement; the
 * statements run in the order the realistic driver's would for the same
 * steps: sessions begun, users, carts, orders with their items, interactions
 * and coupons, sessions ended or failed, events last (they join their
 * session).  Where one batch holds several steps of one agent, what a row
 * would end as is decided in SQL: the last users.last_shopped_at, the cart of
 * the agent's last cart step (none after a checkout), the first redemption of
 * a coupon, the last end of a session.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sys/queue.h>

#include "sim/defer.h"
#include "sim/pgbulk.h"
#include "sim/pgsql.h"
#include "sim/seqwait.h"

/* Columns, by statement: first column of each group, then the count. */
enum {
	C_SB = 0,  /* sessions begun: key, user, started */
	C_US = 3,  /* users: id, at */
	C_CT = 5,  /* carts rewritten: user, step seq */
	C_CL = 7,  /* their lines: user, seq, store, product, quantity, price, at */
	C_OR = 14, /* orders: key, user, session key, coupon, total, at */
	C_OI = 20, /* order items: order key, product, quantity, price */
	C_IN = 24, /* interactions: order key, user, at, product */
	C_RD = 28, /* coupons redeemed: user, coupon, at, order key */
	C_SE = 32, /* sessions ended: key, at, outcome */
	C_SF = 35, /* sessions failed: key, user, started, at, reason */
	C_EV = 40, /* events: key, session key, user, type, payload, at */
	NCOLS = 46
};

struct bulk_stmt {
	const char *name;
	int first, n; /* its parameters: columns first .. first + n - 1 */
	int lead;     /* the column whose rows it writes: none, no statement */
	const char *sql;
};

/* clang-format off */
static const struct bulk_stmt bulk_stmts[] = {
	{ "bulk_sessions", C_SB, 3, C_SB,
	    "INSERT INTO shopping_sessions (session_key, user_id, started_at)"
	    " SELECT x.k, x.u, to_timestamp(x.t)"
	    " FROM unnest($1::text[], $2::bigint[], $3::bigint[]) WITH ORDINALITY AS x(k, u, t, n)"
	    " ORDER BY x.n ON CONFLICT (session_key) DO NOTHING" },
	{ "bulk_users", C_US, 2, C_US,
	    "UPDATE users SET last_shopped_at = to_timestamp(x.t) FROM (SELECT DISTINCT ON (y.u)"
	    " y.u, y.t FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS y(u, t, n)"
	    " ORDER BY y.u, y.n DESC) x WHERE users.id = x.u" },
	{ "bulk_cart_clear", C_CT, 1, C_CT,
	    "DELETE FROM cart_items WHERE user_id = ANY ($1::bigint[])" },
	{ "bulk_cart_set", C_CT, 9, C_CL,
	    "INSERT INTO cart_items (user_id, store_id, product_id, quantity, price_cents,"
	    " updated_at) SELECT l.u, l.s, l.p, l.q, l.c, to_timestamp(l.t)"
	    " FROM unnest($3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::integer[],"
	    " $8::integer[], $9::bigint[]) AS l(u, seq, s, p, q, c, t)"
	    " JOIN (SELECT y.u, max(y.seq) AS seq FROM unnest($1::bigint[], $2::bigint[])"
	    " AS y(u, seq) GROUP BY y.u) m ON m.u = l.u AND m.seq = l.seq"
	    " ON CONFLICT (user_id, store_id, product_id) DO UPDATE SET"
	    " quantity = excluded.quantity, price_cents = excluded.price_cents,"
	    " updated_at = excluded.updated_at" },
	{ "bulk_orders", C_OR, 6, C_OR,
	    "INSERT INTO orders (idem_key, user_id, session_id, coupon_id, total_cents, created_at)"
	    " SELECT x.k, x.u, s.id, NULLIF(x.c, 0), x.tot, to_timestamp(x.t)"
	    " FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::integer[],"
	    " $6::bigint[]) WITH ORDINALITY AS x(k, u, sk, c, tot, t, n)"
	    " LEFT JOIN shopping_sessions s ON s.session_key = x.sk"
	    " ORDER BY x.n ON CONFLICT (idem_key) DO NOTHING" },
	{ "bulk_order_items", C_OI, 4, C_OI,
	    "INSERT INTO order_items (order_id, product_id, quantity, price_cents)"
	    " SELECT o.id, x.p, x.q, x.c FROM unnest($1::text[], $2::bigint[], $3::integer[],"
	    " $4::integer[]) AS x(k, p, q, c) JOIN orders o ON o.idem_key = x.k"
	    " ON CONFLICT DO NOTHING" },
	{ "bulk_interactions", C_IN, 4, C_IN,
	    "INSERT INTO interactions (interaction_key, user_id, product_id, kind, created_at)"
	    " SELECT x.k || ':' || x.p, x.u, x.p, 'purchase', to_timestamp(x.t)"
	    " FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[])"
	    " WITH ORDINALITY AS x(k, u, t, p, n)"
	    " ORDER BY x.n ON CONFLICT (interaction_key) DO NOTHING" },
	{ "bulk_redeem", C_RD, 4, C_RD,
	    "UPDATE user_coupons uc SET redeemed_at = to_timestamp(x.t), order_key = x.k"
	    " FROM (SELECT DISTINCT ON (y.u, y.c) y.u, y.c, y.t, y.k FROM unnest($1::bigint[],"
	    " $2::bigint[], $3::bigint[], $4::text[]) WITH ORDINALITY AS y(u, c, t, k, n)"
	    " ORDER BY y.u, y.c, y.n) x"
	    " WHERE uc.user_id = x.u AND uc.coupon_id = x.c AND uc.redeemed_at IS NULL" },
	{ "bulk_sessions_end", C_SE, 3, C_SE,
	    "UPDATE shopping_sessions s SET ended_at = to_timestamp(x.t), outcome = x.o"
	    " FROM (SELECT DISTINCT ON (y.k) y.k, y.t, y.o FROM unnest($1::text[], $2::bigint[],"
	    " $3::text[]) WITH ORDINALITY AS y(k, t, o, n) ORDER BY y.k, y.n DESC) x"
	    " WHERE s.session_key = x.k" },
	{ "bulk_sessions_fail", C_SF, 5, C_SF,
	    "INSERT INTO shopping_sessions (session_key, user_id, started_at, ended_at, outcome,"
	    " error) SELECT DISTINCT ON (x.k) x.k, x.u, to_timestamp(x.s), to_timestamp(x.t),"
	    " 'failed', x.r FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[],"
	    " $5::text[]) WITH ORDINALITY AS x(k, u, s, t, r, n) ORDER BY x.k, x.n DESC"
	    " ON CONFLICT (session_key) DO UPDATE SET ended_at = excluded.ended_at,"
	    " outcome = 'failed', error = excluded.error" },
	{ "bulk_events", C_EV, 6, C_EV, NULL /* pgsql.h's PGSQL_EVENTS */ },
};
/* clang-format on */
#define NSTMTS ((int)(sizeof(bulk_stmts) / sizeof(bulk_stmts[0])))

struct pgbulk_batch {
	TAILQ_ENTRY(pgbulk_batch) link;
	uint64_t seq; /* 0 while open */
	unsigned rows;
	uint32_t steps; /* ops added: their order within the batch */
	int inflight;
	struct pgarr col[NCOLS];
	const char *pv[NCOLS];
	struct pgstmt st[NSTMTS + 2];
	int nst;
};

TAILQ_HEAD(bulk_list, pgbulk_batch);

struct bulk_stream {
	struct pgbulk_batch *open;
	struct bulk_list queue; /* sealed, in order; the head may be in flight */
	int failing;            /* the head failed: wait for the timer or a flush */
};

struct pgbulk {
	struct pgbulk_opts o;
	struct bulk_stream streams[PGBULK_STREAMS];
	uint64_t next_seq;
	struct seqwait waiters;
	struct event *timer;
	struct defer *defer;
	struct defer_entry kick;    /* seal what idle streams hold, at the next loop turn */
	struct defer_entry flushed; /* waiters of a flush with nothing to wait for */
	int full;
	int fenced; /* pgbulk_fence: batches dropped, flushes fail, until unfenced */
	char fence_msg[256];
	struct pgbulk_stats st;
};

static void bulk_pump(struct pgbulk *b, int force);

static const struct pgstmt bulk_begin = { PGSTMT_PARAMS, "begin", "BEGIN", 0, NULL };
static const struct pgstmt bulk_commit = { PGSTMT_PARAMS, "commit", "COMMIT", 0, NULL };

/* ---- batches ---- */

static struct pgbulk_batch *
bulk_new_batch(void)
{
	struct pgbulk_batch *bt = calloc(1, sizeof(*bt));

	if (bt == NULL)
		return NULL;
	for (int i = 0; i < NCOLS; i++)
		pgarr_init(&bt->col[i]);
	return bt;
}

void
pgbulk_free_batch(struct pgbulk_batch *bt)
{
	if (bt == NULL)
		return;
	for (int i = 0; i < NCOLS; i++)
		pgarr_free(&bt->col[i]);
	free(bt);
}

unsigned
pgbulk_rows(const struct pgbulk_batch *bt)
{
	return bt->rows;
}

const struct pgstmt *
pgbulk_stmts(const struct pgbulk_batch *bt, int *n)
{
	*n = bt->nst;
	return bt->st;
}

/* The transaction of a batch: its non-empty statements between BEGIN and COMMIT. */
static int
bulk_build(struct pgbulk_batch *bt)
{
	int i;

	for (i = 0; i < NCOLS; i++)
		if ((bt->pv[i] = pgarr_str(&bt->col[i])) == NULL)
			return -1;
	bt->nst = 0;
	bt->st[bt->nst++] = bulk_begin;
	for (i = 0; i < NSTMTS; i++) {
		const struct bulk_stmt *d = &bulk_stmts[i];
		struct pgstmt *st;

		if (bt->col[d->lead].n == 0)
			continue;
		st = &bt->st[bt->nst++];
		st->kind = PGSTMT_PARAMS;
		st->name = d->name;
		st->sql = d->sql != NULL ? d->sql : pgsql_prepare[PGSQL_EVENTS].sql;
		st->nparams = d->n;
		st->params = &bt->pv[d->first];
	}
	bt->st[bt->nst++] = bulk_commit;
	return 0;
}

/* ---- adding an op's rows ---- */

struct bulk_add {
	struct pgbulk_batch *bt;
	int fail;
	unsigned rows;
};

static void
add_text(struct bulk_add *a, int col, const char *s)
{
	if (!a->fail && pgarr_add_text(&a->bt->col[col], s) != 0)
		a->fail = 1;
}

static void
add_int(struct bulk_add *a, int col, int64_t v)
{
	if (!a->fail && pgarr_add_int(&a->bt->col[col], v) != 0)
		a->fail = 1;
}

/* Whether a later line of the op has the same store and product (the later one wins). */
static int
bulk_superseded(const struct store_op *op, uint16_t i)
{
	for (uint16_t k = i + 1; k < op->nitems; k++)
		if (op->items[k].product_id == op->items[i].product_id &&
		    op->items[k].store_id == op->items[i].store_id)
			return 1;
	return 0;
}

/* The cart becomes the op's lines (none for a checkout): the agent's last such step wins. */
static void
add_cart(struct bulk_add *a, const struct store_op *op, int64_t user, uint32_t seq, int lines)
{
	add_int(a, C_CT, user);
	add_int(a, C_CT + 1, seq);
	for (uint16_t i = 0; lines && i < op->nitems; i++) {
		const struct store_item *it = &op->items[i];

		if (bulk_superseded(op, i))
			continue;
		add_int(a, C_CL, user);
		add_int(a, C_CL + 1, seq);
		add_int(a, C_CL + 2, it->store_id);
		add_int(a, C_CL + 3, it->product_id);
		add_int(a, C_CL + 4, it->quantity);
		add_int(a, C_CL + 5, it->price_cents);
		add_int(a, C_CL + 6, op->sim_time);
		a->rows++;
	}
}

static void
add_end(struct bulk_add *a, const char *sk, int64_t at, const char *outcome)
{
	add_text(a, C_SE, sk);
	add_int(a, C_SE + 1, at);
	add_text(a, C_SE + 2, outcome);
	a->rows++;
}

static void
add_checkout(struct bulk_add *a, const struct store_op *op, const char *sk, int64_t user)
{
	char idem[96];

	store_order_key(idem, sizeof(idem), op);
	add_text(a, C_OR, idem);
	add_int(a, C_OR + 1, user);
	add_text(a, C_OR + 2, sk);
	add_int(a, C_OR + 3, op->coupon_id);
	add_int(a, C_OR + 4, op->total_cents);
	add_int(a, C_OR + 5, op->sim_time);
	a->rows++;
	for (uint16_t i = 0; i < op->nitems; i++) {
		const struct store_item *it = &op->items[i];

		add_text(a, C_OI, idem);
		add_int(a, C_OI + 1, it->product_id);
		add_int(a, C_OI + 2, it->quantity);
		add_int(a, C_OI + 3, it->price_cents);
		add_text(a, C_IN, idem);
		add_int(a, C_IN + 1, user);
		add_int(a, C_IN + 2, op->sim_time);
		add_int(a, C_IN + 3, it->product_id);
		a->rows += 2;
	}
	if (op->coupon_id != 0) {
		add_int(a, C_RD, user);
		add_int(a, C_RD + 1, op->coupon_id);
		add_int(a, C_RD + 2, op->sim_time);
		add_text(a, C_RD + 3, idem);
		a->rows++;
	}
	add_cart(a, op, user, a->bt->steps, 0);
	add_end(a, sk, op->sim_time, "ordered");
}

static void
add_events(struct bulk_add *a, const struct store_op *op, const char *sk, int64_t user)
{
	char key[96], payload[128];

	for (uint16_t i = 0; i < op->nevents; i++) {
		const struct store_event *ev = &op->events[i];

		store_event_key(key, sizeof(key), op, ev);
		store_event_payload(payload, sizeof(payload), ev);
		add_text(a, C_EV, key);
		add_text(a, C_EV + 1, sk);
		add_int(a, C_EV + 2, user);
		add_text(a, C_EV + 3, store_event_name(ev->type));
		add_text(a, C_EV + 4, payload);
		add_int(a, C_EV + 5, op->sim_time + ev->dt);
		a->rows++;
	}
}

/* What the realistic driver writes for op (store_pg.c's pg_build), as rows of the batch. */
static void
add_op(struct bulk_add *a, const struct store_op *op, const char *sk)
{
	int64_t user = (int64_t)op->agent + 1;

	switch (op->type) {
	case STORE_OP_BEGIN:
		add_text(a, C_SB, sk);
		add_int(a, C_SB + 1, user);
		add_int(a, C_SB + 2, op->sim_time);
		add_int(a, C_US, user);
		add_int(a, C_US + 1, op->sim_time);
		a->rows += 2;
		break;
	case STORE_OP_CART:
		if (!op->records_only) /* the shop's API wrote the cart */
			add_cart(a, op, user, a->bt->steps, 1);
		break;
	case STORE_OP_CHECKOUT:
		if (op->records_only)
			add_end(a, sk, op->sim_time, "ordered");
		else
			add_checkout(a, op, sk, user);
		break;
	case STORE_OP_ABANDON: add_end(a, sk, op->sim_time, op->outcome); break;
	case STORE_OP_FAIL:
		add_text(a, C_SF, sk);
		add_int(a, C_SF + 1, user);
		add_int(a, C_SF + 2, op->started);
		add_int(a, C_SF + 3, op->sim_time);
		add_text(a, C_SF + 4, op->reason);
		a->rows++;
		break;
	default: break; /* reads write nothing */
	}
	add_events(a, op, sk, user);
}

static uint64_t
bulk_low(const struct pgbulk *b)
{
	uint64_t low = UINT64_MAX;

	for (int i = 0; i < PGBULK_STREAMS; i++) {
		const struct pgbulk_batch *bt = TAILQ_FIRST(&b->streams[i].queue);
		if (bt != NULL && bt->seq < low)
			low = bt->seq;
	}
	return low;
}

static void
bulk_seal(struct pgbulk *b, struct bulk_stream *s)
{
	struct pgbulk_batch *bt = s->open;

	if (bt == NULL || bt->steps == 0)
		return;
	bt->seq = ++b->next_seq;
	s->open = NULL;
	TAILQ_INSERT_TAIL(&s->queue, bt, link);
}

static void
bulk_kick(struct defer_entry *e)
{
	bulk_pump(DEFER_OWNER(e, struct pgbulk, kick), 0);
}

int
pgbulk_add(struct pgbulk *b, const struct store_op *op, const char *session_key, uint32_t *rows)
{
	struct bulk_stream *s = &b->streams[op->agent % PGBULK_STREAMS];
	struct bulk_add a = { NULL, 0, 0 };
	size_t len[NCOLS];
	unsigned n[NCOLS];
	int i;

	if (b->fenced) { /* dropped: its generation lost the lease */
		*rows = 0;
		return 0;
	}
	if (s->open == NULL && (s->open = bulk_new_batch()) == NULL)
		return -1;
	a.bt = s->open;
	for (i = 0; i < NCOLS; i++) {
		len[i] = a.bt->col[i].len;
		n[i] = a.bt->col[i].n;
	}
	a.bt->steps++;
	add_op(&a, op, session_key);
	if (a.fail) { /* every column back where it was */
		for (i = 0; i < NCOLS; i++) {
			a.bt->col[i].len = len[i];
			a.bt->col[i].n = n[i];
		}
		a.bt->steps--;
		return -1;
	}
	a.bt->rows += a.rows;
	b->st.rows_queued += a.rows;
	if (b->st.rows_queued > b->st.rows_peak)
		b->st.rows_peak = b->st.rows_queued;
	*rows = a.rows;
	if (a.bt->rows >= PGBULK_ROWS)
		bulk_seal(b, s);
	defer_add(b->defer, &b->kick, bulk_kick);
	return 0;
}

/* ---- writing ---- */

/* Each stream with nothing in flight writes its next batch, sealing the open one if idle. */
static void
bulk_pump(struct pgbulk *b, int force)
{
	for (int i = 0; i < PGBULK_STREAMS && !b->fenced; i++) {
		struct bulk_stream *s = &b->streams[i];
		struct pgbulk_batch *bt;

		if (s->failing && !force)
			continue;
		if (TAILQ_EMPTY(&s->queue))
			bulk_seal(b, s);
		bt = TAILQ_FIRST(&s->queue);
		if (bt == NULL || bt->inflight)
			continue;
		s->failing = 0;
		if (bulk_build(bt) != 0) {
			s->failing = 1; /* out of memory: the timer tries again */
			continue;
		}
		bt->inflight = 1;
		b->o.write(b, bt, b->o.arg);
	}
}

void
pgbulk_written(struct pgbulk *b, struct pgbulk_batch *bt, enum store_err err, const char *msg)
{
	struct bulk_stream *s = NULL;

	for (int i = 0; i < PGBULK_STREAMS; i++)
		if (TAILQ_FIRST(&b->streams[i].queue) == bt)
			s = &b->streams[i];
	if (s == NULL) /* taken at shutdown */
		return;
	bt->inflight = 0;
	if (b->fenced) { /* written or not, the batch is not to be written again */
		TAILQ_REMOVE(&s->queue, bt, link);
		b->st.rows_queued -= bt->rows;
		pgbulk_free_batch(bt);
		return;
	}
	if (err != STORE_OK) {
		s->failing = 1;
		b->st.batches_failed++;
		seqwait_complete(&b->waiters, bt->seq, err, msg);
		return;
	}
	TAILQ_REMOVE(&s->queue, bt, link);
	b->st.rows_written += bt->rows;
	b->st.rows_queued -= bt->rows;
	b->st.batches_written++;
	pgbulk_free_batch(bt);
	seqwait_complete(&b->waiters, bulk_low(b), STORE_OK, NULL);
	bulk_pump(b, 0);
}

static void
bulk_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	bulk_pump(arg, 1);
}

static void
bulk_flushed(struct defer_entry *e)
{
	struct pgbulk *b = DEFER_OWNER(e, struct pgbulk, flushed);

	if (b->fenced)
		seqwait_abort(&b->waiters, STORE_ERR_FENCED, b->fence_msg);
	else
		seqwait_complete(&b->waiters, bulk_low(b), STORE_OK, NULL);
}

void
pgbulk_flush(struct pgbulk *b, store_done_cb cb, void *arg)
{
	for (int i = 0; i < PGBULK_STREAMS; i++)
		bulk_seal(b, &b->streams[i]);
	if (seqwait_add(&b->waiters, b->next_seq, cb, arg) != 0) {
		cb(STORE_ERR_NOMEM, "out of memory", arg);
		return;
	}
	bulk_pump(b, 1);
	defer_add(b->defer, &b->flushed, bulk_flushed);
}

int
pgbulk_full(struct pgbulk *b)
{
	uint64_t n = b->st.rows_queued;

	if (b->o.queue_max == 0)
		return 0;
	if (n >= b->o.queue_max)
		b->full = 1;
	else if (n * 4 < b->o.queue_max * 3)
		b->full = 0;
	return b->full;
}

void
pgbulk_fence(struct pgbulk *b, const char *msg)
{
	if (msg == NULL) {
		b->fenced = 0;
		return;
	}
	b->fenced = 1;
	snprintf(b->fence_msg, sizeof(b->fence_msg), "%s", msg);
	for (int i = 0; i < PGBULK_STREAMS; i++) {
		struct bulk_stream *s = &b->streams[i];
		struct pgbulk_batch *bt, *next;

		if (s->open != NULL) {
			b->st.rows_queued -= s->open->rows;
			pgbulk_free_batch(s->open);
			s->open = NULL;
		}
		for (bt = TAILQ_FIRST(&s->queue); bt != NULL; bt = next) {
			next = TAILQ_NEXT(bt, link);
			if (bt->inflight)
				continue; /* freed when it comes back */
			TAILQ_REMOVE(&s->queue, bt, link);
			b->st.rows_queued -= bt->rows;
			pgbulk_free_batch(bt);
		}
		s->failing = 0;
	}
	seqwait_abort(&b->waiters, STORE_ERR_FENCED, b->fence_msg);
}

void
pgbulk_stats(const struct pgbulk *b, struct pgbulk_stats *st)
{
	*st = b->st;
}

/* ---- life ---- */

struct pgbulk *
pgbulk_new(struct event_base *base, const struct pgbulk_opts *o)
{
	struct pgbulk *b = calloc(1, sizeof(*b));
	double iv = o->interval > 0 ? o->interval : 5;
	struct timeval tv;

	if (b == NULL)
		return NULL;
	b->o = *o;
	for (int i = 0; i < PGBULK_STREAMS; i++)
		TAILQ_INIT(&b->streams[i].queue);
	b->timer = event_new(base, -1, EV_PERSIST, bulk_timer_cb, b);
	b->defer = defer_new(base);
	tv.tv_sec = (time_t)iv;
	tv.tv_usec = (suseconds_t)((iv - (double)tv.tv_sec) * 1e6);
	if (b->timer == NULL || b->defer == NULL || event_add(b->timer, &tv) != 0) {
		pgbulk_free(b);
		return NULL;
	}
	return b;
}

struct pgbulk_batch *
pgbulk_take(struct pgbulk *b)
{
	struct bulk_stream *best = NULL;
	struct pgbulk_batch *bt;

	for (int i = 0; i < PGBULK_STREAMS; i++) {
		struct bulk_stream *s = &b->streams[i];

		bulk_seal(b, s);
		if (s->open != NULL) { /* an empty open batch */
			pgbulk_free_batch(s->open);
			s->open = NULL;
		}
		if ((bt = TAILQ_FIRST(&s->queue)) != NULL &&
		    (best == NULL || bt->seq < TAILQ_FIRST(&best->queue)->seq))
			best = s;
	}
	if (best == NULL)
		return NULL;
	bt = TAILQ_FIRST(&best->queue);
	TAILQ_REMOVE(&best->queue, bt, link);
	b->st.rows_queued -= bt->rows;
	if (bulk_build(bt) != 0)
		bt->nst = 0; /* nothing to send: the caller counts its rows lost */
	return bt;
}

void
pgbulk_abort(struct pgbulk *b, enum store_err err, const char *msg)
{
	seqwait_abort(&b->waiters, err, msg);
}

void
pgbulk_free(struct pgbulk *b)
{
	struct pgbulk_batch *bt;

	if (b == NULL)
		return;
	while ((bt = pgbulk_take(b)) != NULL)
		pgbulk_free_batch(bt);
	seqwait_clear(&b->waiters);
	if (b->timer != NULL)
		event_free(b->timer);
	defer_free(b->defer);
	free(b);
}
