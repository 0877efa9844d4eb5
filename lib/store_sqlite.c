/*
 * store_sqlite.c - the embedded store: <data_dir>/shop.db in WAL mode.
 *
 * SQLite answers synchronously, so an operation runs to completion inside
 * submit(); what the interface promises is only that its callback runs later,
 * from the loop.  Completed operations wait in a FIFO that one event drains,
 * one pass per loop iteration, so a callback that submits the next step never
 * recurses and never starves the rest of the loop.
 *
 * Group commit: operations share one transaction, so a commit (and its WAL
 * frames) is paid once per batch instead of once per operation.  An
 * operation and its events are still all-or-nothing, without a savepoint of
 * their own (in WAL mode a savepoint copies every page it changes, once per
 * savepoint): the operations run since the last completions form a group,
 * and one that fails rolls its group back (to the group's savepoint, or the
 * whole transaction when the group is all of it) and the others of the
 * group, none of which has completed, run again (sq_group_undo).
 *
 * A session's steps come as one chain (store_submit_chain): they run one
 * after the other in the open transaction, so a commit serves every step of
 * the sessions in flight, and the pages a session touches in several steps
 * are written once.  A step whose step before it failed does not run
 * (sq_skipped).
 *
 * With sqlite_commit_interval = 0 (the default) the drain commits before it
 * runs the callback of an operation of the open transaction: a completed
 * operation is a committed one, and if the commit fails every operation of
 * the batch reports that failure.  With an interval completions run at once
 * and the transaction commits when the interval is over or SQ_BATCH_MAX
 * operations are in it: many more operations share a commit and each dirty
 * page is written once.  What survives a crash is unchanged: flush()
 * commits, and every checkpoint and the end of a run flush first, so a
 * resume replays (idempotently) all that the last checkpoint does not cover.
 * A commit that fails after its operations completed cannot be retried by
 * them: the store then fails every later flush, so no checkpoint claims the
 * lost rows and the run ends failed.
 *
 * With WAL and synchronous=NORMAL a commit costs no fsync.  WAL checkpoints,
 * the fsyncs and the copying into the database file that make committed rows
 * survive a power loss, run on a thread of their own with a connection of
 * their own (sq_ckpt below); flush() completes once one has run after it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <event2/event.h>
#include <jansson.h>
#include <sqlite3.h>

#include "sim/catalog.h"
#include "sim/defer.h"
#include "sim/log.h"
#include "sim/persona.h"
#include "sim/platform.h"
#include "sim/sqkeys.h"
#include "sim/store.h"

#define SQ_BUSY_TIMEOUT_MS 5000
#define SQ_QUEUE_MIN 64
#define SQ_BATCH_MAX 1000   /* operations in one transaction at most */
#define SQ_DRAIN_MAX 32     /* completions run per loop turn (each may run the next step) */
#define SQ_USERS_FORMAT 1   /* bump when users rows are written differently */
#define SQ_MSG_MAX 160      /* a statement's error */
#define SQ_DONE_MSG_MAX 320 /* the same, prefixed with what failed and the path */
#define SQ_KEY_MAX 96
#define SQ_PAYLOAD_MAX 96
#define SQ_EVENT_ROWS 16   /* events in one INSERT at most */
#define SQ_WAL_FRAMES 1000 /* WAL frames past which the thread checkpoints */
#define SQ_WAL_HOLD 16000  /* past which steps wait for a checkpoint (see sq_hold) */

/* Version 1: the schema of docs/schema.md.  Append, never edit, a migration. */
static const char sq_schema_v1[] =
    "CREATE TABLE IF NOT EXISTS sim_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY,"
    " agent_id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, persona TEXT NOT NULL,"
    " created_at TEXT, last_shopped_at TEXT);"
    "CREATE TABLE IF NOT EXISTS stores (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS products (id INTEGER PRIMARY KEY,"
    " store_id INTEGER NOT NULL REFERENCES stores(id), category TEXT NOT NULL,"
    " name TEXT NOT NULL, price_cents INTEGER NOT NULL CHECK (price_cents > 0));"
    "CREATE INDEX IF NOT EXISTS products_category_price ON products(category, price_cents);"
    "CREATE TABLE IF NOT EXISTS coupons (id INTEGER PRIMARY KEY, store_id INTEGER NULL,"
    " code TEXT NOT NULL, pct_off INTEGER NOT NULL, min_spend_cents INTEGER NOT NULL,"
    " valid_from TEXT, valid_to TEXT);"
    "CREATE TABLE IF NOT EXISTS user_coupons ("
    " user_id INTEGER NOT NULL REFERENCES users(id),"
    " coupon_id INTEGER NOT NULL REFERENCES coupons(id),"
    " redeemed_at TEXT NULL, order_key TEXT NULL,"
    " PRIMARY KEY (user_id, coupon_id)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS shopping_sessions (id INTEGER PRIMARY KEY,"
    " session_key TEXT NOT NULL UNIQUE, user_id INTEGER NOT NULL, started_at TEXT NOT NULL,"
    " ended_at TEXT NULL, outcome TEXT NULL);"
    "CREATE TABLE IF NOT EXISTS shopping_session_events (id INTEGER PRIMARY KEY,"
    " event_key TEXT NOT NULL UNIQUE,"
    " session_id INTEGER REFERENCES shopping_sessions(id), user_id INTEGER NOT NULL,"
    " event_type TEXT NOT NULL, payload TEXT NOT NULL, created_at TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS shopping_session_events_session_id"
    " ON shopping_session_events(session_id);"
    "CREATE TABLE IF NOT EXISTS cart_items (user_id INTEGER NOT NULL,"
    " store_id INTEGER NOT NULL, product_id INTEGER NOT NULL,"
    " quantity INTEGER NOT NULL CHECK (quantity > 0), price_cents INTEGER NOT NULL,"
    " updated_at TEXT, PRIMARY KEY (user_id, store_id, product_id)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY,"
    " idem_key TEXT NOT NULL UNIQUE, user_id INTEGER NOT NULL,"
    " session_id INTEGER REFERENCES shopping_sessions(id), coupon_id INTEGER NULL,"
    " total_cents INTEGER NOT NULL, created_at TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS order_items ("
    " order_id INTEGER NOT NULL REFERENCES orders(id), product_id INTEGER NOT NULL,"
    " quantity INTEGER NOT NULL, price_cents INTEGER NOT NULL,"
    " PRIMARY KEY (order_id, product_id)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS interactions (id INTEGER PRIMARY KEY,"
    " interaction_key TEXT NOT NULL UNIQUE, user_id INTEGER NOT NULL,"
    " product_id INTEGER NOT NULL, kind TEXT NOT NULL, created_at TEXT NOT NULL);";

/* Version 2: a session that could not finish ends 'failed' and says why. */
static const char sq_schema_v2[] = "ALTER TABLE shopping_sessions ADD COLUMN error TEXT NULL;";

static const char *const sq_migrations[] = { sq_schema_v1, sq_schema_v2 };
#define SQ_SCHEMA_VERSION ((int)(sizeof(sq_migrations) / sizeof(sq_migrations[0])))

enum sq_stmt {
	SQ_BEGIN,
	SQ_COMMIT,
	SQ_ROLLBACK,
	SQ_SAVEPOINT,
	SQ_RELEASE,
	SQ_ROLLBACK_TO,
	SQ_SESSION_INSERT,
	SQ_SESSION_ID,
	SQ_SESSION_END,
	SQ_SESSION_FAIL,
	SQ_USER_SHOPPED,
	SQ_BROWSE,
	SQ_CART_PRUNE,
	SQ_CART_UPSERT,
	SQ_CART_CLEAR,
	SQ_COUPONS,
	SQ_ORDER_INSERT,
	SQ_ORDER_ID,
	SQ_ORDER_ITEM,
	SQ_INTERACTION,
	SQ_COUPON_REDEEM,
	SQ_META_GET,
	SQ_META_SET,
	SQ_STORE_UPSERT,
	SQ_PRODUCT_UPSERT,
	SQ_COUPON_UPSERT,
	SQ_USER_UPSERT,
	SQ_WALLET_INSERT,
	SQ_CHECKPOINT,
	SQ_NSTMT
};

static const char *const sq_sql[SQ_NSTMT] = {
	[SQ_BEGIN] = "BEGIN IMMEDIATE",
	[SQ_COMMIT] = "COMMIT",
	[SQ_ROLLBACK] = "ROLLBACK",
	[SQ_SAVEPOINT] = "SAVEPOINT sq_group",
	[SQ_RELEASE] = "RELEASE sq_group",
	[SQ_ROLLBACK_TO] = "ROLLBACK TO sq_group",
	[SQ_SESSION_INSERT] = "INSERT INTO shopping_sessions(session_key, user_id, started_at)"
			      " VALUES (?1, ?2, ?3) ON CONFLICT (session_key) DO NOTHING",
	[SQ_SESSION_ID] = "SELECT id FROM shopping_sessions WHERE session_key = ?1",
	[SQ_SESSION_END] = "UPDATE shopping_sessions SET ended_at = ?2, outcome = ?3"
			   " WHERE session_key = ?1",
	[SQ_SESSION_FAIL] = "INSERT INTO shopping_sessions(session_key, user_id, started_at,"
			    " ended_at, outcome, error) VALUES (?1, ?2, ?3, ?4, 'failed', ?5)"
			    " ON CONFLICT (session_key) DO UPDATE SET ended_at = excluded.ended_at,"
			    " outcome = 'failed', error = excluded.error",
	[SQ_USER_SHOPPED] = "UPDATE users SET last_shopped_at = ?2 WHERE id = ?1",
	[SQ_BROWSE] = "SELECT id, price_cents FROM products WHERE category = ?1"
		      " ORDER BY price_cents LIMIT 50",
	/* ?2 is ",id,id,": NOT IN a json_each() built a temporary B-tree every time */
	[SQ_CART_PRUNE] = "DELETE FROM cart_items WHERE user_id = ?1"
			  " AND instr(?2, ',' || product_id || ',') = 0",
	[SQ_CART_UPSERT] = "INSERT INTO cart_items(user_id, store_id, product_id, quantity,"
			   " price_cents, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
			   " ON CONFLICT (user_id, store_id, product_id) DO UPDATE SET"
			   " quantity = excluded.quantity, price_cents = excluded.price_cents,"
			   " updated_at = excluded.updated_at",
	[SQ_CART_CLEAR] = "DELETE FROM cart_items WHERE user_id = ?1",
	[SQ_COUPONS] = "SELECT c.id, c.pct_off, c.min_spend_cents FROM user_coupons uc"
		       " JOIN coupons c ON c.id = uc.coupon_id WHERE uc.user_id = ?1"
		       " AND uc.redeemed_at IS NULL AND ?2 BETWEEN c.valid_from AND c.valid_to",
	[SQ_ORDER_INSERT] = "INSERT INTO orders(idem_key, user_id, session_id, coupon_id,"
			    " total_cents, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
			    " ON CONFLICT (idem_key) DO NOTHING",
	[SQ_ORDER_ID] = "SELECT id FROM orders WHERE idem_key = ?1",
	[SQ_ORDER_ITEM] = "INSERT INTO order_items(order_id, product_id, quantity, price_cents)"
			  " VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
	[SQ_INTERACTION] = "INSERT INTO interactions(interaction_key, user_id, product_id,"
			   " kind, created_at) VALUES (?1, ?2, ?3, 'purchase', ?4)"
			   " ON CONFLICT (interaction_key) DO NOTHING",
	[SQ_COUPON_REDEEM] = "UPDATE user_coupons SET redeemed_at = ?3, order_key = ?4"
			     " WHERE user_id = ?1 AND coupon_id = ?2 AND redeemed_at IS NULL",
	[SQ_META_GET] = "SELECT value FROM sim_meta WHERE key = ?1",
	[SQ_META_SET] = "INSERT INTO sim_meta(key, value) VALUES (?1, ?2)"
			" ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[SQ_STORE_UPSERT] = "INSERT INTO stores(id, name) VALUES (?1, ?2)"
			    " ON CONFLICT (id) DO UPDATE SET name = excluded.name",
	[SQ_PRODUCT_UPSERT] = "INSERT INTO products(id, store_id, category, name, price_cents)"
			      " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO UPDATE SET"
			      " store_id = excluded.store_id, category = excluded.category,"
			      " name = excluded.name, price_cents = excluded.price_cents",
	[SQ_COUPON_UPSERT] =
	    "INSERT INTO coupons(id, store_id, code, pct_off, min_spend_cents,"
	    " valid_from, valid_to) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
	    " ON CONFLICT (id) DO UPDATE SET store_id = excluded.store_id,"
	    " code = excluded.code, pct_off = excluded.pct_off,"
	    " min_spend_cents = excluded.min_spend_cents, valid_from = excluded.valid_from,"
	    " valid_to = excluded.valid_to",
	/* Rewriting an unchanged row would only grow the WAL: skip it. */
	[SQ_USER_UPSERT] =
	    "INSERT INTO users(id, agent_id, name, persona, created_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO UPDATE SET"
	    " agent_id = excluded.agent_id, name = excluded.name, persona = excluded.persona"
	    " WHERE users.agent_id IS NOT excluded.agent_id OR users.name IS NOT excluded.name"
	    " OR users.persona IS NOT excluded.persona",
	[SQ_WALLET_INSERT] = "INSERT INTO user_coupons(user_id, coupon_id) VALUES (?1, ?2)"
			     " ON CONFLICT DO NOTHING",
	[SQ_CHECKPOINT] = "PRAGMA wal_checkpoint(PASSIVE)",
};

