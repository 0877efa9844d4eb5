/*
 * shop.h - the shop's rules over its database: carts, coupons, orders.
 *
 * Every call answers a JSON document (the response bodies of docs/shop-api.md)
 * or NULL with the reason in *res.  Writes run in one transaction each.  The
 * coupon applied to a cart is kept in memory, one per user (there is no column
 * for it in the pinned schema): a session's start, a change of the cart and an
 * order each remove it, and a restart of shopd forgets it.
 */
#ifndef SHOPD_SHOP_H
#define SHOPD_SHOP_H

#include <stdint.h>

#include <jansson.h>

struct db;

#define SHOP_MAX_LINES 100       /* lines in a cart */
#define SHOP_MAX_QUANTITY 1000   /* of one line */
#define SHOP_MAX_WALLET 64       /* coupons in one user's wallet */
#define SHOP_MAX_APPLIED 1000000 /* carts with a coupon applied, all users together */
#define SHOP_KEY_MAX 128         /* bytes of an Idempotency-Key or a session_key */
#define SHOP_CATEGORY_MAX 64
#define SHOP_PAGE_MAX 100    /* products in one search answer */
#define SHOP_PAGE_DEFAULT 50 /* what the direct driver's BROWSE reads */

enum shop_err {
	SHOP_OK,
	SHOP_UNKNOWN_USER,
	SHOP_UNKNOWN_PRODUCT,
	SHOP_UNKNOWN_COUPON, /* not in the user's wallet */
	SHOP_COUPON_REDEEMED,
	SHOP_COUPON_NOT_VALID,      /* outside its validity at the simulated time */
	SHOP_COUPON_NOT_APPLICABLE, /* minimum spend or store not met by the cart */
	SHOP_CART_EMPTY,
	SHOP_KEY_REUSED,  /* the Idempotency-Key names another user's order */
	SHOP_FULL,        /* a bounded table is full */
	SHOP_BUSY,        /* the database is locked: retry */
	SHOP_UNAVAILABLE, /* statement timeout, connection lost */
	SHOP_INTERNAL,
	SHOP_NERR
};

struct shop_result {
	enum shop_err err;
	char msg[200]; /* for the client; database details go to the log */
};

struct shop_want {
	int64_t product_id;
	int64_t quantity;
};

struct shop;

struct shop *shop_new(struct db *db);
void shop_free(struct shop *s);

/* POST /api/shopping/session: {user, cart, wallet}; removes the applied coupon. */
json_t *shop_session(struct shop *s, int64_t user, struct shop_result *res);
/* GET /api/products/search and GET /api/products/{id}. */
json_t *shop_search(
    struct shop *s, const char *category, int64_t limit, int64_t offset, struct shop_result *res);
json_t *shop_product(struct shop *s, int64_t id, struct shop_result *res);
/* POST /api/cart/items: the cart becomes exactly want[0..n-1] (distinct products). */
json_t *shop_cart_set(struct shop *s, int64_t user, const struct shop_want *want, unsigned n,
    int64_t now, struct shop_result *res);
/* GET /api/coupons/wallet and /api/coupons/eligible. */
json_t *shop_wallet(struct shop *s, int64_t user, struct shop_result *res);
json_t *shop_eligible(struct shop *s, int64_t user, int64_t now, struct shop_result *res);
/* POST /api/cart/coupons: coupon 0 removes the applied one.  Answers the cart. */
json_t *
shop_apply(struct shop *s, int64_t user, int64_t coupon, int64_t now, struct shop_result *res);
/*
 * POST /api/orders: the cart and its coupon become the order idem, in one
 * transaction.  *replayed is set when idem was already this user's order,
 * which is answered as it was and nothing is written.
 */
json_t *shop_order(struct shop *s, int64_t user, const char *idem, const char *session_key,
    int64_t now, int *replayed, struct shop_result *res);

#endif
