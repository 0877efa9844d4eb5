/* prom.c - GET /metrics in Prometheus's text format (see prom.h). */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "sim/log.h"
#include "sim/prom.h"
#include "sim/server.h"
#include "sim/snapshot.h"
#include "sim/watch.h"

#define PROM_DEFAULT_HOST "127.0.0.1"
#define PROM_TIMEOUT_S 10
#define PROM_MAX_HEADERS 8192

struct prom {
	struct server *srv;
	struct evhttp *http;
	struct snapshot *s;
	char addr[64];
};

/* ---- the exposition ---- */

static const char *const step_bounds[] = { "0.0001", "0.00025", "0.0005", "0.001", "0.0025",
	"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", NULL };
static const char *const cycle_bounds[] = { "0.01", "0.1", "0.5", "1", "5", "10", "30", "60", "120",
	"300", "600", "1800", "3600", NULL };

static void
head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
val(FILE *f, const char *name, const char *labels, double v)
{
	if (isnan(v))
		fprintf(f, "%s%s NaN\n", name, labels);
	else
		fprintf(f, "%s%s %.15g\n", name, labels, v);
}

static void
gauge(FILE *f, const char *name, const char *help, double v)
{
	head(f, name, "gauge", help);
	val(f, name, "", v);
}

static void
counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	head(f, name, "counter", help);
	val(f, name, "", (double)v);
}

/* One labelled series of histogram name: label is `key="value"' or "". */
static void
hist(FILE *f, const char *name, const char *label, const struct histogram *h,
    const char *const *bounds)
{
	const char *sep = *label ? "," : "";
	char lb[128];

	for (; *bounds != NULL; bounds++) {
		uint64_t us = (uint64_t)(strtod(*bounds, NULL) * 1e6 + 0.5);
		fprintf(f, "%s_bucket{%s%sle=\"%s\"} %llu\n", name, label, sep, *bounds,
		    (unsigned long long)hist_count_le(h, us));
	}
	fprintf(
	    f, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, label, sep, (unsigned long long)h->count);
	snprintf(lb, sizeof(lb), *label ? "{%s}" : "%s", label);
	fprintf(f, "%s_sum%s %.15g\n", name, lb, (double)h->sum_us / 1e6);
	fprintf(f, "%s_count%s %llu\n", name, lb, (unsigned long long)h->count);
}

static void
run_metrics(FILE *f, const struct snapshot *s)
{
	head(f, "simd_run_state", "gauge", "1 for the state the simulation is in");
	for (int st = ENGINE_IDLE; st <= ENGINE_FAILED; st++)
		fprintf(f, "simd_run_state{state=\"%s\"} %d\n",
		    engine_state_name((enum engine_state)st), s->state == (enum engine_state)st);
	gauge(f, "simd_agents", "agents the run evaluates each cycle", s->population);
	gauge(f, "simd_cycle", "the cycle under way (0-based)", s->cycle);
	gauge(f, "simd_cycles_planned", "cycles the run lasts (0: until hours or stop)",
	    s->params.cycles);
	gauge(f, "simd_cycle_agents_done", "agents evaluated so far in this cycle", s->cursor);
	gauge(f, "simd_sim_time_seconds", "simulated time of the cycle under way (unix)",
	    s->has_sim_time ? (double)s->sim_time : NAN);
	gauge(f, "simd_elapsed_seconds", "wall seconds the run has run", s->elapsed_s);
	gauge(f, "simd_lag_seconds", "how far the run is behind its pace", s->lag_s);
	gauge(f, "simd_eta_seconds", "estimated seconds left (NaN: no estimate)",
	    s->eta_s >= 0 ? s->eta_s : NAN);
	gauge(f, "simd_concurrency_limit", "sessions allowed in flight", s->limit);
	gauge(f, "simd_sessions_in_flight", "sessions in flight now", s->in_flight);
	gauge(f, "simd_concurrency_adaptive", "1 when the limit adapts", s->adaptive);
	gauge(
	    f, "simd_concurrency_base", "max_concurrent: the base the limit adapts from", s->base);
	gauge(f, "simd_concurrency_latency_seconds",
	    "median step latency at the current limit (NaN: unknown)",
	    s->latency_ms >= 0 ? s->latency_ms / 1e3 : NAN);
	gauge(f, "simd_concurrency_no_load_latency_seconds",
	    "step latency at no load, as the controller measured it (NaN: unknown)",
	    s->no_load_latency_ms >= 0 ? s->no_load_latency_ms / 1e3 : NAN);
	gauge(f, "simd_setup_users_written", "users written by the run's set-up",
	    s->setup.users_written);
	gauge(f, "simd_setup_users", "users the run's set-up writes", s->setup.users_total);
	gauge(f, "simd_subscribers", "subscribe streams open", s->subscribers);
}

