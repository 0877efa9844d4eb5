/*
 * llmd.c - a test double for OpenAI-compatible LLM servers (OpenRouter,
 * OpenAI, vLLM, llama.cpp, Ollama), told per model how to misbehave.
 *
 *   llmd [--listen HOST:PORT] [--model NAME=BEHAVIOUR[,OPT...]]... [--default BEHAVIOUR]
 *        [--key KEY] [--rpm N] [--rpm-window SECONDS] [--rpm-retry-after]
 *        [--ratelimit-headers] [--log FILE] [--max-inflight N] [--max-body BYTES]
 *   llmd --check < reply.json
 *
 * Prints "port N" on stdout once it listens (--listen 127.0.0.1:0, the default,
 * picks a free port).  SIGTERM and SIGINT end it with status 0; a bad command
 * line exits 2, a failure to listen 1.
 *
 * BEHAVIOUR (per model; --default, 404 unless given, is for every other name):
 *   persona          200, a valid persona (content = the JSON), named "LLM ..."
 *   persona-fenced   200, the same inside ```json ... ``` with prose around it
 *   garbage          200, prose that is not JSON
 *   notpersona       200, JSON that is not a persona
 *   outofrange       200, a persona with price_sensitivity 7, sessions_per_week 500,
 *                    hours[2] -0.5 and hours[3] -1 (the rest valid)
 *   partial          200, a persona without hours, days, basket_mean, budget_cents
 *   truncated        200, half a persona, finish_reason "length"
 *   429              {"error":{"code":429,"message":"Rate limit exceeded","metadata":{}}}
 *   503              Ollama's {"error":"server busy, please try again.  maximum ..."}
 *   404              OpenAI's model_not_found;  500  OpenAI's server_error
 *   hang             never answers (until the client hangs up, counted as abandoned)
 *   slow=MS          persona after MS milliseconds
 * OPT: retry-after=S (429 and 503: a Retry-After header), delay=MS (answer late;
 *      only the delay of the model that gives the final answer counts), times=N
 *      (behave so the next N times this model is tried, then answer personas).
 * The persona is drawn from the agent_NNN (agent index NNN - 1, as simd numbers
 * them) and "seed N" found in the last user message (else any message):
 * persona_generate on another seed than simd's, so it differs from the local one.
 *
 * Endpoints:
 *   POST /v1/chat/completions (also /chat/completions, /api/v1/chat/completions):
 *        key (--key: "Authorization: Bearer KEY", else 401), body, --rpm (else 429,
 *        never reaching a model), then model and "models" in order: the first
 *        model whose behaviour is not an error (429/503/404/500) answers, and
 *        "model" in the reply names it; when all fail, the last one's error.
 *   GET  /v1/models (also /models, /api/v1/models): the models that are not 404s
 *   GET  /health: {"status":"ok"}
 *   GET  /_stats: {"requests","answered","agents","agents_again","rate_limited",
 *        "rpm_limited","abandoned","json_format","in_flight","max_concurrent",
 *        "by_status":{"200":n,...},"by_model":{NAME:{"asked","tried","answered"}}}
 *   GET  /_control: the settings;  POST /_control with any of
 *        {"models":{NAME:"BEHAVIOUR[,OPT...]" or null to remove}, "default":"BEHAVIOUR",
 *         "rpm":N (0 = off), "rpm_window":SECONDS, "rpm_retry_after":bool,
 *         "ratelimit_headers":bool, "reset_stats":bool}
 *        applies all or nothing (400 and {"error":"..."}) and answers the settings.
 * --rpm-window (60) is the span of --rpm; a new limit or span starts empty.
 * --ratelimit-headers adds x-ratelimit-{limit,remaining,reset}-requests to every
 * chat answer while --rpm is on.  --log FILE gets one line per chat request:
 *   TIME POST PATH status=N asked=M answered=M agent=agent_007 key=yes behaviour=B ms=N
 * (never the key itself; status=- and behaviour=abandoned when the client left).
 * --check reads a chat-completion reply on stdin and says whether its content
 * is a persona simd accepts ("ok NAME", exit 0) or why not ("invalid: ...", exit 1).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "llmd.h"

#define LLMD_MAX_BODY (1 << 20)
#define LLMD_MAX_HEADERS 16384
#define LLMD_CHECK_MAX (4 << 20)
#define LLMD_IDLE_TIMEOUT 60 /* seconds an idle keep-alive connection may sit */

