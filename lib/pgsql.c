/*
 * pgsql.c - the PostgreSQL driver's SQL text, migrations and array literals.
 *
 * The schema is docs/schema.md's, in PostgreSQL types: explicit ids are bigint,
 * generated ones identity columns, timestamps timestamptz, JSON jsonb.  Times
 * travel as unix seconds and become timestamps through to_timestamp(), which
 * is exact for whole seconds.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/pgsql.h"

/* ---- array literals ---- */

void
pgarr_init(struct pgarr *a)
{
	memset(a, 0, sizeof(*a));
}

void
pgarr_free(struct pgarr *a)
{
	free(a->buf);
	pgarr_init(a);
}

void
pgarr_reset(struct pgarr *a)
{
	a->len = 0;
	a->n = 0;
}

/* Room for `more' bytes plus the closing "}" and NUL. */
static int
pgarr_grow(struct pgarr *a, size_t more)
{
	size_t need = a->len + more + 3, cap;
	char *b;

	if (need <= a->cap)
		return 0;
	cap = a->cap ? a->cap : 256;
	while (cap < need)
		cap *= 2;
	if ((b = realloc(a->buf, cap)) == NULL)
		return -1;
	a->buf = b;
	a->cap = cap;
	return 0;
}

/* Opens the next element: "{" for the first, "," after. */
static void
pgarr_sep(struct pgarr *a)
{
	a->buf[a->len++] = a->n++ == 0 ? '{' : ',';
}

int
pgarr_add_text(struct pgarr *a, const char *s)
{
	size_t n = strlen(s), run;

	/* Worst case every byte escaped, plus the quotes and the separator. */
	if (pgarr_grow(a, 2 * n + 3) != 0)
		return -1;
	pgarr_sep(a);
	a->buf[a->len++] = '"';
	while (*s != '\0') {
		run = strcspn(s, "\"\\"); /* copied as is, up to the next quote or backslash */
		memcpy(a->buf + a->len, s, run);
		a->len += run;
		s += run;
		if (*s != '\0') {
			a->buf[a->len++] = '\\';
			a->buf[a->len++] = *s++;
		}
	}
	a->buf[a->len++] = '"';
	return 0;
}

int
pgarr_add_int(struct pgarr *a, int64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRId64, v);

	if (pgarr_grow(a, (size_t)n + 1) != 0)
		return -1;
	pgarr_sep(a);
	memcpy(a->buf + a->len, num, (size_t)n);
	a->len += (size_t)n;
	return 0;
}

const char *
pgarr_str(struct pgarr *a)
{
	if (pgarr_grow(a, 0) != 0)
		return NULL;
	if (a->n == 0) {
		memcpy(a->buf, "{}", 3);
		return a->buf;
	}
	a->buf[a->len] = '}';
	a->buf[a->len + 1] = '\0';
	return a->buf;
}

/* ---- statements ---- */

/* clang-format off */
#define P(id, sql) [id] = { PGSTMT_PREPARE, #id, sql, 0, NULL }
/* clang-format on */

