/* cmd_stop.c - "stop": drain in-flight sessions and end the run. */
#include "sim/ckptsched.h"
#include "sim/cmd.h"
#include "sim/engine.h"
#include "sim/proto.h"
#include "sim/server.h"

static const char *const keys[] = { "wait", NULL };

static int
stop_check(const json_t *params, char *err, size_t errlen)
{
	int wait;

	if (cmd_check_keys(params, keys, err, errlen) != 0)
		return -1;
	return cmd_param_bool(params, "wait", &wait, err, errlen) < 0 ? -1 : 0;
}

static enum cmd_ret
stop_exec(struct cmd_req *req, struct server *srv, const json_t *params)
{
	char err[256];
	int wait = 0;

	cmd_param_bool(params, "wait", &wait, err, sizeof(err));
	if (cmd_cluster_run(srv)) /* every member stops its shard; answered once recorded */
		return cmd_cluster_control(req, srv, "stopped", 0);
	if (engine_stop(srv->engine, err, sizeof(err)) != 0)
		return cmd_error(req, SIM_ERR_STATE, "%s", err);
	ckptsched_set_stop_reason(srv->sched, "stop");
	if (wait && engine_active(srv->engine) && cmd_reply_at_run_end(req, srv, 0) == 0)
		return CMD_WAIT;
	return cmd_reply_status(req, srv);
}

const struct cmd_entry cmd_stop = {
	SIM_M_STOP,
	0,
	stop_check,
	stop_exec,
	"stop the run: in-flight sessions finish, then it is finished (wait: answer then)",
};
