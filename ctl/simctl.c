/* simctl.c - the control client: verbs from a table, one JSON-RPC call each. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "sim/client.h"
#include "sim/config.h"
#include "sim/metrics.h"
#include "sim/params.h"
#include "sim/preflight.h"
#include "sim/proto.h"
#include "sim/term.h"
#include "sim/thresholds.h"
#include "sim/top.h"
#include "sim/version.h"

#include "simctl.h"

#define EXIT_DAEMON_ERROR 1
#define EXIT_USAGE 2
#define EXIT_UNREACHABLE 3
#define DEFAULT_TIMEOUT_S 30
#define DEFAULT_TIMEOUT ((double)DEFAULT_TIMEOUT_S)

static void print_status(const json_t *r);
static void print_stats(const json_t *r);
static void print_start(const json_t *r);
static void print_checkpoints(const json_t *r);
static void print_plain(const json_t *r);
static void print_purge(const json_t *r);
static void print_report(const json_t *r);
static void print_preflight(const json_t *r);

/* start's own flags; the run's parameters come from params.h's table. */
static const struct vflag start_flags[] = {
	{ "wait", "wait", F_BOOL, NULL, "block until the run ends; exit 1 if it failed", NULL,
	    NULL },
	{ "resume", "resume", F_BOOL, NULL, "continue the newest checkpointed run", NULL, NULL },
	{ "checkpoint", "checkpoint", F_INT, "ID", "with --resume: continue from this checkpoint",
	    "a checkpoint id (simctl checkpoints lists them)", "resume" },
	{ "shards", "shards", F_INT, "K",
	    "cluster = on: record the run in K shards that the cluster's members claim",
	    "a whole number of shards", NULL },
	{ NULL, NULL, F_INT, NULL, NULL, NULL, NULL },
};

static const struct vflag stop_flags[] = {
	{ "wait", "wait", F_BOOL, NULL, "block until in-flight sessions have finished", NULL,
	    NULL },
	{ NULL, NULL, F_INT, NULL, NULL, NULL, NULL },
};

static const struct vflag no_flags[] = { { NULL, NULL, F_INT, NULL, NULL, NULL, NULL } };

static const struct vflag stats_flags[] = {
	{ "realism", "realism", F_BOOL, NULL,
	    "also the realism report: each figure beside its reference band, flagged when outside",
	    NULL, NULL },
	{ NULL, NULL, F_INT, NULL, NULL, NULL, NULL },
};

static const struct vflag status_flags[] = {
	{ "watch", "watch", F_OPTNUM, "SECS",
	    "a line every SECS seconds (SECS optional, default 1) until ^C",
	    "a number of seconds, at least 0.1", NULL },
	{ NULL, NULL, F_INT, NULL, NULL, NULL, NULL },
};

static const struct vflag top_flags[] = {
	{ "once", "once", F_BOOL, NULL, "print one plain frame and exit", NULL, NULL },
	{ "interval", "interval", F_NUM, "SECS", "seconds between frames (default 1, at least 0.1)",
	    "a number of seconds, at least 0.1", NULL },
	{ "thresholds", "thresholds", F_STR, "SPEC",
	    "NAME=WARN:CRIT pairs over simd.conf's watch_thresholds", "NAME=WARN:CRIT pairs",
	    NULL },
	{ NULL, NULL, F_INT, NULL, NULL, NULL, NULL },
};

static const struct vflag concurrency_flags[] = {
	{ "adaptive", "adaptive", F_ONOFF, "on|off",
	    "adapt the limit from N as its base (on), or hold it at N (off)", "on or off", NULL },
	{ NULL, NULL, F_INT, NULL, NULL, NULL, NULL },
};

static const struct vflag purge_flags[] = {
	{ "seed", "seed", F_INT, "N", "the rows of seed N (keys s<N>:)", "a seed (an integer)",
	    NULL },
	{ "run", "run", F_STR, "ID", "the rows of run ID (its seed's)", "a run id", NULL },
	{ "dry-run", "dry_run", F_BOOL, NULL, "count the rows, delete nothing", NULL, NULL },
	{ "checkpoints", "checkpoints", F_BOOL, NULL, "remove the run's checkpoints too", NULL,
	    NULL },
	{ "batch", "batch", F_INT, "N", "rows per batch, one transaction each (default 1000)",
	    "an integer from 1 to 100000", NULL },
	{ "pause", "pause", F_NUM, "SECS", "seconds between batches (default 0)",
	    "a number of seconds from 0 to 60", NULL },
	{ NULL, NULL, F_INT, NULL, NULL, NULL, NULL },
};

static int run_top(const char *path, json_t *params);

