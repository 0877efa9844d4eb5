/* shutdown.c - a graceful shutdown, in order (see shutdown.h). */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "sim/ckptsched.h"
#include "sim/cluster.h"
#include "sim/config.h"
#include "sim/engine.h"
#include "sim/log.h"
#include "sim/platform.h"
#include "sim/server.h"
#include "sim/shutdown.h"

struct shutdown {
	struct server *srv;
	void (*done)(void *arg);
	void *arg;
	struct event *deadline;
	int requested, finished;
};

static void
finish(struct shutdown *sd)
{
	if (sd->finished)
		return;
	sd->finished = 1;
	if (sd->deadline != NULL)
		evtimer_del(sd->deadline);
	sd->done(sd->arg);
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct shutdown *sd = arg;

	log_warnx("shutdown: %u sessions still in flight after %g s; abandoning them",
	    engine_in_flight(sd->srv->engine), sd->srv->cfg->shutdown_timeout);
	finish(sd);
}

static void
cluster_drained(void *arg)
{
	finish(arg);
}

/* A cluster member lets go of its shard (its end was queued with the checkpoint) first. */
static void
checkpoints_written(void *arg)
{
	struct shutdown *sd = arg;

	if (sd->srv->cluster == NULL || cluster_drain(sd->srv->cluster, cluster_drained, sd) != 0)
		finish(sd);
}

/* Once every checkpoint queued so far (the run's end one too) is written. */
static void
after_checkpoints(struct shutdown *sd)
{
	if (ckptsched_after(sd->srv->sched, checkpoints_written, sd) != 0)
		finish(sd);
}

static void
run_drained(struct engine *e, void *arg)
{
	after_checkpoints(arg);
}

struct shutdown *
shutdown_new(struct server *srv, void (*done)(void *arg), void *arg)
{
	struct shutdown *sd = calloc(1, sizeof(*sd));

	if (sd == NULL)
		return NULL;
	sd->srv = srv;
	sd->done = done;
	sd->arg = arg;
	if ((sd->deadline = evtimer_new(srv->base, deadline_cb, sd)) == NULL) {
		free(sd);
		return NULL;
	}
	return sd;
}

void
shutdown_free(struct shutdown *sd)
{
	if (sd == NULL)
		return;
	/* given up at the deadline: the run's end, heard when the engine is freed, is no longer ours */
	if (sd->srv->engine != NULL)
		engine_unwait(sd->srv->engine, run_drained, sd);
	event_free(sd->deadline);
	free(sd);
}

int
shutdown_requested(const struct shutdown *sd)
{
	return sd != NULL && sd->requested;
}

void
shutdown_request(struct shutdown *sd, const char *why)
{
	struct server *srv = sd->srv;
	double t = srv->cfg->shutdown_timeout;
	struct timeval tv;
	char err[128];

	if (sd->requested)
		return;
	sd->requested = 1;
	log_info("shutting down: %s", why);
	platform_notify("STOPPING=1");
	if (!engine_active(srv->engine)) {
		after_checkpoints(sd);
		return;
	}
	ckptsched_set_stop_reason(srv->sched, strncmp(why, "SIG", 3) == 0 ? "signal" : "shutdown");
	engine_stop(srv->engine, err, sizeof(err));
	if (engine_wait(srv->engine, run_drained, sd) != 0) {
		finish(sd);
		return;
	}
	tv.tv_sec = (time_t)t;
	tv.tv_usec = (suseconds_t)((t - (double)tv.tv_sec) * 1e6);
	evtimer_add(sd->deadline, &tv);
}
