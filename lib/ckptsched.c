/* ckptsched.c - when checkpoints are taken (see ckptsched.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "sim/checkpoint.h"
#include "sim/ckptsched.h"
#include "sim/engine.h"
#include "sim/log.h"
#include "sim/metrics.h"
#include "sim/store.h"

struct ckpt_job {
	struct ckptsched *cs;
	struct run_state snap; /* owns copies of agents and params.only */
	char reason[24];
	ckptsched_fn fn;
	void *arg;
	struct ckpt_job *next;
};

struct idle_waiter {
	void (*fn)(void *);
	void *arg;
	struct idle_waiter *next;
};

struct ckptsched {
	struct event_base *base;
	struct engine *engine;
	struct store *store;
	struct checkpoint *ckpt;
	struct event *interval;
	double interval_s;        /* what the timer is armed with */
	struct ckpt_job *running; /* being flushed/written */
	struct ckpt_job *queue;   /* waiting their turn, oldest first */
	struct idle_waiter *idle; /* called once no checkpoint is pending */
	char stop_reason[24];
	int closing;                /* the store is going: start nothing more */
	ckptsched_mirror_fn mirror; /* told of each checkpoint written (cluster.c) */
	void *mirror_arg;
	char last_err[512];  /* why the newest attempt failed, until one succeeds */
	int64_t last_err_at; /* unix seconds */
};

static void job_start(struct ckptsched *cs);

static void
job_free(struct ckpt_job *j)
{
	free((void *)j->snap.agents);
	params_clear(&j->snap.params);
	free(j);
}

static struct ckpt_job *
job_new(struct ckptsched *cs, const char *reason, char *err, size_t errlen)
{
	struct ckpt_job *j = calloc(1, sizeof(*j));
	struct run_state now;
	struct agent_state *agents;
	size_t n;

	if (j == NULL)
		goto nomem;
	if (engine_run_state(cs->engine, &now) != 0) {
		snprintf(err, errlen, "no run to checkpoint");
		free(j);
		return NULL;
	}
	j->snap = now;
	j->snap.agents = NULL;
	n = now.params.agents;
	if (params_copy(&j->snap.params, &now.params) != 0 ||
	    (agents = malloc(n * sizeof(*agents))) == NULL)
		goto nomem;
	memcpy(agents, now.agents, n * sizeof(*agents));
	j->snap.agents = agents;
	j->cs = cs;
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
	struct ckptsched *cs = j->cs;
	struct checkpoint_info info;
	char err[512];
	uint64_t t0 = 0;
	int ok = 0;

	memset(&info, 0, sizeof(info));
	if (serr != STORE_OK) {
		snprintf(err, sizeof(err), "the store could not be flushed: %s", msg);
	} else {
		t0 = metrics_now_us();
		ok = checkpoint_write(cs->ckpt, &j->snap, j->reason, &info, err, sizeof(err)) == 0;
		t0 = metrics_now_us() - t0;
	}
	if (ok)
		log_info("checkpoint %lld (%s): run %s cycle %u, %u agents, %llu bytes, %.1f ms",
		    (long long)info.id, j->reason, info.run_id, info.cycle, info.agents,
		    (unsigned long long)info.size, (double)t0 / 1000.0);
	else
		log_warnx("checkpoint (%s) failed: %s", j->reason, err);
	/* told in status until a checkpoint succeeds again: nobody sees a periodic one's answer */
	snprintf(cs->last_err, sizeof(cs->last_err), "%s", ok ? "" : err);
	cs->last_err_at = ok ? 0 : (int64_t)time(NULL);
	if (ok && cs->mirror != NULL)
		cs->mirror(&j->snap, j->reason, cs->mirror_arg);
	if (j->fn)
		j->fn(ok, ok ? &info : NULL, ok ? NULL : err, j->arg);
	cs->running = NULL;
	job_free(j);
	job_start(cs);
}

static void
job_start(struct ckptsched *cs)
{
	struct ckpt_job *j = cs->queue;
	struct idle_waiter *w;

	if (cs->running != NULL || cs->closing)
		return;
	if (j == NULL) {
		w = cs->idle;
		cs->idle = NULL;
		while (w != NULL) {
			struct idle_waiter *next = w->next;
			w->fn(w->arg);
			free(w);
			w = next;
		}
		return;
	}
	cs->queue = j->next;
	cs->running = j;
	store_flush(cs->store, job_flushed, j);
}

int
ckptsched_take(
    struct ckptsched *cs, const char *reason, ckptsched_fn fn, void *arg, char *err, size_t errlen)
{
	struct ckpt_job *j, **pp;