const struct pgstmt pgsql_prepare[PGSQL_NSTMTS] = {
	P(PGSQL_SESS_BEGIN,
	    "INSERT INTO shopping_sessions (session_key, user_id, started_at)"
	    " VALUES ($1, $2, to_timestamp($3)) ON CONFLICT (session_key) DO NOTHING"),
	P(PGSQL_USER_SHOPPED, "UPDATE users SET last_shopped_at = to_timestamp($2) WHERE id = $1"),
	P(PGSQL_BROWSE,
	    "SELECT id, price_cents FROM products WHERE category = $1"
	    " ORDER BY price_cents LIMIT 50"),
	P(PGSQL_CART_SET,
	    "INSERT INTO cart_items (user_id, store_id, product_id, quantity, price_cents,"
	    " updated_at) SELECT $1, x.s, x.p, x.q, x.c, to_timestamp($2)"
	    " FROM unnest($3::bigint[], $4::bigint[], $5::integer[], $6::integer[])"
	    " AS x(s, p, q, c)"
	    " ON CONFLICT (user_id, store_id, product_id) DO UPDATE SET"
	    " quantity = excluded.quantity, price_cents = excluded.price_cents,"
	    " updated_at = excluded.updated_at"),
	P(PGSQL_CART_TRIM,
	    "DELETE FROM cart_items WHERE user_id = $1 AND product_id <> ALL ($2::bigint[])"),
	P(PGSQL_COUPONS,
	    "SELECT c.id, c.pct_off, c.min_spend_cents FROM user_coupons uc"
	    " JOIN coupons c ON c.id = uc.coupon_id WHERE uc.user_id = $1"
	    " AND uc.redeemed_at IS NULL"
	    " AND to_timestamp($2) BETWEEN c.valid_from AND c.valid_to"),
	P(PGSQL_ORDER,
	    "INSERT INTO orders (idem_key, user_id, session_id, coupon_id, total_cents,"
	    " created_at) VALUES ($1, $2,"
	    " (SELECT id FROM shopping_sessions WHERE session_key = $3),"
	    " NULLIF($4::bigint, 0), $5, to_timestamp($6))"
	    " ON CONFLICT (idem_key) DO NOTHING"),
	P(PGSQL_ORDER_ITEMS,
	    "INSERT INTO order_items (order_id, product_id, quantity, price_cents)"
	    " SELECT o.id, x.p, x.q, x.c FROM orders o,"
	    " unnest($2::bigint[], $3::integer[], $4::integer[]) AS x(p, q, c)"
	    " WHERE o.idem_key = $1 ON CONFLICT DO NOTHING"),
	P(PGSQL_INTERACTIONS,
	    "INSERT INTO interactions (interaction_key, user_id, product_id, kind, created_at)"
	    " SELECT $1 || ':' || x.p, $2, x.p, 'purchase', to_timestamp($3)"
	    " FROM unnest($4::bigint[]) AS x(p)"
	    " ON CONFLICT (interaction_key) DO NOTHING"),
	P(PGSQL_REDEEM,
	    "UPDATE user_coupons SET redeemed_at = to_timestamp($3), order_key = $4"
	    " WHERE user_id = $1 AND coupon_id = $2 AND redeemed_at IS NULL"),
	P(PGSQL_CART_CLEAR, "DELETE FROM cart_items WHERE user_id = $1"),
	P(PGSQL_SESS_END,
	    "UPDATE shopping_sessions SET ended_at = to_timestamp($2), outcome = $3"
	    " WHERE session_key = $1"),
	P(PGSQL_SESS_FAIL,
	    "INSERT INTO shopping_sessions (session_key, user_id, started_at, ended_at, outcome,"
	    " error) VALUES ($1, $2, to_timestamp($3), to_timestamp($4), 'failed', $5)"
	    " ON CONFLICT (session_key) DO UPDATE SET ended_at = excluded.ended_at,"
	    " outcome = 'failed', error = excluded.error"),
	P(PGSQL_EVENTS,
	    "INSERT INTO shopping_session_events (event_key, session_id, user_id, event_type,"
	    " payload, created_at)"
	    " SELECT x.k, s.id, x.u, x.t, x.p::jsonb, to_timestamp(x.c)"
	    " FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[],"
	    " $6::bigint[]) WITH ORDINALITY AS x(k, sk, u, t, p, c, n)"
	    " LEFT JOIN shopping_sessions s ON s.session_key = x.sk"
	    " ORDER BY x.n" /* ids follow the order things happened, whatever the join */
	    " ON CONFLICT (event_key) DO NOTHING"),
	/*
	 * One session's events, with its steps (a chain): the simplest shape, whose
	 * generic plan the server keeps (the batches' join is planned anew for
	 * each few rows and cost a session 3 times what its steps did).
	 */
	P(PGSQL_SESS_EVENTS,
	    "INSERT INTO shopping_session_events (event_key, session_id, user_id, event_type,"
	    " payload, created_at)"
	    " SELECT x.k, (SELECT id FROM shopping_sessions WHERE session_key = $2), $3, x.t,"
	    " x.p::jsonb, to_timestamp(x.c)"
	    " FROM unnest($1::text[], $4::text[], $5::text[], $6::bigint[]) AS x(k, t, p, c)"
	    " ON CONFLICT (event_key) DO NOTHING"),
	P(PGSQL_FENCE, "SELECT simd_fence($1::text, $2::integer, $3::bigint)"),
	P(PGSQL_BEGIN, "BEGIN"),
	P(PGSQL_COMMIT, "COMMIT"),
};

