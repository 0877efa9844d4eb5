/*
 * order.c - the shop's writes: setting a cart, applying a coupon, placing an order.
 *
 * The rows are the ones simd's direct drivers write for the same steps
 * (docs/schema.md, CART and CHECKOUT), with the same keys: an order's
 * idem_key is the request's Idempotency-Key and its interactions are keyed
 * "<idem_key>:<product_id>".  What shopd leaves to simd: shopping_sessions
 * and shopping_session_events, the simulation's own records.
 */
#include <stdio.h>
#include <string.h>

#include "sim/store.h"

#include "db.h"
#include "shop_int.h"

struct product_ref {
	int64_t store_id, price_cents;
	int found;
};

static enum db_rc
product_ref_row(const struct db_row *r, void *arg)
{
	struct product_ref *p = arg;

	p->store_id = db_int(r, 1);
	p->price_cents = db_int(r, 4);
	p->found = 1;
	return DB_OK;
}

/* Each wanted line priced from the catalogue; SHOP_UNKNOWN_PRODUCT names the first missing. */
static void *
cart_price(struct shop *s, const struct shop_want *want, unsigned n, struct shop_line *out,
    struct shop_result *res)
{
	struct product_ref ref;
	enum db_rc rc;
	unsigned i;

	for (i = 0; i < n; i++) {
		struct db_param p[] = { P_INT(want[i].product_id) };

		memset(&ref, 0, sizeof(ref));
		if ((rc = db_query(s->db, DB_PRODUCT, p, 1, product_ref_row, &ref, NULL)) != DB_OK)
			return shop_db_fail(s, res, rc, "read a product");
		if (!ref.found)
			return shop_fail(res, SHOP_UNKNOWN_PRODUCT, "product %lld does not exist",
			    (long long)want[i].product_id);
		out[i].product_id = want[i].product_id;
		out[i].store_id = ref.store_id;
		out[i].quantity = want[i].quantity;
		out[i].price_cents = ref.price_cents;
	}
	return out;
}

/* Set, never add: the old lines go and the new ones are written as they are. */
static int
cart_write(struct shop *s, int64_t user, const struct shop_line *l, unsigned n, int64_t now,
    struct shop_result *res)
{
	struct db_param clear[] = { P_INT(user) };
	enum db_rc rc;
	unsigned i;

	if ((rc = db_query(s->db, DB_CART_CLEAR, clear, 1, NULL, NULL, NULL)) != DB_OK) {
		shop_db_fail(s, res, rc, "clear a cart");
		return -1;
	}
	for (i = 0; i < n; i++) {
		struct db_param p[] = { P_INT(user), P_INT(l[i].store_id), P_INT(l[i].product_id),
			P_INT(l[i].quantity), P_INT(l[i].price_cents), P_TIME(now) };

		if ((rc = db_query(s->db, DB_CART_INSERT, p, 6, NULL, NULL, NULL)) != DB_OK) {
			shop_db_fail(s, res, rc, "write a cart line");
			return -1;
		}
	}
	return 0;
}

json_t *
shop_cart_set(struct shop *s, int64_t user, const struct shop_want *want, unsigned n, int64_t now,
    struct shop_result *res)
{
	struct shop_line lines[SHOP_MAX_LINES];
	struct shop_user u;
	int64_t was;
	enum db_rc rc;
	json_t *out;

	if (n > SHOP_MAX_LINES)
		return shop_fail(res, SHOP_INTERNAL, "more than %d lines", SHOP_MAX_LINES);
	if (shop_user(s, user, &u, res) == NULL)
		return NULL;
	if ((rc = db_begin(s->db)) != DB_OK)
		return shop_db_fail(s, res, rc, "begin a transaction");
	/* A changed cart loses its coupon: the client applies it again if it still fits. */
	was = shop_held(s, user);
	shop_unhold(s, user);
	out = NULL;
	if (cart_price(s, want, n, lines, res) != NULL &&
	    cart_write(s, user, lines, n, now, res) == 0 &&
	    (out = shop_cart_json(s, user, res)) != NULL && (rc = db_commit(s->db)) != DB_OK) {
		json_decref(out);
		out = shop_db_fail(s, res, rc, "commit a cart");
	}
	if (out == NULL) {
		db_rollback(s->db);
		if (was != 0)
			shop_hold(s, user, was);
	}
	return out;
}

