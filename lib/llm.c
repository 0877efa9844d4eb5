/* llm.c - personas from an OpenAI-compatible chat-completions API (see llm.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "sim/backoff.h"
#include "sim/http.h"
#include "sim/llm.h"
#include "sim/llmreply.h"
#include "sim/log.h"
#include "sim/metrics.h"
#include "sim/personadb.h"
#include "sim/ratelimit.h"
#include "sim/rng.h"
#include "sim/store.h"

#define LLM_SCAN_BATCH 512 /* cache lookups per loop turn */
#define LLM_MAX_BODY (4u << 20)
#define LLM_BLOCK_MAX 600.0 /* s, the longest Retry-After or reset honoured */
#define LLM_BACKOFF_CAP 300.0
#define LLM_HEADERS 4
#define LLM_KEY_HEADER_MAX 4200 /* "Authorization: Bearer " and the key */

static const char *const err_names[LLM_ERR_TYPES] = {
	"connect",
	"timeout",
	"429",
	"503",
	"5xx",
	"404",
	"auth",
	"4xx",
	"not_json",
	"not_persona",
	"truncated",
	"reply_error",
};

const char *
llm_err_name(enum llm_err e)
{
	return (unsigned)e < LLM_ERR_TYPES ? err_names[e] : "?";
}

struct llm_worker {
	struct llm *l;
	struct event *timer; /* the backoff before a retry */
	int busy;            /* an agent is assigned */
	int in_flight;       /* a request is out (perhaps of a cancelled fill) */
	unsigned gen;        /* the fill it works for */
	uint32_t agent;
	unsigned model; /* index into conf.models */
	struct backoff_state bo;
	double sent; /* when its token was granted */
	struct llm_worker *next_wait;
};

struct llm {
	struct event_base *base;
	struct llm_conf conf;
	struct http_client *http;
	struct ratelimit *rl;
	struct personadb *db;
	struct backoff_policy bp;
	struct rng rng; /* jitter of the backoff */
	struct event *gate_timer, *scan_ev;
	struct llm_worker *workers;
	struct llm_worker *wait_head, *wait_tail; /* waiting for a token, in turn */
	unsigned in_flight;                       /* requests out, of any fill */
	char auth[LLM_KEY_HEADER_MAX];
	int no_format[LLM_MODELS_MAX]; /* the server refused response_format */
	/* the fill */
	unsigned gen;
	uint64_t seed;
	struct persona *ps;
	uint32_t n, scan_next;
	uint32_t *pending, npending, pending_next;
	persona_done_fn done_fn;
	void *done_arg;
	double t0, t1; /* the fill's start, and its end (0 while under way) */
	struct llm_stats st;
};

static double
now_s(void)
{
	return (double)metrics_now_us() / 1e6;
}

static void
arm(struct event *ev, double secs)
{
	struct timeval tv;

	if (!(secs > 0))
		secs = 0;
	tv.tv_sec = (time_t)secs;
	tv.tv_usec = (suseconds_t)((secs - (double)tv.tv_sec) * 1e6);
	evtimer_add(ev, &tv);
}

static void worker_next(struct llm_worker *w);
static void worker_ask(struct llm_worker *w);
static void gate_pump(struct llm *l);

/* ---- the end of a fill ---- */

static int
busy_workers(const struct llm *l)
{
	int n = 0;

	for (unsigned i = 0; i < l->conf.max_concurrent; i++)
		n += l->workers[i].busy;
	return n;
}

/* Nothing more of this fill: timers off, the queue empty, answers still out ignored. */
static void
fill_stop(struct llm *l)
{
	l->st.active = 0;
	l->done_fn = NULL;
	l->gen++;
	event_del(l->scan_ev);
	evtimer_del(l->gate_timer);
	l->wait_head = l->wait_tail = NULL;
	for (unsigned i = 0; i < l->conf.max_concurrent; i++) {
		struct llm_worker *w = &l->workers[i];

		evtimer_del(w->timer);
		w->next_wait = NULL;
		w->busy = w->in_flight; /* free once its answer comes */
	}
	free(l->pending);
	l->pending = NULL;
}