static void
count_metrics(FILE *f, const struct snapshot *s)
{
	const struct engine_counts *c = &s->counts;

	counter(f, "simd_agents_processed_total", "agents evaluated", c->agents_processed);
	counter(f, "simd_agents_shopped_total", "agents that started a session", c->agents_shopped);
	counter(f, "simd_sessions_total", "sessions that ended", c->sessions);
	counter(f, "simd_orders_total", "orders placed", c->orders);
	counter(
	    f, "simd_carts_abandoned_total", "sessions that abandoned a filled cart", c->abandoned);
	counter(f, "simd_events_total", "session events written", c->events);
	counter(f, "simd_rows_written_total", "rows written to the shop database", c->rows);
	counter(f, "simd_retries_total", "steps retried", c->retries);
	counter(f, "simd_concurrency_changes_total", "changes of the concurrency limit",
	    s->limit_changes);
	counter(f, "simd_revenue_cents_total", "order totals, in cents", c->revenue_cents);
	head(f, "simd_errors_total", "counter", "sessions that failed, by type");
	for (int i = 0; i < STORE_ERR_COUNT; i++)
		if (i != STORE_OK)
			fprintf(f, "simd_errors_total{type=\"%s\"} %llu\n",
			    store_err_name((enum store_err)i),
			    (unsigned long long)c->errors_by_type[i]);
}

static void
store_metrics(FILE *f, const struct snapshot *s)
{
	head(f, "simd_store_connections", "gauge", "database connections by state");
	fprintf(f, "simd_store_connections{state=\"active\"} %u\n", s->store.connections_active);
	fprintf(f, "simd_store_connections{state=\"idle\"} %u\n", s->store.connections_idle);
	gauge(f, "simd_store_connections_max", "the cap on database connections", s->store.max);
	gauge(f, "simd_store_waiting", "steps waiting for a connection", s->store.waiting);
	counter(f, "simd_store_connections_opened_total", "connections opened", s->store.opened);
	counter(f, "simd_store_connections_closed_total", "connections closed", s->store.closed);
	counter(f, "simd_store_queries_total", "statements sent", s->store.queries);
}

static void
api_metrics(FILE *f, const struct shopapi_stats *a)
{
	if (!a->on)
		return;
	counter(f, "simd_api_requests_total", "shop API requests sent", a->requests);
	counter(f, "simd_api_ok_total", "shop API answers taken", a->ok);
	head(f, "simd_api_failures_total", "counter", "shop API requests that failed, by type");
	for (int i = 0; i < API_FAIL_TYPES; i++)
		fprintf(f, "simd_api_failures_total{type=\"%s\"} %llu\n", shopapi_fail_names[i],
		    (unsigned long long)a->fails[i]);
	gauge(f, "simd_api_rate", "shop API requests/s over about the last second", a->rate);
	gauge(f, "simd_api_rate_limit", "the rate limiter's requests/s (0: unlimited)",
	    a->rate_limit);
	gauge(f, "simd_api_in_flight", "shop API requests sent and not answered", a->in_flight);
	gauge(f, "simd_api_waiting", "shop API requests waiting for the rate limiter", a->waiting);
	head(f, "simd_api_connections", "gauge", "connections to the shop API by state");
	fprintf(f, "simd_api_connections{state=\"open\"} %u\n", a->conns_open);
	fprintf(f, "simd_api_connections{state=\"idle\"} %u\n", a->conns_idle);
}