/* A completion waiting for the loop: an operation, or a prepare/flush callback. */
struct sq_done {
	struct store_op *op;
	store_done_cb cb;
	void *arg;
	enum store_err err;
	int held; /* an operation not run yet: it waits for the checkpoint of sq_hold */
	/* chains: the step before it in its session's (sq_submit_chain), NULL otherwise */
	const struct store_op *after;
	uint64_t tx; /* the transaction it went through in (sq_store.txn) */
	char msg[SQ_DONE_MSG_MAX];
};

/*
 * The checkpointer: a thread with its own connection that runs
 * PRAGMA wal_checkpoint(PASSIVE) when asked, never blocking the writer.  The
 * loop's connection has wal_autocheckpoint = 0; its WAL hook asks past
 * SQ_WAL_FRAMES, flush() asks and waits for `done' to reach its ask.  The
 * thread touches only its connection and the fields under mu, and tells the
 * loop through a pipe.  If it cannot start, the loop's connection
 * checkpoints as SQLite does by default (inside a commit, on the loop).
 */
struct sq_flush_wait {
	uint64_t ask; /* complete once ck.done >= ask */
	store_done_cb cb;
	void *arg;
	struct sq_flush_wait *next;
};

struct sq_ckpt {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	sqlite3 *db;      /* the thread's */
	const char *path; /* the store's */
	uint64_t asked;   /* checkpoints asked for (under mu) */
	uint64_t done;    /* asks covered by a finished checkpoint (under mu) */
	int rc;           /* the last one's result (under mu) */
	char msg[SQ_MSG_MAX];
	int stop;         /* under mu */
	int running;      /* the thread was started */
	int pipe[2];      /* thread -> loop: a checkpoint finished */
	struct event *ev; /* the loop's end of the pipe */
	struct sq_flush_wait *waiting;
};

struct sq_store {
	struct store pub;
	struct event_base *base;
	struct defer *defer; /* completions: after the commit, from the loop */
	struct defer_entry drain;
	sqlite3 *db;
	char *path;
	sqlite3_stmt *st[SQ_NSTMT];
	sqlite3_stmt *evst[SQ_EVENT_ROWS]; /* evst[n - 1]: n events (sq_event_stmt) */
	struct sq_done *q;                 /* ring: qlen entries from qhead */
	size_t qhead, qlen, qcap;
	uint64_t queries;
	uint64_t txn;     /* transactions begun */
	size_t batch;     /* ops in the open transaction: the newest of the queue, */
	size_t delivered; /* less these, completed already (commit_interval > 0) */
	size_t group;     /* ops that went through since the group began (none completed) */
	int group_sp;     /* the group has a savepoint (the transaction held more before it) */
	int tx_fresh;     /* the open transaction holds the group's operations only */
	double commit_interval;
	struct event *commit_ev;    /* commits the open transaction after the interval */
	char lost[SQ_DONE_MSG_MAX]; /* a commit failed after completions: every flush fails */
	struct sq_ckpt ck;
	uint64_t hold_ask; /* with hold: the checkpoint the held operations wait for */
	size_t nheld;      /* queued operations held (the queue's newest) */
	int hold, in_tx, draining, closed;
	char emsg[SQ_MSG_MAX]; /* the last statement's error, kept before reset */
	char *buf;             /* persona JSON during prepare */
	size_t buflen;
	struct sq_prep *prep; /* a set-up writing users slice by slice, or NULL */
	dev_t dev;            /* of the file opened, to see it mounted again (sq_revive) */
	ino_t ino;
	int disk_failing; /* a statement failed for the file or its filesystem */
};

/*
 * Users are written a slice per loop turn, so that setting up 100,000 agents
 * never holds the loop (and the control socket) for more than a millisecond
 * or two; the slices share a transaction that commits every SQ_USERS_TX
 * users (and at the end), so the small slices cost no extra commits.
 */
#define SQ_USERS_SLICE 16
#define SQ_USERS_TX 1024

struct sq_prep {
	struct sq_store *s;
	struct store_setup su; /* the engine keeps catalogue and personas alive */
	struct event *ev;
	uint32_t next, committed; /* users written; of them, committed */
	char created[32], sig[64];
	store_done_cb cb;
	void *arg;
};

/* What one operation's statements share. */
struct sq_op_ctx {
	char session_key[SQ_KEY_MAX];
	char now[32];
	sqlite3_int64 user;
	sqlite3_int64 session_id; /* 0: no session row */
};

/* ---- statements ---- */

/* SQLite's message, and for the file's own failures the system's ("Read-only file system"). */
static void
sq_errmsg(sqlite3 *db, const char *path, int rc, char *buf, size_t len)
{
	int e = 0;

	switch (rc & 0xff) {
	case SQLITE_IOERR:
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_FULL:
		if ((e = sqlite3_system_errno(db)) == 0)
			e = platform_write_errno(path);
		break;
	}
	snprintf(buf, len, "%s%s%s%s", rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(db),
	    e ? " (" : "", e ? strerror(e) : "", e ? ")" : "");
}

static enum store_err sq_err_kind(int rc);

static void
sq_note_error(struct sq_store *s, int rc)
{
	sq_errmsg(s->db, s->path, rc, s->emsg, sizeof(s->emsg));
	if (sq_err_kind(rc) == STORE_ERR_DISK && !s->disk_failing) {
		s->disk_failing = 1;
		log_warnx("sqlite store: %s: %s; the steps wait and are retried", s->path, s->emsg);
	}
}

/* Runs st to the end, counting rows in *rows (may be NULL); resets it either way. */
static int
sq_run(struct sq_store *s, sqlite3_stmt *st, uint32_t *rows)
{
	int rc;

	s->queries++;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (rows != NULL)
			(*rows)++;
	if (rc != SQLITE_DONE)
		sq_note_error(s, rc);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Runs a one-row query; *found says whether a row came back, *out its first column. */
static int
sq_run_int(struct sq_store *s, sqlite3_stmt *st, sqlite3_int64 *out, int *found)
{
	int rc;

	s->queries++;
	*found = 0;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		*found = 1;
		rc = SQLITE_DONE;
	}
	if (rc != SQLITE_DONE)
		sq_note_error(s, rc);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int
sq_text(sqlite3_stmt *st, int i, const char *v)
{
	return sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

static int
sq_bind_failed(struct sq_store *s, int rc)
{
	if (rc != SQLITE_OK)
		sq_note_error(s, rc);
	return rc;
}

/*
 * The INSERT of n events (1..SQ_EVENT_ROWS) in one statement, prepared when
 * first needed and kept: ?1 the session, ?2 the user, then four a row.
 */
static int
sq_event_stmt(struct sq_store *s, unsigned n, sqlite3_stmt **out)
{
	char sql[160 + SQ_EVENT_ROWS * 40];
	size_t len;
	unsigned i, p;
	int rc;

	if ((*out = s->evst[n - 1]) != NULL)
		return SQLITE_OK;
	len = (size_t)snprintf(sql, sizeof(sql),
	    "INSERT INTO shopping_session_events(event_key, session_id, user_id, event_type,"
	    " payload, created_at) VALUES ");
	for (i = 0; i < n; i++) {
		p = 3 + 4 * i;
		len += (size_t)snprintf(sql + len, sizeof(sql) - len,
		    "%s(?%u, ?1, ?2, ?%u, ?%u, ?%u)", i ? ", " : "", p, p + 1, p + 2, p + 3);
	}
	snprintf(sql + len, sizeof(sql) - len, " ON CONFLICT (event_key) DO NOTHING");
	rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->evst[n - 1], NULL);
	if (rc != SQLITE_OK) {
		sq_note_error(s, rc);
		s->evst[n - 1] = NULL;
	}
	*out = s->evst[n - 1];
	return rc;
}

static void
sq_event_stmts_free(struct sq_store *s)
{
	for (unsigned i = 0; i < SQ_EVENT_ROWS; i++) {
		sqlite3_finalize(s->evst[i]);
		s->evst[i] = NULL;
	}
}

static enum store_err
sq_err_kind(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return STORE_ERR_BUSY;
	case SQLITE_NOMEM: return STORE_ERR_NOMEM;
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN: return STORE_ERR_DISK;
	default: return STORE_ERR_QUERY;
	}
}

/* ---- the completion FIFO ---- */

