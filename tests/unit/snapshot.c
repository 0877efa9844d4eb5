/* snapshot.c - status, stats and the summary as built from a snapshot, field by field. */
#include <string.h>

#include "check.h"
#include "sim/snapshot.h"

static const char *
str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static json_int_t
num(const json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static void
fill(struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->state = ENGINE_RUNNING;
	snprintf(s->params.run_id, sizeof(s->params.run_id), "run-1");
	s->params.seed = 7;
	s->params.agents = 372;
	s->params.cycles = 24;
	s->params.max_concurrent = 50;
	s->population = 372;
	s->cycle = 3;
	s->has_sim_time = 1;
	s->sim_time = 1767582000; /* 2026-01-05T03:00:00Z */
	s->elapsed_s = 8.5392849999999996;
	s->lag_s = 0;
	s->eta_s = -1;
	s->limit = 50;
	s->in_flight = 4;
	s->counts.sessions = 10;
	s->counts.orders = 3;
	s->counts.abandoned = 7;
	s->counts.items = 10;
	s->counts.errors = 2;
	s->counts.errors_by_type[STORE_ERR_QUERY] = 2;
	s->failed_ids[0] = 6;
	s->nfailed_ids = 1;
	hist_add(&s->op_lat[STORE_OP_BEGIN], 68);
	s->store.driver = "sqlite";
	s->store.max = 1;
	s->rss_bytes = 2000;
	s->peak_rss_bytes = 1000; /* the kernel's peak lags: never shown below the RSS */
}

int
main(void)
{
	struct snapshot s;
	json_t *o, *st;
	char *text;

	fill(&s);
	o = snapshot_status_json(&s);
	CHECK(o != NULL);
	/* every field of DESIGN.md 5 */
	CHECK(strcmp(str(o, "state"), "running") == 0 && strcmp(str(o, "run_id"), "run-1") == 0);
	CHECK(num(o, "seed") == 7 && num(o, "agents") == 372 && num(o, "cycle") == 3 &&
	    num(o, "cycles_total") == 24);
	CHECK(strcmp(str(o, "sim_time"), "2026-01-05T03:00:00Z") == 0);
	CHECK(json_is_null(json_object_get(o, "eta_s"))); /* no estimate: null, not 0 */
	CHECK(json_real_value(json_object_get(o, "elapsed_s")) == 8.539);
	CHECK(num(json_object_get(o, "concurrency"), "limit") == 50 &&
	    num(json_object_get(o, "concurrency"), "in_flight") == 4);
	CHECK(json_is_false(json_object_get(json_object_get(o, "concurrency"), "adaptive")));
	CHECK(num(json_object_get(o, "counts"), "sessions") == 10 &&
	    num(json_object_get(o, "counts"), "errors") == 2);
	CHECK(strcmp(str(json_object_get(o, "store"), "driver"), "sqlite") == 0);
	CHECK(json_is_null(json_object_get(o, "last_checkpoint")));
	CHECK(num(json_object_get(o, "process"), "peak_rss_bytes") == 2000);
	CHECK(num(json_object_get(o, "params"), "agents") == 372);
	CHECK(json_object_get(json_object_get(o, "params"), "run_id") ==
	    NULL); /* not a start param */
	CHECK(json_object_get(o, "error") == NULL && json_object_get(o, "daemon") == NULL);
	/* numbers print as they mean: 8.539, not 8.5392849999999996 */
	text = json_dumps(o, JSON_COMPACT | JSON_DUMP_REALS);
	CHECK(text != NULL && strstr(text, "\"elapsed_s\":8.539,") != NULL);
	free(text);
	json_decref(o);

	/* a failed run says why; a checkpoint shows; a shutdown shows */
	snprintf(s.fail_reason, sizeof(s.fail_reason), "no more users");
	s.has_checkpoint = 1;
	s.checkpoint_id = 4;
	s.checkpoint_at = 1767582000;
	s.checkpoint_cycle = 3;
	s.shutting_down = 1;
	s.eta_s = 12.3456;
	o = snapshot_status_json(&s);
	CHECK(strcmp(str(o, "error"), "no more users") == 0);
	CHECK(num(json_object_get(o, "last_checkpoint"), "id") == 4);
	CHECK(strcmp(str(o, "daemon"), "shutting down") == 0);
	CHECK(json_real_value(json_object_get(o, "eta_s")) == 12.346);
	json_decref(o);

	/* the adaptive limit: base, reason, the controller's figures (null while unknown) */
	s.adaptive = 1;
	s.base = 60;
	snprintf(s.limit_reason, sizeof(s.limit_reason), "latency 41 ms vs 6 ms");
	s.latency_ms = 41.25;
	s.no_load_latency_ms = 6;
	s.machine_cpu_pct = -1;
	s.machine_mem_pct = 12.34;
	s.limit_changes = 3;
	s.limit_history[0] = (struct concurrency_change){ 1767582000, 60, 50, CONCURRENCY_LATENCY,
		"latency 41 ms vs 6 ms" };
	s.nlimit_history = 1;
	o = snapshot_status_json(&s);
	st = json_object_get(o, "concurrency");
	CHECK(json_is_true(json_object_get(st, "adaptive")) && num(st, "base") == 60);
	CHECK(strcmp(str(st, "reason"), "latency 41 ms vs 6 ms") == 0 && num(st, "changes") == 3);
	CHECK(json_is_null(json_object_get(st, "cpu_pct")));
	CHECK(json_real_value(json_object_get(st, "mem_pct")) == 12.3);
	CHECK(json_real_value(json_object_get(st, "latency_ms")) == 41.25);
	CHECK(json_object_get(st, "history") == NULL); /* stats has it */
	json_decref(o);

	o = snapshot_stats_json(&s);
	CHECK(o != NULL);
	st = json_array_get(json_object_get(json_object_get(o, "concurrency"), "history"), 0);
	CHECK(st != NULL && strcmp(str(st, "cause"), "latency") == 0 && num(st, "from") == 60 &&
	    num(st, "to") == 50 && strcmp(str(st, "at"), "2026-01-05T03:00:00Z") == 0);
	st = json_object_get(o, "errors");
	CHECK(num(st, "total") == 2 && num(json_object_get(st, "by_type"), "query") == 2);
	CHECK(strcmp(json_string_value(json_array_get(json_object_get(st, "failed_agents"), 0)),
		  "agent_007") == 0);
	CHECK(json_real_value(json_object_get(
		  json_object_get(json_object_get(o, "steps"), "begin"), "avg_ms")) == 0.068);
	CHECK(json_object_get(json_object_get(o, "steps"), "fail") != NULL);
	CHECK(json_real_value(json_object_get(o, "sessions_per_s")) == 1.2);
	st = json_object_get(o, "summary");
	CHECK(json_real_value(json_object_get(st, "abandonment_rate")) == 0.7);
	CHECK(json_real_value(json_object_get(st, "avg_basket_items")) == 3.33);
	json_decref(o);
	return CHECK_DONE();
}
