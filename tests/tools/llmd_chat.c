/*
 * llmd_chat.c - POST /v1/chat/completions: check the request the way the
 * services do (key, body, --rpm), walk the model and its "models" fallbacks
 * as OpenRouter does, and answer now, later (delay) or never (hang).
 *
 * A request that is answered later keeps a watch on its client's socket:
 * libevent 2.1 stops reading once a request is in, so without it a client
 * that gave up would hold its slot (and its place in in_flight) for ever.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "llmd.h"

#define LLMD_CHAIN_MAX 16 /* model plus "models" entries */
#define LLMD_MESSAGES_MAX 256

/* What the log line says about one request. */
struct llmd_call {
	char asked[LLMD_NAME_MAX];
	char answered[LLMD_NAME_MAX];
	char agent_id[24];
	const char *path;
	const char *note;
	int has_key;
	int has_agent;
	uint32_t agent;
	double start;
};

struct llmd_pending {
	struct llmd *d;
	struct llmd_pending *prev, *next;
	struct evhttp_request *req;
	struct event *timer; /* NULL: hangs */
	struct event *watch; /* the client's socket, to notice it hang up */
	json_t *body;
	int code;
	struct llmd_call call;
};

struct llmd_request {
	const char *chain[LLMD_CHAIN_MAX];
	size_t nchain;
	struct llmd_prompt prompt;
	int json_format;
};

static void
llmd_log(struct llmd *d, const struct llmd_call *c, int code)
{
	struct timespec ts;
	struct tm tm;
	char when[32], status[12];

	if (d->log == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	if (code > 0)
		snprintf(status, sizeof(status), "%d", code);
	else
		snprintf(status, sizeof(status), "-");
	fprintf(d->log,
	    "%s.%03ldZ POST %s status=%s asked=%s answered=%s agent=%s key=%s "
	    "behaviour=%s ms=%.0f\n",
	    when, ts.tv_nsec / 1000000, c->path, status, c->asked[0] ? c->asked : "-",
	    c->answered[0] ? c->answered : "-", c->agent_id[0] ? c->agent_id : "-",
	    c->has_key ? "yes" : "no", c->note ? c->note : "-", (llmd_now() - c->start) * 1000.0);
	fflush(d->log);
}

/* Every answer to a chat request ends here. */
static void
llmd_finish(
    struct llmd *d, struct evhttp_request *req, const struct llmd_call *c, int code, json_t *body)
{
	if (code > 0 && code < LLMD_STATUS_MAX)
		d->stats.status[code]++;
	if (code == 429)
		d->stats.rate_limited++;
	if (code == 200)
		llmd_models_find(&d->models, c->answered)->answered++;
	if (code == 200 && c->has_agent)
		llmd_stats_agent(&d->stats, c->agent);
	d->stats.in_flight--;
	llmd_log(d, c, code);
	llmd_send_json(req, code, body);
}

static void
llmd_pending_free(struct llmd_pending *p)
{
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		p->d->pending = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	if (p->timer != NULL)
		event_free(p->timer);
	if (p->watch != NULL)
		event_free(p->watch);
	json_decref(p->body);
	free(p);
}

void
llmd_pending_free_all(struct llmd *d)
{
	while (d->pending != NULL)
		llmd_pending_free(d->pending);
}

static void
llmd_pending_due(evutil_socket_t fd, short what, void *arg)
{
	struct llmd_pending *p = arg;

	llmd_finish(p->d, p->req, &p->call, p->code, p->body);
	p->body = NULL;
	llmd_pending_free(p);
}

static void
llmd_pending_watch(evutil_socket_t fd, short what, void *arg)
{
	struct llmd_pending *p = arg;
	struct evhttp_connection *conn;
	ssize_t n;
	char c;

	n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n > 0) {
		/* A pipelined request: libevent reads it after our answer; stop peeking. */
		event_del(p->watch);
		return;
	}
	p->d->stats.abandoned++;
	p->d->stats.in_flight--;
	p->call.note = "abandoned";
	llmd_log(p->d, &p->call, 0);
	conn = evhttp_request_get_connection(p->req);
	llmd_pending_free(p);
	evhttp_connection_free(conn); /* and the request with it */
}

