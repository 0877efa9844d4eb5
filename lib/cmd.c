/* cmd.c - the table of control methods, the dispatcher and the one reply path. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "sim/ckptsched.h"
#include "sim/cluster.h"
#include "sim/cmd.h"
#include "sim/engine.h"
#include "sim/proto.h"
#include "sim/rpc.h"
#include "sim/server.h"
#include "sim/snapshot.h"

const struct cmd_entry *const cmd_table[] = {
	&cmd_ping,
	&cmd_version,
	&cmd_status,
	&cmd_shutdown,
	&cmd_start,
	&cmd_stop,
	&cmd_pause,
	&cmd_resume,
	&cmd_set_concurrency,
	&cmd_stats,
	&cmd_checkpoint,
	&cmd_checkpoints,
	&cmd_cancel,
	&cmd_subscribe,
	&cmd_unsubscribe,
	&cmd_purge,
	&cmd_report,
	&cmd_preflight,
	NULL,
};

const struct cmd_entry *
cmd_find(const char *name)
{
	for (size_t i = 0; cmd_table[i] != NULL; i++)
		if (strcmp(cmd_table[i]->name, name) == 0)
			return cmd_table[i];
	return NULL;
}

void
cmd_reply(struct cmd_req *req, json_t *result)
{
	json_t *id = req->id ? json_incref(req->id) : NULL;

	control_answer(req, rpc_result(id, result));
}

enum cmd_ret
cmd_error(struct cmd_req *req, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_t *id = req->id ? json_incref(req->id) : NULL;

	size_t n = strlen(req->method);

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* the message may name the method already (the client needs it): not twice */
	if (strncmp(msg, req->method, n) == 0 && msg[n] == ':')
		log_info("control: %s", msg);
	else
		log_info("control: %s: %s", req->method, msg);
	control_answer(req, rpc_error(id, code, msg, NULL));
	return CMD_ERROR;
}

void
cmd_dispatch(void *ctx, struct cmd_req *req, struct rpc_request *rr)
{
	struct server *srv = ctx;
	const struct cmd_entry *e = cmd_find(rr->method);
	char err[256];
	const json_t *params = rr->params;

	if (e == NULL) {
		cmd_error(req, RPC_METHOD_NOT_FOUND,
		    "unknown method \"%.64s\" (simctl help lists the commands)", rr->method);
		return;
	}
	if (params != NULL && json_is_array(params)) {
		if (json_array_size(params) != 0) {
			cmd_error(req, RPC_INVALID_PARAMS,
			    "%s: params must be an object of named parameters", e->name);
			return;
		}
		params = NULL;
	}
	/* access is checked here, once, from the table's flag */
	if (req->readonly && !(e->flags & CMD_READONLY)) {
		cmd_error(req, SIM_ERR_DENIED,
		    "%s: permission denied: this socket_readonly_group "
		    "member may call read-only methods only",
		    e->name);
		return;
	}
	if (server_stopping(srv) && !(e->flags & CMD_READONLY)) {
		cmd_error(req, SIM_ERR_SHUTDOWN, "%s: the daemon is shutting down", e->name);
		return;
	}
	err[0] = '\0';
	if (e->check(params, err, sizeof(err)) != 0) {
		cmd_error(req, RPC_INVALID_PARAMS, "%s: %s", e->name, err);
		return;
	}
	log_debug("control: %s", e->name);
	(void)e->exec(req, srv, params);
}

int
cmd_check_none(const json_t *params, char *err, size_t errlen)
{
	if (params != NULL && json_object_size(params) != 0) {
		snprintf(err, errlen, "takes no parameters");
		return -1;
	}
	return 0;
}

int
cmd_check_keys(const json_t *params, const char *const *allowed, char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	if (params == NULL)
		return 0;
	json_object_foreach ((json_t *)params, key, v) {
		size_t i;
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(allowed[i], key) == 0)
				break;
		if (allowed[i] == NULL) {
			snprintf(err, errlen, "unknown parameter \"%.64s\"", key);
			return -1;
		}
	}
	return 0;
}

int
cmd_param_int(const json_t *params, const char *key, long long min, long long max, long long *out,
    char *err, size_t errlen)
{
	const json_t *v = params ? json_object_get(params, key) : NULL;
	double d = v != NULL && json_is_real(v) ? json_real_value(v) : 0.5;

	if (v == NULL)
		return 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
	} else if (json_is_real(v) && d == floor(d) && fabs(d) < 9e15) {
		*out = (long long)d;
	} else {
		snprintf(err, errlen, "\"%s\" must be an integer", key);
		return -1;
	}
	if (*out < min || *out > max) {
		snprintf(err, errlen, "\"%s\" must be from %lld to %lld (got %lld)", key, min, max,
		    *out);
		return -1;
	}
	return 1;
}

