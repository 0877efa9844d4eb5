/* cmd_shutdown.c - "shutdown": stop the daemon cleanly. */
#include "sim/cmd.h"
#include "sim/proto.h"
#include "sim/server.h"
#include "sim/shutdown.h"

static enum cmd_ret
shutdown_exec(struct cmd_req *req, struct server *srv, const json_t *params)
{
	/* Answer first: the reply is flushed before the loop ends. */
	cmd_reply(req, json_pack("{s:b}", "stopping", 1));
	shutdown_request(srv->shutdown, "shutdown requested over the control socket");
	return CMD_DONE;
}

const struct cmd_entry cmd_shutdown = {
	SIM_M_SHUTDOWN,
	0,
	cmd_check_none,
	shutdown_exec,
	"stop the daemon (a running simulation is stopped and checkpointed first)",
};
