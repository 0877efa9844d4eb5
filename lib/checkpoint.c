/*
 * checkpoint.c - <data_dir>/checkpoints.db: where a run's state goes so that
 * `start --resume` (or a restart after kill -9) can continue it.
 *
 * One checkpoint is one row, written in one transaction together with the
 * pruning of old rows; what the row's columns hold is ckptcodec.c's.
 * Everything read back is checked (meta, lengths, CRC-32, then the codec's
 * checks) before it reaches the engine: a damaged row is an error naming the
 * file and the row, never a crash.
 *
 * WAL with synchronous=NORMAL: a committed checkpoint survives the process
 * dying (kill -9), which is what resume needs.  After a power loss the newest
 * checkpoints may be missing but the file is intact, and an older one
 * replays to the same rows (DESIGN.md 7).  FULL would add an fsync to every
 * checkpoint, and checkpoint_interval = 0 writes one per cycle.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/stat.h>

#include <jansson.h>
#include <sqlite3.h>

#include "sim/checkpoint.h"
#include "sim/ckptcodec.h"
#include "sim/log.h"
#include "sim/platform.h"
#include "sim/text.h"

#define CP_FILE "checkpoints.db"
#define CP_APP "simd-checkpoints"
#define CP_FORMAT 1 /* of the file: tables and JSON fields */
#define CP_BUSY_TIMEOUT_MS 5000
#define CP_WAL_PAGES 256      /* of 64 KiB: the WAL is folded back at ~16 MiB */
#define CP_WAL_LIMIT 16777216 /* and truncated back to that */

#define CP_WHY_MAX 160
#define CP_AT_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

#define CP_STR_(x) #x
#define CP_STR(x) CP_STR_(x)

/* What reading a row can find besides success (the codec's). */
#define CP_OK CKPT_OK
#define CP_DAMAGED CKPT_DAMAGED
#define CP_NOMEM CKPT_NOMEM

struct checkpoint {
	sqlite3 *db;
	char *path;
	int keep;
	unsigned char *buf; /* the state being written, reused */
	size_t cap;
	int has_last; /* the newest written, loaded, or found at open */
	int64_t last_id, last_at;
	uint32_t last_cycle;
	struct ckpt_crc crc;
	dev_t dev; /* of the file opened: another one there means a filesystem mounted again */
	ino_t ino;
	int failed; /* the last write failed: try the file at the path again before the next */
};

/* One row to insert. */
struct cp_row {
	const struct run_state *snap;
	const char *reason, *params, *counts;
	size_t size;
	uint32_t crc;
	int64_t at;
};

/* state_crc sits before state so that reading a row's metadata never walks the blob. */
static const char cp_schema[] =
    "BEGIN IMMEDIATE;"
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value NOT NULL);"
    "INSERT OR IGNORE INTO meta(key, value) VALUES ('app', '" CP_APP "'),"
    " ('format', " CP_STR(
	CP_FORMAT) ");"
		   "CREATE TABLE IF NOT EXISTS checkpoints (id INTEGER PRIMARY KEY AUTOINCREMENT,"
		   " run_id TEXT NOT NULL, at INTEGER NOT NULL, cycle INTEGER NOT NULL,"
		   " agents INTEGER NOT NULL, reason TEXT NOT NULL, params TEXT NOT NULL,"
		   " counts TEXT NOT NULL, elapsed_s REAL NOT NULL, lag_s REAL NOT NULL,"
		   " state_crc INTEGER NOT NULL, state BLOB NOT NULL);"
		   "COMMIT";

/* The columns every reader starts with, in the order of enum cp_col. */
#define CP_INFO_COLS "id, run_id, at, cycle, agents, reason, length(state)"
enum cp_col {
	CP_C_ID,
	CP_C_RUN_ID,
	CP_C_AT,
	CP_C_CYCLE,
	CP_C_AGENTS,
	CP_C_REASON,
	CP_C_SIZE,
	CP_C_PARAMS,
	CP_C_COUNTS,
	CP_C_ELAPSED,
	CP_C_LAG,
	CP_C_CRC,
	CP_C_STATE
};
#define CP_LOAD_COLS CP_INFO_COLS ", params, counts, elapsed_s, lag_s, state_crc, state"

