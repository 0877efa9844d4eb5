/*
 * http.c - the HTTP client (see http.h).
 *
 * libcurl's multi-socket interface: libcurl says which sockets to watch
 * (http_sock_cb) and when to call it again (http_timer_cb); libevent events on
 * those sockets and one timer call curl_multi_socket_action(), and finished
 * transfers are collected with curl_multi_info_read() right after, so a
 * callback never runs inside http_submit() nor inside libcurl.  Each request
 * is a transfer owning an easy handle; finished ones are reset and kept on a
 * bounded spare list.  Connections are counted where they are made: libcurl
 * opens and closes every socket of ours through http_open_sock and
 * http_close_sock (a connection keeps the close callback it was opened with,
 * so resetting an easy handle loses nothing).
 *
 * A callback may free the client.  http_client_free() then tears everything
 * down but the struct itself, marked `dead', which the loop callback that
 * called out frees on its way back (http_action, http_reap_cb).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "sim/http.h"
#include "sim/log.h"
#include "sim/metrics.h"

#ifndef SIMD_VERSION
#define SIMD_VERSION "unknown"
#endif

#define HTTP_MAX_HEADERS 64
#define HTTP_MAX_LINE 8192                 /* a path, a header we send */
#define HTTP_MAX_RESP_HEADERS (256 * 1024) /* all the response's header lines */
#define HTTP_KEEP_BUF 65536                /* a body buffer kept for the next request */
#define HTTP_MAX_BODY_LIMIT (1024u * 1024 * 1024)

struct http_xfer {
	TAILQ_ENTRY(http_xfer) link; /* active or spare list */
	struct http_client *c;
	CURL *easy;
	struct curl_slist *hdrs;
	http_cb cb;
	void *arg;
	char *body;
	size_t len, cap;
	size_t hdr_bytes;
	uint64_t t0;
	int connected;      /* counted in nconnected */
	int dialled;        /* opened a socket of its own */
	int abandoned;      /* for the reaper */
	enum http_err fail; /* our callbacks' verdict, over libcurl's */
	char errbuf[CURL_ERROR_SIZE];
};

struct http_sock {
	LIST_ENTRY(http_sock) link;
	struct event *ev;
};

TAILQ_HEAD(http_xfers, http_xfer);
LIST_HEAD(http_socks, http_sock);

struct http_client {
	struct event_base *base;
	struct http_opts o;
	char *base_url; /* normalised, no trailing '/' */
	size_t base_len;
	char *ca_file;
	int tls;
	CURLM *multi;
	struct event *timer;  /* libcurl's timeout */
	struct event *reaper; /* fails the transfers we abandoned */
	struct http_xfers active, spare;
	struct http_socks socks;
	unsigned nactive, nspare, nconnected;
	unsigned dispatching; /* callbacks running */
	int freed;            /* http_client_free() was called */
	int closing;          /* refuse new requests, keep no spares */
	int dead;             /* freed from a callback: release on the way out */
	struct http_stats st; /* the counters; the gauges are computed */
};

static const char *const http_err_names[HTTP_ERR_COUNT] = {
	"ok",
	"connect",
	"tls",
	"timeout",
	"too_large",
	"protocol",
	"io",
	"nomem",
	"closed",
	"internal",
	"full",
	"invalid",
};

const char *
http_err_name(enum http_err e)
{
	return (unsigned)e < HTTP_ERR_COUNT ? http_err_names[e] : "unknown";
}

/* Keeps the first failure of a run of libcurl calls (0 is success for all). */
static void
http_first(int *rc, int r)
{
	if (*rc == 0)
		*rc = r;
}

/* ---- syntax: tokens, header values, paths, parsed headers ---- */

static int
http_tchar(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static int
http_token_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 256)
		return 0;
	for (i = 0; i < n; i++)
		if (!http_tchar((unsigned char)s[i]))
			return 0;
	return 1;
}

/* A field value: visible characters, spaces, tabs, obs-text; no CR, LF or other control. */
static int
http_value_ok(const char *s)
{
	size_t n = strnlen(s, HTTP_MAX_LINE + 1);
	size_t i;

	if (n > HTTP_MAX_LINE)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return 0;
	}
	return 1;
}

int
http_header(char *buf, size_t size, const char *name, const char *value)
{
	int n;

	if (size > 0)
		buf[0] = '\0';
	if (name == NULL || value == NULL || !http_token_ok(name, strlen(name)) ||
	    !http_value_ok(value))
		return -1;
	n = snprintf(buf, size, "%s: %s", name, value);
	if (n < 0 || (size_t)n >= size) {
		if (size > 0)
			buf[0] = '\0';
		return -1;
	}
	return 0;
}

