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
	return json_pack("{s:s, s:i, s:i, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "driver", st->driver ? st->driver : "?", "connections_active",
	    (int)st->connections_active, "connections_idle", (int)st->connections_idle, "waiting",
	    (int)st->waiting, "max", (int)st->max, "opened", (json_int_t)st->opened, "closed",
	    (json_int_t)st->closed, "queries", (json_int_t)st->queries, "round_trips",
	    (json_int_t)st->round_trips, "step_round_trips", (json_int_t)st->step_round_trips,
	    "events_queued", (json_int_t)st->events_queued, "events_queue_max",
	    (json_int_t)st->events_queue_max, "events_queued_peak",
	    (json_int_t)st->events_queued_peak, "events_batched", (json_int_t)st->events_batched);
}

/* The shop API (null without one): the limiter, the requests, failures by type, the pool. */
static json_t *
api_json(const struct shopapi_stats *a)
{
	json_t *fails, *o;

	if (!a->on)
		return json_null();
	if ((fails = json_object()) == NULL)
		return NULL;
	for (int i = 0; i < API_FAIL_TYPES; i++)
		if (json_object_set_new(
			fails, shopapi_fail_names[i], json_integer((json_int_t)a->fails[i])) != 0) {
			json_decref(fails);
			return NULL;
		}
	o = json_pack("{s:o, s:o, s:I, s:I, s:I, s:o, s:i, s:i, s:i, s:i, s:I, s:I, s:I}", "rate",
	    metrics_real(a->rate, 1), "rate_limit", metrics_real(a->rate_limit, 3), "requests",
	    (json_int_t)a->requests, "ok", (json_int_t)a->ok, "status_429",
	    (json_int_t)a->status_429, "failures", fails, "in_flight", (int)a->in_flight, "waiting",
	    (int)a->waiting, "connections_open", (int)a->conns_open, "connections_idle",
	    (int)a->conns_idle, "rate_decreases", (json_int_t)a->decreases, "rate_increases",
	    (json_int_t)a->increases, "tokens_signed", (json_int_t)a->tokens_signed);
	return o;
}

static json_t *
real_or_null(double v, int digits)
{
	return v >= 0 ? metrics_real(v, digits) : json_null();
}