static const char cp_sql_insert[] =
    "INSERT INTO checkpoints (run_id, at, cycle, agents, reason, params, counts,"
    " elapsed_s, lag_s, state_crc, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
    " ?10, ?11)";
static const char cp_sql_prune[] = "DELETE FROM checkpoints WHERE id NOT IN"
				   " (SELECT id FROM checkpoints ORDER BY id DESC LIMIT ?1)";
static const char cp_sql_load_id[] = "SELECT " CP_LOAD_COLS " FROM checkpoints WHERE id = ?1";
static const char cp_sql_load_newest[] =
    "SELECT " CP_LOAD_COLS " FROM checkpoints ORDER BY id DESC LIMIT 1";
static const char cp_sql_list[] = "SELECT " CP_INFO_COLS " FROM checkpoints ORDER BY id DESC";
static const char cp_sql_newest[] =
    "SELECT id, at, cycle FROM checkpoints ORDER BY id DESC LIMIT 1";

/* With the system's reason when the file itself failed ("Read-only file system"). */
static void
cp_dberr(const struct checkpoint *c, char *err, size_t errlen, const char *what)
{
	int e = 0;

	switch (sqlite3_errcode(c->db) & 0xff) {
	case SQLITE_IOERR:
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_FULL:
		if ((e = sqlite3_system_errno(c->db)) == 0)
			e = platform_write_errno(c->path);
		break;
	}
	snprintf(err, errlen, CP_FILE ": %s: %s: %s%s%s%s", c->path, what, sqlite3_errmsg(c->db),
	    e ? " (" : "", e ? strerror(e) : "", e ? ")" : "");
}

static void
cp_nomem(const struct checkpoint *c, char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, CP_FILE ": %s: %s: out of memory", c->path, what);
}