static void
fill_end(struct llm *l, int rc, const char *why)
{
	persona_done_fn fn = l->done_fn;
	void *arg = l->done_arg;

	fill_stop(l);
	l->t1 = now_s();
	log_info("personas: %u of %u from the LLM (%u cached, %u asked), %u local fallbacks, "
		 "%llu requests, %llu 429s",
	    l->st.cached + l->st.from_llm, l->st.total, l->st.cached, l->st.from_llm,
	    l->st.local_fallbacks, (unsigned long long)l->st.requests,
	    (unsigned long long)l->st.status_429);
	if (fn != NULL)
		fn(rc, why, arg);
}

static void
check_end(struct llm *l)
{
	if (l->st.active && l->scan_next == l->n && l->pending_next == l->npending &&
	    busy_workers(l) == 0)
		fill_end(l, 0, "");
}

/* ---- settling one agent ---- */

/* The persona as the cache holds it, read back: a cached run gets the same bits. */
static int
keep_persona(struct llm_worker *w, const struct persona *p)
{
	struct llm *l = w->l;
	json_t *j = persona_to_json(p), *back = NULL;
	char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL, err[256];
	struct persona q;
	int rc = -1;

	if (text != NULL && (back = json_loads(text, 0, NULL)) != NULL &&
	    persona_from_json(back, &q, err, sizeof(err)) == 0) {
		l->ps[w->agent] = q;
		rc = 0;
		if (personadb_put(l->db, l->conf.models[w->model], l->conf.prompt_hash, l->seed,
			w->agent, text, err, sizeof(err)) != 0)
			log_warnx("%s", err);
	}
	json_decref(j);
	json_decref(back);
	free(text);
	return rc;
}

static void
settled(struct llm_worker *w)
{
	w->busy = 0;
	w->l->st.done++;
	worker_next(w);
}

static void
local_fallback(struct llm_worker *w, const char *why)
{
	struct llm *l = w->l;
	char id[STORE_AGENT_ID_MAX], msg[400];

	store_agent_id(id, sizeof(id), w->agent);
	l->st.local_fallbacks++;
	if (l->conf.required) {
		snprintf(msg, sizeof(msg),
		    "%s: no persona from the LLM (%s) and llm_required is on", id, why);
		w->busy = 0;
		fill_end(l, -1, msg);
		return;
	}
	log_agent(LOG_LEVEL_WARN, id, "no persona from the LLM (%s): keeping the local one", why);
	settled(w);
}

static void
next_model(struct llm_worker *w, const char *why, int any_model)
{
	struct llm *l = w->l;
	char id[STORE_AGENT_ID_MAX];

	if (!any_model || w->model + 1 >= l->conf.nmodels) {
		local_fallback(w, why);
		return;
	}
	store_agent_id(id, sizeof(id), w->agent);
	log_agent(LOG_LEVEL_INFO, id, "model %s failed (%s): trying %s", l->conf.models[w->model],
	    why, l->conf.models[w->model + 1]);
	w->model++;
	l->st.model_fallbacks++;
	backoff_reset(&w->bo);
	worker_ask(w);
}

/* A failed attempt: retried on this model (retry_after: the server's wish), or the next. */
static void
failed(struct llm_worker *w, enum llm_err type, int retry, double retry_after, const char *why)
{
	struct llm *l = w->l;
	double delay;
	char id[STORE_AGENT_ID_MAX];

	l->st.errors++;
	l->st.errors_by_type[type]++;
	store_agent_id(id, sizeof(id), w->agent);
	log_agent(LOG_LEVEL_DEBUG, id, "%s: %s", l->conf.models[w->model], why);
	if (retry &&
	    backoff_next(&l->bp, &w->bo, 1, now_s(), rng_double(&l->rng), retry_after, &delay)) {
		l->st.retries++;
		arm(w->timer, delay);
		return;
	}
	next_model(w, why, type != LLM_ERR_AUTH);
}

/* ---- a reply ---- */

