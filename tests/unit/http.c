/*
 * http.c - the HTTP client against servers the test starts on loopback, in
 * its own event_base: libevent's evhttp for well-behaved answers, and a raw
 * listener with bufferevents for servers that misbehave (silent, lying about
 * their size, dripping, flooding, not speaking HTTP).  Nothing here measures
 * time: a wait fails only when nothing happened within 20 s.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "check.h"
#include "sim/http.h"

/* ---- waiting on the loop ---- */

static void
expired_cb(evutil_socket_t fd, short what, void *arg)
{
	*(int *)arg = 1;
}

/* Runs the loop until *count reaches want; 0 if 20 s passed first. */
static int
wait_for(struct event_base *base, const int *count, int want)
{
	struct timeval tv = { 20, 0 };
	int expired = 0;
	struct event *ev = evtimer_new(base, expired_cb, &expired);

	evtimer_add(ev, &tv);
	while (*count < want && !expired)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(ev);
	return *count >= want;
}

/* Runs the loop for a while (for "nothing more happens" checks). */
static void
spin(struct event_base *base, int ms)
{
	struct timeval tv = { 0, ms * 1000 };
	int expired = 0;
	struct event *ev = evtimer_new(base, expired_cb, &expired);

	evtimer_add(ev, &tv);
	while (!expired)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(ev);
}

static int
bound_port(evutil_socket_t fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (getsockname(fd, (struct sockaddr *)&sin, &len) != 0)
		return -1;
	return ntohs(sin.sin_port);
}

/* ---- what the callbacks saw ---- */

struct got {
	int n;      /* callbacks run */
	int inside; /* one ran inside http_submit() */
	int submitting;
	enum http_err err;
	int status;
	char body[4096];
	size_t body_len;
	char ctype[128];
	char msg[320];
	char hdr[128]; /* X-Method */
	double retry_after, rl_reset;
	long long rl_limit, rl_remaining;
	uint64_t elapsed_us;
	int ticks_then; /* the test's ticker, when the answer came */
	int *ticks;
	/* chained requests: another one from the callback, `more' times */
	struct http_client *c;
	const struct http_request *again;
	int more;
	int resubmit_err; /* what a submit from the callback returned */
	int free_at;      /* free the client from callback number free_at */
};

static void
got_cb(const struct http_response *r, void *arg)
{
	struct got *g = arg;
	const char *h;

	g->n++;
	g->inside |= g->submitting;
	g->err = r->err;
	g->status = r->status;
	g->body_len = r->body_len;
	snprintf(g->body, sizeof(g->body), "%s", r->body);
	snprintf(g->ctype, sizeof(g->ctype), "%s", r->content_type);
	snprintf(g->msg, sizeof(g->msg), "%s", r->msg);
	h = http_response_header(r, "X-Method");
	snprintf(g->hdr, sizeof(g->hdr), "%s", h != NULL ? h : "");
	g->retry_after = r->retry_after;
	g->rl_reset = r->rl_reset;
	g->rl_limit = r->rl_limit;
	g->rl_remaining = r->rl_remaining;
	g->elapsed_us = r->elapsed_us;
	if (g->ticks != NULL)
		g->ticks_then = *g->ticks;
	if (g->c != NULL && g->more > 0) {
		g->more--;
		g->resubmit_err = http_submit(g->c, g->again, got_cb, g);
	}
	if (g->c != NULL && g->free_at == g->n)
		http_client_free(g->c);
}

static void
got_init(struct got *g)
{
	memset(g, 0, sizeof(*g));
	g->err = HTTP_ERR_COUNT;
	g->resubmit_err = -1;
}

static enum http_err
submit(struct http_client *c, const struct http_request *rq, struct got *g)
{
	enum http_err e;

	g->submitting = 1;
	e = http_submit(c, rq, got_cb, g);
	g->submitting = 0;
	return e;
}

static struct http_client *
client(struct event_base *base, const char *scheme, int port, struct http_opts *o)
{
	char url[128], err[256];
	struct http_client *c;

	snprintf(url, sizeof(url), "%s://127.0.0.1:%d/", scheme, port);
	o->base_url = url;
	c = http_client_new(base, o, err, sizeof(err));
	if (c == NULL)
		fprintf(stderr, "http_client_new: %s\n", err);
	CHECK(c != NULL);
	return c;
}

/* ---- an evhttp server, counting connections ---- */

struct srv {
	struct evhttp *http;
	int port;
	int requests;
	int conns_now, conns_max, conns_total;
	struct evhttp_connection *seen[64];
	int nseen;
};

static void
srv_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct srv *s = arg;
	int i;

	for (i = 0; i < s->nseen; i++)
		if (s->seen[i] == evcon) {
			s->seen[i] = s->seen[--s->nseen];
			s->conns_now--;
			return;
		}
}

static void
srv_count(struct srv *s, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	int i;

	for (i = 0; i < s->nseen; i++)
		if (s->seen[i] == evcon)
			return;
	if (s->nseen < 64)
		s->seen[s->nseen++] = evcon;
	evhttp_connection_set_closecb(evcon, srv_conn_closed, s);
	s->conns_total++;
	if (++s->conns_now > s->conns_max)
		s->conns_max = s->conns_now;
}

static void
srv_reply_date(struct evhttp_request *req, struct evkeyvalq *out)
{
	char date[64];
	time_t t = time(NULL) + 120;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	evhttp_add_header(out, "Retry-After", date);
	evhttp_send_reply(req, 503, "Service Unavailable", NULL);
}

