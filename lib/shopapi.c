/*
 * shopapi.c - the shop API driver: a session's shop actions as calls to the
 * backend's endpoints, its records to the database store (see shopapi.h).
 * The requests' bodies and the checks of the answers are in shopapi_body.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/crypto.h>

#include "sim/defer.h"
#include "sim/http.h"
#include "sim/jwt.h"
#include "sim/log.h"
#include "sim/metrics.h"
#include "sim/shopapi_priv.h"
#include "sim/store.h"
#include "sim/text.h"

const char *const shopapi_path_keys[API_EP_COUNT] = {
	"api_path_session",
	"api_path_search",
	"api_path_cart",
	"api_path_eligible",
	"api_path_wallet",
	"api_path_coupon",
	"api_path_orders",
};

const char *const shopapi_fail_names[API_FAIL_TYPES] = {
	"api_429",
	"api_5xx",
	"api_timeout",
	"api_connect",
	"api_4xx",
	"api_data",
};

/* What each step does, in order: an endpoint, the records, or the end. */
#define PLAN_RECORDS API_EP_COUNT
#define PLAN_END (API_EP_COUNT + 1)
static const uint8_t plans[STORE_OP_TYPES][5] = {
	[STORE_OP_BEGIN] = { PLAN_RECORDS, API_EP_SESSION, PLAN_END },
	[STORE_OP_BROWSE] = { API_EP_SEARCH, PLAN_RECORDS, PLAN_END },
	[STORE_OP_CART] = { API_EP_CART, PLAN_RECORDS, PLAN_END },
	[STORE_OP_COUPONS] = { API_EP_WALLET, API_EP_ELIGIBLE, PLAN_RECORDS, PLAN_END },
	[STORE_OP_CHECKOUT] = { API_EP_CART, API_EP_COUPON, API_EP_ORDERS, PLAN_RECORDS, PLAN_END },
	[STORE_OP_ABANDON] = { PLAN_RECORDS, PLAN_END },
	[STORE_OP_FAIL] = { PLAN_RECORDS, PLAN_END },
};

struct api_call {
	struct shopapi *a;
	struct store_op *op; /* the session's */
	struct store_op rec; /* its records, for the database store */
	unsigned stage;      /* in plans[op->type] */
	enum shopapi_endpoint ep;
	double sent; /* when its token was granted (the limiter's clock) */
	enum { C_NEW, C_WAIT, C_WIRE, C_RECORDS, C_FIN } where;
	struct api_call *prev, *next; /* every call; waiting ones also on the wait queue */
	struct api_call *wnext;
	struct defer_entry fin; /* completes a call that failed before any request */
};

struct shopapi {
	struct store st;
	struct event_base *base;
	struct store *db;
	struct http_client *http;
	struct ratelimit *rl;
	struct jwt_cache *jwt;
	struct defer *defer;
	struct event *wake; /* the wait queue's head may take a token then */
	char *paths[API_EP_COUNT];
	char base_url[512];
	struct api_call *calls;         /* all not completed */
	struct api_call *whead, *wtail; /* waiting for a token */
	unsigned waiting, wire;
	uint64_t requests, ok, fails[API_FAIL_TYPES];
	int catalog_api; /* shop_catalog = api */
	int closed;
};

static void call_next(struct api_call *c);
static void wait_pump(struct shopapi *a);

static double
now_s(void)
{
	return (double)metrics_now_us() / 1e6;
}

/* ---- completion ---- */

static void
call_unlink(struct api_call *c)
{
	struct shopapi *a = c->a;

	if (c->prev)
		c->prev->next = c->next;
	else
		a->calls = c->next;
	if (c->next)
		c->next->prev = c->prev;
}

static void
call_complete(struct api_call *c)
{
	struct store_op *op = c->op;

	call_unlink(c);
	defer_cancel(c->a->defer, &c->fin);
	free(c);
	if (op->cb != NULL)
		op->cb(op, op->arg);
}

static void
call_fin(struct defer_entry *e)
{
	call_complete(DEFER_OWNER(e, struct api_call, fin));
}

/* A call that failed where it may not complete at once (inside submit): from the loop. */
static void
call_fail_later(struct api_call *c)
{
	c->where = C_FIN;
	defer_add(c->a->defer, &c->fin, call_fin);
}

void
shopapi_fail_op(struct store_op *op, enum store_err err, const char *fmt, ...)
{
	va_list ap;

	op->err = err;
	va_start(ap, fmt);
	vsnprintf(op->errmsg, sizeof(op->errmsg), fmt, ap);
	va_end(ap);
	text_unforge(op->errmsg);
}

