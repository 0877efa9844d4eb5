/*
 * db_sqlite.c - shopd on the SQLite file simd writes (<data_dir>/shop.db).
 *
 * simd may be writing the same file from its own process: the file is in WAL
 * mode (readers never block the writer), writes take the lock up front
 * (BEGIN IMMEDIATE) and a busy lock is waited for up to the statement timeout
 * before the request is answered 503.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "sim/store.h"

#include "db.h"

static const char *const sq_sql[DB_NSTMT] = {
	[DB_USER] = "SELECT id, agent_id, name FROM users WHERE id = ?1",
	[DB_PRODUCT] = "SELECT id, store_id, category, name, price_cents FROM products"
		       " WHERE id = ?1",
	[DB_SEARCH] = "SELECT id, store_id, name, price_cents FROM products WHERE category = ?1"
		      " ORDER BY price_cents, id LIMIT ?2 OFFSET ?3",
	[DB_SEARCH_COUNT] = "SELECT count(*) FROM products WHERE category = ?1",
	[DB_CART] = "SELECT product_id, store_id, quantity, price_cents FROM cart_items"
		    " WHERE user_id = ?1 ORDER BY product_id, store_id",
	[DB_CART_CLEAR] = "DELETE FROM cart_items WHERE user_id = ?1",
	[DB_CART_INSERT] = "INSERT INTO cart_items(user_id, store_id, product_id, quantity,"
			   " price_cents, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[DB_WALLET] = "SELECT c.id, c.code, c.store_id, c.pct_off, c.min_spend_cents,"
		      " c.valid_from, c.valid_to, uc.redeemed_at, uc.order_key FROM user_coupons uc"
		      " JOIN coupons c ON c.id = uc.coupon_id WHERE uc.user_id = ?1 ORDER BY c.id",
	[DB_WALLET_ONE] =
	    "SELECT c.id, c.code, c.store_id, c.pct_off, c.min_spend_cents,"
	    " c.valid_from, c.valid_to, uc.redeemed_at, uc.order_key FROM user_coupons uc"
	    " JOIN coupons c ON c.id = uc.coupon_id WHERE uc.user_id = ?1 AND uc.coupon_id = ?2",
	[DB_SESSION_ID] = "SELECT id FROM shopping_sessions WHERE session_key = ?1",
	[DB_ORDER_GET] = "SELECT id, user_id, session_id, coupon_id, total_cents, created_at"
			 " FROM orders WHERE idem_key = ?1",
	[DB_ORDER_ITEMS] = "SELECT product_id, quantity, price_cents FROM order_items"
			   " WHERE order_id = ?1 ORDER BY product_id",
	[DB_ORDER_INSERT] = "INSERT INTO orders(idem_key, user_id, session_id, coupon_id,"
			    " total_cents, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
			    " ON CONFLICT (idem_key) DO NOTHING",
	[DB_ORDER_ITEM_INSERT] = "INSERT INTO order_items(order_id, product_id, quantity,"
				 " price_cents) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
	[DB_INTERACTION] = "INSERT INTO interactions(interaction_key, user_id, product_id,"
			   " kind, created_at) VALUES (?1, ?2, ?3, 'purchase', ?4)"
			   " ON CONFLICT (interaction_key) DO NOTHING",
	[DB_COUPON_REDEEM] = "UPDATE user_coupons SET redeemed_at = ?3, order_key = ?4"
			     " WHERE user_id = ?1 AND coupon_id = ?2 AND redeemed_at IS NULL",
};

static const char *const sq_tx_sql[] = {
	[DB_TX_BEGIN] = "BEGIN IMMEDIATE",
	[DB_TX_COMMIT] = "COMMIT",
	[DB_TX_ROLLBACK] = "ROLLBACK",
};

struct sq {
	sqlite3 *db;
	sqlite3_stmt *st[DB_NSTMT];
	sqlite3_stmt *tx[3];
	char emsg[200];
};

static enum db_rc
sq_rc(struct sq *s, int rc)
{
	snprintf(s->emsg, sizeof(s->emsg), "%s", sqlite3_errmsg(s->db));
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return DB_BUSY;
	case SQLITE_NOMEM: return DB_NOMEM;
	default: return DB_FAIL;
	}
}

static int
sq_bind(sqlite3_stmt *st, const struct db_param *p, int np)
{
	char iso[32];
	int i, rc = SQLITE_OK;

	for (i = 0; i < np && rc == SQLITE_OK; i++) {
		switch (p[i].type) {
		case DBP_NULL: rc = sqlite3_bind_null(st, i + 1); break;
		case DBP_INT: rc = sqlite3_bind_int64(st, i + 1, p[i].i); break;
		case DBP_TEXT:
			rc = sqlite3_bind_text(st, i + 1, p[i].s, -1, SQLITE_TRANSIENT);
			break;
		case DBP_TIME:
			store_time_iso(iso, sizeof(iso), p[i].i);
			rc = sqlite3_bind_text(st, i + 1, iso, -1, SQLITE_TRANSIENT);
			break;
		}
	}
	return rc;
}

static enum db_rc
sq_query(void *h, enum db_stmt which, const struct db_param *p, int np, db_row_fn fn, void *arg,
    int64_t *changes)
{
	struct sq *s = h;
	sqlite3_stmt *st = s->st[which];
	struct db_row row = { &db_sqlite_driver, st, 0 };
	enum db_rc out = DB_OK;
	int rc;

	if ((rc = sq_bind(st, p, np)) != SQLITE_OK) {
		out = sq_rc(s, rc);
		goto done;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (fn != NULL && (out = fn(&row, arg)) != DB_OK)
			goto done;
		row.row++;
	}
	if (rc != SQLITE_DONE)
		out = sq_rc(s, rc);
	else if (changes != NULL)
		*changes = sqlite3_changes(s->db);
done:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return out;
}

static enum db_rc
sq_tx(void *h, enum db_tx what)
{
	struct sq *s = h;
	sqlite3_stmt *st = s->tx[what];
	int rc;

	if (what == DB_TX_ROLLBACK && sqlite3_get_autocommit(s->db))
		return DB_OK; /* SQLite already rolled it back */
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? DB_OK : sq_rc(s, rc);
}

