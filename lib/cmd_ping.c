/* cmd_ping.c - "ping": is the daemon there? */
#include "sim/cmd.h"
#include "sim/proto.h"

static enum cmd_ret
ping_exec(struct cmd_req *req, struct server *srv, const json_t *params)
{
	cmd_reply(req, json_string("pong"));
	return CMD_DONE;
}

const struct cmd_entry cmd_ping = {
	SIM_M_PING,
	CMD_READONLY,
	cmd_check_none,
	ping_exec,
	"check that the daemon answers",
};
