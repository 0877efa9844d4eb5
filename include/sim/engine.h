/*
 * engine.h - the scheduler: runs, cycles, the simulated clock, the
 * concurrency limit, pause/resume/stop, retries, counters.
 */
#ifndef SIM_ENGINE_H
#define SIM_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sim/shopper.h"
#include "sim/store.h"

struct event_base;
struct engine;

enum engine_state {
	ENGINE_IDLE, ENGINE_RUNNING, ENGINE_PAUSED, ENGINE_STOPPING, ENGINE_FINISHED,
	ENGINE_FAILED
};
const char *engine_state_name(enum engine_state s);

#define ENGINE_MAX_CONCURRENT 100000
#define ENGINE_RUN_ID_MAX 40

struct run_params {
	char run_id[ENGINE_RUN_ID_MAX]; /* empty: a new one is made */
	uint64_t seed;
	uint32_t agents;
	uint32_t cycles;          /* 0: until hours or stop */
	double hours;             /* 0: until cycles or stop */
	uint32_t tick;            /* simulated minutes per cycle */
	double time_scale;        /* 0: as fast as possible */
	int64_t sim_start;
	uint32_t max_concurrent;
	uint32_t max_retries;
	uint32_t retry_backoff_ms;
	double retry_window;
	uint32_t catalog_products, catalog_stores, catalog_coupons;
	int all_shop;
	uint32_t *only;           /* sorted agent indices to run, NULL: all; owned by the engine */
	uint32_t nonly;
};

struct engine_counts {
	uint64_t agents_processed, agents_shopped, sessions, orders, abandoned, browsed;
	uint64_t events, errors, retries, revenue_cents, items, rows;
	uint64_t errors_by_type[STORE_ERR_COUNT];
};

/* Where a run stands: what a checkpoint records and a resume restores. */
struct engine_snapshot {
	struct run_params params;
	uint32_t cycle;                 /* the cycle under way (or next) */
	struct engine_counts counts;
	double elapsed_s;               /* wall seconds run so far */
	double lag_s;
	const struct agent_state *agents;  /* params.agents entries */
};

struct engine_hooks {
	/* A new run has begun (not a resumed one): its parameters are set, set-up starts. */
	void (*run_start)(struct engine *e, void *arg);
	/* After every completed cycle, with the run's state at that boundary. */
	void (*cycle_end)(struct engine *e, void *arg);
	/* Once the run has ended (finished or failed) and the store is flushed. */
	void (*run_end)(struct engine *e, void *arg);
	void *arg;
};

typedef void (*engine_wait_fn)(struct engine *e, void *arg);

struct engine *engine_new(struct event_base *base, struct store *store);
void engine_free(struct engine *e);
void engine_set_hooks(struct engine *e, const struct engine_hooks *hooks);
/*
 * Before the store is closed under a run still in flight: from now on the
 * engine starts nothing and lets go of each session the store hands back.
 */
void engine_detach(struct engine *e);

/* Each returns 0, or -1 with a message in err (the state is then unchanged). */
int engine_start(struct engine *e, const struct run_params *p, char *err, size_t errlen);
/* Continues a run from a snapshot: same run id, seed, cycle, agent states, counters. */
int engine_resume_from(struct engine *e, const struct engine_snapshot *snap, char *err,
    size_t errlen);
int engine_pause(struct engine *e, char *err, size_t errlen);
int engine_resume(struct engine *e, char *err, size_t errlen);
int engine_stop(struct engine *e, char *err, size_t errlen);
int engine_set_concurrency(struct engine *e, uint32_t n, char *err, size_t errlen);
/* Calls fn once the current run has ended (immediately-after if none is active). */
int engine_wait(struct engine *e, engine_wait_fn fn, void *arg);

enum engine_state engine_state(const struct engine *e);
int engine_active(const struct engine *e);   /* running, paused or stopping */
uint32_t engine_in_flight(const struct engine *e);
/* A consistent view for checkpoints: agents in flight appear as before their session. */
int engine_snapshot(const struct engine *e, struct engine_snapshot *out);
const struct engine_counts *engine_counts(const struct engine *e);

json_t *engine_status(const struct engine *e);  /* the run part of `status` */
json_t *engine_stats(const struct engine *e);
json_t *engine_summary(const struct engine *e); /* funnel figures of the run */

#endif