/* "Name: value" as built by http_header(); the framing headers are libcurl's. */
static int
http_header_line_ok(const char *h)
{
	const char *colon;
	size_t n;

	if (h == NULL || (colon = strchr(h, ':')) == NULL)
		return 0;
	n = (size_t)(colon - h);
	if (!http_token_ok(h, n))
		return 0;
	if ((n == 14 && strncasecmp(h, "Content-Length", n) == 0) ||
	    (n == 17 && strncasecmp(h, "Transfer-Encoding", n) == 0))
		return 0;
	return http_value_ok(colon + 1);
}

static int
http_path_ok(const char *p)
{
	size_t i;

	if (p == NULL || p[0] != '/')
		return 0;
	for (i = 0; p[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (i >= HTTP_MAX_LINE || ch <= 0x20 || ch >= 0x7f || ch == '#')
			return 0;
	}
	return 1;
}

static int
http_method_ok(const char *m)
{
	size_t i;

	for (i = 0; m[i] != '\0'; i++)
		if (i >= 16 || m[i] < 'A' || m[i] > 'Z')
			return 0;
	return i > 0;
}

static int
http_request_ok(const struct http_request *rq)
{
	size_t i;

	if (rq == NULL || !http_path_ok(rq->path) ||
	    (rq->method != NULL && !http_method_ok(rq->method)) ||
	    (rq->content_type != NULL && !http_value_ok(rq->content_type)) ||
	    rq->nheaders > HTTP_MAX_HEADERS || (rq->nheaders > 0 && rq->headers == NULL) ||
	    (rq->body == NULL && rq->body_len > 0) ||
	    (rq->body != NULL && rq->method != NULL && strcmp(rq->method, "HEAD") == 0))
		return 0;
	for (i = 0; i < rq->nheaders; i++)
		if (!http_header_line_ok(rq->headers[i]))
			return 0;
	return 1;
}

/* Digits only, at most maxd of them; -1 otherwise. */
static long long
http_parse_count(const char *s, int maxd)
{
	long long n = 0;
	int d;

	if (s == NULL)
		return -1;
	for (d = 0; s[d] >= '0' && s[d] <= '9'; d++) {
		if (d >= maxd)
			return -1;
		n = n * 10 + (s[d] - '0');
	}
	return d > 0 && s[d] == '\0' ? n : -1;
}

/* A decimal number, "12" or "3.5"; NULL when there is none or it is absurdly long. */
static const char *
http_number(const char *s, double *v)
{
	double x = 0, scale = 1;
	int digits = 0;

	for (; *s >= '0' && *s <= '9'; s++) {
		if (++digits > 12)
			return NULL;
		x = x * 10 + (*s - '0');
	}
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++) {
			if (++digits > 24)
				return NULL;
			scale /= 10;
			x += (*s - '0') * scale;
		}
	if (digits == 0)
		return NULL;
	*v = x;
	return s;
}

/* Go's duration units, as OpenAI writes them ("ms" before "m"). */
static const char *
http_unit(const char *s, double *unit)
{
	static const struct {
		const char *name;
		double seconds;
	} units[] = {
		{ "ns", 1e-9 },
		{ "us", 1e-6 },
		{ "\xc2\xb5s", 1e-6 },
		{ "\xce\xbcs", 1e-6 },
		{ "ms", 1e-3 },
		{ "s", 1 },
		{ "m", 60 },
		{ "h", 3600 },
	};
	size_t i, n;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		n = strlen(units[i].name);
		if (strncmp(s, units[i].name, n) == 0) {
			*unit = units[i].seconds;
			return s + n;
		}
	}
	return NULL;
}

double
http_parse_duration(const char *s)
{
	double total = 0, v, unit;

	if (s == NULL || *s == '\0' || strnlen(s, 65) > 64)
		return -1;
	if (strcmp(s, "0") == 0)
		return 0;
	while (*s != '\0') {
		if ((s = http_number(s, &v)) == NULL || (s = http_unit(s, &unit)) == NULL)
			return -1;
		total += v * unit;
	}
	return total <= 1e9 ? total : -1;
}

double
http_parse_retry_after(const char *s, time_t now)
{
	long long n;
	time_t t;

	if (s == NULL)
		return -1;
	if (*s >= '0' && *s <= '9') {
		n = http_parse_count(s, 9);
		return n < 0 ? -1 : (double)n;
	}
	/* An HTTP-date starts with the day's name; curl_getdate() reads all three forms. */
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')) || strnlen(s, 65) > 64)
		return -1;
	t = curl_getdate(s, NULL);
	if (t == -1)
		return -1;
	return t > now ? (double)(t - now) : 0;
}

/* ---- transfers ---- */

static void
http_xfer_destroy(struct http_xfer *x)
{
	curl_slist_free_all(x->hdrs);
	curl_easy_cleanup(x->easy);
	free(x->body);
	free(x);
}