/* Runs sql; on failure reports it and rolls back an open transaction. */
static int
cp_exec(struct checkpoint *c, const char *sql, const char *what, char *err, size_t errlen)
{
	if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	cp_dberr(c, err, errlen, what);
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/*
 * Opening.
 */

/* The first read of the file: garbage fails here, before anything is written. */
static int
cp_count_tables(struct checkpoint *c, int *n, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(c->db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*n = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
		return 0;
	}
	sqlite3_finalize(st);
	rc = sqlite3_errcode(c->db) & 0xff;
	if (rc == SQLITE_NOTADB)
		snprintf(err, errlen, CP_FILE ": %s is not a simd checkpoint file (%s)", c->path,
		    sqlite3_errmsg(c->db));
	else if (rc == SQLITE_CORRUPT)
		snprintf(
		    err, errlen, CP_FILE ": %s is damaged (%s)", c->path, sqlite3_errmsg(c->db));
	else
		cp_dberr(c, err, errlen, "reading");
	return -1;
}

/* Copies a meta value for a message, without letting odd bytes through. */
static void
cp_meta_text(sqlite3_stmt *st, char *buf, size_t len)
{
	const unsigned char *v = sqlite3_column_text(st, 1);
	size_t i;

	snprintf(buf, len, "%s", v != NULL ? (const char *)v : "");
	for (i = 0; buf[i] != '\0'; i++)
		if (!text_printable(&buf[i], 1))
			buf[i] = '?';
}

static int
cp_check_meta(struct checkpoint *c, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	char app[40] = "", format[40] = "\"\"";
	const char *key;
	int rc, ours = 0;

	rc = sqlite3_prepare_v2(c->db, "SELECT key, value FROM meta", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, CP_FILE ": %s is not a simd checkpoint file (%s)", c->path,
		    sqlite3_errmsg(c->db));
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((key = (const char *)sqlite3_column_text(st, 0)) == NULL)
			continue;
		if (strcmp(key, "app") == 0) {
			cp_meta_text(st, app, sizeof(app));
		} else if (strcmp(key, "format") == 0) {
			ours = sqlite3_column_type(st, 1) == SQLITE_INTEGER &&
			    sqlite3_column_int64(st, 1) == CP_FORMAT;
			cp_meta_text(st, format, sizeof(format));
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		cp_dberr(c, err, errlen, "reading meta");
		return -1;
	}
	if (strcmp(app, CP_APP) != 0) {
		snprintf(err, errlen,
		    CP_FILE ": %s is not a simd checkpoint file (meta app is "
			    "\"%s\", not \"" CP_APP "\")",
		    c->path, app);
		return -1;
	}
	if (!ours) {
		snprintf(err, errlen,
		    CP_FILE ": %s has an incompatible format %s (this simd reads "
			    "format %d)",
		    c->path, format, CP_FORMAT);
		return -1;
	}
	return 0;
}

static int
cp_configure(struct checkpoint *c, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *mode;
	int rc, wal = 0;

	rc = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		mode = sqlite3_column_text(st, 0);
		wal = mode != NULL && strcmp((const char *)mode, "wal") == 0;
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK) {
		cp_dberr(c, err, errlen, "setting WAL mode");
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	if (!wal) {
		snprintf(err, errlen, CP_FILE ": %s: cannot use WAL mode", c->path);
		return -1;
	}
	return cp_exec(c,
	    "PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=" CP_STR(
		CP_WAL_PAGES) "; PRAGMA journal_size_limit=" CP_STR(CP_WAL_LIMIT),
	    "configuring", err, errlen);
}

static int
cp_open_db(struct checkpoint *c, char *err, size_t errlen)
{
	struct stat sb;
	int rc, ntables = 0, e;

	rc = sqlite3_open_v2(c->path, &c->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		/* "unable to open database file" alone does not say why. */
		e = c->db != NULL ? sqlite3_system_errno(c->db) : 0;
		snprintf(err, errlen, CP_FILE ": %s: %s%s%s%s", c->path,
		    c->db != NULL ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc), e ? " (" : "",
		    e ? strerror(e) : "", e ? ")" : "");
		return -1;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, CP_BUSY_TIMEOUT_MS);
	if (cp_count_tables(c, &ntables, err, errlen) == -1)
		return -1;
	/* A foreign database is refused before WAL mode or our tables touch it. */
	if (ntables > 0 && cp_check_meta(c, err, errlen) == -1)
		return -1;
	/*
	 * A new file gets 64 KiB pages: a state is up to megabytes, and in 4 KiB
	 * pages its overflow chain makes a write several times slower.
	 */
	if (ntables == 0 && cp_exec(c, "PRAGMA page_size=65536", "configuring", err, errlen) == -1)
		return -1;
	if (cp_configure(c, err, errlen) == -1 ||
	    cp_exec(c, cp_schema, "creating tables", err, errlen) == -1)
		return -1;
	if (ntables == 0 && cp_check_meta(c, err, errlen) == -1)
		return -1;
	if (stat(c->path, &sb) == 0) {
		c->dev = sb.st_dev;
		c->ino = sb.st_ino;
	}
	return 0;
}

/* What checkpoint_last_json() reports before anything is written or loaded. */
static void
cp_find_last(struct checkpoint *c)
{
	sqlite3_stmt *st = NULL;
	int64_t at;

	if (sqlite3_prepare_v2(c->db, cp_sql_newest, -1, &st, NULL) != SQLITE_OK)
		return;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 1) == SQLITE_INTEGER &&
	    sqlite3_column_type(st, 2) == SQLITE_INTEGER) {
		at = sqlite3_column_int64(st, 1);
		if (at >= 0 && at <= CP_AT_MAX && sqlite3_column_int64(st, 2) >= 0 &&
		    sqlite3_column_int64(st, 2) <= UINT32_MAX) {
			c->has_last = 1;
			c->last_id = sqlite3_column_int64(st, 0);
			c->last_at = at;
			c->last_cycle = (uint32_t)sqlite3_column_int64(st, 2);
		}
	}
	sqlite3_finalize(st);
}

