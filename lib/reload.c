/* reload.c - parse, check, swap: a new configuration taken whole (see reload.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/checkpoint.h"
#include "sim/concurrency.h"
#include "sim/ckptsched.h"
#include "sim/config.h"
#include "sim/csvlog.h"
#include "sim/engine.h"
#include "sim/log.h"
#include "sim/reload.h"
#include "sim/server.h"

typedef int (*apply_fn)(
    struct server *srv, const struct sim_config *next, int changed, char *err, size_t errlen);

static int
apply_log_level(
    struct server *srv, const struct sim_config *c, int changed, char *err, size_t errlen)
{
	log_set_level((enum log_level)c->log_level);
	return 0;
}

/* The same file is reopened (logrotate moved it away); another one is opened. */
static int
apply_log_file(
    struct server *srv, const struct sim_config *c, int changed, char *err, size_t errlen)
{
	return changed ? log_set_file(c->log_file, err, errlen) : log_reopen(err, errlen);
}

static int
apply_concurrency(
    struct server *srv, const struct sim_config *c, int changed, char *err, size_t errlen)
{
	if (!engine_active(srv->engine))
		return 0; /* the default of the next run */
	return engine_set_concurrency(srv->engine, (uint32_t)c->max_concurrent, err, errlen);
}

/* Every adaptive key at once, from next: the run under way takes them now. */
static int
apply_adaptive(
    struct server *srv, const struct sim_config *c, int changed, char *err, size_t errlen)
{
	struct concurrency_opts o;

	concurrency_opts_from_config(&o, c);
	return engine_set_adaptive(srv->engine, &o, err, errlen);
}

static int
apply_ckpt_keep(
    struct server *srv, const struct sim_config *c, int changed, char *err, size_t errlen)
{
	checkpoint_set_keep(srv->ckpt, (int)c->checkpoint_keep);
	return 0;
}

static int
apply_ckpt_interval(
    struct server *srv, const struct sim_config *c, int changed, char *err, size_t errlen)
{
	ckptsched_set_interval(srv->sched, c->checkpoint_interval);
	return 0;
}

/* Like log_file: the same file reopened (rotated away), or another one. */
static int
apply_metrics_csv(
    struct server *srv, const struct sim_config *c, int changed, char *err, size_t errlen)
{
	return srv->csv != NULL ? csvlog_reopen(srv->csv, c->metrics_csv, err, errlen) : 0;
}

/* One hook per kind; `always': called on every reload from the file, changed or not. */
static const struct {
	apply_fn fn;
	int always;
} hooks[CFG_APPLY_KINDS] = {
	[CFG_APPLY_NONE] = { NULL, 0 },
	[CFG_APPLY_LOG_LEVEL] = { apply_log_level, 0 },
	[CFG_APPLY_LOG_FILE] = { apply_log_file, 1 },
	[CFG_APPLY_CONCURRENCY] = { apply_concurrency, 0 },
	[CFG_APPLY_ADAPTIVE] = { apply_adaptive, 0 },
	[CFG_APPLY_CKPT_KEEP] = { apply_ckpt_keep, 0 },
	[CFG_APPLY_CKPT_INTERVAL] = { apply_ckpt_interval, 0 },
	[CFG_APPLY_METRICS_CSV] = { apply_metrics_csv, 1 },
};

/* Keeps the running value of key i in next; a copy that fails leaves next's. */
static void
keep_running(struct server *srv, struct sim_config *next, size_t i)
{
	if (config_copy_key(next, srv->cfg, &config_keys[i]) != 0)
		log_warnx("reload: out of memory keeping %s", config_keys[i].name);
}

/* What cannot or must not change now keeps its value; says so once per key. */
static void
hold_back(struct server *srv, struct sim_config *next, enum reload_source src)
{
	char buf[64];

	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];

		if (config_equal(srv->cfg, next, k))
			continue;
		if (!(k->flags & CFG_RUNTIME)) {
			log_warnx(
			    "reload: %s changed; it takes effect only after a restart", k->name);
			keep_running(srv, next, i);
		} else if (src == RELOAD_FILE && srv->set_by_control[i]) {
			config_format(srv->cfg, k, buf, sizeof(buf));
			log_info("reload: keeping %s %s set over the control socket", k->name, buf);
			keep_running(srv, next, i);
		}
	}
}

int
reload_apply(
    struct server *srv, struct sim_config *next, enum reload_source src, char *err, size_t errlen)
{
	char msg[512];

	hold_back(srv, next, src);
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];
		int changed = !config_equal(srv->cfg, next, k);

		if (src == RELOAD_CONTROL && changed)
			srv->set_by_control[i] = 1; /* (a failure below takes it all back) */
		if (hooks[k->apply].fn == NULL ||
		    !(changed || (hooks[k->apply].always && src == RELOAD_FILE)))
			continue;
		if (hooks[k->apply].fn(srv, next, changed, msg, sizeof(msg)) != 0) {
			if (src == RELOAD_CONTROL)
				srv->set_by_control[i] = 0;
			log_warnx("reload: %s: %s; keeping the running value", k->name, msg);
			if (src == RELOAD_CONTROL) {
				snprintf(err, errlen, "%s", msg);
				config_free(next);
				return -1;
			}
			keep_running(srv, next, i);
		}
	}
	config_free(srv->cfg);
	srv->cfg = next;
	if (src == RELOAD_FILE)
		log_info("configuration reloaded");
	return 0;
}

int
reload_set_keys(struct server *srv, const char *const *keys, const char *const *values, int n,
    char *err, size_t errlen)
{
	struct sim_config *next = config_dup(srv->cfg);

	if (next == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (config_set(next, keys[i], values[i], err, errlen) != 0) {
			config_free(next);
			return -1;
		}
	}
	return reload_apply(srv, next, RELOAD_CONTROL, err, errlen);
}

int
reload_set(struct server *srv, const char *key, const char *value, char *err, size_t errlen)
{
	return reload_set_keys(srv, &key, &value, 1, err, errlen);
}
