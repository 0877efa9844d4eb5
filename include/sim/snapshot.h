/*
 * snapshot.h - everything status, stats and the end-of-run summary show, as
 * plain data: the engine fills the run's part (engine_snapshot), the server
 * the store's, the checkpoint's and the process's (server_snapshot).  The
 * JSON of those answers is built from it here, once; whatever else watches a
 * run (CSV rows, /metrics, simctl top) reads the same struct.
 */
#ifndef SIM_SNAPSHOT_H
#define SIM_SNAPSHOT_H

#include <stdint.h>

#include <jansson.h>

#include "sim/engine.h"
#include "sim/metrics.h"
#include "sim/store.h"

#define SNAPSHOT_FAILED_MAX 100 /* agents whose session failed, kept by id */

struct snapshot {
	/* the run (or, when idle, what the next one would use) */
	enum engine_state state;
	struct run_params params; /* params.only is not kept: see population */
	uint32_t population;      /* agents the run evaluates (the list's, or agents) */
	uint32_t cycle;
	uint32_t cursor; /* agents evaluated so far in this cycle */
	int has_sim_time;
	int64_t sim_time; /* when the current cycle starts, simulated */
	double elapsed_s, lag_s;
	double eta_s;          /* < 0: no estimate */
	char fail_reason[256]; /* "" unless the run failed */
	/* concurrency */
	uint32_t limit, in_flight;
	int adaptive;
	/* what happened */
	struct engine_counts counts;
	struct histogram op_lat[STORE_OP_TYPES], session_lat, cycle_lat;
	uint32_t failed_ids[SNAPSHOT_FAILED_MAX];
	uint32_t nfailed_ids;
	/* the store, the newest checkpoint, the process */
	struct store_stats store;
	int has_checkpoint;
	int64_t checkpoint_id, checkpoint_at;
	uint32_t checkpoint_cycle;
	uint64_t rss_bytes, peak_rss_bytes;
	int64_t uptime_s;
	int shutting_down;
};

/* The answers, built from s; NULL when memory ran out. */
json_t *snapshot_status_json(const struct snapshot *s);
json_t *snapshot_stats_json(const struct snapshot *s);
/* Funnel figures of the run: sessions, orders, abandonment, revenue, basket. */
json_t *snapshot_summary_json(const struct snapshot *s);

#endif