json_t *
shop_apply(struct shop *s, int64_t user, int64_t coupon, int64_t now, struct shop_result *res)
{
	struct shop_user u;
	struct shop_cart cart;
	struct shop_wallet w;
	char at[32];

	if (shop_user(s, user, &u, res) == NULL)
		return NULL;
	if (coupon == 0) {
		shop_unhold(s, user);
		return shop_cart_json(s, user, res);
	}
	store_time_iso(at, sizeof(at), now);
	if (shop_wallet_read(s, user, coupon, &w, res) == NULL ||
	    shop_cart_read(s, user, &cart, res) == NULL)
		return NULL;
	if (w.n == 0)
		return shop_fail(res, SHOP_UNKNOWN_COUPON,
		    "coupon %lld is not in the wallet of"
		    " user %lld",
		    (long long)coupon, (long long)user);
	if (cart.n == 0)
		return shop_fail(
		    res, SHOP_CART_EMPTY, "the cart of user %lld is empty", (long long)user);
	if (shop_coupon_check(&w.c[0], &cart, at, res) != SHOP_OK)
		return NULL;
	if (shop_hold(s, user, coupon) == -1)
		return shop_fail(
		    res, SHOP_FULL, "too many carts hold a coupon (at most %d)", SHOP_MAX_APPLIED);
	return shop_cart_json(s, user, res);
}

/* ---- orders ---- */

struct order_row {
	int64_t id, user_id, session_id, coupon_id, total;
	char created_at[32];
	int found;
};

static enum db_rc
order_row_fn(const struct db_row *r, void *arg)
{
	struct order_row *o = arg;

	o->id = db_int(r, 0);
	o->user_id = db_int(r, 1);
	o->session_id = db_isnull(r, 2) ? 0 : db_int(r, 2);
	o->coupon_id = db_isnull(r, 3) ? 0 : db_int(r, 3);
	o->total = db_int(r, 4);
	snprintf(o->created_at, sizeof(o->created_at), "%s", db_text(r, 5));
	o->found = 1;
	return DB_OK;
}

static void *
order_read(struct shop *s, const char *idem, struct order_row *o, struct shop_result *res)
{
	struct db_param p[] = { P_TEXT(idem) };
	enum db_rc rc;

	memset(o, 0, sizeof(*o));
	if ((rc = db_query(s->db, DB_ORDER_GET, p, 1, order_row_fn, o, NULL)) != DB_OK)
		return shop_db_fail(s, res, rc, "read an order");
	return o;
}

struct items_acc {
	json_t *a;
	int64_t subtotal;
};

static enum db_rc
item_row(const struct db_row *r, void *arg)
{
	struct items_acc *acc = arg;
	int64_t q = db_int(r, 1), price = db_int(r, 2);

	acc->subtotal += q * price;
	return json_array_append_new(acc->a,
		   json_pack("{s:I, s:I, s:I}", "product_id", (json_int_t)db_int(r, 0), "quantity",
		       (json_int_t)q, "price_cents", (json_int_t)price)) == 0
	    ? DB_OK
	    : DB_NOMEM;
}

static json_t *
opt_id(int64_t v)
{
	return v ? json_integer(v) : json_null();
}