static struct http_xfer *
http_xfer_get(struct http_client *c)
{
	struct http_xfer *x = TAILQ_FIRST(&c->spare);

	if (x != NULL) {
		TAILQ_REMOVE(&c->spare, x, link);
		c->nspare--;
		return x;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	x->c = c;
	if ((x->easy = curl_easy_init()) == NULL) {
		free(x);
		return NULL;
	}
	return x;
}

/* Back to the spare list (bounded), the easy handle reset; or gone. */
static void
http_xfer_put(struct http_client *c, struct http_xfer *x)
{
	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
	if (c->closing || c->nspare >= c->o.max_connections) {
		http_xfer_destroy(x);
		return;
	}
	curl_easy_reset(x->easy);
	if (x->cap > HTTP_KEEP_BUF) {
		free(x->body);
		x->body = NULL;
		x->cap = 0;
	}
	x->len = x->hdr_bytes = 0;
	x->connected = x->dialled = x->abandoned = 0;
	x->fail = HTTP_ERR_OK;
	x->errbuf[0] = '\0';
	TAILQ_INSERT_HEAD(&c->spare, x, link);
	c->nspare++;
}

static int
http_grow(struct http_xfer *x, size_t need)
{
	size_t max = x->c->o.max_body, cap = x->cap > 0 ? x->cap : 4096;
	curl_off_t announced = -1;
	char *b;

	/* A Content-Length within bounds sizes the buffer at once. */
	if (x->len == 0 &&
	    curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &announced) ==
		CURLE_OK &&
	    announced > 0 && (uint64_t)announced <= max && (size_t)announced + 1 > cap)
		cap = (size_t)announced + 1;
	while (cap < need)
		cap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
	if ((b = realloc(x->body, cap)) == NULL)
		return -1;
	x->body = b;
	x->cap = cap;
	return 0;
}

static size_t
http_write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct http_xfer *x = arg;

	n *= size;
	if (n > x->c->o.max_body - x->len) {
		x->fail = HTTP_ERR_TOO_LARGE;
		return 0;
	}
	if (x->len + n + 1 > x->cap && http_grow(x, x->len + n + 1) != 0) {
		x->fail = HTTP_ERR_NOMEM;
		return 0;
	}
	memcpy(x->body + x->len, p, n);
	x->len += n;
	x->body[x->len] = '\0';
	return n;
}

/*
 * Only counts: libcurl keeps the headers (curl_easy_header); a server sending
 * them forever must not hold memory until the timeout.
 */
static size_t
http_header_cb(char *p, size_t size, size_t n, void *arg)
{
	struct http_xfer *x = arg;

	n *= size;
	x->hdr_bytes += n;
	if (x->hdr_bytes > HTTP_MAX_RESP_HEADERS) {
		x->fail = HTTP_ERR_TOO_LARGE;
		return 0;
	}
	return n;
}

/* Called once a connection is there, just before the request goes out. */
static int
http_prereq_cb(void *arg, char *ip, char *local_ip, int port, int local_port)
{
	struct http_xfer *x = arg;

	if (!x->connected) {
		x->connected = 1;
		x->c->nconnected++;
	}
	return CURL_PREREQFUNC_OK;
}

static curl_socket_t
http_open_sock(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct http_xfer *x = arg;
	curl_socket_t s;

	if (purpose != CURLSOCKTYPE_IPCXN)
		return CURL_SOCKET_BAD;
	s = socket(a->family, a->socktype, a->protocol);
	if (s == CURL_SOCKET_BAD)
		return s;
	(void)fcntl(s, F_SETFD, FD_CLOEXEC);
	x->dialled = 1;
	x->c->st.conns_opened++;
	return s;
}

static int
http_close_sock(void *arg, curl_socket_t s)
{
	struct http_client *c = arg;

	c->st.conns_closed++;
	return close(s);
}

/* ---- setting a transfer up ---- */

static int
http_slist_add(struct curl_slist **l, const char *s)
{
	struct curl_slist *t = curl_slist_append(*l, s);

	if (t == NULL)
		return -1;
	*l = t;
	return 0;
}

/*
 * The caller's headers, our Content-Type (or "Content-Type:", which stops
 * libcurl's form default), and "Expect:" (no 100-continue round trip).
 */
static int
http_build_headers(struct http_xfer *x, const struct http_request *rq, int has_body)
{
	char ct[HTTP_MAX_LINE + 32];
	size_t i;

	if (has_body && rq->content_type != NULL &&
	    http_header(ct, sizeof(ct), "Content-Type", rq->content_type) != 0)
		return -1;
	if (has_body &&
	    http_slist_add(&x->hdrs, rq->content_type != NULL ? ct : "Content-Type:") != 0)
		return -1;
	if (http_slist_add(&x->hdrs, "Expect:") != 0)
		return -1;
	for (i = 0; i < rq->nheaders; i++)
		if (http_slist_add(&x->hdrs, rq->headers[i]) != 0)
			return -1;
	return 0;
}

