/* cmd_checkpoint.c - "checkpoint" (take one now) and "checkpoints" (list them). */
#include "sim/checkpoint.h"
#include "sim/cmd.h"
#include "sim/proto.h"
#include "sim/server.h"

static void
written(struct server *srv, int ok, const struct checkpoint_info *info, const char *err,
    void *arg)
{
	struct cmd_req *req = arg;

	if (!ok) {
		cmd_error(req, SIM_ERR_FAILED, "checkpoint failed: %s", err);
		return;
	}
	cmd_reply(req, json_pack("{s:I, s:s, s:i, s:i, s:I}", "id", (json_int_t)info->id,
	    "run_id", info->run_id, "cycle", (int)info->cycle, "agents", (int)info->agents,
	    "size", (json_int_t)info->size));
}

static enum cmd_ret
checkpoint_exec(struct cmd_req *req, struct server *srv, const json_t *params)
{
	char err[256];

	if (server_checkpoint(srv, "manual", written, req, err, sizeof(err)) != 0)
		return cmd_error(req, SIM_ERR_STATE, "%s", err);
	return CMD_WAIT;
}

static enum cmd_ret
checkpoints_exec(struct cmd_req *req, struct server *srv, const json_t *params)
{
	char err[512];
	json_t *list = srv->ckpt ? checkpoint_list_json(srv->ckpt, err, sizeof(err)) : NULL;

	if (list == NULL)
		return cmd_error(req, SIM_ERR_FAILED, "%s",
		    srv->ckpt ? err : "checkpoints are not available");
	cmd_reply(req, list);
	return CMD_DONE;
}

const struct cmd_entry cmd_checkpoint = {
	"checkpoint", 0, cmd_check_none, checkpoint_exec,
	"write a checkpoint of the current run now",
};

const struct cmd_entry cmd_checkpoints = {
	"checkpoints", CMD_READONLY, cmd_check_none, checkpoints_exec,
	"list the checkpoints kept (id, time, cycle, agents, size)",
};
