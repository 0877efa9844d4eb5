/*
 * http.h - an asynchronous HTTP client on the libevent loop (libcurl multi-socket).
 *
 * A client is one backend: a base URL and its own connection pool, HTTP/1.1
 * keep-alive, HTTP/2 over TLS when the server offers it, TLS verified unless
 * `insecure'.  libcurl's sockets and timer are libevent events: nothing blocks
 * the loop and simd starts no thread (name lookups run in libcurl's own
 * resolver; numeric addresses need none).
 *
 * http_submit() queues a request and returns at once.  Its callback runs
 * exactly once, later, from the loop -- never inside http_submit() -- unless
 * http_submit() refused the request, in which case it never runs.  A callback
 * may submit again.  HTTP_ERR_OK means a status line was received, whatever
 * the status: a 503 is an answer, not a failure.
 */
#ifndef SIM_HTTP_H
#define SIM_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct event_base;
struct http_client;

/* HTTP_ERR_OK, not HTTP_OK: libevent's evhttp.h has that name (for 200). */
enum http_err {
	HTTP_ERR_OK,        /* an HTTP status was received */
	HTTP_ERR_CONNECT,   /* no connection: refused, unreachable, unknown host */
	HTTP_ERR_TLS,       /* TLS handshake or certificate verification failed */
	HTTP_ERR_TIMEOUT,   /* `timeout' (or `connect_timeout') passed */
	HTTP_ERR_TOO_LARGE, /* body larger than max_body, announced or sent */
	HTTP_ERR_PROTOCOL,  /* the answer is not HTTP, or is broken HTTP */
	HTTP_ERR_IO,        /* the connection broke mid-exchange (reset, closed early) */
	HTTP_ERR_NOMEM,
	HTTP_ERR_CLOSED,   /* http_client_free() ran before an answer */
	HTTP_ERR_INTERNAL, /* another libcurl failure; the message says which */
	/* returned by http_submit() only: */
	HTTP_ERR_FULL,    /* max_queue requests pending: back-pressure */
	HTTP_ERR_INVALID, /* bad method, path or header */
	HTTP_ERR_COUNT
};

/* Zero means the default for every field but base_url. */
struct http_opts {
	const char *base_url;     /* http[s]://host[:port][/prefix], copied */
	unsigned max_keepalive;   /* connections kept open when idle; default 100 */
	unsigned max_connections; /* open at once, never more; default 200 */
	unsigned max_queue;       /* submitted and not completed; default 4096 */
	double timeout;           /* seconds per request, all of it; default 10 */
	double connect_timeout;   /* seconds to connect; default `timeout' */
	size_t max_body;          /* response body bytes; default 8 MiB */
	const char *ca_file;      /* PEM bundle; NULL: the system's */
	int insecure;             /* skip TLS verification (test rigs; log it) */
};

struct http_request {
	const char *method;         /* "GET", "POST", ...; NULL means GET */
	const char *path;           /* "/x?y=1", appended to base_url as is */
	const char *const *headers; /* "Name: value" strings (see http_header()) */
	size_t nheaders;            /* copied by http_submit(): free them on return */
	const void *body;           /* copied; NULL: none (POST, PUT, PATCH: empty) */
	size_t body_len;
	const char *content_type; /* of the body; NULL: none */
};

/* Valid during the callback only.  Parsed headers are -1 when absent or invalid. */
struct http_response {
	enum http_err err;
	const char *msg;          /* one line ("" when OK); never a request header */
	int status;               /* 0 unless a status line arrived */
	const char *content_type; /* "" when absent */
	const char *body;         /* NUL-terminated ("" when none) */
	size_t body_len;
	double retry_after;     /* Retry-After, in seconds from now */
	long long rl_limit;     /* x-ratelimit-limit-requests */
	long long rl_remaining; /* x-ratelimit-remaining-requests */
	double rl_reset;        /* x-ratelimit-reset-requests, seconds */
	uint64_t elapsed_us;    /* from http_submit() to completion, queueing included */
	void *priv;
};

typedef void (*http_cb)(const struct http_response *r, void *arg);

struct http_stats {
	unsigned queued;    /* submitted, not yet on a connection */
	unsigned in_flight; /* on a connection, not completed */
	uint64_t submitted;
	uint64_t rejected;               /* refused by http_submit() */
	uint64_t completed;              /* callbacks run */
	uint64_t by_err[HTTP_ERR_COUNT]; /* completions by outcome ([HTTP_ERR_OK]: answered) */
	unsigned conns_open;
	unsigned conns_idle; /* open minus in flight: exact for HTTP/1.1 only */
	uint64_t conns_opened, conns_closed;
	uint64_t bytes_in, bytes_out; /* headers and bodies */
};

/* NULL with a one-line reason in err (bad URL or option, no memory). */
struct http_client *
http_client_new(struct event_base *base, const struct http_opts *o, char *err, size_t errlen);
/*
 * Completes every request still pending with HTTP_ERR_CLOSED, synchronously,
 * before it returns; no callback runs afterwards.  May be called from a callback.
 */
void http_client_free(struct http_client *c);

/* HTTP_ERR_OK (the callback will run), or why not: FULL, INVALID, NOMEM, CLOSED, INTERNAL. */
enum http_err
http_submit(struct http_client *c, const struct http_request *rq, http_cb cb, void *arg);
/*
 * A response header's value (the last one of that name), NULL if absent; valid
 * until the next call or the end of the callback.
 */
const char *http_response_header(const struct http_response *r, const char *name);
void http_stats(const struct http_client *c, struct http_stats *st);
const char *http_err_name(enum http_err e);

/*
 * Writes "Name: value" into buf, or "" and -1 if name is not a token, value
 * holds CR, LF or another control character, or buf is too small.
 */
int http_header(char *buf, size_t size, const char *name, const char *value);

/* "12ms", "1s", "6m0s", "1h2m3.5s" in seconds; -1 when invalid. */
double http_parse_duration(const char *s);
/* Retry-After (delta-seconds or HTTP-date) in seconds after now; -1 when invalid. */
double http_parse_retry_after(const char *s, time_t now);

#endif
