/* cmd_version.c - "version": daemon and protocol versions. */
#include "sim/cmd.h"
#include "sim/proto.h"

#ifndef SIMD_VERSION
#define SIMD_VERSION "unknown"
#endif

static enum cmd_ret
version_exec(struct cmd_req *req, struct server *srv, const json_t *params)
{
	cmd_reply(req,
	    json_pack("{s:s, s:i}", "version", SIMD_VERSION, "protocol", SIM_PROTOCOL_VERSION));
	return CMD_DONE;
}

const struct cmd_entry cmd_version = {
	SIM_M_VERSION,
	CMD_READONLY,
	cmd_check_none,
	version_exec,
	"daemon version and control protocol version",
};
