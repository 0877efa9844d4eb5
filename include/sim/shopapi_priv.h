/*
 * shopapi_priv.h - between the shop API driver (shopapi.c: calls, the
 * limiter's queue, the store interface) and its bodies (shopapi_body.c:
 * requests built, answers checked).  Not for other modules.
 */
#ifndef SIM_SHOPAPI_PRIV_H
#define SIM_SHOPAPI_PRIV_H

#include "sim/http.h"
#include "sim/shopapi.h"
#include "sim/store.h"

struct shopapi;
struct api_call;

#define SHOPAPI_HEADERS 6
#define JWT_HEADER_MAX 640 /* "Authorization: Bearer " and a token */

/* One request, ready for http_submit() (which copies it all). */
struct shopapi_request {
	struct http_request rq;
	const char *method;
	char path[1024];
	char *body; /* malloc'd JSON, or NULL */
	char hbuf[SHOPAPI_HEADERS][JWT_HEADER_MAX];
	const char *hv[SHOPAPI_HEADERS];
};

/* 0, or -1 with op failed (no memory, no token). */
int shopapi_request(
    struct shopapi *a, enum shopapi_endpoint ep, struct store_op *op, struct shopapi_request *q);
void shopapi_request_free(struct shopapi_request *q);
/* A 2xx answer: 0 when it is what the contract says (result_count set), else -1, op failed. */
int shopapi_answer(struct shopapi *a, enum shopapi_endpoint ep, struct store_op *op,
    const struct http_response *r);
/* The message of any other answer or of no answer, into op->errmsg. */
void shopapi_refusal(struct shopapi *a, enum shopapi_endpoint ep, struct store_op *op,
    const struct http_response *r);

/* A page of the catalogue read at set-up (shop_catalog = api). */
struct product;
struct shopapi_page {
	struct product *products; /* room for max */
	unsigned max;             /* the limit asked for */
	unsigned n;
	long long next; /* next_offset; -1: the category's last page */
};
/* The request of the page at offset of op->category; 0, or -1 with op failed. */
int shopapi_catalog_request(struct shopapi *a, struct store_op *op, long long offset,
    unsigned limit, struct shopapi_request *q);
/* A 2xx answer to it: 0 with pg filled, or -1 with op failed (api_data). */
int shopapi_catalog_page(struct shopapi *a, struct store_op *op, const struct http_response *r,
    long long offset, struct shopapi_page *pg);

/* shopapi_catalog.c: reads the catalogue, then prepares db with it (not written there). */
void shopapi_catalog_load(
    struct shopapi *a, struct store *db, const struct store_setup *su, store_done_cb cb, void *arg);

/* shopapi.c */
struct http_client *shopapi_http(struct shopapi *a);
/* Counts an answer: taken (good), else a failure of its type; the limiter learns from it. */
void shopapi_tally(struct shopapi *a, const struct http_response *r, int good, double sent);
void shopapi_send(struct shopapi *a, struct api_call *c);
const char *shopapi_token(struct shopapi *a, const struct store_op *op);
const char *shopapi_path(const struct shopapi *a, enum shopapi_endpoint ep);
void shopapi_fail_op(struct store_op *op, enum store_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
