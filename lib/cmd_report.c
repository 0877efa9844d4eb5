/*
 * cmd_report.c - "report": the after-run checklist of a run, from what the
 * daemon knows of it (the current or last run) or, for an earlier one, from
 * its newest checkpoint; and from the database: the rows its keys name per
 * table, sessions left without an outcome and their agents, simd's sessions
 * idle in a transaction (PostgreSQL), and the checkpoints kept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/checkpoint.h"
#include "sim/cmd.h"
#include "sim/engine.h"
#include "sim/proto.h"
#include "sim/server.h"
#include "sim/snapshot.h"
#include "sim/store.h"

struct report {
	struct cmd_req *req;
	struct server *srv;
	struct store_keyjob job;
	struct snapshot snap;
	const char *source; /* "daemon" or "checkpoint" */
};

static const char *const report_keys[] = { "run", NULL };

static int
report_check(const json_t *params, char *err, size_t errlen)
{
	const json_t *run = json_object_get(params, "run");

	if (cmd_check_keys(params, report_keys, err, errlen) != 0)
		return -1;
	if (run != NULL &&
	    (!json_is_string(run) || json_string_length(run) == 0 ||
		json_string_length(run) >= RUN_ID_MAX)) {
		snprintf(err, errlen, "\"run\" must be a run id (simctl checkpoints lists them)");
		return -1;
	}
	return 0;
}

struct report_ckpts {
	const char *run_id;
	json_t *list;
	int64_t newest;
};

static int
report_ckpt(const struct checkpoint_info *in, void *arg)
{
	struct report_ckpts *c = arg;
	char at[32];

	if (strcmp(in->run_id, c->run_id) != 0)
		return 0;
	if (c->newest == 0)
		c->newest = in->id;
	store_time_iso(at, sizeof(at), in->at);
	if (c->list == NULL)
		return 0;
	return json_array_append_new(c->list,
	    json_pack("{s:I, s:s, s:I, s:s}", "id", (json_int_t)in->id, "at", at, "cycle",
		(json_int_t)in->cycle, "reason", in->reason));
}

static json_t *
report_agents(const struct store_keyjob *j)
{
	json_t *a = json_array();
	char id[STORE_AGENT_ID_MAX + 8];

	for (uint32_t i = 0; a != NULL && i < j->nopen_agents; i++) {
		store_agent_id(id, sizeof(id), j->open_agents[i]);
		json_array_append_new(a, json_string(id));
	}
	return a;
}

static json_t *
report_build(struct report *r)
{
	const struct store_keyjob *j = &r->job;
	struct report_ckpts c = { r->snap.params.run_id, json_array(), 0 };
	json_t *st = snapshot_status_json(&r->snap), *stats = snapshot_stats_json(&r->snap);
	json_t *o = json_object(), *rows = json_object();
	char err[256];

	if (c.list != NULL && checkpoint_list(r->srv->ckpt, report_ckpt, &c, err, sizeof(err)) != 0)
		json_array_clear(c.list);
	for (int i = 0; rows != NULL && i < STORE_KEYED; i++)
		json_object_set_new(
		    rows, store_keyed_names[i], json_integer((json_int_t)j->rows[i]));
	if (o == NULL || st == NULL || stats == NULL || rows == NULL || c.list == NULL) {
		json_decref(o);
		json_decref(rows);
		json_decref(c.list);
		o = NULL;
	} else {
		json_object_set(o, "run_id", json_object_get(st, "run_id"));
		json_object_set(o, "seed", json_object_get(st, "seed"));
		json_object_set_new(o, "prefix", json_string(j->prefix));
		json_object_set(o, "state", json_object_get(st, "state"));
		json_object_set_new(o, "source", json_string(r->source));
		json_object_set(o, "agents", json_object_get(st, "agents"));
		json_object_set(o, "cycle", json_object_get(st, "cycle"));
		json_object_set(o, "counts", json_object_get(st, "counts"));
		json_object_set(o, "errors", json_object_get(stats, "errors"));
		json_object_set_new(o, "rows", rows);
		json_object_set_new(o, "open_sessions", json_integer((json_int_t)j->open_sessions));
		json_object_set_new(o, "open_agents", report_agents(j));
		json_object_set_new(o, "idle_in_transaction",
		    j->idle_in_tx < 0 ? json_null()
				      : json_pack("{s:I, s:f}", "count", (json_int_t)j->idle_in_tx,
					    "oldest_s", j->idle_oldest_s));
		json_object_set_new(o, "checkpoints", c.list);
		json_object_set_new(
		    o, "realism", json_null()); /* the engine does not keep it yet */
	}
	json_decref(st);
	json_decref(stats);
	return o;
}

