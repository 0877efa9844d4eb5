/*
 * shopd.h - the reference shop backend: the server's state, one request, the routes.
 *
 * httpd.c takes a request from evhttp, finds its route, checks the token and
 * the rate limits, reads the body and the headers every endpoint shares, and
 * hands a struct req to the route's handler in api.c, which answers with
 * req_reply() or req_error().  docs/shop-api.md is the contract.
 */
#ifndef SHOPD_SHOPD_H
#define SHOPD_SHOPD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "jwt.h"
#include "shop.h"

struct event_base;
struct evhttp;
struct evhttp_request;
struct db;
struct limiter;

#define SHOPD_MAX_BODY 65536 /* default --max-body */
#define SHOPD_MAX_HEADERS 16384
#define SHOPD_IO_TIMEOUT 30                      /* seconds a connection may stall */
#define SHOPD_MAX_ADDRS 4096                     /* client addresses tracked by each rate limit */
#define SHOPD_SIM_TIME_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

struct shopd {
	struct event_base *base;
	struct evhttp *http;
	struct db *db;
	struct shop *shop;
	struct jwt_key key;
	struct limiter *lim_search;   /* GET /api/products/search */
	struct limiter *lim_products; /* every GET /api/products/... */
	uint64_t requests;
};

/* What a route needs before its handler runs. */
enum {
	R_PREFIX = 1 << 0, /* the path is a prefix; the rest is req.arg */
	R_BODY = 1 << 1,   /* a JSON object body */
	R_TIME = 1 << 2,   /* X-Sim-Time */
	R_IDEM = 1 << 3,   /* Idempotency-Key */
	R_LIM_SEARCH = 1 << 4,
	R_LIM_PRODUCTS = 1 << 5
};

struct req;
typedef void (*route_fn)(struct req *q);

struct route {
	int method; /* EVHTTP_REQ_GET or EVHTTP_REQ_POST */
	const char *path;
	int flags;
	route_fn fn;
};

extern const struct route api_routes[];
extern const size_t api_nroutes;

struct req {
	struct shopd *sd;
	struct evhttp_request *r;
	const struct route *route;
	const char *path;
	const char *arg; /* R_PREFIX: what follows the prefix */
	struct jwt_claims claims;
	struct evkeyvalq query;
	json_t *body;                /* R_BODY: the parsed object */
	int64_t sim_time;            /* R_TIME */
	char idem[SHOP_KEY_MAX + 1]; /* R_IDEM */
	int answered;
};

void httpd_request(struct evhttp_request *r, void *arg);

/* Answers (once): body is stolen; headers are added before the reply goes. */
void req_reply(struct req *q, int status, json_t *body);
void req_error(struct req *q, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void req_header(struct req *q, const char *name, const char *value);
/* 0 when the token speaks for user; else answers 403 and returns -1. */
int req_user(struct req *q, int64_t user);
/*
 * Query parameters.  req_query_keys answers 400 (and returns -1) for a key not
 * in the NULL-terminated list, or one given twice.  req_query_int answers 400
 * when the value is not a decimal integer in [min, max]; *out keeps its value
 * when the parameter is absent and required is 0.
 */
int req_query_keys(struct req *q, const char *const *keys);
const char *req_query(struct req *q, const char *key);
int
req_query_int(struct req *q, const char *key, int64_t min, int64_t max, int required, int64_t *out);
/* A shop failure, answered with the status and code docs/shop-api.md gives it. */
void req_shop_error(struct req *q, const struct shop_result *res);

#endif
