/* server.c - when checkpoints are taken, resuming, and applying a reloaded configuration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "sim/checkpoint.h"
#include "sim/config.h"
#include "sim/engine.h"
#include "sim/log.h"
#include "sim/server.h"
#include "sim/store.h"

struct ckpt_job {
	struct server *srv;
	struct engine_snapshot snap;    /* owns copies of agents and params.only */
	char reason[24];
	server_ckpt_fn fn;
	void *arg;
	struct ckpt_job *next;
};

struct idle_waiter {
	void (*fn)(void *);
	void *arg;
	struct idle_waiter *next;
};

struct server_priv {
	struct event *interval;
	struct ckpt_job *running;       /* being flushed/written */
	struct ckpt_job *queue;         /* waiting their turn, oldest first */
	char stop_reason[24];
	struct idle_waiter *idle;       /* called once no checkpoint is pending */
	double interval_s;              /* what the timer was armed with */
};

static void job_start(struct server *srv);

static void
job_free(struct ckpt_job *j)
{
	free((void *)j->snap.agents);
	free(j->snap.params.only);
	free(j);
}

static struct ckpt_job *
job_new(struct server *srv, const char *reason, char *err, size_t errlen)
{
	struct ckpt_job *j = calloc(1, sizeof(*j));
	struct agent_state *agents = NULL;
	size_t n;

	if (j == NULL)
		goto nomem;
	if (engine_snapshot(srv->engine, &j->snap) != 0) {
		snprintf(err, errlen, "no run to checkpoint");
		free(j);
		return NULL;
	}
	n = j->snap.params.agents;
	if ((agents = malloc(n * sizeof(*agents))) == NULL)
		goto nomem;
	memcpy(agents, j->snap.agents, n * sizeof(*agents));
	j->snap.agents = agents;
	if (j->snap.params.only != NULL) {
		uint32_t *only = malloc(j->snap.params.nonly * sizeof(*only));
		if (only == NULL) {
			j->snap.params.only = NULL;
			goto nomem;
		}
		memcpy(only, j->snap.params.only, j->snap.params.nonly * sizeof(*only));
		j->snap.params.only = only;
	}
	j->srv = srv;
	snprintf(j->reason, sizeof(j->reason), "%s", reason);
	return j;
nomem:
	if (j != NULL)
		job_free(j);
	snprintf(err, errlen, "out of memory taking a checkpoint");
	return NULL;
}

