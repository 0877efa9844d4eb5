/*
 * checkpoint.c - <data_dir>/checkpoints.db: where a run's state goes so that
 * `start --resume` (or a restart after kill -9) can continue it.
 *
 * One checkpoint is one row, written in one transaction together with the
 * pruning of old rows.  The run's parameters and counters are JSON text (so
 * the sqlite3 shell can read them); the agents' states are a blob with an
 * explicit little-endian layout, so the file does not depend on struct
 * padding or the host's byte order:
 *
 *	header:    u32 magic "SCKP", u16 encoding version (1), u16 0, u32 agents
 *	per agent: u32 done_cycle, u8 redeemed, u8 ncart,
 *	           ncart x (u32 product_id, u16 quantity)
 *
 * Everything read back is checked (meta, header, lengths, CRC-32, JSON types
 * and ranges) before it reaches the engine: a damaged row is an error naming
 * the file and the row, never a crash.
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

#include <jansson.h>
#include <sqlite3.h>

#include "sim/checkpoint.h"

#define CP_FILE "checkpoints.db"
#define CP_APP "simd-checkpoints"
#define CP_FORMAT 1             /* of the file: tables and JSON fields */
#define CP_BUSY_TIMEOUT_MS 5000
#define CP_WAL_PAGES 256        /* of 64 KiB: the WAL is folded back at ~16 MiB */
#define CP_WAL_LIMIT 16777216   /* and truncated back to that */

#define CP_MAGIC UINT32_C(0x504b4353)  /* "SCKP" read as a little-endian u32 */
#define CP_STATE_VERSION 1
#define CP_HEADER_SIZE 12
#define CP_AGENT_SIZE 6
#define CP_LINE_SIZE 6

#define CP_WHY_MAX 160
#define CP_AT_MAX INT64_C(253402300799)  /* 9999-12-31T23:59:59Z */

#define CP_STR_(x) #x
#define CP_STR(x) CP_STR_(x)

/* What reading a row can find besides success. */
enum { CP_OK = 0, CP_DAMAGED = -1, CP_NOMEM = -2 };

struct checkpoint {
	sqlite3 *db;
	char *path;
	int keep;
	unsigned char *buf;     /* the state being written, reused */
	size_t cap;
	int has_last;           /* the newest written, loaded, or found at open */
	int64_t last_id, last_at;
	uint32_t last_cycle;
	uint32_t crc[8][256];
};

/* One row to insert. */
struct cp_row {
	const struct engine_snapshot *snap;
	const char *reason, *params, *counts;
	size_t size;
	uint32_t crc;
	int64_t at;
};

/* A named field of a struct, for the JSON encoders and decoders. */
struct cp_field {
	const char *name;
	size_t off;
};

#define CP_P(f) { #f, offsetof(struct run_params, f) }
static const struct cp_field cp_u32_fields[] = {
	CP_P(agents), CP_P(cycles), CP_P(tick), CP_P(max_concurrent), CP_P(max_retries),
	CP_P(retry_backoff_ms), CP_P(catalog_products), CP_P(catalog_stores),
	CP_P(catalog_coupons),
};
static const struct cp_field cp_real_fields[] = {
	CP_P(hours), CP_P(time_scale), CP_P(retry_window),
};
#undef CP_P

#define CP_C(f) { #f, offsetof(struct engine_counts, f) }
static const struct cp_field cp_count_fields[] = {
	CP_C(agents_processed), CP_C(agents_shopped), CP_C(sessions), CP_C(orders),
	CP_C(abandoned), CP_C(browsed), CP_C(events), CP_C(errors), CP_C(retries),
	CP_C(revenue_cents), CP_C(items), CP_C(rows),
};
#undef CP_C

#define CP_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* state_crc sits before state so that reading a row's metadata never walks the blob. */
static const char cp_schema[] =
	"BEGIN IMMEDIATE;"
	"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value NOT NULL);"
	"INSERT OR IGNORE INTO meta(key, value) VALUES ('app', '" CP_APP "'),"
	" ('format', " CP_STR(CP_FORMAT) ");"
	"CREATE TABLE IF NOT EXISTS checkpoints (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" run_id TEXT NOT NULL, at INTEGER NOT NULL, cycle INTEGER NOT NULL,"
	" agents INTEGER NOT NULL, reason TEXT NOT NULL, params TEXT NOT NULL,"
	" counts TEXT NOT NULL, elapsed_s REAL NOT NULL, lag_s REAL NOT NULL,"
	" state_crc INTEGER NOT NULL, state BLOB NOT NULL);"
	"COMMIT";