#undef P

const char pgsql_meta_get[] = "SELECT key, value FROM sim_meta";

const char pgsql_meta_put[] =
    "INSERT INTO sim_meta (key, value) SELECT * FROM unnest($1::text[], $2::text[])"
    " ON CONFLICT (key) DO UPDATE SET value = excluded.value";

const char pgsql_stores_put[] =
    "INSERT INTO stores (id, name) SELECT * FROM unnest($1::bigint[], $2::text[])"
    " ON CONFLICT (id) DO UPDATE SET name = excluded.name";

const char pgsql_products_put[] =
    "INSERT INTO products (id, store_id, category, name, price_cents)"
    " SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[],"
    " $5::integer[])"
    " ON CONFLICT (id) DO UPDATE SET store_id = excluded.store_id,"
    " category = excluded.category, name = excluded.name,"
    " price_cents = excluded.price_cents";

const char pgsql_coupons_put[] =
    "INSERT INTO coupons (id, store_id, code, pct_off, min_spend_cents, valid_from,"
    " valid_to) SELECT x.i, NULLIF(x.s, 0), x.c, x.p, x.m, to_timestamp(x.f),"
    " to_timestamp(x.t) FROM unnest($1::bigint[], $2::bigint[], $3::text[],"
    " $4::integer[], $5::integer[], $6::bigint[], $7::bigint[]) AS x(i, s, c, p, m, f, t)"
    " ON CONFLICT (id) DO UPDATE SET store_id = excluded.store_id,"
    " code = excluded.code, pct_off = excluded.pct_off,"
    " min_spend_cents = excluded.min_spend_cents, valid_from = excluded.valid_from,"
    " valid_to = excluded.valid_to";

/*
 * Rows of a previous, different catalogue go, as in the sqlite driver: products
 * and stores past the new counts, unredeemed wallet entries (rewritten next),
 * and coupons past the new count that no redemption refers to (those stay, as
 * history).  Stores go last, once no product points at them.
 */
const char pgsql_products_trim[] = "DELETE FROM products WHERE id > $1";
const char pgsql_coupons_trim[] = "DELETE FROM coupons c WHERE c.id > $1 AND NOT EXISTS"
				  " (SELECT 1 FROM user_coupons uc WHERE uc.coupon_id = c.id)";
const char pgsql_stores_trim[] = "DELETE FROM stores WHERE id > $1";

/* Rewriting an unchanged row would only bloat the table: skip it. */
const char pgsql_users_put[] =
    "INSERT INTO users (id, agent_id, name, persona, created_at)"
    " SELECT x.i, x.a, x.n, x.p::jsonb, to_timestamp($5)"
    " FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS x(i, a, n, p)"
    " ON CONFLICT (id) DO UPDATE SET agent_id = excluded.agent_id,"
    " name = excluded.name, persona = excluded.persona"
    " WHERE users.agent_id IS DISTINCT FROM excluded.agent_id"
    " OR users.name IS DISTINCT FROM excluded.name"
    " OR users.persona IS DISTINCT FROM excluded.persona";

const char pgsql_wallets_put[] =
    "INSERT INTO user_coupons (user_id, coupon_id)"
    " SELECT * FROM unnest($1::bigint[], $2::bigint[]) ON CONFLICT DO NOTHING";