const struct verb verbs[] = {
	{ "status", SIM_M_STATUS, NULL, NULL, NULL, 0, status_flags, print_status,
	    "show the simulation's state" },
	{ "top", SIM_M_SUBSCRIBE, NULL, NULL, NULL, 0, top_flags, NULL,
	    "watch the run full-screen (q quits, p pauses, +/- concurrency)" },
	{ "start", SIM_M_START, NULL, NULL, NULL, 1, start_flags, print_start,
	    "start a simulation run" },
	{ "stop", SIM_M_STOP, NULL, NULL, NULL, 0, stop_flags, print_status,
	    "stop the run (in-flight finish)" },
	{ "pause", SIM_M_PAUSE, NULL, NULL, NULL, 0, no_flags, print_plain,
	    "start no new sessions" },
	{ "resume", SIM_M_RESUME, NULL, NULL, NULL, 0, no_flags, print_plain,
	    "continue a paused run" },
	{ "set-concurrency", SIM_M_SET_CONCURRENCY, "limit", "N", "max_concurrent", 0,
	    concurrency_flags, print_plain,
	    "limit the sessions in flight to N (adaptive: adapt from N)" },
	{ "stats", SIM_M_STATS, NULL, NULL, NULL, 0, stats_flags, print_stats,
	    "latencies, throughput and errors of the run" },
	{ "checkpoint", SIM_M_CHECKPOINT, NULL, NULL, NULL, 0, no_flags, print_plain,
	    "write a checkpoint now" },
	{ "checkpoints", SIM_M_CHECKPOINTS, NULL, NULL, NULL, 0, no_flags, print_checkpoints,
	    "list the checkpoints kept" },
	{ "ping", SIM_M_PING, NULL, NULL, NULL, 0, no_flags, print_plain,
	    "check that simd answers" },
	{ "version", SIM_M_VERSION, NULL, NULL, NULL, 0, no_flags, print_plain,
	    "simd and protocol versions" },
	{ "shutdown", SIM_M_SHUTDOWN, NULL, NULL, NULL, 0, no_flags, print_plain,
	    "stop the daemon" },
	{ "report", SIM_M_REPORT, "run", "[RUN]", NULL, 0, no_flags, print_report,
	    "the after-run report of the last run or of RUN, in markdown (--json)" },
	{ "purge", SIM_M_PURGE, NULL, NULL, NULL, 0, purge_flags, print_purge,
	    "delete a run's rows (--seed N or --run ID) in small batches" },
	{ "preflight", SIM_M_PREFLIGHT, NULL, NULL, NULL, 0, no_flags, print_preflight,
	    "the checks before a run, one line each; exit 0 ok, 1 warnings, 2 failures" },
	{ NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL },
};

/* Verbs whose exit status says what their answer found (0 otherwise). */
static const struct {
	const char *verb;
	int (*status)(const json_t *result);
} statuses[] = {
	{ "preflight", preflight_exit_status },
};

/* Verbs that are a loop of their own, not one call: each returns simctl's exit status. */
static const struct {
	const char *verb;
	int (*run)(const char *path, json_t *params);
} loops[] = {
	{ "top", run_top },
};

/* A run parameter as a flag: the table of params.h says what it is. */
static struct vflag
param_flag(const struct param_def *d)
{
	struct vflag f = { d->flag, d->name, F_INT, d->meta, d->help, d->wants, NULL };

	if (d->type == PARAM_DOUBLE)
		f.type = F_NUM;
	else if (d->type == PARAM_BOOL)
		f.type = F_BOOL;
	else if (d->type == PARAM_AGENTS)
		f.type = F_LIST;
	else if (d->type == PARAM_SHARD || d->type == PARAM_CHOICE)
		f.type = F_STR;
	return f;
}

/* Flag i of v: the run's parameters first (when it takes them), then its own. */
int
verb_flag(const struct verb *v, size_t i, struct vflag *out)
{
	if (v->run_params) {
		for (size_t k = 0; k < param_ndefs; k++) {
			if (!(param_defs[k].flags & PARAM_START) || i-- != 0)
				continue;
			*out = param_flag(&param_defs[k]);
			return 1;
		}
	}
	if (v->flags[i].name == NULL)
		return 0;
	*out = v->flags[i];
	return 1;
}

#define STR_(x) #x
#define STR(x) STR_(x)

/* The options before the command; their parsing is in main(). */
const struct gopt gopts[] = {
	{ "-s", "--socket", "PATH", "the daemon's control socket (default: as simd finds it)" },
	{ NULL, "--json", NULL, "print the daemon's JSON result as it is" },
	{ "-t", "--timeout", "SECS",
	    "give up waiting for an answer after SECS (default " STR(
		DEFAULT_TIMEOUT_S) "; none with --wait)" },
	{ "-V", "--version", NULL, "print simctl's version and build" },
	{ "-h", "--help", NULL, "this list" },
	{ NULL, NULL, NULL, NULL },
};

/* Commands that simctl answers itself, without the daemon. */
const struct verb local_verbs[] = {
	{ "help", NULL, NULL, NULL, NULL, 0, no_flags, NULL,
	    "this list; simctl COMMAND -h for its flags" },
	{ "completion", NULL, NULL, "bash|zsh", NULL, 0, no_flags, NULL,
	    "print a shell completion script made from these tables" },
	{ NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL },
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: simctl [-s SOCKET] [--json] [-t SECONDS] COMMAND [ARGS]\n");
	for (const struct gopt *g = gopts; g->lo; g++) {
		char left[40];
		snprintf(left, sizeof(left), "%s%s%s%s%s", g->sh ? g->sh : "",
		    g->sh ? ", " : "    ", g->lo, g->arg ? " " : "", g->arg ? g->arg : "");
		fprintf(f, "  %-19s %s\n", left, g->help);
	}
	fprintf(f, "\ncommands:\n");
	for (const struct verb *v = verbs; v->name; v++) {
		char left[40];
		snprintf(left, sizeof(left), "%s%s%s", v->name, v->pos_arg ? " " : "",
		    v->pos_arg ? v->pos_arg : "");
		fprintf(f, "  %-18s %s\n", left, v->help);
	}
	for (const struct verb *v = local_verbs; v->name; v++) {
		char left[40];
		snprintf(left, sizeof(left), "%s%s%s", v->name, v->pos_arg ? " " : "",
		    v->pos_arg ? v->pos_arg : "");
		fprintf(f, "  %-18s %s\n", left, v->help);
	}
}