static int
sq_q_reserve(struct sq_store *s)
{
	struct sq_done *q;
	size_t i, cap;

	if (s->qlen < s->qcap)
		return 0;
	cap = s->qcap ? s->qcap * 2 : SQ_QUEUE_MIN;
	if ((q = calloc(cap, sizeof(*q))) == NULL)
		return -1;
	for (i = 0; i < s->qlen; i++)
		q[i] = s->q[(s->qhead + i) % s->qcap];
	free(s->q);
	s->q = q;
	s->qcap = cap;
	s->qhead = 0;
	return 0;
}

static void sq_drain(struct defer_entry *e);

/* The caller has reserved a slot. */
static struct sq_done *
sq_q_push(struct sq_store *s)
{
	struct sq_done *d = &s->q[(s->qhead + s->qlen) % s->qcap];

	memset(d, 0, sizeof(*d));
	if (s->qlen++ == 0 && !s->closed)
		defer_add(s->defer, &s->drain, sq_drain);
	return d;
}

static void
sq_q_pop(struct sq_store *s, struct sq_done *out)
{
	*out = s->q[s->qhead];
	s->qhead = (s->qhead + 1) % s->qcap;
	s->qlen--;
}

static void
sq_deliver(struct sq_done *d)
{
	if (d->op != NULL) {
		if (d->op->cb != NULL)
			d->op->cb(d->op, d->op->arg);
	} else if (d->cb != NULL) {
		d->cb(d->err, d->msg, d->arg);
	}
}

static void
sq_op_fail(struct store_op *op, enum store_err err, const char *what, const char *msg)
{
	op->err = err;
	snprintf(op->errmsg, sizeof(op->errmsg), "sqlite: %s: %.220s", what, msg);
}

/*
 * Completes, synchronously and with STORE_ERR_CLOSED, whatever still waits:
 * close() is the one place where callbacks run outside the loop, because
 * after it there is no loop event left to run them.
 */
static void
sq_fail_queued(struct sq_store *s)
{
	static const char closed[] = "store closed before the completion ran"
				     " (the write may have committed; it is safe to retry)";
	struct sq_done d;

	s->nheld = 0;
	while (s->qlen > 0) {
		sq_q_pop(s, &d);
		if (d.op != NULL) {
			sq_op_fail(d.op, STORE_ERR_CLOSED, store_op_name(d.op->type), closed);
		} else {
			d.err = STORE_ERR_CLOSED;
			snprintf(d.msg, sizeof(d.msg), "sqlite: %s", closed);
		}
		sq_deliver(&d);
	}
}

static void
sq_free(struct sq_store *s)
{
	if (s->commit_ev != NULL)
		event_free(s->commit_ev);
	defer_free(s->defer);
	free(s->q);
	free(s->buf);
	free(s->path);
	free(s);
}

/* ---- transactions ---- */

/* The transaction ended: its group with it. */
static void
sq_group_forget(struct sq_store *s)
{
	s->group = 0;
	s->group_sp = 0;
	s->tx_fresh = 0;
}

/* Ends the open transaction, if any; the error to report is the caller's. */
static void
sq_rollback(struct sq_store *s)
{
	if (!sqlite3_get_autocommit(s->db)) {
		sqlite3_step(s->st[SQ_ROLLBACK]);
		sqlite3_reset(s->st[SQ_ROLLBACK]);
	}
	s->in_tx = 0;
	sq_group_forget(s);
}

/*
 * The batch's operations that had succeeded take the failure that undid
 * them; those that completed already cannot, and the store remembers it.
 */
static void
sq_batch_failed(struct sq_store *s, int rc, const char *what)
{
	struct sq_done *d;
	size_t i, queued = s->batch - s->delivered;

	/* the batch is the queue's newest operations that have run */
	for (i = s->qlen; i-- > 0 && queued > 0;) {
		d = &s->q[(s->qhead + i) % s->qcap];
		if (d->op == NULL || d->held)
			continue;
		queued--;
		if (d->op->err == STORE_OK)
			sq_op_fail(d->op, sq_err_kind(rc), what, s->emsg);
	}
	if (s->delivered > 0 && s->lost[0] == '\0') {
		snprintf(s->lost, sizeof(s->lost),
		    "sqlite: %.16s failed after %zu steps had completed (%.40s);"
		    " their rows are lost: resume from the last checkpoint",
		    what, s->delivered, s->emsg);
		log_warnx("%s", s->lost);
	}
	s->batch = s->delivered = 0;
	sq_group_forget(s);
}

static int
sq_batch_commit(struct sq_store *s)
{
	int rc;

	if (!s->in_tx)
		return SQLITE_OK;
	if ((rc = sq_run(s, s->st[SQ_COMMIT], NULL)) != SQLITE_OK) {
		sq_rollback(s);
		sq_batch_failed(s, rc, "commit");
	} else if (s->disk_failing) {
		s->disk_failing = 0;
		log_info("sqlite store: %s: written again", s->path);
	}
	s->in_tx = 0;
	s->batch = s->delivered = 0;
	sq_group_forget(s);
	if (s->commit_ev != NULL)
		evtimer_del(s->commit_ev);
	return rc;
}

/*
 * What the open transaction holds stays, whatever fails next: before a
 * completion runs (commit_interval > 0) or other writes join it.
 */
static void
sq_group_end(struct sq_store *s)
{
	int rc;

	if (s->group_sp && (rc = sq_run(s, s->st[SQ_RELEASE], NULL)) != SQLITE_OK) {
		sq_rollback(s);
		sq_batch_failed(s, rc, "release");
		return;
	}
	s->group = 0;
	s->group_sp = 0;
	s->tx_fresh = 0;
}

static void
sq_commit_cb(evutil_socket_t fd, short what, void *arg)
{
	sq_batch_commit(arg);
}

/* A transaction of its own, for prepare(): commit on success, else roll back. */
static int
sq_tx_end(struct sq_store *s, int rc)
{
	if (rc == SQLITE_OK)
		rc = sq_run(s, s->st[SQ_COMMIT], NULL);
	if (rc != SQLITE_OK)
		sq_rollback(s);
	return rc;
}

/* commit_interval = 0: an operation of the open transaction waits for its commit. */
static int
sq_uncommitted(const struct sq_store *s, const struct sq_done *d)
{
	return s->commit_interval <= 0 && s->in_tx && d->op != NULL && d->tx == s->txn;
}

static void
sq_drain(struct defer_entry *e)
{
	struct sq_store *s = DEFER_OWNER(e, struct sq_store, drain);
	struct sq_done d;
	size_t n = s->qlen < SQ_DRAIN_MAX ? s->qlen : SQ_DRAIN_MAX;

	/*
	 * Callbacks see committed rows.  Only what was queued before this pass
	 * runs, SQ_DRAIN_MAX at most: a callback usually submits its session's
	 * next step, which runs its statements here, and a loop turn stays short.
	 * With commit_interval = 0 the pass commits only when the oldest
	 * completion waits for it, and stops at the first that would: the steps
	 * submitted by this pass's callbacks then wait for the next pass, where
	 * those of the completions left for it join them in the commit.  Each
	 * commit (its WAL frames are most of what a step costs) serves about all
	 * the steps in flight instead of one pass's worth.
	 */
	if (s->commit_interval > 0) {
		if (s->in_tx)
			sq_group_end(s);
	} else if (s->qlen > 0 && sq_uncommitted(s, &s->q[s->qhead])) {
		sq_batch_commit(s);
	}
	s->draining = 1;
	while (n-- > 0 && s->qlen > 0 && !s->q[s->qhead].held && !s->closed) {
		if (sq_uncommitted(s, &s->q[s->qhead]))
			break; /* the next pass commits it */
		if (s->in_tx && s->qlen - s->nheld <= s->batch - s->delivered)
			s->delivered++; /* completes before its commit */
		sq_q_pop(s, &d);
		sq_deliver(&d);
	}
	s->draining = 0;
	if (s->closed) {
		/* A callback closed the store: close() left the freeing to us. */
		sq_fail_queued(s);
		sq_free(s);
		return;
	}
	if (s->qlen > 0 && !s->q[s->qhead].held)
		defer_add(s->defer, &s->drain, sq_drain);
}

/* Queues a prepare/flush completion; only allocation failure completes it at once. */
static void
sq_done_later(struct sq_store *s, store_done_cb cb, void *arg, enum store_err err, const char *msg)
{
	struct sq_done *d;

	if (sq_q_reserve(s) == -1) {
		if (cb != NULL)
			cb(STORE_ERR_NOMEM, "sqlite: out of memory queueing a completion", arg);
		return;
	}
	d = sq_q_push(s);
	d->cb = cb;
	d->arg = arg;
	d->err = err;
	snprintf(d->msg, sizeof(d->msg), "%s", msg);
}

/* ---- the checkpointer thread ---- */

static void *
sq_ckpt_main(void *arg)
{
	struct sq_ckpt *ck = arg;
	char msg[SQ_MSG_MAX];
	uint64_t target;
	int rc;

	pthread_mutex_lock(&ck->mu);
	for (;;) {
		while (!ck->stop && ck->done >= ck->asked)
			pthread_cond_wait(&ck->cv, &ck->mu);
		if (ck->stop)
			break;
		target = ck->asked;
		pthread_mutex_unlock(&ck->mu);
		rc = sqlite3_wal_checkpoint_v2(ck->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		if (rc ==
		    SQLITE_BUSY) /* another process checkpoints: as PRAGMA wal_checkpoint says */
			rc = SQLITE_OK;
		if (rc == SQLITE_OK)
			msg[0] = '\0';
		else
			sq_errmsg(ck->db, ck->path, rc, msg, sizeof(msg));
		pthread_mutex_lock(&ck->mu);
		ck->done = target;
		ck->rc = rc;
		memcpy(ck->msg, msg, sizeof(msg));
		/* a full pipe already wakes the loop */
		if (write(ck->pipe[1], "", 1) < 0 && errno != EAGAIN)
			ck->rc = ck->rc != SQLITE_OK ? ck->rc : SQLITE_IOERR;
	}
	pthread_mutex_unlock(&ck->mu);
	return NULL;
}

/* Asks for a checkpoint; returns the ask a flush waits for. */
static uint64_t
sq_ckpt_ask(struct sq_ckpt *ck, int always)
{
	uint64_t a;

	pthread_mutex_lock(&ck->mu);
	if (always || ck->done >= ck->asked) {
		ck->asked++;
		pthread_cond_signal(&ck->cv);
	}
	a = ck->asked;
	pthread_mutex_unlock(&ck->mu);
	return a;
}

/*
 * The WAL starts again from its beginning only when a write transaction
 * begins after a checkpoint has copied all of it, and the thread's
 * checkpoints, racing a writer that commits every loop turn, never copy all
 * of it: the file would grow for as long as the run lasts, each commit
 * paying for new blocks.  So past SQ_WAL_HOLD frames, operations submitted
 * wait (queued, in order, not run) until a checkpoint asked after the last
 * commit has run; the next transaction then rewinds the WAL.  The loop is
 * never blocked, and the held operations share one transaction.  Each such
 * wait is the checkpoint's tail and its fsyncs, some 5-10 ms whatever the
 * WAL's size, so the bound is large: at 4,000 frames a busy store waited
 * 16 % of the time, at 16,000 (64 MB) 3 %.
 */
static void
sq_hold(struct sq_store *s)
{
	if (!s->hold && s->ck.running && !s->closed) {
		s->hold = 1;
		s->hold_ask = sq_ckpt_ask(&s->ck, 1);
	}
}

static void sq_execute(struct sq_store *s, struct sq_done *d);

/* The checkpoint came: the held operations run, in order, until a new hold. */
static void
sq_unhold(struct sq_store *s)
{
	struct sq_done *d;
	size_t i;

	s->hold = 0;
	for (i = 0; i < s->qlen && !s->closed; i++) {
		d = &s->q[(s->qhead + i) % s->qcap];
		if (!d->held)
			continue;
		if (s->hold)
			break;
		d->held = 0;
		s->nheld--;
		sq_execute(s, d);
	}
	if (s->qlen > 0 && !s->q[s->qhead].held)
		defer_add(s->defer, &s->drain, sq_drain);
}

/* After every commit of the loop's connection: the WAL's size in frames. */
static int
sq_wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct sq_store *s = arg;

	if (frames >= SQ_WAL_HOLD)
		sq_hold(s);
	else if (frames >= SQ_WAL_FRAMES)
		(void)sq_ckpt_ask(&s->ck, 0);
	return SQLITE_OK;
}

