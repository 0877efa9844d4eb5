/*
 * pgconn.h - one PostgreSQL connection driven by libpq's non-blocking API on
 * a libevent loop: connect (PQconnectStartParams / PQconnectPoll with our own
 * timeout), then jobs of statements sent in one pipeline where libpq has
 * pipeline mode, their results consumed as the socket becomes readable.
 *
 * Nothing here blocks the loop, and no callback runs inside the call that
 * started the work: connect and exec always complete from the loop.
 *
 * pgsync is the start-up / shutdown variant: one connection on a private loop,
 * used where the caller may wait (open() validates the URL and migrates; close()
 * writes what is still queued).
 */
#ifndef SIM_PGCONN_H
#define SIM_PGCONN_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "sim/store.h"

struct event_base;
struct pgconn;

/* Room for a libpq message a user must read whole (TLS advice runs past 250 bytes). */
#define PGCONN_MSG_MAX 1024

enum pgstmt_kind {
	PGSTMT_PARAMS,   /* sql with $n parameters (PQsendQueryParams) */
	PGSTMT_PREPARED, /* the prepared statement called name (PQsendQueryPrepared) */
	PGSTMT_PREPARE,  /* prepare sql as name (PQsendPrepare) */
	PGSTMT_SIMPLE,   /* sql may hold several statements (PQsendQuery); never pipelined */
};

struct pgstmt {
	enum pgstmt_kind kind;
	const char *name;
	const char *sql;
	int nparams;
	const char *const *params; /* text values; NULL is SQL NULL */
};

/* Where a connection goes, and how. */
struct pgconn_opts {
	const char *conninfo;         /* URI or key=value string; PG* variables fill the rest */
	const char *appname;          /* application_name (overrides the URL's) */
	const char *hostaddr;         /* the host's address, resolved beforehand, or NULL */
	double connect_timeout;       /* seconds */
	double statement_timeout;     /* seconds a job may wait for its answers; 0: no limit */
	double timeout_grace;         /* seconds more, for the server's own timeout to answer */
	int no_pipeline;              /* send one statement at a time (tests the fallback) */
	const struct pgstmt *prepare; /* PGSTMT_PREPARE statements run after connecting */
	int nprepare;
};

/* ok: err is STORE_OK; otherwise msg says why in one line, never with a secret. */
typedef void (*pgconn_connect_fn)(struct pgconn *c, enum store_err err, const char *msg, void *arg);
/* Every tuples / command result, by statement index; r is freed after the call. */
typedef void (*pgconn_result_fn)(void *arg, int idx, const PGresult *r);
typedef void (*pgconn_done_fn)(void *arg, enum store_err err, const char *msg);
/* An idle connection turned out dead (the server closed it). */
typedef void (*pgconn_lost_fn)(struct pgconn *c, void *arg);

/* Starts connecting; cb runs from the loop.  NULL on allocation failure. */
struct pgconn *pgconn_connect(
    struct event_base *base, const struct pgconn_opts *o, pgconn_connect_fn cb, void *arg);
/* Closes at once, whatever the state; no callback runs afterwards. */
void pgconn_free(struct pgconn *c);

/*
 * Runs st[0..n-1] (in one pipeline when possible) and calls done once from the
 * loop.  The statements and their parameters must stay valid until then.  A
 * statement that fails stops the job; an open transaction is rolled back before
 * done runs, so the connection is reusable unless err is STORE_ERR_CONNECT.
 */
void pgconn_exec(struct pgconn *c, const struct pgstmt *st, int n, pgconn_result_fn res,
    pgconn_done_fn done, void *arg);
/*
 * The same, with a sync after each statement i whose sync[i] is PGCONN_SYNC
 * (and after the last): each stretch between two syncs a transaction of its
 * own when it opens none, all of them in one pipeline.  A statement marked
 * PGCONN_COMMIT is a COMMIT that ends a transaction with no sync after it:
 * when it commits, what came before it is in (pgconn_ok_upto) though a later
 * statement fails, the server then skipping the rest up to the next sync.
 * sync must stay valid until done.
 */
enum { PGCONN_SYNC = 1, PGCONN_COMMIT = 2 };
void pgconn_exec_syncs(struct pgconn *c, const struct pgstmt *st, const unsigned char *sync, int n,
    pgconn_result_fn res, pgconn_done_fn done, void *arg);