struct checkpoint *
checkpoint_open(const char *data_dir, int keep, char *err, size_t errlen)
{
	struct checkpoint *c;
	size_t n;

	if (data_dir == NULL || data_dir[0] == '\0') {
		snprintf(err, errlen, CP_FILE ": data_dir is not set");
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto nomem;
	n = strlen(data_dir) + sizeof("/" CP_FILE);
	if ((c->path = malloc(n)) == NULL)
		goto nomem;
	snprintf(c->path, n, "%s/" CP_FILE, data_dir);
	checkpoint_set_keep(c, keep);
	ckpt_crc_init(&c->crc);
	if (cp_open_db(c, err, errlen) == -1) {
		checkpoint_close(c);
		return NULL;
	}
	cp_find_last(c);
	return c;
nomem:
	snprintf(err, errlen, CP_FILE ": out of memory");
	checkpoint_close(c);
	return NULL;
}

void
checkpoint_close(struct checkpoint *c)
{
	if (c == NULL)
		return;
	sqlite3_close(c->db);
	free(c->path);
	free(c->buf);
	free(c);
}

void
checkpoint_set_keep(struct checkpoint *c, int keep)
{
	if (c != NULL)
		c->keep = keep < 1 ? 1 : keep;
}

/*
 * Checks shared by writing and loading: what a resume can rely on.
 */

/*
 * Writing.
 */

/* Bytes of the encoded state, or 0 (with why) when an agent cannot be encoded. */
/* The state buffer only grows: the next checkpoint is about as large. */
static int
cp_reserve(struct checkpoint *c, size_t size)
{
	unsigned char *b;
	size_t cap = c->cap > 0 ? c->cap : 4096;

	while (cap < size)
		cap = cap > SIZE_MAX / 2 ? size : cap * 2;
	if (cap == c->cap)
		return 0;
	if ((b = realloc(c->buf, cap)) == NULL)
		return -1;
	c->buf = b;
	c->cap = cap;
	return 0;
}

static int
cp_bind_row(sqlite3_stmt *st, const struct cp_row *r)
{
	const struct run_state *s = r->snap;
	int rc;

	rc = sqlite3_bind_text(st, 1, s->params.run_id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, r->at);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, s->cycle);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, s->params.agents);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 5, r->reason, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 6, r->params, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 7, r->counts, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_double(st, 8, s->elapsed_s);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_double(st, 9, s->lag_s);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 10, r->crc);
	return rc;
}

/* Runs one statement of the write transaction; rolls back on failure. */
static int
cp_write_step(
    struct checkpoint *c, sqlite3_stmt *st, int rc, const char *what, char *err, size_t errlen)
{
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_DONE) {
		sqlite3_finalize(st);
		return 0;
	}
	cp_dberr(c, err, errlen, what);
	sqlite3_finalize(st);
	sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static int
cp_insert(struct checkpoint *c, const struct cp_row *r, int64_t *id, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (cp_exec(c, "BEGIN IMMEDIATE", "writing a checkpoint", err, errlen) == -1)
		return -1;
	rc = sqlite3_prepare_v2(c->db, cp_sql_insert, -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = cp_bind_row(st, r)) == SQLITE_OK)
		rc = sqlite3_bind_blob64(st, 11, c->buf, r->size, SQLITE_STATIC);
	if (cp_write_step(c, st, rc, "writing a checkpoint", err, errlen) == -1)
		return -1;
	*id = sqlite3_last_insert_rowid(c->db);
	rc = sqlite3_prepare_v2(c->db, cp_sql_prune, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 1, c->keep);
	if (cp_write_step(c, st, rc, "pruning old checkpoints", err, errlen) == -1)
		return -1;
	return cp_exec(c, "COMMIT", "writing a checkpoint", err, errlen);
}