static int sq_moved(struct sq_store *s, char *msg, size_t len);

/* Flushes whose checkpoint has run complete, with its result. */
static void
sq_ckpt_release(struct sq_store *s, uint64_t done, enum store_err err, const char *msg)
{
	struct sq_flush_wait **pp = &s->ck.waiting, *w;
	char moved[SQ_DONE_MSG_MAX];

	if (err == STORE_OK && s->ck.waiting != NULL && s->db != NULL &&
	    sq_moved(s, moved, sizeof(moved))) {
		err = STORE_ERR_DISK;
		msg = moved;
	}

	while ((w = *pp) != NULL) {
		if (w->ask > done) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		if (err == STORE_OK && s->lost[0] != '\0')
			sq_done_later(s, w->cb, w->arg, STORE_ERR_QUERY, s->lost);
		else
			sq_done_later(s, w->cb, w->arg, err, msg);
		free(w);
	}
}

static void
sq_ckpt_ready(evutil_socket_t fd, short what, void *arg)
{
	struct sq_store *s = arg;
	char buf[64], msg[SQ_DONE_MSG_MAX];
	uint64_t done;
	int rc;

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&s->ck.mu);
	done = s->ck.done;
	rc = s->ck.rc;
	snprintf(msg, sizeof(msg), "sqlite: %.100s: flush: checkpoint: %s", s->path, s->ck.msg);
	pthread_mutex_unlock(&s->ck.mu);
	sq_ckpt_release(s, done, rc == SQLITE_OK ? STORE_OK : sq_err_kind(rc), rc ? msg : "");
	if (s->hold && done >= s->hold_ask)
		sq_unhold(s);
}

static int
sq_nonblocking_pipe(int fds[2])
{
	int i;

	if (pipe(fds) != 0)
		return -1;
	for (i = 0; i < 2; i++)
		if (fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK) == -1 ||
		    fcntl(fds[i], F_SETFD, FD_CLOEXEC) == -1)
			return -1;
	return 0;
}

/*
 * Closes a connection to a file no longer at its path.  Closing the last
 * connection to a WAL database deletes "<path>-wal" by name, which now
 * names the WAL of the file there: with PERSIST_WAL it is left alone.
 */
static void
sq_close_stale(sqlite3 *db)
{
	int one = 1;

	if (db != NULL)
		sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL, &one);
	sqlite3_close(db);
}

/* Stops the thread (after the checkpoint it may be running) and frees its parts. */
static void
sq_ckpt_stop(struct sq_store *s, int stale)
{
	struct sq_ckpt *ck = &s->ck;

	if (ck->running) {
		pthread_mutex_lock(&ck->mu);
		ck->stop = 1;
		pthread_cond_signal(&ck->cv);
		pthread_mutex_unlock(&ck->mu);
		pthread_join(ck->thread, NULL);
		pthread_cond_destroy(&ck->cv);
		pthread_mutex_destroy(&ck->mu);
		ck->running = 0;
	}
	if (stale)
		sq_close_stale(ck->db);
	else
		sqlite3_close(ck->db);
	ck->db = NULL;
	if (ck->ev != NULL)
		event_free(ck->ev);
	ck->ev = NULL;
	for (int i = 0; i < 2; i++)
		if (ck->pipe[i] >= 0)
			close(ck->pipe[i]);
	ck->pipe[0] = ck->pipe[1] = -1;
	/* flushes still waiting hear that the store closed */
	sq_ckpt_release(s, UINT64_MAX, STORE_ERR_CLOSED, "sqlite: flush: store closed");
}

/*
 * Starts the checkpointer; on any failure the loop's connection keeps
 * SQLite's automatic checkpoints, and flush() checkpoints on the loop.
 */
static void
sq_ckpt_start(struct sq_store *s)
{
	struct sq_ckpt *ck = &s->ck;
	int rc;

	ck->path = s->path;
	rc = sqlite3_open_v2(s->path, &ck->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(ck->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
	if (rc != SQLITE_OK || sq_nonblocking_pipe(ck->pipe) != 0 ||
	    (ck->ev = event_new(s->base, ck->pipe[0], EV_READ | EV_PERSIST, sq_ckpt_ready, s)) ==
		NULL ||
	    event_add(ck->ev, NULL) != 0 || pthread_mutex_init(&ck->mu, NULL) != 0)
		goto fail;
	if (pthread_cond_init(&ck->cv, NULL) != 0) {
		pthread_mutex_destroy(&ck->mu);
		goto fail;
	}
	if (pthread_create(&ck->thread, NULL, sq_ckpt_main, ck) != 0) {
		pthread_cond_destroy(&ck->cv);
		pthread_mutex_destroy(&ck->mu);
		goto fail;
	}
	ck->running = 1;
	sqlite3_wal_autocheckpoint(s->db, 0); /* this sets the WAL hook: ours goes after */
	sqlite3_wal_hook(s->db, sq_wal_hook, s);
	return;
fail:
	log_warnx("sqlite store: %s: no checkpoint thread (%s): WAL checkpoints run on the loop",
	    s->path, ck->db != NULL && rc != SQLITE_OK ? sqlite3_errmsg(ck->db) : strerror(errno));
	sq_ckpt_stop(s, 0);
}

/* ---- open, migrations, close ---- */

static int
sq_exec(struct sq_store *s, const char *sql)
{
	char *msg = NULL;
	int rc;

	s->queries++;
	rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		snprintf(s->emsg, sizeof(s->emsg), "%s", msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return rc;
}

static int
sq_schema_version(struct sq_store *s, int *version)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(
	    s->db, "SELECT coalesce(max(version), 0) FROM schema_version", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		sq_note_error(s, rc);
		return rc;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*version = sqlite3_column_int(st, 0);
		rc = SQLITE_OK;
	} else {
		sq_note_error(s, rc);
	}
	sqlite3_finalize(st);
	return rc;
}

/* Applies the next migration, one transaction each; *done when none is left. */
static int
sq_migrate_step(struct sq_store *s, int *done, char *err, size_t errlen)
{
	char sql[96];
	int version = 0, rc;

	if ((rc = sq_exec(s, "BEGIN IMMEDIATE")) != SQLITE_OK)
		goto fail;
	rc = sq_exec(s, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
	if (rc != SQLITE_OK || (rc = sq_schema_version(s, &version)) != SQLITE_OK)
		goto fail;
	if (version > SQ_SCHEMA_VERSION || version < 0) {
		snprintf(err, errlen,
		    "sqlite store: %s: schema version %d is %s (this simd"
		    " knows up to %d)",
		    s->path, version, version < 0 ? "invalid" : "newer than this simd",
		    SQ_SCHEMA_VERSION);
		sq_exec(s, "ROLLBACK");
		return -1;
	}
	*done = version == SQ_SCHEMA_VERSION;
	if (!*done) {
		snprintf(sql, sizeof(sql),
		    "DELETE FROM schema_version;"
		    "INSERT INTO schema_version VALUES (%d)",
		    version + 1);
		if ((rc = sq_exec(s, sq_migrations[version])) != SQLITE_OK ||
		    (rc = sq_exec(s, sql)) != SQLITE_OK)
			goto fail;
	}
	if ((rc = sq_exec(s, "COMMIT")) == SQLITE_OK)
		return 0;
fail:
	snprintf(err, errlen, "sqlite store: %s: migration to version %d: %s", s->path, version + 1,
	    s->emsg);
	if (!sqlite3_get_autocommit(s->db))
		sq_exec(s, "ROLLBACK");
	return -1;
}

static int
sq_migrate(struct sq_store *s, char *err, size_t errlen)
{
	int done = 0;

	while (!done)
		if (sq_migrate_step(s, &done, err, errlen) == -1)
			return -1;
	return 0;
}

static int
sq_configure(struct sq_store *s, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	const char *mode;
	int rc;

	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, SQ_BUSY_TIMEOUT_MS);
	/* The first statement to read the file: a corrupt one fails here. */
	rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		mode = (const char *)sqlite3_column_text(st, 0);
		if (mode == NULL || strcmp(mode, "wal") != 0) {
			snprintf(err, errlen, "sqlite store: %s: cannot use WAL mode (got %s)",
			    s->path, mode ? mode : "nothing");
			sqlite3_finalize(st);
			return -1;
		}
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK)
		sq_note_error(s, rc);
	sqlite3_finalize(st);
	/*
	 * A small page cache: a commit after a B-tree page split walks all of
	 * it (SQLite's balance renumbers pages through a page number past the
	 * file's end, and the commit then drops the cache's pages past the end
	 * by visiting every page), and a split comes with most commits.  What
	 * the steps come back to is the B-trees' inner pages and the leaves the
	 * sessions of a commit write to (neighbours: agents go in order), a few
	 * hundred pages, which 2 MB holds; from 32 MB to 2 MB cut the CPU of a
	 * session by a fifth.
	 */
	if (rc == SQLITE_OK)
		rc = sq_exec(s,
		    "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
		    " PRAGMA temp_store=MEMORY; PRAGMA cache_size=-2048");
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "sqlite store: %s: %s", s->path, s->emsg);
		return -1;
	}
	return 0;
}