/* The answer to an order, built from its rows: the same bytes for the first call and a replay. */
static json_t *
order_json(struct shop *s, const char *idem, const struct order_row *o, struct shop_result *res)
{
	struct db_param p[] = { P_INT(o->id) };
	struct items_acc acc = { json_array(), 0 };
	enum db_rc rc;

	if (acc.a == NULL)
		return shop_nomem(res);
	if ((rc = db_query(s->db, DB_ORDER_ITEMS, p, 1, item_row, &acc, NULL)) != DB_OK) {
		json_decref(acc.a);
		return shop_db_fail(s, res, rc, "read an order's items");
	}
	return shop_or_nomem(
	    json_pack("{s:{s:I, s:s, s:I, s:o, s:o, s:o, s:I, s:I, s:I, s:s}}", "order", "id",
		(json_int_t)o->id, "idem_key", idem, "user_id", (json_int_t)o->user_id,
		"session_id", opt_id(o->session_id), "coupon_id", opt_id(o->coupon_id), "items",
		acc.a, "subtotal_cents", (json_int_t)acc.subtotal, "discount_cents",
		(json_int_t)(acc.subtotal - o->total), "total_cents", (json_int_t)o->total,
		"created_at", o->created_at),
	    res);
}

/* An order that exists already: this user's is answered again, another's is refused. */
static json_t *
order_replay(struct shop *s, int64_t user, const char *idem, const struct order_row *o,
    struct shop_result *res)
{
	if (o->user_id != user)
		return shop_fail(res, SHOP_KEY_REUSED,
		    "Idempotency-Key %s belongs to another"
		    " user's order",
		    idem);
	return order_json(s, idem, o, res);
}

/* The coupon the order takes, checked again at the order's time, and its discount. */
static int
order_coupon(struct shop *s, int64_t user, const struct shop_cart *cart, int64_t now,
    int64_t *discount, struct shop_result *res)
{
	struct shop_wallet w;
	int64_t coupon = shop_held(s, user);
	char at[32];

	*discount = 0;
	if (coupon == 0)
		return 0;
	if (shop_wallet_read(s, user, coupon, &w, res) == NULL)
		return -1;
	if (w.n == 0) {
		shop_fail(res, SHOP_UNKNOWN_COUPON, "coupon %lld left the wallet of user %lld",
		    (long long)coupon, (long long)user);
		return -1;
	}
	store_time_iso(at, sizeof(at), now);
	if (shop_coupon_check(&w.c[0], cart, at, res) != SHOP_OK)
		return -1;
	*discount = shop_discount(&w.c[0], cart);
	return 0;
}

static int64_t
order_session(struct shop *s, const char *session_key, enum db_rc *rc)
{
	struct db_param p[] = { P_TEXT(session_key) };
	struct shop_int id;

	*rc = DB_OK;
	if (session_key == NULL || session_key[0] == '\0')
		return 0;
	*rc = shop_query_int(s, DB_SESSION_ID, p, 1, &id);
	return id.found ? id.v : 0;
}

struct order_new {
	int64_t user, session_id, coupon, total, now;
	const char *idem;
	const struct shop_cart *cart;
};

/* order_items and interactions, as the direct driver writes them. */
static enum db_rc
order_lines(struct shop *s, const struct order_new *n, int64_t order_id)
{
	char key[SHOP_KEY_MAX + 24];
	enum db_rc rc = DB_OK;
	unsigned i;

	for (i = 0; i < n->cart->n && rc == DB_OK; i++) {
		const struct shop_line *l = &n->cart->line[i];
		struct db_param item[] = { P_INT(order_id), P_INT(l->product_id),
			P_INT(l->quantity), P_INT(l->price_cents) };
		struct db_param act[] = { P_TEXT(key), P_INT(n->user), P_INT(l->product_id),
			P_TIME(n->now) };

		snprintf(key, sizeof(key), "%s:%lld", n->idem, (long long)l->product_id);
		if ((rc = db_query(s->db, DB_ORDER_ITEM_INSERT, item, 4, NULL, NULL, NULL)) ==
		    DB_OK)
			rc = db_query(s->db, DB_INTERACTION, act, 4, NULL, NULL, NULL);
	}
	return rc;
}

/*
 * The order's rows inside the open transaction.  *o is the order read back;
 * o->found is 0 when a concurrent request (another shopd) wrote idem first.
 */