static void
verb_usage(FILE *f, const struct verb *v)
{
	struct vflag fl;

	fprintf(f, "usage: simctl %s%s%s%s\n  %s\n", v->name, v->pos_arg ? " " : "",
	    v->pos_arg ? v->pos_arg : "", verb_flag(v, 0, &fl) ? " [flags]" : "", v->help);
	for (size_t i = 0; verb_flag(v, i, &fl); i++) {
		char left[48];
		snprintf(left, sizeof(left), "--%s%s%s", fl.name, fl.arg ? " " : "",
		    fl.arg ? fl.arg : "");
		fprintf(f, "    %-24s %s\n", left, fl.help);
	}
}

static int
parse_value(const struct vflag *fl, const char *s, json_t *params)
{
	char *end;

	errno = 0;
	switch (fl->type) {
	case F_INT: {
		long long v = strtoll(s, &end, 10);
		if (*s == '\0' || *end || errno)
			return -1;
		return json_object_set_new(params, fl->key, json_integer(v));
	}
	case F_NUM: {
		double v = strtod(s, &end);
		if (*s == '\0' || *end || errno || !isfinite(v))
			return -1;
		return json_object_set_new(params, fl->key, json_real(v));
	}
	case F_LIST: {
		json_t *a = json_array();
		char *copy = strdup(s), *tok, *save = NULL;
		if (a == NULL || copy == NULL) {
			json_decref(a);
			free(copy);
			return -1;
		}
		for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			json_array_append_new(a, json_string(tok));
		free(copy);
		return json_object_set_new(params, fl->key, a);
	}
	case F_BOOL: return json_object_set_new(params, fl->key, json_true());
	case F_OPTNUM: {
		double v = *s ? strtod(s, &end) : 1;
		if ((*s && (*end || errno)) || !(v >= 0.1 && v <= 86400))
			return -1;
		return json_object_set_new(params, fl->key, json_real(v));
	}
	case F_STR: return json_object_set_new(params, fl->key, json_string(s));
	case F_ONOFF:
		if (strcmp(s, "on") == 0 || strcmp(s, "yes") == 0)
			return json_object_set_new(params, fl->key, json_true());
		if (strcmp(s, "off") == 0 || strcmp(s, "no") == 0)
			return json_object_set_new(params, fl->key, json_false());
		return -1;
	}

	return -1;
}

static int
find_flag(const struct verb *v, const char *name, size_t len, struct vflag *out)
{
	for (size_t i = 0; verb_flag(v, i, out); i++)
		if (strlen(out->name) == len && strncmp(out->name, name, len) == 0)
			return 1;
	return 0;
}

/*
 * The one positional argument, a whole number within its config key's bounds;
 * without bounds, optional text (report's run id).
 */
static int
parse_pos(const struct verb *v, const char *a, json_t *params)
{
	const struct config_key *k;
	long long n, min, max;
	char *end;

	if (v->pos_bounds == NULL)
		return json_object_set_new(params, v->pos_key, json_string(a));
	k = config_find(v->pos_bounds);
	min = (long long)k->min;
	max = (long long)k->max;

	errno = 0;
	n = strtoll(a, &end, 10);
	if (*a == '\0' || *end || errno || n < min || n > max) {
		fprintf(stderr,
		    "simctl %s: %s must be a whole number from %lld to %lld (got \"%s\")\n",
		    v->name, v->pos_arg, min, max, a);
		return -1;
	}
	return json_object_set_new(params, v->pos_key, json_integer(n));
}

/* A flag and its value (--name V, --name=V; a switch takes none); -1 on a usage error. */
static int
parse_flag(const struct verb *v, int argc, char **argv, int *i, json_t *params)
{
	const char *a = argv[*i], *val, *eq = strchr(a + 2, '=');
	struct vflag fl;

	if (!find_flag(v, a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2), &fl)) {
		fprintf(stderr, "simctl %s: unknown flag: %s\n", v->name, a);
		return -1;
	}
	if (fl.type == F_OPTNUM && !eq) {
		/* the value is optional: the next word, when it is a number */
		char *end;
		val = "";
		if (*i + 1 < argc && (strtod(argv[*i + 1], &end), *end == '\0') && *argv[*i + 1])
			val = argv[++*i];
	} else if (fl.type == F_BOOL) {
		if (eq) {
			fprintf(stderr, "simctl %s: --%s takes no value\n", v->name, fl.name);
			return -1;
		}
		val = "";
	} else if (eq) {
		val = eq + 1;
	} else if (*i + 1 < argc) {
		val = argv[++*i];
	} else {
		fprintf(stderr, "simctl %s: --%s needs a value (%s)\n", v->name, fl.name, fl.arg);
		return -1;
	}
	if (parse_value(&fl, val, params) != 0) {
		fprintf(stderr, "simctl %s: --%s: bad value \"%s\": it wants %s\n", v->name,
		    fl.name, val, fl.wants);
		return -1;
	}
	return 0;
}

