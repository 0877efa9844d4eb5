/*
 * pgkeys.c - a run's rows in the PostgreSQL store, by key prefix (see
 * store.h, struct store_keyjob).  A purge batch is one statement: the batch's
 * rows picked by id above the cursor, and what hangs on them deleted with
 * them in data-modifying CTEs, so that the foreign keys hold at its end and
 * no transaction spans more than one batch.  Unnamed statements only: this
 * works through a transaction-mode pooler.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/pgkeys.h"

#define PGK_SQL_MAX 1024

static const char pgk_count_sql[] =
    "SELECT (SELECT count(*) FROM order_items WHERE order_id IN"
    " (SELECT id FROM orders WHERE starts_with(idem_key, $1))),"
    " (SELECT count(*) FROM orders WHERE starts_with(idem_key, $1)),"
    " (SELECT count(*) FROM user_coupons WHERE starts_with(order_key, $1)),"
    " (SELECT count(*) FROM interactions WHERE starts_with(interaction_key, $1)),"
    " (SELECT count(*) FROM shopping_session_events WHERE starts_with(event_key, $1)),"
    " (SELECT count(*) FROM shopping_sessions WHERE starts_with(session_key, $1)),"
    " (SELECT count(*) FROM shopping_sessions WHERE starts_with(session_key, $1)"
    " AND outcome IS NULL)";

static const char pgk_open_sql[] =
    "SELECT DISTINCT user_id FROM shopping_sessions WHERE starts_with(session_key, $1)"
    " AND outcome IS NULL ORDER BY user_id LIMIT 100";

/* simd's own connections (application_name, store.h) left idle inside a transaction */
static const char pgk_idle_sql[] =
    "SELECT count(*), coalesce(max(extract(epoch FROM now() - xact_start)), 0)"
    " FROM pg_stat_activity WHERE (application_name = $1 OR application_name LIKE $1 || '/%')"
    " AND state IN ('idle in transaction', 'idle in transaction (aborted)')";

/* $1 prefix, $2 cursor, $3 limit: found, last id, order_items, user_coupons, deleted */
static const char pgk_orders_sql[] =
    "WITH b AS (SELECT id, idem_key FROM orders WHERE id > $2::bigint"
    " AND starts_with(idem_key, $1) ORDER BY id LIMIT $3::int),"
    " i AS (DELETE FROM order_items WHERE order_id IN (SELECT id FROM b) RETURNING 1),"
    " c AS (UPDATE user_coupons SET redeemed_at = NULL, order_key = NULL"
    " WHERE order_key IN (SELECT idem_key FROM b) RETURNING 1),"
    " d AS (DELETE FROM orders WHERE id IN (SELECT id FROM b) RETURNING 1)"
    " SELECT (SELECT count(*) FROM b), (SELECT coalesce(max(id), $2::bigint) FROM b),"
    " (SELECT count(*) FROM i), (SELECT count(*) FROM c), (SELECT count(*) FROM d)";

static const char pgk_batch_fmt[] =
    "WITH b AS (SELECT id FROM %s WHERE id > $2::bigint AND starts_with(%s, $1)"
    " ORDER BY id LIMIT $3::int),"
    " d AS (DELETE FROM %s WHERE id IN (SELECT id FROM b) RETURNING 1)"
    " SELECT (SELECT count(*) FROM b), (SELECT coalesce(max(id), $2::bigint) FROM b),"
    " 0, 0, (SELECT count(*) FROM d)";

static const enum store_keyed_table pgk_phase_table[STORE_P_DONE] = {
	STORE_K_ORDERS,
	STORE_K_INTERACTIONS,
	STORE_K_EVENTS,
	STORE_K_SESSIONS,
};

struct pgk_job {
	struct pgjob job;
	struct store_keyjob *kj;
	struct pgstmt st[3];
	const char *pv[3];
	const char *appname[1];
	char cursor[24], limit[16];
	char sql[PGK_SQL_MAX];
	int bad;
};

static uint64_t
pgk_u64(const PGresult *r, int col)
{
	return PQgetisnull(r, 0, col) ? 0 : strtoull(PQgetvalue(r, 0, col), NULL, 10);
}