static void
cp_set_last(struct checkpoint *c, const struct checkpoint_info *in)
{
	c->has_last = 1;
	c->last_id = in->id;
	c->last_at = in->at;
	c->last_cycle = in->cycle;
}

static void
cp_fill_info(struct checkpoint_info *in, const struct cp_row *r, int64_t id)
{
	memset(in, 0, sizeof(*in));
	in->id = id;
	snprintf(in->run_id, sizeof(in->run_id), "%s", r->snap->params.run_id);
	in->at = r->at;
	in->cycle = r->snap->cycle;
	in->agents = r->snap->params.agents;
	in->size = r->size;
	snprintf(in->reason, sizeof(in->reason), "%s", r->reason);
}

/*
 * After a failed write, the file at the path may be another one: the data
 * directory's filesystem, turned read-only by an error, mounted again (the
 * descriptors open on the old one never write again).
 */
static int
cp_remounted(const struct checkpoint *c)
{
	struct stat sb;

	return c->failed && stat(c->path, &sb) == 0 && (sb.st_dev != c->dev || sb.st_ino != c->ino);
}

/*
 * A file removed (or replaced) under a running daemon takes every checkpoint
 * written to it with it: the open handle writes into an unlinked inode.  Made
 * again, data directory included, before a write; the old handle is kept when
 * that fails, so that what it holds can still be read.
 */
static int
cp_reopen_if_moved(struct checkpoint *c, char *err, size_t errlen)
{
	sqlite3 *old = c->db;
	char dir[4096];
	char *slash;
	int moved = 0, one = 1;

	if (cp_remounted(c)) {
		log_warnx(CP_FILE ": %s is another file now (its filesystem mounted again?): "
				  "writing to it",
		    c->path);
	} else if (sqlite3_file_control(c->db, "main", SQLITE_FCNTL_HAS_MOVED, &moved) !=
		SQLITE_OK ||
	    !moved) {
		return 0;
	} else {
		log_warnx(CP_FILE ": %s was removed or replaced while simd ran, and the "
				  "checkpoints in it with it; writing to a new one",
		    c->path);
	}
	snprintf(dir, sizeof(dir), "%s", c->path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir)
		*slash = '\0';
	c->db = NULL;
	if ((slash != NULL && platform_mkdir_p(dir, err, errlen) != 0) ||
	    cp_open_db(c, err, errlen) != 0) {
		sqlite3_close(c->db);
		c->db = old;
		return -1;
	}
	/* "<path>-wal" is the new file's now: closing the last connection would delete it */
	sqlite3_file_control(old, "main", SQLITE_FCNTL_PERSIST_WAL, &one);
	sqlite3_close(old);
	c->has_last = 0;
	cp_find_last(c);
	return 0;
}

int
checkpoint_write(struct checkpoint *c, const struct run_state *snap, const char *reason,
    struct checkpoint_info *info, char *err, size_t errlen)
{
	struct cp_row r = { snap, reason, NULL, NULL, 0, 0, 0 };
	struct checkpoint_info in;
	char why[CP_WHY_MAX];
	int64_t id = 0;
	int rc = -1;

	if (c == NULL || snap == NULL) {
		snprintf(err, errlen, CP_FILE ": checkpoints are not open");
		return -1;
	}
	if ((r.size = ckpt_state_check(snap, reason, why, sizeof(why))) == 0) {
		snprintf(
		    err, errlen, CP_FILE ": %s: refusing to write a checkpoint: %s", c->path, why);
		return -1;
	}
	if (cp_reopen_if_moved(c, err, errlen) != 0)
		return -1;
	r.params = ckpt_params_text(&snap->params);
	r.counts = ckpt_counts_text(&snap->counts);
	if (r.params == NULL || r.counts == NULL || cp_reserve(c, r.size) == -1) {
		cp_nomem(c, err, errlen, "writing a checkpoint");
		goto out;
	}
	ckpt_state_encode(c->buf, snap);
	r.crc = ckpt_crc32(&c->crc, c->buf, r.size);
	r.at = (int64_t)time(NULL);
	c->failed = (rc = cp_insert(c, &r, &id, err, errlen)) != 0;
	if (rc == 0) {
		cp_fill_info(&in, &r, id);
		cp_set_last(c, &in);
		if (info != NULL)
			*info = in;
	}
out:
	free((char *)r.params);
	free((char *)r.counts);
	return rc;
}