/* Flags that go with another (--checkpoint with --resume) are refused alone. */
static int
check_needs(const struct verb *v, const json_t *params)
{
	struct vflag fl;

	for (size_t i = 0; verb_flag(v, i, &fl); i++) {
		if (fl.needs != NULL && json_object_get(params, fl.key) != NULL &&
		    json_object_get(params, fl.needs) == NULL) {
			fprintf(stderr, "simctl %s: --%s says where to %s from: it needs --%s\n",
			    v->name, fl.name, fl.needs, fl.needs);
			return -1;
		}
	}
	return 0;
}

/* Builds params from the verb's arguments; exits 2 on a usage error. */
static json_t *
parse_args(const struct verb *v, int argc, char **argv)
{
	json_t *params = json_object();
	int have_pos = 0;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			verb_usage(stdout, v);
			exit(0);
		}
		if (strncmp(a, "--", 2) == 0) {
			if (parse_flag(v, argc, argv, &i, params) != 0)
				goto usage;
			continue;
		}
		if (v->pos_key == NULL || have_pos) {
			fprintf(stderr, "simctl %s: unexpected argument: %s\n", v->name, a);
			goto usage;
		}
		if (parse_pos(v, a, params) != 0)
			goto usage;
		have_pos = 1;
	}
	if (check_needs(v, params) != 0)
		goto usage;
	if (v->pos_key && v->pos_bounds && !have_pos) {
		fprintf(stderr, "simctl %s: missing %s\n", v->name, v->pos_arg);
		goto usage;
	}
	return params;
usage:
	verb_usage(stderr, v);
	json_decref(params);
	exit(EXIT_USAGE);
}

/* ---- talking to simd ---- */

static json_t *
call(const char *path, const char *method, json_t *params, double timeout)
{
	enum client_err kind;
	char err[1024];
	json_t *msg = client_call(path, method, params, timeout, &kind, err, sizeof(err));

	if (msg == NULL) {
		fprintf(stderr, "simctl: %s\n", err);
		exit(EXIT_UNREACHABLE);
	}
	return msg;
}

/* ---- printing ---- */

static void
print_json(const json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_DUMP_REALS);

	printf("%s\n", s ? s : "null");
	free(s);
}

static void
print_plain(const json_t *r)
{
	const char *k;
	json_t *v;

	if (json_is_string(r)) {
		printf("%s\n", json_string_value(r));
		return;
	}
	json_object_foreach ((json_t *)r, k, v) {
		char *s = json_is_string(v) ? NULL : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		printf("%s: %s\n", k, s ? s : json_string_value(v));
		free(s);
	}
}

static long long
geti(const json_t *o, const char *path)
{
	char buf[128], *tok, *save = NULL;
	const json_t *v = o;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && v; tok = strtok_r(NULL, ".", &save))
		v = json_object_get(v, tok);
	return v ? (long long)json_number_value(v) : 0;
}

static const char *
gets_(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "-";
}

/* " (adaptive from base 50: latency 41 ms vs 6 ms)", or " (fixed)" */
static void
print_adaptive(const json_t *c)
{
	const char *why = json_string_value(json_object_get(c, "reason"));

	if (!json_is_true(json_object_get(c, "adaptive"))) {
		printf(" (fixed)\n");
		return;
	}
	printf(
	    " (adaptive from base %lld%s%s)\n", geti(c, "base"), why ? ": " : "", why ? why : "");
}

/* The cluster a member sees (status's "cluster" object, cluster = on). */
static void
print_cluster(const json_t *c)
{
	const json_t *v, *h = json_object_get(c, "holding");
	size_t i;

	if (!json_is_object(c))
		return;
	printf("cluster:     member %s, %s, pool cap %lld", gets_(c, "member"),
	    json_is_true(json_object_get(c, "connected")) ? "connected" : "NOT connected",
	    geti(c, "pool_cap"));
	if (json_is_object(h))
		printf(", holding shard %lld (generation %lld)%s", geti(h, "shard"),
		    geti(h, "generation"), json_is_true(json_object_get(h, "lost")) ? " LOST" : "");
	printf("\n");
	if (json_object_get(c, "run_id") != NULL)
		printf("  run %s: %s, %lld shards, %lld sessions, %lld orders, %lld errors\n",
		    gets_(c, "run_id"), gets_(c, "state"), geti(c, "shards_total"),
		    geti(c, "counts.sessions"), geti(c, "counts.orders"), geti(c, "counts.errors"));
	json_array_foreach (json_object_get(c, "shards"), i, v)
		printf("  shard %lld: %s%s%s, generation %lld, cycle %lld\n", geti(v, "index"),
		    gets_(v, "state"), json_is_string(json_object_get(v, "holder")) ? " by " : "",
		    json_is_string(json_object_get(v, "holder")) ? gets_(v, "holder") : "",
		    geti(v, "generation"), geti(v, "cycle"));
	json_array_foreach (json_object_get(c, "members"), i, v)
		printf("  member %s: heartbeat %.1f s ago%s, pool cap %lld, lag %.3f s\n",
		    gets_(v, "name"), json_number_value(json_object_get(v, "heartbeat_age_s")),
		    json_is_true(json_object_get(v, "live")) ? "" : " (gone)", geti(v, "pool_cap"),
		    json_number_value(json_object_get(v, "lag_s")));
}

