/*
 * catalog.c - the shop's catalogue, generated from a seed.
 *
 * Every product and every coupon is drawn from its own generator, seeded by
 * (seed, stream, index), so an item depends only on the seed and its id: a
 * larger catalogue keeps the items of a smaller one.  The streams live above
 * 2^32 so that they never meet the engine's (seed, agent, cycle) streams.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/catalog.h"
#include "sim/rng.h"

#define CATALOG_STREAM_PRODUCT UINT64_C(0xca7a106000000001)
#define CATALOG_STREAM_COUPON UINT64_C(0xca7a106000000002)
#define CATALOG_STREAM_WALLET UINT64_C(0xca7a106000000003)

#define CATALOG_DAY INT64_C(86400)

const char *const catalog_category_names[CATALOG_CATEGORIES] = {
	"groceries",
	"household",
	"beauty",
	"baby",
	"pets",
	"electronics",
	"home",
	"clothing",
	"sports",
	"toys",
	"books",
	"health",
};

/* Prices are lognormal around a median, redrawn when they fall outside [min, max]. */
struct catalog_category {
	float share;          /* of the products past the first one per category */
	double median, sigma; /* cents; log-space spread */
	uint32_t min, max;    /* cents */
	const char *adj[6];
	const char *noun[8];
};

static const struct catalog_category catalog_categories[CATALOG_CATEGORIES] = {
	{ 0.24f, 450, 0.6, 100, 1500,
	    { "Organic", "Fresh", "Classic", "Wholegrain", "Family", "Fair Trade" },
	    { "Oat Milk", "Cheddar", "Sourdough", "Coffee Beans", "Pasta", "Olive Oil", "Granola",
		"Eggs" } },
	{ 0.10f, 900, 0.6, 200, 4000, { "Eco", "Ultra", "Lemon", "Heavy-Duty", "Compact", "Fresh" },
	    { "Dish Soap", "Paper Towels", "Detergent", "Trash Bags", "Sponges", "Bleach",
		"Cleaner Spray", "Light Bulbs" } },
	{ 0.08f, 1500, 0.7, 300, 8000,
	    { "Hydrating", "Matte", "Gentle", "Radiant", "Vegan", "Daily" },
	    { "Face Cream", "Lipstick", "Shampoo", "Serum", "Mascara", "Body Lotion", "Sunscreen",
		"Hand Cream" } },
	{ 0.05f, 1800, 0.8, 300, 15000, { "Soft", "Gentle", "Organic", "Tiny", "Cozy", "Bamboo" },
	    { "Diapers", "Baby Wipes", "Bottle Set", "Onesie", "Rattle", "Baby Food", "Stroller",
		"Bib Set" } },
	{ 0.05f, 1800, 0.8, 200, 12000,
	    { "Premium", "Grain-Free", "Chewy", "Cozy", "Natural", "Senior" },
	    { "Dog Food", "Cat Litter", "Chew Toy", "Pet Bed", "Leash", "Cat Treats", "Aquarium",
		"Bird Seed" } },
	{ 0.08f, 9000, 1.0, 2000, 150000, { "Wireless", "Smart", "Pro", "4K", "Portable", "Ultra" },
	    { "Headphones", "Speaker", "Laptop", "TV", "Phone", "Tablet", "Camera",
		"Smartwatch" } },
	{ 0.10f, 4000, 0.9, 500, 50000,
	    { "Modern", "Rustic", "Cotton", "Oak", "Minimal", "Ceramic" },
	    { "Lamp", "Rug", "Sofa", "Bookshelf", "Duvet", "Mug Set", "Mirror", "Desk Chair" } },
	{ 0.10f, 3500, 0.7, 800, 20000, { "Slim", "Classic", "Wool", "Denim", "Linen", "Casual" },
	    { "Jeans", "T-Shirt", "Jacket", "Sweater", "Dress", "Sneakers", "Scarf", "Raincoat" } },
	{ 0.05f, 3000, 0.9, 500, 40000,
	    { "Pro", "Lightweight", "Trail", "Team", "Carbon", "Indoor" },
	    { "Yoga Mat", "Football", "Tennis Racket", "Running Shoes", "Bike Helmet", "Dumbbells",
		"Tent", "Water Bottle" } },
	{ 0.05f, 2200, 0.8, 300, 15000, { "Deluxe", "Wooden", "Mini", "Classic", "Magic", "Giant" },
	    { "Puzzle", "Building Set", "Doll", "Race Car", "Board Game", "Plush Bear", "Kite",
		"Train Set" } },
	{ 0.05f, 1400, 0.5, 300, 6000,
	    { "Illustrated", "Paperback", "Collected", "Pocket", "Hardcover", "Signed" },
	    { "Cookbook", "Mystery", "Atlas", "Poems", "Biography", "Sci-Fi Novel", "Travel Guide",
		"Thriller" } },
	{ 0.05f, 1100, 0.6, 200, 5000,
	    { "Daily", "Extra", "Natural", "Sugar-Free", "Gentle", "Family" },
	    { "Vitamins", "Pain Relief", "Bandages", "Thermometer", "Cough Syrup", "Protein Powder",
		"Allergy Tabs", "Sleep Aid" } },
};