static void
pgk_result(struct pgjob *job, int idx, const PGresult *r)
{
	struct pgk_job *x = (struct pgk_job *)job;
	struct store_keyjob *j = x->kj;
	int i;

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		x->bad = 1;
		return;
	}
	if (!j->purge && idx == 1) {
		for (i = 0; i < PQntuples(r) && j->nopen_agents < STORE_OPEN_AGENTS; i++)
			j->open_agents[j->nopen_agents++] =
			    (uint32_t)(strtoul(PQgetvalue(r, i, 0), NULL, 10) - 1);
		return;
	}
	if (PQntuples(r) != 1 || PQnfields(r) != (j->purge ? 5 : idx == 2 ? 2 : STORE_KEYED + 1)) {
		x->bad = 1;
		return;
	}
	if (!j->purge && idx == 2) {
		j->idle_in_tx = (int64_t)pgk_u64(r, 0);
		j->idle_oldest_s = strtod(PQgetvalue(r, 0, 1), NULL);
		return;
	}
	if (!j->purge) {
		for (i = 0; i < STORE_KEYED; i++)
			j->rows[i] = pgk_u64(r, i);
		j->open_sessions = pgk_u64(r, STORE_KEYED);
		return;
	}
	j->found = (uint32_t)pgk_u64(r, 0);
	j->cursor = (int64_t)strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	if (j->phase == STORE_P_ORDERS) {
		j->rows[STORE_K_ORDER_ITEMS] = pgk_u64(r, 2);
		j->rows[STORE_K_COUPONS] = pgk_u64(r, 3);
	}
	j->rows[pgk_phase_table[j->phase]] = pgk_u64(r, 4);
}

static void
pgk_done(struct pgjob *job, enum store_err err, const char *msg)
{
	struct pgk_job *x = (struct pgk_job *)job;
	struct store_keyjob *j = x->kj;
	char line[PGJOB_MSG_MAX + 32];

	if (err == STORE_OK && x->bad) {
		err = STORE_ERR_DATA;
		msg = "an answer of an unexpected shape";
	}
	if (err != STORE_OK) {
		snprintf(line, sizeof(line), "postgres: %s: %s", j->purge ? "purge" : "count",
		    msg != NULL ? msg : "failed");
		memset(j->rows, 0, sizeof(j->rows));
	}
	free(x);
	j->cb(err, err == STORE_OK ? NULL : line, j->arg);
}

void
pgkeys_start(struct pgjobs *r, struct store_keyjob *j)
{
	struct pgk_job *x = calloc(1, sizeof(*x));
	const char *t = store_phase_table(j->phase);

	memset(j->rows, 0, sizeof(j->rows));
	j->found = 0;
	j->open_sessions = 0;
	j->nopen_agents = 0;
	j->idle_in_tx = -1;
	if (j->purge && t == NULL) {
		free(x);
		pgjobs_done_later(
		    r, j->cb, j->arg, STORE_ERR_QUERY, "postgres: purge: no such phase");
		return;
	}
	if (x == NULL) {
		pgjobs_done_later(r, j->cb, j->arg, STORE_ERR_NOMEM, "postgres: out of memory");
		return;
	}
	x->kj = j;
	x->pv[0] = j->prefix;
	snprintf(x->cursor, sizeof(x->cursor), "%lld", (long long)j->cursor);
	snprintf(x->limit, sizeof(x->limit), "%lu", (unsigned long)(j->limit ? j->limit : 1));
	x->pv[1] = x->cursor;
	x->pv[2] = x->limit;
	x->appname[0] = STORE_APPNAME_PREFIX;
	for (int i = 0; i < 3; i++) {
		x->st[i].kind = PGSTMT_PARAMS;
		x->st[i].name = j->purge ? "purge" : "count";
		x->st[i].params = x->pv;
		x->st[i].nparams = 1;
	}
	x->job.n = 1;
	if (!j->purge) {
		x->st[0].sql = pgk_count_sql;
		x->st[1].sql = pgk_open_sql;
		x->st[2].sql = pgk_idle_sql;
		x->st[2].params = x->appname;
		x->job.n = 3;
	} else if (j->phase == STORE_P_ORDERS) {
		x->st[0].sql = pgk_orders_sql;
		x->st[0].nparams = 3;
	} else {
		snprintf(x->sql, sizeof(x->sql), pgk_batch_fmt, t, store_phase_key(j->phase), t);
		x->st[0].sql = x->sql;
		x->st[0].nparams = 3;
	}
	x->job.st = x->st;
	x->job.result = pgk_result;
	x->job.done = pgk_done;
	pgjobs_start(r, &x->job);
}
