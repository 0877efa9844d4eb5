/*
 * shopper.c - the shopping graph: decide, browse, cart, coupons, checkout or abandon.
 *
 * The shape is RetailSynth's visit -> category -> product -> quantity: a visit
 * goes to one store (one of the agent's three favourites), looks at a category
 * or two there, and, in about one visit in ten, fills a cart.  Every draw comes
 * from the session's own generator, seeded by (seed, agent, cycle), and time
 * inside the session is simulated: think times are drawn, never measured.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sim/shopper.h"

enum {
	STEP_BEGIN,
	STEP_EXPIRE,
	STEP_BROWSE1,
	STEP_CART1,
	STEP_BROWSE2,
	STEP_CART2,
	STEP_COUPONS,
	STEP_FINAL,
	STEP_DONE
};

#define RNG_STREAM_SHOP 0x73686f70ULL              /* "shop": apart from persona's draws */
#define RNG_STREAM_STORES UINT64_C(0x73746f726573) /* "stores": an agent's favourites */
#define FAVOURITES 3
#define VIEWS_MAX STORE_MAX_ITEMS /* viewed[] holds one step's views */
#define VIEWS_EXTRA_MEAN 2.5      /* views past the first two of a step */
#define CHECKOUT_SIGMA 0.5

static const struct shopper_opts shopper_defaults = {
	.bounce_rate = 0.45,
	.second_browse = 0.35,
	.cross_store = 0.10,
	.think_sigma = 1.0,
	.think_max_s = 1800,
	.checkout_s = 75,
	.session_max_s = 2700,
	.cart_rate = -1,
	.checkout_rate = -1,
};

/* Share of visits to the favourite stores, most favoured first. */
static const float favourite_share[FAVOURITES] = { 0.6f, 0.3f, 0.1f };

void
shopper_opts_init(struct shopper_opts *o)
{
	*o = shopper_defaults;
}

struct opt_range {
	const char *key;
	size_t off;
	double lo, hi;
};

int
shopper_opts_check(const struct shopper_opts *o, char *err, size_t errlen)
{
	static const struct opt_range r[] = {
		{ "bounce_rate", offsetof(struct shopper_opts, bounce_rate), 0, 0.95 },
		{ "second_browse_rate", offsetof(struct shopper_opts, second_browse), 0, 1 },
		{ "cross_store_rate", offsetof(struct shopper_opts, cross_store), 0, 1 },
		{ "think_sigma", offsetof(struct shopper_opts, think_sigma), 0, 3 },
		{ "think_max_s", offsetof(struct shopper_opts, think_max_s), 1, 86400 },
		{ "checkout_median_s", offsetof(struct shopper_opts, checkout_s), 1, 3600 },
		{ "session_max_s", offsetof(struct shopper_opts, session_max_s), 60, 86400 },
	};
	double v;

	if (!(o->cart_rate == -1 || (o->cart_rate >= 0 && o->cart_rate <= 1)) ||
	    !(o->checkout_rate == -1 || (o->checkout_rate >= 0 && o->checkout_rate <= 1))) {
		snprintf(err, errlen, "%s must be -1 (from the personas) or from 0 to 1",
		    o->cart_rate == -1 || (o->cart_rate >= 0 && o->cart_rate <= 1) ? "checkout_rate"
										   : "cart_rate");
		return -1;
	}
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		memcpy(&v, (const char *)o + r[i].off, sizeof(v));
		if (!(v >= r[i].lo && v <= r[i].hi)) {
			snprintf(err, errlen, "%s must be a number from %g to %g", r[i].key,
			    r[i].lo, r[i].hi);
			return -1;
		}
	}
	return 0;
}

static const struct shopper_opts *
opts_of(const struct shopper_ctx *ctx)
{
	return ctx->opts != NULL ? ctx->opts : &shopper_defaults;
}

int64_t
shopper_cycle_time(const struct shopper_ctx *ctx, uint32_t cycle)
{
	return ctx->sim_start + (int64_t)cycle * ctx->tick * 60;
}

