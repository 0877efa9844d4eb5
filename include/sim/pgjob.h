/*
 * pgjob.h - units of database work run through the pool: take a connection,
 * run the job's statements (one pipeline), give the connection back, complete.
 *
 * A job runner keeps every job it started, so that closing the store can
 * complete them all; completions always run from the loop (pgjobs_later for
 * an outcome known before any work starts).
 */
#ifndef SIM_PGJOB_H
#define SIM_PGJOB_H

#include <stdint.h>
#include <sys/queue.h>

#include "sim/defer.h"
#include "sim/pgpool.h"
#include "sim/store.h"

#define PGJOB_MSG_MAX PGCONN_MSG_MAX

struct event_base;
struct pgjob;
struct pgjobs;

/* Each tuples / command result of statement idx. */
typedef void (*pgjob_result_fn)(struct pgjob *j, int idx, const PGresult *r);
/* The end of the job; the job's memory is the callee's again. msg is NULL on success. */
typedef void (*pgjob_done_fn)(struct pgjob *j, enum store_err err, const char *msg);

/* Embedded first in the caller's job structure; the caller sets st, n, result, done. */
struct pgjob {
	const struct pgstmt *st;
	const unsigned char *sync; /* NULL, or see pgconn_exec_syncs */
	int n;
	pgjob_result_fn result; /* may be NULL */
	pgjob_done_fn done;
	/* set before done runs: see pgconn_ok_upto and pgconn_job_waits (0 when it never ran) */
	int ok_upto;
	int waits;

	/* private */
	TAILQ_ENTRY(pgjob) link;
	struct defer_entry late; /* an outcome known before any work: from the loop */
	struct pgjobs *r;
	struct pgpool_req req;
	struct pgconn *conn;
	enum store_err err;
	char msg[PGJOB_MSG_MAX];
};

/* NULL on allocation failure. */
struct pgjobs *pgjobs_new(struct event_base *base, struct pgpool *pool);
/* Frees the runner; jobs still known are forgotten, not completed (see pgjobs_fail_all). */
void pgjobs_free(struct pgjobs *r);

void pgjobs_start(struct pgjobs *r, struct pgjob *j);
/* Completes j from the loop with this outcome, without running it. */
void pgjobs_later(struct pgjobs *r, struct pgjob *j, enum store_err err, const char *msg);
/*
 * Completes, synchronously, every job started (with err and msg) and every
 * job completed later (with its own outcome), including those the callbacks
 * add meanwhile.  For close(): nothing runs from the loop after it.
 */
void pgjobs_fail_all(struct pgjobs *r, enum store_err err, const char *msg);
/* Statements sent so far; the round trips their jobs waited for. */
uint64_t pgjobs_queries(const struct pgjobs *r);
uint64_t pgjobs_waits(const struct pgjobs *r);

/* cb(err, msg, arg) from the loop; when memory is short it runs at once with NOMEM. */
void pgjobs_done_later(
    struct pgjobs *r, store_done_cb cb, void *arg, enum store_err err, const char *msg);

#endif
