/*
 * engine.h - the scheduler: runs, cycles, the simulated clock, the
 * concurrency limit, pause/resume/stop, counters.  Its parts: engine.c (the
 * run's lifecycle and the scheduling pump), session.c (sessions, their steps
 * and retries), pacer.c (when cycles start against the wall clock).
 */
#ifndef SIM_ENGINE_H
#define SIM_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "sim/params.h"
#include "sim/shopper.h"
#include "sim/store.h"

struct event_base;
struct engine;
struct persona;
struct realism_report;
struct snapshot;
struct concurrency_opts;

enum engine_state {
	ENGINE_IDLE,
	ENGINE_RUNNING,
	ENGINE_PAUSED,
	ENGINE_STOPPING,
	ENGINE_FINISHED,
	ENGINE_FAILED
};
const char *engine_state_name(enum engine_state s);

#define ENGINE_MAX_HOOKS 4

struct engine_counts {
	uint64_t agents_processed, agents_shopped, sessions, orders, abandoned, browsed;
	uint64_t events, errors, retries, revenue_cents, items, rows;
	uint64_t errors_by_type[STORE_ERR_COUNT];
};

/* The counters by name (errors_by_type aside): checkpoints and status read this table. */
struct count_def {
	const char *name;
	size_t offset; /* a uint64_t in struct engine_counts */
};
extern const struct count_def engine_count_defs[];
extern const size_t engine_ncount_defs;

/* Where a run stands: what a checkpoint records and a resume restores. */
struct run_state {
	struct run_params params;
	uint32_t cycle; /* the cycle under way (or next) */
	struct engine_counts counts;
	double elapsed_s; /* wall seconds run so far */
	double lag_s;
	const struct agent_state *agents; /* params.agents entries */
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

/*
 * Where a run's personas come from besides persona_generate (persona_source =
 * llm: llm.c).  Before the set-up writes the users, the engine hands it the
 * run's personas, already generated locally, to replace; the run waits (in
 * set-up phase "personas") until done is called, once, later, from the loop.
 */
typedef void (*persona_done_fn)(int rc, const char *why, void *arg); /* rc 0, or -1 and why */
struct persona_source {
	/* 0, or -1 with why in err (done is then never called). */
	int (*fill)(void *src, uint64_t seed, struct persona *ps, uint32_t n, persona_done_fn done,
	    void *arg, char *err, size_t errlen);
	void (*cancel)(void *src); /* done is not called after it */
	void (*pause)(void *src, int on);
	/* Personas settled so far, and how many of them came from the source. */
	void (*progress)(const void *src, uint32_t *done, uint32_t *from_source);
	void *src;
};

typedef void (*engine_wait_fn)(struct engine *e, void *arg);
/* Microseconds of a monotonic clock: the engine's time source (tests move it). */
typedef uint64_t (*engine_clock_fn)(void *arg);

/*
 * Whether cycle `cycle' may begin now (cluster_max_skew: the slowest shard of a
 * run paces the others); 0 holds it until engine_gate_check() finds it open.
 */
typedef int (*engine_gate_fn)(void *arg, uint32_t cycle);

struct engine *engine_new(struct event_base *base, struct store *store);
void engine_free(struct engine *e);
/* Up to ENGINE_MAX_HOOKS sets, called in the order added; -1 when full. */
int engine_add_hooks(struct engine *e, const struct engine_hooks *hooks);
void engine_set_clock(struct engine *e, engine_clock_fn fn, void *arg);
/* Every cycle of every run from now on asks fn first (NULL: none). */
void engine_set_gate(struct engine *e, engine_gate_fn fn, void *arg);
/* The gate may have opened: a cycle it holds begins if it may now. */
void engine_gate_check(struct engine *e);
/* Whether a cycle waits for the gate now (status). */
int engine_gated(const struct engine *e);
/* Personas from src (copied) for every run from now on; NULL: persona_generate alone. */
void engine_set_persona_source(struct engine *e, const struct persona_source *src);
/*
 * Before the store is closed under a run still in flight: from now on the
 * engine starts nothing and lets go of each session the store hands back.
 */
void engine_detach(struct engine *e);

/* Each returns 0, or -1 with a message in err (the state is then unchanged). */
/* Takes p's agent list. */
int engine_start(struct engine *e, const struct run_params *p, char *err, size_t errlen);
/* The same under p's own run id (a cluster's shards share one); a new one when it is empty. */
int engine_start_as(struct engine *e, const struct run_params *p, char *err, size_t errlen);
/* A new run id: the UTC time, 4 hex digits of its microseconds, the seed. */
void engine_new_run_id(char *buf, size_t len, uint64_t seed);
/* Continues a run from a checkpoint's state: same run id, seed, cycle, agents, counters. */
int engine_resume_from(struct engine *e, const struct run_state *rs, char *err, size_t errlen);
int engine_pause(struct engine *e, char *err, size_t errlen);
int engine_resume(struct engine *e, char *err, size_t errlen);
int engine_stop(struct engine *e, char *err, size_t errlen);
int engine_set_concurrency(struct engine *e, uint32_t n, char *err, size_t errlen);
/*
 * The adaptive controller's options (concurrency.h; their base is ignored: it
 * is the run's max_concurrent): a run under way takes them now, the next run
 * starts with them.
 */
int
engine_set_adaptive(struct engine *e, const struct concurrency_opts *o, char *err, size_t errlen);
/* Calls fn once the current run has ended (immediately-after if none is active). */
int engine_wait(struct engine *e, engine_wait_fn fn, void *arg);
/* Forgets what engine_wait(e, fn, arg) asked for: fn is not called. */
void engine_unwait(struct engine *e, engine_wait_fn fn, void *arg);

enum engine_state engine_state(const struct engine *e);
int engine_active(const struct engine *e); /* running, paused or stopping */
uint32_t engine_in_flight(const struct engine *e);
/* The limit on sessions in flight now (the controller's, when adaptive). */
uint32_t engine_limit(const struct engine *e);
/* Why the run failed ("" when it did not). */
const char *engine_fail_reason(const struct engine *e);
/* A consistent view for checkpoints: agents in flight appear as before their session. */
int engine_run_state(const struct engine *e, struct run_state *out);
/*
 * The shopper model of a run's params: its options, checked, and its calendar
 * (weekday_mix, calendar) parsed.  0, or -1 with a message naming the key.
 */
int engine_shopper(const struct run_params *p, struct shopper_opts *opts, struct calendar *cal,
    char *err, size_t errlen);
/*
 * The realism report of the sessions finished since the run began (or was
 * resumed from a checkpoint); -1 when there has been no run.
 */
int engine_realism(const struct engine *e, struct realism_report *out);
/* The run's part of what status, stats and the end-of-run summary show. */
void engine_snapshot(const struct engine *e, struct snapshot *out);

#endif
