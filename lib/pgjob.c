/*
 * pgjob.c - units of work through the pool (see pgjob.h).
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "sim/pgjob.h"

TAILQ_HEAD(pgjob_list, pgjob);

struct pgjobs {
	struct pgpool *pool;
	struct pgjob_list running;
	struct defer *defer; /* jobs whose outcome was known at once */
	uint64_t queries;
	uint64_t waits;
};

static void
pgjob_result(void *arg, int idx, const PGresult *res)
{
	struct pgjob *j = arg;

	if (j->result != NULL)
		j->result(j, idx, res);
}

static void
pgjob_finish(struct pgjob *j, enum store_err err, const char *msg)
{
	TAILQ_REMOVE(&j->r->running, j, link);
	j->done(j, err, err == STORE_OK ? NULL : msg);
}

static void
pgjob_executed(void *arg, enum store_err err, const char *msg)
{
	struct pgjob *j = arg;
	struct pgconn *c = j->conn;
	char copy[PGJOB_MSG_MAX];

	pgconn_copy(copy, sizeof(copy), msg); /* the release may free the connection */
	j->ok_upto = pgconn_ok_upto(c);
	j->waits = pgconn_job_waits(c);
	j->r->waits += (uint64_t)j->waits;
	j->conn = NULL;
	pgpool_release(j->r->pool, c);
	pgjob_finish(j, err, copy);
}

static void
pgjob_acquired(struct pgconn *c, enum store_err err, const char *msg, void *arg)
{
	struct pgjob *j = arg;

	if (err != STORE_OK) {
		pgjob_finish(j, err, msg);
		return;
	}
	j->conn = c;
	j->r->queries += (uint64_t)j->n;
	pgconn_exec_syncs(c, j->st, j->sync, j->n, pgjob_result, pgjob_executed, j);
}

void
pgjobs_start(struct pgjobs *r, struct pgjob *j)
{
	j->r = r;
	j->conn = NULL;
	j->ok_upto = j->waits = 0;
	TAILQ_INSERT_TAIL(&r->running, j, link);
	pgpool_acquire(r->pool, &j->req, pgjob_acquired, j);
}

static void
pgjob_late(struct defer_entry *e)
{
	struct pgjob *j = DEFER_OWNER(e, struct pgjob, late);

	j->done(j, j->err, j->err == STORE_OK ? NULL : j->msg);
}

void
pgjobs_later(struct pgjobs *r, struct pgjob *j, enum store_err err, const char *msg)
{
	j->r = r;
	j->err = err;
	j->ok_upto = j->waits = 0;
	pgconn_copy(j->msg, sizeof(j->msg), msg);
	memset(&j->late, 0, sizeof(j->late));
	defer_add(r->defer, &j->late, pgjob_late);
}

struct pgjobs *
pgjobs_new(struct event_base *base, struct pgpool *pool)
{
	struct pgjobs *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->pool = pool;
	TAILQ_INIT(&r->running);
	if ((r->defer = defer_new(base)) == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

void
pgjobs_free(struct pgjobs *r)
{
	if (r == NULL)
		return;
	defer_free(r->defer);
	free(r);
}

void
pgjobs_fail_all(struct pgjobs *r, enum store_err err, const char *msg)
{
	struct pgjob *j;

	for (;;) {
		if ((j = TAILQ_FIRST(&r->running)) != NULL) {
			/* A job mid-statement keeps its connection: the pool's free closes it. */
			pgpool_cancel(r->pool, &j->req);
			TAILQ_REMOVE(&r->running, j, link);
			j->done(j, err, msg);
		} else if (!defer_empty(r->defer)) {
			defer_run(r->defer);
		} else {
			break;
		}
	}
}

uint64_t
pgjobs_queries(const struct pgjobs *r)
{
	return r->queries;
}

uint64_t
pgjobs_waits(const struct pgjobs *r)
{
	return r->waits;
}

/* A store_done_cb riding on a job that runs no statement. */
struct pgjob_done {
	struct pgjob job;
	store_done_cb cb;
	void *arg;
};

static void
pgjob_done_cb(struct pgjob *j, enum store_err err, const char *msg)
{
	struct pgjob_done *x = (struct pgjob_done *)j;
	store_done_cb cb = x->cb;
	void *arg = x->arg;
	char copy[PGJOB_MSG_MAX];

	pgconn_copy(copy, sizeof(copy), msg);
	free(x);
	cb(err, err == STORE_OK ? NULL : copy, arg);
}

void
pgjobs_done_later(
    struct pgjobs *r, store_done_cb cb, void *arg, enum store_err err, const char *msg)
{
	struct pgjob_done *x = calloc(1, sizeof(*x));

	if (x == NULL) {
		cb(STORE_ERR_NOMEM, "postgres: out of memory", arg);
		return;
	}
	x->cb = cb;
	x->arg = arg;
	x->job.done = pgjob_done_cb;
	pgjobs_later(r, &x->job, err, msg);
}
