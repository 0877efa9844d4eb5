/*
 * api.c - the endpoints of docs/shop-api.md: their table, their inputs checked
 * to the byte, and the shop's answers (or failures) turned into responses.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <event2/http.h>

#include "shop.h"
#include "shopd.h"

#define API_ID_MAX INT64_C(9007199254740991) /* 2^53 - 1: exact in every JSON reader */
#define API_OFFSET_MAX 1000000000

static const struct {
	int status;
	const char *code;
} api_errors[SHOP_NERR] = {
	[SHOP_OK] = { 500, "internal" },
	[SHOP_UNKNOWN_USER] = { 404, "unknown_user" },
	[SHOP_UNKNOWN_PRODUCT] = { 422, "unknown_product" },
	[SHOP_UNKNOWN_COUPON] = { 422, "unknown_coupon" },
	[SHOP_COUPON_REDEEMED] = { 409, "coupon_redeemed" },
	[SHOP_COUPON_NOT_VALID] = { 409, "coupon_not_valid" },
	[SHOP_COUPON_NOT_APPLICABLE] = { 409, "coupon_not_applicable" },
	[SHOP_CART_EMPTY] = { 409, "cart_empty" },
	[SHOP_KEY_REUSED] = { 409, "idempotency_key_reused" },
	[SHOP_FULL] = { 503, "unavailable" },
	[SHOP_BUSY] = { 503, "busy" },
	[SHOP_UNAVAILABLE] = { 503, "unavailable" },
	[SHOP_INTERNAL] = { 500, "internal" },
};

void
req_shop_error(struct req *q, const struct shop_result *res)
{
	unsigned e = (unsigned)res->err < SHOP_NERR ? (unsigned)res->err : SHOP_INTERNAL;

	req_error(q, api_errors[e].status, api_errors[e].code, "%s", res->msg);
}

/* The shop's answer, or its failure. */
static void
api_answer(struct req *q, int status, json_t *body, const struct shop_result *res)
{
	if (body != NULL)
		req_reply(q, status, body);
	else
		req_shop_error(q, res);
}

/* json_unpack of the body; a mismatch is answered 400 naming the shape wanted. */
static int
api_unpack(struct req *q, const char *shape, const char *fmt, ...)
{
	json_error_t e;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = json_vunpack_ex(q->body, &e, 0, fmt, ap);
	va_end(ap);
	if (rc == -1)
		req_error(q, 400, "bad_request", "the body must be %s: %s", shape, e.text);
	return rc;
}

static int
api_id(struct req *q, const char *what, json_int_t v)
{
	if (v >= 1 && v <= API_ID_MAX)
		return 0;
	req_error(q, 400, "bad_request", "%s must be an integer from 1 to %lld", what,
	    (long long)API_ID_MAX);
	return -1;
}

/* user_id from the query (GET) and the token's consent to act for it. */
static int
api_query_user(struct req *q, const char *const *keys, int64_t *user)
{
	if (req_query_keys(q, keys) == -1 ||
	    req_query_int(q, "user_id", 1, API_ID_MAX, 1, user) == -1)
		return -1;
	return req_user(q, *user);
}

static void
api_session(struct req *q)
{
	struct shop_result res;
	json_int_t user;

	if (api_unpack(q, "{\"user_id\": integer}", "{s:I!}", "user_id", &user) == -1 ||
	    api_id(q, "user_id", user) == -1 || req_user(q, user) == -1)
		return;
	api_answer(q, 200, shop_session(q->sd->shop, user, &res), &res);
}

static int
api_category(struct req *q, const char **out)
{
	const char *c = req_query(q, "category");
	size_t i, n = c ? strlen(c) : 0;

	for (i = 0; i < n && (unsigned char)c[i] >= ' ' && c[i] != 0x7f; i++)
		;
	if (n == 0 || n > SHOP_CATEGORY_MAX || i != n) {
		req_error(q, 400, "bad_request",
		    "category is required: 1 to %d bytes, no control"
		    " characters",
		    SHOP_CATEGORY_MAX);
		return -1;
	}
	*out = c;
	return 0;
}

static void
api_search(struct req *q)
{
	static const char *const keys[] = { "category", "limit", "offset", NULL };
	int64_t limit = SHOP_PAGE_DEFAULT, offset = 0;
	struct shop_result res;
	const char *category;

	if (req_query_keys(q, keys) == -1 || api_category(q, &category) == -1 ||
	    req_query_int(q, "limit", 1, SHOP_PAGE_MAX, 0, &limit) == -1 ||
	    req_query_int(q, "offset", 0, API_OFFSET_MAX, 0, &offset) == -1)
		return;
	api_answer(q, 200, shop_search(q->sd->shop, category, limit, offset, &res), &res);
}

static void
api_product(struct req *q)
{
	struct shop_result res;
	json_t *out;
	size_t n = strspn(q->arg, "0123456789");
	long long id = 0;

	if (n == 0 || n > 16 || q->arg[n] != '\0' || q->arg[0] == '0' ||
	    sscanf(q->arg, "%lld", &id) != 1 || id > API_ID_MAX) {
		req_error(q, 404, "not_found", "no such product: %.40s", q->arg);
		return;
	}
	if ((out = shop_product(q->sd->shop, id, &res)) == NULL &&
	    res.err == SHOP_UNKNOWN_PRODUCT) {
		req_error(q, 404, "unknown_product", "%s", res.msg);
		return;
	}
	api_answer(q, 200, out, &res);
}