/* At least 1 ms: 0 would mean no timeout at all. */
static long
http_ms(double s)
{
	long ms = (long)(s * 1000);

	return ms > 0 ? ms : 1;
}

static int
http_setopt_common(struct http_client *c, struct http_xfer *x)
{
	const struct {
		CURLoption opt;
		long v;
	} lo[] = {
		{ CURLOPT_NOSIGNAL, 1 },
		{ CURLOPT_TIMEOUT_MS, http_ms(c->o.timeout) },
		{ CURLOPT_CONNECTTIMEOUT_MS, http_ms(c->o.connect_timeout) },
		{ CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS },
		{ CURLOPT_PIPEWAIT, c->tls },
		{ CURLOPT_SSL_VERIFYPEER, !c->o.insecure },
		{ CURLOPT_SSL_VERIFYHOST, c->o.insecure ? 0 : 2 },
		{ CURLOPT_FOLLOWLOCATION, 0 },
	};
	CURL *e = x->easy;
	int rc = 0;
	size_t i;

	for (i = 0; i < sizeof(lo) / sizeof(lo[0]); i++)
		http_first(&rc, curl_easy_setopt(e, lo[i].opt, lo[i].v));
	http_first(&rc, curl_easy_setopt(e, CURLOPT_PRIVATE, x));
	http_first(&rc, curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf));
	http_first(&rc, curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->o.max_body));
	http_first(&rc, curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_write_cb));
	http_first(&rc, curl_easy_setopt(e, CURLOPT_WRITEDATA, x));
	http_first(&rc, curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_header_cb));
	http_first(&rc, curl_easy_setopt(e, CURLOPT_HEADERDATA, x));
	http_first(&rc, curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, http_prereq_cb));
	http_first(&rc, curl_easy_setopt(e, CURLOPT_PREREQDATA, x));
	http_first(&rc, curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, http_open_sock));
	http_first(&rc, curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, x));
	http_first(&rc, curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, http_close_sock));
	http_first(&rc, curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, c));
	/* No proxy from the environment: the backend is what the URL says. */
	http_first(&rc, curl_easy_setopt(e, CURLOPT_PROXY, ""));
	http_first(&rc, curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https"));
	http_first(&rc, curl_easy_setopt(e, CURLOPT_USERAGENT, "simd/" SIMD_VERSION));
	if (c->ca_file != NULL)
		http_first(&rc, curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file));
	return rc;
}

static int
http_setopt_request(
    struct http_client *c, struct http_xfer *x, const struct http_request *rq, int has_body)
{
	const char *m = rq->method != NULL ? rq->method : "GET";
	CURL *e = x->easy;
	char *url;
	int rc = 0;

	if ((url = malloc(c->base_len + strlen(rq->path) + 1)) == NULL)
		return CURLE_OUT_OF_MEMORY;
	memcpy(url, c->base_url, c->base_len);
	strcpy(url + c->base_len, rq->path);
	http_first(&rc, curl_easy_setopt(e, CURLOPT_URL, url));
	free(url);
	http_first(&rc, curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs));
	if (has_body) {
		/* The size first: the body is copied by length, NULs and all. */
		http_first(&rc,
		    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len));
		http_first(&rc,
		    curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, rq->body != NULL ? rq->body : ""));
	}
	/* A body makes it a POST; any other method with one is a custom one. */
	if (strcmp(m, "HEAD") == 0)
		http_first(&rc, curl_easy_setopt(e, CURLOPT_NOBODY, 1L));
	else if (strcmp(m, "POST") != 0 && (strcmp(m, "GET") != 0 || has_body))
		http_first(&rc, curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m));
	return rc;
}

/* POST, PUT and PATCH always carry a body (an empty one if none is given). */
static int
http_has_body(const struct http_request *rq)
{
	const char *m = rq->method;

	return rq->body != NULL ||
	    (m != NULL &&
		(strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0));
}

static enum http_err
http_start(struct http_client *c, struct http_xfer *x, const struct http_request *rq, http_cb cb,
    void *arg)
{
	int has_body = http_has_body(rq), rc;
	CURLMcode mrc;

	if (http_build_headers(x, rq, has_body) != 0) {
		http_xfer_put(c, x);
		return HTTP_ERR_NOMEM;
	}
	rc = http_setopt_common(c, x);
	http_first(&rc, http_setopt_request(c, x, rq, has_body));
	if (rc != CURLE_OK) {
		log_debug("http: cannot set a request up: %s", curl_easy_strerror(rc));
		http_xfer_put(c, x);
		return rc == CURLE_OUT_OF_MEMORY ? HTTP_ERR_NOMEM : HTTP_ERR_INTERNAL;
	}
	x->cb = cb;
	x->arg = arg;
	x->t0 = metrics_now_us();
	if ((mrc = curl_multi_add_handle(c->multi, x->easy)) != CURLM_OK) {
		log_debug("http: cannot queue a request: %s", curl_multi_strerror(mrc));
		curl_multi_remove_handle(c->multi, x->easy); /* if it got in after all */
		http_xfer_put(c, x);
		return mrc == CURLM_OUT_OF_MEMORY ? HTTP_ERR_NOMEM : HTTP_ERR_INTERNAL;
	}
	TAILQ_INSERT_TAIL(&c->active, x, link);
	c->nactive++;
	c->st.submitted++;
	return HTTP_ERR_OK;
}