/* /echo answers the request's body with its method and content type in headers. */
static void
srv_echo(struct evhttp_request *req, struct evkeyvalq *out, struct evbuffer *body)
{
	static const char *const names[] = { "GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS",
		"TRACE", "CONNECT", "PATCH" };
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
	unsigned i;

	for (i = 0; i < 9 && (1u << i) != (unsigned)cmd; i++)
		;
	evhttp_add_header(out, "X-Method", i < 9 ? names[i] : "?");
	evhttp_add_header(out, "X-Content-Type", ct != NULL ? ct : "(none)");
	evhttp_add_header(out, "Content-Type", "application/json");
	evbuffer_add_buffer(body, evhttp_request_get_input_buffer(req));
	evhttp_send_reply(req, 200, "OK", body);
}

static void
srv_cb(struct evhttp_request *req, void *arg)
{
	struct srv *s = arg;
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct evbuffer *body = evbuffer_new();

	s->requests++;
	srv_count(s, req);
	if (strcmp(path, "/echo") == 0) {
		srv_echo(req, out, body);
	} else if (strcmp(path, "/json") == 0) {
		evhttp_add_header(out, "Content-Type", "application/json");
		evbuffer_add_printf(body, "{\"ok\":true,\"n\":%d}", s->requests);
		evhttp_send_reply(req, 200, "OK", body);
	} else if (strcmp(path, "/retry-secs") == 0) {
		evhttp_add_header(out, "Retry-After", "7");
		evhttp_send_reply(req, 429, "Too Many Requests", NULL);
	} else if (strcmp(path, "/retry-date") == 0) {
		srv_reply_date(req, out);
	} else if (strcmp(path, "/ratelimit") == 0) {
		evhttp_add_header(out, "x-ratelimit-limit-requests", "500");
		evhttp_add_header(out, "x-ratelimit-remaining-requests", "499");
		evhttp_add_header(out, "x-ratelimit-reset-requests", "6m0s");
		evhttp_add_header(out, "Retry-After", "soon");
		evhttp_send_reply(req, 200, "OK", NULL);
	} else {
		evhttp_send_reply(req, 404, "Not Found", NULL);
	}
	evbuffer_free(body);
}

static int
srv_start(struct event_base *base, struct srv *s)
{
	struct evhttp_bound_socket *h;

	memset(s, 0, sizeof(*s));
	if ((s->http = evhttp_new(base)) == NULL)
		return -1;
	evhttp_set_allowed_methods(s->http,
	    EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
		EVHTTP_REQ_HEAD | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(s->http, srv_cb, s);
	if ((h = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0)) == NULL)
		return -1;
	s->port = bound_port(evhttp_bound_socket_get_fd(h));
	return s->port > 0 ? 0 : -1;
}

/* ---- a raw server that misbehaves on purpose ---- */

enum raw_mode {
	RAW_OK,      /* a small 200 after 5 ms, keep-alive */
	RAW_SILENT,  /* reads, never answers */
	RAW_HUGE,    /* announces 2 GiB, sends a few bytes */
	RAW_DRIP,    /* one byte every 50 ms */
	RAW_CHUNKED, /* chunks, 64 KiB each, up to 64 MiB */
	RAW_GARBAGE, /* not HTTP */
	RAW_CLOSE,   /* closes on the request */
	RAW_SHORT,   /* closes 10 bytes into a 100-byte body */
	RAW_HEADERS, /* header lines, 64 KiB at a time, up to 64 MiB */
};

struct raw_conn;

struct raw_srv {
	struct event_base *base;
	struct evconnlistener *l;
	enum raw_mode mode;
	int port;
	int requests;
	int conns_now, conns_max, conns_total;
	LIST_HEAD(, raw_conn) conns;
};

struct raw_conn {
	LIST_ENTRY(raw_conn) link;
	struct raw_srv *s;
	struct bufferevent *bev;
	struct event *tick;
	size_t sent;
	int closing; /* free once the output has left */
};

static void
raw_conn_free(struct raw_conn *rc)
{
	LIST_REMOVE(rc, link);
	rc->s->conns_now--;
	event_free(rc->tick);
	bufferevent_free(rc->bev);
	free(rc);
}

static void
raw_tick(evutil_socket_t fd, short what, void *arg)
{
	struct raw_conn *rc = arg;
	struct timeval tv = { 0, 50000 };

	if (rc->s->mode == RAW_OK) {
		bufferevent_write(rc->bev, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 40);
		return;
	}
	bufferevent_write(rc->bev, "x", 1); /* RAW_DRIP */
	if (++rc->sent < 100000)
		evtimer_add(rc->tick, &tv);
}

static const char raw_garbage[] = "SSH-2.0-OpenSSH_9.2\r\nthis is not HTTP at all\r\n\r\n";

