/*
 * db_pg.c - shopd on PostgreSQL, through libpq's blocking calls.
 *
 * A blocking call holds shopd's loop while the statement runs; that is
 * acceptable for a reference backend, and every statement is bounded by the
 * session's statement_timeout and lock_timeout (set on each connection).  A
 * broken connection is reset on the next call, and the statements prepared
 * again.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db.h"

#define PQ_ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
/* clang-format off */
#define PQ_WALLET_SELECT "SELECT c.id, c.code, c.store_id, c.pct_off, c.min_spend_cents, " \
	PQ_ISO("c.valid_from") ", " PQ_ISO("c.valid_to") ", " PQ_ISO("uc.redeemed_at") \
	", uc.order_key FROM user_coupons uc JOIN coupons c ON c.id = uc.coupon_id" \
	" WHERE uc.user_id = $1"
/* clang-format on */

static const char *const pq_sql[DB_NSTMT] = {
	[DB_USER] = "SELECT id, agent_id, name FROM users WHERE id = $1",
	[DB_PRODUCT] = "SELECT id, store_id, category, name, price_cents FROM products"
		       " WHERE id = $1",
	[DB_SEARCH] = "SELECT id, store_id, name, price_cents FROM products WHERE category = $1"
		      " ORDER BY price_cents, id LIMIT $2 OFFSET $3",
	[DB_SEARCH_COUNT] = "SELECT count(*) FROM products WHERE category = $1",
	[DB_CART] = "SELECT product_id, store_id, quantity, price_cents FROM cart_items"
		    " WHERE user_id = $1 ORDER BY product_id, store_id",
	[DB_CART_CLEAR] = "DELETE FROM cart_items WHERE user_id = $1",
	[DB_CART_INSERT] =
	    "INSERT INTO cart_items (user_id, store_id, product_id, quantity,"
	    " price_cents, updated_at) VALUES ($1, $2, $3, $4, $5, to_timestamp($6))",
	[DB_WALLET] = PQ_WALLET_SELECT " ORDER BY c.id",
	[DB_WALLET_ONE] = PQ_WALLET_SELECT " AND uc.coupon_id = $2",
	[DB_SESSION_ID] = "SELECT id FROM shopping_sessions WHERE session_key = $1",
	[DB_ORDER_GET] = "SELECT id, user_id, session_id, coupon_id, total_cents, " PQ_ISO(
	    "created_at") " FROM orders WHERE idem_key = $1",
	[DB_ORDER_ITEMS] = "SELECT product_id, quantity, price_cents FROM order_items"
			   " WHERE order_id = $1 ORDER BY product_id",
	[DB_ORDER_INSERT] =
	    "INSERT INTO orders (idem_key, user_id, session_id, coupon_id,"
	    " total_cents, created_at) VALUES ($1, $2, $3, $4, $5, to_timestamp($6))"
	    " ON CONFLICT (idem_key) DO NOTHING",
	[DB_ORDER_ITEM_INSERT] = "INSERT INTO order_items (order_id, product_id, quantity,"
				 " price_cents) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
	[DB_INTERACTION] = "INSERT INTO interactions (interaction_key, user_id, product_id,"
			   " kind, created_at) VALUES ($1, $2, $3, 'purchase', to_timestamp($4))"
			   " ON CONFLICT (interaction_key) DO NOTHING",
	[DB_COUPON_REDEEM] =
	    "UPDATE user_coupons SET redeemed_at = to_timestamp($3),"
	    " order_key = $4 WHERE user_id = $1 AND coupon_id = $2 AND redeemed_at IS NULL",
};

static const char *const pq_tx_sql[] = {
	[DB_TX_BEGIN] = "BEGIN",
	[DB_TX_COMMIT] = "COMMIT",
	[DB_TX_ROLLBACK] = "ROLLBACK",
};

