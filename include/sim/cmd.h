/*
 * cmd.h - control methods: one file per method (lib/cmd_NAME.c), each
 * exporting a descriptor; cmd.c holds the table, the dispatcher and the
 * single reply path.
 */
#ifndef SIM_CMD_H
#define SIM_CMD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sim/control.h"
#include "sim/log.h"

struct server;

enum cmd_ret {
	CMD_DONE,  /* answered with cmd_reply() */
	CMD_ERROR, /* answered with cmd_error() */
	CMD_WAIT,  /* kept; answered later (stop --wait, start --wait) */
};

/* changes nothing: allowed while shutting down and to members of socket_readonly_group */
#define CMD_READONLY 0x1
#define CMD_NOVERB 0x2 /* part of the protocol, not a simctl verb (simd(8) has it) */

struct cmd_entry {
	const char *name;
	int flags;
	/* Validates params (NULL when absent); 0, or -1 with a message in err. */
	int (*check)(const json_t *params, char *err, size_t errlen);
	enum cmd_ret (*exec)(struct cmd_req *req, struct server *srv, const json_t *params);
	const char *help;
};

const struct cmd_entry *cmd_find(const char *name);
/* Every method, NULL-terminated. */
extern const struct cmd_entry *const cmd_table[];

/* control_dispatch_fn for control_new(); ctx is the struct server. */
void cmd_dispatch(void *ctx, struct cmd_req *req, struct rpc_request *rr);

/* The one reply path.  Both free req. */
void cmd_reply(struct cmd_req *req, json_t *result); /* steals result */
enum cmd_ret cmd_error(struct cmd_req *req, int code, const char *fmt, ...) LOG_PRINTF(3, 4);

/*
 * Answers req with the full status once the current run ends (an error if
 * it failed and fail_is_error); 0 when the wait is registered.
 */
int cmd_reply_at_run_end(struct cmd_req *req, struct server *srv, int fail_is_error);

/* Parameter checks shared by the methods. */
int cmd_check_none(const json_t *params, char *err, size_t errlen);
/* Rejects keys of params not in the NULL-terminated list. */
int cmd_check_keys(const json_t *params, const char *const *allowed, char *err, size_t errlen);
/* Reads an optional integer param within [min, max]; 0 absent, 1 present, -1 bad. */
int cmd_param_int(const json_t *params, const char *key, long long min, long long max,
    long long *out, char *err, size_t errlen);
int cmd_param_double(const json_t *params, const char *key, double min, double max, double *out,
    char *err, size_t errlen);
int cmd_param_bool(const json_t *params, const char *key, int *out, char *err, size_t errlen);

extern const struct cmd_entry cmd_ping, cmd_version, cmd_status, cmd_shutdown, cmd_start, cmd_stop,
    cmd_pause, cmd_resume, cmd_set_concurrency, cmd_stats, cmd_checkpoint, cmd_checkpoints,
    cmd_cancel;
extern const struct cmd_entry cmd_subscribe, cmd_unsubscribe;
extern const struct cmd_entry cmd_purge, cmd_report, cmd_preflight;

/* Ends the purge under way, if any, answering its client (server_fini). */
void cmd_purge_abort(struct server *srv);
/* Answers the preflight under way, if any, and leaves its thread to finish alone. */
void cmd_preflight_abort(struct server *srv);

/*
 * cluster = on: whether a control method sent here is the cluster run's
 * (cluster_has_run), and the change recorded for every member -- state
 * "paused", "running" or "stopped" or NULL, concurrency or 0 -- answered once
 * it is (CMD_WAIT), or the error.
 */
int cmd_cluster_run(const struct server *srv);
enum cmd_ret cmd_cluster_control(
    struct cmd_req *req, struct server *srv, const char *state, uint32_t concurrency);

/* Answers req with the full status, as `status' does. */
enum cmd_ret cmd_reply_status(struct cmd_req *req, struct server *srv);

#endif
