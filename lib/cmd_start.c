/* cmd_start.c - "start": begin a run (or continue one from a checkpoint). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/cluster.h"
#include "sim/cmd.h"
#include "sim/config.h"
#include "sim/engine.h"
#include "sim/params.h"
#include "sim/proto.h"
#include "sim/resume.h"
#include "sim/server.h"

/* What start takes beyond the run's parameters (params.h): how to answer, and resuming. */
static const char *const own_keys[] = { "wait", "resume", "checkpoint", "shards", NULL };

static int
check_keys(const json_t *params, char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	json_object_foreach ((json_t *)params, key, v) {
		const struct param_def *d = param_find(key);
		size_t i;

		if (d != NULL && (d->flags & PARAM_START))
			continue;
		for (i = 0; own_keys[i] != NULL && strcmp(own_keys[i], key) != 0; i++)
			;
		if (own_keys[i] == NULL) {
			snprintf(err, errlen, "unknown parameter \"%.64s\"", key);
			return -1;
		}
	}
	return 0;
}

/* Everything but the population bound, which needs the running configuration (exec). */
static int
start_check(const json_t *params, char *err, size_t errlen)
{
	struct run_params p;
	int flag, resume = 0, ck;
	long long id;

	if (params == NULL)
		return 0;
	if (check_keys(params, err, errlen) != 0)
		return -1;
	memset(&p, 0, sizeof(p));
	if (params_from_json(&p, params, NULL, err, errlen) != 0)
		return -1;
	params_clear(&p);
	if (cmd_param_bool(params, "wait", &flag, err, errlen) < 0 ||
	    cmd_param_bool(params, "resume", &resume, err, errlen) < 0 ||
	    (ck = cmd_param_int(params, "checkpoint", 1, INT64_MAX, &id, err, errlen)) < 0)
		return -1;
	if ((ck = cmd_param_int(params, "shards", 1, SHARD_COUNT_MAX, &id, err, errlen)) < 0)
		return -1;
	if (ck == 1 && (resume || json_object_get(params, "shard") != NULL)) {
		snprintf(err, errlen,
		    "\"shards\" makes a run the cluster's members share: it goes with neither "
		    "\"shard\" (one static shard) nor \"resume\"");
		return -1;
	}
	ck = json_object_get(params, "checkpoint") != NULL;
	if (ck == 1 && !resume) {
		snprintf(err, errlen,
		    "\"checkpoint\" chooses where to resume from: it needs "
		    "\"resume\" (simctl start --resume --checkpoint ID)");
		return -1;
	}
	return 0;
}

/* The shards of a run meet in one database: SQLite's file is each daemon's own. */
static int
shard_store_check(
    const struct run_params *p, const struct sim_config *cfg, char *err, size_t errlen)
{
	if (p->shard.count == 0 || cfg->database_url[0] != '\0')
		return 0;
	snprintf(err, errlen,
	    "shard %u/%u: the shards of a run share one PostgreSQL database (database_url); "
	    "the SQLite store is a file of each daemon's own",
	    p->shard.index, p->shard.count);
	return -1;
}

/* The cluster's answer: the run is recorded (a member claims each shard), or why not. */
struct recording {
	struct cmd_req *req;
	struct server *srv;
	int wait;
	char run_id[RUN_ID_MAX];
	uint32_t shards;
};

/* start --shards --wait: the cluster's run has ended (NULL: the daemon is shutting down). */
static void
cluster_run_ended(const char *state, void *arg)
{
	struct recording *r = arg;

	if (state == NULL)
		cmd_error(r->req, SIM_ERR_STATE, "the daemon is shutting down; run %s goes on",
		    r->run_id);
	else if (strcmp(state, "failed") == 0)
		cmd_error(r->req, SIM_ERR_FAILED, "the cluster's run %s failed (simctl status)",
		    r->run_id);
	else
		cmd_reply(r->req,
		    json_pack("{s:s, s:s, s:i, s:b}", "state", state, "run_id", r->run_id, "shards",
			(int)r->shards, "cluster", 1));
	free(r);
}

static void
recorded(int ok, const char *why, void *arg)
{
	struct recording *r = arg;

	if (!ok) {
		cmd_error(r->req, SIM_ERR_FAILED, "the run could not be recorded: %s", why);
	} else if (r->wait) {
		if (cluster_wait_run(r->srv->cluster, r->run_id, cluster_run_ended, r) == 0)
			return;
		cmd_error(r->req, RPC_INTERNAL_ERROR, "out of memory");
	} else {
		cmd_reply(r->req,
		    json_pack("{s:s, s:s, s:i}", "state", "recorded", "run_id", r->run_id, "shards",
			(int)r->shards));
	}
	free(r);
}

