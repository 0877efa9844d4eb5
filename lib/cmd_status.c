/* cmd_status.c - "status": where the daemon and its run stand (DESIGN.md 5). */
#include "sim/checkpoint.h"
#include "sim/cmd.h"
#include "sim/config.h"
#include "sim/engine.h"
#include "sim/platform.h"
#include "sim/proto.h"
#include "sim/server.h"
#include "sim/store.h"

json_t *
cmd_status_json(struct server *srv)
{
	json_t *o = engine_status(srv->engine);
	uint64_t rss, peak;

	if (o == NULL)
		return NULL;
	if (engine_state(srv->engine) == ENGINE_IDLE) {
		/* no run yet: what the next one would use */
		json_object_set_new(json_object_get(o, "concurrency"), "limit",
		    json_integer((json_int_t)srv->cfg->max_concurrent));
		json_object_set_new(o, "seed", json_integer((json_int_t)srv->cfg->seed));
		json_object_set_new(o, "agents", json_integer((json_int_t)srv->cfg->agents));
	}
	json_object_set_new(o, "store", store_stats_json(srv->store));
	json_object_set_new(o, "last_checkpoint", checkpoint_last_json(srv->ckpt));
	rss = platform_rss_bytes();
	peak = platform_peak_rss_bytes();   /* read after: argument order is unspecified */
	json_object_set_new(o, "process", json_pack("{s:I, s:I, s:I}", "rss_bytes",
	    (json_int_t)rss, "peak_rss_bytes", (json_int_t)(peak > rss ? peak : rss), "uptime_s",
	    (json_int_t)(time(NULL) - srv->started_at)));
	if (srv->stopping)
		json_object_set_new(o, "daemon", json_string("shutting down"));
	return o;
}

static enum cmd_ret
status_exec(struct cmd_req *req, struct server *srv, const json_t *params)
{
	json_t *o = cmd_status_json(srv);

	if (o == NULL)
		return cmd_error(req, RPC_INTERNAL_ERROR, "out of memory");
	cmd_reply(req, o);
	return CMD_DONE;
}

const struct cmd_entry cmd_status = {
	"status", CMD_READONLY, cmd_check_none, status_exec,
	"state of the simulation: run, cycle, clock, concurrency, counts, store, checkpoint",
};
