/* personadb.c - the LLM persona cache on SQLite (see personadb.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "sim/personadb.h"
#include "sim/store.h"
#include "sim/text.h"

struct personadb {
	sqlite3 *db;
	sqlite3_stmt *get, *put, *count;
};

static const char personadb_schema[] =
    "PRAGMA journal_mode = WAL;"
    "PRAGMA synchronous = NORMAL;"
    "CREATE TABLE IF NOT EXISTS personas ("
    " model TEXT NOT NULL,"
    " prompt_hash TEXT NOT NULL,"
    " seed INTEGER NOT NULL,"
    " agent_id TEXT NOT NULL,"
    " persona TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " PRIMARY KEY (model, prompt_hash, seed, agent_id)) WITHOUT ROWID;";

static int
personadb_fail(struct personadb *d, const char *what, char *err, size_t errlen)
{
	return text_errf(err, errlen, "personas cache: %s: %s", what,
	    d->db != NULL ? sqlite3_errmsg(d->db) : "out of memory");
}

struct personadb *
personadb_open(const char *path, char *err, size_t errlen)
{
	struct personadb *d = calloc(1, sizeof(*d));

	if (d == NULL) {
		text_errf(err, errlen, "personas cache: out of memory");
		return NULL;
	}
	if (sqlite3_open_v2(path, &d->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
		SQLITE_OK ||
	    sqlite3_busy_timeout(d->db, 5000) != SQLITE_OK ||
	    sqlite3_exec(d->db, personadb_schema, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(d->db,
		"SELECT persona FROM personas WHERE model = ? AND prompt_hash = ? AND seed = ? "
		"AND agent_id = ?",
		-1, &d->get, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(d->db,
		"INSERT OR REPLACE INTO personas (model, prompt_hash, seed, agent_id, persona, "
		"created_at) VALUES (?, ?, ?, ?, ?, ?)",
		-1, &d->put, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(d->db, "SELECT count(*) FROM personas", -1, &d->count, NULL) !=
		SQLITE_OK) {
		char why[256];

		personadb_fail(d, path, why, sizeof(why));
		text_errf(err, errlen, "%s", why);
		personadb_close(d);
		return NULL;
	}
	return d;
}

void
personadb_close(struct personadb *d)
{
	if (d == NULL)
		return;
	sqlite3_finalize(d->get);
	sqlite3_finalize(d->put);
	sqlite3_finalize(d->count);
	sqlite3_close(d->db);
	free(d);
}

static int
personadb_bind_key(
    sqlite3_stmt *st, const char *model, const char *hash, uint64_t seed, uint32_t agent)
{
	char id[STORE_AGENT_ID_MAX];

	store_agent_id(id, sizeof(id), agent);
	return sqlite3_bind_text(st, 1, model, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, hash, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, (sqlite3_int64)seed) != SQLITE_OK ||
	    sqlite3_bind_text(st, 4, id, -1, SQLITE_TRANSIENT) != SQLITE_OK;
}

int
personadb_get(struct personadb *d, const char *model, const char *hash, uint64_t seed,
    uint32_t agent, char **json, char *err, size_t errlen)
{
	int rc;

	*json = NULL;
	sqlite3_reset(d->get);
	if (personadb_bind_key(d->get, model, hash, seed, agent) != 0)
		return personadb_fail(d, "lookup", err, errlen);
	rc = sqlite3_step(d->get);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return personadb_fail(d, "lookup", err, errlen);
	*json = strdup((const char *)sqlite3_column_text(d->get, 0));
	sqlite3_reset(d->get);
	if (*json == NULL)
		return text_errf(err, errlen, "personas cache: out of memory");
	return 1;
}

int
personadb_put(struct personadb *d, const char *model, const char *hash, uint64_t seed,
    uint32_t agent, const char *json, char *err, size_t errlen)
{
	sqlite3_reset(d->put);
	if (personadb_bind_key(d->put, model, hash, seed, agent) != 0 ||
	    sqlite3_bind_text(d->put, 5, json, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_int64(d->put, 6, (sqlite3_int64)time(NULL)) != SQLITE_OK ||
	    sqlite3_step(d->put) != SQLITE_DONE) {
		personadb_fail(d, "insert", err, errlen);
		sqlite3_reset(d->put);
		return -1;
	}
	sqlite3_reset(d->put);
	return 0;
}

long long
personadb_count(struct personadb *d)
{
	long long n = -1;

	sqlite3_reset(d->count);
	if (sqlite3_step(d->count) == SQLITE_ROW)
		n = sqlite3_column_int64(d->count, 0);
	sqlite3_reset(d->count);
	return n;
}