/* ---- the records, in the database store ---- */

static void
records_done(struct store_op *rec, void *arg)
{
	struct api_call *c = arg;
	struct store_op *op = c->op;

	c->where = C_NEW;
	op->rows += rec->rows;
	if (rec->err != STORE_OK) {
		op->err = rec->err;
		memcpy(op->errmsg, rec->errmsg, sizeof(op->errmsg));
		call_complete(c);
		return;
	}
	call_next(c);
}

static void
records_submit(struct api_call *c)
{
	c->rec = *c->op;
	c->rec.records_only = 1;
	c->rec.cb = records_done;
	c->rec.arg = c;
	c->where = C_RECORDS;
	store_submit(c->a->db, &c->rec);
}

/* ---- the rate limiter's queue ---- */

static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
	wait_pump(arg);
}

static void
wait_push(struct api_call *c)
{
	struct shopapi *a = c->a;

	c->wnext = NULL;
	if (a->wtail)
		a->wtail->wnext = c;
	else
		a->whead = c;
	a->wtail = c;
	a->waiting++;
	c->where = C_WAIT;
	wait_pump(a);
}

static void
wait_pump(struct shopapi *a)
{
	struct api_call *c;
	struct timeval tv;
	double wait;

	while ((c = a->whead) != NULL) {
		double t = now_s();

		if ((wait = ratelimit_take(a->rl, t)) > 0) {
			if (!evtimer_pending(a->wake, NULL)) {
				tv.tv_sec = (time_t)wait;
				tv.tv_usec = (suseconds_t)((wait - (double)tv.tv_sec) * 1e6) + 1;
				evtimer_add(a->wake, &tv);
			}
			return;
		}
		a->whead = c->wnext;
		if (a->whead == NULL)
			a->wtail = NULL;
		a->waiting--;
		c->sent = t;
		c->where = C_NEW;
		shopapi_send(c->a, c);
	}
}

/* ---- requests ---- */

static enum shopapi_fail
fail_type(const struct http_response *r)
{
	switch (r->err) {
	case HTTP_ERR_OK: break;
	case HTTP_ERR_TIMEOUT: return API_FAIL_TIMEOUT;
	case HTTP_ERR_CONNECT:
	case HTTP_ERR_TLS:
	case HTTP_ERR_IO: return API_FAIL_CONNECT;
	default: return API_FAIL_DATA;
	}
	if (r->status == 429)
		return API_FAIL_429;
	if (r->status >= 500 && r->status <= 599)
		return API_FAIL_5XX;
	if (r->status >= 400 && r->status <= 499)
		return API_FAIL_4XX;
	return API_FAIL_DATA;
}

/* The store's view of a failure: its error, whether a retry may help, Retry-After. */
static void
fail_classify(struct store_op *op, const struct http_response *r, enum shopapi_fail t)
{
	static const enum store_err by_type[API_FAIL_TYPES] = {
		[API_FAIL_429] = STORE_ERR_BUSY,
		[API_FAIL_5XX] = STORE_ERR_BUSY,
		[API_FAIL_TIMEOUT] = STORE_ERR_TIMEOUT,
		[API_FAIL_CONNECT] = STORE_ERR_CONNECT,
		[API_FAIL_4XX] = STORE_ERR_QUERY,
		[API_FAIL_DATA] = STORE_ERR_DATA,
	};

	op->err = r->err == HTTP_ERR_NOMEM ? STORE_ERR_NOMEM
	    : r->err == HTTP_ERR_CLOSED    ? STORE_ERR_CLOSED
					   : by_type[t];
	/* 408 Request Timeout is the server's timeout: worth another try */
	if (t == API_FAIL_4XX && r->status == 408)
		op->err = STORE_ERR_TIMEOUT;
	op->permanent = op->err == STORE_ERR_QUERY;
	if ((t == API_FAIL_429 || t == API_FAIL_5XX) && r->retry_after >= 0)
		op->retry_after = r->retry_after;
}

static void
http_done(const struct http_response *r, void *arg)
{
	struct api_call *c = arg;
	struct shopapi *a = c->a;
	struct store_op *op = c->op;
	enum shopapi_fail t = API_FAIL_DATA;
	double t_now = now_s();
	int good = 0;

	c->where = C_NEW;
	a->wire--;
	if (r->err == HTTP_ERR_OK && (r->status == 429 || r->status == 503))
		ratelimit_throttle(a->rl, t_now, c->sent, r->retry_after);
	else if (r->err == HTTP_ERR_OK && r->status < 500)
		ratelimit_success(a->rl, t_now, c->sent);
	if (r->err == HTTP_ERR_CLOSED) {
		shopapi_fail_op(
		    op, STORE_ERR_CLOSED, "shop api: %s: store closed", a->paths[c->ep]);
		call_complete(c);
		return;
	}
	if (r->err == HTTP_ERR_OK && r->status >= 200 && r->status <= 299)
		good = shopapi_answer(a, c->ep, op, r) == 0;
	else
		shopapi_refusal(a, c->ep, op, r);
	if (good) {
		a->ok++;
		call_next(c);
		return;
	}
	if (r->err != HTTP_ERR_OK || r->status < 200 || r->status > 299)
		t = fail_type(r);
	a->fails[t]++;
	fail_classify(op, r, t);
	call_complete(c);
}