static void
print_status(const json_t *r)
{
	const json_t *eta = json_object_get(r, "eta_s");
	const json_t *ck = json_object_get(r, "last_checkpoint");
	const char *shard =
	    json_string_value(json_object_get(json_object_get(r, "params"), "shard"));

	if (shard == NULL)
		shard = "";
	printf("state:       %s%s%s\n", gets_(r, "state"), json_object_get(r, "error") ? ": " : "",
	    json_object_get(r, "error") ? gets_(r, "error") : "");
	printf("run:         %s (seed %lld, %lld agents%s%s)\n", gets_(r, "run_id"),
	    geti(r, "seed"), geti(r, "agents"), *shard ? ", shard " : "", shard);
	printf("cycle:       %lld%s", geti(r, "cycle"), geti(r, "cycles_total") ? " of " : "");
	if (geti(r, "cycles_total"))
		printf("%lld", geti(r, "cycles_total"));
	printf("   sim time %s\n", gets_(r, "sim_time"));
	printf("elapsed:     %.1f s", json_number_value(json_object_get(r, "elapsed_s")));
	if (json_is_number(eta))
		printf("   eta %.1f s", json_number_value(eta));
	if (json_number_value(json_object_get(r, "lag_s")) > 0)
		printf("   lag %.3f s", json_number_value(json_object_get(r, "lag_s")));
	printf("\nconcurrency: %lld in flight, limit %lld", geti(r, "concurrency.in_flight"),
	    geti(r, "concurrency.limit"));
	print_adaptive(json_object_get(r, "concurrency"));
	printf("counts:      %lld sessions, %lld orders, %lld events, %lld errors "
	       "(%lld agents processed, %lld shopped)\n",
	    geti(r, "counts.sessions"), geti(r, "counts.orders"), geti(r, "counts.events"),
	    geti(r, "counts.errors"), geti(r, "counts.agents_processed"),
	    geti(r, "counts.agents_shopped"));
	printf("store:       %s, %lld active, %lld idle, %lld waiting, max %lld\n",
	    gets_(json_object_get(r, "store"), "driver"), geti(r, "store.connections_active"),
	    geti(r, "store.connections_idle"), geti(r, "store.waiting"), geti(r, "store.max"));
	if (json_is_object(ck))
		printf("checkpoint:  %lld at %s (cycle %lld)\n", geti(ck, "id"), gets_(ck, "at"),
		    geti(ck, "cycle"));
	else
		printf("checkpoint:  none\n");
	ck = json_object_get(r, "checkpoint_error");
	if (json_is_object(ck))
		printf("checkpoint:  the newest FAILED at %s: %s\n", gets_(ck, "at"),
		    gets_(ck, "message"));
	print_cluster(json_object_get(r, "cluster"));
}

static void
print_summary(const json_t *s)
{
	printf("sessions %lld, orders %lld, abandoned carts %lld (%.1f %%), browse-only %lld, "
	       "revenue %.2f, avg basket %.1f items, %lld events, %lld errors, wall %.3f s\n",
	    geti(s, "sessions"), geti(s, "orders"), geti(s, "abandoned"),
	    100 * json_number_value(json_object_get(s, "abandonment_rate")), geti(s, "browsed"),
	    geti(s, "revenue_cents") / 100.0,
	    json_number_value(json_object_get(s, "avg_basket_items")), geti(s, "events"),
	    geti(s, "errors"), json_number_value(json_object_get(s, "wall_s")));
}

static void
print_arrivals(const json_t *a)
{
	if (geti(a, "paced") == 0)
		return;
	printf("arrivals: %lld paced, %.1f %% in the first tenth of their cycle, late p50 %.3f ms, "
	       "p99 %.3f ms, max %.3f ms\n",
	    geti(a, "paced"), json_number_value(json_object_get(a, "first_tenth_pct")),
	    json_number_value(json_object_get(json_object_get(a, "lateness"), "p50_ms")),
	    json_number_value(json_object_get(json_object_get(a, "lateness"), "p99_ms")),
	    json_number_value(json_object_get(json_object_get(a, "lateness"), "max_ms")));
}

/* A figure's value or band end as text: a day's name, a number, or "-". */
static void
realism_value(const json_t *v, char *buf, size_t len)
{
	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_number(v))
		snprintf(buf, len, "%.4g", json_number_value(v));
	else
		snprintf(buf, len, "-");
}

static void
print_realism(const json_t *r)
{
	const json_t *f, *band;
	char value[32], lo[16], hi[16], range[40];
	size_t i;

	if (!json_is_object(r))
		return;
	printf("realism: %lld sessions, %lld orders; %lld figures outside their band\n",
	    geti(r, "sessions"), geti(r, "orders"), geti(r, "outside"));
	printf("%-28s %10s %-6s %-14s %-8s %s\n", "figure", "value", "unit", "band", "status",
	    "reference");
	json_array_foreach (json_object_get(r, "figures"), i, f) {
		band = json_object_get(f, "band");
		realism_value(json_object_get(f, "value"), value, sizeof(value));
		realism_value(json_array_get(band, 0), lo, sizeof(lo));
		realism_value(json_array_get(band, 1), hi, sizeof(hi));
		if (!json_is_array(band))
			snprintf(range, sizeof(range), "-");
		else if (json_is_null(json_array_get(band, 1)))
			snprintf(range, sizeof(range), ">= %s", lo);
		else
			snprintf(range, sizeof(range), "%s-%s", lo, hi);
		printf("%-28s %10s %-6s %-14s %-8s %s\n", gets_(f, "name"), value, gets_(f, "unit"),
		    range, gets_(f, "status"), gets_(f, "reference"));
	}
}