void
catalog_store_name(char *buf, size_t len, uint32_t store_id)
{
	snprintf(buf, len, "Store %u", store_id);
}

void
catalog_coupon_code(char *buf, size_t len, const struct coupon *cp)
{
	snprintf(buf, len, "SAVE%u-%05u", cp->pct_off, cp->id);
}

/* Shelf prices end in 9: 437 becomes 439, 4372 becomes 4399. */
static uint32_t
catalog_charm(double cents, uint32_t max)
{
	uint32_t c = (uint32_t)cents;

	c = c < 1000 ? c / 10 * 10 + 9 : c / 100 * 100 + 99;
	return c > max ? max : c;
}

static uint32_t
catalog_price(struct rng *r, const struct catalog_category *cat)
{
	double p = 0.0;
	int i;

	for (i = 0; i < 8; i++) {
		p = rng_lognormal(r, log(cat->median), cat->sigma);
		if (p >= cat->min && p <= cat->max)
			break;
	}
	if (p < cat->min)
		p = cat->min;
	if (p > cat->max)
		p = cat->max;
	return catalog_charm(p, cat->max);
}

static void
catalog_make_product(struct catalog *c, uint32_t i)
{
	float share[CATALOG_CATEGORIES];
	const struct catalog_category *cat;
	struct product *p = &c->products[i];
	struct rng r;
	unsigned k;

	for (k = 0; k < CATALOG_CATEGORIES; k++)
		share[k] = catalog_categories[k].share;
	rng_seed(&r, c->seed, CATALOG_STREAM_PRODUCT, i);
	p->id = i + 1;
	/* The first product of each category comes first, so none is ever empty. */
	p->category = i < CATALOG_CATEGORIES ? (uint8_t)i
					     : (uint8_t)rng_weighted(&r, share, CATALOG_CATEGORIES);
	cat = &catalog_categories[p->category];
	p->store_id = (uint16_t)(rng_below(&r, c->nstores) + 1);
	p->price_cents = catalog_price(&r, cat);
	snprintf(p->name, sizeof(p->name), "Store %u %s %s", (unsigned)p->store_id,
	    cat->adj[rng_below(&r, 6)], cat->noun[rng_below(&r, 8)]);
}

/*
 * Most coupons run from a few days before the start for one to eight weeks;
 * some expire within the first week and some only start later, so the set of
 * eligible coupons changes as the run goes on.
 */
static void
catalog_make_coupon(struct catalog *c, uint32_t i)
{
	/* Small discounts and low thresholds are the common ones, as in real promotions. */
	static const uint8_t pcts[] = { 5, 10, 10, 15, 15, 20, 20, 25, 30, 40, 50 };
	static const uint16_t spends[] = { 0, 0, 0, 1000, 1500, 2000, 2500, 3000, 5000, 7500,
		10000 };
	struct coupon *cp = &c->coupons[i];
	struct rng r;
	uint32_t kind;

	rng_seed(&r, c->seed, CATALOG_STREAM_COUPON, i);
	cp->id = i + 1;
	cp->pct_off = pcts[rng_below(&r, sizeof(pcts))];
	cp->min_spend_cents = spends[rng_below(&r, sizeof(spends) / sizeof(spends[0]))];
	cp->store_id = rng_below(&r, 10) < 4 ? 0 : (uint16_t)(rng_below(&r, c->nstores) + 1);
	kind = rng_below(&r, 100);
	if (kind < 70) {
		cp->valid_from = c->sim_start - CATALOG_DAY * (1 + rng_below(&r, 5));
		cp->valid_to = c->sim_start + CATALOG_DAY * (7 + rng_below(&r, 54));
	} else if (kind < 85) {
		cp->valid_from = c->sim_start - CATALOG_DAY * (1 + rng_below(&r, 5));
		cp->valid_to = c->sim_start + CATALOG_DAY * (1 + rng_below(&r, 6));
	} else {
		cp->valid_from = c->sim_start + CATALOG_DAY * (3 + rng_below(&r, 28));
		cp->valid_to = cp->valid_from + CATALOG_DAY * (7 + rng_below(&r, 54));
	}
	/* Inclusive upper bound: a coupon is valid up to one second before midnight. */
	cp->valid_to -= 1;
}

