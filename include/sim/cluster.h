/*
 * cluster.h - one run shared by several daemons through PostgreSQL (cluster = on).
 *
 * A run started with `simctl start --shards K' is recorded in simd_runs with K
 * rows of simd_shards (schema v3, docs/schema.md).  Every member heartbeats into
 * simd_members every lease_ttl / 3 and, while it runs nothing, claims one
 * claimable shard: free, or held by a member whose heartbeat is older than
 * lease_ttl by the server's clock (never a local one).  A claim raises the
 * shard's generation under its advisory lock, so it waits for the writes the
 * old holder has in flight; the holder runs shard K of N of the recorded
 * parameters (shard.h) from the shard's newest checkpoint in simd_checkpoints,
 * or from the start, and copies every checkpoint it writes there in a
 * transaction fenced by simd_fence().  A member that cannot renew its lease
 * within lease_ttl stops its engine.  Its own libpq connection, on the loop,
 * apart from the store's pool; it LISTENs on simd_cluster for wake-ups.
 */
#ifndef SIM_CLUSTER_H
#define SIM_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct event_base;
struct engine;
struct store;
struct ckptsched;
struct sim_config;
struct run_params;
struct cluster;

#define CLUSTER_MEMBER_MAX 128
/* Connections a member opens besides its store's pool (its coordination connection). */
#define CLUSTER_COORD_CONNS 1
#define CLUSTER_CHANNEL "simd_cluster"

struct cluster_opts {
	const char *conninfo; /* database_url: a secret */
	const char *member;   /* "" : cluster_default_member() */
	const char *data_dir;
	double lease_ttl;
	double connect_timeout;
	unsigned pool_max; /* cluster_pool_max: the connections of all members together */
	unsigned max_skew; /* cluster_max_skew: cycles a shard may run ahead of the others */
};
void cluster_opts_from_config(struct cluster_opts *o, const struct sim_config *c);

/* What starting would refuse (simd -n): cluster = on needs PostgreSQL.  0, or -1 and why. */
int cluster_check(const struct sim_config *c, char *err, size_t errlen);
/* "<hostname>:<8 hex digits of a hash of data_dir>": one per data directory. */
void cluster_default_member(char *buf, size_t len, const char *data_dir);

/*
 * Start-up (it may wait: it connects once to pin the server's address); the
 * member joins at its first heartbeat.  NULL with a message.
 */
struct cluster *cluster_new(struct event_base *base, struct engine *e, struct store *s,
    struct ckptsched *cs, const struct cluster_opts *o, char *err, size_t errlen);
/*
 * A member shutting down: it claims nothing more, and fn runs once every
 * statement queued so far has gone through (at once when none is), so that it
 * lets go of its shard instead of leaving it to its lease; the caller bounds
 * the wait.  fn is never called
 * after cluster_close.  -1 when a drain is already waited for.
 */
int cluster_drain(struct cluster *c, void (*fn)(void *), void *arg);
/* Before the store closes: nothing more is sent; a start still waiting hears an error. */
void cluster_close(struct cluster *c);
/* After the engine is freed (its hooks point here). */
void cluster_free(struct cluster *c);

/*
 * Records a run of `shards' shards with p's parameters (the whole population,
 * run id set) and wakes the members.  done runs once, from the loop: ok, or
 * not with why.
 */
typedef void (*cluster_done_fn)(int ok, const char *why, void *arg);
int cluster_start_run(struct cluster *c, const struct run_params *p, uint32_t shards,
    cluster_done_fn done, void *arg, char *err, size_t errlen);

/*
 * Whether pause, resume, stop and set-concurrency sent here are the cluster's:
 * a run of the cluster is under way and this member holds one of its shards
 * or runs nothing of its own.
 */
int cluster_has_run(const struct cluster *c);
/*
 * Records a change of the cluster's run -- state "paused", "running" or
 * "stopped" (NULL: unchanged), concurrency (0: unchanged) -- and NOTIFYs the
 * members, each of which applies it to its shard (this one too).  done runs
 * once from the loop.  0, or -1 with why (no run of the cluster is under way).
 */
int cluster_run_control(struct cluster *c, const char *state, uint32_t concurrency,
    cluster_done_fn done, void *arg, char *err, size_t errlen);

/*
 * Calls fn once the cluster's run run_id has ended, with its state
 * ("finished", "failed" or "stopped"), as this member's heartbeat reads it;
 * with NULL when the daemon shuts down first.  0, or -1 out of memory.
 */
typedef void (*cluster_end_fn)(const char *state, void *arg);
int cluster_wait_run(struct cluster *c, const char *run_id, cluster_end_fn fn, void *arg);

/* Status's "cluster" object, from what the last refresh read (no query). */
json_t *cluster_status_json(const struct cluster *c);

#endif