static void
print_stats(const json_t *r)
{
	const char *k;
	json_t *v;

	printf("%.1f sessions/s, %.1f writes/s, %.1f events/s over %.1f s\n",
	    json_number_value(json_object_get(r, "sessions_per_s")),
	    json_number_value(json_object_get(r, "writes_per_s")),
	    json_number_value(json_object_get(r, "events_per_s")),
	    json_number_value(json_object_get(r, "elapsed_s")));
	printf(
	    "%-10s %8s %9s %9s %9s %9s\n", "step", "count", "avg ms", "p50 ms", "p95 ms", "p99 ms");
	json_object_foreach (json_object_get(r, "steps"), k, v)
		printf("%-10s %8lld %9.3f %9.3f %9.3f %9.3f\n", k, geti(v, "count"),
		    json_number_value(json_object_get(v, "avg_ms")),
		    json_number_value(json_object_get(v, "p50_ms")),
		    json_number_value(json_object_get(v, "p95_ms")),
		    json_number_value(json_object_get(v, "p99_ms")));
	printf("errors: %lld (retries %lld)", geti(r, "errors.total"), geti(r, "errors.retries"));
	json_object_foreach (json_object_get(json_object_get(r, "errors"), "by_type"), k, v)
		printf(", %s %lld", k, (long long)json_integer_value(v));
	printf("\n");
	print_arrivals(json_object_get(r, "arrivals"));
	print_summary(json_object_get(r, "summary"));
	print_realism(json_object_get(r, "realism"));
}

static void
print_start(const json_t *r)
{
	const char *st = gets_(r, "state");

	if (strcmp(st, "recorded") == 0)
		printf("recorded run %s in %lld shards: the cluster's members claim them\n",
		    gets_(r, "run_id"), geti(r, "shards"));
	else if (json_is_true(json_object_get(r, "cluster")))
		printf("the cluster's run %s of %lld shards: %s\n", gets_(r, "run_id"),
		    geti(r, "shards"), st);
	else if (strcmp(st, "finished") == 0 || strcmp(st, "failed") == 0)
		print_status(r);
	else
		printf("started run %s: %lld agents, seed %lld\n", gets_(r, "run_id"),
		    geti(r, "agents"), geti(r, "seed"));
}

/* A pasteable markdown list of what report found. */
static void
print_report(const json_t *r)
{
	const json_t *c = json_object_get(r, "counts"), *e = json_object_get(r, "errors");
	const json_t *idle = json_object_get(r, "idle_in_transaction"), *v;
	const char *k;
	size_t i;

	printf("## simd run %s\n\n", gets_(r, "run_id"));
	printf("- state: %s (from the %s), seed %lld, %lld agents, cycle %lld\n", gets_(r, "state"),
	    gets_(r, "source"), geti(r, "seed"), geti(r, "agents"), geti(r, "cycle"));
	printf("- counts: %lld sessions, %lld orders, %lld abandoned, %lld events, %lld errors, "
	       "%lld retries\n",
	    geti(c, "sessions"), geti(c, "orders"), geti(c, "abandoned"), geti(c, "events"),
	    geti(c, "errors"), geti(c, "retries"));
	printf("\n### Errors\n\n");
	if (json_object_size(json_object_get(e, "by_type")) == 0)
		printf("none\n");
	json_object_foreach ((json_t *)json_object_get(e, "by_type"), k, v)
		printf("- %s: %lld\n", k, (long long)json_integer_value(v));
	v = json_object_get(e, "failed_agents");
	if (json_array_size(v) > 0) {
		printf("- agents:");
		for (i = 0; i < json_array_size(v); i++)
			printf(" %s", json_string_value(json_array_get(v, i)));
		printf("\n");
	}
	printf("\n### Left behind\n\n");
	printf("- sessions without an outcome: %lld", geti(r, "open_sessions"));
	v = json_object_get(r, "open_agents");
	for (i = 0; i < json_array_size(v); i++)
		printf("%s%s", i ? " " : " (agents: ", json_string_value(json_array_get(v, i)));
	printf("%s\n", json_array_size(v) ? ")" : "");
	if (json_is_object(idle))
		printf("- simd's database sessions idle in a transaction: %lld (oldest %.0f s)\n",
		    geti(idle, "count"), json_number_value(json_object_get(idle, "oldest_s")));
	else
		printf("- database sessions idle in a transaction: n/a (embedded store)\n");
	printf("\n### Rows of %s\n\n| table | rows |\n|---|---:|\n", gets_(r, "prefix"));
	json_object_foreach ((json_t *)json_object_get(r, "rows"), k, v)
		printf("| %s | %lld |\n", k, (long long)json_integer_value(v));
	v = json_object_get(r, "checkpoints");
	printf("\n### Checkpoints kept: %zu\n\n", json_array_size(v));
	for (i = 0; i < json_array_size(v); i++) {
		const json_t *x = json_array_get(v, i);
		printf("- %lld at %s, cycle %lld (%s)\n", geti(x, "id"), gets_(x, "at"),
		    geti(x, "cycle"), gets_(x, "reason"));
	}
}

/* As simd --preflight prints them; the exit status comes from statuses[]. */
static void
print_preflight(const json_t *r)
{
	preflight_print(stdout, r);
}