static int
sq_prepare_all(struct sq_store *s, char *err, size_t errlen)
{
	int i, rc;

	for (i = 0; i < SQ_NSTMT; i++) {
		rc = sqlite3_prepare_v3(
		    s->db, sq_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
		if (rc != SQLITE_OK) {
			snprintf(err, errlen, "sqlite store: %s: preparing a statement: %s",
			    s->path, sqlite3_errmsg(s->db));
			return -1;
		}
	}
	return 0;
}

static void
sq_release_db(struct sq_store *s)
{
	int i;

	for (i = 0; i < SQ_NSTMT; i++) {
		sqlite3_finalize(s->st[i]);
		s->st[i] = NULL;
	}
	sq_event_stmts_free(s);
	if (s->db != NULL)
		sqlite3_close(s->db);
	s->db = NULL;
}

static int
sq_open_db(struct sq_store *s, char *err, size_t errlen)
{
	struct stat sb;
	int rc;

	rc = sqlite3_open_v2(s->path, &s->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		/* "unable to open database file" alone does not say why. */
		errno = s->db ? sqlite3_system_errno(s->db) : 0;
		snprintf(err, errlen, "sqlite store: %s: %s%s%s%s", s->path,
		    s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc), errno ? " (" : "",
		    errno ? strerror(errno) : "", errno ? ")" : "");
		return -1;
	}
	if (sq_configure(s, err, errlen) == -1 || sq_migrate(s, err, errlen) == -1 ||
	    sq_prepare_all(s, err, errlen) == -1)
		return -1;
	if (stat(s->path, &sb) == 0) {
		s->dev = sb.st_dev;
		s->ino = sb.st_ino;
	}
	return 0;
}

/*
 * A filesystem that failed under us (turned read-only after an error, say)
 * stays failed for the descriptors open on it: once the data directory is
 * mounted again, its file is another one, and only a new connection writes
 * to it.  Tried while writes fail, between transactions, and only when the
 * path names another file than the one open; the old connection stays when
 * the new one cannot be opened.
 */
static void
sq_revive(struct sq_store *s)
{
	sqlite3_stmt *old_st[SQ_NSTMT];
	sqlite3 *old_db = s->db;
	struct stat sb;
	char err[256];
	int i;

	if (!s->disk_failing || s->in_tx || s->hold || s->prep != NULL || s->ck.waiting != NULL ||
	    stat(s->path, &sb) != 0 || (sb.st_dev == s->dev && sb.st_ino == s->ino))
		return;
	s->dev = sb.st_dev; /* one try per file found */
	s->ino = sb.st_ino;
	sq_event_stmts_free(s); /* prepared again, on whichever connection stays */
	memcpy(old_st, s->st, sizeof(old_st));
	memset(s->st, 0, sizeof(s->st));
	s->db = NULL;
	if (sq_open_db(s, err, sizeof(err)) == -1) {
		sq_release_db(s);
		s->db = old_db;
		memcpy(s->st, old_st, sizeof(old_st));
		log_warnx("%s: keeping the connection to the old file", err);
		return;
	}
	log_warnx("sqlite store: %s is another file now (its filesystem mounted again?): "
		  "writing to it",
	    s->path);
	sq_ckpt_stop(s, 1);
	for (i = 0; i < SQ_NSTMT; i++)
		sqlite3_finalize(old_st[i]);
	sq_close_stale(old_db);
	s->ck.stop = 0;
	sq_ckpt_start(s);
}

