/*
 * cmd_purge.c - "purge": deletes the rows a run wrote, found by the prefix
 * "s<seed>:" of their keys (store_keyed), in bounded batches on the loop:
 * one transaction per batch, the next batch only once the last has
 * committed (after `pause' seconds), phase by phase in dependency order.
 * Refused while that seed's run is active; a start waits until it is done.
 * Interrupted (shutdown, a failed batch, a killed daemon), it is simply run
 * again: what was deleted is gone, the rest is found by its keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "sim/checkpoint.h"
#include "sim/cmd.h"
#include "sim/engine.h"
#include "sim/log.h"
#include "sim/proto.h"
#include "sim/server.h"
#include "sim/snapshot.h"
#include "sim/store.h"

#define PURGE_BATCH_DEFAULT 1000
#define PURGE_BATCH_MAX 100000
#define PURGE_PAUSE_MAX 60.0
#define PURGE_LOG_EVERY 100 /* batches between progress lines */

enum purge_stage { PURGE_COUNT_BEFORE, PURGE_DELETE, PURGE_COUNT_AFTER };

struct purge {
	struct cmd_req *req;
	struct server *srv;
	struct store_keyjob job;
	struct event *timer;
	enum purge_stage stage;
	uint64_t seed;
	char run_id[RUN_ID_MAX];
	int dry_run, checkpoints;
	double pause;
	uint64_t before[STORE_KEYED], removed[STORE_KEYED];
	uint64_t batches;
};

static const char *const purge_keys[] = { "seed", "run", "dry_run", "checkpoints", "batch", "pause",
	NULL };

/* A run id ends in "-s<seed>" (engine.c): its rows are that seed's. */
static int
purge_seed_of(const char *run_id, uint64_t *seed)
{
	const char *s = strrchr(run_id, '-');
	char *end;

	if (s == NULL || s[1] != 's' || s[2] < '0' || s[2] > '9')
		return -1;
	*seed = strtoull(s + 2, &end, 10);
	return *end == '\0' ? 0 : -1;
}

static int
purge_check(const json_t *params, char *err, size_t errlen)
{
	const json_t *run = json_object_get(params, "run");
	long long v;
	double d;
	int b;
	uint64_t seed;

	if (cmd_check_keys(params, purge_keys, err, errlen) != 0 ||
	    cmd_param_int(params, "seed", 0, INT64_MAX, &v, err, errlen) < 0 ||
	    cmd_param_int(params, "batch", 1, PURGE_BATCH_MAX, &v, err, errlen) < 0 ||
	    cmd_param_double(params, "pause", 0, PURGE_PAUSE_MAX, &d, err, errlen) < 0 ||
	    cmd_param_bool(params, "dry_run", &b, err, errlen) < 0 ||
	    cmd_param_bool(params, "checkpoints", &b, err, errlen) < 0)
		return -1;
	if ((json_object_get(params, "seed") == NULL) == (run == NULL)) {
		snprintf(err, errlen, "give either \"seed\" or \"run\" (a run id)");
		return -1;
	}
	if (run != NULL &&
	    (!json_is_string(run) || json_string_length(run) >= RUN_ID_MAX ||
		purge_seed_of(json_string_value(run), &seed) != 0)) {
		snprintf(err, errlen, "\"run\" must be a run id such as 20260105T090000-1a2b-s7");
		return -1;
	}
	return 0;
}

static void
purge_free(struct purge *p)
{
	if (p->srv->purge == p)
		p->srv->purge = NULL;
	if (p->timer != NULL)
		event_free(p->timer);
	free(p);
}

static json_t *
purge_rows(const uint64_t *rows)
{
	json_t *o = json_object();

	for (int i = 0; o != NULL && i < STORE_KEYED; i++)
		json_object_set_new(o, store_keyed_names[i], json_integer((json_int_t)rows[i]));
	return o;
}

/* Checkpoints of the run (by id), or of any run of the seed. */
static int
purge_ckpt_match(const struct checkpoint_info *in, const struct purge *p)
{
	uint64_t seed;

	if (p->run_id[0] != '\0')
		return strcmp(in->run_id, p->run_id) == 0;
	return purge_seed_of(in->run_id, &seed) == 0 && seed == p->seed;
}

struct purge_ckpts {
	const struct purge *p;
	int64_t ids[256];
	size_t n;
};