/* Answers after delay_ms, or never when delay_ms < 0 (unless the client hangs up). */
static void
llmd_defer(struct llmd *d, struct evhttp_request *req, const struct llmd_call *c, int code,
    json_t *body, int delay_ms)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct timeval tv = { delay_ms / 1000, (delay_ms % 1000) * 1000 };
	struct llmd_pending *p = calloc(1, sizeof(*p));
	evutil_socket_t fd;

	fd = conn != NULL ? bufferevent_getfd(evhttp_connection_get_bufferevent(conn)) : -1;
	if (p == NULL || fd < 0) {
		free(p);
		json_decref(body);
		llmd_finish(d, req, c, 500,
		    llmd_openai_error("llmd: cannot defer the answer", "server_error", NULL, NULL));
		return;
	}
	p->d = d;
	p->req = req;
	p->body = body;
	p->code = code;
	p->call = *c;
	p->next = d->pending;
	if (d->pending != NULL)
		d->pending->prev = p;
	d->pending = p;
	p->watch = event_new(d->base, fd, EV_READ | EV_PERSIST, llmd_pending_watch, p);
	if (delay_ms >= 0)
		p->timer = evtimer_new(d->base, llmd_pending_due, p);
	if (p->watch == NULL || event_add(p->watch, NULL) != 0 ||
	    (delay_ms >= 0 && (p->timer == NULL || evtimer_add(p->timer, &tv) != 0)))
		llmd_pending_due(-1, 0, p); /* answer now rather than never */
}

int
llmd_authorised(const struct llmd *d, struct evhttp_request *req, int *has_key)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");

	*has_key = h != NULL && strncmp(h, "Bearer ", 7) == 0 && h[7] != '\0';
	return d->key == NULL || (*has_key && strcmp(h + 7, d->key) == 0);
}

static json_t *
llmd_bad(const char *message, const char *param)
{
	return llmd_openai_error(message, "invalid_request_error", param, NULL);
}

/* Request parsing: a model chain, the messages, the options we check. */

static int
llmd_chain_add(struct llmd_request *r, const json_t *v, const char **errmsg)
{
	const char *name = json_string_value(v);
	size_t i;

	if (name == NULL || !llmd_name_ok(name)) {
		*errmsg = "model names must be strings of printable characters";
		return -1;
	}
	for (i = 0; i < r->nchain; i++)
		if (strcmp(r->chain[i], name) == 0)
			return 0;
	if (r->nchain == LLMD_CHAIN_MAX) {
		*errmsg = "too many models";
		return -1;
	}
	r->chain[r->nchain++] = name;
	return 0;
}

static int
llmd_parse_models(const json_t *j, struct llmd_request *r, const char **errmsg, const char **param)
{
	const json_t *model = json_object_get(j, "model"), *models = json_object_get(j, "models");
	size_t i;

	*param = "model";
	if (model != NULL && llmd_chain_add(r, model, errmsg) != 0)
		return -1;
	*param = "models";
	if (models != NULL && !json_is_array(models)) {
		*errmsg = "\"models\" must be an array of model names";
		return -1;
	}
	for (i = 0; i < json_array_size(models); i++)
		if (llmd_chain_add(r, json_array_get(models, i), errmsg) != 0)
			return -1;
	*param = "model";
	if (r->nchain == 0) {
		*errmsg = "you must provide a model parameter";
		return -1;
	}
	return 0;
}

/* A message's text: a string, or the first text part of an array. */
static const char *
llmd_message_text(const json_t *msg)
{
	const json_t *c = json_object_get(msg, "content"), *part;
	size_t i;

	if (json_is_string(c))
		return json_string_value(c);
	json_array_foreach (c, i, part)
		if (json_is_string(json_object_get(part, "text")))
			return json_string_value(json_object_get(part, "text"));
	return NULL;
}

