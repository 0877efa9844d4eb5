/* db.c - picks the driver a --db argument names, and the calls every driver shares. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"

struct db {
	const struct db_driver *drv;
	void *h;
	int in_tx;
};

static int
db_is_url(const char *where)
{
	return strncmp(where, "postgres://", 11) == 0 || strncmp(where, "postgresql://", 13) == 0;
}

struct db *
db_open(const char *where, unsigned timeout_ms, char *err, size_t errlen)
{
	const struct db_driver *drv = db_is_url(where) ? &db_pg_driver : &db_sqlite_driver;
	struct db *db;

	if ((db = calloc(1, sizeof(*db))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	db->drv = drv;
	if ((db->h = drv->open(where, timeout_ms, err, errlen)) == NULL) {
		free(db);
		return NULL;
	}
	return db;
}

void
db_free(struct db *db)
{
	if (db == NULL)
		return;
	db_rollback(db);
	db->drv->close(db->h);
	free(db);
}

const char *
db_driver(const struct db *db)
{
	return db->drv->name;
}

enum db_rc
db_query(struct db *db, enum db_stmt st, const struct db_param *p, int np, db_row_fn fn, void *arg,
    int64_t *changes)
{
	if (changes != NULL)
		*changes = 0;
	return db->drv->query(db->h, st, p, np, fn, arg, changes);
}

enum db_rc
db_begin(struct db *db)
{
	enum db_rc rc = db->drv->tx(db->h, DB_TX_BEGIN);

	db->in_tx = rc == DB_OK;
	return rc;
}

enum db_rc
db_commit(struct db *db)
{
	enum db_rc rc = db->drv->tx(db->h, DB_TX_COMMIT);

	if (rc != DB_OK)
		db_rollback(db);
	db->in_tx = 0;
	return rc;
}

void
db_rollback(struct db *db)
{
	if (db->in_tx)
		db->drv->tx(db->h, DB_TX_ROLLBACK);
	db->in_tx = 0;
}

const char *
db_errmsg(const struct db *db)
{
	return db->drv->errmsg(db->h);
}

int
db_isnull(const struct db_row *r, int col)
{
	return r->drv->isnull(r, col);
}

int64_t
db_int(const struct db_row *r, int col)
{
	return r->drv->integer(r, col);
}

const char *
db_text(const struct db_row *r, int col)
{
	return r->drv->text(r, col);
}