/*
 * Of the job that just completed (read it in done): how many of its first
 * statements are in for good -- through the last sync whose results all came
 * back without an error, or the last commit point that committed before the
 * first error (one statement at a time: each statement).  A job
 * whose statements carry syncs is several transactions in one pipeline; the
 * caller tells which of them landed.  pgconn_job_waits: the times that job
 * waited for the server's answers before it could send more (1 for a whole
 * pipeline, one per statement without one, one more for a rollback).
 */
int pgconn_ok_upto(const struct pgconn *c);
int pgconn_job_waits(const struct pgconn *c);

/* While idle: watch the socket so that a connection the server closes is noticed. */
void pgconn_watch(struct pgconn *c, pgconn_lost_fn lost, void *arg);
void pgconn_unwatch(struct pgconn *c);
/*
 * NOTIFY messages of the channels the connection LISTENs to: fn gets each one
 * as it is read, while idle and watched or at the end of a job (before its
 * done), from the loop; fn must not start a job on c itself.
 */
typedef void (*pgconn_notify_fn)(void *arg, const char *channel, const char *payload);
void pgconn_on_notify(struct pgconn *c, pgconn_notify_fn fn, void *arg);

int pgconn_ok(const struct pgconn *c);   /* connected and not broken */
int pgconn_busy(const struct pgconn *c); /* connecting or running a job */
void pgconn_set_owner(struct pgconn *c, void *owner);
void *pgconn_owner(const struct pgconn *c);

/*
 * SQLSTATE to store error: connection loss, serialisation failure, a write
 * simd_fence() refused (STORE_ERR_FENCED, its message the server's line alone),
 * the rest.
 */
#define PGCONN_SQLSTATE_FENCED "SF001"
enum store_err pgconn_map_sqlstate(const char *sqlstate);

/*
 * Removes secrets from a libpq message and makes it one line: the password
 * given in conninfo (raw and percent-decoded) is replaced by "***".
 */
void pgconn_clean_message(char *out, size_t len, const char *msg, const char *conninfo);
/*
 * Checks a database_url without connecting: the scheme (postgresql:// or
 * postgres://, or a key=value string) and libpq's parse.  0, or -1 with a
 * message naming what is wrong and where, the password never in it.
 */
int pgconn_check_conninfo(const char *conninfo, char *err, size_t errlen);
/* "host:port/dbname" of conninfo (and the PG* variables), never the password. */
void pgconn_describe(char *out, size_t len, const char *conninfo);

/* Start-up and shutdown: a connection on a private loop; calls wait. */
struct pgsync;
struct pgsync *pgsync_open(const struct pgconn_opts *o, char *err, size_t errlen);
/* 0, or -1 with a message; the error kind goes to *kind when kind is not NULL. */
int pgsync_exec(struct pgsync *s, const struct pgstmt *st, int n, pgconn_result_fn res, void *arg,
    enum store_err *kind, char *err, size_t errlen);
void pgsync_close(struct pgsync *s);
/*
 * libpq resolves a host name inside PQconnectStartParams, blocking the loop:
 * when this connection reached a single host given by name, its address goes
 * to out, to be pinned as pgconn_opts.hostaddr (host still serves TLS
 * verification and .pgpass).  0 when pinned, -1 when there is nothing to pin.
 */
int pgsync_hostaddr(const struct pgsync *s, char *out, size_t len);

/*
 * Whether the server is on this machine: a Unix socket (host a path) or a
 * loopback address (127.0.0.0/8, ::1).  host and addr are libpq's PQhost and
 * PQhostaddr; pgconn_host_local is the test on them, pgsync_local asks it of
 * a connection.
 */
int pgconn_host_local(const char *host, const char *addr);
int pgsync_local(const struct pgsync *s);

/*
 * The backend pid the connection's start-up announced (BackendKeyData); a
 * pooler announces a key of its own, not its server connection's.
 */
int pgsync_backend_pid(const struct pgsync *s);

/* Copies a message, cut at len - 1 bytes (src may be NULL). */
void pgconn_copy(char *dst, size_t len, const char *src);

#endif
