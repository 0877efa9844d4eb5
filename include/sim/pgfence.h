/*
 * pgfence.h - the PostgreSQL store's fence (store_set_fence, see store.h): the
 * run, shard and generation its write transactions prove they still hold, and
 * whether the server has refused one of them (the store is then fenced).
 *
 * A job takes its own copy of the fence when it is built (pgfence_take), so a
 * new generation set while it waits for a connection or for its answers never
 * changes what it sends; the copy carries the epoch it was taken in, so a
 * refusal that comes back after a newer fence was set does not fence the store.
 */
#ifndef SIM_PGFENCE_H
#define SIM_PGFENCE_H

#include <stddef.h>
#include <stdint.h>

#include "sim/params.h"
#include "sim/pgconn.h"
#include "sim/store.h"

/* What one job carries: the statement's parameters live in it. */
struct pgfence_val {
	int on; /* 0: no fence, send the writes as they are */
	unsigned epoch;
	char run[RUN_ID_MAX];
	char shard[12], gen[24];
	const char *pv[3];
};

struct pgfence {
	struct pgfence_val cur;
	unsigned epoch; /* each set or clear starts a new one */
	int fenced;     /* a write of this epoch was refused */
	char msg[PGCONN_MSG_MAX];
};

void pgfence_init(struct pgfence *f);
/* store_set_fence: 0, or -1 with a message (f unchanged). */
int pgfence_set(struct pgfence *f, const char *run_id, uint32_t shard, uint64_t generation,
    char *err, size_t errlen);
/* Copies the fence now in force into v; 1 when there is one. */
int pgfence_take(const struct pgfence *f, struct pgfence_val *v);
/* SELECT simd_fence($1, $2, $3) with v's parameters: prepared (named) or unnamed. */
void pgfence_stmt(const struct pgfence_val *v, int named, struct pgstmt *st);
/*
 * st[0..n-1], a transaction from BEGIN to COMMIT (n >= 2), with v's fence after
 * the BEGIN: a new array of n + 1 statements (free it), or NULL when memory ran out.
 */
struct pgstmt *pgfence_wrap(const struct pgstmt *st, int n, const struct pgfence_val *v, int named);
/*
 * A job that carried v ended with err: a refusal of the epoch in force fences
 * the store.  1 when the store became fenced now (the caller drops what it
 * holds and tells whom it should), 0 otherwise.
 */
int
pgfence_note(struct pgfence *f, const struct pgfence_val *v, enum store_err err, const char *msg);
/*
 * Whether err is a refusal of a fence set before the one in force (a new
 * generation since, after a re-claim): the write is to be tried again under it.
 */
int pgfence_stale(const struct pgfence *f, const struct pgfence_val *v, enum store_err err);
/* The refusal every write gets while the store is fenced; NULL when it is not. */
const char *pgfence_refused(const struct pgfence *f);

#endif
