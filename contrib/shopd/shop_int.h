/* shop_int.h - what shop.c (reads) and order.c (writes) share; not for the HTTP side. */
#ifndef SHOPD_SHOP_INT_H
#define SHOPD_SHOP_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "db.h"
#include "shop.h"

/* clang-format off */
#define P_INT(v) { DBP_INT, (int64_t)(v), NULL }
#define P_TIME(v) { DBP_TIME, (int64_t)(v), NULL }
#define P_TEXT(v) { DBP_TEXT, 0, (v) }
#define P_NULL { DBP_NULL, 0, NULL }
#define P_INT_OR_NULL(v) { (v) ? DBP_INT : DBP_NULL, (int64_t)(v), NULL }
/* clang-format on */

struct shop_held {
	int64_t user, coupon;
};

struct shop {
	struct db *db;
	struct shop_held *held; /* sorted by user */
	size_t nheld, cap;
};

struct shop_user {
	int64_t id;
	char agent_id[64];
	char name[128];
	int found;
};

struct shop_line {
	int64_t product_id, store_id, quantity, price_cents;
};

struct shop_cart {
	unsigned n;
	struct shop_line line[SHOP_MAX_LINES];
	int64_t subtotal;
	int overflow;
};

struct shop_coupon {
	int64_t id, store_id; /* store_id 0: any store */
	int64_t pct_off, min_spend;
	char code[64];
	char valid_from[32], valid_to[32], redeemed_at[32];
	char order_key[SHOP_KEY_MAX + 1];
	int redeemed;
};

struct shop_wallet {
	unsigned n;
	struct shop_coupon c[SHOP_MAX_WALLET];
	int overflow;
};

struct shop_int {
	int64_t v;
	int found, null;
};

/* Each sets *res and returns NULL (or the error), so a caller can return it at once. */
void *shop_fail(struct shop_result *res, enum shop_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
enum shop_err shop_refuse(struct shop_result *res, enum shop_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void *shop_db_fail(struct shop *s, struct shop_result *res, enum db_rc rc, const char *what);
void *shop_nomem(struct shop_result *res);
json_t *shop_or_nomem(json_t *j, struct shop_result *res);

/* The applied coupons: 0 when none; shop_hold fails (-1) only when the table is full. */
int64_t shop_held(const struct shop *s, int64_t user);
int shop_hold(struct shop *s, int64_t user, int64_t coupon);
void shop_unhold(struct shop *s, int64_t user);

void *shop_user(struct shop *s, int64_t id, struct shop_user *u, struct shop_result *res);
void *shop_cart_read(struct shop *s, int64_t user, struct shop_cart *c, struct shop_result *res);
void *shop_wallet_read(
    struct shop *s, int64_t user, int64_t coupon, struct shop_wallet *w, struct shop_result *res);
enum db_rc shop_query_int(
    struct shop *s, enum db_stmt st, const struct db_param *p, int np, struct shop_int *out);

/*
 * What coupon c takes off cart: pct_off of the lines it counts, rounded down.
 * A store's coupon counts that store's lines (for its minimum spend too), a
 * coupon for any store the whole cart -- as simd's sessions do (lib/shopper.c).
 */
int64_t shop_coupon_base(const struct shop_coupon *c, const struct shop_cart *cart);
int64_t shop_discount(const struct shop_coupon *c, const struct shop_cart *cart);
/* SHOP_OK when coupon c may be applied to cart at ISO time now; else why not, in *res. */
enum shop_err shop_coupon_check(const struct shop_coupon *c, const struct shop_cart *cart,
    const char *now, struct shop_result *res);
json_t *shop_coupon_json(const struct shop_coupon *c);
json_t *shop_cart_json(struct shop *s, int64_t user, struct shop_result *res);

#endif