static void
report_counted(enum store_err err, const char *msg, void *arg)
{
	struct report *r = arg;
	json_t *o;

	if (err != STORE_OK) {
		cmd_error(r->req, SIM_ERR_FAILED, "report: %s", msg ? msg : store_err_name(err));
	} else if ((o = report_build(r)) == NULL) {
		cmd_error(r->req, RPC_INTERNAL_ERROR, "out of memory");
	} else {
		cmd_reply(r->req, o);
	}
	free(r);
}

/* An earlier run: what its newest checkpoint holds stands in for the engine's view. */
static int
report_from_checkpoint(struct report *r, const char *run_id, char *err, size_t errlen)
{
	struct report_ckpts c = { run_id, NULL, 0 };
	struct run_state rs;
	struct checkpoint_info info;

	if (checkpoint_list(r->srv->ckpt, report_ckpt, &c, err, errlen) != 0)
		return -1;
	if (c.newest == 0) {
		snprintf(err, errlen,
		    "run %s is neither the daemon's last run nor in a checkpoint kept", run_id);
		return -1;
	}
	memset(&rs, 0, sizeof(rs));
	if (checkpoint_load(r->srv->ckpt, c.newest, &rs, &info, err, errlen) != 0)
		return -1;
	memset(&r->snap, 0, sizeof(r->snap));
	r->snap.state = ENGINE_FINISHED;
	r->snap.params = rs.params;
	r->snap.params.only = NULL;
	r->snap.population = rs.params.agents;
	r->snap.cycle = rs.cycle;
	r->snap.counts = rs.counts;
	r->snap.elapsed_s = rs.elapsed_s;
	r->snap.eta_s = -1;
	checkpoint_state_free(&rs);
	r->source = "checkpoint";
	return 0;
}

static enum cmd_ret
report_exec(struct cmd_req *req, struct server *srv, const json_t *params)
{
	const char *run = json_string_value(json_object_get(params, "run"));
	struct report *r = calloc(1, sizeof(*r));
	char err[512];

	if (r == NULL)
		return cmd_error(req, RPC_INTERNAL_ERROR, "out of memory");
	r->req = req;
	r->srv = srv;
	server_snapshot(srv, &r->snap);
	r->source = "daemon";
	if (run == NULL && r->snap.state == ENGINE_IDLE) {
		free(r);
		return cmd_error(req, SIM_ERR_NOT_FOUND,
		    "no run yet in this daemon: name one (simctl report RUN-ID)");
	}
	if (run != NULL && strcmp(run, r->snap.params.run_id) != 0 &&
	    report_from_checkpoint(r, run, err, sizeof(err)) != 0) {
		free(r);
		return cmd_error(req, SIM_ERR_NOT_FOUND, "%s", err);
	}
	store_key_prefix(r->job.prefix, sizeof(r->job.prefix), r->snap.params.seed);
	r->job.cb = report_counted;
	r->job.arg = r;
	store_keyed(srv->store, &r->job);
	return CMD_WAIT;
}

const struct cmd_entry cmd_report = {
	SIM_M_REPORT,
	CMD_READONLY,
	report_check,
	report_exec,
	"the after-run report of the last run or of run (counts, errors, rows, leftovers)",
};