/* The limit's last changes, oldest first: when, from, to, why. */
static json_t *
limit_history_json(const struct snapshot *s)
{
	json_t *a = json_array();
	char at[32];

	for (unsigned i = 0; a != NULL && i < s->nlimit_history; i++) {
		const struct concurrency_change *ch = &s->limit_history[i];

		store_time_iso(at, sizeof(at), (int64_t)ch->at);
		if (json_array_append_new(a,
			json_pack("{s:s, s:i, s:i, s:s, s:s}", "at", at, "from", (int)ch->from,
			    "to", (int)ch->to, "cause", concurrency_cause_name(ch->cause), "reason",
			    ch->reason)) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* status's concurrency; stats add the last changes. */
static json_t *
concurrency_json(const struct snapshot *s, int history)
{
	json_t *o = json_pack("{s:i, s:i, s:b, s:i, s:s?, s:I}", "limit", (int)s->limit,
	    "in_flight", (int)s->in_flight, "adaptive", s->adaptive, "base", (int)s->base, "reason",
	    s->limit_reason[0] ? s->limit_reason : NULL, "changes", (json_int_t)s->limit_changes);
	int bad;

	if (o == NULL)
		return NULL;
	bad = put(o, "cpu_pct", real_or_null(s->machine_cpu_pct, 1));
	bad |= put(o, "mem_pct", real_or_null(s->machine_mem_pct, 1));
	bad |= put(o, "latency_ms", real_or_null(s->latency_ms, 3));
	bad |= put(o, "no_load_latency_ms", real_or_null(s->no_load_latency_ms, 3));
	if (history)
		bad |= put(o, "history", limit_history_json(s));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
checkpoint_error_json(const struct snapshot *s)
{
	char at[32];

	store_time_iso(at, sizeof(at), s->checkpoint_error_at);
	return json_pack("{s:s, s:s}", "at", at, "message", s->checkpoint_error);
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
rate(double n, double secs)
{
	return metrics_real(secs > 0 ? n / secs : 0.0, 1);
}

/* The whole run's rates, as "interval" and "minute" say theirs. */
static json_t *
total_json(const struct snapshot *s)
{
	const struct engine_counts *c = &s->counts;
	double el = s->elapsed_s;

	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "window_s",
	    metrics_real(el, 3), "agents_per_s", rate((double)c->agents_processed, el),
	    "sessions_per_s", rate((double)c->sessions, el), "orders_per_s",
	    rate((double)c->orders, el), "events_per_s", rate((double)c->events, el),
	    "writes_per_s", rate((double)c->rows, el), "errors_per_s", rate((double)c->errors, el),
	    "retries_per_s", rate((double)c->retries, el), "session_avg_ms",
	    metrics_real(s->session_lat.count
		    ? (double)s->session_lat.sum_us / (double)s->session_lat.count / 1e3
		    : 0.0,
		3));
}

static json_t *
process_json(const struct snapshot *s)
{
	uint64_t peak = s->peak_rss_bytes > s->rss_bytes ? s->peak_rss_bytes : s->rss_bytes;

	return json_pack("{s:I, s:I, s:I, s:o, s:i}", "rss_bytes", (json_int_t)s->rss_bytes,
	    "peak_rss_bytes", (json_int_t)peak, "uptime_s", (json_int_t)s->uptime_s, "cpu_pct",
	    s->has_rates && s->cpu_pct >= 0 ? metrics_real(s->cpu_pct, 1) : json_null(),
	    "subscribers", (int)s->subscribers);
}

static const char *const phase_names[] = { "none", "personas", "catalogue", "users", "done" };

const char *
snapshot_phase_name(enum snapshot_phase p)
{
	return (unsigned)p < sizeof(phase_names) / sizeof(phase_names[0]) ? phase_names[p] : "?";
}

static json_t *
setup_json(const struct snapshot_setup *u)
{
	if (u->phase == SETUP_NONE && u->users_total == 0)
		return json_null();
	return json_pack("{s:s, s:i, s:i, s:i, s:b, s:i, s:i}", "phase",
	    snapshot_phase_name(u->phase), "personas_generated", (int)u->personas_done,
	    "personas_total", (int)u->personas_total, "personas_llm", (int)u->personas_llm,
	    "catalogue_written", u->catalog_written, "users_written", (int)u->users_written,
	    "users_total", (int)u->users_total);
}

static json_t *
llm_models_json(const struct llm_stats *l)
{
	json_t *by = json_object();

	for (unsigned i = 0; by != NULL && i < l->nmodels && i < LLM_MODELS_MAX; i++)
		if (json_object_set_new(by, l->models[i], json_integer(l->by_model[i])) != 0) {
			json_decref(by);
			return NULL;
		}
	return by;
}

static json_t *
llm_errors_json(const struct llm_stats *l)
{
	json_t *o = json_pack("{s:I}", "total", (json_int_t)l->errors);

	for (int i = 0; o != NULL && i < LLM_ERR_TYPES; i++)
		if (json_object_set_new(o, llm_err_name((enum llm_err)i),
			json_integer((json_int_t)l->errors_by_type[i])) != 0) {
			json_decref(o);
			return NULL;
		}
	return o;
}

/* The LLM personas' counters: null unless persona_source = llm. */
static json_t *
llm_json(const struct snapshot *s)
{
	const struct llm_stats *l = &s->llm;

	if (!s->has_llm)
		return json_null();
	return json_pack("{s:b, s:b, s:i, s:i, s:i, s:i, s:i, s:I, s:o, s:o, s:I, s:I, s:I, s:I, "
			 "s:I, s:i, s:o, s:o, s:o, s:o}",
	    "active", l->active, "paused", l->paused, "total", (int)l->total, "done", (int)l->done,
	    "cached", (int)l->cached, "from_llm", (int)l->from_llm, "local_fallbacks",
	    (int)l->local_fallbacks, "model_fallbacks", (json_int_t)l->model_fallbacks, "by_model",
	    llm_models_json(l), "errors", llm_errors_json(l), "requests", (json_int_t)l->requests,
	    "retries", (json_int_t)l->retries, "status_429", (json_int_t)l->status_429, "clamped",
	    (json_int_t)l->clamped, "filled", (json_int_t)l->filled, "in_flight", (int)l->in_flight,
	    "rate", metrics_real(l->rate, 3), "requests_per_s", metrics_real(l->requests_per_s, 3),
	    "elapsed_s", metrics_real(l->elapsed_s, 3), "eta_s",
	    l->eta_s >= 0 ? metrics_real(l->eta_s, 1) : json_null());
}

static json_t *
rates_json(const struct snapshot *s)
{
	if (!s->has_rates)
		return json_null();
	return json_pack("{s:o, s:o, s:o}", "interval", rate_window_json(&s->rate_interval),
	    "minute", rate_window_json(&s->rate_minute), "total", total_json(s));
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
	bad |= put(o, "concurrency", concurrency_json(s, 0));
	bad |= put(o, "counts", counts_json(&s->counts));
	bad |= put(o, "params", params_to_json(&s->params, PARAM_START));
	bad |= put(o, "store", store_json(&s->store));
	bad |= put(o, "api", api_json(&s->api));
	bad |= put(o, "last_checkpoint", checkpoint_json(s));
	if (s->checkpoint_error[0])
		bad |= put(o, "checkpoint_error", checkpoint_error_json(s));
	bad |= put(o, "process", process_json(s));
	bad |= put(o, "setup", setup_json(&s->setup));
	bad |= put(o, "llm", llm_json(s));
	bad |= put(
	    o, "metrics_listen", s->metrics_addr[0] ? json_string(s->metrics_addr) : json_null());
	bad |= put(o, "rates", rates_json(s));
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
error_json(const struct snapshot_error *x)
{
	char id[STORE_AGENT_ID_MAX], at[32];

	store_agent_id(id, sizeof(id), x->agent);
	store_time_iso(at, sizeof(at), x->at);
	return json_pack("{s:s, s:s, s:s, s:i, s:s, s:s}", "type",
	    store_err_name((enum store_err)x->type), "agent", id, "step",
	    store_op_name((enum store_op_type)x->step), "cycle", (int)x->cycle, "at", at, "message",
	    x->msg);
}

/* The newest failure of each type, and the newest few of all, newest first. */
static int
errors_detail(const struct snapshot *s, json_t *o)
{
	json_t *last = json_object(), *recent = json_array();
	int bad = last == NULL || recent == NULL;

	for (int i = 0; !bad && i < STORE_ERR_COUNT; i++)
		if (s->last_error[i].set)
			bad |= json_object_set_new(
			    last, store_err_name((enum store_err)i), error_json(&s->last_error[i]));
	for (unsigned i = 0; !bad && i < s->nrecent && i < SNAPSHOT_RECENT_ERRORS; i++)
		bad |= json_array_append_new(recent, error_json(&s->recent[i]));
	bad |= put(o, "last_by_type", last);
	bad |= put(o, "recent", recent);
	return bad;
}

static json_t *
errors_json(const struct snapshot *s)
{
	json_t *by = json_object(), *ids = json_array(), *o;
	char id[STORE_AGENT_ID_MAX];

	for (int i = 0; by != NULL && i < STORE_ERR_COUNT; i++)
		if (i != STORE_OK && s->counts.errors_by_type[i])
			json_object_set_new(by, store_err_name((enum store_err)i),
			    json_integer((json_int_t)s->counts.errors_by_type[i]));
	for (uint32_t i = 0; ids != NULL && i < s->nfailed_ids; i++) {
		store_agent_id(id, sizeof(id), s->failed_ids[i]);
		json_array_append_new(ids, json_string(id));
	}
	o = json_pack("{s:I, s:o, s:o, s:I}", "total", (json_int_t)s->counts.errors, "by_type", by,
	    "failed_agents", ids, "retries", (json_int_t)s->counts.retries);
	if (o != NULL && errors_detail(s, o) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Paced visits (time_scale > 0): how late they started after their due time. */
static json_t *
arrivals_json(const struct snapshot *s)
{
	const struct histogram *h = &s->arrival_late;

	return json_pack("{s:I, s:o, s:o}", "paced", (json_int_t)h->count, "first_tenth_pct",
	    h->count ? metrics_real(100.0 * (double)s->arrivals_first_tenth / (double)h->count, 2)
		     : json_null(),
	    "lateness", hist_json(h));
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
	if (o != NULL &&
	    (put(o, "store", store_json(&s->store)) | put(o, "api", api_json(&s->api)) |
		put(o, "rates", rates_json(s)) | put(o, "arrivals", arrivals_json(s)) |
		put(o, "concurrency", concurrency_json(s, 1))) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
latency_json(const struct snapshot *s)
{
	json_t *steps = json_object();

	for (int t = 0; steps != NULL && t < STORE_OP_TYPES; t++)
		if (json_object_set_new(steps, store_op_name((enum store_op_type)t),
			hist_json(&s->op_lat[t])) != 0) {
			json_decref(steps);
			return NULL;
		}
	return json_pack("{s:o, s:o, s:o}", "session", hist_json(&s->session_lat), "cycle",
	    hist_json(&s->cycle_lat), "steps", steps);
}

json_t *
snapshot_frame_json(const struct snapshot *s)
{
	json_t *o = snapshot_status_json(s);

	if (o == NULL)
		return NULL;
	if ((put(o, "latency", latency_json(s)) | put(o, "errors", errors_json(s)) |
		put(o, "cycle_now",
		    json_pack("{s:i, s:o, s:o, s:I}", "agents_done",
			(int)(s->cursor > s->in_flight ? s->cursor - s->in_flight : 0), "elapsed_s",
			metrics_real(s->cycle_s_now, 6), "last_s", metrics_real(s->cycle_s_last, 6),
			"errors", (json_int_t)s->cycle_errors))) != 0) {
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
