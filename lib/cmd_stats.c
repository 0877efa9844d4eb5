/*
 * cmd_stats.c - "stats": latencies per step, throughput, errors by type,
 * paced arrivals' lateness; with {"realism": true} also the realism report.
 */
#include <stdlib.h>

#include "sim/cmd.h"
#include "sim/engine.h"
#include "sim/proto.h"
#include "sim/realism.h"
#include "sim/server.h"
#include "sim/snapshot.h"

static int
stats_check(const json_t *params, char *err, size_t errlen)
{
	static const char *const keys[] = { "realism", NULL };
	int flag;

	if (cmd_check_keys(params, keys, err, errlen) != 0)
		return -1;
	return cmd_param_bool(params, "realism", &flag, err, errlen) < 0 ? -1 : 0;
}

/* The run's realism report (null before any run); 0, or -1 out of memory. */
static int
stats_realism(json_t *o, const struct server *srv)
{
	struct realism_report *rep = malloc(sizeof(*rep));
	json_t *v = NULL;

	if (rep == NULL)
		return -1;
	if (engine_realism(srv->engine, rep) != 0)
		v = json_null();
	else
		v = realism_report_json(rep);
	free(rep);
	return v == NULL || json_object_set_new(o, "realism", v) != 0 ? -1 : 0;
}

static enum cmd_ret
stats_exec(struct cmd_req *req, struct server *srv, const json_t *params)
{
	struct snapshot *s = malloc(sizeof(*s));
	json_t *o = NULL;
	char err[64];
	int realism = 0;

	(void)cmd_param_bool(params, "realism", &realism, err, sizeof(err));
	if (s != NULL) {
		server_snapshot(srv, s);
		o = snapshot_stats_json(s);
		free(s);
	}
	if (o != NULL && realism && stats_realism(o, srv) != 0) {
		json_decref(o);
		o = NULL;
	}
	if (o == NULL)
		return cmd_error(req, RPC_INTERNAL_ERROR, "out of memory");
	cmd_reply(req, o);
	return CMD_DONE;
}

const struct cmd_entry cmd_stats = {
	SIM_M_STATS,
	CMD_READONLY,
	stats_check,
	stats_exec,
	"per-step latency (avg/p50/p95/p99), sessions/s, writes/s, errors by type, failed agents, "
	"paced arrivals' lateness; {\"realism\": true}: the realism report",
};