enum http_err
http_submit(struct http_client *c, const struct http_request *rq, http_cb cb, void *arg)
{
	struct http_xfer *x;
	enum http_err e;

	if (c->closing)
		e = HTTP_ERR_CLOSED;
	else if (c->nactive >= c->o.max_queue)
		e = HTTP_ERR_FULL;
	else if (cb == NULL || !http_request_ok(rq))
		e = HTTP_ERR_INVALID;
	else if ((x = http_xfer_get(c)) == NULL)
		e = HTTP_ERR_NOMEM;
	else
		e = http_start(c, x, rq, cb, arg);
	if (e != HTTP_ERR_OK)
		c->st.rejected++;
	return e;
}

/* ---- completion ---- */

static enum http_err
http_map(const struct http_xfer *x, CURLcode rc)
{
	if (x->fail != HTTP_ERR_OK)
		return x->fail;
	switch (rc) {
	case CURLE_OK: return HTTP_ERR_OK;
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_QUIC_CONNECT_ERROR: return HTTP_ERR_CONNECT;
	case CURLE_OPERATION_TIMEDOUT: return HTTP_ERR_TIMEOUT;
	case CURLE_FILESIZE_EXCEEDED: return HTTP_ERR_TOO_LARGE;
	case CURLE_OUT_OF_MEMORY: return HTTP_ERR_NOMEM;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CLIENTCERT:
	case CURLE_USE_SSL_FAILED: return HTTP_ERR_TLS;
	case CURLE_UNSUPPORTED_PROTOCOL: /* what a non-HTTP answer gets (HTTP/0.9) */
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_HTTP3:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_TOO_MANY_REDIRECTS: return HTTP_ERR_PROTOCOL;
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE: return HTTP_ERR_IO;
	default: return HTTP_ERR_INTERNAL;
	}
}

/* One line: control characters become spaces, trailing ones go. */
static void
http_one_line(char *buf, size_t size, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < size && src[i] != '\0'; i++)
		buf[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? ' ' : src[i];
	while (i > 0 && buf[i - 1] == ' ')
		i--;
	buf[i] = '\0';
}

static void
http_message(const struct http_client *c, const struct http_xfer *x, enum http_err err, CURLcode rc,
    char *buf, size_t size)
{
	if (err == HTTP_ERR_OK) {
		buf[0] = '\0';
	} else if (err == HTTP_ERR_CLOSED) {
		snprintf(buf, size, "the HTTP client was closed before an answer came");
	} else if (x->fail == HTTP_ERR_TOO_LARGE && x->hdr_bytes > HTTP_MAX_RESP_HEADERS) {
		snprintf(buf, size, "response headers larger than %u bytes", HTTP_MAX_RESP_HEADERS);
	} else if (err == HTTP_ERR_TOO_LARGE) {
		snprintf(
		    buf, size, "response body larger than max_body (%zu bytes)", c->o.max_body);
	} else if (x->fail == HTTP_ERR_NOMEM) {
		snprintf(buf, size, "out of memory");
	} else if (err == HTTP_ERR_TIMEOUT && !x->connected && !x->dialled) {
		/* libcurl blames the name lookup for a wait in its queue */
		snprintf(buf, size,
		    "no connection within %g s (all %u busy, or the name "
		    "lookup hung)",
		    c->o.timeout, c->o.max_connections);
	} else {
		http_one_line(buf, size, x->errbuf[0] != '\0' ? x->errbuf : curl_easy_strerror(rc));
	}
}

static void
http_count_bytes(struct http_client *c, struct http_xfer *x)
{
	long hdr = 0, req = 0;
	curl_off_t down = 0;

	curl_easy_getinfo(x->easy, CURLINFO_HEADER_SIZE, &hdr);
	curl_easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE, &req);
	curl_easy_getinfo(x->easy, CURLINFO_SIZE_DOWNLOAD_T, &down);
	c->st.bytes_in += (uint64_t)(hdr > 0 ? hdr : 0) + (uint64_t)(down > 0 ? down : 0);
	c->st.bytes_out += (uint64_t)(req > 0 ? req : 0);
}

