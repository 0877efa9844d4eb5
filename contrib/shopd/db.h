/*
 * db.h - shopd's database: the statements the shop runs, on SQLite or PostgreSQL.
 *
 * One connection, blocking calls: shopd is a reference backend for tests and
 * demos, and a request simply waits for its statements (each bounded by the
 * statement timeout).  Statements are named by enum db_stmt; each driver holds
 * the SQL for its dialect, so the shop logic above is written once.  Times are
 * passed as unix seconds (DBP_TIME) and read back as ISO-8601 UTC text
 * ("2026-01-05T09:00:00Z"), the form docs/schema.md gives for both drivers.
 */
#ifndef SHOPD_DB_H
#define SHOPD_DB_H

#include <stddef.h>
#include <stdint.h>

enum db_stmt {
	DB_USER,         /* $1 id -> id, agent_id, name */
	DB_PRODUCT,      /* $1 id -> id, store_id, category, name, price_cents */
	DB_SEARCH,       /* $1 category, $2 limit, $3 offset -> id, store_id, name, price */
	DB_SEARCH_COUNT, /* $1 category -> count */
	DB_CART,         /* $1 user -> product_id, store_id, quantity, price_cents */
	DB_CART_CLEAR,   /* $1 user */
	DB_CART_INSERT,  /* $1 user, $2 store, $3 product, $4 quantity, $5 price, $6 time */
	DB_WALLET,       /* $1 user -> WALLET_COLUMNS, ordered by coupon id */
	DB_WALLET_ONE,   /* $1 user, $2 coupon -> WALLET_COLUMNS */
	DB_SESSION_ID,   /* $1 session_key -> id */
	DB_ORDER_GET,    /* $1 idem_key -> id, user_id, session_id, coupon_id, total, created */
	DB_ORDER_ITEMS,  /* $1 order id -> product_id, quantity, price_cents */
	DB_ORDER_INSERT, /* $1 idem, $2 user, $3 session id|NULL, $4 coupon|NULL, $5 total,
	                     * $6 time; ON CONFLICT (idem_key) DO NOTHING */
	DB_ORDER_ITEM_INSERT, /* $1 order id, $2 product, $3 quantity, $4 price */
	DB_INTERACTION,       /* $1 key, $2 user, $3 product, $4 time: kind 'purchase' */
	DB_COUPON_REDEEM,     /* $1 user, $2 coupon, $3 time, $4 order key */
	DB_NSTMT
};

/* DB_WALLET columns: id, code, store_id, pct_off, min_spend_cents, valid_from, valid_to,
 * redeemed_at, order_key. */
enum { WC_ID, WC_CODE, WC_STORE, WC_PCT, WC_MIN, WC_FROM, WC_TO, WC_REDEEMED, WC_ORDER_KEY };

enum db_rc {
	DB_OK = 0,
	DB_BUSY,    /* locked, serialisation failure, deadlock: worth a retry */
	DB_TIMEOUT, /* the statement timeout fired */
	DB_DOWN,    /* the connection broke (PostgreSQL): reconnected for the next call */
	DB_NOMEM,
	DB_FAIL /* the database refused the statement */
};

enum db_tx { DB_TX_BEGIN, DB_TX_COMMIT, DB_TX_ROLLBACK };

enum db_ptype { DBP_NULL, DBP_INT, DBP_TEXT, DBP_TIME };

struct db_param {
	enum db_ptype type;
	int64_t i;     /* DBP_INT, DBP_TIME (unix seconds) */
	const char *s; /* DBP_TEXT */
};

#define DB_MAX_PARAMS 8

struct db;
struct db_row;

/* Called for each row; anything but DB_OK stops the query and is its result. */
typedef enum db_rc (*db_row_fn)(const struct db_row *row, void *arg);

/*
 * Opens "postgres://..." / "postgresql://..." with libpq, anything else as a
 * SQLite file, which must exist.  Refuses (NULL, a one-line reason in err)
 * when the shop schema is not there: shopd never creates it.
 */
struct db *db_open(const char *where, unsigned timeout_ms, char *err, size_t errlen);
void db_free(struct db *db);
const char *db_driver(const struct db *db); /* "sqlite" or "postgres" */

/* *changes (may be NULL) gets the rows the statement inserted, updated or deleted. */
enum db_rc db_query(struct db *db, enum db_stmt st, const struct db_param *p, int np, db_row_fn fn,
    void *arg, int64_t *changes);
enum db_rc db_begin(struct db *db); /* a write transaction */
enum db_rc db_commit(struct db *db);
void db_rollback(struct db *db);            /* harmless when no transaction is open */
const char *db_errmsg(const struct db *db); /* the last failure, for the log */

int db_isnull(const struct db_row *r, int col);
int64_t db_int(const struct db_row *r, int col);
const char *db_text(const struct db_row *r, int col); /* "" for NULL */

/* For the drivers: one table of functions each. */
struct db_driver {
	const char *name;
	void *(*open)(const char *where, unsigned timeout_ms, char *err, size_t errlen);
	void (*close)(void *h);
	enum db_rc (*query)(void *h, enum db_stmt st, const struct db_param *p, int np,
	    db_row_fn fn, void *arg, int64_t *changes);
	enum db_rc (*tx)(void *h, enum db_tx what);
	const char *(*errmsg)(void *h);
	int (*isnull)(const struct db_row *r, int col);
	int64_t (*integer)(const struct db_row *r, int col);
	const char *(*text)(const struct db_row *r, int col);
};

struct db_row {
	const struct db_driver *drv;
	void *res; /* the driver's statement or result */
	int row;
};

extern const struct db_driver db_sqlite_driver;
extern const struct db_driver db_pg_driver;

#endif