/* The columns every reader starts with, in the order of enum cp_col. */
#define CP_INFO_COLS "id, run_id, at, cycle, agents, reason, length(state)"
enum cp_col {
	CP_C_ID, CP_C_RUN_ID, CP_C_AT, CP_C_CYCLE, CP_C_AGENTS, CP_C_REASON, CP_C_SIZE,
	CP_C_PARAMS, CP_C_COUNTS, CP_C_ELAPSED, CP_C_LAG, CP_C_CRC, CP_C_STATE
};
#define CP_LOAD_COLS CP_INFO_COLS ", params, counts, elapsed_s, lag_s, state_crc, state"

static const char cp_sql_insert[] =
	"INSERT INTO checkpoints (run_id, at, cycle, agents, reason, params, counts,"
	" elapsed_s, lag_s, state_crc, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
	" ?10, ?11)";
static const char cp_sql_prune[] =
	"DELETE FROM checkpoints WHERE id NOT IN"
	" (SELECT id FROM checkpoints ORDER BY id DESC LIMIT ?1)";
static const char cp_sql_load_id[] = "SELECT " CP_LOAD_COLS " FROM checkpoints WHERE id = ?1";
static const char cp_sql_load_newest[] =
	"SELECT " CP_LOAD_COLS " FROM checkpoints ORDER BY id DESC LIMIT 1";
static const char cp_sql_list[] = "SELECT " CP_INFO_COLS " FROM checkpoints ORDER BY id DESC";
static const char cp_sql_newest[] =
	"SELECT id, at, cycle FROM checkpoints ORDER BY id DESC LIMIT 1";

static void
cp_put_u16(unsigned char *b, uint16_t v)
{
	b[0] = (unsigned char)v;
	b[1] = (unsigned char)(v >> 8);
}

static void
cp_put_u32(unsigned char *b, uint32_t v)
{
	b[0] = (unsigned char)v;
	b[1] = (unsigned char)(v >> 8);
	b[2] = (unsigned char)(v >> 16);
	b[3] = (unsigned char)(v >> 24);
}

static uint16_t
cp_get_u16(const unsigned char *b)
{
	return (uint16_t)(b[0] | b[1] << 8);
}

static uint32_t
cp_get_u32(const unsigned char *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	    (uint32_t)b[3] << 24;
}

/*
 * CRC-32 (IEEE, as zlib's), eight bytes at a time ("slicing-by-8"): a nibble-table
 * loop costs ~40 ms on the 8 MB state of 100,000 agents, this about 4.  The
 * table lives in the handle, built at open.
 */
static void
cp_crc_init(uint32_t t[8][256])
{
	uint32_t c;
	int i, k;

	for (i = 0; i < 256; i++) {
		c = (uint32_t)i;
		for (k = 0; k < 8; k++)
			c = (c >> 1) ^ (UINT32_C(0xedb88320) & (0u - (c & 1)));
		t[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (k = 1; k < 8; k++)
			t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
}

static uint32_t
cp_crc32(const uint32_t t[8][256], const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffff, lo, hi;

	for (; n >= 8; n -= 8, p += 8) {
		lo = c ^ cp_get_u32(p);
		hi = cp_get_u32(p + 4);
		c = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^
		    t[4][lo >> 24] ^ t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^
		    t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
	}
	while (n-- > 0)
		c = (c >> 8) ^ t[0][(c ^ *p++) & 0xff];
	return ~c;
}

/* Struct members by offset, through memcpy: no aliasing questions. */
static uint32_t
cp_field_u32(const void *base, size_t off)
{
	uint32_t v;

	memcpy(&v, (const char *)base + off, sizeof(v));
	return v;
}

static double
cp_field_real(const void *base, size_t off)
{
	double v;

	memcpy(&v, (const char *)base + off, sizeof(v));
	return v;
}

static uint64_t
cp_field_u64(const void *base, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)base + off, sizeof(v));
	return v;
}

