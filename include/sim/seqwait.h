/*
 * seqwait.h - waiters on numbered batches: "call me once every batch up to
 * the newest sealed now is written".  The event batcher (pgbatch) and the bulk
 * writer (pgbulk) number the batches they seal; a flush waits for a target
 * number, and each time batches are written the writer says which is the
 * lowest one not yet written.
 */
#ifndef SIM_SEQWAIT_H
#define SIM_SEQWAIT_H

#include <stdint.h>

#include "sim/store.h"

struct seqwaiter;

struct seqwait {
	struct seqwaiter *head;
};

/* cb once every batch numbered up to target is written.  0, or -1 out of memory. */
int seqwait_add(struct seqwait *w, uint64_t target, store_done_cb cb, void *arg);
/*
 * low: the lowest number not yet written (UINT64_MAX: all).  With STORE_OK,
 * completes the waiters whose target is below it; with an error (the batch
 * numbered low failed), those waiting for it, with (err, msg).  The callbacks
 * may add waiters again.
 */
void seqwait_complete(struct seqwait *w, uint64_t low, enum store_err err, const char *msg);
/* Completes every waiter with (err, msg). */
void seqwait_abort(struct seqwait *w, enum store_err err, const char *msg);
/* Frees every waiter without calling it. */
void seqwait_clear(struct seqwait *w);
int seqwait_empty(const struct seqwait *w);

#endif