static const char llmd_usage[] =
    "usage: llmd [--listen HOST:PORT] [--model NAME=BEHAVIOUR[,OPT...]]... "
    "[--default BEHAVIOUR]\n"
    "            [--key KEY] [--rpm N] [--rpm-window SECONDS] [--rpm-retry-after]\n"
    "            [--ratelimit-headers] [--log FILE] [--max-inflight N] [--max-body BYTES]\n"
    "       llmd --check < reply.json\n"
    "BEHAVIOUR: persona persona-fenced garbage notpersona outofrange partial truncated\n"
    "           429 503 404 500 hang slow=MS; OPT: retry-after=S delay=MS times=N\n";

double
llmd_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
llmd_send_json(struct evhttp_request *req, int code, json_t *body)
{
	char *s = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
	struct evbuffer *buf = evbuffer_new();

	json_decref(body);
	if (s == NULL || buf == NULL || evbuffer_add(buf, s, strlen(s)) != 0) {
		evhttp_send_error(req, 500, "llmd: out of memory");
	} else {
		evhttp_add_header(
		    evhttp_request_get_output_headers(req), "Content-Type", "application/json");
		/* libevent's own table calls a 429 "Client Error". */
		evhttp_send_reply(req, code, code == 429 ? "Too Many Requests" : NULL, buf);
	}
	if (buf != NULL)
		evbuffer_free(buf);
	free(s);
}

json_t *
llmd_openai_error(const char *message, const char *type, const char *param, const char *code)
{
	return json_pack("{s:{s:s, s:s, s:s?, s:s?}}", "error", "message", message, "type", type,
	    "param", param, "code", code);
}

/* llmd's own endpoints answer errors as {"error": "..."}. */
static void
llmd_send_error(struct evhttp_request *req, int code, const char *msg)
{
	llmd_send_json(req, code, json_pack("{ss}", "error", msg));
}

static int
llmd_method_is(struct evhttp_request *req, enum evhttp_cmd_type want)
{
	if (evhttp_request_get_command(req) == want)
		return 1;
	llmd_send_error(req, 405, "method not allowed");
	return 0;
}

/* GET /v1/models: every configured model that exists (is not a 404). */
static void
llmd_list_models(struct llmd *d, struct evhttp_request *req, const char *path)
{
	json_t *data = json_array();
	size_t i;
	int has_key;

	if (!llmd_method_is(req, EVHTTP_REQ_GET)) {
		json_decref(data);
		return;
	}
	if (!llmd_authorised(d, req, &has_key)) {
		json_decref(data);
		llmd_send_json(req, 401, llmd_key_error(has_key));
		return;
	}
	for (i = 0; data != NULL && i < d->models.n; i++)
		if (d->models.m[i].spec.kind != LLMD_E404)
			json_array_append_new(data,
			    json_pack("{sssssiss}", "id", d->models.m[i].name, "object", "model",
				"created", 0, "owned_by", "llmd"));
	llmd_send_json(req, 200, json_pack("{ssso}", "object", "list", "data", data));
}

static void
llmd_health(struct llmd *d, struct evhttp_request *req, const char *path)
{
	if (llmd_method_is(req, EVHTTP_REQ_GET))
		llmd_send_json(req, 200, json_pack("{ss}", "status", "ok"));
}

