/*
 * checkpoint.h - the checkpoint store: <data_dir>/checkpoints.db, a SQLite
 * file (WAL) separate from the shop database.  A checkpoint is one row
 * written in one transaction: the run's parameters and seed, the cycle, the
 * counters and every agent's state.  The newest `keep` are kept.
 */
#ifndef SIM_CHECKPOINT_H
#define SIM_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "sim/engine.h"

struct checkpoint;

struct checkpoint_info {
	int64_t id;
	char run_id[RUN_ID_MAX];
	int64_t at; /* unix seconds (wall clock) it was written */
	uint32_t cycle;
	uint32_t agents;
	uint64_t size;   /* bytes of the stored state */
	char reason[24]; /* "start", "interval", "cycle", "manual", "stop", "signal",
	                      * "shutdown", "end", "failed" */
};

/* Opens (creating) the file; a corrupt or foreign file gives an error naming it. */
struct checkpoint *checkpoint_open(const char *data_dir, int keep, char *err, size_t errlen);
void checkpoint_close(struct checkpoint *c);
void checkpoint_set_keep(struct checkpoint *c, int keep);

/* Writes snap atomically and prunes to the newest `keep`; fills info on success. */
int checkpoint_write(struct checkpoint *c, const struct run_state *snap, const char *reason,
    struct checkpoint_info *info, char *err, size_t errlen);
/*
 * Loads checkpoint id (0: the newest).  On success snap->agents and its agent
 * list are allocated and must be released with checkpoint_state_free().  A
 * missing id, a corrupt row or an incompatible format gives a clear error,
 * never a crash.
 */
int checkpoint_load(struct checkpoint *c, int64_t id, struct run_state *snap,
    struct checkpoint_info *info, char *err, size_t errlen);
void checkpoint_state_free(struct run_state *snap);

/* Calls fn for each checkpoint kept, newest first (fn: 0, or -1 to stop: out of memory). */
int checkpoint_list(struct checkpoint *c, int (*fn)(const struct checkpoint_info *in, void *arg),
    void *arg, char *err, size_t errlen);
/* Removes checkpoint id (purge --checkpoints); a missing one is no error. */
int checkpoint_delete(struct checkpoint *c, int64_t id, char *err, size_t errlen);
/* The newest written or loaded in this process (or found at open): 1 and its id, at, cycle. */
int checkpoint_last(const struct checkpoint *c, struct checkpoint_info *out);

#endif