/*
 * Reading: every column and every byte is checked before it is used.
 */

static int
cp_col_int(sqlite3_stmt *st, int col, int64_t min, int64_t max, int64_t *out, const char *name,
    char *why, size_t len)
{
	int64_t v;

	if (sqlite3_column_type(st, col) != SQLITE_INTEGER ||
	    (v = sqlite3_column_int64(st, col)) < min || v > max) {
		snprintf(why, len, "\"%s\" is not an integer from %lld to %lld", name,
		    (long long)min, (long long)max);
		return CP_DAMAGED;
	}
	*out = v;
	return CP_OK;
}

/* A printable ASCII column that fits buf. */
static int
cp_col_word(
    sqlite3_stmt *st, int col, char *buf, size_t size, const char *name, char *why, size_t len)
{
	const char *s;
	int n;

	if (sqlite3_column_type(st, col) != SQLITE_TEXT) {
		snprintf(why, len, "\"%s\" is not text", name);
		return CP_DAMAGED;
	}
	if ((s = (const char *)sqlite3_column_text(st, col)) == NULL)
		return CP_NOMEM;
	n = sqlite3_column_bytes(st, col);
	if ((size_t)n >= size || !text_printable(s, (size_t)n)) {
		snprintf(why, len, "\"%s\" is not a short printable string", name);
		return CP_DAMAGED;
	}
	memcpy(buf, s, (size_t)n);
	buf[n] = '\0';
	return CP_OK;
}

/* The first CP_C_SIZE + 1 columns, common to loading and listing. */
static int
cp_row_info(sqlite3_stmt *st, struct checkpoint_info *in, char *why, size_t len)
{
	int64_t v;
	int rc;

	memset(in, 0, sizeof(*in));
	in->id = sqlite3_column_int64(st, CP_C_ID);
	if ((rc = cp_col_word(
		 st, CP_C_RUN_ID, in->run_id, sizeof(in->run_id), "run_id", why, len)) != CP_OK)
		return rc;
	if ((rc = cp_col_word(
		 st, CP_C_REASON, in->reason, sizeof(in->reason), "reason", why, len)) != CP_OK)
		return rc;
	if (cp_col_int(st, CP_C_AT, 0, CP_AT_MAX, &v, "at", why, len) != CP_OK)
		return CP_DAMAGED;
	in->at = v;
	if (cp_col_int(st, CP_C_CYCLE, 0, UINT32_MAX, &v, "cycle", why, len) != CP_OK)
		return CP_DAMAGED;
	in->cycle = (uint32_t)v;
	if (cp_col_int(st, CP_C_AGENTS, 1, UINT32_MAX, &v, "agents", why, len) != CP_OK)
		return CP_DAMAGED;
	in->agents = (uint32_t)v;
	if (cp_col_int(st, CP_C_SIZE, 0, INT64_MAX, &v, "state", why, len) != CP_OK)
		return CP_DAMAGED;
	in->size = (uint64_t)v;
	return CP_OK;
}

/* A text column, for the codec. */
static int
cp_col_text(
    sqlite3_stmt *st, int col, const char *name, const char **s, size_t *n, char *why, size_t len)
{
	if (sqlite3_column_type(st, col) != SQLITE_TEXT) {
		snprintf(why, len, "%s: not text", name);
		return CP_DAMAGED;
	}
	if ((*s = (const char *)sqlite3_column_text(st, col)) == NULL)
		return CP_NOMEM;
	*n = (size_t)sqlite3_column_bytes(st, col);
	return CP_OK;
}