/* 1 when the connection is gone. */
static int
raw_answer(struct raw_conn *rc)
{
	struct timeval tv = { 0, 5000 };
	struct evbuffer *out = bufferevent_get_output(rc->bev);

	switch (rc->s->mode) {
	case RAW_OK:
	case RAW_DRIP:
		if (rc->s->mode == RAW_DRIP)
			evbuffer_add_printf(out,
			    "HTTP/1.1 200 OK\r\n"
			    "Content-Length: 100000\r\n\r\n");
		evtimer_add(rc->tick, &tv);
		break;
	case RAW_SILENT: break;
	case RAW_HUGE:
		evbuffer_add_printf(out,
		    "HTTP/1.1 200 OK\r\nContent-Length: 2147483648\r\n"
		    "Content-Type: application/octet-stream\r\n\r\nxxxx");
		break;
	case RAW_CHUNKED:
		evbuffer_add_printf(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
		break;
	case RAW_HEADERS: evbuffer_add_printf(out, "HTTP/1.1 200 OK\r\n"); break;
	case RAW_GARBAGE: evbuffer_add(out, raw_garbage, sizeof(raw_garbage) - 1); break;
	case RAW_CLOSE: raw_conn_free(rc); return 1;
	case RAW_SHORT:
		evbuffer_add_printf(out,
		    "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
		    "0123456789");
		rc->closing = 1;
		break;
	}
	return 0;
}

static void
raw_read(struct bufferevent *bev, void *arg)
{
	struct raw_conn *rc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr p;

	for (;;) {
		p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
		if (p.pos < 0)
			return;
		evbuffer_drain(in, (size_t)p.pos + 4);
		rc->s->requests++;
		if (raw_answer(rc))
			return;
	}
}

/* RAW_CHUNKED, RAW_HEADERS: more each time the last lot has left. */
static void
raw_write(struct bufferevent *bev, void *arg)
{
	static char lot[65536];
	struct raw_conn *rc = arg;
	struct evbuffer *out = bufferevent_get_output(bev);
	enum raw_mode m = rc->s->mode;
	size_t i;

	if (rc->closing && evbuffer_get_length(out) == 0) {
		raw_conn_free(rc);
		return;
	}
	if ((m != RAW_CHUNKED && m != RAW_HEADERS) || rc->s->requests == 0 ||
	    rc->sent >= (64u << 20))
		return;
	memset(lot, 'y', sizeof(lot));
	if (m == RAW_HEADERS) {
		for (i = 0; i + 64 <= sizeof(lot); i += 64) {
			memcpy(lot + i, "X-Pad: ", 7);
			memcpy(lot + i + 62, "\r\n", 2);
		}
		evbuffer_add(out, lot, sizeof(lot));
	} else {
		evbuffer_add_printf(out, "%zx\r\n", sizeof(lot));
		evbuffer_add(out, lot, sizeof(lot));
		evbuffer_add(out, "\r\n", 2);
	}
	rc->sent += sizeof(lot);
	if (m == RAW_CHUNKED && rc->sent >= (64u << 20))
		evbuffer_add(out, "0\r\n\r\n", 5);
}

static void
raw_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		raw_conn_free(arg);
}

static void
raw_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len, void *arg)
{
	struct raw_srv *s = arg;
	struct raw_conn *rc = calloc(1, sizeof(*rc));

	if (rc == NULL) {
		close(fd);
		return;
	}
	rc->s = s;
	rc->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	rc->tick = evtimer_new(s->base, raw_tick, rc);
	LIST_INSERT_HEAD(&s->conns, rc, link);
	s->conns_total++;
	if (++s->conns_now > s->conns_max)
		s->conns_max = s->conns_now;
	bufferevent_setcb(rc->bev, raw_read, raw_write, raw_event, rc);
	bufferevent_enable(rc->bev, EV_READ | EV_WRITE);
}

static int
raw_start(struct event_base *base, struct raw_srv *s, enum raw_mode mode)
{
	struct sockaddr_in sin;

	memset(s, 0, sizeof(*s));
	s->base = base;
	s->mode = mode;
	LIST_INIT(&s->conns);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->l = evconnlistener_new_bind(base, raw_accept, s,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 64, (struct sockaddr *)&sin, sizeof(sin));
	if (s->l == NULL)
		return -1;
	s->port = bound_port(evconnlistener_get_fd(s->l));
	return s->port > 0 ? 0 : -1;
}

static void
raw_stop(struct raw_srv *s)
{
	while (!LIST_EMPTY(&s->conns))
		raw_conn_free(LIST_FIRST(&s->conns));
	evconnlistener_free(s->l);
}

/* ---- tests without a server ---- */

static void
test_parsers(void)
{
	CHECK(http_parse_duration("12ms") > 0.0119 && http_parse_duration("12ms") < 0.0121);
	CHECK(http_parse_duration("1s") == 1);
	CHECK(http_parse_duration("6m0s") == 360);
	CHECK(http_parse_duration("1h2m3.5s") == 3723.5);
	CHECK(http_parse_duration("0") == 0);
	CHECK(http_parse_duration("0s") == 0);
	CHECK(http_parse_duration("1.5s") == 1.5);
	CHECK(http_parse_duration("250us") > 0.000249 && http_parse_duration("250us") < 0.000251);
	CHECK(http_parse_duration("3\xc2\xb5s") > 0);
	CHECK(http_parse_duration("") == -1);
	CHECK(http_parse_duration("12") == -1);
	CHECK(http_parse_duration("s") == -1);
	CHECK(http_parse_duration("-1s") == -1);
	CHECK(http_parse_duration("1x") == -1);
	CHECK(http_parse_duration("1s ") == -1);
	CHECK(http_parse_duration("1e3s") == -1);
	CHECK(http_parse_duration("inf") == -1);
	CHECK(http_parse_duration("9999999999999s") == -1);
	CHECK(http_parse_duration("99999999999h") == -1); /* past the bound */
	CHECK(http_parse_duration(
		  "1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s") == -1);
	CHECK(http_parse_duration(NULL) == -1);

	CHECK(http_parse_retry_after("7", 1000) == 7);
	CHECK(http_parse_retry_after("0", 1000) == 0);
	CHECK(http_parse_retry_after("120", 1000) == 120);
	CHECK(http_parse_retry_after("1234567890", 1000) == -1); /* absurd */
	CHECK(http_parse_retry_after("-5", 1000) == -1);
	CHECK(http_parse_retry_after("5s", 1000) == -1);
	CHECK(http_parse_retry_after("soon", 1000) == -1);
	CHECK(http_parse_retry_after("", 1000) == -1);
	CHECK(http_parse_retry_after(NULL, 1000) == -1);
	/* 784111777 is Sun, 06 Nov 1994 08:49:37 GMT, in RFC 9110's three forms */
	CHECK(http_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 - 30) == 30);
	CHECK(http_parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", 784111777 - 30) == 30);
	CHECK(http_parse_retry_after("Sun Nov  6 08:49:37 1994", 784111777 - 30) == 30);
	CHECK(http_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 99) == 0);
}