static int
llmd_message_ok(const json_t *msg)
{
	static const char *const roles[] = { "system", "developer", "user", "assistant", "tool" };
	const char *role = json_string_value(json_object_get(msg, "role"));
	const json_t *c = json_object_get(msg, "content");
	size_t i;

	if (role == NULL || !(json_is_string(c) || json_is_array(c)))
		return 0;
	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strcmp(role, roles[i]) == 0)
			return 1;
	return 0;
}

/* The agent and seed: from the last user message that names them, else any message. */
static void
llmd_scan_messages(const json_t *msgs, struct llmd_prompt *pr)
{
	struct llmd_prompt got;
	const char *text, *role;
	size_t i;
	int pass;

	memset(pr, 0, sizeof(*pr));
	for (pass = 0; pass < 2; pass++) {
		for (i = json_array_size(msgs); i-- > 0;) {
			role = json_string_value(json_object_get(json_array_get(msgs, i), "role"));
			text = llmd_message_text(json_array_get(msgs, i));
			if (text == NULL || (pass == 0 && strcmp(role, "user") != 0))
				continue;
			llmd_prompt_scan(text, &got);
			if (!pr->has_agent && got.has_agent) {
				pr->has_agent = 1;
				pr->agent = got.agent;
				memcpy(pr->agent_id, got.agent_id, sizeof(pr->agent_id));
			}
			if (!pr->has_seed && got.has_seed) {
				pr->has_seed = 1;
				pr->seed = got.seed;
			}
		}
	}
}

static int
llmd_parse_messages(const json_t *j, struct llmd_request *r, const char **errmsg)
{
	const json_t *msgs = json_object_get(j, "messages");
	size_t i;

	if (!json_is_array(msgs) || json_array_size(msgs) == 0 ||
	    json_array_size(msgs) > LLMD_MESSAGES_MAX) {
		*errmsg = "\"messages\" must be an array of 1 to 256 messages";
		return -1;
	}
	for (i = 0; i < json_array_size(msgs); i++) {
		if (!llmd_message_ok(json_array_get(msgs, i))) {
			*errmsg = "each message needs a known \"role\" and a \"content\"";
			return -1;
		}
	}
	llmd_scan_messages(msgs, &r->prompt);
	return 0;
}

static int
llmd_parse_options(const json_t *j, struct llmd_request *r, const char **errmsg, const char **param)
{
	const json_t *t = json_object_get(j, "temperature"), *mt = json_object_get(j, "max_tokens");
	const json_t *rf = json_object_get(j, "response_format");
	const char *type = json_string_value(json_object_get(rf, "type"));

	if (t != NULL &&
	    (!json_is_number(t) || json_number_value(t) < 0 || json_number_value(t) > 2)) {
		*errmsg = "\"temperature\" must be a number from 0 to 2";
		*param = "temperature";
		return -1;
	}
	if (mt != NULL && (!json_is_integer(mt) || json_integer_value(mt) < 1)) {
		*errmsg = "\"max_tokens\" must be a whole number >= 1";
		*param = "max_tokens";
		return -1;
	}
	if (json_is_true(json_object_get(j, "stream"))) {
		*errmsg = "llmd does not stream; send \"stream\": false";
		*param = "stream";
		return -1;
	}
	if (rf != NULL &&
	    (type == NULL ||
		(strcmp(type, "text") != 0 && strcmp(type, "json_object") != 0 &&
		    strcmp(type, "json_schema") != 0))) {
		*errmsg = "\"response_format.type\" must be text, json_object or json_schema";
		*param = "response_format";
		return -1;
	}
	r->json_format = type != NULL && strcmp(type, "text") != 0;
	return 0;
}

static int
llmd_parse(const json_t *j, struct llmd_request *r, const char **errmsg, const char **param)
{
	memset(r, 0, sizeof(*r));
	*param = NULL;
	if (!json_is_object(j)) {
		*errmsg = "the body must be a JSON object";
		return -1;
	}
	if (llmd_parse_models(j, r, errmsg, param) != 0 ||
	    llmd_parse_options(j, r, errmsg, param) != 0)
		return -1;
	*param = "messages";
	return llmd_parse_messages(j, r, errmsg);
}