struct catalog_key {
	uint32_t price, idx;
};

static int
catalog_key_cmp(const void *a, const void *b)
{
	const struct catalog_key *x = a, *y = b;

	if (x->price != y->price)
		return x->price < y->price ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int
catalog_index(struct catalog *c)
{
	struct catalog_key *keys;
	uint32_t i, k, n;

	for (i = 0; i < c->nproducts; i++)
		c->ncategory[c->products[i].category]++;
	keys = calloc(c->nproducts, sizeof(*keys));
	if (keys == NULL)
		return -1;
	for (k = 0; k < CATALOG_CATEGORIES; k++) {
		c->by_category[k] = calloc(c->ncategory[k], sizeof(uint32_t));
		if (c->by_category[k] == NULL) {
			free(keys);
			return -1;
		}
		for (i = 0, n = 0; i < c->nproducts; i++) {
			if (c->products[i].category != k)
				continue;
			keys[n].price = c->products[i].price_cents;
			keys[n++].idx = i;
		}
		qsort(keys, n, sizeof(*keys), catalog_key_cmp);
		for (i = 0; i < n; i++)
			c->by_category[k][i] = keys[i].idx;
	}
	free(keys);
	return 0;
}

/* Shelves: each category's price order, split by store (a stable counting sort). */
static int
catalog_shelves(struct catalog *c)
{
	size_t nshelves = (size_t)c->nstores * CATALOG_CATEGORIES;
	uint32_t i, k, *fill;

	c->shelf = calloc(c->nproducts, sizeof(uint32_t));
	c->shelf_start = calloc(nshelves + 1, sizeof(uint32_t));
	fill = calloc(nshelves, sizeof(uint32_t));
	if (c->shelf == NULL || c->shelf_start == NULL || fill == NULL) {
		free(fill);
		return -1;
	}
	for (i = 0; i < c->nproducts; i++)
		c->shelf_start[(size_t)(c->products[i].store_id - 1) * CATALOG_CATEGORIES +
		    c->products[i].category + 1]++;
	for (i = 0; i < nshelves; i++)
		c->shelf_start[i + 1] += c->shelf_start[i];
	for (k = 0; k < CATALOG_CATEGORIES; k++) {
		for (i = 0; i < c->ncategory[k]; i++) {
			uint32_t idx = c->by_category[k][i];
			size_t at =
			    (size_t)(c->products[idx].store_id - 1) * CATALOG_CATEGORIES + k;

			c->shelf[c->shelf_start[at] + fill[at]++] = idx;
		}
	}
	free(fill);
	return 0;
}

struct catalog *
catalog_new(
    uint64_t seed, int64_t sim_start, uint32_t nstores, uint32_t nproducts, uint32_t ncoupons)
{
	struct catalog *c;
	uint32_t i;

	if (nstores == 0 || nstores > UINT16_MAX || nproducts < CATALOG_CATEGORIES) {
		errno = EINVAL;
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->seed = seed;
	c->sim_start = sim_start;
	c->nstores = nstores;
	c->nproducts = nproducts;
	c->ncoupons = ncoupons;
	c->products = calloc(nproducts, sizeof(*c->products));
	c->coupons = calloc(ncoupons ? ncoupons : 1, sizeof(*c->coupons));
	if (c->products == NULL || c->coupons == NULL)
		goto fail;
	for (i = 0; i < nproducts; i++)
		catalog_make_product(c, i);
	for (i = 0; i < ncoupons; i++)
		catalog_make_coupon(c, i);
	if (catalog_index(c) == -1 || catalog_shelves(c) == -1)
		goto fail;
	return c;
fail:
	catalog_free(c);
	errno = ENOMEM;
	return NULL;
}

static int
product_id_cmp(const void *a, const void *b)
{
	const struct product *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

int
catalog_replace(struct catalog *c, const struct product *p, uint32_t n)
{
	struct catalog next = { 0 };
	uint32_t i;

	if (n == 0) {
		errno = EINVAL;
		return -1;
	}
	next.seed = c->seed;
	next.sim_start = c->sim_start;
	next.nproducts = n;
	if ((next.products = malloc((size_t)n * sizeof(*next.products))) == NULL ||
	    (next.coupons = calloc(1, sizeof(*next.coupons))) == NULL) {
		free(next.products);
		errno = ENOMEM;
		return -1;
	}
	memcpy(next.products, p, (size_t)n * sizeof(*p));
	qsort(next.products, n, sizeof(*next.products), product_id_cmp);
	for (i = 0; i < n; i++) {
		const struct product *q = &next.products[i];

		if (q->id == 0 || q->store_id == 0 || q->category >= CATALOG_CATEGORIES ||
		    (i > 0 && next.products[i - 1].id == q->id)) {
			free(next.products);
			free(next.coupons);
			errno = EINVAL;
			return -1;
		}
		if (q->store_id > next.nstores)
			next.nstores = q->store_id;
	}
	if (catalog_index(&next) == -1 || catalog_shelves(&next) == -1) {
		for (unsigned k = 0; k < CATALOG_CATEGORIES; k++)
			free(next.by_category[k]);
		free(next.products);
		free(next.coupons);
		free(next.shelf);
		free(next.shelf_start);
		errno = ENOMEM;
		return -1;
	}
	for (unsigned k = 0; k < CATALOG_CATEGORIES; k++)
		free(c->by_category[k]);
	free(c->products);
	free(c->coupons);
	free(c->shelf);
	free(c->shelf_start);
	*c = next;
	return 0;
}

void
catalog_free(struct catalog *c)
{
	unsigned k;

	if (c == NULL)
		return;
	for (k = 0; k < CATALOG_CATEGORIES; k++)
		free(c->by_category[k]);
	free(c->products);
	free(c->coupons);
	free(c->shelf);
	free(c->shelf_start);
	free(c);
}

const struct product *
catalog_product(const struct catalog *c, uint32_t id)
{
	struct product key;

	if (c == NULL || id == 0)
		return NULL;
	if (id <= c->nproducts && c->products[id - 1].id == id)
		return &c->products[id - 1]; /* a generated catalogue: ids 1..n */
	key.id = id;                         /* a catalogue read from the shop: sorted by id */
	return bsearch(&key, c->products, c->nproducts, sizeof(key), product_id_cmp);
}

const struct coupon *
catalog_coupon(const struct catalog *c, uint32_t id)
{
	if (c == NULL || id == 0 || id > c->ncoupons)
		return NULL;
	return &c->coupons[id - 1];
}

const uint32_t *
catalog_shelf(const struct catalog *c, uint32_t store_id, unsigned category, uint32_t *n)
{
	size_t at;

	*n = 0;
	if (c == NULL || store_id == 0 || store_id > c->nstores || category >= CATALOG_CATEGORIES)
		return NULL;
	at = (size_t)(store_id - 1) * CATALOG_CATEGORIES + category;
	*n = c->shelf_start[at + 1] - c->shelf_start[at];
	return *n > 0 ? &c->shelf[c->shelf_start[at]] : NULL;
}

void
catalog_wallet(const struct catalog *c, uint32_t agent, uint32_t out[CATALOG_WALLET])
{
	struct rng r;
	uint32_t id;
	unsigned i, j, n;

	n = c->ncoupons < CATALOG_WALLET ? c->ncoupons : CATALOG_WALLET;
	rng_seed(&r, c->seed, CATALOG_STREAM_WALLET, agent);
	for (i = 0; i < CATALOG_WALLET; i++)
		out[i] = 0;
	for (i = 0; i < n; i++) {
		id = rng_below(&r, c->ncoupons);
		/* A repeat moves on to the next id: bounded, and still deterministic. */
		for (j = 0; j < i; j++) {
			if (out[j] == id + 1) {
				id = (id + 1) % c->ncoupons;
				j = (unsigned)-1;
			}
		}
		out[i] = id + 1;
	}
}