/* The items of a cart: at most SHOP_MAX_LINES distinct products, quantities in range. */
static int
api_items(struct req *q, json_t *items, struct shop_want *want, unsigned *n)
{
	json_int_t id, qty;
	json_error_t e;
	size_t i, j;

	if (!json_is_array(items) || json_array_size(items) > SHOP_MAX_LINES) {
		req_error(q, 400, "bad_request", "items must be an array of at most %d lines",
		    SHOP_MAX_LINES);
		return -1;
	}
	for (i = 0; i < json_array_size(items); i++) {
		if (json_unpack_ex(json_array_get(items, i), &e, 0, "{s:I, s:I!}", "product_id",
			&id, "quantity", &qty) == -1) {
			req_error(q, 400, "bad_request",
			    "items[%zu] must be {\"product_id\":"
			    " integer, \"quantity\": integer}: %s",
			    i, e.text);
			return -1;
		}
		if (api_id(q, "product_id", id) == -1)
			return -1;
		if (qty < 1 || qty > SHOP_MAX_QUANTITY) {
			req_error(q, 400, "bad_request", "items[%zu].quantity must be 1 to %d", i,
			    SHOP_MAX_QUANTITY);
			return -1;
		}
		for (j = 0; j < i; j++) {
			if (want[j].product_id == id) {
				req_error(q, 400, "bad_request", "product %lld is in items twice",
				    (long long)id);
				return -1;
			}
		}
		want[i].product_id = id;
		want[i].quantity = qty;
	}
	*n = (unsigned)i;
	return 0;
}

static void
api_cart(struct req *q)
{
	struct shop_want want[SHOP_MAX_LINES];
	struct shop_result res;
	json_int_t user;
	json_t *items;
	unsigned n;

	if (api_unpack(q, "{\"user_id\": integer, \"items\": [...]}", "{s:I, s:o!}", "user_id",
		&user, "items", &items) == -1 ||
	    api_id(q, "user_id", user) == -1 || req_user(q, user) == -1 ||
	    api_items(q, items, want, &n) == -1)
		return;
	api_answer(q, 200, shop_cart_set(q->sd->shop, user, want, n, q->sim_time, &res), &res);
}

static void
api_eligible(struct req *q)
{
	static const char *const keys[] = { "user_id", NULL };
	struct shop_result res;
	int64_t user;

	if (api_query_user(q, keys, &user) == -1)
		return;
	api_answer(q, 200, shop_eligible(q->sd->shop, user, q->sim_time, &res), &res);
}

static void
api_wallet(struct req *q)
{
	static const char *const keys[] = { "user_id", NULL };
	struct shop_result res;
	int64_t user;

	if (api_query_user(q, keys, &user) == -1)
		return;
	api_answer(q, 200, shop_wallet(q->sd->shop, user, &res), &res);
}

static void
api_apply(struct req *q)
{
	struct shop_result res;
	json_int_t user, coupon = 0;
	json_t *c;

	if (api_unpack(q, "{\"user_id\": integer, \"coupon_id\": integer or null}", "{s:I, s:o!}",
		"user_id", &user, "coupon_id", &c) == -1 ||
	    api_id(q, "user_id", user) == -1 || req_user(q, user) == -1)
		return;
	if (!json_is_null(c)) {
		coupon = json_is_integer(c) ? json_integer_value(c) : 0;
		if (api_id(q, "coupon_id", coupon) == -1)
			return;
	}
	api_answer(q, 200, shop_apply(q->sd->shop, user, coupon, q->sim_time, &res), &res);
}

static int
api_session_key(struct req *q, const char *key)
{
	size_t i, n = key ? strlen(key) : 0;

	for (i = 0; i < n && key[i] > ' ' && key[i] < 0x7f; i++)
		;
	if (key == NULL || (n >= 1 && n <= SHOP_KEY_MAX && i == n))
		return 0;
	req_error(q, 400, "bad_request",
	    "session_key must be 1 to %d printable ASCII"
	    " characters, no spaces",
	    SHOP_KEY_MAX);
	return -1;
}

static void
api_order(struct req *q)
{
	struct shop_result res;
	const char *session_key = NULL;
	json_int_t user;
	json_t *out;
	int replayed;

	if (api_unpack(q, "{\"user_id\": integer, \"session_key\": string (optional)}",
		"{s:I, s?s!}", "user_id", &user, "session_key", &session_key) == -1 ||
	    api_id(q, "user_id", user) == -1 || req_user(q, user) == -1 ||
	    api_session_key(q, session_key) == -1)
		return;
	out = shop_order(q->sd->shop, user, q->idem, session_key, q->sim_time, &replayed, &res);
	if (out != NULL && replayed)
		req_header(q, "Idempotent-Replayed", "true");
	api_answer(q, replayed ? 200 : 201, out, &res);
}

const struct route api_routes[] = {
	{ EVHTTP_REQ_POST, "/api/shopping/session", R_BODY, api_session },
	{ EVHTTP_REQ_GET, "/api/products/search", R_LIM_SEARCH | R_LIM_PRODUCTS, api_search },
	{ EVHTTP_REQ_GET, "/api/products/", R_PREFIX | R_LIM_PRODUCTS, api_product },
	{ EVHTTP_REQ_POST, "/api/cart/items", R_BODY | R_TIME, api_cart },
	{ EVHTTP_REQ_GET, "/api/coupons/eligible", R_TIME, api_eligible },
	{ EVHTTP_REQ_GET, "/api/coupons/wallet", 0, api_wallet },
	{ EVHTTP_REQ_POST, "/api/cart/coupons", R_BODY | R_TIME, api_apply },
	{ EVHTTP_REQ_POST, "/api/orders", R_BODY | R_TIME | R_IDEM, api_order },
};
const size_t api_nroutes = sizeof(api_routes) / sizeof(api_routes[0]);