	if (cs->ckpt == NULL) {
		snprintf(err, errlen, "checkpoints are not available");
		return -1;
	}
	if ((j = job_new(cs, reason, err, errlen)) == NULL)
		return -1;
	j->fn = fn;
	j->arg = arg;
	for (pp = &cs->queue; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = j;
	job_start(cs);
	return 0;
}

int
ckptsched_after(struct ckptsched *cs, void (*fn)(void *), void *arg)
{
	struct idle_waiter *w = malloc(sizeof(*w)), **pp;

	if (w == NULL)
		return -1;
	w->fn = fn;
	w->arg = arg;
	w->next = NULL;
	for (pp = &cs->idle; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = w; /* in the order asked */
	job_start(cs);
	return 0;
}

void
ckptsched_set_mirror(struct ckptsched *cs, ckptsched_mirror_fn fn, void *arg)
{
	cs->mirror = fn;
	cs->mirror_arg = arg;
}

void
ckptsched_set_stop_reason(struct ckptsched *cs, const char *reason)
{
	snprintf(cs->stop_reason, sizeof(cs->stop_reason), "%s", reason);
}

const char *
ckptsched_last_error(const struct ckptsched *cs, int64_t *at)
{
	if (cs == NULL || cs->last_err[0] == '\0')
		return NULL;
	*at = cs->last_err_at;
	return cs->last_err;
}

int
ckptsched_busy(const struct ckptsched *cs)
{
	return cs->running != NULL || cs->queue != NULL;
}

/* ---- when ---- */

static void
take_logged(struct ckptsched *cs, const char *reason, const char *what)
{
	char err[256];

	if (ckptsched_take(cs, reason, NULL, NULL, err, sizeof(err)) != 0)
		log_warnx("checkpoint %s: %s", what, err);
}

/* A run killed before its first interval still resumes: its start is a checkpoint. */
static void
on_run_start(struct engine *e, void *arg)
{
	take_logged(arg, "start", "at the start of the run");
}

static void
on_cycle_end(struct engine *e, void *arg)
{
	struct ckptsched *cs = arg;

	if (cs->interval_s <= 0)
		take_logged(cs, "cycle", "at the cycle boundary");
}

static void
on_run_end(struct engine *e, void *arg)
{
	struct ckptsched *cs = arg;
	const char *reason = cs->stop_reason[0] ? cs->stop_reason : "end";

	if (engine_state(e) == ENGINE_FAILED)
		reason = "failed";
	take_logged(cs, reason, "at the end of the run");
	cs->stop_reason[0] = '\0';
}

static void
interval_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ckptsched *cs = arg;
	enum engine_state st = engine_state(cs->engine);

	/* a checkpoint still being written is a fresh one: skip this round */
	if ((st == ENGINE_RUNNING || st == ENGINE_PAUSED) && cs->running == NULL)
		take_logged(cs, "interval", "(periodic)");
}

void
ckptsched_set_interval(struct ckptsched *cs, double s)
{
	struct timeval tv = { (time_t)s, (suseconds_t)((s - (double)(time_t)s) * 1e6) };

	if (cs->interval_s == s && evtimer_pending(cs->interval, NULL))
		return;
	evtimer_del(cs->interval);
	cs->interval_s = s;
	if (s > 0)
		event_add(cs->interval, &tv);
}

struct ckptsched *
ckptsched_new(struct event_base *base, struct engine *e, struct store *s, struct checkpoint *ck,
    double interval)
{
	struct ckptsched *cs = calloc(1, sizeof(*cs));
	struct engine_hooks hooks;

	if (cs == NULL)
		return NULL;
	cs->base = base;
	cs->engine = e;
	cs->store = s;
	cs->ckpt = ck;
	cs->interval_s = -1;
	if ((cs->interval = event_new(base, -1, EV_PERSIST, interval_cb, cs)) == NULL) {
		free(cs);
		return NULL;
	}
	memset(&hooks, 0, sizeof(hooks));
	hooks.run_start = on_run_start;
	hooks.cycle_end = on_cycle_end;
	hooks.run_end = on_run_end;
	hooks.arg = cs;
	if (engine_add_hooks(e, &hooks) != 0) {
		event_free(cs->interval);
		free(cs);
		return NULL;
	}
	ckptsched_set_interval(cs, interval);
	return cs;
}

void
ckptsched_close(struct ckptsched *cs)
{
	struct ckpt_job *j;

	if (cs == NULL)
		return;
	cs->closing = 1;
	evtimer_del(cs->interval);
	while ((j = cs->queue) != NULL) {
		cs->queue = j->next;
		job_free(j);
	}
}

void
ckptsched_free(struct ckptsched *cs)
{
	struct ckpt_job *j;
	struct idle_waiter *w;

	if (cs == NULL)
		return;
	if (cs->running)
		job_free(cs->running);
	while ((j = cs->queue) != NULL) {
		cs->queue = j->next;
		job_free(j);
	}
	while ((w = cs->idle) != NULL) {
		cs->idle = w->next;
		free(w);
	}
	event_free(cs->interval);
	free(cs);
}