static struct store *
sq_open(struct event_base *base, const struct store_opts *cfg, char *err, size_t errlen)
{
	struct sq_store *s;
	size_t n;

	if (cfg->data_dir == NULL || cfg->data_dir[0] == '\0') {
		snprintf(err, errlen, "sqlite store: data_dir is not set");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto nomem;
	s->pub.drv = &store_sqlite_driver;
	s->pub.priv = s;
	s->base = base;
	n = strlen(cfg->data_dir) + sizeof("/shop.db");
	if ((s->path = malloc(n)) == NULL)
		goto nomem;
	snprintf(s->path, n, "%s/shop.db", cfg->data_dir);
	s->ck.pipe[0] = s->ck.pipe[1] = -1;
	s->commit_interval = cfg->sqlite_commit_interval;
	if ((s->defer = defer_new(base)) == NULL || sq_q_reserve(s) == -1 ||
	    (s->commit_ev = evtimer_new(base, sq_commit_cb, s)) == NULL)
		goto nomem;
	if (sq_open_db(s, err, errlen) == -1) {
		sq_release_db(s);
		sq_free(s);
		return NULL;
	}
	sq_ckpt_start(s);
	return &s->pub;
nomem:
	snprintf(err, errlen, "sqlite store: out of memory");
	if (s != NULL)
		sq_free(s);
	return NULL;
}

static void
sq_close(struct store *st)
{
	struct sq_store *s = st->priv;

	s->closed = 1;
	sq_batch_commit(s);
	if (s->prep != NULL) { /* a set-up cut short: its callback hears of it */
		struct sq_prep *p = s->prep;
		s->prep = NULL;
		event_free(p->ev);
		if (p->cb != NULL)
			p->cb(STORE_ERR_CLOSED, "sqlite: prepare: store closed", p->arg);
		free(p);
	}
	sq_ckpt_stop(s, 0);
	sq_fail_queued(s);
	sq_release_db(s);
	if (!s->draining)
		sq_free(s);
}

/* ---- operations ---- */

static int
sq_session_id(struct sq_store *s, struct sq_op_ctx *x)
{
	sqlite3_stmt *st = s->st[SQ_SESSION_ID];
	int found, rc;

	if ((rc = sq_bind_failed(s, sq_text(st, 1, x->session_key))) != SQLITE_OK)
		return rc;
	rc = sq_run_int(s, st, &x->session_id, &found);
	if (!found)
		x->session_id = 0;
	return rc;
}

/* Events first..first+n-1 of op, in one statement. */
static int
sq_event_rows(
    struct sq_store *s, const struct store_op *op, struct sq_op_ctx *x, uint16_t first, unsigned n)
{
	char key[SQ_EVENT_ROWS][SQ_KEY_MAX], payload[SQ_EVENT_ROWS][SQ_PAYLOAD_MAX];
	char at[SQ_EVENT_ROWS][32];
	sqlite3_stmt *st;
	unsigned i;
	int p, rc;

	if ((rc = sq_event_stmt(s, n, &st)) != SQLITE_OK)
		return rc;
	rc = x->session_id ? sqlite3_bind_int64(st, 1, x->session_id) : sqlite3_bind_null(st, 1);
	rc |= sqlite3_bind_int64(st, 2, x->user);
	/* the buffers outlive the statement's run: SQLite need not copy them */
	for (i = 0; i < n; i++) {
		const struct store_event *ev = &op->events[first + i];

		p = 3 + 4 * (int)i;
		store_event_key(key[i], sizeof(key[i]), op, ev);
		store_event_payload(payload[i], sizeof(payload[i]), ev);
		rc |= sqlite3_bind_text(st, p, key[i], -1, SQLITE_STATIC);
		rc |= sqlite3_bind_text(st, p + 1, store_event_name(ev->type), -1, SQLITE_STATIC);
		rc |= sqlite3_bind_text(st, p + 2, payload[i], -1, SQLITE_STATIC);
		/* the same instant the postgres driver writes: sim_time + dt */
		if (ev->dt != 0)
			store_time_iso(at[i], sizeof(at[i]), op->sim_time + ev->dt);
		rc |= sqlite3_bind_text(st, p + 3, ev->dt != 0 ? at[i] : x->now, -1, SQLITE_STATIC);
	}
	if ((rc = sq_bind_failed(s, rc)) != SQLITE_OK)
		return rc;
	return sq_run(s, st, NULL);
}

static int
sq_events(struct sq_store *s, const struct store_op *op, struct sq_op_ctx *x)
{
	uint16_t i;
	unsigned n;
	int rc = SQLITE_OK;

	if (op->nevents > 0 && x->session_id == 0 && (rc = sq_session_id(s, x)) != SQLITE_OK)
		return rc;
	for (i = 0; i < op->nevents && rc == SQLITE_OK; i += (uint16_t)n) {
		n = op->nevents - i < SQ_EVENT_ROWS ? op->nevents - i : SQ_EVENT_ROWS;
		rc = sq_event_rows(s, op, x, i, n);
	}
	return rc;
}

static int
sq_op_begin(struct sq_store *s, struct store_op *op, struct sq_op_ctx *x)
{
	sqlite3_stmt *st = s->st[SQ_SESSION_INSERT];
	int rc;

	rc = sq_text(st, 1, x->session_key);
	rc |= sqlite3_bind_int64(st, 2, x->user);
	rc |= sq_text(st, 3, x->now);
	if ((rc = sq_bind_failed(s, rc)) != SQLITE_OK || (rc = sq_run(s, st, NULL)) != SQLITE_OK)
		return rc;
	op->result_count = (uint32_t)sqlite3_changes(s->db);
	if (op->result_count == 1) /* the events' session, without looking it up */
		x->session_id = sqlite3_last_insert_rowid(s->db);
	st = s->st[SQ_USER_SHOPPED];
	rc = sqlite3_bind_int64(st, 1, x->user);
	rc |= sq_text(st, 2, x->now);
	if ((rc = sq_bind_failed(s, rc)) != SQLITE_OK)
		return rc;
	return sq_run(s, st, NULL);
}

static int
sq_op_browse(struct sq_store *s, struct store_op *op, struct sq_op_ctx *x)
{
	sqlite3_stmt *st = s->st[SQ_BROWSE];
	int rc;

	if ((rc = sq_bind_failed(s, sq_text(st, 1, catalog_category_names[op->category]))))
		return rc;
	return sq_run(s, st, &op->result_count);
}

/* The cart becomes exactly op->items: lines no longer in it go, the rest are set. */
static int
sq_op_cart(struct sq_store *s, struct store_op *op, struct sq_op_ctx *x)
{
	sqlite3_stmt *st = s->st[SQ_CART_PRUNE];
	char ids[STORE_MAX_ITEMS * 12 + 4];
	size_t n = 0;
	uint16_t i;
	int rc;

	ids[n++] = ',';
	ids[n] = '\0'; /* an empty cart: "," */
	for (i = 0; i < op->nitems; i++)
		n += (size_t)snprintf(
		    ids + n, sizeof(ids) - n, "%lu,", (unsigned long)op->items[i].product_id);
	rc = sqlite3_bind_int64(st, 1, x->user);
	rc |= sq_text(st, 2, ids);
	if ((rc = sq_bind_failed(s, rc)) != SQLITE_OK || (rc = sq_run(s, st, NULL)) != SQLITE_OK)
		return rc;
	st = s->st[SQ_CART_UPSERT];
	for (i = 0; i < op->nitems && rc == SQLITE_OK; i++) {
		const struct store_item *it = &op->items[i];

		rc = sqlite3_bind_int64(st, 1, x->user);
		rc |= sqlite3_bind_int(st, 2, it->store_id);
		rc |= sqlite3_bind_int64(st, 3, it->product_id);
		rc |= sqlite3_bind_int(st, 4, it->quantity);
		rc |= sqlite3_bind_int64(st, 5, it->price_cents);
		rc |= sq_text(st, 6, x->now);
		if ((rc = sq_bind_failed(s, rc)) == SQLITE_OK)
			rc = sq_run(s, st, NULL);
	}
	op->result_count = op->nitems;
	return rc;
}

static int
sq_op_coupons(struct sq_store *s, struct store_op *op, struct sq_op_ctx *x)
{
	sqlite3_stmt *st = s->st[SQ_COUPONS];
	int rc;

	rc = sqlite3_bind_int64(st, 1, x->user);
	rc |= sq_text(st, 2, x->now);
	if ((rc = sq_bind_failed(s, rc)) != SQLITE_OK)
		return rc;
	return sq_run(s, st, &op->result_count);
}

static int
sq_order_lines(struct sq_store *s, const struct store_op *op, struct sq_op_ctx *x, const char *idem,
    sqlite3_int64 order_id)
{
	char key[SQ_KEY_MAX + 16];
	sqlite3_stmt *st;
	uint16_t i;
	int rc = SQLITE_OK;

	for (i = 0; i < op->nitems && rc == SQLITE_OK; i++) {
		const struct store_item *it = &op->items[i];

		st = s->st[SQ_ORDER_ITEM];
		rc = sqlite3_bind_int64(st, 1, order_id);
		rc |= sqlite3_bind_int64(st, 2, it->product_id);
		rc |= sqlite3_bind_int(st, 3, it->quantity);
		rc |= sqlite3_bind_int64(st, 4, it->price_cents);
		if ((rc = sq_bind_failed(s, rc)) != SQLITE_OK ||
		    (rc = sq_run(s, st, NULL)) != SQLITE_OK)
			break;
		st = s->st[SQ_INTERACTION];
		snprintf(key, sizeof(key), "%s:%lu", idem, (unsigned long)it->product_id);
		rc = sq_text(st, 1, key);
		rc |= sqlite3_bind_int64(st, 2, x->user);
		rc |= sqlite3_bind_int64(st, 3, it->product_id);
		rc |= sq_text(st, 4, x->now);
		if ((rc = sq_bind_failed(s, rc)) == SQLITE_OK)
			rc = sq_run(s, st, NULL);
	}
	return rc;
}

static int
sq_order_row(struct sq_store *s, struct store_op *op, struct sq_op_ctx *x, const char *idem,
    sqlite3_int64 *order_id)
{
	sqlite3_stmt *st = s->st[SQ_ORDER_INSERT];
	int found, rc;

	rc = sq_text(st, 1, idem);
	rc |= sqlite3_bind_int64(st, 2, x->user);
	rc |= x->session_id ? sqlite3_bind_int64(st, 3, x->session_id) : sqlite3_bind_null(st, 3);
	rc |= op->coupon_id ? sqlite3_bind_int64(st, 4, op->coupon_id) : sqlite3_bind_null(st, 4);
	rc |= sqlite3_bind_int64(st, 5, op->total_cents);
	rc |= sq_text(st, 6, x->now);
	if ((rc = sq_bind_failed(s, rc)) != SQLITE_OK || (rc = sq_run(s, st, NULL)) != SQLITE_OK)
		return rc;
	/* 1 for a new order, 0 when this is a replay of one already written. */
	op->result_count = (uint32_t)sqlite3_changes(s->db);
	st = s->st[SQ_ORDER_ID];
	if ((rc = sq_bind_failed(s, sq_text(st, 1, idem))) != SQLITE_OK ||
	    (rc = sq_run_int(s, st, order_id, &found)) != SQLITE_OK)
		return rc;
	if (!found) {
		snprintf(s->emsg, sizeof(s->emsg), "order %s vanished after its insert", idem);
		return SQLITE_ERROR;
	}
	return SQLITE_OK;
}

static int
sq_op_checkout(struct sq_store *s, struct store_op *op, struct sq_op_ctx *x)
{
	char idem[SQ_KEY_MAX];
	sqlite3_stmt *st;
	sqlite3_int64 order_id;
	int rc;

	store_order_key(idem, sizeof(idem), op);
	if ((rc = sq_session_id(s, x)) != SQLITE_OK ||
	    (rc = sq_order_row(s, op, x, idem, &order_id)) != SQLITE_OK ||
	    (rc = sq_order_lines(s, op, x, idem, order_id)) != SQLITE_OK)
		return rc;
	if (op->coupon_id != 0) {
		st = s->st[SQ_COUPON_REDEEM];
		rc = sqlite3_bind_int64(st, 1, x->user);
		rc |= sqlite3_bind_int64(st, 2, op->coupon_id);
		rc |= sq_text(st, 3, x->now);
		rc |= sq_text(st, 4, idem);
		if ((rc = sq_bind_failed(s, rc)) != SQLITE_OK ||
		    (rc = sq_run(s, st, NULL)) != SQLITE_OK)
			return rc;
	}
	st = s->st[SQ_CART_CLEAR];
	if ((rc = sq_bind_failed(s, sqlite3_bind_int64(st, 1, x->user))) != SQLITE_OK ||
	    (rc = sq_run(s, st, NULL)) != SQLITE_OK)
		return rc;
	st = s->st[SQ_SESSION_END];
	rc = sq_text(st, 1, x->session_key);
	rc |= sq_text(st, 2, x->now);
	rc |= sq_text(st, 3, "ordered");
	if ((rc = sq_bind_failed(s, rc)) != SQLITE_OK)
		return rc;
	return sq_run(s, st, NULL);
}

typedef int (*sq_op_fn)(struct sq_store *, struct store_op *, struct sq_op_ctx *);
static const sq_op_fn sq_op_fns[STORE_OP_TYPES];

static int
sq_session_end(struct sq_store *s, struct sq_op_ctx *x, const char *outcome)
{
	sqlite3_stmt *st = s->st[SQ_SESSION_END];
	int rc;

	rc = sq_text(st, 1, x->session_key);
	rc |= sq_text(st, 2, x->now);
	rc |= sq_text(st, 3, outcome);
	if ((rc = sq_bind_failed(s, rc)) != SQLITE_OK)
		return rc;
	return sq_run(s, st, NULL);
}

static int
sq_op_abandon(struct sq_store *s, struct store_op *op, struct sq_op_ctx *x)
{
	return sq_session_end(s, x, op->outcome);
}

/*
 * What a step whose shop part went through the API writes besides its events:
 * the session row (BEGIN), its end (CHECKOUT, ABANDON, FAIL), else nothing.
 */
static int
sq_op_records(struct sq_store *s, struct store_op *op, struct sq_op_ctx *x)
{
	switch (op->type) {
	case STORE_OP_BROWSE:
	case STORE_OP_CART:
	case STORE_OP_COUPONS: return SQLITE_OK;
	case STORE_OP_CHECKOUT: return sq_session_end(s, x, "ordered");
	default: return sq_op_fns[op->type](s, op, x);
	}
}

static int
sq_op_fail_session(struct sq_store *s, struct store_op *op, struct sq_op_ctx *x)
{
	sqlite3_stmt *st = s->st[SQ_SESSION_FAIL];
	char started[32];
	int rc;

	store_time_iso(started, sizeof(started), op->started);
	rc = sq_text(st, 1, x->session_key);
	rc |= sqlite3_bind_int64(st, 2, x->user);
	rc |= sq_text(st, 3, started);
	rc |= sq_text(st, 4, x->now);
	rc |= sq_text(st, 5, op->reason);
	if ((rc = sq_bind_failed(s, rc)) != SQLITE_OK)
		return rc;
	return sq_run(s, st, NULL);
}

static const sq_op_fn sq_op_fns[STORE_OP_TYPES] = {
	[STORE_OP_BEGIN] = sq_op_begin,
	[STORE_OP_BROWSE] = sq_op_browse,
	[STORE_OP_CART] = sq_op_cart,
	[STORE_OP_COUPONS] = sq_op_coupons,
	[STORE_OP_CHECKOUT] = sq_op_checkout,
	[STORE_OP_ABANDON] = sq_op_abandon,
	[STORE_OP_FAIL] = sq_op_fail_session,
};

/* Runs an operation's statements in the open transaction; op->rows is what they changed. */
static int
sq_op_run(struct sq_store *s, struct store_op *op)
{
	struct sq_op_ctx x;
	int rc, changes;

	memset(&x, 0, sizeof(x));
	store_session_key(x.session_key, sizeof(x.session_key), op);
	store_time_iso(x.now, sizeof(x.now), op->sim_time);
	x.user = (sqlite3_int64)op->agent + 1;
	changes = sqlite3_total_changes(s->db);
	rc = op->records_only ? sq_op_records(s, op, &x) : sq_op_fns[op->type](s, op, &x);
	if (rc == SQLITE_OK)
		rc = sq_events(s, op, &x);
	/* a replay writes nothing */
	op->rows = rc == SQLITE_OK ? (uint32_t)(sqlite3_total_changes(s->db) - changes) : 0;
	return rc;
}

/*
 * A step of a chain whose step before it failed does not run: it fails as
 * that one did, so that no session lands a later step without an earlier
 * one (an order without its cart).  Its chain sends it again after the
 * failed one, as store_submit_chain() says.
 */
static int
sq_skipped(struct sq_done *d)
{
	if (d->after == NULL || d->after->err == STORE_OK)
		return 0;
	sq_op_fail(d->op, d->after->err, store_op_name(d->op->type),
	    "not run: a step before it in its session failed");
	return 1;
}

/* The transaction, and the group's savepoint when the transaction held more before it. */
static int
sq_group_begin(struct sq_store *s)
{
	int rc;

	if (!s->in_tx) {
		if ((rc = sq_run(s, s->st[SQ_BEGIN], NULL)) != SQLITE_OK)
			return rc;
		s->in_tx = 1;
		s->txn++;
		s->tx_fresh = 1;
		if (s->commit_interval > 0) {
			struct timeval tv = { (time_t)s->commit_interval,
				(suseconds_t)((s->commit_interval -
						  (double)(time_t)s->commit_interval) *
				    1e6) };
			evtimer_add(s->commit_ev, &tv);
		}
	}
	if (!s->tx_fresh && !s->group_sp) {
		if ((rc = sq_run(s, s->st[SQ_SAVEPOINT], NULL)) != SQLITE_OK)
			return rc;
		s->group_sp = 1;
	}
	return SQLITE_OK;
}

/* Back to where the group began: its savepoint, or a new transaction. */
static int
sq_group_rollback(struct sq_store *s)
{
	int rc;

	if (s->group_sp)
		return sq_run(s, s->st[SQ_ROLLBACK_TO], NULL);
	if ((rc = sq_run(s, s->st[SQ_ROLLBACK], NULL)) != SQLITE_OK)
		return rc;
	s->in_tx = 0;
	if ((rc = sq_run(s, s->st[SQ_BEGIN], NULL)) != SQLITE_OK)
		return rc;
	s->in_tx = 1; /* the same batch still: s->txn stays, its completions wait for the commit */
	return SQLITE_OK;
}

/*
 * Runs the group's operations again, oldest first: the newest s->group of
 * the queue that went through (run, not held, not failed).  One that fails
 * now takes the failure and leaves the group; *again says so.
 */
static int
sq_group_redo(struct sq_store *s, int *again)
{
	struct sq_done *d;
	size_t i, first = s->qlen, n = 0;
	int rc;

	*again = 0;
	for (i = s->qlen; i-- > 0 && n < s->group;) {
		d = &s->q[(s->qhead + i) % s->qcap];
		if (d->op != NULL && !d->held && d->op->err == STORE_OK) {
			n++;
			first = i;
		}
	}
	for (i = first; i < s->qlen; i++) {
		d = &s->q[(s->qhead + i) % s->qcap];
		if (d->op == NULL || d->held || d->op->err != STORE_OK)
			continue;
		if (sq_skipped(d)) {
			s->group--; /* its chain's step before it failed now */
			continue;
		}
		if ((rc = sq_op_run(s, d->op)) != SQLITE_OK) {
			sq_op_fail(d->op, sq_err_kind(rc), store_op_name(d->op->type), s->emsg);
			s->group--;
			*again = 1;
			return rc;
		}
		d->tx = s->txn;
	}
	return SQLITE_OK;
}

/*
 * An operation of the group failed (op->err is set): the group is rolled
 * back and its other operations run again, so that what the failed one
 * wrote goes and only that.  When SQLite has rolled the whole transaction
 * back itself (an I/O error, a full disk), or a rollback fails, every
 * operation of the batch takes the failure.
 */
static void
sq_group_undo(struct sq_store *s, int rc)
{
	int again = 1;

	while (again) {
		if (sqlite3_get_autocommit(s->db)) {
			s->in_tx = 0;
			sq_batch_failed(s, rc, "transaction rolled back");
			return;
		}
		if ((rc = sq_group_rollback(s)) != SQLITE_OK) {
			sq_rollback(s);
			sq_batch_failed(s, rc, "rollback");
			return;
		}
		rc = sq_group_redo(s, &again);
	}
}

static void
sq_execute(struct sq_store *s, struct sq_done *d)
{
	struct store_op *op = d->op;
	const char *bad;
	int rc;

	if ((bad = store_op_invalid(op)) != NULL) {
		sq_op_fail(op, STORE_ERR_QUERY, "invalid operation", bad);
		return;
	}
	if (sq_skipped(d)) {
		if (s->in_tx)
			s->batch++; /* one of the batch's, as a failed one is (sq_batch_failed) */
		d->tx = s->txn;
		return;
	}
	if ((rc = sq_group_begin(s)) != SQLITE_OK) {
		sq_op_fail(op, sq_err_kind(rc), store_op_name(op->type), s->emsg);
		return;
	}
	s->batch++;
	if ((rc = sq_op_run(s, op)) != SQLITE_OK) {
		sq_op_fail(op, sq_err_kind(rc), store_op_name(op->type), s->emsg);
		sq_group_undo(s, rc);
		d->tx = s->txn; /* completes after the batch's commit, as the others */
		return;
	}
	s->group++;
	d->tx = s->txn;
	if (s->batch >= SQ_BATCH_MAX)
		sq_batch_commit(s);
}

static void
sq_submit_after(struct sq_store *s, struct store_op *op, const struct store_op *after)
{
	struct sq_done *d;

	op->err = STORE_OK;
	op->errmsg[0] = '\0';
	op->result_count = 0;
	op->rows = 0;
	if (sq_q_reserve(s) == -1) {
		/* Nowhere to park the completion: the one case completed inside submit. */
		sq_op_fail(op, STORE_ERR_NOMEM, store_op_name(op->type),
		    "out of memory queueing a completion");
		if (op->cb != NULL)
			op->cb(op, op->arg);
		return;
	}
	/* Queued first, so that a failed commit reaches this operation too. */
	d = sq_q_push(s);
	d->op = op;
	d->after = after;
	if (!s->closed)
		sq_revive(s);
	if (s->closed)
		sq_op_fail(op, STORE_ERR_CLOSED, store_op_name(op->type), "store closed");
	else if (s->hold)
		d->held = 1, s->nheld++;
	else
		sq_execute(s, d);
}

static void
sq_submit(struct store *st, struct store_op *op)
{
	sq_submit_after(st->priv, op, NULL);
}

/*
 * A session's steps one after the other, each in the open transaction as
 * submit() runs it: the steps of the sessions in flight then share each
 * commit, and the pages a session touches in several steps (its events'
 * keys, its user's cart) are written once per commit instead of once per step.
 */
static void
sq_submit_chain(struct store *st, struct store_op *const *ops, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		sq_submit_after(st->priv, ops[i], i > 0 ? ops[i - 1] : NULL);
}

static int
sq_chains(struct store *st)
{
	return !((struct sq_store *)st->priv)->closed;
}

/* ---- set-up: catalogue and users ---- */

static int
sq_meta_matches(struct sq_store *s, const char *key, const char *want, int *match)
{
	sqlite3_stmt *st = s->st[SQ_META_GET];
	const unsigned char *v;
	int rc;

	if ((rc = sq_bind_failed(s, sq_text(st, 1, key))) != SQLITE_OK)
		return rc;
	s->queries++;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		v = sqlite3_column_text(st, 0);
		*match &= v != NULL && strcmp((const char *)v, want) == 0;
		rc = SQLITE_DONE;
	} else {
		*match = 0;
	}
	if (rc != SQLITE_DONE)
		sq_note_error(s, rc);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int
sq_meta_set(struct sq_store *s, const char *key, const char *value)
{
	sqlite3_stmt *st = s->st[SQ_META_SET];
	int rc;

	rc = sq_text(st, 1, key);
	rc |= sq_text(st, 2, value);
	if ((rc = sq_bind_failed(s, rc)) != SQLITE_OK)
		return rc;
	return sq_run(s, st, NULL);
}

static int
sq_exec_int(struct sq_store *s, const char *sql, sqlite3_int64 v)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL)) != SQLITE_OK) {
		sq_note_error(s, rc);
		return rc;
	}
	if ((rc = sq_bind_failed(s, sqlite3_bind_int64(st, 1, v))) == SQLITE_OK)
		rc = sq_run(s, st, NULL);
	sqlite3_finalize(st);
	return rc;
}