const char pgsql_wallets_reset[] = "DELETE FROM user_coupons WHERE redeemed_at IS NULL";

/*
 * Statistics for the planner, once the catalogue and the users are in.  With
 * none (a new database: autovacuum comes a minute later, if the run lasts
 * that long) a browse read every product of its category and sorted them, a
 * bitmap heap scan and a sort instead of the index scan that stops at LIMIT
 * 50; pgbench's template database, analyzed by then, never paid that.
 */
const char pgsql_analyze[] = "ANALYZE users, user_coupons, stores, products, coupons";

/* ---- migrations ---- */

/* Version 1: the schema of docs/schema.md.  Append, never edit, a migration. */
static const char pgsql_schema_v1[] =
    "CREATE TABLE IF NOT EXISTS sim_meta (key text PRIMARY KEY, value text NOT NULL);"
    "CREATE TABLE IF NOT EXISTS users (id bigint PRIMARY KEY,"
    " agent_id text NOT NULL UNIQUE, name text NOT NULL, persona jsonb NOT NULL,"
    " created_at timestamptz, last_shopped_at timestamptz);"
    "CREATE TABLE IF NOT EXISTS stores (id bigint PRIMARY KEY, name text NOT NULL);"
    "CREATE TABLE IF NOT EXISTS products (id bigint PRIMARY KEY,"
    " store_id bigint NOT NULL REFERENCES stores(id), category text NOT NULL,"
    " name text NOT NULL, price_cents integer NOT NULL CHECK (price_cents > 0));"
    "CREATE INDEX IF NOT EXISTS products_category_price ON products(category, price_cents);"
    "CREATE TABLE IF NOT EXISTS coupons (id bigint PRIMARY KEY, store_id bigint NULL,"
    " code text NOT NULL, pct_off integer NOT NULL, min_spend_cents integer NOT NULL,"
    " valid_from timestamptz, valid_to timestamptz);"
    "CREATE TABLE IF NOT EXISTS user_coupons ("
    " user_id bigint NOT NULL REFERENCES users(id),"
    " coupon_id bigint NOT NULL REFERENCES coupons(id),"
    " redeemed_at timestamptz NULL, order_key text NULL,"
    " PRIMARY KEY (user_id, coupon_id));"
    "CREATE TABLE IF NOT EXISTS shopping_sessions ("
    " id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " session_key text NOT NULL UNIQUE, user_id bigint NOT NULL,"
    " started_at timestamptz NOT NULL, ended_at timestamptz NULL, outcome text NULL);"
    "CREATE TABLE IF NOT EXISTS shopping_session_events ("
    " id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " event_key text NOT NULL UNIQUE,"
    " session_id bigint REFERENCES shopping_sessions(id), user_id bigint NOT NULL,"
    " event_type text NOT NULL, payload jsonb NOT NULL, created_at timestamptz NOT NULL);"
    "CREATE INDEX IF NOT EXISTS shopping_session_events_session_id"
    " ON shopping_session_events(session_id);"
    "CREATE TABLE IF NOT EXISTS cart_items (user_id bigint NOT NULL,"
    " store_id bigint NOT NULL, product_id bigint NOT NULL,"
    " quantity integer NOT NULL CHECK (quantity > 0), price_cents integer NOT NULL,"
    " updated_at timestamptz, PRIMARY KEY (user_id, store_id, product_id));"
    "CREATE TABLE IF NOT EXISTS orders ("
    " id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " idem_key text NOT NULL UNIQUE, user_id bigint NOT NULL,"
    " session_id bigint REFERENCES shopping_sessions(id), coupon_id bigint NULL,"
    " total_cents integer NOT NULL, created_at timestamptz NOT NULL);"
    "CREATE TABLE IF NOT EXISTS order_items ("
    " order_id bigint NOT NULL REFERENCES orders(id), product_id bigint NOT NULL,"
    " quantity integer NOT NULL, price_cents integer NOT NULL,"
    " PRIMARY KEY (order_id, product_id));"
    "CREATE TABLE IF NOT EXISTS interactions ("
    " id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " interaction_key text NOT NULL UNIQUE, user_id bigint NOT NULL,"
    " product_id bigint NOT NULL, kind text NOT NULL, created_at timestamptz NOT NULL);";

