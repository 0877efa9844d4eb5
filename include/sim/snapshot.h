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

#include "sim/concurrency.h"
#include "sim/engine.h"
#include "sim/llm.h"
#include "sim/metrics.h"
#include "sim/rates.h"
#include "sim/store.h"

#define SNAPSHOT_FAILED_MAX 100  /* agents whose session failed: the lowest ids, in order */
#define SNAPSHOT_RECENT_ERRORS 3 /* the newest error messages kept */

/* A session's failure, as the errors panel shows it. */
struct snapshot_error {
	int set;
	uint8_t type; /* enum store_err */
	uint8_t step; /* enum store_op_type of the step that failed */
	uint32_t agent;
	uint32_t cycle;
	int64_t at; /* wall clock, unix seconds */
	char msg[160];
};

/* A run's set-up: personas generated, the catalogue and the users written. */
enum snapshot_phase { SETUP_NONE, SETUP_PERSONAS, SETUP_CATALOG, SETUP_USERS, SETUP_DONE };
struct snapshot_setup {
	enum snapshot_phase phase;
	uint32_t personas_done, personas_total;
	uint32_t personas_llm; /* of them, from the LLM (persona_source = llm) */
	uint32_t users_written, users_total;
	int catalog_written;
};
const char *snapshot_phase_name(enum snapshot_phase p); /* "users", ... */

struct snapshot {
	/* the run (or, when idle, what the next one would use) */
	enum engine_state state;
	struct run_params params; /* params.only is not kept: see population */
	uint32_t population;      /* agents the run evaluates (the list's, or agents) */
	uint32_t cycle;
	uint32_t cursor;       /* agents evaluated so far in this cycle */
	double cycle_s_last;   /* the last completed cycle's wall time; 0 none yet */
	double cycle_s_now;    /* the cycle under way so far; 0 between cycles */
	uint64_t cycle_errors; /* sessions failed in the cycle under way (at cycle_end: the last) */
	uint64_t cycle_rows;   /* rows written likewise */
	int has_sim_time;
	int64_t sim_time; /* when the current cycle starts, simulated */
	double elapsed_s, lag_s;
	double eta_s;          /* < 0: no estimate */
	char fail_reason[256]; /* "" unless the run failed */
	/* concurrency */
	uint32_t limit, in_flight;
	int adaptive;
	uint32_t base;                           /* max_concurrent: set-concurrency's */
	char limit_reason[CONCURRENCY_REASON];   /* of the limit's last change; "" none */
	double machine_cpu_pct, machine_mem_pct; /* the controller's view, smoothed; < 0 unknown */
	double latency_ms, no_load_latency_ms; /* of steps at this limit, at no load; < 0 unknown */
	uint64_t limit_changes;                /* in this run */
	struct concurrency_change limit_history[CONCURRENCY_HISTORY]; /* oldest first; at: unix s */
	unsigned nlimit_history;
	/* what happened */
	struct engine_counts counts;
	struct histogram op_lat[STORE_OP_TYPES], session_lat, cycle_lat;
	/* time_scale > 0: how late each visit started after its due time, and how many
	 * started in the first tenth of their cycle's wall time */
	struct histogram arrival_late;
	uint64_t arrivals_first_tenth;
	uint32_t failed_ids[SNAPSHOT_FAILED_MAX];
	uint32_t nfailed_ids;
	struct snapshot_error last_error[STORE_ERR_COUNT];    /* the newest of each type */
	struct snapshot_error recent[SNAPSHOT_RECENT_ERRORS]; /* newest first */
	unsigned nrecent;
	struct snapshot_setup setup;
	/* LLM personas (persona_source = llm; has_llm 0 otherwise) */
	int has_llm;
	struct llm_stats llm;
	/* rates now (watch.c fills them; has_rates 0 without it) */
	int has_rates;
	struct rate_window rate_interval, rate_minute;
	double cpu_pct; /* the process, over the last second; < 0 unknown */
	uint32_t subscribers;
	char metrics_addr[64]; /* where /metrics is served; "" off */
	/* the store, the newest checkpoint, the process */
	struct store_stats store;
	struct shopapi_stats api; /* api.on 0: no shop API */
	int has_checkpoint;
	int64_t checkpoint_id, checkpoint_at;
	uint32_t checkpoint_cycle;
	char checkpoint_error[512]; /* the newest checkpoint failed: why ("" it did not) */
	int64_t checkpoint_error_at;
	uint64_t rss_bytes, peak_rss_bytes;
	int64_t uptime_s;
	int shutting_down;
};

/* The answers, built from s; NULL when memory ran out. */
json_t *snapshot_status_json(const struct snapshot *s);
json_t *snapshot_stats_json(const struct snapshot *s);
/* Funnel figures of the run: sessions, orders, abandonment, revenue, basket. */
json_t *snapshot_summary_json(const struct snapshot *s);
/*
 * What a subscriber gets each interval: status with the latencies, the errors
 * (by type, with the last agent and step, the newest messages) and the rates.
 */
json_t *snapshot_frame_json(const struct snapshot *s);

#endif
