/* cmd_stats.c - "stats": latencies per step, throughput, errors by type. */
#include "sim/cmd.h"
#include "sim/engine.h"
#include "sim/proto.h"
#include "sim/server.h"
#include "sim/store.h"

static enum cmd_ret
stats_exec(struct cmd_req *req, struct server *srv, const json_t *params)
{
	json_t *o = engine_stats(srv->engine);

	if (o == NULL)
		return cmd_error(req, RPC_INTERNAL_ERROR, "out of memory");
	json_object_set_new(o, "store", store_stats_json(srv->store));
	cmd_reply(req, o);
	return CMD_DONE;
}

const struct cmd_entry cmd_stats = {
	"stats", CMD_READONLY, cmd_check_none, stats_exec,
	"per-step latency (avg/p50/p95/p99), sessions/s, writes/s, errors by type, failed agents",
};
