/* cmd_concurrency.c - "set-concurrency": the limit on sessions in flight. */
#include "sim/cmd.h"
#include "sim/config.h"
#include "sim/engine.h"
#include "sim/proto.h"
#include "sim/server.h"

static const char *const keys[] = { "limit", NULL };

static int
concurrency_check(const json_t *params, char *err, size_t errlen)
{
	long long n;
	int rc;

	if (cmd_check_keys(params, keys, err, errlen) != 0)
		return -1;
	rc = cmd_param_int(params, "limit", 1, ENGINE_MAX_CONCURRENT, &n, err, errlen);
	if (rc == 0)
		snprintf(err, errlen, "\"limit\" is required");
	return rc == 1 ? 0 : -1;
}

static enum cmd_ret
concurrency_exec(struct cmd_req *req, struct server *srv, const json_t *params)
{
	char err[256];
	long long n = 0;

	cmd_param_int(params, "limit", 1, ENGINE_MAX_CONCURRENT, &n, err, sizeof(err));
	if (engine_set_concurrency(srv->engine, (uint32_t)n, err, sizeof(err)) != 0)
		return cmd_error(req, RPC_INVALID_PARAMS, "%s", err);
	srv->cfg->max_concurrent = n;   /* the default of the next run too */
	srv->concurrency_set = 1;       /* and a reload does not undo it */
	cmd_reply(req, json_pack("{s:i}", "limit", (int)n));
	return CMD_DONE;
}

const struct cmd_entry cmd_set_concurrency = {
	"set-concurrency", 0, concurrency_check, concurrency_exec,
	"change the limit on concurrent sessions (effective for the next session that starts)",
};