static int
sq_write_stores_products(struct sq_store *s, const struct catalog *c)
{
	sqlite3_stmt *st = s->st[SQ_STORE_UPSERT];
	char name[32];
	uint32_t i;
	int rc = SQLITE_OK;

	for (i = 1; i <= c->nstores && rc == SQLITE_OK; i++) {
		catalog_store_name(name, sizeof(name), i);
		rc = sqlite3_bind_int64(st, 1, i);
		rc |= sq_text(st, 2, name);
		if ((rc = sq_bind_failed(s, rc)) == SQLITE_OK)
			rc = sq_run(s, st, NULL);
	}
	st = s->st[SQ_PRODUCT_UPSERT];
	for (i = 0; i < c->nproducts && rc == SQLITE_OK; i++) {
		const struct product *p = &c->products[i];

		rc = sqlite3_bind_int64(st, 1, p->id);
		rc |= sqlite3_bind_int(st, 2, p->store_id);
		rc |= sq_text(st, 3, catalog_category_names[p->category % CATALOG_CATEGORIES]);
		rc |= sqlite3_bind_text(
		    st, 4, p->name, (int)strnlen(p->name, sizeof(p->name)), SQLITE_TRANSIENT);
		rc |= sqlite3_bind_int64(st, 5, p->price_cents);
		if ((rc = sq_bind_failed(s, rc)) == SQLITE_OK)
			rc = sq_run(s, st, NULL);
	}
	return rc;
}

static int
sq_write_coupons(struct sq_store *s, const struct catalog *c)
{
	sqlite3_stmt *st = s->st[SQ_COUPON_UPSERT];
	char code[32], from[32], to[32];
	uint32_t i;
	int rc = SQLITE_OK;

	for (i = 0; i < c->ncoupons && rc == SQLITE_OK; i++) {
		const struct coupon *cp = &c->coupons[i];

		catalog_coupon_code(code, sizeof(code), cp);
		store_time_iso(from, sizeof(from), cp->valid_from);
		store_time_iso(to, sizeof(to), cp->valid_to);
		rc = sqlite3_bind_int64(st, 1, cp->id);
		rc |=
		    cp->store_id ? sqlite3_bind_int(st, 2, cp->store_id) : sqlite3_bind_null(st, 2);
		rc |= sq_text(st, 3, code);
		rc |= sqlite3_bind_int(st, 4, cp->pct_off);
		rc |= sqlite3_bind_int64(st, 5, cp->min_spend_cents);
		rc |= sq_text(st, 6, from);
		rc |= sq_text(st, 7, to);
		if ((rc = sq_bind_failed(s, rc)) == SQLITE_OK)
			rc = sq_run(s, st, NULL);
	}
	return rc;
}

/* Writes the catalogue unless sim_meta says this very one is already there. */
static int
sq_write_catalog(struct sq_store *s, const struct catalog *c, int *rewrote)
{
	char val[STORE_SIG_KEYS][STORE_SIG_LEN];
	int i, match = 1, rc = SQLITE_OK;

	store_catalog_signature(c, val);
	for (i = 0; i < STORE_SIG_KEYS && rc == SQLITE_OK; i++)
		rc = sq_meta_matches(s, store_sig_keys[i], val[i], &match);
	if (rc != SQLITE_OK || match)
		return rc;
	*rewrote = 1;
	/*
	 * Rows of a previous, different catalogue go: products and stores past
	 * the new counts (stores once no product points at them), unredeemed
	 * wallet entries (rewritten with the users), and coupons past the new
	 * count that no order redeemed.  Redeemed coupons stay, as history.
	 */
	if ((rc = sq_exec_int(s, "DELETE FROM products WHERE id > ?1", c->nproducts)) ||
	    (rc = sq_write_stores_products(s, c)) ||
	    (rc = sq_exec_int(s, "DELETE FROM stores WHERE id > ?1", c->nstores)) ||
	    (rc = sq_exec(s, "DELETE FROM user_coupons WHERE redeemed_at IS NULL")) ||
	    (rc = sq_write_coupons(s, c)) ||
	    (rc = sq_exec_int(s,
		 "DELETE FROM coupons WHERE id > ?1 AND NOT EXISTS (SELECT 1"
		 " FROM user_coupons uc WHERE uc.coupon_id = coupons.id)",
		 c->ncoupons)))
		return rc;
	for (i = 0; i < STORE_SIG_KEYS && rc == SQLITE_OK; i++)
		rc = sq_meta_set(s, store_sig_keys[i], val[i]);
	return rc;
}

static int
sq_write_wallet(struct sq_store *s, const struct catalog *c, uint32_t agent)
{
	sqlite3_stmt *st = s->st[SQ_WALLET_INSERT];
	uint32_t w[CATALOG_WALLET];
	int i, rc = SQLITE_OK;

	catalog_wallet(c, agent, w);
	for (i = 0; i < CATALOG_WALLET && rc == SQLITE_OK; i++) {
		if (w[i] == 0)
			continue;
		rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)agent + 1);
		rc |= sqlite3_bind_int64(st, 2, w[i]);
		if ((rc = sq_bind_failed(s, rc)) == SQLITE_OK)
			rc = sq_run(s, st, NULL);
	}
	return rc;
}

