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

#include <jansson.h>

#include "sim/engine.h"

struct checkpoint;

struct checkpoint_info {
	int64_t id;
	char run_id[ENGINE_RUN_ID_MAX];
	int64_t at;          /* unix seconds (wall clock) it was written */
	uint32_t cycle;
	uint32_t agents;
	uint64_t size;       /* bytes of the stored state */
	char reason[24];     /* "interval", "cycle", "stop", "signal", "manual", "end", "failed" */
};

/* Opens (creating) the file; a corrupt or foreign file gives an error naming it. */
struct checkpoint *checkpoint_open(const char *data_dir, int keep, char *err, size_t errlen);
void checkpoint_close(struct checkpoint *c);
void checkpoint_set_keep(struct checkpoint *c, int keep);

/* Writes snap atomically and prunes to the newest `keep`; fills info on success. */
int checkpoint_write(struct checkpoint *c, const struct engine_snapshot *snap,
    const char *reason, struct checkpoint_info *info, char *err, size_t errlen);
/*
 * Loads checkpoint id (0: the newest).  On success snap->agents is allocated
 * and must be released with checkpoint_snapshot_free().  A missing id, a
 * corrupt row or an incompatible format gives a clear error, never a crash.
 */
int checkpoint_load(struct checkpoint *c, int64_t id, struct engine_snapshot *snap,
    struct checkpoint_info *info, char *err, size_t errlen);
void checkpoint_snapshot_free(struct engine_snapshot *snap);

/* [{id, run_id, at, cycle, agents, size, reason}, ...] newest first; NULL on error. */
json_t *checkpoint_list_json(struct checkpoint *c, char *err, size_t errlen);
/* {id, at, cycle} of the newest written or loaded in this process, else null; c may be NULL. */
json_t *checkpoint_last_json(const struct checkpoint *c);

#endif
