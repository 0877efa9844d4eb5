/*
 * sqkeys.c - a run's rows in the SQLite store, by key prefix (see store.h,
 * struct store_keyjob).  Keys are compared as a range, [prefix, prefix with
 * its last byte + 1), which the UNIQUE index of each key column serves.
 */
#include <stdio.h>
#include <string.h>

#include "sim/sqkeys.h"

#define SQK_SQL_MAX 512
#define SQK_STR_(x) #x
#define SQK_STR(x) SQK_STR_(x)

static const char sqk_count_sql[] =
    "SELECT (SELECT count(*) FROM order_items WHERE order_id IN"
    " (SELECT id FROM orders WHERE idem_key >= ?1 AND idem_key < ?2)),"
    " (SELECT count(*) FROM orders WHERE idem_key >= ?1 AND idem_key < ?2),"
    " (SELECT count(*) FROM user_coupons WHERE order_key >= ?1 AND order_key < ?2),"
    " (SELECT count(*) FROM interactions WHERE interaction_key >= ?1 AND interaction_key < ?2),"
    " (SELECT count(*) FROM shopping_session_events WHERE event_key >= ?1 AND event_key < ?2),"
    " (SELECT count(*) FROM shopping_sessions WHERE session_key >= ?1 AND session_key < ?2),"
    " (SELECT count(*) FROM shopping_sessions WHERE session_key >= ?1 AND session_key < ?2"
    " AND outcome IS NULL)";

static const char sqk_open_sql[] =
    "SELECT DISTINCT user_id FROM shopping_sessions WHERE session_key >= ?1"
    " AND session_key < ?2 AND outcome IS NULL ORDER BY user_id LIMIT " SQK_STR(STORE_OPEN_AGENTS);

/* ?1, ?2: the key range; ?3: the cursor; ?4: the batch's last id (found by the first). */
#define SQK_RANGE "id > ?3 AND id <= ?4 AND %s >= ?1 AND %s < ?2"

static int
sqk_fail(sqlite3 *db, int rc, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s", rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(db));
	return rc;
}

/* Prepares sql with the key range bound (and the cursor, last id when given). */
static int
sqk_prepare(sqlite3 *db, const char *sql, const struct store_keyjob *j, sqlite3_int64 last,
    sqlite3_stmt **st)
{
	char hi[STORE_PREFIX_MAX];
	size_t n = strlen(j->prefix);
	int rc;

	memcpy(hi, j->prefix, n + 1);
	if (n > 0)
		hi[n - 1]++; /* "s7:" .. "s7;" */
	if ((rc = sqlite3_prepare_v2(db, sql, -1, st, NULL)) != SQLITE_OK)
		return rc;
	rc = sqlite3_bind_text(*st, 1, j->prefix, -1, SQLITE_TRANSIENT);
	rc |= sqlite3_bind_text(*st, 2, hi, -1, SQLITE_TRANSIENT);
	if (sqlite3_bind_parameter_count(*st) >= 3)
		rc |= sqlite3_bind_int64(*st, 3, j->cursor);
	if (sqlite3_bind_parameter_count(*st) >= 4)
		rc |= sqlite3_bind_int64(*st, 4, last);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(*st);
		*st = NULL;
		return SQLITE_ERROR;
	}
	return SQLITE_OK;
}

/* Runs a write; *changed gets the rows it changed. */
static int
sqk_write(sqlite3 *db, const char *sql, const struct store_keyjob *j, sqlite3_int64 last,
    uint64_t *changed)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = sqk_prepare(db, sql, j, last, &st)) != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return rc == SQLITE_ROW ? SQLITE_ERROR : rc;
	*changed = (uint64_t)sqlite3_changes(db);
	return SQLITE_OK;
}

