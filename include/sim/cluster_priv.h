/*
 * cluster_priv.h - what cluster.c (the connection, the heartbeat) and
 * clustershard.c (claiming and running shards) share.  Not for other modules.
 */
#ifndef SIM_CLUSTER_PRIV_H
#define SIM_CLUSTER_PRIV_H

#include <stdint.h>

#include "sim/cluster.h"
#include "sim/engine.h"
#include "sim/params.h"
#include "sim/pgconn.h"

#define CLUSTER_NAME_MAX 80
#define CJ_STMTS 8
#define CJ_PARAMS 10
#define CL_RETRY_MIN 0.2

enum { CL_TICK, CL_WAKE, CL_RETRY, CL_TIMERS }; /* the member's timers */

struct cjob;
typedef void (*cj_res_fn)(struct cjob *j, int idx, const PGresult *r);
/* Always called once: err STORE_ERR_CLOSED when the daemon shuts down first. */
typedef void (*cj_done_fn)(struct cjob *j, enum store_err err, const char *msg);

/* Statements run together on the member's connection (BEGIN ... COMMIT for one transaction). */
struct cjob {
	struct cjob *next;
	struct cluster *c;
	int n;
	struct pgstmt st[CJ_STMTS];
	const char *pv[CJ_STMTS][CJ_PARAMS];
	char *own[CJ_STMTS * CJ_PARAMS];
	int nown;
	int nomem;
	cj_res_fn res;
	cj_done_fn done;
	double sent; /* monotonic seconds when it went to the server */
	void *arg;
};

struct cl_shard {
	uint32_t index;
	char state[8];
	char holder[CLUSTER_NAME_MAX];
	int64_t generation;
	uint32_t cycle;
	struct engine_counts counts;
	int has_counts;
};

struct cl_member {
	char name[CLUSTER_NAME_MAX];
	double age; /* seconds since its heartbeat, by the server's clock, at the refresh */
	char run_id[RUN_ID_MAX];
	long long shard, cycle; /* -1: none */
	double lag_s;           /* how late its shard's last cycle started */
	uint32_t pool_cap;
};

/* What the newest heartbeat read back: status shows it, the member acts on it. */
struct cl_view {
	double at; /* monotonic seconds of the refresh, 0: none yet */
	int has_run;
	char run_id[RUN_ID_MAX];
	uint32_t shards;
	char state[16];
	long long concurrency; /* -1: not set */
	struct cl_shard *shard;
	uint32_t nshard;
	struct cl_member member[CLUSTER_MEMBER_MAX];
	uint32_t nmember;
};

/* The shard this member holds. */
struct cl_held {
	int on;
	char run_id[RUN_ID_MAX];
	uint32_t shard, shards;
	int64_t generation;
	int lost;   /* the lease is gone: stop, and write nothing more for it */
	int ending; /* the run has ended: its release is on the way */
};

/* simctl start --shards --wait: a client waiting for the end of a run. */
struct cl_waiter {
	struct cl_waiter *next;
	char run_id[RUN_ID_MAX];
	char ended[16]; /* its final state, once read */
	cluster_end_fn fn;
	void *arg;
};

struct cluster {
	struct event_base *base;
	struct engine *engine;
	struct store *store;
	struct ckptsched *sched;
	struct cluster_opts o;
	char *conninfo;
	char member[CLUSTER_NAME_MAX];
	char host[64];
	char hostaddr[64];
	struct pgconn_opts copts;
	struct pgconn *conn;
	int connected, warned_down;
	double retry_s;
	struct cjob *queue, *running;
	struct event *timers[CL_TIMERS];
	int hb_busy, claim_busy;
	double hb_ok; /* monotonic seconds the newest committed heartbeat was sent, 0: none */
	struct cl_view view;
	struct cl_held held;
	uint32_t held_concurrency; /* the run's concurrency last applied, 0: none */
	int progress_busy, progress_again;
	uint32_t pool_cap;
	int budget_short; /* cluster_pool_max leaves this member no connection of its own */
	int closing;
	int leaving; /* shutting down: claim nothing more */
	struct cl_waiter *waiters;
	void (*drained)(void *); /* cluster_drain's waiter */
	void *drained_arg;
};

double cl_now(void);
/* A third of lease_ttl: the heartbeat's period, and what a claim may spend of the lease. */
double cl_beat(const struct cluster *c);
struct cjob *cj_new(struct cluster *c, cj_res_fn res, cj_done_fn done, void *arg);
void cj_add(struct cjob *j, const char *name, const char *sql, int n, ...);
void cj_take(struct cjob *j, int stmt, int idx, char *value);
void cj_submit(struct cluster *c, struct cjob *j, int first);
void cl_idle_watch(struct cluster *c);
const char *cl_val(const PGresult *r, int row, int col);
long long cl_int(const PGresult *r, int row, int col, long long dflt);
double cl_num(const PGresult *r, int row, int col);
void cl_copy(char *dst, size_t len, const char *src);

/* clustershard.c */
int cl_shard_init(struct cluster *c);
void cl_maybe_claim(struct cluster *c);
void cl_lease_check(struct cluster *c);
void cl_shard_view(struct cluster *c);
void cl_progress(struct cluster *c);

#endif
