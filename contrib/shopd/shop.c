/*
 * shop.c - reading the shop: users, products, carts and wallets, as JSON.
 * Writes (cart, coupon application, orders) are in order.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/log.h"
#include "sim/store.h"

#include "db.h"
#include "shop_int.h"

struct shop *
shop_new(struct db *db)
{
	struct shop *s = calloc(1, sizeof(*s));

	if (s != NULL)
		s->db = db;
	return s;
}

void
shop_free(struct shop *s)
{
	if (s != NULL)
		free(s->held);
	free(s);
}

void *
shop_fail(struct shop_result *res, enum shop_err err, const char *fmt, ...)
{
	va_list ap;

	res->err = err;
	va_start(ap, fmt);
	vsnprintf(res->msg, sizeof(res->msg), fmt, ap);
	va_end(ap);
	return NULL;
}

/* A database failure: the details to the log, a plain reason to the client. */
void *
shop_db_fail(struct shop *s, struct shop_result *res, enum db_rc rc, const char *what)
{
	if (rc == DB_NOMEM)
		return shop_fail(res, SHOP_INTERNAL, "out of memory");
	log_warnx("%s: %s: %s", db_driver(s->db), what, db_errmsg(s->db));
	switch (rc) {
	case DB_BUSY: return shop_fail(res, SHOP_BUSY, "the database is busy; retry");
	case DB_TIMEOUT:
		return shop_fail(res, SHOP_UNAVAILABLE, "the database did not answer in time");
	case DB_DOWN: return shop_fail(res, SHOP_UNAVAILABLE, "the database connection was lost");
	default: return shop_fail(res, SHOP_INTERNAL, "the database refused to %s", what);
	}
}

enum shop_err
shop_refuse(struct shop_result *res, enum shop_err err, const char *fmt, ...)
{
	va_list ap;

	res->err = err;
	va_start(ap, fmt);
	vsnprintf(res->msg, sizeof(res->msg), fmt, ap);
	va_end(ap);
	return err;
}

void *
shop_nomem(struct shop_result *res)
{
	return shop_fail(res, SHOP_INTERNAL, "out of memory");
}

/* jansson fails only for want of memory or for text that is not UTF-8 (a bad row). */
json_t *
shop_or_nomem(json_t *j, struct shop_result *res)
{
	if (j != NULL)
		return j;
	return shop_fail(res, SHOP_INTERNAL,
	    "cannot build the answer (out of memory, or a"
	    " row that is not UTF-8)");
}

/* ---- the coupons applied to carts: a sorted array, searched by user ---- */

static size_t
held_find(const struct shop *s, int64_t user, int *found)
{
	size_t lo = 0, hi = s->nheld, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->held[mid].user < user)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < s->nheld && s->held[lo].user == user;
	return lo;
}

int64_t
shop_held(const struct shop *s, int64_t user)
{
	int found;
	size_t i = held_find(s, user, &found);

	return found ? s->held[i].coupon : 0;
}

void
shop_unhold(struct shop *s, int64_t user)
{
	int found;
	size_t i = held_find(s, user, &found);

	if (!found)
		return;
	memmove(&s->held[i], &s->held[i + 1], (s->nheld - i - 1) * sizeof(*s->held));
	s->nheld--;
}

int
shop_hold(struct shop *s, int64_t user, int64_t coupon)
{
	struct shop_held *nh;
	size_t i, cap;
	int found;

	i = held_find(s, user, &found);
	if (found) {
		s->held[i].coupon = coupon;
		return 0;
	}
	if (s->nheld >= SHOP_MAX_APPLIED)
		return -1;
	if (s->nheld == s->cap) {
		cap = s->cap ? s->cap * 2 : 256;
		if ((nh = realloc(s->held, cap * sizeof(*nh))) == NULL)
			return -1;
		s->held = nh;
		s->cap = cap;
	}
	memmove(&s->held[i + 1], &s->held[i], (s->nheld - i) * sizeof(*s->held));
	s->held[i].user = user;
	s->held[i].coupon = coupon;
	s->nheld++;
	return 0;
}

/* ---- rows ---- */

static void
copy_text(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src);
}

static enum db_rc
user_row(const struct db_row *r, void *arg)
{
	struct shop_user *u = arg;

	u->id = db_int(r, 0);
	copy_text(u->agent_id, sizeof(u->agent_id), db_text(r, 1));
	copy_text(u->name, sizeof(u->name), db_text(r, 2));
	u->found = 1;
	return DB_OK;
}

/* The user row; NULL (and *res) when there is none or the database failed. */
void *
shop_user(struct shop *s, int64_t id, struct shop_user *u, struct shop_result *res)
{
	struct db_param p[] = { P_INT(id) };
	enum db_rc rc;

	memset(u, 0, sizeof(*u));
	if ((rc = db_query(s->db, DB_USER, p, 1, user_row, u, NULL)) != DB_OK)
		return shop_db_fail(s, res, rc, "read a user");
	if (!u->found)
		return shop_fail(res, SHOP_UNKNOWN_USER, "user %lld does not exist", (long long)id);
	return u;
}

