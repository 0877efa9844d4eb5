/*
 * pgsql.h - the PostgreSQL driver's SQL: schema migrations, the statements
 * prepared on every connection, the set-up statements, and array literals.
 *
 * Rows go to the server in bulk as array parameters unnested server-side
 * (INSERT ... SELECT FROM unnest($1::bigint[], ...)): one statement, one
 * fixed set of parameters whatever the number of rows, so it can be prepared.
 */
#ifndef SIM_PGSQL_H
#define SIM_PGSQL_H

#include <stddef.h>
#include <stdint.h>

#include "sim/pgconn.h"

/* A PostgreSQL array literal being built: {"a","b"} or {1,2}. */
struct pgarr {
	char *buf;
	size_t len, cap;
	unsigned n;
};

void pgarr_init(struct pgarr *a);
void pgarr_free(struct pgarr *a);
void pgarr_reset(struct pgarr *a);
/* Each returns 0, or -1 when memory ran out (the array is then unchanged). */
int pgarr_add_text(struct pgarr *a, const char *s);
int pgarr_add_int(struct pgarr *a, int64_t v);
/* The literal, valid until the next change; "{}" when empty, NULL out of memory. */
const char *pgarr_str(struct pgarr *a);

/* Statements prepared on every pool connection. */
enum pgsql_stmt {
	PGSQL_SESS_BEGIN,   /* $1 session_key, $2 user_id, $3 started (unix s) */
	PGSQL_USER_SHOPPED, /* $1 user_id, $2 at */
	PGSQL_BROWSE,       /* $1 category */
	PGSQL_CART_SET,     /* $1 user_id, $2 at, $3 store_ids[], $4 product_ids[], $5 qty[],
	                     * $6 price[] */
	PGSQL_CART_TRIM,    /* $1 user_id, $2 product_ids[]: lines of other products go */
	PGSQL_COUPONS,      /* $1 user_id, $2 now */
	PGSQL_ORDER,        /* $1 idem_key, $2 user_id, $3 session_key, $4 coupon_id (0 none),
	                     * $5 total, $6 at */
	PGSQL_ORDER_ITEMS,  /* $1 idem_key, $2 product_ids[], $3 qty[], $4 price[] */
	PGSQL_INTERACTIONS, /* $1 idem_key, $2 user_id, $3 at, $4 product_ids[] */
	PGSQL_REDEEM,       /* $1 user_id, $2 coupon_id, $3 at, $4 idem_key */
	PGSQL_CART_CLEAR,   /* $1 user_id */
	PGSQL_SESS_END,     /* $1 session_key, $2 at, $3 outcome */
	PGSQL_SESS_FAIL,    /* $1 session_key, $2 user_id, $3 started, $4 at, $5 reason */
	PGSQL_EVENTS,       /* $1 keys[], $2 session_keys[], $3 user_ids[], $4 types[],
	                     * $5 payloads[], $6 at[] */
	PGSQL_SESS_EVENTS,  /* $1 keys[], $2 session_key, $3 user_id, $4 types[], $5 payloads[],
	                     * $6 at[]: one session's */
	PGSQL_FENCE,        /* $1 run_id, $2 shard, $3 generation: first in a fenced write */
	PGSQL_BEGIN,        /* a step's transaction opens */
	PGSQL_COMMIT,       /* and commits: prepared too, as pgbench -M prepared sends them */
	PGSQL_NSTMTS
};
extern const struct pgstmt pgsql_prepare[PGSQL_NSTMTS]; /* PGSTMT_PREPARE, by id */

/* Set-up statements (run rarely: sent unprepared). */
extern const char pgsql_meta_get[];     /* key, value */
extern const char pgsql_meta_put[];     /* $1 keys[], $2 values[] */
extern const char pgsql_stores_put[];   /* $1 ids[], $2 names[] */
extern const char pgsql_products_put[]; /* $1 ids[], $2 store_ids[], $3 categories[],
                                          * $4 names[], $5 prices[] */
extern const char pgsql_coupons_put[];  /* $1 ids[], $2 store_ids[] (0 any), $3 codes[],
                                          * $4 pct[], $5 min_spend[], $6 from[], $7 to[] */
/* Before a new catalogue is written (each $1 = the new count), and after it. */
extern const char pgsql_products_trim[];
extern const char pgsql_coupons_trim[];  /* after pgsql_wallets_reset */
extern const char pgsql_stores_trim[];   /* after the products are rewritten */
extern const char pgsql_users_put[];     /* $1 ids[], $2 agent_ids[], $3 names[],
                                          * $4 personas[], $5 created (unix s) */
extern const char pgsql_wallets_put[];   /* $1 user_ids[], $2 coupon_ids[] */
extern const char pgsql_wallets_reset[]; /* unredeemed wallet rows of an old catalogue */
extern const char pgsql_analyze[];       /* the tables sessions read, once set up */

/* The newest schema version pgsql_migrate() brings a database to. */
int pgsql_schema_version(void);
/*
 * Brings the database to the newest schema: each missing migration in its own
 * transaction, under a transaction-scoped advisory lock so two daemons do not
 * race (a session-scoped one would stay behind a transaction pooler).  Idempotent.
 * Returns 0, or -1 with a one-line message.
 */
int pgsql_migrate(struct pgsync *s, char *err, size_t errlen);

#endif