/* The first two draws of a cycle's stream: the one that decides, and the start time. */
static double
raw_start(const struct shopper_ctx *ctx, uint32_t agent, uint32_t cycle, struct rng *r, int64_t *t0)
{
	double u;

	rng_seed(r, ctx->seed ^ RNG_STREAM_SHOP, agent, cycle);
	u = rng_double(r);
	*t0 = shopper_cycle_time(ctx, cycle) + rng_below(r, ctx->tick * 60);
	return u;
}

static int
raw_visit(const struct shopper_ctx *ctx, const struct persona *p, uint32_t agent, uint32_t cycle,
    struct rng *r, int64_t *t0)
{
	double u = raw_start(ctx, agent, cycle, r, t0);

	return ctx->all_shop ||
	    u <
	    calendar_shop_probability(ctx->cal, p, shopper_cycle_time(ctx, cycle), (int)ctx->tick);
}

/*
 * An agent's visits never overlap in simulated time: a visit whose start falls
 * within session_max_s of a visit an earlier cycle drew is not made.  Those
 * earlier draws are recomputed (they are pure), so this needs no state; it
 * costs a fraction of a percent of visits at the default tick.
 */
int
shopper_decide(const struct shopper_ctx *ctx, const struct persona *p, uint32_t agent,
    uint32_t cycle, struct rng *rng)
{
	int64_t t0, prev, tick_s = (int64_t)ctx->tick * 60;
	int64_t span = (int64_t)opts_of(ctx)->session_max_s;
	uint32_t k, back = (uint32_t)((span + tick_s - 1) / tick_s);
	struct rng tmp;

	if (!raw_visit(ctx, p, agent, cycle, rng, &t0))
		return 0;
	if (ctx->all_shop)
		return 1;
	for (k = 1; k <= back && k <= cycle; k++)
		if (raw_visit(ctx, p, agent, cycle - k, &tmp, &prev) && prev + span >= t0)
			return 0;
	return 1;
}

int64_t
shopper_start_time(const struct shopper_ctx *ctx, uint32_t agent, uint32_t cycle)
{
	struct rng scratch;
	int64_t t0;

	(void)raw_start(ctx, agent, cycle, &scratch, &t0);
	return t0;
}

/* The agent's favourite stores: where products of its favourite categories are sold. */
static uint16_t
favourite_store(const struct shopper_session *s, unsigned rank)
{
	const struct catalog *cat = s->ctx->cat;
	struct rng r;
	uint32_t idx = 0;

	float w[CATALOG_CATEGORIES], any[CATALOG_CATEGORIES];
	double sum = 0.0;

	/* a catalogue read from a shop may lack a category: only stocked ones are picked */
	for (unsigned k = 0; k < CATALOG_CATEGORIES; k++) {
		w[k] = cat->ncategory[k] > 0 ? s->p->category_weight[k] : 0.0f;
		any[k] = cat->ncategory[k] > 0 ? 1.0f : 0.0f;
		sum += w[k];
	}
	rng_seed(&r, s->ctx->seed ^ RNG_STREAM_STORES, s->agent, 0);
	for (unsigned i = 0; i <= rank; i++) {
		unsigned k = rng_weighted(&r, sum > 0.0 ? w : any, CATALOG_CATEGORIES);
		idx = cat->by_category[k][rng_below(&r, cat->ncategory[k])];
	}
	return cat->products[idx].store_id;
}

/* Another store for a second look: the next favourite that differs, else any. */
static uint16_t
other_store(struct shopper_session *s)
{
	const struct catalog *cat = s->ctx->cat;
	uint16_t st;

	for (unsigned i = 0; i < FAVOURITES; i++)
		if ((st = favourite_store(s, i)) != s->store)
			return st;
	for (unsigned i = 0; i < 8; i++) {
		st = cat->products[rng_below(&s->rng, cat->nproducts)].store_id;
		if (st != s->store)
			return st;
	}
	return s->store;
}

/* Seconds of a lognormal pause; never past the session's last half of what is left. */
static int64_t
pause_for(struct shopper_session *s, double median, double sigma)
{
	const struct shopper_opts *o = s->opts;
	double g = rng_lognormal(&s->rng, log(median), sigma);
	double room = (double)(s->t0 + (int64_t)o->session_max_s - s->now) / 2.0;

	if (g > o->think_max_s)
		g = o->think_max_s;
	if (g < 1.0)
		g = 1.0;
	if (g > room)
		g = room;
	s->now += (int64_t)g;
	return s->now;
}