static int
cp_row_json(sqlite3_stmt *st, struct run_state *snap, const struct checkpoint_info *in, char *why,
    size_t len)
{
	const char *s;
	size_t n;
	int rc;

	if ((rc = cp_col_text(st, CP_C_PARAMS, "params", &s, &n, why, len)) != CP_OK ||
	    (rc = ckpt_params_parse(s, n, &snap->params, why, len)) != CP_OK)
		return rc;
	if (snap->params.agents != in->agents || strcmp(snap->params.run_id, in->run_id) != 0) {
		snprintf(why, len, "params disagree with the row's run_id or agents");
		return CP_DAMAGED;
	}
	if ((rc = cp_col_text(st, CP_C_COUNTS, "counts", &s, &n, why, len)) != CP_OK)
		return rc;
	return ckpt_counts_parse(s, n, &snap->counts, why, len);
}

static int
cp_col_seconds(sqlite3_stmt *st, int col, const char *name, double *out, char *why, size_t len)
{
	int t = sqlite3_column_type(st, col);

	if (t == SQLITE_FLOAT || t == SQLITE_INTEGER) {
		*out = sqlite3_column_double(st, col);
		if (isfinite(*out) && *out >= 0)
			return CP_OK;
	}
	snprintf(why, len, "\"%s\" is not a number of seconds", name);
	return CP_DAMAGED;
}

static int
cp_row_state(
    const struct checkpoint *c, sqlite3_stmt *st, struct run_state *snap, char *why, size_t len)
{
	const unsigned char *b;
	struct agent_state *agents;
	int64_t crc;
	size_t n;
	int rc;

	if (sqlite3_column_type(st, CP_C_STATE) != SQLITE_BLOB) {
		snprintf(why, len, "state is not a blob");
		return CP_DAMAGED;
	}
	if (cp_col_int(st, CP_C_CRC, 0, UINT32_MAX, &crc, "state_crc", why, len) != CP_OK)
		return CP_DAMAGED;
	b = sqlite3_column_blob(st, CP_C_STATE);
	n = (size_t)sqlite3_column_bytes(st, CP_C_STATE);
	if (b == NULL && n > 0)
		return CP_NOMEM;
	if (ckpt_crc32(&c->crc, b, n) != (uint32_t)crc) {
		snprintf(why, len, "state checksum mismatch");
		return CP_DAMAGED;
	}
	rc = ckpt_state_decode(b, n, snap->params.agents, &agents, why, len);
	snap->agents = agents;
	return rc;
}

static int
cp_read_row(const struct checkpoint *c, sqlite3_stmt *st, struct run_state *snap,
    struct checkpoint_info *in, char *why, size_t len)
{
	int rc;

	if ((rc = cp_row_info(st, in, why, len)) != CP_OK ||
	    (rc = cp_row_json(st, snap, in, why, len)) != CP_OK)
		return rc;
	snap->cycle = in->cycle;
	if ((rc = cp_col_seconds(st, CP_C_ELAPSED, "elapsed_s", &snap->elapsed_s, why, len)) !=
		CP_OK ||
	    (rc = cp_col_seconds(st, CP_C_LAG, "lag_s", &snap->lag_s, why, len)) != CP_OK)
		return rc;
	return cp_row_state(c, st, snap, why, len);
}

static void
cp_load_error(
    const struct checkpoint *c, int rc, int64_t id, const char *why, char *err, size_t errlen)
{
	if (rc == CP_NOMEM)
		snprintf(err, errlen, CP_FILE ": %s: loading checkpoint %lld: out of memory",
		    c->path, (long long)id);
	else
		snprintf(err, errlen, "checkpoint %lld in %s is damaged: %s", (long long)id,
		    c->path, why);
}

