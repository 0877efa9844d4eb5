/* server.c - the daemon's parts wired together (see server.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/checkpoint.h"
#include "sim/ckptsched.h"
#include "sim/cmd.h"
#include "sim/concurrency.h"
#include "sim/config.h"
#include "sim/engine.h"
#include "sim/platform.h"
#include "sim/server.h"
#include "sim/shutdown.h"
#include "sim/snapshot.h"
#include "sim/store.h"
#include "sim/watch.h"
#include "sim/csvlog.h"
#include "sim/prom.h"
#include "sim/llm.h"

int
server_init(struct server *srv, char *err, size_t errlen)
{
	struct concurrency_opts co;

	concurrency_opts_from_config(&co, srv->cfg);
	if (engine_set_adaptive(srv->engine, &co, err, errlen) != 0)
		return -1;
	srv->set_by_control = calloc(config_nkeys, 1);
	srv->sched = ckptsched_new(
	    srv->base, srv->engine, srv->store, srv->ckpt, srv->cfg->checkpoint_interval);
	srv->watch = watch_new(srv);
	if (srv->set_by_control == NULL || srv->sched == NULL || srv->watch == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((srv->csv = csvlog_new(srv, srv->cfg->metrics_csv, err, errlen)) == NULL)
		return -1;
	srv->prom = prom_new(srv, srv->cfg->metrics_listen, err, errlen);
	return srv->prom == NULL && *err != '\0' ? -1 : 0;
}

void
server_fini(struct server *srv)
{
	cmd_purge_abort(srv);
	cmd_preflight_abort(srv);
	prom_free(srv->prom);
	csvlog_free(srv->csv);
	watch_free(srv->watch);
	srv->prom = NULL;
	srv->csv = NULL;
	ckptsched_free(srv->sched);
	free(srv->set_by_control);
	srv->watch = NULL;
	srv->sched = NULL;
	srv->set_by_control = NULL;
}

int
server_stopping(const struct server *srv)
{
	return shutdown_requested(srv->shutdown);
}

void
server_snapshot(const struct server *srv, struct snapshot *s)
{
	struct checkpoint_info last;
	const char *ckerr;

	memset(s, 0, sizeof(*s));
	engine_snapshot(srv->engine, s);
	if (s->state == ENGINE_IDLE) {
		/* no run yet: what the next one would use */
		params_from_config(&s->params, srv->cfg);
		s->population = s->params.agents;
		s->limit = s->base = s->params.max_concurrent;
		s->adaptive = srv->cfg->adaptive != 0;
	}
	store_stats(srv->store, &s->store);
	store_api_stats(srv->store, &s->api);
	if (srv->ckpt != NULL && checkpoint_last(srv->ckpt, &last)) {
		s->has_checkpoint = 1;
		s->checkpoint_id = last.id;
		s->checkpoint_at = last.at;
		s->checkpoint_cycle = last.cycle;
	}
	if ((ckerr = ckptsched_last_error(srv->sched, &s->checkpoint_error_at)) != NULL)
		snprintf(s->checkpoint_error, sizeof(s->checkpoint_error), "%s", ckerr);
	s->rss_bytes = platform_rss_bytes();
	s->peak_rss_bytes = platform_peak_rss_bytes(); /* after: never below the RSS */
	s->uptime_s = (int64_t)(time(NULL) - srv->started_at);
	s->shutting_down = server_stopping(srv);
	if (srv->watch != NULL)
		watch_fill(srv->watch, s);
	if (srv->llm != NULL) {
		s->has_llm = 1;
		llm_stats(srv->llm, &s->llm);
	}
	if (srv->prom != NULL)
		snprintf(s->metrics_addr, sizeof(s->metrics_addr), "%s", prom_addr(srv->prom));
}