static void *
order_write(struct shop *s, const struct order_new *n, struct order_row *o, struct shop_result *res)
{
	struct db_param ins[] = { P_TEXT(n->idem), P_INT(n->user), P_INT_OR_NULL(n->session_id),
		P_INT_OR_NULL(n->coupon), P_INT(n->total), P_TIME(n->now) };
	struct db_param redeem[] = { P_INT(n->user), P_INT(n->coupon), P_TIME(n->now),
		P_TEXT(n->idem) };
	struct db_param clear[] = { P_INT(n->user) };
	int64_t changes;
	enum db_rc rc;

	memset(o, 0, sizeof(*o));
	if ((rc = db_query(s->db, DB_ORDER_INSERT, ins, 6, NULL, NULL, &changes)) != DB_OK)
		return shop_db_fail(s, res, rc, "write an order");
	if (changes == 0)
		return o;
	if (order_read(s, n->idem, o, res) == NULL)
		return NULL;
	if (!o->found)
		return shop_fail(res, SHOP_INTERNAL, "order %s vanished after its insert", n->idem);
	if ((rc = order_lines(s, n, o->id)) != DB_OK)
		return shop_db_fail(s, res, rc, "write an order's lines");
	if (n->coupon != 0) {
		rc = db_query(s->db, DB_COUPON_REDEEM, redeem, 4, NULL, NULL, &changes);
		if (rc != DB_OK)
			return shop_db_fail(s, res, rc, "redeem a coupon");
		if (changes != 1)
			return shop_fail(res, SHOP_COUPON_REDEEMED,
			    "coupon %lld was redeemed"
			    " meanwhile",
			    (long long)n->coupon);
	}
	if ((rc = db_query(s->db, DB_CART_CLEAR, clear, 1, NULL, NULL, NULL)) != DB_OK)
		return shop_db_fail(s, res, rc, "clear a cart");
	return o;
}

/* Within the transaction: the replay, or the new order's rows and its answer. */
static json_t *
order_place(struct shop *s, int64_t user, const char *idem, const char *session_key, int64_t now,
    int *replayed, struct shop_result *res)
{
	struct order_new n = { user, 0, 0, 0, now, idem, NULL };
	struct shop_cart cart;
	struct order_row o;
	int64_t discount;
	enum db_rc rc;

	if (order_read(s, idem, &o, res) == NULL)
		return NULL;
	if (o.found) {
		*replayed = 1;
		return order_replay(s, user, idem, &o, res);
	}
	if (shop_cart_read(s, user, &cart, res) == NULL)
		return NULL;
	if (cart.n == 0)
		return shop_fail(
		    res, SHOP_CART_EMPTY, "the cart of user %lld is empty", (long long)user);
	if (order_coupon(s, user, &cart, now, &discount, res) == -1)
		return NULL;
	n.cart = &cart;
	n.coupon = shop_held(s, user);
	n.total = cart.subtotal - discount;
	n.session_id = order_session(s, session_key, &rc);
	if (rc != DB_OK)
		return shop_db_fail(s, res, rc, "read a session");
	if (order_write(s, &n, &o, res) == NULL)
		return NULL;
	if (!o.found) {
		*replayed = 1; /* lost a race for idem: answer the winner's order */
		if (order_read(s, idem, &o, res) == NULL)
			return NULL;
		return order_replay(s, user, idem, &o, res);
	}
	return order_json(s, idem, &o, res);
}

json_t *
shop_order(struct shop *s, int64_t user, const char *idem, const char *session_key, int64_t now,
    int *replayed, struct shop_result *res)
{
	struct shop_user u;
	enum db_rc rc;
	json_t *out;

	*replayed = 0;
	if (shop_user(s, user, &u, res) == NULL)
		return NULL;
	if ((rc = db_begin(s->db)) != DB_OK)
		return shop_db_fail(s, res, rc, "begin a transaction");
	out = order_place(s, user, idem, session_key, now, replayed, res);
	if (out == NULL || *replayed) {
		db_rollback(s->db);
		return out;
	}
	if ((rc = db_commit(s->db)) != DB_OK) {
		json_decref(out);
		return shop_db_fail(s, res, rc, "commit an order");
	}
	shop_unhold(s, user);
	return out;
}