static enum db_rc
int_row(const struct db_row *r, void *arg)
{
	struct shop_int *v = arg;

	v->found = 1;
	v->null = db_isnull(r, 0);
	v->v = db_int(r, 0);
	return DB_OK;
}

enum db_rc
shop_query_int(
    struct shop *s, enum db_stmt st, const struct db_param *p, int np, struct shop_int *out)
{
	memset(out, 0, sizeof(*out));
	return db_query(s->db, st, p, np, int_row, out, NULL);
}

static enum db_rc
cart_row(const struct db_row *r, void *arg)
{
	struct shop_cart *c = arg;
	struct shop_line *l;

	if (c->n >= SHOP_MAX_LINES) {
		c->overflow = 1;
		return DB_FAIL;
	}
	l = &c->line[c->n++];
	l->product_id = db_int(r, 0);
	l->store_id = db_int(r, 1);
	l->quantity = db_int(r, 2);
	l->price_cents = db_int(r, 3);
	c->subtotal += l->quantity * l->price_cents;
	return DB_OK;
}

void *
shop_cart_read(struct shop *s, int64_t user, struct shop_cart *c, struct shop_result *res)
{
	struct db_param p[] = { P_INT(user) };
	enum db_rc rc;

	memset(c, 0, sizeof(*c));
	rc = db_query(s->db, DB_CART, p, 1, cart_row, c, NULL);
	if (c->overflow)
		return shop_fail(res, SHOP_INTERNAL, "the cart of user %lld has more than %d lines",
		    (long long)user, SHOP_MAX_LINES);
	if (rc != DB_OK)
		return shop_db_fail(s, res, rc, "read a cart");
	return c;
}

static enum db_rc
coupon_row(const struct db_row *r, void *arg)
{
	struct shop_wallet *w = arg;
	struct shop_coupon *c;

	if (w->n >= SHOP_MAX_WALLET) {
		w->overflow = 1;
		return DB_FAIL;
	}
	c = &w->c[w->n++];
	c->id = db_int(r, WC_ID);
	copy_text(c->code, sizeof(c->code), db_text(r, WC_CODE));
	c->store_id = db_isnull(r, WC_STORE) ? 0 : db_int(r, WC_STORE);
	c->pct_off = db_int(r, WC_PCT);
	c->min_spend = db_int(r, WC_MIN);
	copy_text(c->valid_from, sizeof(c->valid_from), db_text(r, WC_FROM));
	copy_text(c->valid_to, sizeof(c->valid_to), db_text(r, WC_TO));
	c->redeemed = !db_isnull(r, WC_REDEEMED);
	copy_text(c->redeemed_at, sizeof(c->redeemed_at), db_text(r, WC_REDEEMED));
	copy_text(c->order_key, sizeof(c->order_key), db_text(r, WC_ORDER_KEY));
	return DB_OK;
}

/* The whole wallet (coupon 0) or one coupon of it. */
void *
shop_wallet_read(
    struct shop *s, int64_t user, int64_t coupon, struct shop_wallet *w, struct shop_result *res)
{
	struct db_param p[] = { P_INT(user), P_INT(coupon) };
	enum db_rc rc;

	memset(w, 0, sizeof(*w));
	rc = db_query(
	    s->db, coupon ? DB_WALLET_ONE : DB_WALLET, p, coupon ? 2 : 1, coupon_row, w, NULL);
	if (w->overflow)
		return shop_fail(res, SHOP_INTERNAL,
		    "the wallet of user %lld has more than %d"
		    " coupons",
		    (long long)user, SHOP_MAX_WALLET);
	if (rc != DB_OK)
		return shop_db_fail(s, res, rc, "read a wallet");
	return w;
}

/* ---- rules ---- */

int64_t
shop_coupon_base(const struct shop_coupon *c, const struct shop_cart *cart)
{
	int64_t base = 0;

	if (c->store_id == 0)
		return cart->subtotal;
	for (unsigned i = 0; i < cart->n; i++)
		if (cart->line[i].store_id == c->store_id)
			base += cart->line[i].quantity * cart->line[i].price_cents;
	return base;
}

int64_t
shop_discount(const struct shop_coupon *c, const struct shop_cart *cart)
{
	/* As the direct driver's sessions compute it: whole cents, rounded down. */
	return shop_coupon_base(c, cart) * c->pct_off / 100;
}

enum shop_err
shop_coupon_check(const struct shop_coupon *c, const struct shop_cart *cart, const char *now,
    struct shop_result *res)
{
	long long id = (long long)c->id;

