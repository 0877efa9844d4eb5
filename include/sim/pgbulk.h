/*
 * pgbulk.h - write_mode = bulk on PostgreSQL: the rows of many sessions'
 * steps in large transactions.
 *
 * An op's rows (its session row, cart, order, session end, events: every
 * table the realistic statements write) are copied into the open batch of its
 * agent's stream, and the op completes at once.  A batch is written as one
 * transaction of multi-row statements (array parameters unnested server-side,
 * as pgsql.h's), in the order the realistic driver runs them, so the rows are
 * the same.  Every row of an agent goes through the same stream, and a stream
 * writes one batch at a time, in order: a later step of an agent never
 * commits before an earlier one.  While a batch is in flight the next one
 * fills (group commit): under load batches grow to PGBULK_ROWS rows, when idle
 * a step goes at the next loop turn.
 *
 * A failed batch stays queued, its stream stopped, and is written again on the
 * next timer tick or flush: every statement is idempotent (keys, ON CONFLICT,
 * a cart rewritten whole), so nothing is doubled.  pgbulk_flush() completes
 * once every row added before it committed; checkpoints wait for it, so rows
 * a kill -9 catches uncommitted belong to steps a resume does again.
 */
#ifndef SIM_PGBULK_H
#define SIM_PGBULK_H

#include <stdint.h>

#include "sim/pgconn.h"
#include "sim/store.h"

struct event_base;
struct pgbulk;
struct pgbulk_batch;

#define PGBULK_STREAMS 2  /* batches in flight at once, one per stream */
#define PGBULK_ROWS 20000 /* a batch is sealed at this many rows even while its stream is busy */

/* Writes bt (asynchronously), then calls pgbulk_written(b, bt, ...). */
typedef void (*pgbulk_write_fn)(struct pgbulk *b, struct pgbulk_batch *bt, void *arg);

struct pgbulk_opts {
	double interval;    /* s: a failed stream is retried this often (event_flush_interval) */
	uint64_t queue_max; /* rows held at most before pgbulk_full (event_queue_max); 0: none */
	pgbulk_write_fn write;
	void *arg;
};

struct pgbulk_stats {
	uint64_t rows_queued; /* rows not yet known committed */
	uint64_t rows_written, batches_written, batches_failed;
	uint64_t rows_peak;
};

/* NULL on allocation failure. */
struct pgbulk *pgbulk_new(struct event_base *base, const struct pgbulk_opts *o);
/* Frees every batch and waiter without calling anyone (see pgbulk_abort). */
void pgbulk_free(struct pgbulk *b);

/*
 * Copies what op writes (session_key: its session's key) into its stream's
 * open batch; *rows gets the rows it carries.  0, or -1 when memory ran out
 * (nothing of the op was added).
 */
int
pgbulk_add(struct pgbulk *b, const struct store_op *op, const char *session_key, uint32_t *rows);
/* cb from the loop once every row added before the call committed, or with the first error. */
void pgbulk_flush(struct pgbulk *b, store_done_cb cb, void *arg);
/* The driver's answer for a batch the write function was given. */
void pgbulk_written(struct pgbulk *b, struct pgbulk_batch *bt, enum store_err err, const char *msg);
/* Back-pressure: 1 from queue_max rows held until they are under three quarters of it. */
int pgbulk_full(struct pgbulk *b);
void pgbulk_stats(const struct pgbulk *b, struct pgbulk_stats *st);
/*
 * The rows' generation lost its shard's lease (store_set_fence): every batch
 * but those in flight is dropped, waiting flushes complete with
 * STORE_ERR_FENCED (msg), and until pgbulk_fence(b, NULL) lifts it nothing
 * is written and every flush fails so.  A batch in flight is freed when it
 * comes back.
 */
void pgbulk_fence(struct pgbulk *b, const char *msg);

/* The batch's transaction: BEGIN, its statements, COMMIT. */
const struct pgstmt *pgbulk_stmts(const struct pgbulk_batch *bt, int *n);
unsigned pgbulk_rows(const struct pgbulk_batch *bt);

/*
 * Shutdown: takes every batch not known written, lowest sequence first (so
 * each stream's stay in order), for the caller to write and free.  A batch
 * taken while in flight must not be passed to pgbulk_written() any more.
 */
struct pgbulk_batch *pgbulk_take(struct pgbulk *b);
void pgbulk_free_batch(struct pgbulk_batch *bt);
/* Completes every flush waiter with (err, msg), synchronously. */
void pgbulk_abort(struct pgbulk *b, enum store_err err, const char *msg);

#endif
