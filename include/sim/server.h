/*
 * server.h - the daemon's parts, wired together.  daemon/simd.c builds one
 * in dependency order; the control methods reach everything through it.
 */
#ifndef SIM_SERVER_H
#define SIM_SERVER_H

#include <time.h>

#include "sim/checkpoint.h"

struct event_base;
struct sim_config;
struct control;
struct store;
struct engine;
struct checkpoint;

struct server {
	struct event_base *base;
	struct sim_config *cfg;       /* current configuration (runtime keys may change) */
	struct control *control;
	struct store *store;
	struct engine *engine;
	struct checkpoint *ckpt;
	time_t started_at;
	int stopping;                 /* graceful shutdown under way */
	int concurrency_set;          /* set-concurrency used: it wins over reloads */
	/* Begins a graceful shutdown (set by the daemon). */
	void (*request_shutdown)(struct server *srv, const char *why);
	struct server_priv *priv;     /* checkpoint scheduling (server.c) */
};

typedef void (*server_ckpt_fn)(struct server *srv, int ok, const struct checkpoint_info *info,
    const char *err, void *arg);

/* Installs the engine hooks and the checkpoint timer; srv's parts must be open. */
int server_init(struct server *srv, char *err, size_t errlen);
void server_fini(struct server *srv);
/*
 * Takes a checkpoint of the current run: a consistent snapshot now, the
 * store flushed, then written.  fn (may be NULL) gets the outcome.
 */
int server_checkpoint(struct server *srv, const char *reason, server_ckpt_fn fn, void *arg,
    char *err, size_t errlen);
/*
 * Calls fn once every queued checkpoint is written (now if none is); waiters are
 * called in the order they asked.  -1 when out of memory (fn is never called).
 */
int server_after_checkpoints(struct server *srv, void (*fn)(void *), void *arg);
/* What the checkpoint at the end of the current run is called ("stop", "signal"). */
void server_set_stop_reason(struct server *srv, const char *reason);
/* Continues the newest (id 0) or a chosen checkpoint's run. */
int server_resume(struct server *srv, int64_t id, char *err, size_t errlen);
/* Takes the runtime keys of c (SIGHUP); reports keys that need a restart. */
void server_apply_config(struct server *srv, const struct sim_config *c);

#endif