static void
llmd_stats(struct llmd *d, struct evhttp_request *req, const char *path)
{
	if (llmd_method_is(req, EVHTTP_REQ_GET))
		llmd_send_json(req, 200, llmd_stats_json(&d->stats, &d->models));
}

/* Control: parse into a copy, check it all, then swap it in. */

struct llmd_settings {
	struct llmd_models models;
	long rpm;
	double rpm_window;
	int rpm_retry_after;
	int ratelimit_headers;
	int reset_stats;
};

static json_t *
llmd_settings_json(const struct llmd *d)
{
	char def[LLMD_SPEC_MAX];

	llmd_spec_format(&d->models.other.spec, def, sizeof(def));
	return json_pack("{sosssisfsbsbsi}", "models", llmd_models_json(&d->models), "default", def,
	    "rpm", (int)d->window.limit, "rpm_window", d->window.span, "rpm_retry_after",
	    d->rpm_retry_after, "ratelimit_headers", d->ratelimit_headers, "max_inflight",
	    (int)d->max_inflight);
}

static int
llmd_set_models(struct llmd_settings *s, const json_t *v, char *err, size_t errlen)
{
	struct llmd_spec sp;
	const char *name;
	json_t *spec;

	if (!json_is_object(v)) {
		snprintf(err, errlen, "\"models\" must be an object of NAME: BEHAVIOUR or null");
		return -1;
	}
	json_object_foreach ((json_t *)v, name, spec) {
		if (json_is_null(spec)) {
			if (llmd_models_set(&s->models, name, NULL, err, errlen) != 0)
				return -1;
			continue;
		}
		if (!json_is_string(spec)) {
			snprintf(err, errlen, "\"models\": a behaviour must be a string or null");
			return -1;
		}
		if (llmd_spec_parse(json_string_value(spec), &sp, err, errlen) != 0 ||
		    llmd_models_set(&s->models, name, &sp, err, errlen) != 0)
			return -1;
	}
	return 0;
}

static int
llmd_set_one(struct llmd_settings *s, const char *key, const json_t *v, char *err, size_t errlen)
{
	if (strcmp(key, "models") == 0)
		return llmd_set_models(s, v, err, errlen);
	if (strcmp(key, "default") == 0 && json_is_string(v))
		return llmd_spec_parse(json_string_value(v), &s->models.other.spec, err, errlen);
	if (strcmp(key, "rpm") == 0 && json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) <= LLMD_RPM_MAX) {
		s->rpm = (long)json_integer_value(v);
	} else if (strcmp(key, "rpm_window") == 0 && json_is_number(v) &&
	    json_number_value(v) > 0 && json_number_value(v) <= 3600) {
		s->rpm_window = json_number_value(v);
	} else if (strcmp(key, "rpm_retry_after") == 0 && json_is_boolean(v)) {
		s->rpm_retry_after = json_is_true(v);
	} else if (strcmp(key, "ratelimit_headers") == 0 && json_is_boolean(v)) {
		s->ratelimit_headers = json_is_true(v);
	} else if (strcmp(key, "reset_stats") == 0 && json_is_boolean(v)) {
		s->reset_stats = json_is_true(v);
	} else {
		snprintf(err, errlen,
		    "bad \"%.40s\" (models: object, default: string, rpm: 0..%d, "
		    "rpm_window: seconds 0..3600, rpm_retry_after, ratelimit_headers, reset_stats: "
		    "booleans)",
		    key, LLMD_RPM_MAX);
		return -1;
	}
	return 0;
}