static void
test_header_builder(void)
{
	char buf[64];

	CHECK(http_header(buf, sizeof(buf), "Idempotency-Key", "agent_001:3:checkout") == 0);
	CHECK(strcmp(buf, "Idempotency-Key: agent_001:3:checkout") == 0);
	CHECK(http_header(buf, sizeof(buf), "X-Empty", "") == 0);
	CHECK(http_header(buf, sizeof(buf), "X-A", "b\r\nEvil: 1") == -1);
	CHECK(buf[0] == '\0');
	CHECK(http_header(buf, sizeof(buf), "X-A", "b\nc") == -1);
	CHECK(http_header(buf, sizeof(buf), "X-A", "b\rc") == -1);
	CHECK(http_header(buf, sizeof(buf), "X-A", "b\x01") == -1);
	CHECK(http_header(buf, sizeof(buf), "X-A", "tab\tok") == 0);
	CHECK(http_header(buf, sizeof(buf), "X A", "v") == -1);
	CHECK(http_header(buf, sizeof(buf), "X:A", "v") == -1);
	CHECK(http_header(buf, sizeof(buf), "", "v") == -1);
	CHECK(http_header(buf, sizeof(buf), NULL, "v") == -1);
	CHECK(http_header(buf, sizeof(buf), "X-A", NULL) == -1);
	CHECK(http_header(buf, 8, "X-Long", "0123456789") == -1);
	CHECK(buf[0] == '\0');
}

static void
test_bad_options(struct event_base *base)
{
	struct http_opts o;
	char err[256];

	memset(&o, 0, sizeof(o));
	o.base_url = "ftp://127.0.0.1/";
	CHECK(http_client_new(base, &o, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "http or https") != NULL);
	o.base_url = "not a url";
	CHECK(http_client_new(base, &o, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "base_url") != NULL);
	o.base_url = "";
	CHECK(http_client_new(base, &o, err, sizeof(err)) == NULL);
	o.base_url = "http://user:s3cr3tpw@127.0.0.1/";
	CHECK(http_client_new(base, &o, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "credentials") != NULL && strstr(err, "s3cr3tpw") == NULL);
	o.base_url = "http://127.0.0.1/api?x=1";
	CHECK(http_client_new(base, &o, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "query") != NULL);
	o.base_url = "http://127.0.0.1/";
	o.ca_file = "/nonexistent/ca.pem";
	CHECK(http_client_new(base, &o, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "ca_file") != NULL);
	o.ca_file = NULL;
	o.timeout = -1;
	CHECK(http_client_new(base, &o, err, sizeof(err)) == NULL);
	o.timeout = 0;
	o.max_body = (size_t)4 << 30;
	CHECK(http_client_new(base, &o, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "max_body") != NULL);
}

/* ---- against evhttp ---- */

/* One request, waited for: 1 when it was taken and answered (whatever the outcome). */
static int
one(struct event_base *base, struct http_client *c, const struct http_request *rq, struct got *g)
{
	got_init(g);
	if (submit(c, rq, g) != HTTP_ERR_OK || g->n != 0)
		return 0;
	return wait_for(base, &g->n, 1) && !g->inside;
}

static void
test_get(struct event_base *base, struct srv *s)
{
	const char *hdrs[] = { "X-Simulation-Mode: true", "Accept: application/json" };
	struct http_request rq = { .path = "/json", .headers = hdrs, .nheaders = 2 };
	struct http_opts o = { 0 };
	struct http_client *c = client(base, "http", s->port, &o);
	struct http_stats st;
	struct got g;

	if (c == NULL)
		return;
	CHECK(one(base, c, &rq, &g));
	CHECK(g.err == HTTP_ERR_OK && g.status == 200);
	CHECK(strncmp(g.body, "{\"ok\":true", 10) == 0 && g.body_len == strlen(g.body));
	CHECK(strcmp(g.ctype, "application/json") == 0);
	CHECK(g.msg[0] == '\0' && g.elapsed_us > 0);
	CHECK(g.retry_after == -1 && g.rl_limit == -1 && g.rl_remaining == -1 && g.rl_reset == -1);
	rq = (struct http_request){ .method = "HEAD", .path = "/json" };
	CHECK(one(base, c, &rq, &g));
	CHECK(g.err == HTTP_ERR_OK && g.status == 200 && g.body_len == 0);
	rq = (struct http_request){ .path = "/nowhere" };
	CHECK(one(base, c, &rq, &g));
	CHECK(g.err == HTTP_ERR_OK && g.status == 404);
	http_stats(c, &st);
	CHECK(st.submitted == 3 && st.completed == 3 && st.by_err[HTTP_ERR_OK] == 3);
	CHECK(st.queued == 0 && st.in_flight == 0 && st.rejected == 0);
	CHECK(st.conns_open == 1 && st.conns_idle == 1);
	CHECK(st.bytes_in > 3 * 40 && st.bytes_out > 3 * 20);
	http_client_free(c);
}