static void
http_fill(struct http_xfer *x, enum http_err err, const char *msg, struct http_response *r)
{
	long status = 0;
	char *ct = NULL;

	memset(r, 0, sizeof(*r));
	r->err = err;
	r->msg = msg;
	r->priv = x;
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct);
	r->status = status > 0 && status < 1000 ? (int)status : 0;
	r->content_type = ct != NULL ? ct : "";
	r->body = err == HTTP_ERR_OK && x->body != NULL ? x->body : "";
	r->body_len = err == HTTP_ERR_OK ? x->len : 0;
	r->retry_after = r->rl_reset = -1;
	r->rl_limit = r->rl_remaining = -1;
	if (r->status > 0) {
		r->retry_after =
		    http_parse_retry_after(http_response_header(r, "Retry-After"), time(NULL));
		r->rl_limit =
		    http_parse_count(http_response_header(r, "x-ratelimit-limit-requests"), 18);
		r->rl_remaining =
		    http_parse_count(http_response_header(r, "x-ratelimit-remaining-requests"), 18);
		r->rl_reset =
		    http_parse_duration(http_response_header(r, "x-ratelimit-reset-requests"));
	}
	r->elapsed_us = metrics_now_us() - x->t0;
}

/* x is out of the multi handle: count it, call its callback, recycle it. */
static void
http_complete(struct http_client *c, struct http_xfer *x, enum http_err err, CURLcode rc)
{
	struct http_response r;
	char msg[CURL_ERROR_SIZE + 64];

	TAILQ_REMOVE(&c->active, x, link);
	c->nactive--;
	if (x->connected)
		c->nconnected--;
	http_count_bytes(c, x);
	http_message(c, x, err, rc, msg, sizeof(msg));
	http_fill(x, err, msg, &r);
	c->st.completed++;
	c->st.by_err[err]++;
	c->dispatching++;
	x->cb(&r, x->arg);
	c->dispatching--;
	http_xfer_put(c, x);
}

const char *
http_response_header(const struct http_response *r, const char *name)
{
	const struct http_xfer *x = r->priv;
	struct curl_header *h;

	if (x == NULL || name == NULL ||
	    curl_easy_header(x->easy, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
		return NULL;
	return h->value;
}

static void
http_drain(struct http_client *c)
{
	struct http_xfer *x;
	CURLMsg *m;
	CURLcode result;
	CURL *e;
	char *p;
	int left;

	while (!c->dead && (m = curl_multi_info_read(c->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		e = m->easy_handle;
		result = m->data.result; /* m dies with the removal */
		p = NULL;
		curl_easy_getinfo(e, CURLINFO_PRIVATE, &p);
		curl_multi_remove_handle(c->multi, e);
		if ((x = (struct http_xfer *)p) != NULL)
			http_complete(c, x, http_map(x, result), result);
	}
}

static void
http_release(struct http_client *c)
{
	free(c->base_url);
	free(c->ca_file);
	free(c);
}

/*
 * A failed socket action (out of memory, typically) skips libcurl's timer
 * update: ask for the next deadline ourselves, or a transfer whose socket
 * could not be registered would wait forever instead of timing out.
 */
static void
http_rearm(struct http_client *c)
{
	struct timeval tv;
	long ms = -1;

	if (curl_multi_timeout(c->multi, &ms) != CURLM_OK || ms < 0)
		return;
	if (ms == 0)
		ms = 1; /* still failing: do not spin */
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(c->timer, &tv);
}

static void
http_action(struct http_client *c, curl_socket_t fd, int flags)
{
	CURLMcode rc;
	int running;

	rc = curl_multi_socket_action(c->multi, fd, flags, &running);
	if (rc != CURLM_OK) {
		log_debug("http: %s: %s", c->base_url, curl_multi_strerror(rc));
		http_rearm(c);
	}
	http_drain(c);
	if (c->dead)
		http_release(c);
}

/* ---- libcurl's sockets and timer on the loop ---- */

static void
http_sock_event(evutil_socket_t fd, short what, void *arg)
{
	int flags =
	    ((what & EV_READ) ? CURL_CSELECT_IN : 0) | ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);

	http_action(arg, fd, flags);
}

static void
http_timer_event(evutil_socket_t fd, short what, void *arg)
{
	http_action(arg, CURL_SOCKET_TIMEOUT, 0);
}

/*
 * A socket we could not watch would stall its transfer until the timeout;
 * fail it now instead, from the loop (libcurl must not be re-entered here).
 */
static void
http_abandon(struct http_client *c, CURL *e)
{
	char *p = NULL;
	struct http_xfer *x;

	curl_easy_getinfo(e, CURLINFO_PRIVATE, &p);
	if ((x = (struct http_xfer *)p) == NULL)
		return;
	x->fail = HTTP_ERR_NOMEM;
	x->abandoned = 1;
	event_active(c->reaper, EV_TIMEOUT, 0);
}

static void
http_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_client *c = arg;
	struct http_xfer *x;

	for (x = TAILQ_FIRST(&c->active); x != NULL && !c->dead;) {
		if (!x->abandoned) {
			x = TAILQ_NEXT(x, link);
			continue;
		}
		curl_multi_remove_handle(c->multi, x->easy);
		http_complete(c, x, x->fail, CURLE_OK);
		x = TAILQ_FIRST(&c->active); /* the callback may have changed the list */
	}
	if (c->dead)
		http_release(c);
}

static void
http_sock_drop(struct http_sock *s)
{
	LIST_REMOVE(s, link);
	if (s->ev != NULL)
		event_free(s->ev);
	free(s);
}

static int
http_sock_cb(CURL *e, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct http_client *c = arg;
	struct http_sock *s = sockp;
	short kind =
	    ((what & CURL_POLL_IN) ? EV_READ : 0) | ((what & CURL_POLL_OUT) ? EV_WRITE : 0);

	if (what == CURL_POLL_REMOVE) {
		if (s != NULL)
			http_sock_drop(s);
		return 0;
	}
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL) {
			http_abandon(c, e);
			return 0;
		}
		LIST_INSERT_HEAD(&c->socks, s, link);
		s->ev = event_new(c->base, fd, kind | EV_PERSIST, http_sock_event, c);
		if (s->ev == NULL || curl_multi_assign(c->multi, fd, s) != CURLM_OK) {
			http_sock_drop(s);
			http_abandon(c, e);
			return 0;
		}
	} else {
		event_del(s->ev);
		event_assign(s->ev, c->base, fd, kind | EV_PERSIST, http_sock_event, c);
	}
	if (event_add(s->ev, NULL) != 0)
		http_abandon(c, e);
	return 0;
}

