/*
 * batcher.h - the event batcher: shopping_session_events rows queued and
 * written in bulk.
 *
 * Rows accumulate in an open batch, kept as the array parameters of one
 * multi-row INSERT (see pgsql.h).  A batch is sealed and written when it holds
 * `size' rows, every `interval' seconds, on batcher_kick() (a session ended)
 * and on batcher_flush().  The writing itself is the driver's: the batcher
 * hands it a sealed batch through the write function and is told the outcome
 * with batcher_written().  A batch that failed stays queued and is written
 * again on the next timer tick (the INSERT is idempotent by event_key), so a
 * database outage loses nothing the batcher holds.
 */
#ifndef SIM_BATCHER_H
#define SIM_BATCHER_H

#include <stddef.h>
#include <stdint.h>

#include "sim/store.h"

struct event_base;
struct batcher;
struct batch;

#define BATCH_COLS 6   /* key, session_key, user_id, type, payload, created_at */

struct batcher_row {
	const char *key;
	const char *session_key;
	uint32_t user_id;
	const char *type;
	const char *payload;    /* JSON text */
	int64_t created;        /* unix seconds */
};

/* Writes bt (asynchronously), then calls batcher_written(b, bt, ...). */
typedef void (*batcher_write_fn)(struct batcher *b, struct batch *bt, void *arg);

struct batcher_opts {
	unsigned size;          /* rows per batch (event_batch_size) */
	double interval;        /* seconds (event_flush_interval) */
	unsigned inflight;      /* batches written at once; 0 means 2 */
	batcher_write_fn write;
	void *arg;
	unsigned inflight_flush; /* batches at once while a flush waits; 0: inflight */
};

struct batcher_stats {
	uint64_t rows_staged;   /* rows of groups not yet released */
	uint64_t rows_queued;   /* rows not yet known written (open, queued, in flight) */
	uint64_t rows_written;
	uint64_t batches_written, batches_failed;
};

/* NULL on allocation failure. */
struct batcher *batcher_new(struct event_base *base, const struct batcher_opts *o);
/* Frees every batch and waiter without calling anyone (see batcher_abort). */
void batcher_free(struct batcher *b);

/* 0, or -1 when memory ran out (the row was not queued). */
int batcher_add(struct batcher *b, const struct batcher_row *row);
/*
 * Staging keeps a group's rows (a session's events) together: they wait
 * until batcher_release() puts them all into the open batch, so no two
 * batches, written on two connections in any order, split a session, and its
 * events' ids follow their order.  0, or -1 when memory ran out.  Rows
 * staged and never released are dropped by batcher_free().
 */
int batcher_stage(struct batcher *b, uint32_t group, const struct batcher_row *row);
int batcher_release(struct batcher *b, uint32_t group);
/* Seals and writes what is queued now. */
void batcher_kick(struct batcher *b);
/*
 * cb runs from the loop once every row added before the call is written, or
 * with the error of the first of them that failed to be.
 */
void batcher_flush(struct batcher *b, store_done_cb cb, void *arg);
/* The driver's answer for a batch the write function was given. */
void batcher_written(struct batcher *b, struct batch *bt, enum store_err err,
    const char *msg);
void batcher_stats(const struct batcher *b, struct batcher_stats *st);

/* The batch's rows and its INSERT parameters (array literals), in column order. */
unsigned batch_rows(const struct batch *bt);
const char *const *batch_params(const struct batch *bt);

/*
 * Shutdown: takes every batch not known written (open, queued or in flight) out
 * of the batcher, for the caller to write and free with batch_free().  A batch
 * taken while in flight must not be passed to batcher_written() any more.
 */
struct batch *batcher_take(struct batcher *b);
void batch_free(struct batch *bt);
/* Completes every flush waiter with (err, msg), synchronously. */
void batcher_abort(struct batcher *b, enum store_err err, const char *msg);

#endif