static void
test_methods(struct event_base *base, struct srv *s)
{
	static const char json[] = "{\"sku\":\"A-1\",\"qty\":2,\"note\":\"caf\xc3\xa9\"}";
	struct http_request rq = { .method = "POST",
		.path = "/echo",
		.body = json,
		.body_len = strlen(json),
		.content_type = "application/json" };
	struct http_opts o = { 0 };
	struct http_client *c = client(base, "http", s->port, &o);
	struct http_stats st;
	struct got g;

	if (c == NULL)
		return;
	CHECK(one(base, c, &rq, &g));
	CHECK(g.err == HTTP_ERR_OK && g.status == 200 && strcmp(g.hdr, "POST") == 0);
	CHECK(g.body_len == strlen(json) && strcmp(g.body, json) == 0);
	rq.method = "PUT";
	CHECK(one(base, c, &rq, &g));
	CHECK(g.err == HTTP_ERR_OK && strcmp(g.hdr, "PUT") == 0 && strcmp(g.body, json) == 0);
	rq = (struct http_request){ .method = "DELETE", .path = "/echo?id=3" };
	CHECK(one(base, c, &rq, &g));
	CHECK(g.err == HTTP_ERR_OK && strcmp(g.hdr, "DELETE") == 0 && g.body_len == 0);
	rq = (struct http_request){ .method = "POST", .path = "/echo" }; /* no body */
	CHECK(one(base, c, &rq, &g));
	CHECK(g.err == HTTP_ERR_OK && strcmp(g.hdr, "POST") == 0 && g.body_len == 0);
	http_stats(c, &st);
	CHECK(st.bytes_out > 2 * strlen(json));
	http_client_free(c);
}

/* Refused at once, and no callback ever. */
static void
test_refusals(struct event_base *base, struct srv *s)
{
	const char *bad_hdr[] = { "X-A: b\r\nEvil: 1" };
	const char *framing[] = { "Content-Length: 5" };
	struct http_request rq = { .path = "json" };
	struct http_opts o = { 0 };
	struct http_client *c = client(base, "http", s->port, &o);
	struct http_stats st;
	struct got g;

	if (c == NULL)
		return;
	got_init(&g);
	CHECK(submit(c, &rq, &g) == HTTP_ERR_INVALID);
	rq.path = "/a b";
	CHECK(submit(c, &rq, &g) == HTTP_ERR_INVALID);
	rq.path = NULL;
	CHECK(submit(c, &rq, &g) == HTTP_ERR_INVALID);
	rq = (struct http_request){ .method = "get", .path = "/json" };
	CHECK(submit(c, &rq, &g) == HTTP_ERR_INVALID);
	rq = (struct http_request){ .path = "/json", .headers = bad_hdr, .nheaders = 1 };
	CHECK(submit(c, &rq, &g) == HTTP_ERR_INVALID);
	rq.headers = framing;
	CHECK(submit(c, &rq, &g) == HTTP_ERR_INVALID);
	rq = (struct http_request){ .method = "POST",
		.path = "/echo",
		.body = "x",
		.body_len = 1,
		.content_type = "text/plain\r\nX-Evil: 1" };
	CHECK(submit(c, &rq, &g) == HTTP_ERR_INVALID);
	CHECK(http_submit(c, &rq, NULL, NULL) == HTTP_ERR_INVALID);
	spin(base, 20);
	CHECK(g.n == 0);
	http_stats(c, &st);
	CHECK(st.rejected == 8 && st.submitted == 0 && st.completed == 0);
	http_client_free(c);
}

/* A body of exactly max_body bytes is fine, one more byte is not. */
static void
test_body_limit(struct event_base *base, struct srv *s)
{
	static char body[1000];
	struct http_request rq = { .method = "POST",
		.path = "/echo",
		.body = body,
		.body_len = sizeof(body),
		.content_type = "text/plain" };
	struct http_opts o = { .max_body = sizeof(body) };
	struct http_client *c = client(base, "http", s->port, &o);
	struct got g;

	if (c == NULL)
		return;
	memset(body, 'b', sizeof(body));
	got_init(&g);
	CHECK(submit(c, &rq, &g) == HTTP_ERR_OK);
	CHECK(wait_for(base, &g.n, 1));
	CHECK(g.err == HTTP_ERR_OK && g.body_len == sizeof(body) && g.body[999] == 'b');
	http_client_free(c);

	o.max_body = sizeof(body) - 1;
	if ((c = client(base, "http", s->port, &o)) == NULL)
		return;
	got_init(&g);
	CHECK(submit(c, &rq, &g) == HTTP_ERR_OK);
	CHECK(wait_for(base, &g.n, 1));
	CHECK(g.err == HTTP_ERR_TOO_LARGE && g.status == 200 && g.body_len == 0);
	http_client_free(c);
}

