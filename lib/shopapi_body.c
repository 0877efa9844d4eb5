/*
 * shopapi_body.c - the shop API's requests and the checks of its answers,
 * endpoint by endpoint, as docs/shop-api.md has them.  An answer is taken
 * only when its status, content type and every member the driver relies on
 * are what the contract says; anything else fails the step as api_data with
 * the endpoint and the status in the message.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include "sim/catalog.h"
#include "sim/shopapi_priv.h"
#include "sim/text.h"

static const char *const methods[API_EP_COUNT] = {
	[API_EP_SESSION] = "POST",
	[API_EP_SEARCH] = "GET",
	[API_EP_CART] = "POST",
	[API_EP_ELIGIBLE] = "GET",
	[API_EP_WALLET] = "GET",
	[API_EP_COUPON] = "POST",
	[API_EP_ORDERS] = "POST",
};

#define SEARCH_LIMIT 50 /* the first page: the set the direct driver's BROWSE reads */

/* ---- requests ---- */

/* The lines of the cart, a product once (a later line wins, as the direct drivers do). */
static json_t *
items_json(const struct store_op *op)
{
	json_t *a = json_array();

	for (uint16_t i = 0; a != NULL && i < op->nitems; i++) {
		uint16_t k;

		for (k = i + 1; k < op->nitems; k++)
			if (op->items[k].product_id == op->items[i].product_id)
				break;
		if (k < op->nitems)
			continue;
		if (json_array_append_new(a,
			json_pack("{s:I, s:i}", "product_id", (json_int_t)op->items[i].product_id,
			    "quantity", (int)op->items[i].quantity)) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *
body_json(enum shopapi_endpoint ep, const struct store_op *op, const char *session_key)
{
	json_int_t user = (json_int_t)op->agent + 1;

	switch (ep) {
	case API_EP_SESSION: return json_pack("{s:I}", "user_id", user);
	case API_EP_CART: return json_pack("{s:I, s:o}", "user_id", user, "items", items_json(op));
	case API_EP_COUPON:
		return json_pack(
		    "{s:I, s:I}", "user_id", user, "coupon_id", (json_int_t)op->coupon_id);
	case API_EP_ORDERS:
		return json_pack("{s:I, s:s}", "user_id", user, "session_key", session_key);
	default: return NULL;
	}
}

static int
request_path(struct shopapi *a, enum shopapi_endpoint ep, const struct store_op *op,
    struct shopapi_request *q)
{
	const char *p = shopapi_path(a, ep);
	char *cat;
	int n;

	switch (ep) {
	case API_EP_SEARCH:
		if ((cat = curl_easy_escape(NULL, catalog_category_names[op->category], 0)) == NULL)
			return -1;
		n = snprintf(q->path, sizeof(q->path), "%s?category=%s&limit=%d&offset=0", p, cat,
		    SEARCH_LIMIT);
		curl_free(cat);
		break;
	case API_EP_ELIGIBLE:
	case API_EP_WALLET:
		n = snprintf(
		    q->path, sizeof(q->path), "%s?user_id=%lu", p, (unsigned long)op->agent + 1);
		break;
	default: n = snprintf(q->path, sizeof(q->path), "%s", p); break;
	}
	return n < 0 || (size_t)n >= sizeof(q->path) ? -1 : 0;
}

static int
request_headers(struct shopapi *a, enum shopapi_endpoint ep, const struct store_op *op,
    struct shopapi_request *q, const char *token)
{
	char v[JWT_HEADER_MAX], key[128];
	size_t n = 0;
	int bad = 0;

	snprintf(v, sizeof(v), "Bearer %s", token);
	bad |= http_header(q->hbuf[n++], JWT_HEADER_MAX, "Authorization", v);
	bad |= http_header(q->hbuf[n++], JWT_HEADER_MAX, "X-Simulation-Mode", "true");
	snprintf(v, sizeof(v), "%lld", (long long)op->sim_time);
	bad |= http_header(q->hbuf[n++], JWT_HEADER_MAX, "X-Sim-Time", v);
	bad |= http_header(q->hbuf[n++], JWT_HEADER_MAX, "Accept", "application/json");
	if (ep == API_EP_ORDERS) {
		store_order_key(key, sizeof(key), op);
		bad |= http_header(q->hbuf[n++], JWT_HEADER_MAX, "Idempotency-Key", key);
	}
	for (size_t i = 0; i < n; i++)
		q->hv[i] = q->hbuf[i];
	q->rq.headers = q->hv;
	q->rq.nheaders = n;
	return bad ? -1 : 0;
}

int
shopapi_request(
    struct shopapi *a, enum shopapi_endpoint ep, struct store_op *op, struct shopapi_request *q)
{
	const char *token = shopapi_token(a, op);
	char skey[96];
	json_t *b;

	memset(q, 0, sizeof(*q));
	q->method = methods[ep];
	if (token == NULL) {
		shopapi_fail_op(op, STORE_ERR_NOMEM, "shop api: no token for user %lu",
		    (unsigned long)op->agent + 1);
		return -1;
	}
	store_session_key(skey, sizeof(skey), op);
	if (request_path(a, ep, op, q) != 0 || request_headers(a, ep, op, q, token) != 0) {
		shopapi_fail_op(op, STORE_ERR_QUERY, "shop api: %s %s: cannot build the request",
		    q->method, shopapi_path(a, ep));
		return -1;
	}
	if (strcmp(q->method, "POST") == 0) {
		b = body_json(ep, op, skey);
		q->body = b != NULL ? json_dumps(b, JSON_COMPACT) : NULL;
		json_decref(b);
		if (q->body == NULL) {
			shopapi_fail_op(op, STORE_ERR_NOMEM, "shop api: %s: out of memory",
			    shopapi_path(a, ep));
			return -1;
		}
		q->rq.body = q->body;
		q->rq.body_len = strlen(q->body);
		q->rq.content_type = "application/json";
	}
	q->rq.method = q->method;
	q->rq.path = q->path;
	return 0;
}

void
shopapi_request_free(struct shopapi_request *q)
{
	free(q->body);
	q->body = NULL;
}

/* ---- answers ---- */

struct check {
	struct shopapi *a;
	enum shopapi_endpoint ep;
	struct store_op *op;
	const struct http_response *r;
};

__attribute__((format(printf, 2, 3))) static int
bad(const struct check *k, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	shopapi_fail_op(k->op, STORE_ERR_DATA, "shop api: %s %s: %d: %s", methods[k->ep],
	    shopapi_path(k->a, k->ep), k->r->status, what);
	return -1;
}

static int
is_json_type(const char *ct)
{
	size_t n = strlen("application/json");

	return strncasecmp(ct, "application/json", n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* The member key of o as an integer in *v; -1 when absent or not an integer. */
static int
int_member(const json_t *o, const char *key, json_int_t *v)
{
	const json_t *m = json_object_get(o, key);

	if (!json_is_integer(m))
		return -1;
	*v = json_integer_value(m);
	return 0;
}

static int
check_user(const struct check *k, const json_t *o, const char *key)
{
	json_int_t v;

	if (int_member(o, key, &v) != 0)
		return bad(k, "no integer %s in the answer", key);
	if (v != (json_int_t)k->op->agent + 1)
		return bad(k, "the answer is for user %lld, not %lu", (long long)v,
		    (unsigned long)k->op->agent + 1);
	return 0;
}

static const json_t *
array_member(const struct check *k, const json_t *o, const char *key)
{
	const json_t *m = json_object_get(o, key);

	if (!json_is_array(m))
		bad(k, "no array %s in the answer", key);
	return json_is_array(m) ? m : NULL;
}

static int
check_session(const struct check *k, const json_t *o)
{
	const json_t *user = json_object_get(o, "user");

	if (!json_is_object(user))
		return bad(k, "no object user in the answer");
	if (check_user(k, user, "id") != 0)
		return -1;
	if (!json_is_object(json_object_get(o, "cart")))
		return bad(k, "no object cart in the answer");
	return array_member(k, o, "wallet") != NULL ? 0 : -1;
}

static int
check_search(const struct check *k, const json_t *o)
{
	const json_t *a = array_member(k, o, "products"), *p;
	json_int_t v;
	size_t i;

	if (a == NULL)
		return -1;
	if (int_member(o, "total", &v) != 0 || v < (json_int_t)json_array_size(a))
		return bad(k, "total is missing or below the products answered");
	json_array_foreach (a, i, p) {
		json_int_t id = 0, store = 0, price = 0;

		if (int_member(p, "id", &id) != 0 || int_member(p, "store_id", &store) != 0 ||
		    int_member(p, "price_cents", &price) != 0 || id < 1 || store < 1 || price < 0)
			return bad(k, "product %zu has no valid id, store_id and price_cents", i);
	}
	k->op->result_count = (uint32_t)json_array_size(a);
	return 0;
}

/* The cart answered must hold the lines sent: one per product. */
static int
check_cart(const struct check *k, const json_t *o)
{
	const json_t *items;
	json_t *sent;
	size_t want;

	if (check_user(k, o, "user_id") != 0 || (items = array_member(k, o, "items")) == NULL)
		return -1;
	if ((sent = items_json(k->op)) == NULL) {
		shopapi_fail_op(k->op, STORE_ERR_NOMEM, "shop api: out of memory");
		return -1;
	}
	want = json_array_size(sent);
	json_decref(sent);
	if (json_array_size(items) != want)
		return bad(
		    k, "the cart holds %zu lines, %zu were sent", json_array_size(items), want);
	if (k->ep == API_EP_CART && k->op->type == STORE_OP_CART)
		k->op->result_count = (uint32_t)want;
	return 0;
}

static int
check_coupons(const struct check *k, const json_t *o)
{
	const json_t *a;

	if (check_user(k, o, "user_id") != 0 || (a = array_member(k, o, "coupons")) == NULL)
		return -1;
	if (k->ep == API_EP_ELIGIBLE)
		k->op->result_count = (uint32_t)json_array_size(a);
	return 0;
}

static int
check_coupon(const struct check *k, const json_t *o)
{
	const json_t *c = json_object_get(o, "coupon");
	json_int_t id;

	if (check_user(k, o, "user_id") != 0)
		return -1;
	if (!json_is_object(c) || int_member(c, "coupon_id", &id) != 0 ||
	    id != (json_int_t)k->op->coupon_id)
		return bad(k, "coupon %lu is not the cart's coupon in the answer",
		    (unsigned long)k->op->coupon_id);
	return 0;
}

/* The order must be this step's, for this user, at the total the session computed. */
static int
check_order(const struct check *k, const json_t *o)
{
	const json_t *order = json_object_get(o, "order");
	const char *idem;
	char key[128];
	json_int_t total;

	if (k->r->status != 200 && k->r->status != 201)
		return bad(k, "an order is answered 201 (or 200 when replayed)");
	if (!json_is_object(order))
		return bad(k, "no object order in the answer");
	store_order_key(key, sizeof(key), k->op);
	idem = json_string_value(json_object_get(order, "idem_key"));
	if (idem == NULL || strcmp(idem, key) != 0)
		return bad(k, "the order answered is not %s", key);
	if (check_user(k, order, "user_id") != 0)
		return -1;
	if (int_member(order, "total_cents", &total) != 0)
		return bad(k, "no integer total_cents in the order");
	if (total != (json_int_t)k->op->total_cents)
		return bad(k, "the shop's total is %lld cents, the session's %lu", (long long)total,
		    (unsigned long)k->op->total_cents);
	k->op->result_count = k->r->status == 201;
	return 0;
}

int
shopapi_answer(
    struct shopapi *a, enum shopapi_endpoint ep, struct store_op *op, const struct http_response *r)
{
	struct check k = { a, ep, op, r };
	json_error_t je;
	json_t *o;
	int rc;

	if (!is_json_type(r->content_type)) {
		char ct[48];

		return bad(&k, "Content-Type is '%s', not application/json",
		    text_shown(r->content_type, ct, sizeof(ct)));
	}
	if ((o = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je)) == NULL)
		return bad(&k, "the body is not JSON (%.80s at byte %d)", je.text, je.position);
	if (!json_is_object(o)) {
		json_decref(o);
		return bad(&k, "the body is not a JSON object");
	}
	switch (ep) {
	case API_EP_SESSION: rc = check_session(&k, o); break;
	case API_EP_SEARCH: rc = check_search(&k, o); break;
	case API_EP_CART: rc = check_cart(&k, o); break;
	case API_EP_ELIGIBLE:
	case API_EP_WALLET: rc = check_coupons(&k, o); break;
	case API_EP_COUPON: rc = check_coupon(&k, o); break;
	default: rc = check_order(&k, o); break;
	}
	json_decref(o);
	return rc;
}

void
shopapi_refusal(
    struct shopapi *a, enum shopapi_endpoint ep, struct store_op *op, const struct http_response *r)
{
	char code[48] = "", msg[120] = "", sc[48], sm[120];
	const char *m = methods[ep], *p = shopapi_path(a, ep);
	json_t *o, *e;

	if (r->err != HTTP_ERR_OK && r->status != 0) { /* a status, then a broken answer */
		shopapi_fail_op(op, STORE_ERR_CONNECT, "shop api: %s %s: %d: %s: %.160s", m, p,
		    r->status, http_err_name(r->err), r->msg);
		return;
	}
	if (r->err != HTTP_ERR_OK) {
		shopapi_fail_op(op, STORE_ERR_CONNECT, "shop api: %s %s: %s: %.160s", m, p,
		    http_err_name(r->err), r->msg);
		return;
	}
	/* The contract's error object, when there is one. */
	if (is_json_type(r->content_type) &&
	    (o = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, NULL)) != NULL) {
		e = json_object_get(o, "error");
		if (json_is_string(json_object_get(e, "code")))
			snprintf(code, sizeof(code), " %s",
			    text_shown(
				json_string_value(json_object_get(e, "code")), sc, sizeof(sc)));
		if (json_is_string(json_object_get(e, "message")))
			snprintf(msg, sizeof(msg), ": %s",
			    text_shown(
				json_string_value(json_object_get(e, "message")), sm, sizeof(sm)));
		json_decref(o);
	}
	shopapi_fail_op(op, STORE_ERR_QUERY, "shop api: %s %s: %d%s%s", m, p, r->status, code, msg);
}

/* ---- a page of the catalogue (shop_catalog = api) ---- */

int
shopapi_catalog_page(struct shopapi *a, struct store_op *op, const struct http_response *r,
    long long offset, struct shopapi_page *pg)
{
	struct check k = { a, API_EP_SEARCH, op, r };
	const json_t *arr, *p, *next;
	json_t *o;
	size_t i;

	if (shopapi_answer(a, API_EP_SEARCH, op, r) != 0)
		return -1; /* content type, JSON, total, every product's id, store_id, price */
	if ((o = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return bad(&k, "the body is not JSON");
	arr = json_object_get(o, "products");
	next = json_object_get(o, "next_offset");
	pg->n = 0;
	pg->next = -1;
	if (json_array_size(arr) > pg->max) {
		json_decref(o);
		return bad(
		    &k, "%zu products in a page asked for %u", json_array_size(arr), pg->max);
	}
	if (!json_is_null(next) &&
	    (!json_is_integer(next) || json_integer_value(next) <= offset ||
		json_array_size(arr) == 0)) {
		json_decref(o);
		return bad(
		    &k, "next_offset is neither null nor past a non-empty page at %lld", offset);
	}
	if (json_is_integer(next))
		pg->next = json_integer_value(next);
	json_array_foreach (arr, i, p) {
		struct product *pr = &pg->products[pg->n];
		json_int_t id = 0, store = 0, price = 0;
		const char *name = json_string_value(json_object_get(p, "name"));

		(void)int_member(p, "id", &id); /* present: shopapi_answer checked them */
		(void)int_member(p, "store_id", &store);
		(void)int_member(p, "price_cents", &price);
		if (id > UINT32_MAX || store > UINT16_MAX || price > UINT32_MAX || name == NULL) {
			json_decref(o);
			return bad(&k,
			    "product %zu: no name, or an id, store_id or price_cents out "
			    "of range",
			    i);
		}
		pr->id = (uint32_t)id;
		pr->store_id = (uint16_t)store;
		pr->category = (uint8_t)op->category;
		pr->price_cents = (uint32_t)price;
		snprintf(pr->name, sizeof(pr->name), "%s", name);
		pg->n++;
	}
	json_decref(o);
	return 0;
}

/* GET search?category=&limit=&offset= for the catalogue's pages. */
int
shopapi_catalog_request(struct shopapi *a, struct store_op *op, long long offset, unsigned limit,
    struct shopapi_request *q)
{
	char *cat;
	int n;

	if (shopapi_request(a, API_EP_SEARCH, op, q) != 0)
		return -1;
	if ((cat = curl_easy_escape(NULL, catalog_category_names[op->category], 0)) == NULL) {
		shopapi_fail_op(op, STORE_ERR_NOMEM, "shop api: out of memory");
		return -1;
	}
	n = snprintf(q->path, sizeof(q->path), "%s?category=%s&limit=%u&offset=%lld",
	    shopapi_path(a, API_EP_SEARCH), cat, limit, offset);
	curl_free(cat);
	if (n < 0 || (size_t)n >= sizeof(q->path)) {
		shopapi_fail_op(op, STORE_ERR_QUERY, "shop api: GET %s: cannot build the request",
		    shopapi_path(a, API_EP_SEARCH));
		return -1;
	}
	return 0;
}