/* persona_source = llm: the persona generation's counters (llm.h). */
static void
llm_metrics(FILE *f, const struct snapshot *s)
{
	const struct llm_stats *l = &s->llm;

	if (!s->has_llm)
		return;
	gauge(
	    f, "simd_llm_personas", "personas of the generation under way (or the last)", l->total);
	gauge(f, "simd_llm_personas_done", "of them settled", l->done);
	head(f, "simd_llm_personas_by_source", "gauge", "settled personas by where they came from");
	fprintf(f, "simd_llm_personas_by_source{source=\"cache\"} %u\n", l->cached);
	fprintf(f, "simd_llm_personas_by_source{source=\"llm\"} %u\n", l->from_llm);
	fprintf(
	    f, "simd_llm_personas_by_source{source=\"local_fallback\"} %u\n", l->local_fallbacks);
	counter(f, "simd_llm_requests_total", "LLM requests sent", l->requests);
	counter(f, "simd_llm_retries_total", "LLM requests retried on the same model", l->retries);
	counter(f, "simd_llm_429_total", "LLM answers 429", l->status_429);
	counter(f, "simd_llm_model_fallbacks_total", "times an agent moved on to the next model",
	    l->model_fallbacks);
	head(f, "simd_llm_errors_total", "counter", "LLM requests that failed, by type");
	for (int i = 0; i < LLM_ERR_TYPES; i++)
		fprintf(f, "simd_llm_errors_total{type=\"%s\"} %llu\n",
		    llm_err_name((enum llm_err)i), (unsigned long long)l->errors_by_type[i]);
	gauge(
	    f, "simd_llm_rate_limit", "the LLM rate limiter's requests/s (0: unlimited)", l->rate);
	gauge(f, "simd_llm_in_flight", "LLM requests sent and not answered", l->in_flight);
}

static void
latency_metrics(FILE *f, const struct snapshot *s)
{
	char label[64];

	head(f, "simd_step_duration_seconds", "histogram", "a session step's store latency");
	for (int t = 0; t < STORE_OP_TYPES; t++) {
		snprintf(label, sizeof(label), "step=\"%s\"", store_op_name((enum store_op_type)t));
		hist(f, "simd_step_duration_seconds", label, &s->op_lat[t], step_bounds);
	}
	head(f, "simd_session_duration_seconds", "histogram", "a shopping session's wall time");
	hist(f, "simd_session_duration_seconds", "", &s->session_lat, step_bounds);
	head(f, "simd_cycle_duration_seconds", "histogram", "a cycle's wall time");
	hist(f, "simd_cycle_duration_seconds", "", &s->cycle_lat, cycle_bounds);
}

int
prom_format(FILE *f, const struct snapshot *s, double cpu_s, double start_time)
{
	run_metrics(f, s);
	count_metrics(f, s);
	store_metrics(f, s);
	api_metrics(f, &s->api);
	llm_metrics(f, s);
	latency_metrics(f, s);
	gauge(f, "process_resident_memory_bytes", "resident memory of simd", (double)s->rss_bytes);
	head(f, "process_cpu_seconds_total", "counter", "CPU time simd has used");
	val(f, "process_cpu_seconds_total", "", cpu_s);
	gauge(f, "process_start_time_seconds", "when simd started (unix)", start_time);
	return ferror(f) ? -1 : 0;
}

/* ---- serving it ---- */