void
shopapi_send(struct shopapi *a, struct api_call *c)
{
	struct shopapi_request q;
	enum http_err he;

	if (shopapi_request(a, c->ep, c->op, &q) != 0) {
		call_fail_later(c);
		return;
	}
	a->requests++;
	he = http_submit(a->http, &q.rq, http_done, c);
	shopapi_request_free(&q);
	if (he != HTTP_ERR_OK) {
		a->fails[API_FAIL_CONNECT]++;
		shopapi_fail_op(c->op, he == HTTP_ERR_NOMEM ? STORE_ERR_NOMEM : STORE_ERR_BUSY,
		    "shop api: %s %s: %s", q.method, a->paths[c->ep], http_err_name(he));
		call_fail_later(c);
		return;
	}
	c->where = C_WIRE;
	a->wire++;
}

struct http_client *
shopapi_http(struct shopapi *a)
{
	return a->http;
}

void
shopapi_tally(struct shopapi *a, const struct http_response *r, int good, double sent)
{
	double t_now = now_s();

	a->requests++;
	if (r->err == HTTP_ERR_OK && (r->status == 429 || r->status == 503))
		ratelimit_throttle(a->rl, t_now, sent, r->retry_after);
	else if (r->err == HTTP_ERR_OK && r->status < 500)
		ratelimit_success(a->rl, t_now, sent);
	if (good)
		a->ok++;
	else
		a->fails[r->err != HTTP_ERR_OK || r->status < 200 || r->status > 299
			? fail_type(r)
			: API_FAIL_DATA]++;
}

const char *
shopapi_token(struct shopapi *a, const struct store_op *op)
{
	return jwt_cache_get(a->jwt, (uint64_t)op->agent + 1, (int64_t)time(NULL));
}

const char *
shopapi_path(const struct shopapi *a, enum shopapi_endpoint ep)
{
	return a->paths[ep];
}

/* The call's next stage: a request (through the limiter), the records, or the end. */
static void
call_next(struct api_call *c)
{
	const uint8_t *plan = plans[c->op->type];
	uint8_t s;

	if (c->a->closed) {
		shopapi_fail_op(c->op, STORE_ERR_CLOSED, "shop api: store closed");
		call_complete(c);
		return;
	}
	for (;;) {
		s = plan[c->stage++];
		if (s != API_EP_COUPON || c->op->coupon_id != 0)
			break;
	}
	if (s == PLAN_END) {
		call_complete(c);
	} else if (s == PLAN_RECORDS) {
		records_submit(c);
	} else {
		c->ep = (enum shopapi_endpoint)s;
		wait_push(c);
	}
}

/* ---- the store interface ---- */

static void
api_submit(struct store *st, struct store_op *op)
{
	struct shopapi *a = st->priv;
	struct api_call *c;
	const char *bad;

	store_op_clear(op);
	if (a->closed || (c = calloc(1, sizeof(*c))) == NULL) {
		shopapi_fail_op(op, a->closed ? STORE_ERR_CLOSED : STORE_ERR_NOMEM, "shop api: %s",
		    a->closed ? "store closed" : "out of memory");
		if (op->cb != NULL) /* nowhere to park it, as the other drivers do */
			op->cb(op, op->arg);
		return;
	}
	c->a = a;
	c->op = op;
	c->next = a->calls;
	if (a->calls)
		a->calls->prev = c;
	a->calls = c;
	if ((bad = store_op_invalid(op)) != NULL) {
		shopapi_fail_op(op, STORE_ERR_QUERY, "shop api: invalid operation: %s", bad);
		call_fail_later(c);
		return;
	}
	if (plans[op->type][0] == PLAN_RECORDS && plans[op->type][1] == PLAN_END) {
		/* nothing of the shop's: straight to the database store, as it is */
		call_unlink(c);
		free(c);
		store_submit(a->db, op);
		return;
	}
	call_next(c);
}