static void
got_200(struct llm_worker *w, const struct http_response *r)
{
	struct llm *l = w->l;
	struct llm_reply_info info;
	struct persona p;
	char why[256];
	enum llm_reply_kind k;

	k = llm_reply_parse(r->body, r->body_len, &l->ps[w->agent], &p, &info, why, sizeof(why));
	if (k == LLM_REPLY_ERROR && (info.error_code == 429 || info.error_code == 503)) {
		ratelimit_throttle(l->rl, now_s(), w->sent, -1);
		l->st.status_429 += info.error_code == 429;
		failed(w, info.error_code == 429 ? LLM_ERR_429 : LLM_ERR_503, 1, -1, why);
		return;
	}
	ratelimit_success(l->rl, now_s(), w->sent);
	if (k == LLM_REPLY_OK && keep_persona(w, &p) == 0) {
		l->st.from_llm++;
		l->st.by_model[w->model]++;
		l->st.clamped += info.clamped;
		l->st.filled += info.filled;
		if (info.notes[0] != '\0') {
			char id[STORE_AGENT_ID_MAX];

			store_agent_id(id, sizeof(id), w->agent);
			log_agent(LOG_LEVEL_DEBUG, id, "persona repaired: %s", info.notes);
		}
		settled(w);
		return;
	}
	switch (k) {
	case LLM_REPLY_NOT_JSON: failed(w, LLM_ERR_NOT_JSON, 0, -1, why); break;
	case LLM_REPLY_TRUNCATED: failed(w, LLM_ERR_TRUNCATED, 0, -1, why); break;
	case LLM_REPLY_ERROR: failed(w, LLM_ERR_REPLY, 1, -1, why); break;
	default: failed(w, LLM_ERR_NOT_PERSONA, 0, -1, k == LLM_REPLY_OK ? "out of memory" : why);
	}
}

static void
got_status(struct llm_worker *w, const struct http_response *r)
{
	struct llm *l = w->l;
	char why[96];
	int s = r->status;

	snprintf(why, sizeof(why), "HTTP %d", s);
	if (s == 429 || s == 503) {
		ratelimit_throttle(l->rl, now_s(), w->sent, r->retry_after);
		l->st.status_429 += s == 429;
		failed(w, s == 429 ? LLM_ERR_429 : LLM_ERR_503, 1, r->retry_after, why);
		return;
	}
	ratelimit_success(l->rl, now_s(), w->sent);
	if (s == 400 && !l->no_format[w->model]) {
		/* perhaps response_format: asked again without it, not counted as a failure */
		log_info("llm: %s refused a request with response_format; asking without it",
		    l->conf.models[w->model]);
		l->no_format[w->model] = 1;
		worker_ask(w);
	} else if (s >= 500) {
		failed(w, LLM_ERR_5XX, 1, r->retry_after, why);
	} else if (s == 404) {
		failed(w, LLM_ERR_404, 0, -1, "HTTP 404: no such model");
	} else if (s == 401 || s == 403) {
		failed(w, LLM_ERR_AUTH, 0, -1, "the server refused the API key");
	} else {
		failed(w, LLM_ERR_4XX, 0, -1, why);
	}
}

static void
http_done(const struct http_response *r, void *arg)
{
	struct llm_worker *w = arg;
	struct llm *l = w->l;

	w->in_flight = 0;
	l->in_flight--;
	if (w->gen != l->gen || !l->st.active) {
		/* of a cancelled fill: the worker is free for the one under way */
		w->busy = 0;
		if (l->st.active)
			worker_next(w);
		return;
	}
	ratelimit_headers(l->rl, now_s(), (long)r->rl_remaining, r->rl_reset);
	if (r->err != HTTP_ERR_OK)
		failed(w, r->err == HTTP_ERR_TIMEOUT ? LLM_ERR_TIMEOUT : LLM_ERR_CONNECT, 1, -1,
		    r->msg);
	else if (r->status == 200)
		got_200(w, r);
	else
		got_status(w, r);
}

/* ---- a request ---- */