static void
metrics_cb(struct evhttp_request *req, void *arg)
{
	struct prom *p = arg;
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rc = -1;

	if (f != NULL) {
		server_snapshot(p->srv, p->s);
		rc = prom_format(
		    f, p->s, (double)watch_cpu_time_us() / 1e6, (double)p->srv->started_at);
		rc |= fclose(f);
	}
	if (rc != 0 || text == NULL || evbuffer_add(out, text, len) != 0) {
		free(text);
		evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
		return;
	}
	free(text);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", NULL);
}

static void
other_cb(struct evhttp_request *req, void *arg)
{
	evhttp_send_error(req, HTTP_NOTFOUND, "only /metrics is served here");
}

int
prom_parse_listen(
    const char *spec, char *host, size_t hostlen, uint16_t *port, char *err, size_t errlen)
{
	const char *colon = strrchr(spec, ':'), *ps = colon ? colon + 1 : spec;
	unsigned char addr[sizeof(struct in6_addr)];
	size_t hl = colon ? (size_t)(colon - spec) : 0;
	char *end;
	long v;

	if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') /* [::1]:9464 */
		spec++, hl -= 2;
	if (hl == 0)
		snprintf(host, hostlen, "%s", PROM_DEFAULT_HOST);
	else if (hl < hostlen)
		snprintf(host, hostlen, "%.*s", (int)hl, spec);
	else
		host[0] = '\0';
	v = strtol(ps, &end, 10);
	if (*ps == '\0' || *end != '\0' || v < 0 || v > 65535 ||
	    (inet_pton(AF_INET, host, addr) != 1 && inet_pton(AF_INET6, host, addr) != 1)) {
		snprintf(err, errlen,
		    "metrics_listen: \"%.64s\" wants [HOST:]PORT, HOST a numeric address "
		    "(127.0.0.1, [::1], 0.0.0.0) and PORT 0-65535",
		    spec);
		return -1;
	}
	*port = (uint16_t)v;
	return 0;
}

/* The address as bound: a port of 0 became a real one. */
static void
bound_addr(struct prom *p, struct evhttp_bound_socket *b, const char *host, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = (int)evhttp_bound_socket_get_fd(b);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						      : ((struct sockaddr_in *)&ss)->sin_port);
	snprintf(p->addr, sizeof(p->addr), strchr(host, ':') ? "[%s]:%u" : "%s:%u", host,
	    (unsigned)port);
}

struct prom *
prom_new(struct server *srv, const char *spec, char *err, size_t errlen)
{
	struct evhttp_bound_socket *b;
	struct prom *p;
	char host[64];
	uint16_t port;

	err[0] = '\0';
	if (*spec == '\0' || prom_parse_listen(spec, host, sizeof(host), &port, err, errlen) != 0)
		return NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL || (p->s = malloc(sizeof(*p->s))) == NULL ||
	    (p->http = evhttp_new(srv->base)) == NULL) {
		prom_free(p);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->srv = srv;
	evhttp_set_allowed_methods(p->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_timeout(p->http, PROM_TIMEOUT_S);
	evhttp_set_max_headers_size(p->http, PROM_MAX_HEADERS);
	evhttp_set_max_body_size(p->http, 0);
	evhttp_set_cb(p->http, "/metrics", metrics_cb, p);
	evhttp_set_gencb(p->http, other_cb, p);
	if ((b = evhttp_bind_socket_with_handle(p->http, host, port)) == NULL) {
		snprintf(err, errlen, "metrics_listen: cannot listen on %s port %u", host,
		    (unsigned)port);
		prom_free(p);
		return NULL;
	}
	bound_addr(p, b, host, port);
	log_info("metrics: serving http://%s/metrics", p->addr);
	return p;
}

void
prom_free(struct prom *p)
{
	if (p == NULL)
		return;
	if (p->http != NULL)
		evhttp_free(p->http);
	free(p->s);
	free(p);
}

const char *
prom_addr(const struct prom *p)
{
	return p->addr;
}