static void
api_free(struct shopapi *a)
{
	if (a->wake)
		event_free(a->wake);
	if (a->http != NULL)
		http_client_free(a->http);
	ratelimit_free(a->rl);
	jwt_cache_free(a->jwt);
	defer_free(a->defer);
	for (int i = 0; i < API_EP_COUNT; i++)
		free(a->paths[i]);
	free(a);
}

static void
api_close(struct store *st)
{
	struct shopapi *a = st->priv;
	struct api_call *c, *n;

	a->closed = 1;
	/* Requests on the wire come back CLOSED from the client's free; waiting ones here. */
	http_client_free(a->http);
	a->http = NULL;
	a->whead = a->wtail = NULL;
	a->waiting = 0;
	for (c = a->calls; c != NULL; c = n) {
		n = c->next;
		if (c->where != C_RECORDS) {
			shopapi_fail_op(c->op, STORE_ERR_CLOSED, "shop api: store closed");
			call_complete(c);
		}
	}
	/* Calls writing their records complete with the database store's close. */
	store_close(a->db);
	while ((c = a->calls) != NULL) {
		shopapi_fail_op(c->op, STORE_ERR_CLOSED, "shop api: store closed");
		call_complete(c);
	}
	api_free(a);
}

static void
api_prepare(struct store *st, const struct store_setup *su, store_done_cb cb, void *arg)
{
	struct shopapi *a = st->priv;

	if (a->catalog_api)
		shopapi_catalog_load(a, a->db, su, cb, arg);
	else
		store_prepare(a->db, su, cb, arg);
}

static void
api_flush(struct store *st, store_done_cb cb, void *arg)
{
	struct shopapi *a = st->priv;

	store_flush(a->db, cb, arg);
}

static void
api_stats(struct store *st, struct store_stats *out)
{
	struct shopapi *a = st->priv;

	store_stats(a->db, out);
}

static void
api_set_run(struct store *st, const char *run_id)
{
	struct shopapi *a = st->priv;

	store_set_run(a->db, run_id);
}

static void
api_set_pool_max(struct store *st, unsigned max)
{
	struct shopapi *a = st->priv;

	store_set_pool_max(a->db, max);
}

static void
api_keyed(struct store *st, struct store_keyjob *j)
{
	struct shopapi *a = st->priv;

	store_keyed(a->db, j);
}

/* The API's part is the shop's own: what is fenced is the database store's writes. */
static int
api_set_fence(struct store *st, const char *run_id, uint32_t shard, uint64_t generation, char *err,
    size_t errlen)
{
	struct shopapi *a = st->priv;

	return store_set_fence(a->db, run_id, shard, generation, err, errlen);
}

static void
api_on_fenced(struct store *st, store_fenced_fn fn, void *arg)
{
	struct shopapi *a = st->priv;

	store_on_fenced(a->db, fn, arg);
}

static void
api_api_stats(struct store *st, struct shopapi_stats *out)
{
	struct shopapi *a = st->priv;
	struct ratelimit_stats rs;
	struct http_stats hs;

	memset(out, 0, sizeof(*out));
	out->on = 1;
	ratelimit_stats(a->rl, now_s(), &rs);
	out->rate = rs.achieved;
	out->rate_limit = rs.rate;
	out->decreases = rs.decreases;
	out->increases = rs.increases;
	out->requests = a->requests;
	out->ok = a->ok;
	memcpy(out->fails, a->fails, sizeof(out->fails));
	out->status_429 = a->fails[API_FAIL_429];
	out->tokens_signed = jwt_cache_signed(a->jwt);
	out->waiting = a->waiting;
	out->in_flight = a->wire;
	if (a->http != NULL) {
		http_stats(a->http, &hs);
		out->conns_open = hs.conns_open;
		out->conns_idle = hs.conns_idle;
	}
}

static const struct store_driver shopapi_driver = {
	.name = "shopapi",
	.close = api_close,
	.prepare = api_prepare,
	.submit = api_submit,
	.flush = api_flush,
	.stats = api_stats,
	.set_run = api_set_run,
	.set_pool_max = api_set_pool_max,
	.keyed = api_keyed,
	.api_stats = api_api_stats,
	.set_fence = api_set_fence,
	.on_fenced = api_on_fenced,
};

/* ---- opening ---- */

static int
check_path(const char *key, const char *p, char *err, size_t errlen)
{
	if (p == NULL || p[0] != '/' || strlen(p) > 256 || !text_printable(p, strlen(p)) ||
	    strpbrk(p, " ?#") != NULL)
		return text_errf(err, errlen,
		    "%s must be a path that starts with '/', without spaces, '?' or '#'", key);
	return 0;
}

