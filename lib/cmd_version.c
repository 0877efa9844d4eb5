/* cmd_version.c - "version": daemon and protocol versions. */
#include <string.h>

#include "sim/cmd.h"
#include "sim/proto.h"
#include "sim/version.h"

static enum cmd_ret
version_exec(struct cmd_req *req, struct server *srv, const json_t *params)
{
	const char *f = version_features();
	json_t *features = json_array();

	if (features != NULL && f[0] != '\0')
		json_array_append_new(features, json_string(f));
	cmd_reply(req,
	    json_pack("{s:s, s:i, s:s?, s:o?}", "version", version_number(), "protocol",
		SIM_PROTOCOL_VERSION, "commit", version_commit()[0] ? version_commit() : NULL,
		"features", features));
	return CMD_DONE;
}

const struct cmd_entry cmd_version = {
	SIM_M_VERSION,
	CMD_READONLY,
	cmd_check_none,
	version_exec,
	"daemon version, commit, optional parts and control protocol version",
};