static int
llmd_control_apply(struct llmd *d, const json_t *j, char *err, size_t errlen)
{
	struct llmd_settings *s = malloc(sizeof(*s));
	const char *key;
	json_t *v;
	int rc = -1;

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(&s->models, &d->models, sizeof(s->models));
	s->rpm = d->window.limit;
	s->rpm_window = d->window.span;
	s->rpm_retry_after = d->rpm_retry_after;
	s->ratelimit_headers = d->ratelimit_headers;
	s->reset_stats = 0;
	json_object_foreach ((json_t *)j, key, v)
		if (llmd_set_one(s, key, v, err, errlen) != 0)
			goto out;
	/* A new limit or window starts empty: the tests want a known state. */
	if ((s->rpm != (long)d->window.limit || s->rpm_window != d->window.span) &&
	    llmd_window_set(&d->window, (unsigned)s->rpm, s->rpm_window) != 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	memcpy(&d->models, &s->models, sizeof(d->models));
	d->rpm_retry_after = s->rpm_retry_after;
	d->ratelimit_headers = s->ratelimit_headers;
	if (s->reset_stats)
		llmd_stats_reset(&d->stats, &d->models);
	rc = 0;
out:
	free(s);
	return rc;
}

static void
llmd_control(struct llmd *d, struct evhttp_request *req, const char *path)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	char err[256];
	json_t *j;

	if (evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
		llmd_send_json(req, 200, llmd_settings_json(d));
		return;
	}
	if (!llmd_method_is(req, EVHTTP_REQ_POST))
		return;
	j = len > 0 ? json_loadb((const char *)evbuffer_pullup(in, -1), len, 0, NULL) : NULL;
	if (!json_is_object(j)) {
		llmd_send_error(req, 400, "the body must be a JSON object");
	} else if (llmd_control_apply(d, j, err, sizeof(err)) != 0) {
		llmd_send_error(req, 400, err);
	} else {
		llmd_send_json(req, 200, llmd_settings_json(d));
	}
	json_decref(j);
}

static const struct llmd_route {
	const char *path;
	void (*fn)(struct llmd *, struct evhttp_request *, const char *);
} llmd_routes[] = {
	{ "/v1/chat/completions", llmd_chat },
	{ "/chat/completions", llmd_chat },
	{ "/api/v1/chat/completions", llmd_chat },
	{ "/v1/models", llmd_list_models },
	{ "/models", llmd_list_models },
	{ "/api/v1/models", llmd_list_models },
	{ "/health", llmd_health },
	{ "/_stats", llmd_stats },
	{ "/_control", llmd_control },
};

static void
llmd_route(struct evhttp_request *req, void *arg)
{
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	size_t i;

	for (i = 0; path != NULL && i < sizeof(llmd_routes) / sizeof(llmd_routes[0]); i++) {
		if (strcmp(path, llmd_routes[i].path) == 0) {
			llmd_routes[i].fn(arg, req, llmd_routes[i].path);
			return;
		}
	}
	llmd_send_json(req, 404,
	    llmd_openai_error(
		"Unknown request URL.", "invalid_request_error", NULL, "unknown_url"));
}

/* Start and stop. */

static void
llmd_signal(evutil_socket_t sig, short what, void *arg)
{
	struct llmd *d = arg;

	event_base_loopbreak(d->base);
}

/* "HOST:PORT", "[V6]:PORT" or "PORT" (on 127.0.0.1). */
static int
llmd_parse_listen(const char *s, char *host, size_t hostlen, unsigned *port)
{
	const char *colon = strrchr(s, ':');
	const char *h = s, *p = colon != NULL ? colon + 1 : s;
	size_t n = colon != NULL ? (size_t)(colon - s) : 0;
	char *end;
	long v;

	if (colon == NULL)
		h = "127.0.0.1", n = strlen(h);
	if (n >= 2 && h[0] == '[' && h[n - 1] == ']')
		h++, n -= 2;
	errno = 0;
	v = strtol(p, &end, 10);
	if (n == 0 || n >= hostlen || *p == '\0' || *end != '\0' || errno != 0 || v < 0 ||
	    v > 65535)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	*port = (unsigned)v;
	return 0;
}