	if (c->redeemed)
		return shop_refuse(res, SHOP_COUPON_REDEEMED,
		    "coupon %lld was redeemed by order"
		    " %s",
		    id, c->order_key);
	if (c->valid_from[0] == '\0' || c->valid_to[0] == '\0' || strcmp(now, c->valid_from) < 0 ||
	    strcmp(now, c->valid_to) > 0)
		return shop_refuse(
		    res, SHOP_COUPON_NOT_VALID, "coupon %lld is not valid at %s", id, now);
	if (c->store_id != 0 && shop_coupon_base(c, cart) == 0)
		return shop_refuse(res, SHOP_COUPON_NOT_APPLICABLE,
		    "coupon %lld is for store %lld, which"
		    " has nothing in the cart",
		    id, (long long)c->store_id);
	if (shop_coupon_base(c, cart) < c->min_spend)
		return shop_refuse(res, SHOP_COUPON_NOT_APPLICABLE,
		    "coupon %lld needs %lld cents%s (this cart: %lld)", id, (long long)c->min_spend,
		    c->store_id ? " of its store's lines" : "",
		    (long long)shop_coupon_base(c, cart));
	return SHOP_OK;
}

/* ---- JSON ---- */

json_t *
shop_coupon_json(const struct shop_coupon *c)
{
	return json_pack("{s:I, s:s, s:o, s:I, s:I, s:s, s:s, s:o, s:o}", "coupon_id",
	    (json_int_t)c->id, "code", c->code, "store_id",
	    c->store_id ? json_integer(c->store_id) : json_null(), "pct_off",
	    (json_int_t)c->pct_off, "min_spend_cents", (json_int_t)c->min_spend, "valid_from",
	    c->valid_from, "valid_to", c->valid_to, "redeemed_at",
	    c->redeemed ? json_string(c->redeemed_at) : json_null(), "order_key",
	    c->redeemed && c->order_key[0] ? json_string(c->order_key) : json_null());
}