static int
purge_ckpt_collect(const struct checkpoint_info *in, void *arg)
{
	struct purge_ckpts *c = arg;

	if (purge_ckpt_match(in, c->p) && c->n < sizeof(c->ids) / sizeof(c->ids[0]))
		c->ids[c->n++] = in->id;
	return 0;
}

/* The matching checkpoints, counted or removed: how many, or -1 with err. */
static long
purge_checkpoints(struct purge *p, int remove, char *err, size_t errlen)
{
	struct purge_ckpts c;
	size_t i;

	memset(&c, 0, sizeof(c));
	c.p = p;
	if (checkpoint_list(p->srv->ckpt, purge_ckpt_collect, &c, err, errlen) != 0)
		return -1;
	for (i = 0; remove && i < c.n; i++)
		if (checkpoint_delete(p->srv->ckpt, c.ids[i], err, errlen) != 0)
			return -1;
	return (long)c.n;
}

static void
purge_answer(struct purge *p)
{
	char err[512], prefix[STORE_PREFIX_MAX];
	json_t *o;
	long n;

	if ((n = purge_checkpoints(p, p->checkpoints && !p->dry_run, err, sizeof(err))) < 0) {
		cmd_error(p->req, SIM_ERR_FAILED, "%s", err);
		purge_free(p);
		return;
	}
	store_key_prefix(prefix, sizeof(prefix), p->seed);
	o = json_pack("{s:I, s:s, s:b}", "seed", (json_int_t)p->seed, "prefix", prefix, "dry_run",
	    p->dry_run);
	if (o != NULL && p->run_id[0] != '\0')
		json_object_set_new(o, "run", json_string(p->run_id));
	if (o != NULL && p->dry_run) {
		json_object_set_new(o, "rows", purge_rows(p->before));
		json_object_set_new(o, "checkpoints", json_integer(n));
	} else if (o != NULL) {
		json_object_set_new(o, "before", purge_rows(p->before));
		json_object_set_new(o, "removed", purge_rows(p->removed));
		json_object_set_new(o, "after", purge_rows(p->job.rows));
		json_object_set_new(o, "batches", json_integer((json_int_t)p->batches));
		json_object_set_new(o, p->checkpoints ? "checkpoints_removed" : "checkpoints_kept",
		    json_integer(n));
		log_info("purge of seed %llu done: %llu batches, %llu orders, %llu events, "
			 "%llu sessions deleted",
		    (unsigned long long)p->seed, (unsigned long long)p->batches,
		    (unsigned long long)p->removed[STORE_K_ORDERS],
		    (unsigned long long)p->removed[STORE_K_EVENTS],
		    (unsigned long long)p->removed[STORE_K_SESSIONS]);
	}
	if (o == NULL)
		cmd_error(p->req, RPC_INTERNAL_ERROR, "out of memory");
	else
		cmd_reply(p->req, o);
	purge_free(p);
}

static void purge_step(struct purge *p);

static void
purge_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	purge_step(arg);
}

/* The next batch, after the pause (0: from the loop all the same: the job completes there). */
static void
purge_next(struct purge *p)
{
	struct timeval tv = { (time_t)p->pause,
		(suseconds_t)((p->pause - (time_t)p->pause) * 1e6) };

	if (p->pause <= 0) {
		purge_step(p);
		return;
	}
	if (event_add(p->timer, &tv) != 0) {
		cmd_error(p->req, SIM_ERR_FAILED, "purge: cannot arm its timer; run it again");
		purge_free(p);
	}
}

static void
purge_done(enum store_err err, const char *msg, void *arg)
{
	struct purge *p = arg;
	struct store_keyjob *j = &p->job;

	if (err != STORE_OK) {
		cmd_error(p->req, SIM_ERR_FAILED,
		    "purge interrupted after %llu batches: %s; run it again to finish",
		    (unsigned long long)p->batches, msg != NULL ? msg : store_err_name(err));
		purge_free(p);
		return;
	}
	if (p->stage == PURGE_COUNT_BEFORE) {
		memcpy(p->before, j->rows, sizeof(p->before));
		if (p->dry_run) {
			purge_answer(p);
			return;
		}
		p->stage = PURGE_DELETE;
		j->purge = 1;
		j->phase = STORE_P_ORDERS;
		j->cursor = 0;
		purge_step(p);
		return;
	}
	if (p->stage == PURGE_COUNT_AFTER) {
		purge_answer(p);
		return;
	}
	p->batches++;
	for (int i = 0; i < STORE_KEYED; i++)
		p->removed[i] += j->rows[i];
	if (j->found < j->limit) { /* the phase's table has no more */
		j->phase++;
		j->cursor = 0;
		log_info("purge of seed %llu: %s done", (unsigned long long)p->seed,
		    store_phase_name(j->phase - 1));
	} else if (p->batches % PURGE_LOG_EVERY == 0) {
		log_info("purge of seed %llu: %llu batches, in %s", (unsigned long long)p->seed,
		    (unsigned long long)p->batches, store_phase_name(j->phase));
	}
	if (j->phase >= STORE_P_DONE) {
		p->stage = PURGE_COUNT_AFTER;
		j->purge = 0;
	}
	purge_next(p);
}