static void
sq_close(void *h)
{
	struct sq *s = h;
	int i;

	if (s == NULL)
		return;
	for (i = 0; i < DB_NSTMT; i++)
		sqlite3_finalize(s->st[i]);
	for (i = 0; i < 3; i++)
		sqlite3_finalize(s->tx[i]);
	sqlite3_close(s->db);
	free(s);
}

/* The schema is simd's: its version table says whether --init-db has run. */
static int
sq_check_schema(struct sq *s, const char *path, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc, version = 0;

	rc = sqlite3_prepare_v2(
	    s->db, "SELECT coalesce(max(version), 0) FROM schema_version", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		version = sqlite3_column_int(st, 0);
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK)
		snprintf(err, errlen,
		    "%s: the shop schema is not there (%s); simd --init-db"
		    " creates it",
		    path, sqlite3_errmsg(s->db));
	else if (version < 1)
		snprintf(err, errlen,
		    "%s: the shop schema is not there (schema_version is"
		    " empty); simd --init-db creates it",
		    path);
	sqlite3_finalize(st);
	return rc == SQLITE_OK && version >= 1 ? 0 : -1;
}

static int
sq_prepare_all(struct sq *s, const char *path, char *err, size_t errlen)
{
	int i, rc = SQLITE_OK;

	for (i = 0; i < DB_NSTMT && rc == SQLITE_OK; i++)
		rc = sqlite3_prepare_v3(
		    s->db, sq_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
	for (i = 0; i < 3 && rc == SQLITE_OK; i++)
		rc = sqlite3_prepare_v3(
		    s->db, sq_tx_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->tx[i], NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: the shop schema is incomplete: %s", path,
		    sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

/* WAL is simd's setting already; asking again costs nothing and says if it holds. */
static int
sq_configure(struct sq *s, const char *path, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *mode = NULL;
	int rc;

	rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
	if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		mode = sqlite3_column_text(st, 0);
	if (mode == NULL || strcmp((const char *)mode, "wal") != 0) {
		snprintf(err, errlen, "%s: cannot use WAL mode: %s", path,
		    mode ? (const char *)mode : sqlite3_errmsg(s->db));
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	rc = sqlite3_exec(
	    s->db, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

static void *
sq_open(const char *path, unsigned timeout_ms, char *err, size_t errlen)
{
	struct sq *s;
	int rc;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* Never SQLITE_OPEN_CREATE: a missing file is a missing schema. */
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		errno = s->db ? sqlite3_system_errno(s->db) : 0;
		snprintf(err, errlen, "%s: %s%s%s; simd --init-db creates the shop database", path,
		    s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc), errno ? ": " : "",
		    errno ? strerror(errno) : "");
		sq_close(s);
		return NULL;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, (int)timeout_ms);
	if (sq_check_schema(s, path, err, errlen) == -1 ||
	    sq_configure(s, path, err, errlen) == -1 ||
	    sq_prepare_all(s, path, err, errlen) == -1) {
		sq_close(s);
		return NULL;
	}
	return s;
}

static const char *
sq_errmsg(void *h)
{
	return ((struct sq *)h)->emsg;
}

static int
sq_isnull(const struct db_row *r, int col)
{
	return sqlite3_column_type(r->res, col) == SQLITE_NULL;
}

static int64_t
sq_integer(const struct db_row *r, int col)
{
	return sqlite3_column_int64(r->res, col);
}

static const char *
sq_text(const struct db_row *r, int col)
{
	const unsigned char *t = sqlite3_column_text(r->res, col);

	return t != NULL ? (const char *)t : "";
}

const struct db_driver db_sqlite_driver = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.query = sq_query,
	.tx = sq_tx,
	.errmsg = sq_errmsg,
	.isnull = sq_isnull,
	.integer = sq_integer,
	.text = sq_text,
};