static int
llmd_listen(struct llmd *d, const char *listen)
{
	struct evhttp_bound_socket *bs;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[256];
	unsigned port;

	if (llmd_parse_listen(listen, host, sizeof(host), &port) != 0) {
		fprintf(stderr, "llmd: --listen wants HOST:PORT, got \"%s\"\n", listen);
		return -1;
	}
	bs = evhttp_bind_socket_with_handle(d->http, host, (ev_uint16_t)port);
	if (bs == NULL ||
	    getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &sl) != 0) {
		fprintf(stderr, "llmd: cannot listen on %s: %s\n", listen, strerror(errno));
		return -1;
	}
	port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
					: ntohs(((struct sockaddr_in *)&ss)->sin_port);
	printf("port %u\n", port);
	fflush(stdout);
	return 0;
}

static int
llmd_start(struct llmd *d, const char *listen, long max_body)
{
	static const int sigs[2] = { SIGTERM, SIGINT };
	struct sigaction sa;
	int i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN; /* a client gone mid-answer is an error, not a death */
	sigaction(SIGPIPE, &sa, NULL);
	if ((d->base = event_base_new()) == NULL || (d->http = evhttp_new(d->base)) == NULL) {
		fprintf(stderr, "llmd: out of memory\n");
		return -1;
	}
	evhttp_set_max_body_size(d->http, max_body);
	evhttp_set_max_headers_size(d->http, LLMD_MAX_HEADERS);
	evhttp_set_timeout(d->http, LLMD_IDLE_TIMEOUT);
	evhttp_set_allowed_methods(d->http,
	    EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
		EVHTTP_REQ_DELETE);
	evhttp_set_gencb(d->http, llmd_route, d);
	for (i = 0; i < 2; i++) {
		d->sig[i] = evsignal_new(d->base, sigs[i], llmd_signal, d);
		if (d->sig[i] == NULL || evsignal_add(d->sig[i], NULL) != 0) {
			fprintf(stderr, "llmd: cannot watch signal %d\n", sigs[i]);
			return -1;
		}
	}
	return llmd_listen(d, listen);
}

static void
llmd_free(struct llmd *d)
{
	int i;

	/* Pending requests first: evhttp_free frees them with their connections. */
	llmd_pending_free_all(d);
	if (d->http != NULL)
		evhttp_free(d->http);
	for (i = 0; i < 2; i++)
		if (d->sig[i] != NULL)
			event_free(d->sig[i]);
	if (d->base != NULL)
		event_base_free(d->base);
	llmd_window_clear(&d->window);
	llmd_stats_clear(&d->stats);
	if (d->log != NULL)
		fclose(d->log);
	free(d->key);
}

/* Command line. */

struct llmd_args {
	const char *listen;
	long max_body;
	long rpm;
	double rpm_window;
	int check;
};