static int
sqk_count(sqlite3 *db, struct store_keyjob *j)
{
	sqlite3_stmt *st;
	int rc, i;

	if ((rc = sqk_prepare(db, sqk_count_sql, j, 0, &st)) != SQLITE_OK)
		return rc;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (i = 0; i < STORE_KEYED; i++)
			j->rows[i] = (uint64_t)sqlite3_column_int64(st, i);
		j->open_sessions = (uint64_t)sqlite3_column_int64(st, STORE_KEYED);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK || (rc = sqk_prepare(db, sqk_open_sql, j, 0, &st)) != SQLITE_OK)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && j->nopen_agents < STORE_OPEN_AGENTS)
		j->open_agents[j->nopen_agents++] = (uint32_t)(sqlite3_column_int64(st, 0) - 1);
	sqlite3_finalize(st);
	j->idle_in_tx = -1; /* one connection, ours: no transaction outlives a batch */
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* The batch: how many rows of the phase's table, and the last id among them. */
static int
sqk_select(sqlite3 *db, struct store_keyjob *j, sqlite3_int64 *last)
{
	const char *t = store_phase_table(j->phase), *k = store_phase_key(j->phase);
	char sql[SQK_SQL_MAX];
	sqlite3_stmt *st;
	int rc;

	snprintf(sql, sizeof(sql),
	    "SELECT count(*), coalesce(max(id), 0) FROM (SELECT id FROM %s"
	    " WHERE id > ?3 AND %s >= ?1 AND %s < ?2 ORDER BY id LIMIT %lu)",
	    t, k, k, (unsigned long)j->limit);
	if ((rc = sqk_prepare(db, sql, j, 0, &st)) != SQLITE_OK)
		return rc;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		j->found = (uint32_t)sqlite3_column_int64(st, 0);
		*last = sqlite3_column_int64(st, 1);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/* The rows that hang on the batch's orders: their items, the coupons they redeemed. */
static int
sqk_order_deps(sqlite3 *db, struct store_keyjob *j, sqlite3_int64 last)
{
#define SQK_ORDERS \
	"(SELECT %s FROM orders WHERE id > ?3 AND id <= ?4 AND idem_key >= ?1 AND idem_key < ?2)"
	char sql[SQK_SQL_MAX];
	int rc;

	snprintf(sql, sizeof(sql), "DELETE FROM order_items WHERE order_id IN " SQK_ORDERS, "id");
	if ((rc = sqk_write(db, sql, j, last, &j->rows[STORE_K_ORDER_ITEMS])) != SQLITE_OK)
		return rc;
	snprintf(sql, sizeof(sql),
	    "UPDATE user_coupons SET redeemed_at = NULL, order_key = NULL WHERE order_key IN " SQK_ORDERS,
	    "idem_key");
	return sqk_write(db, sql, j, last, &j->rows[STORE_K_COUPONS]);
}

static const enum store_keyed_table sqk_phase_table[STORE_P_DONE] = {
	STORE_K_ORDERS,
	STORE_K_INTERACTIONS,
	STORE_K_EVENTS,
	STORE_K_SESSIONS,
};

static int
sqk_batch(sqlite3 *db, struct store_keyjob *j)
{
	const char *k = store_phase_key(j->phase);
	char sql[SQK_SQL_MAX];
	sqlite3_int64 last = 0;
	int rc;

	if ((rc = sqk_select(db, j, &last)) != SQLITE_OK || j->found == 0)
		return rc;
	if (j->phase == STORE_P_ORDERS && (rc = sqk_order_deps(db, j, last)) != SQLITE_OK)
		return rc;
	snprintf(
	    sql, sizeof(sql), "DELETE FROM %s WHERE " SQK_RANGE, store_phase_table(j->phase), k, k);
	if ((rc = sqk_write(db, sql, j, last, &j->rows[sqk_phase_table[j->phase]])) != SQLITE_OK)
		return rc;
	j->cursor = last;
	return SQLITE_OK;
}

int
sqkeys_run(sqlite3 *db, struct store_keyjob *j, char *err, size_t errlen)
{
	int64_t cursor = j->cursor;
	int rc;

	memset(j->rows, 0, sizeof(j->rows));
	j->found = 0;
	j->open_sessions = 0;
	j->nopen_agents = 0;
	if (!j->purge) {
		if ((rc = sqk_count(db, j)) != SQLITE_OK)
			return sqk_fail(db, rc, err, errlen);
		return SQLITE_OK;
	}
	if (j->phase >= STORE_P_DONE || j->limit == 0) {
		snprintf(err, errlen, "purge: no such phase, or an empty batch");
		return SQLITE_MISUSE;
	}
	if ((rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK)
		return sqk_fail(db, rc, err, errlen);
	if ((rc = sqk_batch(db, j)) == SQLITE_OK)
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		sqk_fail(db, rc, err, errlen);
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		memset(j->rows, 0, sizeof(j->rows));
		j->cursor = cursor;
	}
	return rc;
}
