/* catalog.c - tests for the seeded catalogue. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "sim/catalog.h"
#include "check.h"

#define T0 INT64_C(1767571200) /* 2026-01-05T00:00:00Z */
#define DAY INT64_C(86400)

static int
same_catalog(const struct catalog *a, const struct catalog *b)
{
	uint32_t i;

	if (a->nproducts != b->nproducts || a->ncoupons != b->ncoupons)
		return 0;
	for (i = 0; i < a->nproducts; i++) {
		const struct product *p = &a->products[i], *q = &b->products[i];

		if (p->id != q->id || p->store_id != q->store_id || p->category != q->category ||
		    p->price_cents != q->price_cents || strcmp(p->name, q->name) != 0)
			return 0;
	}
	for (i = 0; i < a->ncoupons; i++)
		if (memcmp(&a->coupons[i], &b->coupons[i], sizeof(a->coupons[i])) != 0)
			return 0;
	return 1;
}

static void
test_determinism(void)
{
	struct catalog *a = catalog_new(42, T0, 20, 2000, 60);
	struct catalog *b = catalog_new(42, T0, 20, 2000, 60);
	struct catalog *c = catalog_new(43, T0, 20, 2000, 60);
	struct catalog *big = catalog_new(42, T0, 20, 4000, 120);
	uint32_t i, same_price = 0;

	CHECK(a != NULL && b != NULL && c != NULL && big != NULL);
	if (a == NULL || b == NULL || c == NULL || big == NULL)
		return;
	CHECK(same_catalog(a, b));
	CHECK(!same_catalog(a, c));
	for (i = 0; i < a->nproducts; i++)
		same_price += a->products[i].price_cents == c->products[i].price_cents;
	CHECK(same_price < a->nproducts / 4);
	/* Items depend on (seed, id) only: a larger catalogue starts with the smaller one. */
	for (i = 0; i < a->nproducts; i++)
		CHECK(big->products[i].price_cents == a->products[i].price_cents &&
		    strcmp(big->products[i].name, a->products[i].name) == 0);
	for (i = 0; i < a->ncoupons; i++)
		CHECK(memcmp(&big->coupons[i], &a->coupons[i], sizeof(a->coupons[i])) == 0);
	catalog_free(a);
	catalog_free(b);
	catalog_free(c);
	catalog_free(big);
}

static void
test_products(void)
{
	struct catalog *c = catalog_new(7, T0, 5, 3000, 40);
	uint32_t i, k, total = 0, cheap_groceries = 1, pricey_electronics = 0;
	int sorted = 1, ids = 1, names = 1, stores = 1, indexed = 1;

	CHECK(c != NULL);
	if (c == NULL)
		return;
	CHECK(strcmp(catalog_category_names[0], "groceries") == 0);
	CHECK(strcmp(catalog_category_names[5], "electronics") == 0);
	CHECK(strcmp(catalog_category_names[CATALOG_CATEGORIES - 1], "health") == 0);
	for (i = 0; i < c->nproducts; i++) {
		const struct product *p = &c->products[i];
		char prefix[16];

		snprintf(prefix, sizeof(prefix), "Store %u ", (unsigned)p->store_id);
		ids &= p->id == i + 1 && catalog_product(c, i + 1) == p;
		stores &= p->store_id >= 1 && p->store_id <= c->nstores;
		names &= strncmp(p->name, prefix, strlen(prefix)) == 0 &&
		    strlen(p->name) > strlen(prefix) + 3;
		CHECK(p->price_cents > 0 && p->category < CATALOG_CATEGORIES);
		if (p->category == 0 && (p->price_cents < 100 || p->price_cents > 1600))
			cheap_groceries = 0;
		if (p->category == 5 && p->price_cents >= 2000)
			pricey_electronics++;
	}
	CHECK(ids && stores && names && cheap_groceries);
	CHECK(pricey_electronics == c->ncategory[5]);
	for (k = 0; k < CATALOG_CATEGORIES; k++) {
		CHECK(c->ncategory[k] > 0);
		total += c->ncategory[k];
		for (i = 0; i < c->ncategory[k]; i++) {
			const struct product *p = &c->products[c->by_category[k][i]];

			indexed &= p->category == k;
			if (i > 0) {
				const struct product *q = &c->products[c->by_category[k][i - 1]];

				sorted &= q->price_cents < p->price_cents ||
				    (q->price_cents == p->price_cents && q->id < p->id);
			}
		}
	}
	CHECK(total == c->nproducts);
	CHECK(sorted && indexed);
	/* Groceries are the biggest department and cost less than electronics. */
	CHECK(c->ncategory[0] > c->ncategory[11]);
	CHECK(c->products[c->by_category[0][c->ncategory[0] / 2]].price_cents <
	    c->products[c->by_category[5][c->ncategory[5] / 2]].price_cents);
	CHECK(catalog_product(c, 0) == NULL);
	CHECK(catalog_product(c, c->nproducts) == &c->products[c->nproducts - 1]);
	CHECK(catalog_product(c, c->nproducts + 1) == NULL);
	CHECK(catalog_product(NULL, 1) == NULL);
	catalog_free(c);
}

