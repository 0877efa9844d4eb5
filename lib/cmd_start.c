/* cmd_start.c - "start": begin a run (or continue one from a checkpoint). */
#include <stdio.h>
#include <string.h>

#include "sim/cmd.h"
#include "sim/config.h"
#include "sim/engine.h"
#include "sim/params.h"
#include "sim/proto.h"
#include "sim/resume.h"
#include "sim/server.h"

/* What start takes beyond the run's parameters (params.h): how to answer, and resuming. */
static const char *const own_keys[] = { "wait", "resume", "checkpoint", NULL };

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

static enum cmd_ret
start_exec(struct cmd_req *req, struct server *srv, const json_t *params)
{
	struct run_params p;
	char err[512];
	int wait = 0, resume = 0;
	long long id = 0;

	cmd_param_bool(params, "wait", &wait, err, sizeof(err));
	cmd_param_bool(params, "resume", &resume, err, sizeof(err));
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