/* One line per table: before -> after (removed), or the counts of a dry run. */
static void
print_purge(const json_t *r)
{
	const json_t *rows = json_object_get(r, "rows"), *before = json_object_get(r, "before");
	const json_t *after = json_object_get(r, "after"), *removed = json_object_get(r, "removed");
	const char *k;
	json_t *v;

	if (json_is_true(json_object_get(r, "dry_run"))) {
		printf("dry run: rows of %s (seed %lld), nothing deleted\n", gets_(r, "prefix"),
		    geti(r, "seed"));
		json_object_foreach ((json_t *)rows, k, v)
			printf("  %-24s %lld\n", k, (long long)json_integer_value(v));
		printf("  %-24s %lld\n", "checkpoints", geti(r, "checkpoints"));
		return;
	}
	printf("purged %s (seed %lld) in %lld batches\n", gets_(r, "prefix"), geti(r, "seed"),
	    geti(r, "batches"));
	json_object_foreach ((json_t *)before, k, v)
		printf("  %-24s %lld -> %lld (%lld %s)\n", k, (long long)json_integer_value(v),
		    geti(after, k), geti(removed, k),
		    strcmp(k, "user_coupons") == 0 ? "un-redeemed" : "deleted");
	if (json_object_get(r, "checkpoints_removed") != NULL)
		printf("  %-24s %lld removed\n", "checkpoints", geti(r, "checkpoints_removed"));
	else
		printf("  %-24s %lld kept (--checkpoints removes them)\n", "checkpoints",
		    geti(r, "checkpoints_kept"));
}

static void
print_checkpoints(const json_t *r)
{
	size_t i;
	json_t *c;

	if (json_array_size(r) == 0) {
		printf("no checkpoints\n");
		return;
	}
	printf("%6s  %-20s  %8s  %8s  %10s  %-8s  %s\n", "id", "at", "cycle", "agents", "bytes",
	    "reason", "run");
	json_array_foreach (r, i, c)
		printf("%6lld  %-20s  %8lld  %8lld  %10lld  %-8s  %s\n", geti(c, "id"),
		    gets_(c, "at"), geti(c, "cycle"), geti(c, "agents"), geti(c, "size"),
		    gets_(c, "reason"), gets_(c, "run_id"));
}

/* ---- verbs that watch: top, status --watch, start --wait's bar ---- */

static struct client *
connect_or_exit(const char *path)
{
	enum client_err kind;
	char err[1024];
	struct client *c = client_open(path, &kind, err, sizeof(err));

	if (c == NULL) {
		fprintf(stderr, "simctl: %s\n", err);
		exit(EXIT_UNREACHABLE);
	}
	return c;
}

static unsigned
interval_ms(const json_t *params, const char *key)
{
	const json_t *v = json_object_get(params, key);
	double secs = json_is_number(v) ? json_number_value(v) : 1.0;

	if (!(secs >= 0.1 && secs <= 3600)) {
		fprintf(stderr, "simctl: --%s wants seconds from 0.1 to 3600\n", key);
		exit(EXIT_USAGE);
	}
	return (unsigned)(secs * 1000 + 0.5);
}

static int
run_top(const char *path, json_t *params)
{
	struct top_opts o = { 0 };
	struct thresholds th;
	const char *spec = json_string_value(json_object_get(params, "thresholds"));
	struct client *c;
	char err[512];
	int rc;

	thresholds_default(&th);
	if (spec != NULL && thresholds_parse(&th, spec, err, sizeof(err)) != 0) {
		fprintf(stderr, "simctl top: --thresholds: %s\n", err);
		return EXIT_USAGE;
	}
	o.once = json_is_true(json_object_get(params, "once"));
	o.interval_ms = interval_ms(params, "interval");
	o.in = STDIN_FILENO;
	o.out = STDOUT_FILENO;
	/* a terminal gets the full screen and keys; anything else plain frames */
	o.interactive = !o.once && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
	o.color = !o.once && term_color_ok(STDOUT_FILENO);
	o.over = spec != NULL ? &th : NULL;
	c = connect_or_exit(path);
	rc = top_run(c, &o, err, sizeof(err));
	client_close(c);
	if (rc != 0) {
		fprintf(stderr, "simctl top: %s\n", err);
		return EXIT_DAEMON_ERROR;
	}
	return 0;
}

static int
run_status_watch(const char *path, json_t *params)
{
	struct client *c = connect_or_exit(path);
	char err[512];

	top_watch(c, interval_ms(params, "watch"), STDOUT_FILENO, err, sizeof(err));
	client_close(c);
	fprintf(stderr, "simctl: %s\n", err);
	return EXIT_DAEMON_ERROR;
}

/* start --wait on a terminal: a progress bar on stderr while the run goes. */
static json_t *
call_with_bar(const char *path, const char *method, json_t *params)
{
	struct client *c = connect_or_exit(path);
	char err[1024];
	json_t *msg = top_call_progress(c, method, params, STDERR_FILENO, err, sizeof(err));

	client_close(c);
	if (msg == NULL) {
		fprintf(stderr, "simctl: %s\n", err);
		exit(EXIT_UNREACHABLE);
	}
	return msg;
}

/*
 * The value of global option short/long at argv[*i] ("-s PATH", "--socket PATH",
 * "--socket=PATH"), advancing *i; NULL when argv[*i] is another option.  A
 * missing value is a usage error naming the option.
 */
static const char *
global_value(int argc, char **argv, int *i, const char *sh, const char *lo, const char *meta)
{
	const char *a = argv[*i];
	size_t n = strlen(lo);

	if (strncmp(a, lo, n) == 0 && a[n] == '=')
		return a + n + 1;
	if (strcmp(a, sh) != 0 && strcmp(a, lo) != 0)
		return NULL;
	if (*i + 1 >= argc) {
		fprintf(stderr, "simctl: %s needs a value (%s)\n", a, meta);
		usage(stderr);
		exit(EXIT_USAGE);
	}
	return argv[++*i];
}

