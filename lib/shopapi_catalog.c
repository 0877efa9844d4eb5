/*
 * shopapi_catalog.c - shop_catalog = api: the set-up reads the shop's
 * catalogue through its search endpoint, every category page by page until
 * next_offset is null, and the run's catalogue becomes what the shop
 * answered; the database store then writes the users only.  Every page is
 * checked (shopapi_body.c): a bad one fails the set-up as api_data, with the
 * endpoint and status.  The same seed gives the same orders for a fixed
 * catalogue.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/catalog.h"
#include "sim/log.h"
#include "sim/metrics.h"
#include "sim/shopapi_priv.h"
#include "sim/text.h"

#define PAGE_LIMIT 100      /* the contract's largest page */
#define CATALOG_MAX 1000000 /* products, as catalog_products allows */

struct catload {
	struct shopapi *a;
	struct store *db;
	struct store_setup su;
	store_done_cb cb;
	void *arg;
	struct store_op op; /* carries the category and the error */
	long long offset;
	double sent;
	struct product page[PAGE_LIMIT];
	struct product *v;
	uint32_t n, cap, pages;
};

static void load_next(struct catload *l);

static void
load_end(struct catload *l, enum store_err err, const char *msg)
{
	store_done_cb cb = l->cb;
	void *arg = l->arg;
	char copy[sizeof(l->op.errmsg)];

	/* msg is often l->op.errmsg: kept beyond the free */
	snprintf(copy, sizeof(copy), "%s", msg != NULL ? msg : "");
	free(l->v);
	free(l);
	cb(err, msg != NULL ? copy : NULL, arg);
}

static int
load_append(struct catload *l, const struct shopapi_page *pg)
{
	if (l->n + pg->n > CATALOG_MAX) {
		shopapi_fail_op(&l->op, STORE_ERR_DATA,
		    "shop api: GET %s: the catalogue holds more than %d products",
		    shopapi_path(l->a, API_EP_SEARCH), CATALOG_MAX);
		return -1;
	}
	if (l->n + pg->n > l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 1024;
		struct product *v;

		while (cap < l->n + pg->n)
			cap *= 2;
		if ((v = realloc(l->v, (size_t)cap * sizeof(*v))) == NULL) {
			shopapi_fail_op(&l->op, STORE_ERR_NOMEM, "shop api: out of memory");
			return -1;
		}
		l->v = v;
		l->cap = cap;
	}
	memcpy(l->v + l->n, pg->products, (size_t)pg->n * sizeof(*pg->products));
	l->n += pg->n;
	return 0;
}

/* Every category read: the catalogue replaced, then the users written. */
static void
load_done(struct catload *l)
{
	struct store *db = l->db;
	struct store_setup su = l->su;
	store_done_cb cb = l->cb;
	void *arg = l->arg;
	const char *path = shopapi_path(l->a, API_EP_SEARCH);

	if (l->n == 0) {
		snprintf(l->op.errmsg, sizeof(l->op.errmsg),
		    "shop api: GET %s: the shop answered no product in any category", path);
		load_end(l, STORE_ERR_DATA, l->op.errmsg);
		return;
	}
	if (catalog_replace(su.catalog_out, l->v, l->n) != 0) {
		snprintf(l->op.errmsg, sizeof(l->op.errmsg), "shop api: GET %s: %s", path,
		    errno == ENOMEM ? "out of memory"
				    : "a product id answered twice (in two categories or pages)");
		load_end(l, errno == ENOMEM ? STORE_ERR_NOMEM : STORE_ERR_DATA, l->op.errmsg);
		return;
	}
	log_info("shop_catalog = api: %u products in %u stores read from %s (%u pages)", l->n,
	    su.catalog_out->nstores, path, l->pages);
	free(l->v);
	free(l);
	su.catalog_external = 1;
	store_prepare(db, &su, cb, arg);
}

static void
page_cb(const struct http_response *r, void *arg)
{
	struct catload *l = arg;
	struct shopapi_page pg = { l->page, PAGE_LIMIT, 0, -1 };
	int good = 0;

	if (r->err == HTTP_ERR_CLOSED) { /* the store is closing: l->a is going */
		load_end(l, STORE_ERR_CLOSED, "shop api: store closed");
		return;
	}
	if (r->err == HTTP_ERR_OK && r->status >= 200 && r->status <= 299)
		good = shopapi_catalog_page(l->a, &l->op, r, l->offset, &pg) == 0;
	else {
		shopapi_refusal(l->a, API_EP_SEARCH, &l->op, r);
		l->op.err = r->err != HTTP_ERR_OK          ? STORE_ERR_CONNECT
		    : r->status == 429 || r->status >= 500 ? STORE_ERR_BUSY
							   : STORE_ERR_QUERY;
	}
	shopapi_tally(l->a, r, good, l->sent);
	if (!good || load_append(l, &pg) != 0) {
		load_end(l, l->op.err, l->op.errmsg);
		return;
	}
	l->pages++;
	if (pg.next >= 0) {
		l->offset = pg.next;
	} else {
		l->offset = 0;
		l->op.category++;
	}
	if (l->op.category >= CATALOG_CATEGORIES)
		load_done(l);
	else
		load_next(l);
}

static void
load_next(struct catload *l)
{
	struct shopapi_request q;
	enum http_err he;

	l->op.err = STORE_OK;
	l->op.errmsg[0] = '\0';
	if (shopapi_catalog_request(l->a, &l->op, l->offset, PAGE_LIMIT, &q) != 0) {
		shopapi_request_free(&q);
		load_end(l, l->op.err, l->op.errmsg);
		return;
	}
	l->sent = (double)metrics_now_us() / 1e6;
	he = http_submit(shopapi_http(l->a), &q.rq, page_cb, l);
	shopapi_request_free(&q);
	if (he != HTTP_ERR_OK) {
		snprintf(l->op.errmsg, sizeof(l->op.errmsg), "shop api: GET %s: %s",
		    shopapi_path(l->a, API_EP_SEARCH), http_err_name(he));
		load_end(l, he == HTTP_ERR_NOMEM ? STORE_ERR_NOMEM : STORE_ERR_BUSY, l->op.errmsg);
	}
}

void
shopapi_catalog_load(
    struct shopapi *a, struct store *db, const struct store_setup *su, store_done_cb cb, void *arg)
{
	struct catload *l = calloc(1, sizeof(*l));

	if (l == NULL || su == NULL || su->catalog_out == NULL) {
		free(l);
		cb(l == NULL ? STORE_ERR_NOMEM : STORE_ERR_QUERY,
		    "shop api: catalogue: out of memory or no catalogue", arg);
		return;
	}
	l->a = a;
	l->db = db;
	l->su = *su;
	l->cb = cb;
	l->arg = arg;
	l->op.type = STORE_OP_BROWSE;
	l->op.agent = 0; /* the requests carry user 1's token */
	l->op.sim_time = su->catalog_out->sim_start;
	log_info(
	    "shop_catalog = api: reading the catalogue from %s", shopapi_path(a, API_EP_SEARCH));
	load_next(l);
}