static void
purge_step(struct purge *p)
{
	if (server_stopping(p->srv)) {
		cmd_error(p->req, SIM_ERR_SHUTDOWN,
		    "purge interrupted by the shutdown after %llu batches; run it again to finish",
		    (unsigned long long)p->batches);
		purge_free(p);
		return;
	}
	store_keyed(p->srv->store, &p->job);
}

/* Whether the run under way (or setting up) writes seed's rows. */
static int
purge_seed_active(struct server *srv, uint64_t seed, char *run_id, size_t len)
{
	struct snapshot *s;
	int active;

	if (!engine_active(srv->engine))
		return 0;
	if ((s = malloc(sizeof(*s))) == NULL)
		return 1; /* cannot tell: refuse */
	memset(s, 0, sizeof(*s));
	engine_snapshot(srv->engine, s);
	active = s->params.seed == seed;
	snprintf(run_id, len, "%s", s->params.run_id);
	free(s);
	return active;
}

static enum cmd_ret
purge_exec(struct cmd_req *req, struct server *srv, const json_t *params)
{
	struct purge *p;
	char err[256], active[RUN_ID_MAX];
	long long v = PURGE_BATCH_DEFAULT;
	const json_t *run = json_object_get(params, "run");

	if (srv->purge != NULL)
		return cmd_error(req, SIM_ERR_STATE, "a purge (of %s) is under way already",
		    srv->purge->job.prefix);
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->timer = evtimer_new(srv->base, purge_timer_cb, p)) == NULL) {
		free(p);
		return cmd_error(req, RPC_INTERNAL_ERROR, "out of memory");
	}
	p->req = req;
	p->srv = srv;
	if (run != NULL) {
		snprintf(p->run_id, sizeof(p->run_id), "%s", json_string_value(run));
		purge_seed_of(p->run_id, &p->seed);
	} else {
		cmd_param_int(params, "seed", 0, INT64_MAX, &v, err, sizeof(err));
		p->seed = (uint64_t)v;
		v = PURGE_BATCH_DEFAULT;
	}
	cmd_param_int(params, "batch", 1, PURGE_BATCH_MAX, &v, err, sizeof(err));
	cmd_param_double(params, "pause", 0, PURGE_PAUSE_MAX, &p->pause, err, sizeof(err));
	cmd_param_bool(params, "dry_run", &p->dry_run, err, sizeof(err));
	cmd_param_bool(params, "checkpoints", &p->checkpoints, err, sizeof(err));
	if (purge_seed_active(srv, p->seed, active, sizeof(active))) {
		unsigned long long seed = p->seed;
		purge_free(p);
		return cmd_error(req, SIM_ERR_STATE,
		    "run %s writes seed %llu's rows and is active: stop it first", active, seed);
	}
	store_key_prefix(p->job.prefix, sizeof(p->job.prefix), p->seed);
	p->job.limit = (uint32_t)v;
	p->job.cb = purge_done;
	p->job.arg = p;
	p->stage = PURGE_COUNT_BEFORE;
	srv->purge = p;
	log_info("purge of seed %llu%s: counting its rows", (unsigned long long)p->seed,
	    p->dry_run ? " (dry run)" : "");
	store_keyed(srv->store, &p->job);
	return CMD_WAIT;
}

void
cmd_purge_abort(struct server *srv)
{
	struct purge *p = srv->purge;

	if (p == NULL)
		return;
	cmd_error(p->req, SIM_ERR_SHUTDOWN,
	    "purge interrupted by the shutdown after %llu batches; run it again to finish",
	    (unsigned long long)p->batches);
	purge_free(p);
}

const struct cmd_entry cmd_purge = {
	SIM_M_PURGE,
	0,
	purge_check,
	purge_exec,
	"delete a run's rows by key prefix (seed or run; dry_run, checkpoints, batch, pause)",
};
