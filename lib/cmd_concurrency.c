/*
 * cmd_concurrency.c - "set-concurrency": the limit on sessions in flight, or
 * with adaptive on the base it adapts from; "adaptive" turns adapting on or off.
 */
#include <stdio.h>

#include "sim/cmd.h"
#include "sim/config.h"
#include "sim/engine.h"
#include "sim/proto.h"
#include "sim/reload.h"
#include "sim/server.h"

static const char *const keys[] = { "limit", "adaptive", NULL };

/* limit's bounds are max_concurrent's, the key it sets; one of the two is needed. */
static int
concurrency_check(const json_t *params, char *err, size_t errlen)
{
	const struct config_key *k = config_find("max_concurrent");
	long long n;
	int rc, on, rca;

	if (cmd_check_keys(params, keys, err, errlen) != 0)
		return -1;
	rc = cmd_param_int(params, "limit", (long long)k->min, (long long)k->max, &n, err, errlen);
	if (rc < 0 || (rca = cmd_param_bool(params, "adaptive", &on, err, errlen)) < 0)
		return -1;
	if (rc == 0 && rca == 0) {
		snprintf(err, errlen, "\"limit\" or \"adaptive\" is required");
		return -1;
	}
	return 0;
}

/* As the file would set max_concurrent and adaptive, but over the socket: it wins over a reload. */
static enum cmd_ret
concurrency_exec(struct cmd_req *req, struct server *srv, const json_t *params)
{
	const struct config_key *k = config_find("max_concurrent");
	const char *names[2], *values[2];
	char err[256], value[24];
	long long n = 0;
	int on = 0, nk = 0;

	if (cmd_param_int(
		params, "limit", (long long)k->min, (long long)k->max, &n, err, sizeof(err)) == 1) {
		snprintf(value, sizeof(value), "%lld", n);
		names[nk] = "max_concurrent";
		values[nk++] = value;
	}
	if (cmd_param_bool(params, "adaptive", &on, err, sizeof(err)) == 1) {
		names[nk] = "adaptive";
		values[nk++] = on ? "on" : "off";
	}
	if (reload_set_keys(srv, names, values, nk, err, sizeof(err)) != 0)
		return cmd_error(req, RPC_INVALID_PARAMS, "%s", err);
	if (n > 0 && cmd_cluster_run(srv)) /* the other members' shards too */
		return cmd_cluster_control(req, srv, NULL, (uint32_t)n);
	n = srv->cfg->max_concurrent;
	cmd_reply(req,
	    json_pack("{s:i, s:i, s:b}", "limit",
		engine_active(srv->engine) ? (int)engine_limit(srv->engine) : (int)n, "base",
		(int)n, "adaptive", srv->cfg->adaptive != 0));
	return CMD_DONE;
}

const struct cmd_entry cmd_set_concurrency = {
	SIM_M_SET_CONCURRENCY,
	0,
	concurrency_check,
	concurrency_exec,
	"change the limit on concurrent sessions (with adaptive on: the base it adapts from), or "
	"turn adapting on or off",
};