static int
llmd_arg_long(const char *opt, const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi) {
		fprintf(stderr, "llmd: --%s wants a whole number from %ld to %ld\n", opt, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

static int
llmd_arg_window(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || errno != 0 || !(v > 0 && v <= 3600)) {
		fprintf(stderr, "llmd: --rpm-window wants seconds, more than 0 and at most 3600\n");
		return -1;
	}
	*out = v;
	return 0;
}

static int
llmd_arg_spec(struct llmd *d, int opt, const char *s)
{
	char err[256];
	int rc;

	if (opt == 'm')
		rc = llmd_models_set_arg(&d->models, s, err, sizeof(err));
	else
		rc = llmd_spec_parse(s, &d->models.other.spec, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "llmd: --%s %s: %s\n", opt == 'm' ? "model" : "default", s, err);
	return rc;
}

static int
llmd_arg_file(struct llmd *d, int opt, const char *s)
{
	if (opt == 'k') {
		free(d->key);
		if ((d->key = strdup(s)) == NULL || *s == '\0') {
			fprintf(stderr, "llmd: --key must not be empty\n");
			return -1;
		}
		return 0;
	}
	if (d->log != NULL)
		fclose(d->log);
	if ((d->log = fopen(s, "a")) == NULL) {
		fprintf(stderr, "llmd: --log %s: %s\n", s, strerror(errno));
		return -1;
	}
	return 0;
}

static int
llmd_arg(struct llmd *d, struct llmd_args *a, int opt, const char *s)
{
	long v;

	switch (opt) {
	case 'l': a->listen = s; return 0;
	case 'm':
	case 'd': return llmd_arg_spec(d, opt, s);
	case 'k':
	case 'L': return llmd_arg_file(d, opt, s);
	case 'r': return llmd_arg_long("rpm", s, 0, LLMD_RPM_MAX, &a->rpm);
	case 'w': return llmd_arg_window(s, &a->rpm_window);
	case 'R': d->rpm_retry_after = 1; return 0;
	case 'H': d->ratelimit_headers = 1; return 0;
	case 'i':
		if (llmd_arg_long("max-inflight", s, 1, 100000, &v) != 0)
			return -1;
		d->max_inflight = (unsigned)v;
		return 0;
	case 'b': return llmd_arg_long("max-body", s, 1024, 64L << 20, &a->max_body);
	case 'c': a->check = 1; return 0;
	default: return -1;
	}
}

static int
llmd_args(struct llmd *d, struct llmd_args *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "model", required_argument, NULL, 'm' },
		{ "default", required_argument, NULL, 'd' },
		{ "key", required_argument, NULL, 'k' },
		{ "log", required_argument, NULL, 'L' },
		{ "rpm", required_argument, NULL, 'r' },
		{ "rpm-window", required_argument, NULL, 'w' },
		{ "rpm-retry-after", no_argument, NULL, 'R' },
		{ "ratelimit-headers", no_argument, NULL, 'H' },
		{ "max-inflight", required_argument, NULL, 'i' },
		{ "max-body", required_argument, NULL, 'b' },
		{ "check", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'h' || opt == '?' || llmd_arg(d, a, opt, optarg) != 0) {
			fputs(llmd_usage, opt == 'h' ? stdout : stderr);
			return opt == 'h' ? 1 : -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "llmd: unexpected argument \"%s\"\n%s", argv[optind], llmd_usage);
		return -1;
	}
	return 0;
}

/* --check: stdin holds a reply; say whether simd would take its persona. */
static int
llmd_check_main(void)
{
	char *buf = malloc(LLMD_CHECK_MAX), msg[256];
	size_t len;

	if (buf == NULL) {
		fprintf(stderr, "llmd: out of memory\n");
		return 2;
	}
	len = fread(buf, 1, LLMD_CHECK_MAX, stdin);
	if (llmd_check(buf, len, msg, sizeof(msg)) != 0) {
		printf("invalid: %s\n", msg);
		free(buf);
		return 1;
	}
	printf("ok %s\n", msg);
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	struct llmd_args a = { "127.0.0.1:0", LLMD_MAX_BODY, 0, 60.0, 0 };
	struct llmd d;
	int rc;

	memset(&d, 0, sizeof(d));
	llmd_models_init(&d.models);
	d.max_inflight = 64;
	rc = llmd_args(&d, &a, argc, argv);
	if (rc != 0 || a.check) {
		llmd_free(&d);
		return rc > 0 ? 0 : rc < 0 ? 2 : llmd_check_main();
	}
	if (llmd_window_set(&d.window, (unsigned)a.rpm, a.rpm_window) != 0 ||
	    llmd_stats_init(&d.stats) != 0) {
		fprintf(stderr, "llmd: out of memory\n");
		rc = 1;
	}
	if (rc == 0 && llmd_start(&d, a.listen, a.max_body) != 0)
		rc = 1;
	if (rc == 0 && event_base_dispatch(d.base) < 0)
		rc = 1;
	llmd_free(&d);
	libevent_global_shutdown();
	return rc;
}
