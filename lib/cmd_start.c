/* cmd_start.c - "start": begin a run (or continue one from a checkpoint). */
#include <stdlib.h>
#include <string.h>

#include "sim/checkpoint.h"
#include "sim/cmd.h"
#include "sim/config.h"
#include "sim/engine.h"
#include "sim/proto.h"
#include "sim/server.h"

static const char *const keys[] = { "agents", "cycles", "hours", "time_scale", "max_concurrent",
	"seed", "agents_list", "all_shop", "wait", "resume", "checkpoint", NULL };

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* "agent_007" -> 6; -1 if it is not an agent id. */
static long long
parse_agent_id(const char *s)
{
	char *end;
	long long n;

	if (strncmp(s, "agent_", 6) != 0 || s[6] < '0' || s[6] > '9')
		return -1;
	n = strtoll(s + 6, &end, 10);
	if (*end != '\0' || n < 1 || n > 10000000)
		return -1;
	return n - 1;
}

static int
parse_list(const json_t *list, uint32_t agents, uint32_t **out, uint32_t *nout, char *err,
    size_t errlen)
{
	size_t n = json_array_size(list), i, k = 0;
	uint32_t *ids;

	if (!json_is_array(list) || n == 0) {
		snprintf(err, errlen, "\"agents_list\" must be a non-empty array of agent ids");
		return -1;
	}
	if ((ids = calloc(n, sizeof(*ids))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		const json_t *v = json_array_get(list, i);
		long long a = json_is_string(v) ? parse_agent_id(json_string_value(v)) : -1;

		if (a < 0) {
			snprintf(err, errlen, "\"agents_list\": %s%.40s%s is not an agent id like "
			    "agent_007", json_is_string(v) ? "\"" : "", json_is_string(v) ?
			    json_string_value(v) : "an item", json_is_string(v) ? "\"" : "");
			free(ids);
			return -1;
		}
		if ((uint64_t)a >= agents) {
			snprintf(err, errlen, "\"agents_list\": %s is outside the population of %u "
			    "agents (use --agents)", json_string_value(v), agents);
			free(ids);
			return -1;
		}
		ids[i] = (uint32_t)a;
	}
	qsort(ids, n, sizeof(*ids), cmp_u32);
	for (i = 0; i < n; i++)   /* drop duplicates */
		if (k == 0 || ids[k - 1] != ids[i])
			ids[k++] = ids[i];
	*out = ids;
	*nout = (uint32_t)k;
	return 0;
}

static int
read_params(const json_t *pa, const struct sim_config *cfg, struct run_params *p, char *err,
    size_t errlen)
{
	long long v;
	double d;
	int b;
	const json_t *list;

	memset(p, 0, sizeof(*p));
	p->seed = (uint64_t)cfg->seed;
	p->agents = (uint32_t)cfg->agents;
	p->cycles = (uint32_t)cfg->cycles;
	p->hours = cfg->hours;
	p->tick = (uint32_t)cfg->tick;
	p->time_scale = cfg->time_scale;
	p->sim_start = cfg->sim_start;
	p->max_concurrent = (uint32_t)cfg->max_concurrent;
	p->max_retries = (uint32_t)cfg->max_retries;
	p->retry_backoff_ms = (uint32_t)cfg->retry_backoff_ms;
	p->retry_window = cfg->retry_window;
	p->catalog_products = (uint32_t)cfg->catalog_products;
	p->catalog_stores = (uint32_t)cfg->catalog_stores;
	p->catalog_coupons = (uint32_t)cfg->catalog_coupons;
	if ((b = cmd_param_int(pa, "agents", 1, 10000000, &v, err, errlen)) < 0)
		return -1;
	if (b)
		p->agents = (uint32_t)v;
	if ((b = cmd_param_int(pa, "cycles", 0, 1000000000, &v, err, errlen)) < 0)
		return -1;
	if (b)
		p->cycles = (uint32_t)v;
	if ((b = cmd_param_double(pa, "hours", 0, 1000000, &d, err, errlen)) < 0)
		return -1;
	if (b)
		p->hours = d;
	if ((b = cmd_param_double(pa, "time_scale", 0, 1000000, &d, err, errlen)) < 0)
		return -1;
	if (b && d != 0 && d < 0.001) {
		snprintf(err, errlen, "\"time_scale\" must be 0 (as fast as possible) or from 0.001 "
		    "to 1e+06 (got %g: one cycle every %.3g years)", d,
		    p->tick * 60.0 / d / (365.25 * 86400));
		return -1;
	}
	if (b)
		p->time_scale = d;
	if ((b = cmd_param_int(pa, "max_concurrent", 1, ENGINE_MAX_CONCURRENT, &v, err,
	    errlen)) < 0)
		return -1;
	if (b)
		p->max_concurrent = (uint32_t)v;
	if ((b = cmd_param_int(pa, "seed", 0, 9007199254740991LL, &v, err, errlen)) < 0)
		return -1;
	if (b)
		p->seed = (uint64_t)v;
	if (cmd_param_bool(pa, "all_shop", &p->all_shop, err, errlen) < 0)
		return -1;
	list = pa ? json_object_get(pa, "agents_list") : NULL;
	if (list != NULL && parse_list(list, p->agents, &p->only, &p->nonly, err, errlen) != 0)
		return -1;
	return 0;
}

/* Checks what needs no configuration; the population bound needs the running one. */
static int
check_list(const json_t *params, char *err, size_t errlen)
{
	const json_t *list = params ? json_object_get(params, "agents_list") : NULL;
	uint32_t *ids = NULL, n = 0;

	if (list == NULL)
		return 0;
	if (parse_list(list, UINT32_MAX, &ids, &n, err, errlen) != 0)
		return -1;
	free(ids);
	return 0;
}

static int
start_check(const json_t *params, char *err, size_t errlen)
{
	struct run_params p;
	struct sim_config *cfg = config_new();
	json_t *rest;
	int rc, flag, resume = 0, ck;
	long long id;

	if (cfg == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = cmd_check_keys(params, keys, err, errlen);
	/* agents_list is checked against the population at exec, with the running config */
	rest = params != NULL ? json_deep_copy(params) : NULL;
	if (rest != NULL)
		json_object_del(rest, "agents_list");
	if (rc == 0 && params != NULL && rest == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	}
	if (rc == 0)
		rc = read_params(rest, cfg, &p, err, errlen);
	json_decref(rest);
	if (rc == 0)
		rc = check_list(params, err, errlen);
	if (rc == 0 && (cmd_param_bool(params, "wait", &flag, err, errlen) < 0 ||
	    cmd_param_bool(params, "resume", &resume, err, errlen) < 0 ||
	    (ck = cmd_param_int(params, "checkpoint", 1, INT64_MAX, &id, err, errlen)) < 0))
		rc = -1;
	if (rc == 0 && ck == 1 && !resume) {
		snprintf(err, errlen, "\"checkpoint\" chooses where to resume from: it needs "
		    "\"resume\" (simctl start --resume --checkpoint ID)");
		rc = -1;
	}
	config_free(cfg);
	return rc;
}

static enum cmd_ret
start_exec(struct cmd_req *req, struct server *srv, const json_t *params)
{
	struct run_params p;
	char err[512];
	int wait = 0, resume = 0;

	cmd_param_bool(params, "wait", &wait, err, sizeof(err));
	cmd_param_bool(params, "resume", &resume, err, sizeof(err));
	if (engine_active(srv->engine))
		return cmd_error(req, SIM_ERR_STATE, "a run is already %s; stop it first",
		    engine_state_name(engine_state(srv->engine)));
	if (resume) {
		long long id = 0;
		cmd_param_int(params, "checkpoint", 1, INT64_MAX, &id, err, sizeof(err));
		if (server_resume(srv, id, err, sizeof(err)) != 0)
			return cmd_error(req, SIM_ERR_NOT_FOUND, "%s", err);
	} else {
		if (read_params(params, srv->cfg, &p, err, sizeof(err)) != 0)
			return cmd_error(req, RPC_INVALID_PARAMS, "%s", err);
		if (engine_start(srv->engine, &p, err, sizeof(err)) != 0) {
			free(p.only);
			return cmd_error(req, SIM_ERR_FAILED, "%s", err);
		}
	}
	if (wait && cmd_reply_at_run_end(req, srv, 1) == 0)
		return CMD_WAIT;
	cmd_reply(req, cmd_status_json(srv));
	return CMD_DONE;
}

const struct cmd_entry cmd_start = {
	"start", 0, start_check, start_exec,
	"start a run: agents, cycles, hours, time_scale, max_concurrent, seed, agents_list, "
	"all_shop, wait; resume (checkpoint)",
};
