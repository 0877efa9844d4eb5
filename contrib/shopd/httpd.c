/*
 * httpd.c - from an evhttp request to a route's handler: route, token, rate
 * limits, shared headers and the JSON body; and the answers, JSON always.
 *
 * The rate limits are taken before the token is refused, so a flood of bad
 * tokens is limited like any other; they are skipped only for a request that
 * says X-Simulation-Mode: true and carries a valid token with "sim": true.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "sim/log.h"

#include "limiter.h"
#include "shopd.h"

static const char *
status_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	default: return status >= 500 ? "Internal Server Error" : "Error";
	}
}

static const char *
method_name(int m)
{
	return m == EVHTTP_REQ_GET ? "GET"
	    : m == EVHTTP_REQ_POST ? "POST"
	    : m == EVHTTP_REQ_HEAD ? "HEAD"
				   : "other";
}

void
req_header(struct req *q, const char *name, const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(q->r), name, value);
}

static void
req_send(struct req *q, int status, const char *text, size_t len)
{
	struct evbuffer *out = evbuffer_new();

	q->answered = 1;
	req_header(q, "Content-Type", "application/json");
	req_header(q, "Cache-Control", "no-store");
	if (out == NULL || evbuffer_add(out, text, len) != 0 || evbuffer_add(out, "\n", 1) != 0) {
		evhttp_send_error(q->r, 500, "Internal Server Error");
	} else {
		evhttp_send_reply(q->r, status, status_reason(status), out);
	}
	if (out != NULL)
		evbuffer_free(out);
	if (status >= 500)
		log_warnx("%s %s: %d %.200s", method_name(evhttp_request_get_command(q->r)),
		    q->path, status, text);
	else
		log_debug(
		    "%s %s: %d", method_name(evhttp_request_get_command(q->r)), q->path, status);
}

void
req_reply(struct req *q, int status, json_t *body)
{
	char *text;

	if (q->answered) {
		json_decref(body);
		return;
	}
	text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (text == NULL) {
		req_error(q, 500, "internal", "out of memory");
		return;
	}
	req_send(q, status, text, strlen(text));
	free(text);
}

void
req_error(struct req *q, int status, const char *code, const char *fmt, ...)
{
	static const char nomem[] =
	    "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
	char msg[400], *text, *c;
	va_list ap;
	json_t *j;

	if (q->answered)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Messages may echo a client's bytes: keep them printable ASCII, so valid UTF-8. */
	for (c = msg; *c != '\0'; c++)
		if ((unsigned char)*c < ' ' || (unsigned char)*c >= 0x7f)
			*c = '?';
	if (status == 503)
		req_header(q, "Retry-After", "1");
	j = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg);
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (text == NULL) {
		req_send(q, 500, nomem, sizeof(nomem) - 1);
		return;
	}
	req_send(q, status, text, strlen(text));
	free(text);
}

int
req_user(struct req *q, int64_t user)
{
	if (user == q->claims.sub)
		return 0;
	req_error(q, 403, "forbidden", "the token speaks for user %lld, not %lld",
	    (long long)q->claims.sub, (long long)user);
	return -1;
}

/* ---- query parameters ---- */

int
req_query_keys(struct req *q, const char *const *keys)
{
	struct evkeyval *kv, *kv2;
	size_t i;

	TAILQ_FOREACH (kv, &q->query, next) {
		for (i = 0; keys[i] != NULL && strcmp(keys[i], kv->key) != 0; i++)
			;
		if (keys[i] == NULL) {
			req_error(
			    q, 400, "bad_request", "unknown query parameter \"%.40s\"", kv->key);
			return -1;
		}
		for (kv2 = TAILQ_NEXT(kv, next); kv2 != NULL; kv2 = TAILQ_NEXT(kv2, next)) {
			if (strcmp(kv2->key, kv->key) == 0) {
				req_error(q, 400, "bad_request", "query parameter %s given twice",
				    kv->key);
				return -1;
			}
		}
	}
	return 0;
}