/* Answers. */

static void
llmd_retry_after(struct evhttp_request *req, double secs)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%.0f", secs > 0 ? ceil(secs) : 0.0);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", buf);
}

/* OpenAI's x-ratelimit-*-requests, from the --rpm window. */
static void
llmd_rate_headers(struct llmd *d, struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	double now = llmd_now();
	char buf[32];

	if (!d->ratelimit_headers || d->window.limit == 0)
		return;
	snprintf(buf, sizeof(buf), "%u", d->window.limit);
	evhttp_add_header(h, "x-ratelimit-limit-requests", buf);
	snprintf(buf, sizeof(buf), "%u", llmd_window_remaining(&d->window, now));
	evhttp_add_header(h, "x-ratelimit-remaining-requests", buf);
	llmd_duration(llmd_window_reset(&d->window, now), buf, sizeof(buf));
	evhttp_add_header(h, "x-ratelimit-reset-requests", buf);
}

/* OpenRouter's, byte for byte. */
static json_t *
llmd_rate_limit_body(void)
{
	return json_pack(
	    "{s{sisss{}}}", "error", "code", 429, "message", "Rate limit exceeded", "metadata");
}

json_t *
llmd_key_error(int has_key)
{
	if (!has_key)
		return llmd_bad(
		    "You didn't provide an API key. You need to provide your API key "
		    "in an Authorization header using Bearer auth (i.e. Authorization: Bearer "
		    "YOUR_KEY).",
		    NULL);
	/* OpenAI echoes part of the key here; a test double has no business doing so. */
	return llmd_openai_error(
	    "Incorrect API key provided.", "invalid_request_error", NULL, "invalid_api_key");
}

static json_t *
llmd_completion(
    struct llmd *d, const char *model, const char *content, const char *finish, size_t prompt_len)
{
	json_int_t pt = (json_int_t)(prompt_len / 4 + 1),
		   ct = (json_int_t)(strlen(content) / 4 + 1);
	char id[40];

	snprintf(id, sizeof(id), "chatcmpl-llmd-%llu", (unsigned long long)++d->next_id);
	return json_pack("{sssssIsss[{sis{ssss}ss}]s{sIsIsI}}", "id", id, "object",
	    "chat.completion", "created", (json_int_t)time(NULL), "model", model, "choices",
	    "index", 0, "message", "role", "assistant", "content", content, "finish_reason", finish,
	    "usage", "prompt_tokens", pt, "completion_tokens", ct, "total_tokens", pt + ct);
}

static json_t *
llmd_error_reply(
    const char *name, const struct llmd_spec *sp, struct evhttp_request *req, int *code)
{
	char msg[LLMD_NAME_MAX + 80];

	if (sp->retry_after >= 0)
		llmd_retry_after(req, sp->retry_after);
	switch (sp->kind) {
	case LLMD_E429: *code = 429; return llmd_rate_limit_body();
	case LLMD_E503:
		*code = 503;
		return json_pack("{ss}", "error",
		    "server busy, please try again.  maximum pending requests exceeded");
	case LLMD_E404:
		*code = 404;
		snprintf(msg, sizeof(msg),
		    "The model `%s` does not exist or you do not have access to it.", name);
		return llmd_openai_error(msg, "invalid_request_error", NULL, "model_not_found");
	default:
		*code = 500;
		return llmd_openai_error("The server had an error while processing your request. "
					 "Sorry about that!",
		    "server_error", NULL, NULL);
	}
}

/* The answer of model name under sp: a status code and a body. */
static json_t *
llmd_behave(struct llmd *d, const char *name, const struct llmd_spec *sp,
    const struct llmd_request *r, size_t prompt_len, struct evhttp_request *req, int *code)
{
	json_t *out;
	char *content;

	if (llmd_kind_is_error(sp->kind))
		return llmd_error_reply(name, sp, req, code);
	/* A hanging model's answer is never sent; any body will do. */
	content = llmd_content(sp->kind == LLMD_HANG ? LLMD_PERSONA : sp->kind, &r->prompt);
	out = content != NULL ? llmd_completion(d, name, content,
				    sp->kind == LLMD_TRUNCATED ? "length" : "stop", prompt_len)
			      : NULL;
	free(content);
	*code = out != NULL ? 200 : 500;
	return out != NULL ? out
			   : llmd_openai_error("llmd: out of memory", "server_error", NULL, NULL);
}