static char *
request_body(struct llm *l, const struct llm_worker *w)
{
	char *prompt = llm_prompt_render(l->conf.prompt, w->agent, l->seed, &l->ps[w->agent]);
	json_t *o = NULL;
	char *s = NULL;

	if (prompt != NULL)
		o = json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}]}", "model",
		    l->conf.models[w->model], "messages", "role", "system", "content",
		    llm_system_prompt, "role", "user", "content", prompt);
	if (o != NULL && !l->no_format[w->model])
		json_object_set_new(
		    o, "response_format", json_pack("{s:s}", "type", "json_object"));
	if (o != NULL)
		s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	free(prompt);
	return s;
}

static void
worker_send(struct llm_worker *w)
{
	struct llm *l = w->l;
	const char *headers[LLM_HEADERS] = { "Accept: application/json", "X-Title: simd" };
	struct http_request rq = { .method = "POST", .path = "/chat/completions" };
	char *body = request_body(l, w);
	enum http_err e;

	rq.headers = headers;
	rq.nheaders = 2;
	if (l->auth[0] != '\0')
		headers[rq.nheaders++] = l->auth;
	rq.body = body;
	rq.body_len = body != NULL ? strlen(body) : 0;
	rq.content_type = "application/json";
	e = body != NULL ? http_submit(l->http, &rq, http_done, w) : HTTP_ERR_NOMEM;
	free(body);
	l->st.requests++;
	if (e != HTTP_ERR_OK) {
		failed(w, LLM_ERR_CONNECT, 1, -1, http_err_name(e));
		return;
	}
	w->in_flight = 1;
	w->gen = l->gen;
	l->in_flight++;
}

/* Requests wait for the limiter in turn: one timer, not one per request. */
static void
gate_pump(struct llm *l)
{
	double wait;

	while (l->wait_head != NULL && !l->st.paused && l->st.active) {
		if ((wait = ratelimit_take(l->rl, now_s())) > 0) {
			if (!evtimer_pending(l->gate_timer, NULL))
				arm(l->gate_timer, wait);
			return;
		}
		struct llm_worker *w = l->wait_head;
		l->wait_head = w->next_wait;
		if (l->wait_head == NULL)
			l->wait_tail = NULL;
		w->next_wait = NULL;
		w->sent = now_s();
		worker_send(w);
	}
}

static void
gate_cb(evutil_socket_t fd, short what, void *arg)
{
	gate_pump(arg);
}

static void
worker_ask(struct llm_worker *w)
{
	struct llm *l = w->l;

	if (l->wait_tail != NULL)
		l->wait_tail->next_wait = w;
	else
		l->wait_head = w;
	l->wait_tail = w;
	gate_pump(l);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct llm_worker *w = arg;

	if (w->l->st.active && w->busy)
		worker_ask(w);
}

static void
worker_next(struct llm_worker *w)
{
	struct llm *l = w->l;

	if (!l->st.active || w->in_flight)
		return;
	if (l->pending_next == l->npending) {
		check_end(l);
		return;
	}
	w->agent = l->pending[l->pending_next++];
	w->model = 0;
	w->busy = 1;
	backoff_reset(&w->bo);
	worker_ask(w);
}

/* ---- the cache, first ---- */

static int
from_cache(struct llm *l, uint32_t agent)
{
	char err[256], *text;
	struct persona p;
	json_t *j;
	int rc;

	for (unsigned m = 0; m < l->conf.nmodels; m++) {
		rc = personadb_get(l->db, l->conf.models[m], l->conf.prompt_hash, l->seed, agent,
		    &text, err, sizeof(err));
		if (rc < 0)
			log_warnx("%s", err);
		if (rc <= 0)
			continue;
		j = json_loads(text, 0, NULL);
		rc = j != NULL ? persona_from_json(j, &p, err, sizeof(err)) : -1;
		json_decref(j);
		free(text);
		if (rc == 0) {
			l->ps[agent] = p;
			return 1;
		}
		log_warnx("personas.db: the persona of agent %u for %s is damaged; asking again",
		    agent + 1, l->conf.models[m]);
	}
	return 0;
}