const char *
req_query(struct req *q, const char *key)
{
	return evhttp_find_header(&q->query, key);
}

/* A decimal integer of at most 18 digits, nothing else: no sign, no spaces. */
static int
parse_decimal(const char *s, int64_t *out)
{
	size_t n = strspn(s, "0123456789");

	if (n == 0 || n > 18 || s[n] != '\0')
		return -1;
	*out = strtoll(s, NULL, 10);
	return 0;
}

int
req_query_int(struct req *q, const char *key, int64_t min, int64_t max, int required, int64_t *out)
{
	const char *v = req_query(q, key);
	int64_t n;

	if (v == NULL && !required)
		return 0;
	if (v == NULL) {
		req_error(q, 400, "bad_request", "query parameter %s is required", key);
		return -1;
	}
	if (parse_decimal(v, &n) == -1 || n < min || n > max) {
		req_error(q, 400, "bad_request",
		    "query parameter %s must be an integer from"
		    " %lld to %lld",
		    key, (long long)min, (long long)max);
		return -1;
	}
	*out = n;
	return 0;
}

/* ---- before the handler ---- */

static const struct route *
route_find(const char *path, int method, int *known, char *allow, size_t allowlen)
{
	const struct route *rt, *hit = NULL;
	size_t i, n;

	*known = 0;
	allow[0] = '\0';
	for (i = 0; i < api_nroutes; i++) {
		rt = &api_routes[i];
		n = strlen(rt->path);
		if (strncmp(path, rt->path, n) != 0 ||
		    (rt->flags & R_PREFIX ? path[n] == '\0' : path[n] != '\0'))
			continue;
		*known = 1;
		if (strstr(allow, method_name(rt->method)) == NULL)
			snprintf(allow + strlen(allow), allowlen - strlen(allow), "%s%s",
			    allow[0] ? ", " : "", method_name(rt->method));
		if (rt->method == method && hit == NULL)
			hit = rt;
	}
	return hit;
}

/* NULL when the request carries a valid token (claims in q); else why not. */
static const char *
req_token(struct req *q)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(q->r), "Authorization");

	if (h == NULL)
		return "no Authorization header";
	if (strncasecmp(h, "Bearer ", 7) != 0)
		return "Authorization must be \"Bearer <token>\"";
	h += 7;
	while (*h == ' ')
		h++;
	return jwt_verify(&q->sd->key, h, (int64_t)time(NULL), &q->claims);
}

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* 0 when the request may go on; else it has been answered 429. */
static int
req_limits(struct req *q, int token_ok)
{
	const char *sim =
	    evhttp_find_header(evhttp_request_get_input_headers(q->r), "X-Simulation-Mode");
	char *peer = NULL, after[16];
	const char *addr;
	ev_uint16_t port;
	unsigned wait = 0;
	double now;

	if (sim != NULL && strcmp(sim, "true") == 0 && token_ok && q->claims.sim)
		return 0;
	evhttp_connection_get_peer(evhttp_request_get_connection(q->r), &peer, &port);
	addr = peer != NULL ? peer : "?";
	now = mono_now();
	if (q->route->flags & R_LIM_SEARCH)
		wait = limiter_take(q->sd->lim_search, addr, now);
	if (wait == 0 && (q->route->flags & R_LIM_PRODUCTS))
		wait = limiter_take(q->sd->lim_products, addr, now);
	if (wait == 0)
		return 0;
	snprintf(after, sizeof(after), "%u", wait);
	req_header(q, "Retry-After", after);
	req_error(q, 429, "rate_limited", "too many requests from %s; retry in %u s", addr, wait);
	return -1;
}

static int
req_sim_time(struct req *q)
{
	const char *v = evhttp_find_header(evhttp_request_get_input_headers(q->r), "X-Sim-Time");

	if (v == NULL) {
		req_error(q, 400, "bad_request",
		    "X-Sim-Time (the step's simulated time, unix"
		    " seconds) is required");
		return -1;
	}
	if (parse_decimal(v, &q->sim_time) == -1 || q->sim_time > SHOPD_SIM_TIME_MAX) {
		req_error(q, 400, "bad_request", "X-Sim-Time must be unix seconds, 0 to %lld",
		    (long long)SHOPD_SIM_TIME_MAX);
		return -1;
	}
	return 0;
}