static void
job_flushed(enum store_err serr, const char *msg, void *arg)
{
	struct ckpt_job *j = arg;
	struct server *srv = j->srv;
	struct checkpoint_info info;
	char err[512];
	uint64_t t0 = 0;
	int ok = 0;

	memset(&info, 0, sizeof(info));
	if (serr != STORE_OK) {
		snprintf(err, sizeof(err), "the store could not be flushed: %s", msg);
	} else {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		ok = checkpoint_write(srv->ckpt, &j->snap, j->reason, &info, err, sizeof(err)) == 0;
		clock_gettime(CLOCK_MONOTONIC, &b);
		t0 = (uint64_t)((b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000);
	}
	if (ok)
		log_info("checkpoint %lld (%s): run %s cycle %u, %u agents, %llu bytes, %.1f ms",
		    (long long)info.id, j->reason, info.run_id, info.cycle, info.agents,
		    (unsigned long long)info.size, t0 / 1000.0);
	else
		log_warnx("checkpoint (%s) failed: %s", j->reason, err);
	if (j->fn)
		j->fn(srv, ok, ok ? &info : NULL, ok ? NULL : err, j->arg);
	srv->priv->running = NULL;
	job_free(j);
	job_start(srv);
}

static void
job_start(struct server *srv)
{
	struct server_priv *p = srv->priv;
	struct ckpt_job *j = p->queue;

	if (p->running != NULL)
		return;
	if (j == NULL) {
		struct idle_waiter *w = p->idle;
		p->idle = NULL;
		while (w != NULL) {
			struct idle_waiter *next = w->next;
			w->fn(w->arg);
			free(w);
			w = next;
		}
		return;
	}
	p->queue = j->next;
	p->running = j;
	store_flush(srv->store, job_flushed, j);
}

int
server_checkpoint(struct server *srv, const char *reason, server_ckpt_fn fn, void *arg,
    char *err, size_t errlen)
{
	struct ckpt_job *j, **pp;

	if (srv->ckpt == NULL) {
		snprintf(err, errlen, "checkpoints are not available");
		return -1;
	}
	if ((j = job_new(srv, reason, err, errlen)) == NULL)
		return -1;
	j->fn = fn;
	j->arg = arg;
	for (pp = &srv->priv->queue; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = j;
	job_start(srv);
	return 0;
}

int
server_after_checkpoints(struct server *srv, void (*fn)(void *), void *arg)
{
	struct idle_waiter *w = malloc(sizeof(*w)), **pp;

	if (w == NULL)
		return -1;
	w->fn = fn;
	w->arg = arg;
	w->next = NULL;
	for (pp = &srv->priv->idle; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = w;   /* in the order asked */
	job_start(srv);
	return 0;
}

void
server_set_stop_reason(struct server *srv, const char *reason)
{
	snprintf(srv->priv->stop_reason, sizeof(srv->priv->stop_reason), "%s", reason);
}

/* ---- when ---- */

/* A run killed before its first interval still resumes: its start is a checkpoint. */
static void
on_run_start(struct engine *e, void *arg)
{
	struct server *srv = arg;
	char err[256];

	if (server_checkpoint(srv, "start", NULL, NULL, err, sizeof(err)) != 0)
		log_warnx("checkpoint at the start of the run: %s", err);
}

static void
on_cycle_end(struct engine *e, void *arg)
{
	struct server *srv = arg;
	char err[256];

	if (srv->cfg->checkpoint_interval <= 0 &&
	    server_checkpoint(srv, "cycle", NULL, NULL, err, sizeof(err)) != 0)
		log_warnx("checkpoint at the cycle boundary: %s", err);
}

static void
on_run_end(struct engine *e, void *arg)
{
	struct server *srv = arg;
	const char *reason = srv->priv->stop_reason[0] ? srv->priv->stop_reason : "end";
	char err[256];

	if (engine_state(e) == ENGINE_FAILED)
		reason = "failed";
	if (server_checkpoint(srv, reason, NULL, NULL, err, sizeof(err)) != 0)
		log_warnx("checkpoint at the end of the run: %s", err);
	srv->priv->stop_reason[0] = '\0';
}

static void
interval_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	enum engine_state st = engine_state(srv->engine);
	char err[256];

	if ((st == ENGINE_RUNNING || st == ENGINE_PAUSED) && srv->priv->running == NULL &&
	    server_checkpoint(srv, "interval", NULL, NULL, err, sizeof(err)) != 0)
		log_warnx("periodic checkpoint: %s", err);
}

static void
arm_interval(struct server *srv)
{
	struct server_priv *p = srv->priv;
	double s = srv->cfg->checkpoint_interval;
	struct timeval tv = { (time_t)s, (suseconds_t)((s - (double)(time_t)s) * 1e6) };

	if (p->interval_s == s && evtimer_pending(p->interval, NULL))
		return;
	evtimer_del(p->interval);
	p->interval_s = s;
	if (s > 0)
		event_add(p->interval, &tv);
}

int
server_init(struct server *srv, char *err, size_t errlen)
{
	struct engine_hooks hooks = { on_run_start, on_cycle_end, on_run_end, srv };

	if ((srv->priv = calloc(1, sizeof(*srv->priv))) == NULL ||
	    (srv->priv->interval = event_new(srv->base, -1, EV_PERSIST, interval_cb, srv)) ==
	    NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	engine_set_hooks(srv->engine, &hooks);
	arm_interval(srv);
	return 0;
}

void
server_fini(struct server *srv)
{
	struct server_priv *p = srv->priv;
	struct ckpt_job *j;

	if (p == NULL)
		return;
	if (p->running)
		job_free(p->running);
	while ((j = p->queue) != NULL) {
		p->queue = j->next;
		job_free(j);
	}
	while (p->idle != NULL) {
		struct idle_waiter *w = p->idle;
		p->idle = w->next;
		free(w);
	}
	if (p->interval)
		event_free(p->interval);
	free(p);
	srv->priv = NULL;
}

/* ---- resuming ---- */

int
server_resume(struct server *srv, int64_t id, char *err, size_t errlen)
{
	struct engine_snapshot snap;
	struct checkpoint_info info;
	int rc;

	if (srv->ckpt == NULL) {
		snprintf(err, errlen, "checkpoints are not available");
		return -1;
	}
	if (checkpoint_load(srv->ckpt, id, &snap, &info, err, errlen) != 0)
		return -1;
	if (strcmp(info.reason, "end") == 0 ||
	    (snap.params.cycles != 0 && snap.cycle >= snap.params.cycles)) {
		snprintf(err, errlen, "run %s had already finished (checkpoint %lld, cycle %u): "
		    "nothing to resume", info.run_id, (long long)info.id, info.cycle);
		checkpoint_snapshot_free(&snap);
		return -1;
	}
	rc = engine_resume_from(srv->engine, &snap, err, errlen);
	if (rc == 0) {
		snap.params.only = NULL;   /* the engine owns it now */
		log_info("resuming run %s from checkpoint %lld (cycle %u)", info.run_id,
		    (long long)info.id, info.cycle);
	}
	checkpoint_snapshot_free(&snap);
	return rc;
}

/* ---- reload ---- */

void
server_apply_config(struct server *srv, const struct sim_config *c)
{
	const char *restart[64];
	size_t n = config_diff_restart(srv->cfg, c, restart, 64);
	char buf[4200], err[256];

	for (size_t i = 0; i < n; i++)
		log_warnx("reload: %s changed; it takes effect only after a restart", restart[i]);
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];
		if (!(k->flags & CFG_RUNTIME))
			continue;
		/* DESIGN.md 6: runtime changes over the socket beat the file */
		if (srv->concurrency_set && strcmp(k->name, "max_concurrent") == 0) {
			if (c->max_concurrent != srv->cfg->max_concurrent)
				log_info("reload: keeping max_concurrent %lld set over the "
				    "control socket", (long long)srv->cfg->max_concurrent);
			continue;
		}
		config_format(c, k, buf, sizeof(buf));
		if (config_set(srv->cfg, k->name, buf, err, sizeof(err)) != 0)
			log_warnx("reload: %s", err);
	}
	log_set_level((enum log_level)srv->cfg->log_level);
	if (srv->ckpt)
		checkpoint_set_keep(srv->ckpt, (int)srv->cfg->checkpoint_keep);
	if (engine_active(srv->engine) &&
	    engine_set_concurrency(srv->engine, (uint32_t)srv->cfg->max_concurrent, err,
	    sizeof(err)) != 0)
		log_warnx("reload: %s", err);
	arm_interval(srv);
	log_info("configuration reloaded");
}