static void
scan_cb(evutil_socket_t fd, short what, void *arg)
{
	struct llm *l = arg;
	uint32_t end = l->scan_next + LLM_SCAN_BATCH < l->n ? l->scan_next + LLM_SCAN_BATCH : l->n;

	for (; l->scan_next < end; l->scan_next++) {
		if (from_cache(l, l->scan_next)) {
			l->st.cached++;
			l->st.done++;
		} else {
			l->pending[l->npending++] = l->scan_next;
		}
	}
	if (l->scan_next < l->n) {
		event_active(l->scan_ev, EV_TIMEOUT, 0);
		return;
	}
	log_info("personas: %u cached, %u to ask %s at %s", l->st.cached, l->npending,
	    l->conf.models[0], l->conf.url);
	l->t0 = now_s();
	for (unsigned i = 0; i < l->conf.max_concurrent && l->st.active; i++)
		if (!l->workers[i].busy)
			worker_next(&l->workers[i]);
	check_end(l);
}

/* ---- the interface ---- */

int
llm_fill(struct llm *l, uint64_t seed, struct persona *ps, uint32_t n, persona_done_fn done,
    void *arg, char *err, size_t errlen)
{
	if (l->st.active) {
		snprintf(err, errlen, "personas are already being generated");
		return -1;
	}
	free(l->pending);
	if ((l->pending = calloc(n ? n : 1, sizeof(*l->pending))) == NULL) {
		snprintf(err, errlen, "out of memory for %u personas", n);
		return -1;
	}
	memset(&l->st, 0, sizeof(l->st));
	l->st.active = 1;
	l->st.total = n;
	l->gen++;
	l->seed = seed;
	l->ps = ps;
	l->n = n;
	l->scan_next = l->npending = l->pending_next = 0;
	l->done_fn = done;
	l->done_arg = arg;
	l->t0 = now_s();
	l->t1 = 0;
	event_active(l->scan_ev, EV_TIMEOUT, 0);
	return 0;
}

void
llm_cancel(struct llm *l)
{
	if (!l->st.active)
		return;
	fill_stop(l);
	l->t1 = now_s();
	log_info("personas: generation stopped (%u of %u settled)", l->st.done, l->st.total);
}

void
llm_pause(struct llm *l, int on)
{
	l->st.paused = on != 0;
	if (!on)
		gate_pump(l);
}

void
llm_stats(const struct llm *l, struct llm_stats *st)
{
	struct ratelimit_stats rs;
	double el = (l->t1 > 0 ? l->t1 : now_s()) - l->t0;
	uint32_t asked = l->st.from_llm + l->st.local_fallbacks;

	*st = l->st;
	st->in_flight = l->in_flight;
	ratelimit_stats(l->rl, now_s(), &rs);
	st->rate = rs.rate;
	st->elapsed_s = l->t0 > 0 ? el : 0;
	st->requests_per_s = el > 0 ? (double)l->st.requests / el : 0;
	st->eta_s = -1;
	if (l->st.done == l->st.total)
		st->eta_s = 0;
	else if (l->st.active && asked > 0 && el > 0)
		st->eta_s = (double)(l->st.total - l->st.done) * el / asked;
	st->nmodels = l->conf.nmodels;
	memcpy(st->models, l->conf.models, sizeof(st->models));
}

/* ---- the engine's persona_source ---- */

static int
src_fill(void *src, uint64_t seed, struct persona *ps, uint32_t n, persona_done_fn done, void *arg,
    char *err, size_t errlen)
{
	return llm_fill(src, seed, ps, n, done, arg, err, errlen);
}

static void
src_cancel(void *src)
{
	llm_cancel(src);
}

static void
src_pause(void *src, int on)
{
	llm_pause(src, on);
}

static void
src_progress(const void *src, uint32_t *done, uint32_t *from_source)
{
	const struct llm *l = src;

	*done = l->st.done;
	*from_source = l->st.cached + l->st.from_llm;
}

void
llm_persona_source(struct llm *l, struct persona_source *src)
{
	src->fill = src_fill;
	src->cancel = src_cancel;
	src->pause = src_pause;
	src->progress = src_progress;
	src->src = l;
}