static void
test_keepalive(struct event_base *base, struct srv *s)
{
	struct http_request rq = { .path = "/json" };
	struct http_opts o = { 0 };
	struct http_client *c = client(base, "http", s->port, &o);
	int before = s->conns_total;
	struct http_stats st;
	struct got g;

	if (c == NULL)
		return;
	got_init(&g);
	g.c = c;
	g.again = &rq;
	g.more = 49; /* each answer submits the next: 50 in sequence */
	CHECK(submit(c, &rq, &g) == HTTP_ERR_OK);
	CHECK(wait_for(base, &g.n, 50));
	CHECK(g.err == HTTP_ERR_OK && g.status == 200 && g.resubmit_err == HTTP_ERR_OK);
	http_stats(c, &st);
	CHECK(st.completed == 50 && st.by_err[HTTP_ERR_OK] == 50);
	CHECK(st.conns_opened == 1);
	CHECK(s->conns_total - before == 1);
	http_client_free(c);
}

static void
test_retry_after(struct event_base *base, struct srv *s)
{
	struct http_request rq = { .path = "/retry-secs" };
	struct http_opts o = { 0 };
	struct http_client *c = client(base, "http", s->port, &o);
	struct got g;

	if (c == NULL)
		return;
	got_init(&g);
	CHECK(submit(c, &rq, &g) == HTTP_ERR_OK);
	CHECK(wait_for(base, &g.n, 1));
	CHECK(g.err == HTTP_ERR_OK && g.status == 429 && g.retry_after == 7);

	got_init(&g);
	rq.path = "/retry-date";
	CHECK(submit(c, &rq, &g) == HTTP_ERR_OK);
	CHECK(wait_for(base, &g.n, 1));
	CHECK(g.err == HTTP_ERR_OK && g.status == 503);
	CHECK(g.retry_after >= 60 && g.retry_after <= 120); /* 120 s ahead, minus the trip */

	got_init(&g);
	rq.path = "/ratelimit";
	CHECK(submit(c, &rq, &g) == HTTP_ERR_OK);
	CHECK(wait_for(base, &g.n, 1));
	CHECK(g.err == HTTP_ERR_OK && g.status == 200);
	CHECK(g.rl_limit == 500 && g.rl_remaining == 499 && g.rl_reset == 360);
	CHECK(g.retry_after == -1); /* "soon" */
	http_client_free(c);
}

static void
test_max_queue(struct event_base *base, struct srv *s)
{
	struct http_request rq = { .path = "/json" };
	struct http_opts o = { .max_queue = 3 };
	struct http_client *c = client(base, "http", s->port, &o);
	struct http_stats st;
	struct got g;

	if (c == NULL)
		return;
	got_init(&g);
	CHECK(submit(c, &rq, &g) == HTTP_ERR_OK);
	CHECK(submit(c, &rq, &g) == HTTP_ERR_OK);
	CHECK(submit(c, &rq, &g) == HTTP_ERR_OK);
	CHECK(submit(c, &rq, &g) == HTTP_ERR_FULL);
	http_stats(c, &st);
	CHECK(st.rejected == 1 && st.queued + st.in_flight == 3);
	CHECK(wait_for(base, &g.n, 3));
	CHECK(g.err == HTTP_ERR_OK);
	CHECK(submit(c, &rq, &g) == HTTP_ERR_OK); /* room again */
	CHECK(wait_for(base, &g.n, 4));
	spin(base, 20);
	CHECK(g.n == 4);
	http_client_free(c);
}

/* https to a plain-HTTP server: the handshake fails, and says so. */
static void
test_tls_mismatch(struct event_base *base, struct srv *s)
{
	struct http_request rq = { .path = "/json" };
	struct http_opts o = { .timeout = 15 };
	struct http_client *c = client(base, "https", s->port, &o);
	struct got g;

	if (c == NULL)
		return;
	got_init(&g);
	CHECK(submit(c, &rq, &g) == HTTP_ERR_OK);
	CHECK(wait_for(base, &g.n, 1));
	CHECK(g.err == HTTP_ERR_TLS && g.status == 0 && g.msg[0] != '\0');
	http_client_free(c);
}

/* ---- against misbehaving servers ---- */

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(*(int *)arg)++;
}

static void
test_max_connections(struct event_base *base)
{
	struct http_request rq = { .path = "/x" };
	struct http_opts o = { .max_connections = 4 };
	struct raw_srv s;
	struct http_client *c;
	struct http_stats st;
	struct got g;
	int i, ok = 1;

	CHECK(raw_start(base, &s, RAW_OK) == 0);
	if ((c = client(base, "http", s.port, &o)) == NULL)
		return;
	got_init(&g);
	for (i = 0; i < 100; i++)
		ok &= submit(c, &rq, &g) == HTTP_ERR_OK;
	CHECK(ok);
	http_stats(c, &st);
	CHECK(st.queued == 100 && st.in_flight == 0);
	CHECK(wait_for(base, &g.n, 100));
	CHECK(g.err == HTTP_ERR_OK && g.status == 200 && strcmp(g.body, "ok") == 0);
	CHECK(s.requests == 100);
	CHECK(s.conns_max <= 4 && s.conns_max >= 1);
	http_stats(c, &st);
	CHECK(st.by_err[HTTP_ERR_OK] == 100 && st.conns_opened <= 4 && st.conns_open <= 4);
	http_client_free(c);
	raw_stop(&s);
}