static int
sq_write_user(struct sq_store *s, const struct store_setup *su, uint32_t agent, const char *created)
{
	sqlite3_stmt *st = s->st[SQ_USER_UPSERT];
	const struct persona *p = &su->personas[agent];
	char id[STORE_AGENT_ID_MAX];
	long n;
	int rc;

	if ((n = store_persona_json(p, &s->buf, &s->buflen)) < 0) {
		snprintf(s->emsg, sizeof(s->emsg), "out of memory serialising persona %lu",
		    (unsigned long)agent + 1);
		return SQLITE_NOMEM;
	}
	store_agent_id(id, sizeof(id), agent);
	rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)agent + 1);
	rc |= sq_text(st, 2, id);
	rc |= sqlite3_bind_text(
	    st, 3, p->name, (int)strnlen(p->name, sizeof(p->name)), SQLITE_TRANSIENT);
	rc |= sqlite3_bind_text(st, 4, s->buf, (int)n, SQLITE_TRANSIENT);
	rc |= sq_text(st, 5, created);
	if ((rc = sq_bind_failed(s, rc)) != SQLITE_OK || (rc = sq_run(s, st, NULL)) != SQLITE_OK)
		return rc;
	return sq_write_wallet(s, su->catalog, agent);
}

/*
 * What the users rows were last written from: the personas, byte for byte.
 * Stray padding or bytes past a name's NUL can only make two equal sets
 * look different, which costs a rewrite, never a stale row.
 */
static void
sq_users_signature(const struct store_setup *su, char *buf, size_t len)
{
	const unsigned char *b = (const unsigned char *)su->personas;
	size_t i, n = (size_t)su->nagents * sizeof(*su->personas);
	uint64_t h = UINT64_C(14695981039346656037), w;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, b + i, 8);
		h = (h ^ w) * UINT64_C(1099511628211);
		h ^= h >> 29;
	}
	for (; i < n; i++)
		h = (h ^ b[i]) * UINT64_C(1099511628211);
	snprintf(buf, len, "v%d:%lu:%016llx", SQ_USERS_FORMAT, (unsigned long)su->nagents,
	    (unsigned long long)h);
}

static void
sq_prep_end(struct sq_prep *p, int rc)
{
	struct sq_store *s = p->s;
	char msg[SQ_DONE_MSG_MAX];

	msg[0] = '\0';
	if (rc != SQLITE_OK)
		snprintf(msg, sizeof(msg), "sqlite: prepare: %s", s->emsg);
	s->prep = NULL;
	event_free(p->ev);
	sq_done_later(s, p->cb, p->arg, rc == SQLITE_OK ? STORE_OK : sq_err_kind(rc), msg);
	free(p);
}

/*
 * One slice of users, in the store's open transaction (a flush or close in
 * between commits it early, which is harmless); the last one records the
 * signature and commits.
 */
static void
sq_prep_slice(evutil_socket_t fd, short what, void *arg)
{
	struct sq_prep *p = arg;
	struct sq_store *s = p->s;
	uint32_t end = p->next + SQ_USERS_SLICE;
	int rc = SQLITE_OK;

	if (end > p->su.nagents)
		end = p->su.nagents;
	if (s->in_tx)
		sq_group_end(s); /* the users are no operation's to roll back */
	if (!s->in_tx) {
		if ((rc = sq_run(s, s->st[SQ_BEGIN], NULL)) != SQLITE_OK) {
			sq_prep_end(p, rc);
			return;
		}
		s->in_tx = 1;
		s->txn++;
		p->committed = p->next;
	}
	for (; p->next < end && rc == SQLITE_OK; p->next++)
		rc = sq_write_user(s, &p->su, p->next, p->created);
	if (rc == SQLITE_OK && p->next >= p->su.nagents)
		rc = sq_meta_set(s, "users_signature", p->sig);
	if (rc != SQLITE_OK) {
		sq_rollback(s);
		sq_batch_failed(s, rc, "rollback");
	} else if (p->next >= p->su.nagents || p->next - p->committed >= SQ_USERS_TX) {
		rc = sq_batch_commit(s);
	}
	if (rc == SQLITE_OK && p->su.progress != NULL)
		p->su.progress->users_written = p->next;
	if (rc != SQLITE_OK || p->next >= p->su.nagents)
		sq_prep_end(p, rc);
	else
		event_active(p->ev, EV_TIMEOUT, 0);
}

/*
 * The catalogue if it changed, in one transaction; then every user and
 * wallet, a slice at a time, unless neither the personas nor the catalogue
 * changed since the last run (a resume of 100,000 agents then costs nothing).
 * Returns 1 when users are being written (p completes later), 0 when done.
 */
static int
sq_setup(struct sq_store *s, struct sq_prep *p, int *rcp)
{
	int rewrote = 0, match = 1, rc;

	store_time_iso(p->created, sizeof(p->created), p->su.catalog->sim_start);
	sq_users_signature(&p->su, p->sig, sizeof(p->sig));
	if ((rc = sq_run(s, s->st[SQ_BEGIN], NULL)) != SQLITE_OK) {
		*rcp = rc;
		return 0;
	}
	/* shop_catalog = api: the shop's own catalogue, not written */
	rc = p->su.catalog_external ? SQLITE_OK : sq_write_catalog(s, p->su.catalog, &rewrote);
	if (rc == SQLITE_OK && !rewrote)
		rc = sq_meta_matches(s, "users_signature", p->sig, &match);
	if (rc == SQLITE_OK && (rewrote || !match))
		rc = sq_meta_set(s, "users_signature", ""); /* until the last slice */
	*rcp = rc = sq_tx_end(s, rc);
	if (rc == SQLITE_OK && p->su.progress != NULL)
		p->su.progress->catalog_written = 1;
	return rc == SQLITE_OK && (rewrote || !match) && p->su.nagents > 0;
}

static void
sq_prepare(struct store *st, const struct store_setup *su, store_done_cb cb, void *arg)
{
	struct sq_store *s = st->priv;
	char msg[SQ_DONE_MSG_MAX];
	enum store_err err = STORE_OK;
	struct sq_prep *p = NULL;
	int rc = SQLITE_OK;

	msg[0] = '\0';
	sq_batch_commit(s);
	s->lost[0] = '\0'; /* a new run, or a resume that replays what was lost */
	if (s->closed || s->prep != NULL) {
		err = s->closed ? STORE_ERR_CLOSED : STORE_ERR_BUSY;
		snprintf(msg, sizeof(msg), "sqlite: prepare: %s",
		    s->closed ? "store closed" : "a set-up is already under way");
	} else if (su == NULL || su->catalog == NULL || (su->nagents > 0 && su->personas == NULL)) {
		err = STORE_ERR_QUERY;
		snprintf(msg, sizeof(msg), "sqlite: prepare: no catalogue or no personas");
	} else if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->ev = event_new(s->base, -1, 0, sq_prep_slice, p)) == NULL) {
		err = STORE_ERR_NOMEM;
		snprintf(msg, sizeof(msg), "sqlite: prepare: out of memory");
	} else {
		p->s = s;
		p->su = *su;
		p->cb = cb;
		p->arg = arg;
		if (sq_setup(s, p, &rc)) {
			s->prep = p;
			event_active(p->ev, EV_TIMEOUT, 0);
			return;
		}
		if (rc != SQLITE_OK) {
			err = sq_err_kind(rc);
			snprintf(msg, sizeof(msg), "sqlite: prepare: %s", s->emsg);
		}
	}
	if (p != NULL) {
		if (p->ev)
			event_free(p->ev);
		free(p);
	}
	sq_done_later(s, cb, arg, err, msg);
}

/* ---- flush, stats ---- */

/*
 * The file unlinked or replaced under us: what we write goes nowhere anyone
 * can read.  1, with the message, when it was.
 */
static int
sq_moved(struct sq_store *s, char *msg, size_t len)
{
	int moved = 0;

	if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_HAS_MOVED, &moved) != SQLITE_OK ||
	    !moved)
		return 0;
	snprintf(msg, len,
	    "sqlite: %.100s was removed or replaced while simd ran: the rows written to it are "
	    "gone",
	    s->path);
	return 1;
}

static void
sq_flush(struct store *st, store_done_cb cb, void *arg)
{
	struct sq_store *s = st->priv;
	char msg[SQ_DONE_MSG_MAX];
	enum store_err err = STORE_OK;
	int rc;

	msg[0] = '\0';
	sq_batch_commit(s);
	if (!s->closed)
		sq_revive(s);
	if (s->closed) {
		err = STORE_ERR_CLOSED;
		snprintf(msg, sizeof(msg), "sqlite: flush: store closed");
	} else if (s->lost[0] != '\0') {
		err = STORE_ERR_QUERY;
		memcpy(msg, s->lost, sizeof(msg));
	} else if (s->ck.running) {
		struct sq_flush_wait *w = calloc(1, sizeof(*w));
		if (w != NULL) {
			w->cb = cb;
			w->arg = arg;
			w->next = s->ck.waiting;
			s->ck.waiting = w;
			w->ask = sq_ckpt_ask(&s->ck, 1);
			return;
		}
		err = STORE_ERR_NOMEM;
		snprintf(msg, sizeof(msg), "sqlite: flush: out of memory");
	} else if ((rc = sq_run(s, s->st[SQ_CHECKPOINT], NULL)) != SQLITE_OK) {
		err = sq_err_kind(rc);
		snprintf(msg, sizeof(msg), "sqlite: %.100s: flush: %s", s->path, s->emsg);
	} else if (sq_moved(s, msg, sizeof(msg))) {
		err = STORE_ERR_DISK;
	}
	sq_done_later(s, cb, arg, err, msg);
}

static void
sq_stats(struct store *st, struct store_stats *out)
{
	struct sq_store *s = st->priv;

	memset(out, 0, sizeof(*out));
	out->driver = "sqlite";
	/* One connection: active while a batch's transaction is open. */
	out->connections_active = s->in_tx;
	out->connections_idle = s->db != NULL && !s->in_tx;
	out->max = 1;
	out->opened = 1;
	out->closed = s->db == NULL;
	out->queries = s->queries;
}

/* Between the op batches' transactions: commit the open one, then a batch of its own. */
static void
sq_keyed(struct store *st, struct store_keyjob *j)
{
	struct sq_store *s = st->priv;
	char err[SQ_MSG_MAX], msg[SQ_DONE_MSG_MAX];
	int rc;

	msg[0] = '\0';
	if (s->closed) {
		sq_done_later(s, j->cb, j->arg, STORE_ERR_CLOSED, "sqlite: store closed");
		return;
	}
	sq_batch_commit(s);
	s->queries++;
	if ((rc = sqkeys_run(s->db, j, err, sizeof(err))) != SQLITE_OK)
		snprintf(msg, sizeof(msg), "sqlite: %s: %s", j->purge ? "purge" : "count", err);
	sq_done_later(s, j->cb, j->arg, rc == SQLITE_OK ? STORE_OK : sq_err_kind(rc), msg);
}

const struct store_driver store_sqlite_driver = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.prepare = sq_prepare,
	.submit = sq_submit,
	.flush = sq_flush,
	.stats = sq_stats,
	.keyed = sq_keyed,
	.chains = sq_chains,
	.submit_chain = sq_submit_chain,
};
