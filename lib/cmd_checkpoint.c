/* cmd_checkpoint.c - "checkpoint" (take one now) and "checkpoints" (list them). */
#include "sim/checkpoint.h"
#include "sim/ckptsched.h"
#include "sim/cmd.h"
#include "sim/proto.h"
#include "sim/server.h"
#include "sim/store.h"

static void
written(int ok, const struct checkpoint_info *info, const char *err, void *arg)
{
	struct cmd_req *req = arg;

	if (!ok) {
		cmd_error(req, SIM_ERR_FAILED, "checkpoint failed: %s", err);
		return;
	}
	cmd_reply(req,
	    json_pack("{s:I, s:s, s:i, s:i, s:I}", "id", (json_int_t)info->id, "run_id",
		info->run_id, "cycle", (int)info->cycle, "agents", (int)info->agents, "size",
		(json_int_t)info->size));
}

static enum cmd_ret
checkpoint_exec(struct cmd_req *req, struct server *srv, const json_t *params)
{
	char err[256];

	if (ckptsched_take(srv->sched, "manual", written, req, err, sizeof(err)) != 0)
		return cmd_error(req, SIM_ERR_STATE, "%s", err);
	return CMD_WAIT;
}

static int
listed(const struct checkpoint_info *in, void *arg)
{
	char at[32];

	store_time_iso(at, sizeof(at), in->at);
	return json_array_append_new(arg,
	    json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:s}", "id", (json_int_t)in->id, "run_id",
		in->run_id, "at", at, "cycle", (json_int_t)in->cycle, "agents",
		(json_int_t)in->agents, "size", (json_int_t)in->size, "reason", in->reason));
}

static enum cmd_ret
checkpoints_exec(struct cmd_req *req, struct server *srv, const json_t *params)
{
	char err[512];
	json_t *list = json_array();

	if (list == NULL)
		return cmd_error(req, RPC_INTERNAL_ERROR, "out of memory");
	if (checkpoint_list(srv->ckpt, listed, list, err, sizeof(err)) != 0) {
		json_decref(list);
		return cmd_error(req, SIM_ERR_FAILED, "%s", err);
	}
	cmd_reply(req, list);
	return CMD_DONE;
}

const struct cmd_entry cmd_checkpoint = {
	SIM_M_CHECKPOINT,
	0,
	cmd_check_none,
	checkpoint_exec,
	"write a checkpoint of the current run now",
};

const struct cmd_entry cmd_checkpoints = {
	SIM_M_CHECKPOINTS,
	CMD_READONLY,
	cmd_check_none,
	checkpoints_exec,
	"list the checkpoints kept (id, time, cycle, agents, size)",
};