/* One failing request against a raw server; the test's ticker runs meanwhile. */
static void
raw_one(struct event_base *base, enum raw_mode mode, struct http_opts *o, struct got *g)
{
	struct http_request rq = { .path = "/x" };
	struct timeval tv = { 0, 50000 };
	struct raw_srv s;
	struct http_client *c;
	struct event *ticker;
	int ticks = 0;

	got_init(g);
	g->ticks = &ticks;
	CHECK(raw_start(base, &s, mode) == 0);
	ticker = event_new(base, -1, EV_PERSIST, tick_cb, &ticks);
	evtimer_add(ticker, &tv);
	if ((c = client(base, "http", s.port, o)) != NULL) {
		CHECK(submit(c, &rq, g) == HTTP_ERR_OK);
		CHECK(wait_for(base, &g->n, 1));
		http_client_free(c);
	}
	g->ticks = NULL;
	event_free(ticker);
	raw_stop(&s);
}

static void
test_misbehaving(struct event_base *base)
{
	struct http_opts o = { .timeout = 0.3 };
	struct got g;

	raw_one(base, RAW_SILENT, &o, &g);
	CHECK(g.err == HTTP_ERR_TIMEOUT && g.status == 0 && g.msg[0] != '\0');
	CHECK(g.ticks_then > 0); /* the loop went on while it waited */

	raw_one(base, RAW_DRIP, &o, &g);
	CHECK(g.err == HTTP_ERR_TIMEOUT && g.status == 200 && g.body_len == 0);
	CHECK(g.ticks_then > 0);

	o.timeout = 15; /* these must end long before that */
	raw_one(base, RAW_HUGE, &o, &g);
	CHECK(g.err == HTTP_ERR_TOO_LARGE && g.body_len == 0);
	CHECK(strstr(g.msg, "max_body") != NULL);

	o.max_body = 1 << 20;
	raw_one(base, RAW_CHUNKED, &o, &g);
	CHECK(g.err == HTTP_ERR_TOO_LARGE && g.status == 200 && g.body_len == 0);
	o.max_body = 0;

	raw_one(base, RAW_HEADERS, &o, &g);
	CHECK(g.err == HTTP_ERR_TOO_LARGE && strstr(g.msg, "headers larger than") != NULL);

	raw_one(base, RAW_GARBAGE, &o, &g);
	CHECK(g.err == HTTP_ERR_PROTOCOL && g.msg[0] != '\0');

	raw_one(base, RAW_CLOSE, &o, &g);
	CHECK(g.err == HTTP_ERR_IO && g.status == 0 && g.msg[0] != '\0');

	raw_one(base, RAW_SHORT, &o, &g);
	CHECK(g.err == HTTP_ERR_IO && g.status == 200 && g.body_len == 0);
}

/* A port bound but not listening: connect() is refused, and nobody can take it. */
static void
test_refused(struct event_base *base)
{
	struct http_request rq = { .path = "/x" };
	struct http_opts o = { .timeout = 15 };
	struct sockaddr_in sin;
	struct http_client *c;
	struct got g;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	if ((c = client(base, "http", bound_port(fd), &o)) != NULL) {
		got_init(&g);
		CHECK(submit(c, &rq, &g) == HTTP_ERR_OK);
		CHECK(wait_for(base, &g.n, 1));
		CHECK(g.err == HTTP_ERR_CONNECT && g.status == 0 && g.msg[0] != '\0');
		http_client_free(c);
	}
	close(fd);
}

/* Pending requests, on a connection or queued behind max_connections, end CLOSED in free. */
static void
test_free_pending(struct event_base *base)
{
	struct http_request rq = { .path = "/x" };
	struct http_opts o = { .max_connections = 2, .timeout = 15 };
	struct raw_srv s;
	struct http_client *c;
	struct http_stats st;
	struct got g;
	int i;

	CHECK(raw_start(base, &s, RAW_SILENT) == 0);
	if ((c = client(base, "http", s.port, &o)) == NULL)
		return;
	got_init(&g);
	g.c = c;
	g.again = &rq;
	g.more = 1; /* the first CLOSED callback tries to submit again */
	for (i = 0; i < 5; i++)
		CHECK(submit(c, &rq, &g) == HTTP_ERR_OK);
	CHECK(wait_for(base, &s.requests, 2));
	http_stats(c, &st);
	CHECK(st.in_flight == 2 && st.queued == 3 && st.conns_open == 2 && st.conns_idle == 0);
	CHECK(g.n == 0);
	http_client_free(c);
	CHECK(g.n == 5 && g.err == HTTP_ERR_CLOSED && strstr(g.msg, "closed") != NULL);
	CHECK(g.resubmit_err == HTTP_ERR_CLOSED);
	spin(base, 50);
	CHECK(g.n == 5);
	raw_stop(&s);
}