/* ---- life ---- */

static int
llm_open(struct llm *l, char *err, size_t errlen)
{
	struct http_opts ho = { .base_url = l->conf.url };
	struct ratelimit_opts ro = { .rate = l->conf.rate,
		.rate_min = l->conf.rate_min,
		.rate_max = l->conf.rate_max,
		.burst = l->conf.max_concurrent,
		.decrease = 0.5,
		.increase = 1.1,
		.block_max = LLM_BLOCK_MAX };

	ho.max_keepalive = ho.max_connections = l->conf.max_concurrent;
	ho.max_queue = 2 * l->conf.max_concurrent + 8;
	ho.timeout = l->conf.timeout;
	ho.max_body = LLM_MAX_BODY;
	if (ratelimit_opts_check(&ro, err, errlen) != 0)
		return -1;
	if ((l->db = personadb_open(l->conf.cache_path, err, errlen)) == NULL ||
	    (l->http = http_client_new(l->base, &ho, err, errlen)) == NULL)
		return -1;
	if ((l->rl = ratelimit_new(&ro, now_s())) == NULL ||
	    (l->workers = calloc(l->conf.max_concurrent, sizeof(*l->workers))) == NULL ||
	    (l->gate_timer = evtimer_new(l->base, gate_cb, l)) == NULL ||
	    (l->scan_ev = event_new(l->base, -1, 0, scan_cb, l)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < l->conf.max_concurrent; i++) {
		l->workers[i].l = l;
		if ((l->workers[i].timer = evtimer_new(l->base, retry_cb, &l->workers[i])) ==
		    NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	if (l->conf.key != NULL &&
	    http_header(l->auth, sizeof(l->auth), "Authorization", "Bearer ") == 0 &&
	    strlen(l->auth) + strlen(l->conf.key) < sizeof(l->auth))
		strcat(l->auth, l->conf.key);
	else if (l->conf.key != NULL)
		l->auth[0] = '\0';
	return 0;
}

struct llm *
llm_new(struct event_base *base, struct llm_conf *conf, char *err, size_t errlen)
{
	struct llm *l = calloc(1, sizeof(*l));

	if (l == NULL) {
		snprintf(err, errlen, "out of memory");
		llm_conf_clear(conf);
		return NULL;
	}
	l->base = base;
	l->conf = *conf;
	memset(conf, 0, sizeof(*conf));
	memset(&l->bp, 0, sizeof(l->bp));
	l->bp.base = l->conf.retry_delay;
	l->bp.factor = 2;
	l->bp.max_exponent = 10;
	l->bp.cap = LLM_BACKOFF_CAP;
	l->bp.jitter = 0.2;
	l->bp.max_retries = l->conf.max_retries;
	l->bp.retry_after_max = LLM_BLOCK_MAX;
	rng_seed(&l->rng, (uint64_t)time(NULL), 0x6c6c6d, 0);
	if (llm_open(l, err, errlen) != 0) {
		llm_free(l);
		return NULL;
	}
	log_info("llm: %s at %s (%u fallback models), key from %s, cache %s", l->conf.models[0],
	    l->conf.url, l->conf.nmodels - 1, l->conf.key_source, l->conf.cache_path);
	return l;
}

void
llm_free(struct llm *l)
{
	if (l == NULL)
		return;
	llm_cancel(l);
	http_client_free(l->http); /* completes what is in flight: http_done sees no fill */
	for (unsigned i = 0; l->workers != NULL && i < l->conf.max_concurrent; i++)
		if (l->workers[i].timer != NULL)
			event_free(l->workers[i].timer);
	free(l->workers);
	if (l->gate_timer != NULL)
		event_free(l->gate_timer);
	if (l->scan_ev != NULL)
		event_free(l->scan_ev);
	ratelimit_free(l->rl);
	personadb_close(l->db);
	free(l->pending);
	memset(l->auth, 0, sizeof(l->auth));
	llm_conf_clear(&l->conf);
	free(l);
}