static int64_t
think(struct shopper_session *s, double scale)
{
	return pause_for(s, scale * s->p->think_s, s->opts->think_sigma);
}

static void
plan_visit(struct shopper_session *s)
{
	const struct persona *p = s->p;
	double u, cart_p = p->cart_propensity;

	s->carried = s->st.ncart > 0;
	s->carried_lines = s->st.ncart;
	if (s->carried) {
		if (rng_double(&s->rng) < p->cart_recovery) {
			const struct product *pr =
			    catalog_product(s->ctx->cat, s->st.cart[0].product_id);
			s->visit = VISIT_RECOVER;
			s->store = pr != NULL ? pr->store_id : 1;
			return;
		}
		s->discarded = 1; /* the cart expired: this visit starts afresh */
		s->st.ncart = 0;
	}
	u = rng_double(&s->rng);
	if (s->opts->cart_rate >= 0) {
		/* a fixed share fills a cart; the rest bounce or browse in the usual mix */
		s->visit = u < s->opts->cart_rate ? VISIT_CART
		    : (u - s->opts->cart_rate) / (1.0 - s->opts->cart_rate) < s->opts->bounce_rate
		    ? VISIT_BOUNCE
		    : VISIT_BROWSE;
	} else {
		if (cart_p > 1.0 - s->opts->bounce_rate)
			cart_p = 1.0 - s->opts->bounce_rate;
		s->visit = u < s->opts->bounce_rate     ? VISIT_BOUNCE
		    : u < s->opts->bounce_rate + cart_p ? VISIT_CART
							: VISIT_BROWSE;
	}
	if (s->visit == VISIT_CART) {
		s->want = (uint16_t)(1 + rng_poisson(&s->rng, p->basket_mean - 1.0));
		if (s->want > STORE_MAX_ITEMS)
			s->want = STORE_MAX_ITEMS;
	}
	if (s->visit != VISIT_BOUNCE) {
		s->second = rng_double(&s->rng) < s->opts->second_browse;
		s->cross = s->second && rng_double(&s->rng) < s->opts->cross_store;
	}
	s->store = favourite_store(s, rng_weighted(&s->rng, favourite_share, FAVOURITES));
}

void
shopper_session_init(struct shopper_session *s, const struct shopper_ctx *ctx,
    const struct persona *p, uint32_t agent, uint32_t cycle, const struct agent_state *st,
    const struct rng *rng)
{
	memset(s, 0, sizeof(*s));
	s->ctx = ctx;
	s->opts = opts_of(ctx);
	s->p = p;
	s->agent = agent;
	s->cycle = cycle;
	s->rng = *rng;
	s->st = *st;
	s->step = STEP_BEGIN;
	s->t0 = shopper_start_time(ctx, agent, cycle);
	s->now = s->op_time = s->t0;
	plan_visit(s);
}

int64_t
shopper_session_length(const struct shopper_session *s)
{
	return s->now - s->t0;
}

static void
op_reset(struct shopper_session *s, struct store_op *op, enum store_op_type type, int64_t t)
{
	memset(op, 0, offsetof(struct store_op, cb));
	op->type = type;
	op->seed = s->ctx->seed;
	op->agent = s->agent;
	op->cycle = s->cycle;
	op->sim_time = t;
	s->op_time = t;
	store_agent_id(op->agent_id, sizeof(op->agent_id), s->agent);
}

static void
add_event(struct store_op *op, int step, enum store_event_type type, uint32_t product,
    uint32_t value, int64_t t)
{
	struct store_event *ev;

	if (op->nevents >= STORE_MAX_EVENTS)
		return;
	ev = &op->events[op->nevents];
	ev->type = (uint8_t)type;
	ev->step = (uint8_t)step;
	ev->index = op->nevents;
	ev->product_id = product;
	ev->value = value;
	ev->dt = (int32_t)(t - op->sim_time);
	op->nevents++;
}

static uint32_t
lines_cents(const struct shopper_session *s, uint16_t store_id)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < s->st.ncart; i++) {
		const struct product *pr = catalog_product(s->ctx->cat, s->st.cart[i].product_id);
		if (pr != NULL && (store_id == 0 || pr->store_id == store_id))
			sum += (uint64_t)pr->price_cents * s->st.cart[i].quantity;
	}
	return sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
}