static int
req_idem(struct req *q)
{
	const char *v =
	    evhttp_find_header(evhttp_request_get_input_headers(q->r), "Idempotency-Key");
	size_t i, n = v ? strlen(v) : 0;

	for (i = 0; i < n && v[i] > ' ' && v[i] < 0x7f; i++)
		;
	if (n == 0 || n > SHOP_KEY_MAX || i != n) {
		req_error(q, 400, "bad_request",
		    "Idempotency-Key is required: 1 to %d printable"
		    " ASCII characters, no spaces",
		    SHOP_KEY_MAX);
		return -1;
	}
	memcpy(q->idem, v, n + 1);
	return 0;
}

static int
is_json_type(const char *ct)
{
	size_t n = strlen("application/json");

	return ct != NULL && strncasecmp(ct, "application/json", n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static int
req_body(struct req *q)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(q->r);
	size_t len = evbuffer_get_length(in);
	const char *ct = evhttp_find_header(evhttp_request_get_input_headers(q->r), "Content-Type");
	unsigned char *p;
	json_error_t e;

	if (!is_json_type(ct)) {
		req_error(q, 415, "unsupported_media_type",
		    "the body must be"
		    " Content-Type: application/json");
		return -1;
	}
	if (len == 0 || (p = evbuffer_pullup(in, -1)) == NULL) {
		req_error(q, 400, "invalid_json", "the body is empty");
		return -1;
	}
	q->body = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, &e);
	if (q->body == NULL) {
		req_error(q, 400, "invalid_json", "the body is not JSON: %s (at byte %d)", e.text,
		    e.position);
		return -1;
	}
	if (!json_is_object(q->body)) {
		req_error(q, 400, "invalid_json", "the body must be a JSON object");
		return -1;
	}
	return 0;
}

/* Everything the route asks for, in the order the contract checks it. */
static int
req_prepare(struct req *q, const char *query)
{
	const char *why = req_token(q);

	if (req_limits(q, why == NULL) == -1)
		return -1;
	if (why != NULL) {
		req_header(q, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
		req_error(q, 401, "unauthorized", "%s", why);
		return -1;
	}
	if (query != NULL && evhttp_parse_query_str(query, &q->query) == -1) {
		req_error(q, 400, "bad_request", "malformed query string");
		return -1;
	}
	if (((q->route->flags & R_TIME) && req_sim_time(q) == -1) ||
	    ((q->route->flags & R_IDEM) && req_idem(q) == -1) ||
	    ((q->route->flags & R_BODY) && req_body(q) == -1))
		return -1;
	return 0;
}

void
httpd_request(struct evhttp_request *r, void *arg)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r);
	struct req q;
	char allow[64];
	int known;

	memset(&q, 0, sizeof(q));
	TAILQ_INIT(&q.query);
	q.sd = arg;
	q.r = r;
	q.sd->requests++;
	q.path = uri ? evhttp_uri_get_path(uri) : NULL;
	if (q.path == NULL || q.path[0] == '\0')
		q.path = "/";
	q.route = route_find(q.path, evhttp_request_get_command(r), &known, allow, sizeof(allow));
	if (q.route == NULL && known) {
		req_header(&q, "Allow", allow);
		req_error(&q, 405, "method_not_allowed", "%s takes %s", q.path, allow);
	} else if (q.route == NULL) {
		req_error(&q, 404, "not_found", "no such endpoint: %.100s", q.path);
	} else {
		q.arg = q.path + strlen(q.route->path);
		if (req_prepare(&q, evhttp_uri_get_query(uri)) == 0)
			q.route->fn(&q);
		if (!q.answered)
			req_error(&q, 500, "internal", "the handler gave no answer");
	}
	evhttp_clear_headers(&q.query);
	json_decref(q.body);
}