static void
cp_dberr(const struct checkpoint *c, char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, CP_FILE ": %s: %s: %s", c->path, what, sqlite3_errmsg(c->db));
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

/* Identifiers (run id, reason) are printable ASCII. */
static int
cp_printable(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return 1;
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
		snprintf(err, errlen, CP_FILE ": %s is damaged (%s)", c->path,
		    sqlite3_errmsg(c->db));
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
		if (!cp_printable(&buf[i], 1))
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
		snprintf(err, errlen, CP_FILE ": %s is not a simd checkpoint file (meta app is "
		    "\"%s\", not \"" CP_APP "\")", c->path, app);
		return -1;
	}
	if (!ours) {
		snprintf(err, errlen, CP_FILE ": %s has an incompatible format %s (this simd reads "
		    "format %d)", c->path, format, CP_FORMAT);
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
	return cp_exec(c, "PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=" CP_STR(
	    CP_WAL_PAGES) "; PRAGMA journal_size_limit=" CP_STR(CP_WAL_LIMIT), "configuring",
	    err, errlen);
}

static int
cp_open_db(struct checkpoint *c, char *err, size_t errlen)
{
	int rc, ntables = 0, e;

	rc = sqlite3_open_v2(c->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL);
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
	if (ntables == 0 && cp_exec(c, "PRAGMA page_size=65536", "configuring", err,
	    errlen) == -1)
		return -1;
	if (cp_configure(c, err, errlen) == -1 ||
	    cp_exec(c, cp_schema, "creating tables", err, errlen) == -1)
		return -1;
	return ntables > 0 ? 0 : cp_check_meta(c, err, errlen);
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
	cp_crc_init(c->crc);
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

static int
cp_check_only(const struct run_params *p, char *why, size_t len)
{
	uint32_t i;

	if (p->nonly == 0) {
		snprintf(why, len, "params: the agent list is empty");
		return -1;
	}
	for (i = 0; i < p->nonly; i++) {
		if (p->only[i] >= p->agents) {
			snprintf(why, len, "params: the agent list names agent %u of %u",
			    p->only[i], p->agents);
			return -1;
		}
		if (i > 0 && p->only[i] <= p->only[i - 1]) {
			snprintf(why, len, "params: the agent list is not sorted");
			return -1;
		}
	}
	return 0;
}

static int
cp_check_params(const struct run_params *p, char *why, size_t len)
{
	size_t i, n = strnlen(p->run_id, sizeof(p->run_id));
	double v;

	if (n == sizeof(p->run_id) || !cp_printable(p->run_id, n)) {
		snprintf(why, len, "params: run_id is not a short printable string");
		return -1;
	}
	if (p->agents == 0) {
		snprintf(why, len, "params: no agents");
		return -1;
	}
	if (p->seed > INT64_MAX) {
		snprintf(why, len, "params: seed is out of range");
		return -1;
	}
	for (i = 0; i < CP_NELEM(cp_real_fields); i++) {
		v = cp_field_real(p, cp_real_fields[i].off);
		if (!isfinite(v) || v < 0) {
			snprintf(why, len, "params: \"%s\" is not a finite number >= 0",
			    cp_real_fields[i].name);
			return -1;
		}
	}
	return p->only != NULL ? cp_check_only(p, why, len) : 0;
}

static int
cp_check_counts(const struct engine_counts *k, char *why, size_t len)
{
	size_t i;

	for (i = 0; i < CP_NELEM(cp_count_fields); i++)
		if (cp_field_u64(k, cp_count_fields[i].off) > INT64_MAX)
			goto range;
	for (i = 0; i < STORE_ERR_COUNT; i++)
		if (k->errors_by_type[i] > INT64_MAX)
			goto range;
	return 0;
range:
	snprintf(why, len, "counts: a counter is out of range");
	return -1;
}

/*
 * Writing.
 */

/* Bytes of the encoded state, or 0 (with why) when an agent cannot be encoded. */
static size_t
cp_state_size(const struct engine_snapshot *snap, char *why, size_t len)
{
	size_t size = CP_HEADER_SIZE;
	uint32_t i;

	for (i = 0; i < snap->params.agents; i++) {
		if (snap->agents[i].ncart > STORE_MAX_ITEMS) {
			snprintf(why, len, "agent %u has %u cart lines (at most %d)", i,
			    snap->agents[i].ncart, STORE_MAX_ITEMS);
			return 0;
		}
		size += CP_AGENT_SIZE + (size_t)snap->agents[i].ncart * CP_LINE_SIZE;
	}
	return size;
}

static size_t
cp_check_snapshot(const struct engine_snapshot *snap, const char *reason, char *why,
    size_t len)
{
	size_t n = reason != NULL ? strlen(reason) : 0;

	if (n == 0 || n >= sizeof(((struct checkpoint_info *)NULL)->reason) ||
	    !cp_printable(reason, n)) {
		snprintf(why, len, "the reason is not a short printable word");
		return 0;
	}
	if (cp_check_params(&snap->params, why, len) == -1 ||
	    cp_check_counts(&snap->counts, why, len) == -1)
		return 0;
	if (!isfinite(snap->elapsed_s) || snap->elapsed_s < 0 || !isfinite(snap->lag_s) ||
	    snap->lag_s < 0) {
		snprintf(why, len, "elapsed_s or lag_s is not a finite number >= 0");
		return 0;
	}
	if (snap->agents == NULL) {
		snprintf(why, len, "no agent states");
		return 0;
	}
	return cp_state_size(snap, why, len);
}

static void
cp_encode(unsigned char *b, const struct engine_snapshot *snap)
{
	const struct agent_state *a;
	uint32_t i, j;

	cp_put_u32(b, CP_MAGIC);
	cp_put_u16(b + 4, CP_STATE_VERSION);
	cp_put_u16(b + 6, 0);
	cp_put_u32(b + 8, snap->params.agents);
	b += CP_HEADER_SIZE;
	for (i = 0; i < snap->params.agents; i++) {
		a = &snap->agents[i];
		cp_put_u32(b, a->done_cycle);
		b[4] = a->redeemed;
		b[5] = a->ncart;
		b += CP_AGENT_SIZE;
		for (j = 0; j < a->ncart; j++) {
			cp_put_u32(b, a->cart[j].product_id);
			cp_put_u16(b + 4, a->cart[j].quantity);
			b += CP_LINE_SIZE;
		}
	}
}

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

/* Returns json's compact text and drops the reference; NULL if either failed. */
static char *
cp_dump(json_t *o)
{
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

static json_t *
cp_only_json(const struct run_params *p)
{
	json_t *a = json_array();
	uint32_t i;

	for (i = 0; a != NULL && i < p->nonly; i++)
		if (json_array_append_new(a, json_integer(p->only[i])) == -1) {
			json_decref(a);
			a = NULL;
		}
	return a;
}

static char *
cp_params_text(const struct run_params *p)
{
	json_t *o = json_object();
	size_t i;
	int bad;

	if (o == NULL)
		return NULL;
	bad = json_object_set_new(o, "run_id", json_string(p->run_id));
	bad |= json_object_set_new(o, "seed", json_integer((json_int_t)p->seed));
	bad |= json_object_set_new(o, "sim_start", json_integer(p->sim_start));
	bad |= json_object_set_new(o, "all_shop", json_boolean(p->all_shop));
	for (i = 0; i < CP_NELEM(cp_u32_fields); i++)
		bad |= json_object_set_new(o, cp_u32_fields[i].name,
		    json_integer(cp_field_u32(p, cp_u32_fields[i].off)));
	for (i = 0; i < CP_NELEM(cp_real_fields); i++)
		bad |= json_object_set_new(o, cp_real_fields[i].name,
		    json_real(cp_field_real(p, cp_real_fields[i].off)));
	bad |= json_object_set_new(o, "only", p->only != NULL ? cp_only_json(p) : json_null());
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return cp_dump(o);
}

static char *
cp_counts_text(const struct engine_counts *k)
{
	json_t *o = json_object(), *a = json_array();
	size_t i;
	int bad = o == NULL;

	for (i = 0; !bad && i < CP_NELEM(cp_count_fields); i++)
		bad |= json_object_set_new(o, cp_count_fields[i].name,
		    json_integer((json_int_t)cp_field_u64(k, cp_count_fields[i].off)));
	for (i = 0; !bad && a != NULL && i < STORE_ERR_COUNT; i++)
		bad |= json_array_append_new(a, json_integer((json_int_t)k->errors_by_type[i]));
	if (bad || json_object_set_new(o, "errors_by_type", a) == -1) {
		if (bad)
			json_decref(a);
		json_decref(o);
		return NULL;
	}
	return cp_dump(o);
}

static int
cp_bind_row(sqlite3_stmt *st, const struct cp_row *r)
{
	const struct engine_snapshot *s = r->snap;
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
cp_write_step(struct checkpoint *c, sqlite3_stmt *st, int rc, const char *what, char *err,
    size_t errlen)
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
cp_insert(struct checkpoint *c, const struct cp_row *r, int64_t *id, char *err,
    size_t errlen)
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

int
checkpoint_write(struct checkpoint *c, const struct engine_snapshot *snap,
    const char *reason, struct checkpoint_info *info, char *err, size_t errlen)
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
	if ((r.size = cp_check_snapshot(snap, reason, why, sizeof(why))) == 0) {
		snprintf(err, errlen, CP_FILE ": %s: refusing to write a checkpoint: %s",
		    c->path, why);
		return -1;
	}
	r.params = cp_params_text(&snap->params);
	r.counts = cp_counts_text(&snap->counts);
	if (r.params == NULL || r.counts == NULL || cp_reserve(c, r.size) == -1) {
		cp_nomem(c, err, errlen, "writing a checkpoint");
		goto out;
	}
	cp_encode(c->buf, snap);
	r.crc = cp_crc32(c->crc, c->buf, r.size);
	r.at = (int64_t)time(NULL);
	if ((rc = cp_insert(c, &r, &id, err, errlen)) == 0) {
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
cp_col_word(sqlite3_stmt *st, int col, char *buf, size_t size, const char *name, char *why,
    size_t len)
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
	if ((size_t)n >= size || !cp_printable(s, (size_t)n)) {
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
	if ((rc = cp_col_word(st, CP_C_RUN_ID, in->run_id, sizeof(in->run_id), "run_id", why,
	    len)) != CP_OK)
		return rc;
	if ((rc = cp_col_word(st, CP_C_REASON, in->reason, sizeof(in->reason), "reason", why,
	    len)) != CP_OK)
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

static int
cp_col_json(sqlite3_stmt *st, int col, const char *name, json_t **out, char *why, size_t len)
{
	json_error_t jerr;
	const char *s;

	if (sqlite3_column_type(st, col) != SQLITE_TEXT) {
		snprintf(why, len, "%s: not text", name);
		return CP_DAMAGED;
	}
	if ((s = (const char *)sqlite3_column_text(st, col)) == NULL)
		return CP_NOMEM;
	*out = json_loadb(s, (size_t)sqlite3_column_bytes(st, col), JSON_REJECT_DUPLICATES, &jerr);
	if (*out == NULL) {
		snprintf(why, len, "%s: not JSON (%.100s)", name, jerr.text);
		return CP_DAMAGED;
	}
	if (!json_is_object(*out)) {
		snprintf(why, len, "%s: not a JSON object", name);
		json_decref(*out);
		*out = NULL;
		return CP_DAMAGED;
	}
	return CP_OK;
}

static int
cp_json_int(const json_t *v, const char *what, const char *key, json_int_t min,
    json_int_t max, json_int_t *out, char *why, size_t len)
{
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		snprintf(why, len, "%s: \"%s\" is %s, not an integer from %lld to %lld", what, key,
		    v == NULL ? "missing" : "wrong", (long long)min, (long long)max);
		return CP_DAMAGED;
	}
	*out = json_integer_value(v);
	return CP_OK;
}

static int
cp_json_only(const json_t *a, struct run_params *p, char *why, size_t len)
{
	size_t i, n = json_array_size(a);
	json_int_t v;

	if (json_is_null(a))
		return CP_OK;
	if (!json_is_array(a) || n == 0 || n > p->agents) {
		snprintf(why, len, "params: \"only\" is not a list of at most %u agents", p->agents);
		return CP_DAMAGED;
	}
	if ((p->only = malloc(n * sizeof(*p->only))) == NULL)
		return CP_NOMEM;
	p->nonly = (uint32_t)n;
	for (i = 0; i < n; i++) {
		if (cp_json_int(json_array_get(a, i), "params", "only", 0, UINT32_MAX, &v, why,
		    len) != CP_OK)
			return CP_DAMAGED;
		p->only[i] = (uint32_t)v;
	}
	return CP_OK;
}

static int
cp_json_params(const json_t *o, struct run_params *p, char *why, size_t len)
{
	const json_t *v = json_object_get(o, "run_id");
	json_int_t x;
	uint32_t u;
	double d;
	size_t i;

	if (!json_is_string(v) || json_string_length(v) >= sizeof(p->run_id) ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(why, len, "params: \"run_id\" is not a short string");
		return CP_DAMAGED;
	}
	memcpy(p->run_id, json_string_value(v), json_string_length(v) + 1);
	if (cp_json_int(json_object_get(o, "seed"), "params", "seed", 0, INT64_MAX, &x, why,
	    len) != CP_OK)
		return CP_DAMAGED;
	p->seed = (uint64_t)x;
	if (cp_json_int(json_object_get(o, "sim_start"), "params", "sim_start", INT64_MIN,
	    INT64_MAX, &x, why, len) != CP_OK)
		return CP_DAMAGED;
	p->sim_start = x;
	if (!json_is_boolean(v = json_object_get(o, "all_shop"))) {
		snprintf(why, len, "params: \"all_shop\" is not true or false");
		return CP_DAMAGED;
	}
	p->all_shop = json_is_true(v);
	for (i = 0; i < CP_NELEM(cp_u32_fields); i++) {
		if (cp_json_int(json_object_get(o, cp_u32_fields[i].name), "params",
		    cp_u32_fields[i].name, 0, UINT32_MAX, &x, why, len) != CP_OK)
			return CP_DAMAGED;
		u = (uint32_t)x;
		memcpy((char *)p + cp_u32_fields[i].off, &u, sizeof(u));
	}
	for (i = 0; i < CP_NELEM(cp_real_fields); i++) {
		if (!json_is_number(v = json_object_get(o, cp_real_fields[i].name))) {
			snprintf(why, len, "params: \"%s\" is not a number", cp_real_fields[i].name);
			return CP_DAMAGED;
		}
		d = json_number_value(v);
		memcpy((char *)p + cp_real_fields[i].off, &d, sizeof(d));
	}
	return cp_json_only(json_object_get(o, "only"), p, why, len);
}

static int
cp_json_counts(const json_t *o, struct engine_counts *k, char *why, size_t len)
{
	const json_t *a = json_object_get(o, "errors_by_type");
	json_int_t x;
	uint64_t u;
	size_t i;

	for (i = 0; i < CP_NELEM(cp_count_fields); i++) {
		if (cp_json_int(json_object_get(o, cp_count_fields[i].name), "counts",
		    cp_count_fields[i].name, 0, INT64_MAX, &x, why, len) != CP_OK)
			return CP_DAMAGED;
		u = (uint64_t)x;
		memcpy((char *)k + cp_count_fields[i].off, &u, sizeof(u));
	}
	/* Fewer entries than STORE_ERR_COUNT: error types added since are zero. */
	if (!json_is_array(a) || json_array_size(a) > STORE_ERR_COUNT) {
		snprintf(why, len, "counts: \"errors_by_type\" is not a list of at most %d counters",
		    STORE_ERR_COUNT);
		return CP_DAMAGED;
	}
	for (i = 0; i < json_array_size(a); i++) {
		if (cp_json_int(json_array_get(a, i), "counts", "errors_by_type", 0, INT64_MAX,
		    &x, why, len) != CP_OK)
			return CP_DAMAGED;
		k->errors_by_type[i] = (uint64_t)x;
	}
	return CP_OK;
}

static int
cp_row_json(sqlite3_stmt *st, struct engine_snapshot *snap, const struct checkpoint_info *in,
    char *why, size_t len)
{
	json_t *o = NULL;
	int rc;

	if ((rc = cp_col_json(st, CP_C_PARAMS, "params", &o, why, len)) != CP_OK)
		return rc;
	rc = cp_json_params(o, &snap->params, why, len);
	json_decref(o);
	if (rc != CP_OK)
		return rc;
	if (cp_check_params(&snap->params, why, len) == -1)
		return CP_DAMAGED;
	if (snap->params.agents != in->agents || strcmp(snap->params.run_id, in->run_id) != 0) {
		snprintf(why, len, "params disagree with the row's run_id or agents");
		return CP_DAMAGED;
	}
	if ((rc = cp_col_json(st, CP_C_COUNTS, "counts", &o, why, len)) != CP_OK)
		return rc;
	rc = cp_json_counts(o, &snap->counts, why, len);
	json_decref(o);
	return rc;
}

static int
cp_col_seconds(sqlite3_stmt *st, int col, const char *name, double *out, char *why,
    size_t len)
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

/* Checks the header; the length check bounds the allocation that follows. */
static int
cp_state_header(const unsigned char *b, size_t n, uint32_t agents, char *why, size_t len)
{
	if (n < CP_HEADER_SIZE) {
		snprintf(why, len, "state is %zu bytes, shorter than its header", n);
		return CP_DAMAGED;
	}
	if (cp_get_u32(b) != CP_MAGIC) {
		snprintf(why, len, "state has no checkpoint header");
		return CP_DAMAGED;
	}
	if (cp_get_u16(b + 4) != CP_STATE_VERSION) {
		snprintf(why, len, "state encoding version %u is not one this simd reads (%d)",
		    cp_get_u16(b + 4), CP_STATE_VERSION);
		return CP_DAMAGED;
	}
	if (cp_get_u32(b + 8) != agents) {
		snprintf(why, len, "state holds %u agents, the row says %u", cp_get_u32(b + 8),
		    agents);
		return CP_DAMAGED;
	}
	if ((n - CP_HEADER_SIZE) / CP_AGENT_SIZE < agents) {
		snprintf(why, len, "state is too short for %u agents", agents);
		return CP_DAMAGED;
	}
	return CP_OK;
}

static int
cp_decode(const unsigned char *b, size_t n, struct agent_state *out, uint32_t agents,
    char *why, size_t len)
{
	const unsigned char *p = b + CP_HEADER_SIZE, *end = b + n;
	struct agent_state *a;
	uint32_t i, j;

	for (i = 0; i < agents; i++) {
		a = &out[i];
		if (end - p < CP_AGENT_SIZE)
			goto short_state;
		a->done_cycle = cp_get_u32(p);
		a->redeemed = p[4];
		a->ncart = p[5];
		p += CP_AGENT_SIZE;
		if (a->ncart > STORE_MAX_ITEMS) {
			snprintf(why, len, "agent %u has %u cart lines (at most %d)", i, a->ncart,
			    STORE_MAX_ITEMS);
			return CP_DAMAGED;
		}
		if (end - p < (ptrdiff_t)a->ncart * CP_LINE_SIZE)
			goto short_state;
		for (j = 0; j < a->ncart; j++, p += CP_LINE_SIZE) {
			a->cart[j].product_id = cp_get_u32(p);
			a->cart[j].quantity = cp_get_u16(p + 4);
		}
	}
	if (p != end) {
		snprintf(why, len, "state has %td bytes after the last agent", end - p);
		return CP_DAMAGED;
	}
	return CP_OK;
short_state:
	snprintf(why, len, "state ends inside agent %u", i);
	return CP_DAMAGED;
}

static int
cp_row_state(const struct checkpoint *c, sqlite3_stmt *st, struct engine_snapshot *snap,
    char *why, size_t len)
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
	if (cp_crc32(c->crc, b, n) != (uint32_t)crc) {
		snprintf(why, len, "state checksum mismatch");
		return CP_DAMAGED;
	}
	if ((rc = cp_state_header(b, n, snap->params.agents, why, len)) != CP_OK)
		return rc;
	/* calloc: cart lines past ncart are zero, whatever the writer's held. */
	if ((agents = calloc(snap->params.agents, sizeof(*agents))) == NULL)
		return CP_NOMEM;
	snap->agents = agents;
	return cp_decode(b, n, agents, snap->params.agents, why, len);
}

static int
cp_read_row(const struct checkpoint *c, sqlite3_stmt *st, struct engine_snapshot *snap,
    struct checkpoint_info *in, char *why, size_t len)
{
	int rc;

	if ((rc = cp_row_info(st, in, why, len)) != CP_OK ||
	    (rc = cp_row_json(st, snap, in, why, len)) != CP_OK)
		return rc;
	snap->cycle = in->cycle;
	if ((rc = cp_col_seconds(st, CP_C_ELAPSED, "elapsed_s", &snap->elapsed_s, why,
	    len)) != CP_OK ||
	    (rc = cp_col_seconds(st, CP_C_LAG, "lag_s", &snap->lag_s, why, len)) != CP_OK)
		return rc;
	return cp_row_state(c, st, snap, why, len);
}

static void
cp_load_error(const struct checkpoint *c, int rc, int64_t id, const char *why, char *err,
    size_t errlen)
{
	if (rc == CP_NOMEM)
		snprintf(err, errlen, CP_FILE ": %s: loading checkpoint %lld: out of memory",
		    c->path, (long long)id);
	else
		snprintf(err, errlen, "checkpoint %lld in %s is damaged: %s", (long long)id,
		    c->path, why);
}

int
checkpoint_load(struct checkpoint *c, int64_t id, struct engine_snapshot *snap,
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
	rc = sqlite3_prepare_v2(c->db, id != 0 ? cp_sql_load_id : cp_sql_load_newest, -1, &st,
	    NULL);
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
		checkpoint_snapshot_free(snap);
		memset(snap, 0, sizeof(*snap));
		return -1;
	}
	cp_set_last(c, &in);
	if (info != NULL)
		*info = in;
	return 0;
}

void
checkpoint_snapshot_free(struct engine_snapshot *snap)
{
	if (snap == NULL)
		return;
	free((void *)snap->agents);
	free(snap->params.only);
	snap->agents = NULL;
	snap->params.only = NULL;
	snap->params.nonly = 0;
}

/*
 * Listing.
 */

static void
cp_iso(int64_t at, char *buf, size_t len)
{
	time_t t = (time_t)at;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)at);
}