/* A callback frees the client: the others end CLOSED, nothing runs after. */
static void
test_free_from_callback(struct event_base *base, struct srv *srv)
{
	struct http_request fast = { .path = "/json" }, slow = { .path = "/x" };
	struct http_opts o = { .timeout = 15 };
	struct raw_srv s;
	struct http_client *c, *c2;
	struct got g, g2;

	CHECK(raw_start(base, &s, RAW_SILENT) == 0);
	c = client(base, "http", srv->port, &o);
	c2 = client(base, "http", s.port, &o);
	if (c == NULL || c2 == NULL)
		return;
	got_init(&g);
	got_init(&g2);
	g.c = c2; /* the fast answer frees the slow client */
	g.free_at = 1;
	CHECK(submit(c2, &slow, &g2) == HTTP_ERR_OK);
	CHECK(submit(c2, &slow, &g2) == HTTP_ERR_OK);
	CHECK(wait_for(base, &s.requests, 2));
	CHECK(submit(c, &fast, &g) == HTTP_ERR_OK);
	CHECK(wait_for(base, &g.n, 1));
	CHECK(g2.n == 2 && g2.err == HTTP_ERR_CLOSED);
	http_client_free(c);

	/* and a client freeing itself from its own callback */
	c = client(base, "http", srv->port, &o);
	if (c == NULL)
		return;
	got_init(&g);
	g.c = c;
	g.free_at = 1;
	CHECK(submit(c, &fast, &g) == HTTP_ERR_OK);
	CHECK(submit(c, &slow, &g) == HTTP_ERR_OK);
	CHECK(wait_for(base, &g.n, 2));
	spin(base, 50);
	CHECK(g.n == 2 && g.err == HTTP_ERR_CLOSED);
	raw_stop(&s);
}

/* ---- libcurl's allocations failing, one at a time ---- */

static long alloc_count, fail_at = -1;

static int
may_alloc(void)
{
	return fail_at < 0 || alloc_count++ != fail_at;
}

static void *
t_malloc(size_t n)
{
	return may_alloc() ? malloc(n) : NULL;
}

static void *
t_calloc(size_t a, size_t b)
{
	return may_alloc() ? calloc(a, b) : NULL;
}

static void *
t_realloc(void *p, size_t n)
{
	return may_alloc() ? realloc(p, n) : NULL;
}

static char *
t_strdup(const char *s)
{
	return may_alloc() ? strdup(s) : NULL;
}

static void
t_free(void *p)
{
	free(p);
}

/* One request with libcurl's k-th allocation failing: 0 fine, 3 wrong, 4 none failed. */
static int
nomem_one(struct event_base *base, struct srv *s, long k)
{
	static const char json[] = "{\"a\":1}";
	const char *hdrs[] = { "X-Simulation-Mode: true" };
	struct http_request rq = { .method = "POST",
		.path = "/echo",
		.headers = hdrs,
		.nheaders = 1,
		.body = json,
		.body_len = sizeof(json) - 1,
		.content_type = "application/json" };
	struct http_opts o = { .timeout = 5 };
	struct http_client *c;
	struct got g;
	enum http_err e;
	int bad;

	if ((c = client(base, "http", s->port, &o)) == NULL)
		return 3;
	got_init(&g);
	alloc_count = 0;
	fail_at = k;
	e = submit(c, &rq, &g);
	bad = e == HTTP_ERR_OK && !wait_for(base, &g.n, 1);
	fail_at = -1;
	spin(base, 1);
	bad |= g.n != (e == HTTP_ERR_OK) || g.inside;
	http_client_free(c);
	return bad ? 3 : alloc_count <= k ? 4 : 0;
}

/*
 * Every allocation of libcurl's, in turn, fails during one request: each
 * request ends with a refusal or exactly one callback, never a hang.  Each
 * runs in a child: libcurl 7.88 itself crashes at one of those points (a
 * division by zero in a hash table), which is reported, not counted.
 */
static void
test_nomem(struct event_base *base, struct srv *s)
{
	int st, code, null, bad = 0, crashed = 0;
	pid_t pid;
	long k;

	for (k = 0; k < 2000; k++) {
		fflush(stdout);
		fflush(stderr);
		if ((pid = fork()) < 0)
			break;
		if (pid == 0) {
			/* silent: a crash in libcurl would print a sanitizer's report */
			if ((null = open("/dev/null", O_WRONLY)) >= 0)
				dup2(null, STDERR_FILENO);
			event_reinit(base);
			_exit(nomem_one(base, s, k));
		}
		if (waitpid(pid, &st, 0) != pid)
			break;
		code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		if (code == 4)
			break;
		if (code == 3)
			bad++;
		else if (code != 0)
			crashed++;
		if (code == 3 || (code != 0 && code != 3))
			fprintf(stderr, "nomem: allocation %ld: %s\n", k,
			    code == 3 ? "no answer or two" : "libcurl crashed");
	}
	CHECK(k > 10 && k < 2000);
	CHECK(bad == 0);
	printf("nomem: %ld allocation points, libcurl crashed at %d\n", k, crashed);
}

int
main(void)
{
	struct event_base *base = event_base_new();
	struct srv s;

	CHECK(base != NULL);
	if (base == NULL)
		return CHECK_DONE();
	/* before any other curl_global_init(): libcurl allocates through these */
	CHECK(curl_global_init_mem(CURL_GLOBAL_DEFAULT, t_malloc, t_free, t_realloc, t_strdup,
		  t_calloc) == CURLE_OK);
	test_parsers();
	test_header_builder();
	test_bad_options(base);
	CHECK(srv_start(base, &s) == 0);
	test_get(base, &s);
	test_methods(base, &s);
	test_refusals(base, &s);
	test_body_limit(base, &s);
	test_keepalive(base, &s);
	test_retry_after(base, &s);
	test_max_queue(base, &s);
	test_tls_mismatch(base, &s);
	test_max_connections(base);
	test_misbehaving(base);
	test_refused(base);
	test_free_pending(base);
	test_free_from_callback(base, &s);
	test_nomem(base, &s);
	evhttp_free(s.http);
	event_base_free(base);
	curl_global_cleanup();
	return CHECK_DONE();
}
