/* snapshot.c - status, stats and the summary, built from a snapshot (see snapshot.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sim/snapshot.h"

/* Sets key to v (stolen); a NULL v (out of memory) makes the whole object fail. */
static int
put(json_t *o, const char *key, json_t *v)
{
	return v == NULL || json_object_set_new(o, key, v) != 0 ? -1 : 0;
}

static json_t *
counts_json(const struct engine_counts *c)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "agents_processed",
	    (json_int_t)c->agents_processed, "agents_shopped", (json_int_t)c->agents_shopped,
	    "sessions", (json_int_t)c->sessions, "orders", (json_int_t)c->orders, "events",
	    (json_int_t)c->events, "errors", (json_int_t)c->errors);
}

static json_t *
store_json(const struct store_stats *st)
{
	return json_pack("{s:s, s:i, s:i, s:i, s:i, s:I, s:I, s:I}", "driver",
	    st->driver ? st->driver : "?", "connections_active", (int)st->connections_active,
	    "connections_idle", (int)st->connections_idle, "waiting", (int)st->waiting, "max",
	    (int)st->max, "opened", (json_int_t)st->opened, "closed", (json_int_t)st->closed,
	    "queries", (json_int_t)st->queries);
}

static json_t *
checkpoint_json(const struct snapshot *s)
{
	char at[32];

	if (!s->has_checkpoint)
		return json_null();
	store_time_iso(at, sizeof(at), s->checkpoint_at);
	return json_pack("{s:I, s:s, s:I}", "id", (json_int_t)s->checkpoint_id, "at", at, "cycle",
	    (json_int_t)s->checkpoint_cycle);
}

static json_t *
process_json(const struct snapshot *s)
{
	uint64_t peak = s->peak_rss_bytes > s->rss_bytes ? s->peak_rss_bytes : s->rss_bytes;

	return json_pack("{s:I, s:I, s:I}", "rss_bytes", (json_int_t)s->rss_bytes, "peak_rss_bytes",
	    (json_int_t)peak, "uptime_s", (json_int_t)s->uptime_s);
}

json_t *
snapshot_status_json(const struct snapshot *s)
{
	char when[32] = "";
	json_t *o;
	int bad;

	if (s->has_sim_time)
		store_time_iso(when, sizeof(when), s->sim_time);
	o = json_pack("{s:s, s:s?, s:I, s:i, s:i, s:i, s:s?}", "state", engine_state_name(s->state),
	    "run_id", s->params.run_id[0] ? s->params.run_id : NULL, "seed",
	    (json_int_t)s->params.seed, "agents", (int)s->population, "cycle", (int)s->cycle,
	    "cycles_total", (int)s->params.cycles, "sim_time", when[0] ? when : NULL);
	if (o == NULL)
		return NULL;
	bad = put(o, "elapsed_s", metrics_real(s->elapsed_s, 3));
	bad |= put(o, "eta_s", s->eta_s >= 0 ? metrics_real(s->eta_s, 3) : json_null());
	bad |= put(o, "lag_s", metrics_real(s->lag_s, 3));
	bad |= put(o, "concurrency",
	    json_pack("{s:i, s:i, s:b}", "limit", (int)s->limit, "in_flight", (int)s->in_flight,
		"adaptive", s->adaptive));
	bad |= put(o, "counts", counts_json(&s->counts));
	bad |= put(o, "params", params_to_json(&s->params, PARAM_START));
	bad |= put(o, "store", store_json(&s->store));
	bad |= put(o, "last_checkpoint", checkpoint_json(s));
	bad |= put(o, "process", process_json(s));
	if (s->fail_reason[0])
		bad |= put(o, "error", json_string(s->fail_reason));
	if (s->shutting_down)
		bad |= put(o, "daemon", json_string("shutting down"));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
errors_json(const struct snapshot *s)
{
	json_t *by = json_object(), *ids = json_array();
	char id[STORE_AGENT_ID_MAX];

	for (int i = 0; by != NULL && i < STORE_ERR_COUNT; i++)
		if (i != STORE_OK && s->counts.errors_by_type[i])
			json_object_set_new(by, store_err_name((enum store_err)i),
			    json_integer((json_int_t)s->counts.errors_by_type[i]));
	for (uint32_t i = 0; ids != NULL && i < s->nfailed_ids; i++) {
		store_agent_id(id, sizeof(id), s->failed_ids[i]);
		json_array_append_new(ids, json_string(id));
	}
	return json_pack("{s:I, s:o, s:o, s:I}", "total", (json_int_t)s->counts.errors, "by_type",
	    by, "failed_agents", ids, "retries", (json_int_t)s->counts.retries);
}

static json_t *
rate(double n, double secs)
{
	return metrics_real(secs > 0 ? n / secs : 0.0, 1);
}

json_t *
snapshot_stats_json(const struct snapshot *s)
{
	double el = s->elapsed_s;
	json_t *steps = json_object(), *o;

	for (int t = 0; steps != NULL && t < STORE_OP_TYPES; t++)
		json_object_set_new(
		    steps, store_op_name((enum store_op_type)t), hist_json(&s->op_lat[t]));
	o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "state",
	    engine_state_name(s->state), "elapsed_s", metrics_real(el, 3), "sessions_per_s",
	    rate((double)s->counts.sessions, el), "writes_per_s", rate((double)s->counts.rows, el),
	    "events_per_s", rate((double)s->counts.events, el), "steps", steps, "session",
	    hist_json(&s->session_lat), "cycle", hist_json(&s->cycle_lat), "errors", errors_json(s),
	    "summary", snapshot_summary_json(s));
	if (o != NULL && put(o, "store", store_json(&s->store)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
snapshot_summary_json(const struct snapshot *s)
{
	const struct engine_counts *c = &s->counts;
	uint64_t carts = c->orders + c->abandoned;

	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:o, s:I, s:o, s:I}", "sessions",
	    (json_int_t)c->sessions, "orders", (json_int_t)c->orders, "abandoned",
	    (json_int_t)c->abandoned, "browsed", (json_int_t)c->browsed, "events",
	    (json_int_t)c->events, "abandonment_rate",
	    metrics_real(carts ? (double)c->abandoned / (double)carts : 0.0, 4), "revenue_cents",
	    (json_int_t)c->revenue_cents, "avg_basket_items",
	    metrics_real(c->orders ? (double)c->items / (double)c->orders : 0.0, 2), "rows_written",
	    (json_int_t)c->rows, "wall_s", metrics_real(s->elapsed_s, 3), "errors",
	    (json_int_t)c->errors);
}
