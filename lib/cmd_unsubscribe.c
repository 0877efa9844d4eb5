/* cmd_unsubscribe.c - "unsubscribe": ends this connection's subscriptions (or the one of id). */
#include "sim/cmd.h"
#include "sim/proto.h"
#include "sim/server.h"
#include "sim/watch.h"

static const char *const keys[] = { "id", NULL };

static int
unsubscribe_check(const json_t *params, char *err, size_t errlen)
{
	const json_t *id = params != NULL ? json_object_get(params, "id") : NULL;

	if (cmd_check_keys(params, keys, err, errlen) != 0)
		return -1;
	if (id != NULL && !json_is_string(id) && !json_is_number(id)) {
		snprintf(err, errlen, "\"id\" must be the id a subscribe was sent with");
		return -1;
	}
	return 0;
}

static enum cmd_ret
unsubscribe_exec(struct cmd_req *req, struct server *srv, const json_t *params)
{
	const json_t *id = params != NULL ? json_object_get(params, "id") : NULL;
	int n = watch_unsubscribe(srv->watch, req, id);

	if (n == 0 && id != NULL)
		return cmd_error(
		    req, SIM_ERR_NOT_FOUND, "no subscription with that id on this connection");
	cmd_reply(req, json_pack("{s:i}", "unsubscribed", n));
	return CMD_DONE;
}

const struct cmd_entry cmd_unsubscribe = {
	SIM_M_UNSUBSCRIBE,
	CMD_READONLY | CMD_NOVERB,
	unsubscribe_check,
	unsubscribe_exec,
	"end this connection's subscriptions (params: id, to end only that one)",
};