/* Version 2: a session that could not finish ends 'failed' and says why. */
static const char pgsql_schema_v2[] =
    "ALTER TABLE shopping_sessions ADD COLUMN IF NOT EXISTS error text NULL;";

/*
 * Version 3: the cluster's own tables (cluster = on, DESIGN.md 9).  A run lives in
 * simd_runs and is cut into simd_shards; a member claims a shard by raising its
 * generation under the shard's advisory lock, and every write transaction of the
 * holder calls simd_fence() first: the shared lock makes a claim wait for the writes
 * in flight, and a generation that moved on aborts the write (SQLSTATE SF001).
 * A lease is the holder's heartbeat in simd_members, judged by the server's clock.
 */
static const char pgsql_schema_v3[] =
    "CREATE TABLE IF NOT EXISTS simd_runs (run_id text PRIMARY KEY,"
    " params text NOT NULL, shards integer NOT NULL CHECK (shards > 0),"
    " state text NOT NULL, concurrency integer NULL,"
    " created_at timestamptz NOT NULL DEFAULT now(),"
    " updated_at timestamptz NOT NULL DEFAULT now());"
    "CREATE TABLE IF NOT EXISTS simd_shards ("
    " run_id text NOT NULL REFERENCES simd_runs(run_id) ON DELETE CASCADE,"
    " shard integer NOT NULL CHECK (shard >= 0), state text NOT NULL DEFAULT 'free',"
    " holder text NULL, generation bigint NOT NULL DEFAULT 0,"
    " cycle integer NOT NULL DEFAULT 0, counts jsonb NULL,"
    " claimed_at timestamptz NULL, finished_at timestamptz NULL,"
    " PRIMARY KEY (run_id, shard));"
    "CREATE TABLE IF NOT EXISTS simd_members (member text PRIMARY KEY,"
    " host text NOT NULL, pid integer NOT NULL, run_id text NULL, shard integer NULL,"
    " cycle integer NULL, lag_s double precision NULL, counts jsonb NULL,"
    " pool_cap integer NOT NULL DEFAULT 0,"
    " joined_at timestamptz NOT NULL DEFAULT now(),"
    " heartbeat timestamptz NOT NULL DEFAULT now());"
    "CREATE TABLE IF NOT EXISTS simd_checkpoints ("
    " run_id text NOT NULL REFERENCES simd_runs(run_id) ON DELETE CASCADE,"
    " shard integer NOT NULL, cycle integer NOT NULL, generation bigint NOT NULL,"
    " reason text NOT NULL, counts jsonb NULL, state bytea NOT NULL,"
    " written_at timestamptz NOT NULL DEFAULT now(),"
    " PRIMARY KEY (run_id, shard, cycle));"
    "CREATE OR REPLACE FUNCTION simd_fence(p_run text, p_shard integer, p_gen bigint)"
    " RETURNS void LANGUAGE plpgsql AS $f$ BEGIN"
    " PERFORM pg_advisory_xact_lock_shared(hashtext(p_run), p_shard);"
    " IF NOT EXISTS (SELECT 1 FROM simd_shards WHERE run_id = p_run"
    " AND shard = p_shard AND generation = p_gen AND state = 'held') THEN"
    " RAISE EXCEPTION 'fenced: shard % of run % is no longer held at generation %',"
    " p_shard, p_run, p_gen USING ERRCODE = 'SF001';"
    " END IF; END $f$;";

/*
 * Version 4: a shard's checkpoint carries the wall time the shard had run and
 * its lag, so that a member taking it over keeps the run's pace (pacer.h).
 */
