/* cmd_cancel.c - "cancel": ends a stream of this connection (by the id it was asked with). */
#include "sim/cmd.h"
#include "sim/proto.h"

static const char *const keys[] = { "id", NULL };

static int
cancel_check(const json_t *params, char *err, size_t errlen)
{
	const json_t *id = params != NULL ? json_object_get(params, "id") : NULL;

	if (cmd_check_keys(params, keys, err, errlen) != 0)
		return -1;
	if (!json_is_string(id) && !json_is_number(id)) {
		snprintf(err, errlen, "\"id\" must be the id of a stream on this connection");
		return -1;
	}
	return 0;
}

static enum cmd_ret
cancel_exec(struct cmd_req *req, struct server *srv, const json_t *params)
{
	if (!control_cancel(req, json_object_get(params, "id")))
		return cmd_error(req, SIM_ERR_NOT_FOUND,
		    "no stream with that id on this "
		    "connection");
	cmd_reply(req, json_pack("{s:b}", "cancelled", 1));
	return CMD_DONE;
}

const struct cmd_entry cmd_cancel = {
	SIM_M_CANCEL,
	CMD_READONLY | CMD_NOVERB,
	cancel_check,
	cancel_exec,
	"end a stream this connection asked for (its request id)",
};