static uint32_t
cart_cents(const struct shopper_session *s)
{
	return lines_cents(s, 0);
}

/* A category the store stocks, by the persona's taste (any it stocks when taste says none). */
static unsigned
pick_category(struct shopper_session *s, uint16_t store)
{
	float w[CATALOG_CATEGORIES], any[CATALOG_CATEGORIES];
	double sum = 0.0;
	uint32_t n;

	for (unsigned k = 0; k < CATALOG_CATEGORIES; k++) {
		int stocked = catalog_shelf(s->ctx->cat, store, k, &n) != NULL;
		w[k] = stocked ? s->p->category_weight[k] : 0.0f;
		any[k] = stocked ? 1.0f : 0.0f;
		sum += w[k];
	}
	return rng_weighted(&s->rng, sum > 0.0 ? w : any, CATALOG_CATEGORIES);
}

static void
step_browse(struct shopper_session *s, struct store_op *op, int step, uint16_t store, unsigned want)
{
	const struct catalog *cat = s->ctx->cat;
	unsigned c = pick_category(s, store);
	double bias = 1.0 + 3.0 * s->p->price_sensitivity;
	uint32_t n, views;
	const uint32_t *shelf = catalog_shelf(cat, store, c, &n);
	int64_t t = think(s, 1.0);

	views = s->visit == VISIT_BOUNCE ? 1 : 2 + rng_poisson(&s->rng, VIEWS_EXTRA_MEAN);
	if (views < want + 1)
		views = want + 1; /* who means to buy four things looks at five */
	if (views > VIEWS_MAX)
		views = VIEWS_MAX;
	op_reset(s, op, STORE_OP_BROWSE, t);
	op->category = (uint8_t)c;
	s->nviewed = 0;
	for (uint32_t i = 0; i < views && n > 0; i++) {
		/* the shelf is cheapest first: the price sensitive look at its start */
		uint32_t k = (uint32_t)(n * pow(rng_double(&s->rng), bias));
		const struct product *pr = &cat->products[shelf[k < n ? k : n - 1]];

		if (i > 0)
			t = think(s, 1.0);
		add_event(op, step, EV_VIEW, pr->id, pr->price_cents, t);
		s->viewed[s->nviewed++] = pr->id;
		if (s->views++ == 0)
			s->first_view = t;
		s->last_view = t;
	}
}

static int
cart_find(const struct agent_state *st, uint32_t product)
{
	for (int i = 0; i < st->ncart; i++)
		if (st->cart[i].product_id == product)
			return i;
	return -1;
}

static uint16_t
draw_quantity(struct shopper_session *s)
{
	double u = rng_double(&s->rng);
	double more = s->p->household == HH_FAMILY ? 0.1 : 0.0;

	return u < 0.82 - more ? 1 : u < 0.96 - more / 2 ? 2 : 3;
}

/*
 * Adds up to target of the products just viewed, each once; past the first,
 * only what keeps the cart within 125 % of the trip's budget.  Returns how
 * many lines were added.
 */
static unsigned
fill_cart(struct shopper_session *s, struct store_op *op, int step, unsigned target)
{
	uint64_t limit = (uint64_t)s->p->budget_cents * 5 / 4;
	unsigned added = 0;
	int64_t t = think(s, 0.5);

	op_reset(s, op, STORE_OP_CART, t);
	for (unsigned i = 0; i < s->nviewed && added < target; i++) {
		const struct product *pr = catalog_product(s->ctx->cat, s->viewed[i]);
		uint16_t q = draw_quantity(s);
		int at;

		if (pr == NULL || cart_find(&s->st, pr->id) >= 0 || s->st.ncart >= STORE_MAX_ITEMS)
			continue;
		if (s->added > 0 && cart_cents(s) + (uint64_t)pr->price_cents * q > limit)
			continue;
		if (s->st.ncart == 0)
			s->cart_new = 1;
		at = s->st.ncart++;
		s->st.cart[at].product_id = pr->id;
		s->st.cart[at].quantity = q;
		if (added > 0)
			t = think(s, 0.5);
		add_event(op, step, EV_CART_ADD, pr->id, q, t);
		added++;
		s->added++;
	}
	return added;
}

