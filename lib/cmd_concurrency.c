/* cmd_concurrency.c - "set-concurrency": the limit on sessions in flight. */
#include <stdio.h>

#include "sim/cmd.h"
#include "sim/config.h"
#include "sim/proto.h"
#include "sim/reload.h"

static const char *const keys[] = { "limit", NULL };

/* The bounds are max_concurrent's, the key the limit sets. */
static int
concurrency_check(const json_t *params, char *err, size_t errlen)
{
	const struct config_key *k = config_find("max_concurrent");
	long long n;
	int rc;

	if (cmd_check_keys(params, keys, err, errlen) != 0)
		return -1;
	rc = cmd_param_int(params, "limit", (long long)k->min, (long long)k->max, &n, err, errlen);
	if (rc == 0)
		snprintf(err, errlen, "\"limit\" is required");
	return rc == 1 ? 0 : -1;
}

/* As the file would set max_concurrent, but over the socket: it wins over a reload. */
static enum cmd_ret
concurrency_exec(struct cmd_req *req, struct server *srv, const json_t *params)
{
	const struct config_key *k = config_find("max_concurrent");
	char err[256], value[24];
	long long n = 0;

	cmd_param_int(params, "limit", (long long)k->min, (long long)k->max, &n, err, sizeof(err));
	snprintf(value, sizeof(value), "%lld", n);
	if (reload_set(srv, "max_concurrent", value, err, sizeof(err)) != 0)
		return cmd_error(req, RPC_INVALID_PARAMS, "%s", err);
	cmd_reply(req, json_pack("{s:i}", "limit", (int)n));
	return CMD_DONE;
}

const struct cmd_entry cmd_set_concurrency = {
	SIM_M_SET_CONCURRENCY,
	0,
	concurrency_check,
	concurrency_exec,
	"change the limit on concurrent sessions (effective for the next session that starts)",
};