int
cmd_param_double(const json_t *params, const char *key, double min, double max, double *out,
    char *err, size_t errlen)
{
	const json_t *v = params ? json_object_get(params, key) : NULL;

	if (v == NULL)
		return 0;
	if (!json_is_number(v)) {
		snprintf(err, errlen, "\"%s\" must be a number", key);
		return -1;
	}
	*out = json_number_value(v);
	if (!(*out >= min && *out <= max)) {
		snprintf(err, errlen, "\"%s\" must be from %g to %g", key, min, max);
		return -1;
	}
	return 1;
}

int
cmd_param_bool(const json_t *params, const char *key, int *out, char *err, size_t errlen)
{
	const json_t *v = params ? json_object_get(params, key) : NULL;

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v)) {
		snprintf(err, errlen, "\"%s\" must be true or false", key);
		return -1;
	}
	*out = json_is_true(v);
	return 1;
}

struct run_waiter {
	struct cmd_req *req;
	struct server *srv;
	int fail_is_error;
};

/* The run has ended and its end checkpoint is written: the answer shows both. */
static void
run_recorded(void *arg)
{
	struct run_waiter *w = arg;
	struct cmd_req *req = w->req;
	struct server *srv = w->srv;
	struct engine *e = srv->engine;
	int fail_is_error = w->fail_is_error;

	free(w);
	if (fail_is_error && engine_state(e) == ENGINE_FAILED) {
		const char *why = engine_fail_reason(e);
		cmd_error(req, SIM_ERR_FAILED, "the run failed: %s", *why ? why : "see the log");
		return;
	}
	cmd_reply_status(req, srv);
}

static void
run_ended(struct engine *e, void *arg)
{
	struct run_waiter *w = arg;

	/* the engine's run_end hook has queued the end checkpoint by now */
	if (ckptsched_after(w->srv->sched, run_recorded, w) != 0)
		run_recorded(w);
}

enum cmd_ret
cmd_reply_status(struct cmd_req *req, struct server *srv)
{
	struct snapshot *s = malloc(sizeof(*s));
	json_t *o = NULL;

	if (s != NULL) {
		server_snapshot(srv, s);
		o = snapshot_status_json(s);
		free(s);
	}
	if (o != NULL && srv->cluster != NULL) /* what its last refresh read: no query here */
		json_object_set_new(o, "cluster", cluster_status_json(srv->cluster));
	if (o == NULL)
		return cmd_error(req, RPC_INTERNAL_ERROR, "out of memory");
	cmd_reply(req, o);
	return CMD_DONE;
}

/* ---- the cluster's run (cluster = on): control goes to every member ---- */

struct cluster_control {
	struct cmd_req *req;
	char state[16];
	uint32_t concurrency;
};

static void
cluster_controlled(int ok, const char *why, void *arg)
{
	struct cluster_control *q = arg;

	if (!ok)
		cmd_error(q->req, SIM_ERR_FAILED, "the cluster's run: %s", why);
	else if (q->concurrency > 0)
		cmd_reply(q->req,
		    json_pack("{s:i, s:i, s:b, s:b}", "limit", (int)q->concurrency, "base",
			(int)q->concurrency, "adaptive", 0, "cluster", 1));
	else
		cmd_reply(q->req, json_pack("{s:s, s:b}", "state", q->state, "cluster", 1));
	free(q);
}

int
cmd_cluster_run(const struct server *srv)
{
	return srv->cluster != NULL && cluster_has_run(srv->cluster);
}

enum cmd_ret
cmd_cluster_control(
    struct cmd_req *req, struct server *srv, const char *state, uint32_t concurrency)
{
	struct cluster_control *q = calloc(1, sizeof(*q));
	char err[256];

	if (q == NULL)
		return cmd_error(req, RPC_INTERNAL_ERROR, "out of memory");
	q->req = req;
	q->concurrency = concurrency;
	snprintf(q->state, sizeof(q->state), "%s", state != NULL ? state : "");
	if (cluster_run_control(
		srv->cluster, state, concurrency, cluster_controlled, q, err, sizeof(err)) != 0) {
		free(q);
		return cmd_error(req, SIM_ERR_STATE, "%s", err);
	}
	return CMD_WAIT;
}

int
cmd_reply_at_run_end(struct cmd_req *req, struct server *srv, int fail_is_error)
{
	struct run_waiter *w = malloc(sizeof(*w));

	if (w == NULL)
		return -1;
	w->req = req;
	w->srv = srv;
	w->fail_is_error = fail_is_error;
	if (engine_wait(srv->engine, run_ended, w) != 0) {
		free(w);
		return -1;
	}
	return 0;
}