static void
test_small_and_invalid(void)
{
	struct catalog *c = catalog_new(1, T0, 1, CATALOG_CATEGORIES, 0);
	uint32_t w[CATALOG_WALLET], k;

	CHECK(c != NULL);
	if (c != NULL) {
		for (k = 0; k < CATALOG_CATEGORIES; k++)
			CHECK(c->ncategory[k] == 1);
		catalog_wallet(c, 3, w);
		for (k = 0; k < CATALOG_WALLET; k++)
			CHECK(w[k] == 0);
		CHECK(catalog_coupon(c, 1) == NULL);
		catalog_free(c);
	}
	c = catalog_new(1, T0, 2, 100, 2);
	CHECK(c != NULL);
	if (c != NULL) {
		catalog_wallet(c, 9, w);
		CHECK((w[0] == 1 && w[1] == 2) || (w[0] == 2 && w[1] == 1));
		CHECK(w[2] == 0);
		catalog_free(c);
	}
	errno = 0;
	CHECK(catalog_new(1, T0, 0, 100, 10) == NULL && errno == EINVAL);
	CHECK(catalog_new(1, T0, 70000, 100, 10) == NULL && errno == EINVAL);
	CHECK(catalog_new(1, T0, 3, CATALOG_CATEGORIES - 1, 10) == NULL && errno == EINVAL);
	catalog_free(NULL);
}

static void
test_coupons(void)
{
	struct catalog *c = catalog_new(99, T0, 8, 500, 400);
	uint32_t i, now = 0, early = 0, later = 0, any = 0, pct_ok = 1, spend_ok = 1;
	char code[32];

	CHECK(c != NULL);
	if (c == NULL)
		return;
	for (i = 0; i < c->ncoupons; i++) {
		const struct coupon *cp = &c->coupons[i];

		CHECK(cp->id == i + 1 && catalog_coupon(c, i + 1) == cp);
		pct_ok &= cp->pct_off >= 5 && cp->pct_off <= 50;
		spend_ok &= cp->min_spend_cents <= 10000;
		CHECK(cp->store_id <= c->nstores);
		any += cp->store_id == 0;
		CHECK(cp->valid_from < cp->valid_to);
		CHECK(cp->valid_to - cp->valid_from <= 70 * DAY);
		CHECK(cp->valid_from >= T0 - 6 * DAY && cp->valid_to <= T0 + 100 * DAY);
		if (cp->valid_from <= T0 && cp->valid_to >= T0 + 7 * DAY)
			now++;
		else if (cp->valid_from <= T0 && cp->valid_to < T0 + 7 * DAY)
			early++;
		else if (cp->valid_from > T0)
			later++;
	}
	CHECK(pct_ok && spend_ok);
	CHECK(now + early + later == c->ncoupons);
	CHECK(now > c->ncoupons / 2);
	CHECK(early > 0 && later > 0);
	CHECK(any > 0 && any < c->ncoupons);
	CHECK(catalog_coupon(c, 0) == NULL && catalog_coupon(c, c->ncoupons + 1) == NULL);
	catalog_coupon_code(code, sizeof(code), &c->coupons[6]);
	CHECK(strncmp(code, "SAVE", 4) == 0 && strstr(code, "-00007") != NULL);
	catalog_store_name(code, sizeof(code), 3);
	CHECK(strcmp(code, "Store 3") == 0);
	catalog_free(c);
}

static void
test_wallets(void)
{
	struct catalog *c = catalog_new(5, T0, 4, 200, 30);
	struct catalog *d = catalog_new(5, T0, 4, 200, 30);
	uint32_t w[CATALOG_WALLET], v[CATALOG_WALLET], agent, differ = 0;
	unsigned i, j;
	int distinct = 1, inrange = 1, same = 1;

	CHECK(c != NULL && d != NULL);
	if (c == NULL || d == NULL)
		return;
	for (agent = 0; agent < 5000; agent++) {
		catalog_wallet(c, agent, w);
		catalog_wallet(d, agent, v);
		same &= memcmp(w, v, sizeof(w)) == 0;
		for (i = 0; i < CATALOG_WALLET; i++) {
			inrange &= w[i] >= 1 && w[i] <= c->ncoupons;
			for (j = 0; j < i; j++)
				distinct &= w[i] != w[j];
		}
		catalog_wallet(c, agent + 1, v);
		differ += memcmp(w, v, sizeof(w)) != 0;
	}
	CHECK(same && inrange && distinct);
	CHECK(differ > 4500);
	catalog_free(c);
	catalog_free(d);
}

