/*
 * pgbatch.h - the event batcher: shopping_session_events rows queued and
 * written in bulk.
 *
 * Rows accumulate in an open batch, kept as the array parameters of one
 * multi-row INSERT (see pgsql.h).  A batch is sealed and written when it holds
 * `size' rows, every `interval' seconds, on pgbatch_kick() (a session ended)
 * and on pgbatch_flush().  The writing itself is the driver's: the batcher
 * hands it a sealed batch through the write function and is told the outcome
 * with pgbatch_written().  A batch that failed stays queued and is written
 * again on the next timer tick (the INSERT is idempotent by event_key), so a
 * database outage loses nothing the batcher holds.
 */
#ifndef SIM_PGBATCH_H
#define SIM_PGBATCH_H

#include <stddef.h>
#include <stdint.h>

#include "sim/store.h"

struct event_base;
struct pgbatch;
struct batch;

#define BATCH_COLS 6 /* key, session_key, user_id, type, payload, created_at */

struct pgbatch_row {
	const char *key;
	const char *session_key;
	uint32_t user_id;
	const char *type;
	const char *payload; /* JSON text */
	int64_t created;     /* unix seconds */
};

/* Writes bt (asynchronously), then calls pgbatch_written(b, bt, ...). */
typedef void (*pgbatch_write_fn)(struct pgbatch *b, struct batch *bt, void *arg);

struct pgbatch_opts {
	unsigned size;     /* rows per batch (event_batch_size) */
	double interval;   /* seconds (event_flush_interval) */
	unsigned inflight; /* batches written at once; 0 means 2 */
	pgbatch_write_fn write;
	void *arg;
	unsigned inflight_flush; /* batches at once while a flush waits (or the queue is half
	                          * full); 0: inflight */
	uint64_t queue_max;      /* rows staged or queued at most (back-pressure); 0: no bound */
};

struct pgbatch_stats {
	uint64_t rows_staged; /* rows of groups not yet released */
	uint64_t rows_queued; /* rows not yet known written (open, queued, in flight) */
	uint64_t rows_written;
	uint64_t batches_written, batches_failed;
	uint64_t rows_peak; /* the most rows staged and queued at once */
};

/* NULL on allocation failure. */
struct pgbatch *pgbatch_new(struct event_base *base, const struct pgbatch_opts *o);
/* Frees every batch and waiter without calling anyone (see pgbatch_abort). */
void pgbatch_free(struct pgbatch *b);

/* 0, or -1 when memory ran out (the row was not queued). */
int pgbatch_add(struct pgbatch *b, const struct pgbatch_row *row);
/*
 * Staging keeps a group's rows (a session's events) together: they wait
 * until pgbatch_release() puts them all into the open batch, so no two
 * batches, written on two connections in any order, split a session, and its
 * events' ids follow their order.  0, or -1 when memory ran out.  Rows
 * staged and never released are dropped by pgbatch_free().
 */
int pgbatch_stage(struct pgbatch *b, uint32_t group, const struct pgbatch_row *row);
int pgbatch_release(struct pgbatch *b, uint32_t group);
/* Seals and writes what is queued now. */
void pgbatch_kick(struct pgbatch *b);
/*
 * cb runs from the loop once every row added before the call is written, or
 * with the error of the first of them that failed to be.
 */
void pgbatch_flush(struct pgbatch *b, store_done_cb cb, void *arg);
/* The driver's answer for a batch the write function was given. */
void pgbatch_written(struct pgbatch *b, struct batch *bt, enum store_err err, const char *msg);
void pgbatch_stats(const struct pgbatch *b, struct pgbatch_stats *st);
/*
 * The rows' generation lost its shard's lease (store_set_fence): every row
 * held but the batches in flight is dropped, waiting flushes complete with
 * STORE_ERR_FENCED (msg), and until pgbatch_fence(b, NULL) lifts it rows
 * added are dropped, nothing is written and every flush fails so.  Batches in
 * flight are freed when they come back, whatever their outcome.
 */
void pgbatch_fence(struct pgbatch *b, const char *msg);
/*
 * Back-pressure: 1 once the rows staged and queued reach queue_max, until
 * they are back under three quarters of it (the writer catches up in bulk).
 */
int pgbatch_full(struct pgbatch *b);

/* The batch's rows and its INSERT parameters (array literals), in column order. */
unsigned pgbatch_rows(const struct batch *bt);
const char *const *pgbatch_params(const struct batch *bt);

/*
 * Shutdown: takes every batch not known written (open, queued or in flight) out
 * of the batcher, for the caller to write and free with pgbatch_free_batch().  A batch
 * taken while in flight must not be passed to pgbatch_written() any more.
 */
struct batch *pgbatch_take(struct pgbatch *b);
void pgbatch_free_batch(struct batch *bt);
/* Completes every flush waiter with (err, msg), synchronously. */
void pgbatch_abort(struct pgbatch *b, enum store_err err, const char *msg);

#endif