static int
http_timer_cb(CURLM *m, long ms, void *arg)
{
	struct http_client *c = arg;
	struct timeval tv;

	if (ms < 0) {
		evtimer_del(c->timer);
		return 0;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if (evtimer_add(c->timer, &tv) != 0)
		log_warnx("http: cannot arm libcurl's timer");
	return 0;
}

/* ---- the client ---- */

static int
http_opts_check(const struct http_opts *o, char *err, size_t errlen)
{
	if (!(o->timeout >= 0 && o->timeout <= 86400) ||
	    !(o->connect_timeout >= 0 && o->connect_timeout <= 86400)) {
		snprintf(err, errlen, "http: timeouts must be between 0 and 86400 seconds");
		return -1;
	}
	if (o->max_body > HTTP_MAX_BODY_LIMIT) {
		snprintf(
		    err, errlen, "http: max_body must be at most %u bytes", HTTP_MAX_BODY_LIMIT);
		return -1;
	}
	if (o->ca_file != NULL && access(o->ca_file, R_OK) != 0) {
		snprintf(err, errlen, "http: ca_file %s: %s", o->ca_file, strerror(errno));
		return -1;
	}
	return 0;
}

static void
http_opts_defaults(struct http_opts *o)
{
	if (o->max_keepalive == 0)
		o->max_keepalive = 100;
	if (o->max_connections == 0)
		o->max_connections = 200;
	if (o->max_queue == 0)
		o->max_queue = 4096;
	if (o->timeout == 0)
		o->timeout = 10;
	if (o->connect_timeout == 0 || o->connect_timeout > o->timeout)
		o->connect_timeout = o->timeout;
	if (o->max_body == 0)
		o->max_body = 8u << 20;
}

/* Scheme http or https, a host, no credentials, query or fragment: those go elsewhere. */
static int
http_url_check(CURLU *u, char *err, size_t errlen)
{
	char *scheme = NULL, *v = NULL;
	const char *why = NULL;

	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
		why = "the scheme must be http or https";
	else if (curl_url_get(u, CURLUPART_USER, &v, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PASSWORD, &v, 0) == CURLUE_OK)
		why = "credentials in the URL are refused (send an Authorization header)";
	else if (curl_url_get(u, CURLUPART_QUERY, &v, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_FRAGMENT, &v, 0) == CURLUE_OK)
		why = "no query or fragment allowed (they belong to a request's path)";
	curl_free(scheme);
	curl_free(v);
	if (why != NULL)
		snprintf(err, errlen, "http: base_url: %s", why);
	return why != NULL ? -1 : 0;
}

/* The URL itself is never echoed: it may hold a password. */
static int
http_set_base(struct http_client *c, const char *url, char *err, size_t errlen)
{
	CURLU *u;
	CURLUcode uc;
	char *s = NULL;
	int rc = -1;

	if (url == NULL || *url == '\0') {
		snprintf(err, errlen, "http: base_url is empty");
		return -1;
	}
	if ((u = curl_url()) == NULL) {
		snprintf(err, errlen, "http: out of memory");
		return -1;
	}
	if ((uc = curl_url_set(u, CURLUPART_URL, url, 0)) != CURLUE_OK)
		snprintf(err, errlen, "http: base_url: %s", curl_url_strerror(uc));
	else if (http_url_check(u, err, errlen) != 0)
		;
	else if ((uc = curl_url_get(u, CURLUPART_URL, &s, 0)) != CURLUE_OK ||
	    (c->base_url = strdup(s)) == NULL)
		snprintf(err, errlen, "http: out of memory");
	else
		rc = 0;
	if (rc == 0) {
		c->base_len = strlen(c->base_url);
		while (c->base_len > 0 && c->base_url[c->base_len - 1] == '/')
			c->base_url[--c->base_len] = '\0';
		c->tls = strncmp(c->base_url, "https:", 6) == 0;
	}
	curl_free(s);
	curl_url_cleanup(u);
	return rc;
}

static int
http_multi_setup(struct http_client *c)
{
	CURLM *m = c->multi;
	int rc = 0;

	http_first(&rc, curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, http_sock_cb));
	http_first(&rc, curl_multi_setopt(m, CURLMOPT_SOCKETDATA, c));
	http_first(&rc, curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, http_timer_cb));
	http_first(&rc, curl_multi_setopt(m, CURLMOPT_TIMERDATA, c));
	http_first(&rc, curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)c->o.max_keepalive));
	http_first(
	    &rc, curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)c->o.max_connections));
	http_first(
	    &rc, curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)c->o.max_connections));
	http_first(&rc, curl_multi_setopt(m, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX));
	return rc;
}