static void
cart_to_items(const struct shopper_session *s, struct store_op *op)
{
	op->nitems = 0;
	for (unsigned i = 0; i < s->st.ncart; i++) {
		const struct product *pr = catalog_product(s->ctx->cat, s->st.cart[i].product_id);
		struct store_item *it = &op->items[op->nitems];

		if (pr == NULL)
			continue;
		it->product_id = pr->id;
		it->store_id = pr->store_id;
		it->quantity = s->st.cart[i].quantity;
		it->price_cents = pr->price_cents;
		op->nitems++;
	}
}

/*
 * What the coupon takes off the cart at t, 0 when it does not apply.  A
 * store's coupon counts only that store's lines, for its minimum spend and its
 * discount; a coupon for any store counts the whole cart.
 */
static uint32_t
coupon_discount(const struct shopper_session *s, const struct coupon *c, int64_t t)
{
	uint32_t base;

	if (c == NULL || t < c->valid_from || t > c->valid_to)
		return 0;
	base = lines_cents(s, c->store_id);
	if (base == 0 || base < c->min_spend_cents)
		return 0;
	return (uint32_t)((uint64_t)base * c->pct_off / 100);
}

static void
step_coupons(struct shopper_session *s, struct store_op *op)
{
	uint32_t wallet[CATALOG_WALLET], best_off = 0, off;
	const struct coupon *best = NULL;
	unsigned best_i = 0;
	int64_t t = think(s, 1.0);

	op_reset(s, op, STORE_OP_COUPONS, t);
	catalog_wallet(s->ctx->cat, s->agent, wallet);
	for (unsigned i = 0; i < CATALOG_WALLET; i++) {
		const struct coupon *c = catalog_coupon(s->ctx->cat, wallet[i]);

		if ((s->st.redeemed & (1u << i)) || (off = coupon_discount(s, c, t)) == 0)
			continue;
		s->wallet_eligible++;
		if (best == NULL || off > best_off)
			best = c, best_i = i, best_off = off;
	}
	add_event(op, STEP_COUPONS, EV_COUPONS_VIEWED, 0, s->wallet_eligible, t);
	if (best != NULL && rng_double(&s->rng) < 0.5 + 0.5 * s->p->coupon_affinity) {
		s->coupon_id = best->id;
		s->pct_off = best->pct_off;
		s->st.redeemed |= (uint8_t)(1u << best_i);
	}
}

/* An unused coupon goes back into the wallet. */
static void
coupon_unuse(struct shopper_session *s)
{
	uint32_t wallet[CATALOG_WALLET];

	catalog_wallet(s->ctx->cat, s->agent, wallet);
	for (unsigned i = 0; i < CATALOG_WALLET; i++)
		if (wallet[i] == s->coupon_id)
			s->st.redeemed &= (uint8_t) ~(1u << i);
	s->coupon_id = 0;
	s->pct_off = 0;
}

/*
 * Whether a cart visit buys now.  abandon_tendency is per cart (Baymard) and
 * cart_recovery the share of left carts bought on the next visit, so the
 * chance to buy in the visit that filled the cart is what leaves
 * abandon_tendency unbought in the end: d + (1 - d) R = 1 - A.
 */
static int
decide_checkout(struct shopper_session *s)
{
	double a = s->p->abandon_tendency, r = s->p->cart_recovery, d;

	if (s->visit == VISIT_RECOVER)
		return 1;
	if (s->opts->checkout_rate >= 0)
		return rng_double(&s->rng) < s->opts->checkout_rate;
	d = r < 1.0 ? (1.0 - a - r) / (1.0 - r) : 0.0;
	if (s->cart_cents > s->p->budget_cents)
		d *= 0.6;
	if (s->coupon_id != 0)
		d *= 1.5;
	d = d < 0.02 ? 0.02 : d > 0.98 ? 0.98 : d;
	return rng_double(&s->rng) < d;
}

