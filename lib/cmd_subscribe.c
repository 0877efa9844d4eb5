/*
 * cmd_subscribe.c - "subscribe": a stream of frames (status, latencies,
 * errors, rates) every interval_ms until the client closes, cancels or sends
 * unsubscribe.  Each frame is an answer to the subscribe request's id.
 */
#include "sim/cmd.h"
#include "sim/proto.h"
#include "sim/server.h"
#include "sim/watch.h"

static const char *const keys[] = { "interval_ms", NULL };

static int
subscribe_check(const json_t *params, char *err, size_t errlen)
{
	long long ms;

	if (cmd_check_keys(params, keys, err, errlen) != 0)
		return -1;
	return cmd_param_int(params, "interval_ms", WATCH_INTERVAL_MIN, WATCH_INTERVAL_MAX, &ms,
		   err, errlen) < 0
	    ? -1
	    : 0;
}

static enum cmd_ret
subscribe_exec(struct cmd_req *req, struct server *srv, const json_t *params)
{
	long long ms = WATCH_INTERVAL_DEFAULT;
	char err[128];

	if (req->id == NULL)
		return cmd_error(req, RPC_INVALID_REQUEST, "a subscription needs a request id");
	(void)cmd_param_int(
	    params, "interval_ms", WATCH_INTERVAL_MIN, WATCH_INTERVAL_MAX, &ms, err, sizeof(err));
	if (watch_subscribe(srv->watch, req, (unsigned)ms, err, sizeof(err)) != 0)
		return cmd_error(req, SIM_ERR_FAILED, "%s", err);
	return CMD_WAIT;
}

const struct cmd_entry cmd_subscribe = {
	SIM_M_SUBSCRIBE,
	CMD_READONLY | CMD_NOVERB,
	subscribe_check,
	subscribe_exec,
	"a frame of status, latencies, errors and rates every interval_ms (default 1000, min "
	"100) until unsubscribe",
};
