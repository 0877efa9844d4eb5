/*
 * shopapi.h - the shop API driver: a store whose shop actions go through the
 * shop backend's REST endpoints (docs/shop-api.md) instead of into its tables.
 *
 * It wraps a database store (sqlite or postgres, as database_url says): the
 * simulation's own records -- shopping_sessions rows and their end, the
 * events, users.last_shopped_at -- still go there (op->records_only), while
 * carts, coupons and orders are the backend's.  Per step:
 *
 *	BEGIN     records, then POST session
 *	BROWSE    GET search?category=...          result_count = products answered
 *	CART      POST cart/items (the whole cart)
 *	COUPONS   GET coupons/wallet, GET coupons/eligible   result_count = eligible
 *	CHECKOUT  POST cart/items, POST cart/coupons (with a coupon), POST orders
 *	          (Idempotency-Key = the order key; the server's total must be the
 *	          session's), then records (session ended 'ordered')
 *	ABANDON, FAIL   records only
 *
 * The checkout sends the cart again so that an order is always the lines the
 * session bought, whatever an earlier failed session left in the shop's cart.
 *
 * Every request waits for a token of one adaptive rate limiter (ratelimit.c),
 * carries the user's HS256 token (jwt.c), X-Simulation-Mode: true and the
 * step's simulated time (X-Sim-Time), and its answer is checked: a status,
 * content type or body that is not what the contract says fails the step
 * with STORE_ERR_DATA (api_data) naming the endpoint and the status.  A step
 * is tried once per submit: the session retries it with the run's backoff
 * policy (op->retry_after carries a Retry-After; op->permanent a 4xx that
 * retrying cannot mend).
 */
#ifndef SIM_SHOPAPI_H
#define SIM_SHOPAPI_H

#include <stddef.h>
#include <stdint.h>

#include "sim/ratelimit.h"

struct event_base;
struct store;

enum shopapi_endpoint {
	API_EP_SESSION,  /* POST /api/shopping/session */
	API_EP_SEARCH,   /* GET /api/products/search */
	API_EP_CART,     /* POST /api/cart/items */
	API_EP_ELIGIBLE, /* GET /api/coupons/eligible */
	API_EP_WALLET,   /* GET /api/coupons/wallet */
	API_EP_COUPON,   /* POST /api/cart/coupons */
	API_EP_ORDERS,   /* POST /api/orders */
	API_EP_COUNT
};
/* The config key of an endpoint's path: "api_path_session", ... */
extern const char *const shopapi_path_keys[API_EP_COUNT];

/* Failures by type, each attempt counted once. */
enum shopapi_fail {
	API_FAIL_429,     /* 429 Too Many Requests */
	API_FAIL_5XX,     /* 5xx */
	API_FAIL_TIMEOUT, /* no answer within api_timeout */
	API_FAIL_CONNECT, /* no connection, TLS refused, or the connection broke */
	API_FAIL_4XX,     /* another 4xx: the request was refused */
	API_FAIL_DATA,    /* an answer that is not what the contract says */
	API_FAIL_TYPES
};
extern const char *const shopapi_fail_names[API_FAIL_TYPES]; /* "api_429", ... */

struct shopapi_opts {
	const char *url; /* shop_api_url: "" or NULL, no API */
	const char *paths[API_EP_COUNT];
	const char *jwt_secret_file;
	double jwt_ttl; /* s a token lives */
	unsigned max_keepalive, max_connections;
	double timeout; /* s per request */
	size_t max_body;
	const char *ca_file; /* "" or NULL: the system's */
	int insecure;
	int catalog_api; /* shop_catalog = api: the catalogue read at set-up (shopapi_catalog.c) */
	struct ratelimit_opts rate;
};

struct shopapi_stats {
	int on;              /* 0: no API (the rest is zero) */
	double rate;         /* requests/s granted over about the last second */
	double rate_limit;   /* the limiter's rate now, requests/s; 0: unlimited */
	uint64_t requests;   /* sent */
	uint64_t ok;         /* answered as the contract says */
	uint64_t status_429; /* = fails[API_FAIL_429] */
	uint64_t fails[API_FAIL_TYPES];
	uint64_t decreases, increases; /* the limiter's rate changes */
	uint64_t tokens_signed;        /* JWTs signed (the others were cached) */
	unsigned waiting;              /* requests waiting for a token of the limiter */
	unsigned in_flight;            /* requests sent (or queued in the client), unanswered */
	unsigned conns_open, conns_idle;
};

/* What opening would refuse, short of connecting: 0, or -1 with a one-line message. */
int shopapi_check(const struct shopapi_opts *o, char *err, size_t errlen);
/* A store over db (which it owns from now on, closed with it, even when this fails). */
struct store *shopapi_open(struct event_base *base, const struct shopapi_opts *o, struct store *db,
    char *err, size_t errlen);

#endif