struct pq {
	PGconn *c;
	unsigned timeout_ms;
	int ready; /* session settings applied, statements prepared */
	char emsg[200];
};

/* The first line of libpq's message: enough for the log, never the URL. */
static void
pq_note(struct pq *p, const char *what, const char *msg)
{
	size_t n = strcspn(msg, "\n");

	snprintf(p->emsg, sizeof(p->emsg), "%s: %.*s", what, (int)(n > 150 ? 150 : n), msg);
}

static enum db_rc
pq_result_rc(struct pq *p, PGresult *r, const char *what)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	pq_note(p, what, r ? PQresultErrorMessage(r) : PQerrorMessage(p->c));
	if (PQstatus(p->c) != CONNECTION_OK) {
		p->ready = 0;
		return DB_DOWN;
	}
	if (state == NULL)
		return DB_FAIL;
	if (strcmp(state, "57014") == 0)
		return DB_TIMEOUT; /* statement_timeout */
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "55P03") == 0)
		return DB_BUSY; /* serialisation failure, deadlock, lock_timeout */
	if (strncmp(state, "08", 2) == 0) {
		p->ready = 0;
		return DB_DOWN;
	}
	return DB_FAIL;
}

/* Notices ("there is no transaction in progress") are not errors; keep them off stderr. */
static void
pq_quiet(void *arg, const char *msg)
{
}

static enum db_rc
pq_simple(struct pq *p, const char *sql)
{
	PGresult *r = PQexec(p->c, sql);
	enum db_rc rc = DB_OK;

	if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = pq_result_rc(p, r, sql);
	PQclear(r);
	return rc;
}

/* Session settings and prepared statements: after connecting and after every reset. */
static enum db_rc
pq_setup(struct pq *p)
{
	char sql[200], name[8];
	PGresult *r;
	enum db_rc rc;
	int i;

	snprintf(sql, sizeof(sql),
	    "SET statement_timeout = %u; SET lock_timeout = %u;"
	    " SET idle_in_transaction_session_timeout = %u",
	    p->timeout_ms, p->timeout_ms, p->timeout_ms * 4);
	if ((rc = pq_simple(p, sql)) != DB_OK)
		return rc;
	for (i = 0; i < DB_NSTMT; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		r = PQprepare(p->c, name, pq_sql[i], 0, NULL);
		if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
			rc = pq_result_rc(p, r, "preparing a statement");
			PQclear(r);
			return rc;
		}
		PQclear(r);
	}
	p->ready = 1;
	return DB_OK;
}

static enum db_rc
pq_ensure(struct pq *p)
{
	if (p->ready && PQstatus(p->c) == CONNECTION_OK)
		return DB_OK;
	/* A fresh session: the statements prepared on the old one are gone with it. */
	PQreset(p->c);
	if (PQstatus(p->c) != CONNECTION_OK) {
		pq_note(p, "reconnecting", PQerrorMessage(p->c));
		return DB_DOWN;
	}
	return pq_setup(p);
}

static enum db_rc
pq_rows(struct pq *p, PGresult *r, db_row_fn fn, void *arg, int64_t *changes)
{
	struct db_row row = { &db_pg_driver, r, 0 };
	enum db_rc rc = DB_OK;
	int n = PQntuples(r);

	for (row.row = 0; fn != NULL && row.row < n && rc == DB_OK; row.row++)
		rc = fn(&row, arg);
	if (changes != NULL && *PQcmdTuples(r) != '\0')
		*changes = strtoll(PQcmdTuples(r), NULL, 10);
	return rc;
}