static const char pgsql_schema_v4[] =
    "ALTER TABLE simd_checkpoints"
    " ADD COLUMN IF NOT EXISTS elapsed_s double precision NOT NULL DEFAULT 0,"
    " ADD COLUMN IF NOT EXISTS lag_s double precision NOT NULL DEFAULT 0;";

static const char *const pgsql_migrations[] = { pgsql_schema_v1, pgsql_schema_v2, pgsql_schema_v3,
	pgsql_schema_v4 };
#define PGSQL_VERSION ((int)(sizeof(pgsql_migrations) / sizeof(pgsql_migrations[0])))

/* Any constant will do, as long as it is this project's: "simd" in ASCII. */
#define PGSQL_LOCK "1936289124"

int
pgsql_schema_version(void)
{
	return PGSQL_VERSION;
}

static void
pgsql_version_row(void *arg, int idx, const PGresult *r)
{
	int *version = arg;
	const char *v;
	char *end;
	long n;

	if (idx != 1 || PQntuples(r) != 1 || PQnfields(r) != 1)
		return;
	v = PQgetvalue(r, 0, 0);
	n = strtol(v, &end, 10);
	if (*v != '\0' && *end == '\0' && n >= 0 && n < 1000000)
		*version = (int)n;
}

static int
pgsql_simple(struct pgsync *s, const char *sql, char *err, size_t errlen)
{
	struct pgstmt st = { PGSTMT_SIMPLE, NULL, sql, 0, NULL };

	return pgsync_exec(s, &st, 1, NULL, NULL, NULL, err, errlen);
}

/* Applies migration `to' (1-based) and records it, in one transaction. */
static int
pgsql_apply(struct pgsync *s, int to, char *err, size_t errlen)
{
	const char *sql = pgsql_migrations[to - 1];
	size_t n = strlen(sql) + 400;
	char *text = malloc(n);
	int rc;

	if (text == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* never lowers a version another daemon recorded meanwhile (migrations are idempotent) */
	snprintf(text, n,
	    "BEGIN;SELECT pg_advisory_xact_lock(" PGSQL_LOCK ");%s"
	    "INSERT INTO schema_version SELECT %d WHERE NOT EXISTS"
	    " (SELECT 1 FROM schema_version WHERE version >= %d);"
	    "DELETE FROM schema_version WHERE version < (SELECT max(version) FROM schema_version);"
	    "COMMIT",
	    sql, to, to);
	rc = pgsql_simple(s, text, err, errlen);
	free(text);
	return rc;
}

int
pgsql_migrate(struct pgsync *s, char *err, size_t errlen)
{
	struct pgstmt head[2] = {
		{ PGSTMT_SIMPLE, NULL,
		    "BEGIN;SELECT pg_advisory_xact_lock(" PGSQL_LOCK ");"
		    "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL);COMMIT",
		    0, NULL },
		{ PGSTMT_PARAMS, NULL, "SELECT coalesce(max(version), 0) FROM schema_version", 0,
		    NULL },
	};
	char sub[200];
	int version = -1, rc;

	if (pgsync_exec(s, head, 2, pgsql_version_row, &version, NULL, sub, sizeof(sub)) != 0) {
		snprintf(err, errlen, "schema: %s", sub);
		return -1;
	}
	rc = 0;
	if (version < 0) {
		snprintf(err, errlen, "schema: cannot read schema_version");
		rc = -1;
	} else if (version > PGSQL_VERSION) {
		snprintf(err, errlen,
		    "schema: the database is at version %d, newer than this"
		    " simd knows (%d)",
		    version, PGSQL_VERSION);
		rc = -1;
	}
	while (rc == 0 && version < PGSQL_VERSION) {
		if ((rc = pgsql_apply(s, ++version, sub, sizeof(sub))) != 0)
			snprintf(err, errlen, "schema: migration %d: %s", version, sub);
	}
	return rc;
}
