/*
 * engine_priv.h - the engine's state, shared by its parts (engine.c,
 * session.c) and by nothing else: everyone outside goes through engine.h.
 */
#ifndef SIM_ENGINE_PRIV_H
#define SIM_ENGINE_PRIV_H

#include "sim/backoff.h"
#include "sim/catalog.h"
#include "sim/concurrency.h"
#include "sim/engine.h"
#include "sim/metrics.h"
#include "sim/pacer.h"
#include "sim/persona.h"
#include "sim/platform.h"
#include "sim/realism.h"
#include "sim/snapshot.h"

#define ENGINE_PUMP_BATCH 2048   /* agents decided per loop turn: status stays responsive */
#define ENGINE_BP_POLL_MS 5      /* while the store's queue is full, how often to look again */
#define ENGINE_TRANSIENT_CAP 2.0 /* s: the longest wait after a transient error */

struct session;
struct engine_waiter;

/* A paced cycle's visit, due at its simulated minute of the cycle in wall time. */
struct arrival {
	uint32_t offset_s; /* simulated seconds after the cycle's start */
	uint32_t agent;
};

/* The limit's controller and what feeds it (adaptive.c). */
struct adaptive {
	struct concurrency_opts opts; /* the configuration's; base: the run's max_concurrent */
	struct concurrency *cc;       /* this run's, from run_begin to run_clear */
	struct event *timer;          /* ticks while a run is active */
	struct platform_cpu cpu_prev;
	int has_cpu;
	uint64_t machine_at; /* the last machine sample */
	double log_tokens;   /* change lines that may be logged now */
	uint64_t log_at;     /* when log_tokens was counted */
	unsigned log_skipped;
	/* The last run's no-load latency, for the next (concurrency_seed); 0: none. */
	double carry_us;
	uint64_t carry_due;
};

struct engine {
	struct event_base *base;
	struct store *store;
	struct engine_hooks hooks[ENGINE_MAX_HOOKS];
	unsigned nhooks;
	engine_clock_fn clock;
	void *clock_arg;
	enum engine_state state;
	int preparing;                 /* store_prepare under way */
	int closing;                   /* engine_detach(): the store is going away */
	int ending;                    /* the final flush is under way */
	int fenced;                    /* a write was refused by the fence: nothing more is sent */
	enum engine_state final_state; /* what the run becomes once flushed */
	struct run_params p;
	struct backoff_policy retry; /* of steps and the set-up (the run's retry params) */
	struct catalog *cat;
	struct persona *personas;
	struct agent_state *agents;
	struct shopper_ctx sctx;
	struct persona_source psrc; /* psrc.fill NULL: local personas only */
	int personas_busy;          /* psrc is filling this run's personas */

	struct shopper_opts sopts; /* the run's, from its params */
	struct calendar cal;
	struct realism *tally; /* every finished session, for the realism report */
	uint32_t tally_cycle0; /* the cycle it began at (the run's first, or its resume's) */

	/*
	 * Open-model arrivals (time_scale > 0): a cycle first decides who visits
	 * (plan, in start order), then starts each visit when its simulated start
	 * falls due in wall time, however many are in flight before it.
	 */
	struct arrival *plan; /* population entries */
	uint32_t nplan, plan_next;
	struct event *arrive_timer;
	uint64_t arrive_t0_us;  /* wall time of the cycle's simulated start (pauses moved out) */
	uint64_t paused_us;     /* when a pause began (0: not paused) */
	uint64_t idle_us;       /* this cycle's wall time with nothing in flight, waiting for */
	uint64_t idle_since_us; /* ... its next arrival (since when: 0 not now) */
	struct histogram late;  /* how late each paced visit started, from its due time */
	uint64_t arrivals_first_tenth; /* paced visits started in the cycle's first tenth */

	uint32_t cycle;
	uint32_t cursor; /* next position in the agent order */
	uint32_t limit;
	uint32_t in_flight;
	struct adaptive ad;
	struct session *flying;
	struct session *free_sessions;

	struct event *pump_ev;
	struct event *bp_timer; /* back-pressure: looks again whether the store drained */
	struct event *cycle_timer;
	struct event *hours_timer;
	struct event *prep_timer; /* a set-up retried after a transient failure */
	struct backoff_state prep_bo;
	struct pacer pacer;
	int cycle_waiting;   /* between cycles, waiting for the wall clock (or the gate) */
	engine_gate_fn gate; /* NULL: cycles begin when the clock says */
	void *gate_arg;
	int gated; /* the next cycle waits for the gate (cycle_waiting is set too) */

	struct engine_counts counts;
	struct histogram op_lat[STORE_OP_TYPES];
	struct histogram session_lat;
	struct histogram cycle_lat;
	uint64_t cycle_t0_us;
	uint64_t last_cycle_us; /* the last completed cycle's wall time */
	uint64_t cycle_errors0; /* counts.errors when this cycle began */
	uint64_t cycle_rows0;   /* counts.rows likewise */
	uint32_t failed_ids[SNAPSHOT_FAILED_MAX];
	uint32_t nfailed_ids;
	struct snapshot_error last_error[STORE_ERR_COUNT];
	struct snapshot_error recent[SNAPSHOT_RECENT_ERRORS]; /* newest first */
	unsigned nrecent;
	struct store_progress prog; /* the set-up's, counted by the store */
	int setup_done;             /* this run's set-up has completed */
	char fail_reason[256];
	struct engine_waiter *waiters;
};

uint64_t engine_now_us(const struct engine *e);
/* Starts what the limit allows; ends the cycle or the run when nothing is left. */
void engine_pump(struct engine *e);
/* The run cannot go on: drain what is in flight, then fail with why. */
void engine_fail(struct engine *e, const char *why);
/*
 * A write was refused by the store's fence (STORE_ERR_FENCED, store.h): the
 * shard is another member's now, so the run fails at once, its reason
 * "fenced: ..." (msg, the server's line, wherever it sits in msg).
 */
void engine_fenced(struct engine *e, const char *msg);

/* adaptive.c */
void adaptive_init(struct engine *e);
/* A run begins: its controller, from the configuration's options and the run's base. */
int adaptive_begin(struct engine *e, char *err, size_t errlen);
void adaptive_clear(struct engine *e);
void adaptive_free(struct engine *e); /* engine_free */
/* A step completed in latency_us. */
void adaptive_sample(struct engine *e, uint64_t latency_us);
void adaptive_set_base(struct engine *e, uint32_t base);
void adaptive_snapshot(const struct engine *e, struct snapshot *s);

/* session.c */
/* t0_us: when it was due (latencies count from then, not from when it could start). */
int session_start(struct engine *e, uint32_t agent, const struct rng *rng, uint64_t t0_us);
/* Frees the free list (and, with flying, the sessions in flight: engine_free). */
void sessions_free(struct engine *e, int flying);
/* engine_detach: no retry timer fires any more. */
void sessions_detach(struct engine *e);
/* Seconds since an arbitrary origin on the engine's clock. */
double engine_now_s(const struct engine *e);

#endif