/* What the options before the command said. */
struct globals {
	char path[PATH_MAX];
	double timeout;
	int timeout_set, json_out;
};

static int
parse_timeout(const char *val, struct globals *g)
{
	char *end;

	errno = 0;
	g->timeout = strtod(val, &end);
	if (*val == '\0' || *end || !(g->timeout > 0)) {
		fprintf(
		    stderr, "simctl: -t wants a positive number of seconds (got \"%s\")\n", val);
		return -1;
	}
	if (g->timeout > 1e9)
		g->timeout = -1; /* longer than anyone waits: no limit */
	g->timeout_set = 1;
	return 0;
}

/*
 * The options before the command: the index of the command, or -1 - status
 * when simctl is done (help, version, a bad option).
 */
static int
parse_globals(int argc, char **argv, struct globals *g)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i], *val = NULL;

		if ((val = global_value(argc, argv, &i, "-s", "--socket", "SOCKET")) != NULL) {
			snprintf(g->path, sizeof(g->path), "%s", val);
		} else if (strcmp(a, "--json") == 0) {
			g->json_out = 1;
		} else if ((val = global_value(argc, argv, &i, "-t", "--timeout", "SECONDS")) !=
		    NULL) {
			if (parse_timeout(val, g) != 0)
				return -1 - EXIT_USAGE;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return -1;
		} else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
			char line[160];
			version_line(line, sizeof(line), "simctl", 0);
			printf("%s, control protocol %d\n", line, SIM_PROTOCOL_VERSION);
			return -1;
		} else {
			fprintf(stderr, "simctl: unknown option: %s\n", a);
			usage(stderr);
			return -1 - EXIT_USAGE;
		}
	}
	return i;
}

static const struct verb *
find_verb(const char *name)
{
	for (const struct verb *w = verbs; w->name; w++)
		if (strcmp(w->name, name) == 0)
			return w;
	fprintf(stderr, "simctl: unknown command: %s (simctl help lists them)\n", name);
	return NULL;
}

/* Prints the daemon's answer; the exit status. */
static int
print_answer(const struct verb *v, json_t *msg, int json_out)
{
	json_t *err = json_object_get(msg, "error");
	const char *text = json_string_value(json_object_get(err, "message"));

	if (err != NULL) {
		fprintf(stderr, "simctl: %s\n", text ? text : "error without a message");
		if (json_out) /* scripts read stdout: the error object, as sent */
			print_json(err);
		return EXIT_DAEMON_ERROR;
	}
	if (json_out)
		print_json(json_object_get(msg, "result"));
	else
		v->print(json_object_get(msg, "result"));
	for (size_t k = 0; k < sizeof(statuses) / sizeof(statuses[0]); k++)
		if (strcmp(statuses[k].verb, v->name) == 0)
			return statuses[k].status(json_object_get(msg, "result"));
	return 0;
}

/*
 * --json after the command (simctl preflight --json) is the global option, as
 * before it: taken out of the verb's arguments; the new argc.
 */
static int
take_json(int argc, char **argv, struct globals *g)
{
	int i, n = 0;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			g->json_out = 1;
		else
			argv[n++] = argv[i];
	}
	return n;
}

/* A verb that talks on until the user stops it (top, status --watch); -1 for none. */
static int
run_loop(const struct verb *v, const char *path, json_t *params)
{
	for (size_t k = 0; k < sizeof(loops) / sizeof(loops[0]); k++)
		if (strcmp(loops[k].verb, v->name) == 0)
			return loops[k].run(path, params);
	if (json_object_get(params, "watch") != NULL)
		return run_status_watch(path, params);
	return -1;
}

int
main(int argc, char **argv)
{
	struct globals g = { "", DEFAULT_TIMEOUT, 0, 0 };
	const struct verb *v;
	json_t *params, *msg;
	int i, rc;

	if ((i = parse_globals(argc, argv, &g)) < 0)
		return -1 - i;
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[i], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[i], "completion") == 0)
		return completion_main(argc - i - 1, argv + i + 1);
	if ((v = find_verb(argv[i])) == NULL)
		return EXIT_USAGE;
	params = parse_args(v, take_json(argc - i - 1, argv + i + 1, &g), argv + i + 1);
	/* a purge takes as long as the rows take, a preflight its checks' own timeouts
	 * (connect_timeout, api_timeout, llm_timeout); --timeout still bounds them */
	if ((json_is_true(json_object_get(params, "wait")) || strcmp(v->method, SIM_M_PURGE) == 0 ||
		strcmp(v->method, SIM_M_PREFLIGHT) == 0) &&
	    !g.timeout_set)
		g.timeout = -1;
	if (g.path[0] == '\0')
		config_default_socket(g.path, sizeof(g.path));
	if ((rc = run_loop(v, g.path, params)) >= 0) {
		json_decref(params);
		return rc;
	}
	if (strcmp(v->method, SIM_M_START) == 0 && json_is_true(json_object_get(params, "wait")) &&
	    g.timeout < 0 && isatty(STDERR_FILENO))
		msg = call_with_bar(g.path, v->method, params);
	else
		msg = call(g.path, v->method, params, g.timeout);
	rc = print_answer(v, msg, g.json_out);
	json_decref(msg);
	return rc;
}