static enum db_rc
pq_query(void *h, enum db_stmt st, const struct db_param *prm, int np, db_row_fn fn, void *arg,
    int64_t *changes)
{
	struct pq *p = h;
	char num[DB_MAX_PARAMS][24], name[8];
	const char *val[DB_MAX_PARAMS];
	PGresult *r;
	enum db_rc rc;
	int i;

	if (np > DB_MAX_PARAMS)
		return DB_FAIL;
	if ((rc = pq_ensure(p)) != DB_OK)
		return rc;
	for (i = 0; i < np; i++) {
		val[i] = prm[i].type == DBP_TEXT ? prm[i].s
		    : prm[i].type == DBP_NULL    ? NULL
						 : num[i];
		snprintf(num[i], sizeof(num[i]), "%" PRId64, prm[i].i);
	}
	snprintf(name, sizeof(name), "s%d", (int)st);
	r = PQexecPrepared(p->c, name, np, val, NULL, NULL, 0);
	if (r != NULL &&
	    (PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK))
		rc = pq_rows(p, r, fn, arg, changes);
	else
		rc = pq_result_rc(p, r, "statement");
	PQclear(r);
	return rc;
}

static enum db_rc
pq_tx(void *h, enum db_tx what)
{
	struct pq *p = h;
	enum db_rc rc;

	if ((rc = pq_ensure(p)) != DB_OK)
		return rc;
	return pq_simple(p, pq_tx_sql[what]);
}

static void
pq_close(void *h)
{
	struct pq *p = h;

	if (p == NULL)
		return;
	PQfinish(p->c);
	free(p);
}

static int
pq_check_schema(struct pq *p, char *err, size_t errlen)
{
	PGresult *r = PQexec(p->c, "SELECT coalesce(max(version), 0) FROM schema_version");
	int ok = r != NULL && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
	    atoi(PQgetvalue(r, 0, 0)) >= 1;

	if (!ok) {
		pq_note(p, "schema_version",
		    r && PQresultStatus(r) != PGRES_TUPLES_OK ? PQresultErrorMessage(r) : "empty");
		snprintf(err, errlen,
		    "the shop schema is not there (%s); simd --init-db creates"
		    " it",
		    p->emsg);
	}
	PQclear(r);
	return ok ? 0 : -1;
}

static void *
pq_open(const char *url, unsigned timeout_ms, char *err, size_t errlen)
{
	/* Keywords after dbname would override the URL's: the URL's connect_timeout wins. */
	const char *const keys[] = { "connect_timeout", "dbname", "application_name", NULL };
	const char *const vals[] = { "10", url, "shopd", NULL };
	struct pq *p;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->timeout_ms = timeout_ms;
	p->c = PQconnectdbParams(keys, vals, 1);
	if (p->c == NULL || PQstatus(p->c) != CONNECTION_OK) {
		pq_note(p, "cannot connect", p->c ? PQerrorMessage(p->c) : "out of memory");
		snprintf(err, errlen, "postgres: %s", p->emsg);
		pq_close(p);
		return NULL;
	}
	PQsetNoticeProcessor(p->c, pq_quiet, NULL);
	if (pq_check_schema(p, err, errlen) == -1) {
		pq_close(p);
		return NULL;
	}
	if (pq_setup(p) != DB_OK) {
		snprintf(err, errlen, "postgres: the shop schema is incomplete: %s", p->emsg);
		pq_close(p);
		return NULL;
	}
	return p;
}

static const char *
pq_errmsg(void *h)
{
	return ((struct pq *)h)->emsg;
}

static int
pq_isnull(const struct db_row *r, int col)
{
	return PQgetisnull(r->res, r->row, col);
}

static int64_t
pq_integer(const struct db_row *r, int col)
{
	return strtoll(PQgetvalue(r->res, r->row, col), NULL, 10);
}

static const char *
pq_text(const struct db_row *r, int col)
{
	return PQgetvalue(r->res, r->row, col);
}

const struct db_driver db_pg_driver = {
	.name = "postgres",
	.open = pq_open,
	.close = pq_close,
	.query = pq_query,
	.tx = pq_tx,
	.errmsg = pq_errmsg,
	.isnull = pq_isnull,
	.integer = pq_integer,
	.text = pq_text,
};