/* Every product on exactly one shelf, its store's and its category's, cheapest first. */
static void
test_shelves(void)
{
	struct catalog *c = catalog_new(8, T0, 7, 1500, 10);
	uint32_t st, k, i, n, total = 0, last;
	const uint32_t *shelf;
	int placed = 1, sorted = 1;

	CHECK(c != NULL);
	if (c == NULL)
		return;
	for (st = 1; st <= c->nstores; st++) {
		for (k = 0; k < CATALOG_CATEGORIES; k++) {
			shelf = catalog_shelf(c, st, k, &n);
			CHECK((shelf == NULL) == (n == 0));
			last = 0;
			for (i = 0; i < n; i++) {
				const struct product *p = &c->products[shelf[i]];

				placed &= p->store_id == st && p->category == k;
				sorted &= p->price_cents >= last;
				last = p->price_cents;
			}
			total += n;
		}
	}
	CHECK(placed && sorted);
	CHECK(total == c->nproducts);
	CHECK(catalog_shelf(c, 0, 0, &n) == NULL && n == 0);
	CHECK(catalog_shelf(c, c->nstores + 1, 0, &n) == NULL && n == 0);
	CHECK(catalog_shelf(c, 1, CATALOG_CATEGORIES, &n) == NULL && n == 0);
	CHECK(catalog_shelf(NULL, 1, 0, &n) == NULL && n == 0);
	catalog_free(c);
	/* more stores than products: most shelves are empty */
	c = catalog_new(8, T0, 500, CATALOG_CATEGORIES, 0);
	CHECK(c != NULL);
	if (c == NULL)
		return;
	for (st = 1, total = 0; st <= c->nstores; st++)
		for (k = 0; k < CATALOG_CATEGORIES; k++)
			total += catalog_shelf(c, st, k, &n) != NULL ? n : 0;
	CHECK(total == CATALOG_CATEGORIES);
	catalog_free(c);
}

/* shop_catalog = api: a shop's products (any ids) replace the generated ones. */
static void
test_replace(void)
{
	struct catalog *c = catalog_new(7, T0, 3, 100, 10);
	struct product p[4] = {
		{ 9001, 7, 9, 500, "Kite" },
		{ 42, 3, 9, 199, "Ball" },
		{ 777, 7, 10, 1200, "Novel" },
		{ 43, 3, 9, 199, "Yoyo" },
	};
	const uint32_t *shelf;
	uint32_t n, w[CATALOG_WALLET];

	CHECK(c != NULL);
	CHECK(catalog_replace(c, p, 0) == -1 && errno == EINVAL && c->nproducts == 100);
	p[3].id = 42; /* an id twice */
	CHECK(catalog_replace(c, p, 4) == -1 && errno == EINVAL && c->nproducts == 100);
	p[3].id = 43;
	p[1].category = CATALOG_CATEGORIES;
	CHECK(catalog_replace(c, p, 4) == -1 && errno == EINVAL);
	p[1].category = 9;
	CHECK(catalog_replace(c, p, 4) == 0);
	CHECK(c->nproducts == 4 && c->nstores == 7 && c->ncoupons == 0);
	CHECK(c->products[0].id == 42 && c->products[3].id == 9001); /* by id */
	CHECK(
	    catalog_product(c, 777) != NULL && strcmp(catalog_product(c, 777)->name, "Novel") == 0);
	CHECK(catalog_product(c, 1) == NULL && catalog_product(c, 44) == NULL);
	CHECK(catalog_product(c, 9001)->store_id == 7);
	CHECK(c->ncategory[9] == 3 && c->ncategory[10] == 1 && c->ncategory[0] == 0);
	shelf = catalog_shelf(c, 3, 9, &n);
	CHECK(shelf != NULL && n == 2 && c->products[shelf[0]].id == 42);
	CHECK(catalog_shelf(c, 5, 9, &n) == NULL && n == 0); /* a store with nothing */
	shelf = catalog_shelf(c, 7, 9, &n);
	CHECK(shelf != NULL && n == 1 && c->products[shelf[0]].id == 9001);
	catalog_wallet(c, 3, w);
	CHECK(w[0] == 0 && w[1] == 0 && w[2] == 0); /* no coupons known */
	catalog_free(c);
}

int
main(void)
{
	test_replace();
	test_shelves();
	test_determinism();
	test_products();
	test_small_and_invalid();
	test_coupons();
	test_wallets();
	return CHECK_DONE();
}
