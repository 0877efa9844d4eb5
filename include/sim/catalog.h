/* catalog.h - the shop's catalogue (stores, products, coupons, wallets), generated from a seed. */
#ifndef SIM_CATALOG_H
#define SIM_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "sim/persona.h"

#define CATALOG_CATEGORIES PERSONA_CATEGORIES
#define CATALOG_WALLET 3 /* coupons in every user's wallet */
/* Bumped whenever the generator changes, so stores rewrite a catalogue built by an older one. */
#define CATALOG_VERSION 1

extern const char *const catalog_category_names[CATALOG_CATEGORIES];

struct product {
	uint32_t id;       /* 1..nproducts (generated; read from a shop: any, ascending) */
	uint16_t store_id; /* 1..nstores */
	uint8_t category;  /* 0..CATALOG_CATEGORIES-1 */
	uint32_t price_cents;
	char name[40];
};

struct coupon {
	uint32_t id;       /* 1..ncoupons */
	uint16_t store_id; /* 0 = any store */
	uint8_t pct_off;   /* 5..50 */
	uint32_t min_spend_cents;
	int64_t valid_from; /* unix seconds (simulated time) */
	int64_t valid_to;
};

struct catalog {
	uint64_t seed;
	int64_t sim_start;
	uint32_t nstores, nproducts, ncoupons;
	struct product *products; /* generated: products[i].id == i + 1; else by id */
	struct coupon *coupons;   /* coupons[i].id == i + 1 */
	/* per category: indices into products, sorted by price ascending */
	uint32_t *by_category[CATALOG_CATEGORIES];
	uint32_t ncategory[CATALOG_CATEGORIES];
	/*
	 * Per store and category (a store's shelf): indices into products, by
	 * price ascending; shelf (store s, category k) is shelf[shelf_start[i]]
	 * .. shelf[shelf_start[i + 1] - 1] with i = (s - 1) * CATALOG_CATEGORIES + k.
	 */
	uint32_t *shelf;
	uint32_t *shelf_start;
};

/*
 * Returns NULL with errno ENOMEM on allocation failure, or EINVAL unless
 * 1 <= nstores <= 65535 and nproducts >= CATALOG_CATEGORIES (every category
 * gets at least one product).  ncoupons may be 0.
 */
struct catalog *catalog_new(
    uint64_t seed, int64_t sim_start, uint32_t nstores, uint32_t nproducts, uint32_t ncoupons);
void catalog_free(struct catalog *c);
/*
 * shop_catalog = api: c's products become p[0..n-1] (copied; any ids, sorted
 * by id here), its stores 1..the largest store_id, its coupons none.  -1 with
 * errno EINVAL (n 0, an id or store_id 0, a category out of range, an id twice)
 * or ENOMEM, c unchanged.
 */
int catalog_replace(struct catalog *c, const struct product *p, uint32_t n);
const struct product *
catalog_product(const struct catalog *c, uint32_t id); /* NULL if out of range */
const struct coupon *catalog_coupon(const struct catalog *c, uint32_t id);
/*
 * The products of one store in one category, cheapest first: *n indices into
 * c->products (NULL and *n = 0 when the store has none there or is out of range).
 */
const uint32_t *
catalog_shelf(const struct catalog *c, uint32_t store_id, unsigned category, uint32_t *n);
/*
 * The coupon ids in agent's wallet, deterministic from (seed, agent); distinct.
 * When ncoupons < CATALOG_WALLET the missing entries are 0 (no coupon).
 */
void catalog_wallet(const struct catalog *c, uint32_t agent, uint32_t out[CATALOG_WALLET]);
/* Row values every store driver writes the same way: "Store 3", "SAVE15-00007". */
void catalog_store_name(char *buf, size_t len, uint32_t store_id);
void catalog_coupon_code(char *buf, size_t len, const struct coupon *cp);

#endif