/* Tries the chain in order as OpenRouter does: the first model that does not fail answers. */
static void
llmd_answer(struct llmd *d, struct evhttp_request *req, struct llmd_call *c,
    const struct llmd_request *r, size_t prompt_len)
{
	struct llmd_model *m;
	struct llmd_spec sp;
	json_t *body;
	size_t i;
	int code;

	llmd_models_find(&d->models, r->chain[0])->asked++;
	for (i = 0;; i++) {
		m = llmd_models_find(&d->models, r->chain[i]);
		m->tried++;
		sp = llmd_spec_take(&m->spec);
		if (!llmd_kind_is_error(sp.kind) || i + 1 == r->nchain)
			break;
	}
	if (!llmd_kind_is_error(sp.kind))
		snprintf(c->answered, sizeof(c->answered), "%s", r->chain[i]);
	c->note = llmd_kind_name(sp.kind);
	body = llmd_behave(d, r->chain[i], &sp, r, prompt_len, req, &code);
	if (sp.kind == LLMD_HANG)
		llmd_defer(d, req, c, code, body, -1);
	else if (sp.delay_ms > 0)
		llmd_defer(d, req, c, code, body, sp.delay_ms);
	else
		llmd_finish(d, req, c, code, body);
}

/* Key, body and --rpm, in the order the services check them. */
static void
llmd_chat_checked(struct llmd *d, struct evhttp_request *req, struct llmd_call *c)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const char *errmsg, *param;
	struct llmd_request r;
	double wait;
	json_t *j;

	if (!llmd_authorised(d, req, &c->has_key)) {
		llmd_finish(d, req, c, 401, llmd_key_error(c->has_key));
		return;
	}
	j = len > 0 ? json_loadb((const char *)evbuffer_pullup(in, -1), len, 0, NULL) : NULL;
	if (j == NULL || llmd_parse(j, &r, &errmsg, &param) != 0) {
		c->note = "bad-request";
		llmd_finish(d, req, c, 400,
		    j == NULL ? llmd_bad("the body is not valid JSON", NULL)
			      : llmd_bad(errmsg, param));
		json_decref(j);
		return;
	}
	snprintf(c->asked, sizeof(c->asked), "%s", r.chain[0]);
	memcpy(c->agent_id, r.prompt.agent_id, sizeof(c->agent_id));
	c->has_agent = r.prompt.has_agent;
	c->agent = r.prompt.agent;
	d->stats.json_format += (uint64_t)r.json_format;
	if (llmd_window_admit(&d->window, llmd_now(), &wait)) {
		llmd_rate_headers(d, req);
		llmd_answer(d, req, c, &r, len);
	} else {
		d->stats.rpm_limited++;
		c->note = "rpm";
		if (d->rpm_retry_after)
			llmd_retry_after(req, wait);
		llmd_rate_headers(d, req);
		llmd_finish(d, req, c, 429, llmd_rate_limit_body());
	}
	json_decref(j);
}

void
llmd_chat(struct llmd *d, struct evhttp_request *req, const char *path)
{
	struct llmd_call c;

	memset(&c, 0, sizeof(c));
	c.path = path;
	c.start = llmd_now();
	d->stats.requests++;
	if (++d->stats.in_flight > d->stats.max_in_flight)
		d->stats.max_in_flight = d->stats.in_flight;
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		c.note = "bad-method";
		llmd_finish(d, req, &c, 405, llmd_bad("use POST for chat completions", NULL));
	} else if (d->stats.in_flight > d->max_inflight) {
		c.note = "overloaded";
		llmd_finish(d, req, &c, 503,
		    json_pack(
			"{ss}", "error", "llmd: too many requests in flight (--max-inflight)"));
	} else {
		llmd_chat_checked(d, req, &c);
	}
}