/* start --shards K: the run goes to the cluster's tables, not to this engine. */
static enum cmd_ret
start_shards(struct cmd_req *req, struct server *srv, const json_t *params, long long shards)
{
	struct run_params p;
	struct recording *r;
	char err[512];

	if (srv->cluster == NULL)
		return cmd_error(req, RPC_INVALID_PARAMS,
		    "--shards needs cluster = on (and PostgreSQL) in this daemon's simd.conf; "
		    "--shard I/N runs one static shard");
	params_from_config(&p, srv->cfg);
	memset(&p.shard, 0, sizeof(p.shard)); /* the run is the whole population */
	if (params_from_json(&p, params, srv->cfg, err, sizeof(err)) != 0) {
		params_clear(&p);
		return cmd_error(req, RPC_INVALID_PARAMS, "%s", err);
	}
	if ((uint64_t)shards > (p.only != NULL ? p.nonly : p.agents)) {
		params_clear(&p);
		return cmd_error(req, RPC_INVALID_PARAMS,
		    "%lld shards of %u agents: some would have none", shards,
		    p.only != NULL ? p.nonly : p.agents);
	}
	engine_new_run_id(p.run_id, sizeof(p.run_id), p.seed);
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		params_clear(&p);
		return cmd_error(req, RPC_INTERNAL_ERROR, "out of memory");
	}
	r->req = req;
	r->srv = srv;
	cmd_param_bool(params, "wait", &r->wait, err, sizeof(err));
	r->shards = (uint32_t)shards;
	snprintf(r->run_id, sizeof(r->run_id), "%s", p.run_id);
	if (cluster_start_run(srv->cluster, &p, r->shards, recorded, r, err, sizeof(err)) != 0) {
		free(r);
		params_clear(&p);
		return cmd_error(req, SIM_ERR_FAILED, "%s", err);
	}
	params_clear(&p);
	return CMD_WAIT;
}

static enum cmd_ret
start_exec(struct cmd_req *req, struct server *srv, const json_t *params)
{
	struct run_params p;
	char err[512];
	int wait = 0, resume = 0;
	long long id = 0;

	cmd_param_bool(params, "wait", &wait, err, sizeof(err));
	cmd_param_bool(params, "resume", &resume, err, sizeof(err));
	if (cmd_param_int(params, "shards", 1, SHARD_COUNT_MAX, &id, err, sizeof(err)) == 1)
		return start_shards(req, srv, params, id);
	if (engine_active(srv->engine))
		return cmd_error(req, SIM_ERR_STATE, "a run is already %s; stop it first",
		    engine_state_name(engine_state(srv->engine)));
	if (srv->purge != NULL) /* its rows would be deleted as they land */
		return cmd_error(
		    req, SIM_ERR_STATE, "a purge is under way; start again once it has finished");
	if (resume) {
		cmd_param_int(params, "checkpoint", 1, INT64_MAX, &id, err, sizeof(err));
		if (resume_run(srv->engine, srv->ckpt, id, err, sizeof(err)) != 0)
			return cmd_error(req, SIM_ERR_NOT_FOUND, "%s", err);
	} else {
		params_from_config(&p, srv->cfg);
		if (params_from_json(&p, params, srv->cfg, err, sizeof(err)) != 0 ||
		    shard_store_check(&p, srv->cfg, err, sizeof(err)) != 0 ||
		    params_shard_apply(&p, err, sizeof(err)) != 0) {
			params_clear(&p);
			return cmd_error(req, RPC_INVALID_PARAMS, "%s", err);
		}
		if (engine_start(srv->engine, &p, err, sizeof(err)) != 0)
			return cmd_error(req, SIM_ERR_FAILED, "%s", err);
	}
	if (wait && cmd_reply_at_run_end(req, srv, 1) == 0)
		return CMD_WAIT;
	return cmd_reply_status(req, srv);
}

const struct cmd_entry cmd_start = {
	SIM_M_START,
	0,
	start_check,
	start_exec,
	"start a run (the run parameters of params.h, wait) or resume one (resume, checkpoint)",
};