static void
step_leave(struct shopper_session *s, struct store_op *op)
{
	op_reset(s, op, STORE_OP_ABANDON, s->now);
	op->outcome = s->st.ncart ? "abandoned" : "browsed";
	s->outcome = s->st.ncart ? OUTCOME_ABANDONED : OUTCOME_BROWSED;
	if (s->coupon_id != 0)
		coupon_unuse(s);
	/* A session that never filled a cart abandoned nothing: its row says "browsed". */
	if (s->st.ncart != 0)
		add_event(op, STEP_FINAL, EV_ABANDON, 0, s->cart_cents, s->now);
}

static void
step_final(struct shopper_session *s, struct store_op *op)
{
	int64_t t;

	s->cart_cents = cart_cents(s);
	if (s->st.ncart == 0 || !decide_checkout(s)) {
		step_leave(s, op);
		return;
	}
	if (s->visit == VISIT_RECOVER && s->coupon_id == 0)
		(void)think(s, 1.0); /* the cart page, before the checkout */
	t = pause_for(s, s->opts->checkout_s, CHECKOUT_SIGMA);
	if (s->coupon_id != 0 &&
	    (s->discount_cents =
		    coupon_discount(s, catalog_coupon(s->ctx->cat, s->coupon_id), t)) == 0)
		coupon_unuse(s); /* it ran out while the form was filled in */
	op_reset(s, op, STORE_OP_CHECKOUT, t);
	cart_to_items(s, op);
	op->coupon_id = s->coupon_id;
	s->total_cents = s->cart_cents - s->discount_cents;
	op->total_cents = s->total_cents;
	if (s->coupon_id)
		add_event(op, STEP_FINAL, EV_COUPON_APPLIED, s->coupon_id, s->pct_off, t);
	add_event(op, STEP_FINAL, EV_CHECKOUT, 0, s->total_cents, t);
	s->outcome = OUTCOME_ORDERED;
	s->st.ncart = 0;
}

void
shopper_fail(struct shopper_session *s, struct store_op *op, const char *reason)
{
	op_reset(s, op, STORE_OP_FAIL, s->op_time);
	op->started = s->t0;
	snprintf(op->reason, sizeof(op->reason), "%s", reason);
	s->step = STEP_DONE;
}

/* Lines the cart step after browse step 1 (or 2) means to add. */
static unsigned
cart_target(const struct shopper_session *s, int second)
{
	unsigned first = s->second ? (s->want + 1u) / 2u : s->want;

	return second ? (unsigned)s->want - s->added : first;
}

static int
step_cart(struct shopper_session *s, struct store_op *op, int step)
{
	unsigned target = cart_target(s, step == STEP_CART2);

	if (s->visit != VISIT_CART || target == 0 || fill_cart(s, op, step, target) == 0)
		return 0;
	cart_to_items(s, op);
	return 1;
}

int
shopper_next(struct shopper_session *s, struct store_op *op)
{
	for (;;) {
		switch (s->step++) {
		case STEP_BEGIN:
			op_reset(s, op, STORE_OP_BEGIN, s->t0);
			add_event(op, STEP_BEGIN, EV_SESSION_START, 0, s->carried_lines, s->t0);
			return 1;
		case STEP_EXPIRE:
			if (!s->discarded)
				continue;
			op_reset(s, op, STORE_OP_CART, s->now); /* the cart, emptied */
			return 1;
		case STEP_BROWSE1:
			if (s->visit == VISIT_RECOVER)
				continue;
			step_browse(s, op, STEP_BROWSE1, s->store,
			    s->visit == VISIT_CART ? cart_target(s, 0) : 0);
			return 1;
		case STEP_CART1:
		case STEP_CART2:
			if (!step_cart(s, op, s->step - 1))
				continue;
			return 1;
		case STEP_BROWSE2:
			if (!s->second)
				continue;
			step_browse(s, op, STEP_BROWSE2, s->cross ? other_store(s) : s->store,
			    s->visit == VISIT_CART ? cart_target(s, 1) : 0);
			return 1;
		case STEP_COUPONS:
			s->cart_cents = cart_cents(s);
			if (s->st.ncart == 0 || rng_double(&s->rng) >= s->p->coupon_affinity)
				continue;
			step_coupons(s, op);
			return 1;
		case STEP_FINAL: step_final(s, op); return 1;
		default: s->step = STEP_DONE; return 0;
		}
	}
}