int
checkpoint_load(struct checkpoint *c, int64_t id, struct run_state *snap,
    struct checkpoint_info *info, char *err, size_t errlen)
{
	struct checkpoint_info in;
	sqlite3_stmt *st = NULL;
	char why[CP_WHY_MAX] = "";
	int rc, r = CP_DAMAGED;

	if (snap != NULL)
		memset(snap, 0, sizeof(*snap));
	if (c == NULL || snap == NULL) {
		snprintf(err, errlen, CP_FILE ": checkpoints are not open");
		return -1;
	}
	rc =
	    sqlite3_prepare_v2(c->db, id != 0 ? cp_sql_load_id : cp_sql_load_newest, -1, &st, NULL);
	if (rc == SQLITE_OK && id != 0)
		rc = sqlite3_bind_int64(st, 1, id);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE && id != 0)
		snprintf(err, errlen, "no checkpoint %lld in %s", (long long)id, c->path);
	else if (rc == SQLITE_DONE)
		snprintf(err, errlen, "no checkpoint in %s", c->path);
	else if (rc != SQLITE_ROW)
		cp_dberr(c, err, errlen, "loading a checkpoint");
	else if ((r = cp_read_row(c, st, snap, &in, why, sizeof(why))) != CP_OK)
		cp_load_error(c, r, sqlite3_column_int64(st, CP_C_ID), why, err, errlen);
	sqlite3_finalize(st);
	if (r != CP_OK) {
		checkpoint_state_free(snap);
		memset(snap, 0, sizeof(*snap));
		return -1;
	}
	cp_set_last(c, &in);
	if (info != NULL)
		*info = in;
	return 0;
}

void
checkpoint_state_free(struct run_state *snap)
{
	if (snap == NULL)
		return;
	free((void *)snap->agents);
	params_clear(&snap->params);
	snap->agents = NULL;
}

/*
 * Listing.
 */

int
checkpoint_list(struct checkpoint *c, int (*fn)(const struct checkpoint_info *in, void *arg),
    void *arg, char *err, size_t errlen)
{
	struct checkpoint_info in;
	sqlite3_stmt *st = NULL;
	char why[CP_WHY_MAX];
	int rc, r = CP_OK;

	if (c == NULL) {
		snprintf(err, errlen, CP_FILE ": checkpoints are not open");
		return -1;
	}
	rc = sqlite3_prepare_v2(c->db, cp_sql_list, -1, &st, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = cp_row_info(st, &in, why, sizeof(why))) != CP_OK)
			break;
		if (fn(&in, arg) != 0) {
			r = CP_NOMEM;
			break;
		}
		rc = SQLITE_OK;
	}
	if (r != CP_OK)
		cp_load_error(c, r, sqlite3_column_int64(st, CP_C_ID), why, err, errlen);
	else if (rc != SQLITE_DONE)
		cp_dberr(c, err, errlen, "listing checkpoints");
	sqlite3_finalize(st);
	return r != CP_OK || rc != SQLITE_DONE ? -1 : 0;
}

int
checkpoint_last(const struct checkpoint *c, struct checkpoint_info *out)
{
	if (c == NULL || !c->has_last)
		return 0;
	memset(out, 0, sizeof(*out));
	out->id = c->last_id;
	out->at = c->last_at;
	out->cycle = c->last_cycle;
	return 1;
}

int
checkpoint_delete(struct checkpoint *c, int64_t id, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (c == NULL) {
		snprintf(err, errlen, CP_FILE ": checkpoints are not open");
		return -1;
	}
	rc = sqlite3_prepare_v2(c->db, "DELETE FROM checkpoints WHERE id = ?1", -1, &st, NULL);
	if (rc == SQLITE_OK && sqlite3_bind_int64(st, 1, id) == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		cp_dberr(c, err, errlen, "deleting a checkpoint");
		return -1;
	}
	if (c->has_last && c->last_id == id) {
		c->has_last = 0;
		cp_find_last(c);
	}
	return 0;
}