int
shopapi_check(const struct shopapi_opts *o, char *err, size_t errlen)
{
	unsigned char key[JWT_KEY_MAX];
	char scheme_err[128];
	size_t keylen;
	CURLU *u;
	char *scheme = NULL;
	CURLUcode uc;

	if ((u = curl_url()) == NULL)
		return text_errf(err, errlen, "shop_api_url: out of memory");
	uc = curl_url_set(u, CURLUPART_URL, o->url, 0);
	if (uc == CURLUE_OK)
		uc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
	if (uc == CURLUE_OK) {
		char *user = NULL;

		if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
			curl_free(user);
			curl_free(scheme);
			curl_url_cleanup(u);
			return text_errf(err, errlen,
			    "shop_api_url must not hold a user or password (tokens authenticate)");
		}
	}
	snprintf(scheme_err, sizeof(scheme_err), "%s",
	    uc != CURLUE_OK ? curl_url_strerror(uc)
		: strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0 ? "not http or https"
									      : "");
	curl_free(scheme);
	curl_url_cleanup(u);
	if (scheme_err[0] != '\0' || strlen(o->url) >= 400)
		return text_errf(err, errlen, "shop_api_url: %s",
		    scheme_err[0] ? scheme_err : "longer than 400 bytes");
	for (int i = 0; i < API_EP_COUNT; i++)
		if (check_path(shopapi_path_keys[i], o->paths[i], err, errlen) != 0)
			return -1;
	if (o->jwt_secret_file == NULL || o->jwt_secret_file[0] == '\0')
		return text_errf(err, errlen, "shop_api_url needs api_jwt_secret_file");
	if (jwt_read_key(o->jwt_secret_file, key, &keylen, err, errlen) != 0)
		return -1;
	OPENSSL_cleanse(key, sizeof(key));
	if (o->rate.rate_min > o->rate.rate_max)
		return text_errf(err, errlen, "api_rate_min is above api_rate_max");
	if (ratelimit_opts_check(&o->rate, err, errlen) != 0)
		return -1;
	return 0;
}

static int
api_parts(struct shopapi *a, const struct shopapi_opts *o, char *err, size_t errlen)
{
	unsigned char key[JWT_KEY_MAX];
	struct http_opts ho = { 0 };
	size_t keylen;
	int rc;

	for (int i = 0; i < API_EP_COUNT; i++)
		if ((a->paths[i] = strdup(o->paths[i])) == NULL)
			return text_errf(err, errlen, "shop api: out of memory");
	if (jwt_read_key(o->jwt_secret_file, key, &keylen, err, errlen) != 0)
		return -1;
	a->jwt = jwt_cache_new(key, keylen, o->jwt_ttl);
	OPENSSL_cleanse(key, sizeof(key));
	ho.base_url = o->url;
	ho.max_keepalive = o->max_keepalive;
	ho.max_connections = o->max_connections;
	ho.max_queue = 65536;
	ho.timeout = o->timeout;
	ho.max_body = o->max_body;
	ho.ca_file = o->ca_file != NULL && o->ca_file[0] != '\0' ? o->ca_file : NULL;
	ho.insecure = o->insecure;
	a->rl = ratelimit_new(&o->rate, now_s());
	a->defer = defer_new(a->base);
	a->wake = evtimer_new(a->base, wake_cb, a);
	if (a->jwt == NULL || a->rl == NULL || a->defer == NULL || a->wake == NULL)
		return text_errf(err, errlen, "shop api: out of memory");
	if ((a->http = http_client_new(a->base, &ho, err, errlen)) == NULL)
		return -1;
	rc = snprintf(a->base_url, sizeof(a->base_url), "%s", o->url);
	return rc < 0 ? -1 : 0;
}

struct store *
shopapi_open(struct event_base *base, const struct shopapi_opts *o, struct store *db, char *err,
    size_t errlen)
{
	struct shopapi *a;

	if (shopapi_check(o, err, errlen) != 0) {
		store_close(db);
		return NULL;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		store_close(db);
		text_errf(err, errlen, "shop api: out of memory");
		return NULL;
	}
	a->base = base;
	a->catalog_api = o->catalog_api;
	a->db = db;
	if (api_parts(a, o, err, errlen) != 0) {
		store_close(db);
		api_free(a);
		return NULL;
	}
	a->st.drv = &shopapi_driver;
	a->st.priv = a;
	if (o->insecure)
		log_warnx("api_insecure is on: the TLS certificate of %s is NOT verified; "
			  "use this on test rigs only",
		    a->base_url);
	log_info("shop api: %s (records to the %s store)", a->base_url, db->drv->name);
	return &a->st;
}
