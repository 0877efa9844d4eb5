/* cmd_pause.c - "pause" and "resume": hold new sessions, let in-flight ones finish. */
#include "sim/cmd.h"
#include "sim/engine.h"
#include "sim/proto.h"
#include "sim/server.h"

static enum cmd_ret
pause_exec(struct cmd_req *req, struct server *srv, const json_t *params)
{
	char err[256];

	if (cmd_cluster_run(srv))
		return cmd_cluster_control(req, srv, "paused", 0);
	if (engine_pause(srv->engine, err, sizeof(err)) != 0)
		return cmd_error(req, SIM_ERR_STATE, "%s", err);
	cmd_reply(req,
	    json_pack(
		"{s:s, s:i}", "state", "paused", "in_flight", (int)engine_in_flight(srv->engine)));
	return CMD_DONE;
}

static enum cmd_ret
resume_exec(struct cmd_req *req, struct server *srv, const json_t *params)
{
	char err[256];

	if (cmd_cluster_run(srv))
		return cmd_cluster_control(req, srv, "running", 0);
	if (engine_resume(srv->engine, err, sizeof(err)) != 0)
		return cmd_error(req, SIM_ERR_STATE, "%s", err);
	cmd_reply(req, json_pack("{s:s}", "state", "running"));
	return CMD_DONE;
}

const struct cmd_entry cmd_pause = {
	SIM_M_PAUSE,
	0,
	cmd_check_none,
	pause_exec,
	"start no new sessions; those in flight finish",
};

const struct cmd_entry cmd_resume = {
	SIM_M_RESUME,
	0,
	cmd_check_none,
	resume_exec,
	"continue a paused simulation",
};
