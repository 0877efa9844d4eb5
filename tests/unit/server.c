/*
 * server.c - the daemon's parts that used to live in its main: when
 * checkpoints are taken (ckptsched), resuming (resume), a new configuration
 * taken whole (reload) and a graceful shutdown (shutdown), wired as simd wires
 * them, on a real checkpoint file and the store double.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "check.h"
#include "fakestore.h"
#include "sim/checkpoint.h"
#include "sim/ckptsched.h"
#include "sim/config.h"
#include "sim/engine.h"
#include "sim/log.h"
#include "sim/reload.h"
#include "sim/resume.h"
#include "sim/server.h"
#include "sim/shutdown.h"
#include "sim/snapshot.h"

struct t {
	struct event_base *base;
	struct fake f;
	struct server srv;
	char dir[64];
	int exited;
};

static void
turn(struct event_base *base, int ms)
{
	struct timeval tv = { 0, ms * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static void
run_until_over(struct t *t)
{
	for (int i = 0; i < 3000 && engine_active(t->srv.engine); i++)
		turn(t->base, 10);
	/* the end checkpoint: an event, not a time (30 s is only the bound) */
	for (int i = 0; i < 3000 && (i == 0 || ckptsched_busy(t->srv.sched)); i++)
		turn(t->base, 10);
}

static void
exited(void *arg)
{
	((struct t *)arg)->exited = 1;
}

static void
up(struct t *t)
{
	char err[256];

	memset(&t->srv, 0, sizeof(t->srv));
	fake_init(&t->f, t->base);
	t->srv.base = t->base;
	t->srv.cfg = config_new();
	config_set(t->srv.cfg, "data_dir", t->dir, err, sizeof(err));
	config_set(t->srv.cfg, "checkpoint_interval", "0", err, sizeof(err));
	config_set(t->srv.cfg, "adaptive", "off", err, sizeof(err)); /* the limits set here hold */
	t->srv.store = &t->f.pub;
	t->srv.ckpt = checkpoint_open(t->dir, 10, err, sizeof(err));
	t->srv.engine = engine_new(t->base, t->srv.store);
	CHECK(t->srv.ckpt != NULL && t->srv.engine != NULL);
	CHECK(server_init(&t->srv, err, sizeof(err)) == 0);
	t->srv.shutdown = shutdown_new(&t->srv, exited, t);
	t->exited = 0;
}

static void
down(struct t *t)
{
	shutdown_free(t->srv.shutdown);
	ckptsched_close(t->srv.sched);
	engine_detach(t->srv.engine);
	server_fini(&t->srv);
	engine_free(t->srv.engine);
	checkpoint_close(t->srv.ckpt);
	config_free(t->srv.cfg);
	defer_free(t->f.defer);
}

static int
collect(const struct checkpoint_info *in, void *arg)
{
	char *s = arg;
	size_t n = strlen(s);

	snprintf(s + n, 256 - n, "%s%s%u", n ? " " : "", in->reason, in->cycle);
	return 0;
}

/* The reasons and cycles of the checkpoints kept, newest first. */
static void
reasons(struct t *t, char *out)
{
	char err[256];

	out[0] = '\0';
	CHECK(checkpoint_list(t->srv.ckpt, collect, out, err, sizeof(err)) == 0);
}

static void
start(struct t *t, uint32_t agents, uint32_t cycles, double time_scale)
{
	struct run_params p;
	char err[256];

	params_from_config(&p, t->srv.cfg);
	p.agents = agents;
	p.cycles = cycles;
	p.time_scale = time_scale;
	p.all_shop = 1;
	CHECK(engine_start(t->srv.engine, &p, err, sizeof(err)) == 0);
}

/* A run's start, every cycle boundary (interval 0) and its end are checkpoints. */
static void
test_sched(struct t *t)
{
	char got[256];

	up(t);
	start(t, 20, 3, 0);
	run_until_over(t);
	reasons(t, got);
	CHECK(strcmp(got, "end3 cycle3 cycle2 cycle1 start0") == 0);
	if (strcmp(got, "end3 cycle3 cycle2 cycle1 start0") != 0)
		fprintf(stderr, "  checkpoints: %s\n", got);
	down(t);
}

/* A finished run is not resumed; a stopped one is, at its cycle. */
static void
test_resume(struct t *t)
{
	struct snapshot s;
	char err[256];

	up(t);
	CHECK(resume_run(t->srv.engine, t->srv.ckpt, 0, err, sizeof(err)) == -1);
	CHECK(strstr(err, "had already finished") != NULL);
	/* paced (a cycle every 0.1 s): stopped after the first boundaries */
	start(t, 20, 100, 36000);
	memset(&s, 0, sizeof(s));
	for (int i = 0; i < 3000 && s.cycle < 2; i++) { /* the first boundaries, at any speed */
		turn(t->base, 10);
		engine_snapshot(t->srv.engine, &s);
	}
	ckptsched_set_stop_reason(t->srv.sched, "stop");
	CHECK(engine_stop(t->srv.engine, err, sizeof(err)) == 0);
	run_until_over(t);
	memset(&s, 0, sizeof(s));
	engine_snapshot(t->srv.engine, &s);
	CHECK(s.cycle >= 2 && s.cycle < 100);
	CHECK(resume_run(t->srv.engine, t->srv.ckpt, 0, err, sizeof(err)) == 0);
	CHECK(engine_state(t->srv.engine) == ENGINE_RUNNING);
	{
		struct snapshot r;
		memset(&r, 0, sizeof(r));
		engine_snapshot(t->srv.engine, &r);
		CHECK(r.cycle == s.cycle && strcmp(r.params.run_id, s.params.run_id) == 0 &&
		    r.counts.sessions == s.counts.sessions);
	}
	CHECK(engine_stop(t->srv.engine, err, sizeof(err)) == 0);
	run_until_over(t);
	down(t);
}

