/* cmd_stats.c - "stats": latencies per step, throughput, errors by type. */
#include <stdlib.h>

#include "sim/cmd.h"
#include "sim/proto.h"
#include "sim/server.h"
#include "sim/snapshot.h"

static enum cmd_ret
stats_exec(struct cmd_req *req, struct server *srv, const json_t *params)
{
	struct snapshot *s = malloc(sizeof(*s));
	json_t *o = NULL;

	if (s != NULL) {
		server_snapshot(srv, s);
		o = snapshot_stats_json(s);
		free(s);
	}
	if (o == NULL)
		return cmd_error(req, RPC_INTERNAL_ERROR, "out of memory");
	cmd_reply(req, o);
	return CMD_DONE;
}

const struct cmd_entry cmd_stats = {
	SIM_M_STATS,
	CMD_READONLY,
	cmd_check_none,
	stats_exec,
	"per-step latency (avg/p50/p95/p99), sessions/s, writes/s, errors by type, failed agents",
};
