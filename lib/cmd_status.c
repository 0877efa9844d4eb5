/* cmd_status.c - "status": where the daemon and its run stand (DESIGN.md 5). */
#include "sim/cmd.h"
#include "sim/proto.h"

static enum cmd_ret
status_exec(struct cmd_req *req, struct server *srv, const json_t *params)
{
	return cmd_reply_status(req, srv);
}

const struct cmd_entry cmd_status = {
	SIM_M_STATUS,
	CMD_READONLY,
	cmd_check_none,
	status_exec,
	"state of the simulation: run, cycle, clock, concurrency, counts, store, checkpoint",
};