static int
http_client_init(struct http_client *c, char *err, size_t errlen)
{
	if (http_set_base(c, c->o.base_url, err, errlen) != 0)
		return -1;
	if ((c->o.ca_file != NULL && (c->ca_file = strdup(c->o.ca_file)) == NULL) ||
	    (c->multi = curl_multi_init()) == NULL ||
	    (c->timer = evtimer_new(c->base, http_timer_event, c)) == NULL ||
	    (c->reaper = event_new(c->base, -1, 0, http_reap_cb, c)) == NULL) {
		snprintf(err, errlen, "http: out of memory");
		return -1;
	}
	if (http_multi_setup(c) != 0) {
		snprintf(err, errlen, "http: libcurl refused the pool's options");
		return -1;
	}
	c->o.base_url = c->base_url;
	c->o.ca_file = c->ca_file;
	return 0;
}

struct http_client *
http_client_new(struct event_base *base, const struct http_opts *o, char *err, size_t errlen)
{
	struct http_client *c;

	if (o == NULL) {
		snprintf(err, errlen, "http: no options");
		return NULL;
	}
	if (http_opts_check(o, err, errlen) != 0)
		return NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "http: libcurl cannot be initialised");
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "http: out of memory");
		curl_global_cleanup();
		return NULL;
	}
	c->base = base;
	c->o = *o;
	http_opts_defaults(&c->o);
	TAILQ_INIT(&c->active);
	TAILQ_INIT(&c->spare);
	LIST_INIT(&c->socks);
	if (http_client_init(c, err, errlen) != 0) {
		http_client_free(c);
		return NULL;
	}
	return c;
}

void
http_client_free(struct http_client *c)
{
	struct http_xfer *x;

	if (c == NULL || c->freed)
		return; /* again, from a callback of this very call */
	c->freed = c->closing = 1;
	while ((x = TAILQ_FIRST(&c->active)) != NULL) {
		curl_multi_remove_handle(c->multi, x->easy);
		http_complete(c, x, HTTP_ERR_CLOSED, CURLE_OK);
	}
	while ((x = TAILQ_FIRST(&c->spare)) != NULL) {
		TAILQ_REMOVE(&c->spare, x, link);
		http_xfer_destroy(x);
	}
	if (c->multi != NULL)
		curl_multi_cleanup(c->multi);
	c->multi = NULL;
	while (!LIST_EMPTY(&c->socks))
		http_sock_drop(LIST_FIRST(&c->socks));
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->reaper != NULL)
		event_free(c->reaper);
	c->timer = c->reaper = NULL;
	curl_global_cleanup();
	if (c->dispatching > 0)
		c->dead = 1;
	else
		http_release(c);
}

void
http_stats(const struct http_client *c, struct http_stats *st)
{
	*st = c->st;
	st->in_flight = c->nconnected;
	st->queued = c->nactive - c->nconnected;
	st->conns_open = (unsigned)(c->st.conns_opened - c->st.conns_closed);
	st->conns_idle = st->conns_open > st->in_flight ? st->conns_open - st->in_flight : 0;
}