/* Reload: runtime keys through their hooks, restart keys kept, the socket's value wins. */
static void
test_reload(struct t *t)
{
	struct sim_config *next;
	char err[256];

	up(t);
	start(t, 500, 0, 0);
	CHECK(reload_set(t->srv.engine != NULL ? &t->srv : NULL, "max_concurrent", "7", err,
		  sizeof(err)) == 0);
	CHECK(t->srv.cfg->max_concurrent == 7);
	turn(t->base, 20);
	CHECK(engine_in_flight(t->srv.engine) <= 7);
	CHECK(reload_set(&t->srv, "max_concurrent", "0", err, sizeof(err)) == -1 &&
	    strstr(err, "max_concurrent") != NULL && t->srv.cfg->max_concurrent == 7);
	/* a reload from the file: max_concurrent stays as set; pool_max needs a restart */
	next = config_dup(t->srv.cfg);
	config_set(next, "max_concurrent", "90", err, sizeof(err));
	config_set(next, "pool_max", "5", err, sizeof(err));
	config_set(next, "log_level", "warn", err, sizeof(err));
	config_set(next, "checkpoint_keep", "3", err, sizeof(err));
	CHECK(reload_apply(&t->srv, next, RELOAD_FILE, err, sizeof(err)) == 0);
	CHECK(t->srv.cfg == next);
	CHECK(t->srv.cfg->max_concurrent == 7 && t->srv.cfg->pool_max == 60);
	CHECK(log_get_level() == LOG_LEVEL_WARN && t->srv.cfg->checkpoint_keep == 3);
	log_set_level(LOG_LEVEL_INFO);
	/* adaptive on over the socket: the base 7 within adaptive_min (20) */
	CHECK(reload_set(&t->srv, "adaptive", "on", err, sizeof(err)) == 0);
	CHECK(engine_limit(t->srv.engine) == 20 && t->srv.cfg->adaptive == 1);
	{
		const char *k[] = { "max_concurrent", "adaptive" }, *v[] = { "5", "off" };
		CHECK(reload_set_keys(&t->srv, k, v, 2, err, sizeof(err)) == 0);
	}
	CHECK(engine_limit(t->srv.engine) == 5 && t->srv.cfg->adaptive == 0);
	/* bounds that contradict each other are refused whole */
	CHECK(reload_set(&t->srv, "adaptive_min", "200", err, sizeof(err)) == -1);
	CHECK(strstr(err, "adaptive_min (200)") != NULL && t->srv.cfg->adaptive_min == 20);
	CHECK(engine_stop(t->srv.engine, err, sizeof(err)) == 0);
	run_until_over(t);
	down(t);
}

/* Shutdown during a run: stop, the checkpoint says why, then done; once only. */
static void
test_shutdown(struct t *t)
{
	char got[256];

	up(t);
	start(t, 50, 1000, 36000);
	turn(t->base, 50);
	shutdown_request(t->srv.shutdown, "SIGTERM");
	shutdown_request(t->srv.shutdown, "SIGTERM");
	CHECK(server_stopping(&t->srv));
	/* waits for the event, not a time: 30 s is only the bound (a loaded SANITIZE=1 run) */
	for (int i = 0; i < 3000 && !t->exited; i++)
		turn(t->base, 10);
	CHECK(t->exited && !engine_active(t->srv.engine));
	reasons(t, got);
	CHECK(strncmp(got, "signal", 6) == 0);
	down(t);
	/* idle: done at once (after any checkpoint still being written) */
	up(t);
	shutdown_request(t->srv.shutdown, "shutdown requested");
	for (int i = 0; i < 3000 && !t->exited; i++) /* 10 ms was not always enough */
		turn(t->base, 10);
	CHECK(t->exited);
	down(t);
}

int
main(void)
{
	struct event_config *cfg = event_config_new();
	struct t t;

	memset(&t, 0, sizeof(t));
	event_config_set_max_dispatch_interval(cfg, NULL, 16, 0);
	t.base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	CHECK(mkdtemp(check_tmpl(t.dir, sizeof(t.dir), "simd-server", 40)) != NULL);
	test_sched(&t);
	test_resume(&t);
	test_reload(&t);
	test_shutdown(&t);
	event_base_free(t.base);
	unlink(strcat(strcpy((char[96]){ 0 }, t.dir), "/checkpoints.db"));
	rmdir(t.dir);
	return CHECK_DONE();
}