static json_t *
cp_info_json(const struct checkpoint_info *in)
{
	char at[32];

	cp_iso(in->at, at, sizeof(at));
	return json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:s}", "id", (json_int_t)in->id,
	    "run_id", in->run_id, "at", at, "cycle", (json_int_t)in->cycle, "agents",
	    (json_int_t)in->agents, "size", (json_int_t)in->size, "reason", in->reason);
}

json_t *
checkpoint_list_json(struct checkpoint *c, char *err, size_t errlen)
{
	struct checkpoint_info in;
	sqlite3_stmt *st = NULL;
	char why[CP_WHY_MAX];
	json_t *a;
	int rc, r = CP_OK;

	if (c == NULL) {
		snprintf(err, errlen, CP_FILE ": checkpoints are not open");
		return NULL;
	}
	if ((a = json_array()) == NULL) {
		cp_nomem(c, err, errlen, "listing checkpoints");
		return NULL;
	}
	rc = sqlite3_prepare_v2(c->db, cp_sql_list, -1, &st, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = cp_row_info(st, &in, why, sizeof(why))) != CP_OK)
			break;
		if (json_array_append_new(a, cp_info_json(&in)) == -1) {
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
	if (r != CP_OK || rc != SQLITE_DONE) {
		json_decref(a);
		return NULL;
	}
	return a;
}

json_t *
checkpoint_last_json(const struct checkpoint *c)
{
	char at[32];

	if (c == NULL || !c->has_last)
		return json_null();
	cp_iso(c->last_at, at, sizeof(at));
	return json_pack("{s:I, s:s, s:I}", "id", (json_int_t)c->last_id, "at", at, "cycle",
	    (json_int_t)c->last_cycle);
}