static json_t *
wallet_json(const struct shop_wallet *w)
{
	json_t *a = json_array();
	unsigned i;

	for (i = 0; a != NULL && i < w->n; i++) {
		if (json_array_append_new(a, shop_coupon_json(&w->c[i])) == -1) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *
lines_json(const struct shop_cart *c)
{
	json_t *a = json_array();
	unsigned i;

	for (i = 0; a != NULL && i < c->n; i++) {
		const struct shop_line *l = &c->line[i];

		if (json_array_append_new(a,
			json_pack("{s:I, s:I, s:I, s:I, s:I}", "product_id",
			    (json_int_t)l->product_id, "store_id", (json_int_t)l->store_id,
			    "quantity", (json_int_t)l->quantity, "price_cents",
			    (json_int_t)l->price_cents, "line_cents",
			    (json_int_t)(l->quantity * l->price_cents))) == -1) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* The cart as every cart answer shows it: lines, the applied coupon, the totals. */
json_t *
shop_cart_json(struct shop *s, int64_t user, struct shop_result *res)
{
	struct shop_cart cart;
	struct shop_wallet w;
	int64_t held = shop_held(s, user), discount = 0;
	json_t *coupon = json_null();

	if (shop_cart_read(s, user, &cart, res) == NULL)
		return NULL;
	if (held != 0 && shop_wallet_read(s, user, held, &w, res) == NULL)
		return NULL;
	if (held != 0 && w.n == 1) {
		discount = shop_discount(&w.c[0], &cart);
		coupon = json_pack("{s:I, s:s, s:I}", "coupon_id", (json_int_t)held, "code",
		    w.c[0].code, "pct_off", (json_int_t)w.c[0].pct_off);
	}
	return shop_or_nomem(
	    json_pack("{s:I, s:o, s:I, s:o, s:I, s:I}", "user_id", (json_int_t)user, "items",
		lines_json(&cart), "subtotal_cents", (json_int_t)cart.subtotal, "coupon", coupon,
		"discount_cents", (json_int_t)discount, "total_cents",
		(json_int_t)(cart.subtotal - discount)),
	    res);
}

/* ---- the read-only endpoints ---- */

json_t *
shop_session(struct shop *s, int64_t user, struct shop_result *res)
{
	struct shop_user u;
	struct shop_wallet w;
	json_t *cart;

	if (shop_user(s, user, &u, res) == NULL)
		return NULL;
	shop_unhold(s, user); /* a session starts with no coupon applied */
	if ((cart = shop_cart_json(s, user, res)) == NULL)
		return NULL;
	if (shop_wallet_read(s, user, 0, &w, res) == NULL) {
		json_decref(cart);
		return NULL;
	}
	return shop_or_nomem(
	    json_pack("{s:{s:I, s:s, s:s}, s:o, s:o}", "user", "id", (json_int_t)u.id, "agent_id",
		u.agent_id, "name", u.name, "cart", cart, "wallet", wallet_json(&w)),
	    res);
}

static json_t *
product_json(const struct db_row *r, int with_category)
{
	if (with_category)
		return json_pack("{s:I, s:I, s:s, s:s, s:I}", "id", (json_int_t)db_int(r, 0),
		    "store_id", (json_int_t)db_int(r, 1), "category", db_text(r, 2), "name",
		    db_text(r, 3), "price_cents", (json_int_t)db_int(r, 4));
	return json_pack("{s:I, s:I, s:s, s:I}", "id", (json_int_t)db_int(r, 0), "store_id",
	    (json_int_t)db_int(r, 1), "name", db_text(r, 2), "price_cents",
	    (json_int_t)db_int(r, 3));
}

static enum db_rc
search_row(const struct db_row *r, void *arg)
{
	return json_array_append_new(arg, product_json(r, 0)) == 0 ? DB_OK : DB_NOMEM;
}

json_t *
shop_search(
    struct shop *s, const char *category, int64_t limit, int64_t offset, struct shop_result *res)
{
	struct db_param p[] = { P_TEXT(category), P_INT(limit), P_INT(offset) };
	struct shop_int total;
	json_t *a = json_array(), *next;
	enum db_rc rc;

	if (a == NULL)
		return shop_nomem(res);
	if ((rc = shop_query_int(s, DB_SEARCH_COUNT, p, 1, &total)) != DB_OK ||
	    (rc = db_query(s->db, DB_SEARCH, p, 3, search_row, a, NULL)) != DB_OK) {
		json_decref(a);
		return shop_db_fail(s, res, rc, "search products");
	}
	next = offset + (int64_t)json_array_size(a) < total.v
	    ? json_integer(offset + (int64_t)json_array_size(a))
	    : json_null();
	return shop_or_nomem(json_pack("{s:s, s:I, s:I, s:I, s:o, s:o}", "category", category,
				 "total", (json_int_t)total.v, "offset", (json_int_t)offset,
				 "limit", (json_int_t)limit, "next_offset", next, "products", a),
	    res);
}

static enum db_rc
product_row(const struct db_row *r, void *arg)
{
	json_t **out = arg;

	*out = product_json(r, 1);
	return *out != NULL ? DB_OK : DB_NOMEM;
}

json_t *
shop_product(struct shop *s, int64_t id, struct shop_result *res)
{
	struct db_param p[] = { P_INT(id) };
	json_t *prod = NULL;
	enum db_rc rc;

	if ((rc = db_query(s->db, DB_PRODUCT, p, 1, product_row, &prod, NULL)) != DB_OK) {
		json_decref(prod);
		return shop_db_fail(s, res, rc, "read a product");
	}
	if (prod == NULL)
		return shop_fail(
		    res, SHOP_UNKNOWN_PRODUCT, "product %lld does not exist", (long long)id);
	return shop_or_nomem(json_pack("{s:o}", "product", prod), res);
}

json_t *
shop_wallet(struct shop *s, int64_t user, struct shop_result *res)
{
	struct shop_user u;
	struct shop_wallet w;

	if (shop_user(s, user, &u, res) == NULL || shop_wallet_read(s, user, 0, &w, res) == NULL)
		return NULL;
	return shop_or_nomem(
	    json_pack("{s:I, s:o}", "user_id", (json_int_t)user, "coupons", wallet_json(&w)), res);
}

json_t *
shop_eligible(struct shop *s, int64_t user, int64_t now, struct shop_result *res)
{
	struct shop_user u;
	struct shop_cart cart;
	struct shop_wallet w;
	struct shop_result why;
	char at[32];
	json_t *a, *c;
	unsigned i;

	store_time_iso(at, sizeof(at), now);
	if (shop_user(s, user, &u, res) == NULL || shop_cart_read(s, user, &cart, res) == NULL ||
	    shop_wallet_read(s, user, 0, &w, res) == NULL)
		return NULL;
	if ((a = json_array()) == NULL)
		return shop_nomem(res);
	/* What shop_apply() would accept: nothing fits an empty cart. */
	for (i = 0; i < w.n && cart.n > 0; i++) {
		if (shop_coupon_check(&w.c[i], &cart, at, &why) != SHOP_OK)
			continue;
		c = shop_coupon_json(&w.c[i]);
		if (c == NULL ||
		    json_object_set_new(
			c, "discount_cents", json_integer(shop_discount(&w.c[i], &cart))) == -1 ||
		    json_array_append_new(a, c) == -1) {
			json_decref(a);
			return shop_nomem(res);
		}
	}
	return shop_or_nomem(json_pack("{s:I, s:s, s:I, s:o}", "user_id", (json_int_t)user, "at",
				 at, "subtotal_cents", (json_int_t)cart.subtotal, "coupons", a),
	    res);
}
