/* shopper.c - the shopping graph: decide, browse, cart, coupons, checkout or abandon. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sim/shopper.h"

enum {
	STEP_BEGIN, STEP_BROWSE1, STEP_BROWSE2, STEP_CART, STEP_COUPONS, STEP_FINAL, STEP_DONE
};

#define RNG_STREAM_SHOP 0x73686f70ULL  /* "shop": keeps these draws apart from persona's */
#define BROWSE_ONLY_P 0.28             /* sessions that look and add nothing */
#define SECOND_BROWSE_P 0.35

int64_t
shopper_cycle_time(const struct shopper_ctx *ctx, uint32_t cycle)
{
	return ctx->sim_start + (int64_t)cycle * ctx->tick * 60;
}

static void
time_parts(int64_t t, int *hour, int *weekday)
{
	int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;

	*hour = (int)((t - days * 86400) / 3600);
	*weekday = (int)(((days % 7) + 7 + 3) % 7);  /* 1970-01-01 was a Thursday */
}

int
shopper_decide(const struct shopper_ctx *ctx, const struct persona *p, uint32_t agent,
    uint32_t cycle, struct rng *rng)
{
	int hour, wd;
	double u;

	rng_seed(rng, ctx->seed ^ RNG_STREAM_SHOP, agent, cycle);
	u = rng_double(rng);
	if (ctx->all_shop)
		return 1;
	time_parts(shopper_cycle_time(ctx, cycle), &hour, &wd);
	return u < persona_shop_probability(p, hour, wd, (int)ctx->tick);
}

void
shopper_session_init(struct shopper_session *s, const struct shopper_ctx *ctx,
    const struct persona *p, uint32_t agent, uint32_t cycle, const struct agent_state *st,
    const struct rng *rng)
{
	memset(s, 0, sizeof(*s));
	s->ctx = ctx;
	s->p = p;
	s->agent = agent;
	s->cycle = cycle;
	s->rng = *rng;
	s->st = *st;
	s->step = STEP_BEGIN;
	s->t0 = shopper_cycle_time(ctx, cycle) +
	    rng_below(&s->rng, (uint32_t)ctx->tick * 60 > 600 ? (uint32_t)ctx->tick * 60 - 600 : 1);
}

static void
op_reset(struct shopper_session *s, struct store_op *op, enum store_op_type type, int step)
{
	memset(op, 0, offsetof(struct store_op, cb));
	op->type = type;
	op->seed = s->ctx->seed;
	op->agent = s->agent;
	op->cycle = s->cycle;
	op->sim_time = s->t0 + 45 * step;
	store_agent_id(op->agent_id, sizeof(op->agent_id), s->agent);
}

static void
add_event(struct store_op *op, int step, enum store_event_type type, uint32_t product,
    uint32_t value)
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
	op->nevents++;
}

static uint32_t
cart_cents(const struct shopper_session *s)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < s->st.ncart; i++) {
		const struct product *pr = catalog_product(s->ctx->cat, s->st.cart[i].product_id);
		if (pr != NULL)
			sum += (uint64_t)pr->price_cents * s->st.cart[i].quantity;
	}
	return sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
}

static void
step_browse(struct shopper_session *s, struct store_op *op, int step)
{
	const struct catalog *cat = s->ctx->cat;
	unsigned c = rng_weighted(&s->rng, s->p->category_weight, PERSONA_CATEGORIES);
	uint32_t n = cat->ncategory[c], views = 2 + rng_poisson(&s->rng, 3.0);
	double bias = 1.0 + 3.0 * s->p->price_sensitivity;

	op_reset(s, op, STORE_OP_BROWSE, step);
	op->category = (uint8_t)c;
	if (views > 12)
		views = 12;
	for (uint32_t i = 0; i < views && n > 0; i++) {
		uint32_t k = (uint32_t)(n * pow(rng_double(&s->rng), bias));
		const struct product *pr = &cat->products[cat->by_category[c][k < n ? k : n - 1]];
		add_event(op, step, EV_VIEW, pr->id, pr->price_cents);
		if (s->nviewed < STORE_MAX_ITEMS)
			s->viewed[s->nviewed++] = pr->id;
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

	return u < 0.75 - more ? 1 : u < 0.93 - more / 2 ? 2 : 3;
}

/* Adds products among those viewed; returns how many lines were added or raised. */
static unsigned
fill_cart(struct shopper_session *s, struct store_op *op, int step)
{
	double want = 1 + rng_poisson(&s->rng, s->p->basket_mean > 1 ? s->p->basket_mean - 1 : 0);
	uint64_t limit = (uint64_t)s->p->budget_cents * 5 / 4;
	unsigned added = 0;

	if (rng_double(&s->rng) < 0.1)
		want *= 2;  /* the long tail: the occasional big shop */
	for (unsigned i = 0; i < s->nviewed && added < want; i++) {
		const struct product *pr = catalog_product(s->ctx->cat, s->viewed[i]);
		uint16_t q = draw_quantity(s);
		int at;

		if (pr == NULL || cart_cents(s) + (uint64_t)pr->price_cents * q > limit)
			continue;
		at = cart_find(&s->st, pr->id);
		if (at < 0) {
			if (s->st.ncart >= STORE_MAX_ITEMS)
				break;
			at = s->st.ncart++;
			s->st.cart[at].product_id = pr->id;
			s->st.cart[at].quantity = 0;
		}
		s->st.cart[at].quantity = (uint16_t)(s->st.cart[at].quantity + q);
		add_event(op, step, EV_CART_ADD, pr->id, q);
		added++;
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

static int
coupon_fits(const struct shopper_session *s, const struct coupon *c, int64_t t)
{
	if (c == NULL || t < c->valid_from || t > c->valid_to || s->cart_cents < c->min_spend_cents)
		return 0;
	if (c->store_id == 0)
		return 1;
	for (unsigned i = 0; i < s->st.ncart; i++) {
		const struct product *pr = catalog_product(s->ctx->cat, s->st.cart[i].product_id);
		if (pr != NULL && pr->store_id == c->store_id)
			return 1;
	}
	return 0;
}

static void
step_coupons(struct shopper_session *s, struct store_op *op)
{
	uint32_t wallet[CATALOG_WALLET];
	const struct coupon *best = NULL;
	unsigned best_i = 0;

	op_reset(s, op, STORE_OP_COUPONS, STEP_COUPONS);
	catalog_wallet(s->ctx->cat, s->agent, wallet);
	for (unsigned i = 0; i < CATALOG_WALLET; i++) {
		const struct coupon *c = catalog_coupon(s->ctx->cat, wallet[i]);
		if ((s->st.redeemed & (1u << i)) || !coupon_fits(s, c, op->sim_time))
			continue;
		s->wallet_eligible++;
		if (best == NULL || c->pct_off > best->pct_off)
			best = c, best_i = i;
	}
	add_event(op, STEP_COUPONS, EV_COUPONS_VIEWED, 0, s->wallet_eligible);
	if (best != NULL && rng_double(&s->rng) < 0.5 + 0.5 * s->p->coupon_affinity) {
		s->coupon_id = best->id;
		s->pct_off = best->pct_off;
		s->st.redeemed |= (uint8_t)(1u << best_i);
	}
}

static int
decide_abandon(struct shopper_session *s)
{
	double pa = s->p->abandon_tendency - 0.06 + 0.1 * (s->p->price_sensitivity - 0.5);

	if (s->cart_cents > s->p->budget_cents)
		pa += 0.15;
	if (s->coupon_id != 0)
		pa -= 0.3;
	if (pa < 0.05)
		pa = 0.05;
	if (pa > 0.97)
		pa = 0.97;
	return rng_double(&s->rng) < pa;
}

static void
step_final(struct shopper_session *s, struct store_op *op)
{
	if (s->st.ncart == 0 || decide_abandon(s)) {
		op_reset(s, op, STORE_OP_ABANDON, STEP_FINAL);
		op->outcome = s->st.ncart ? "abandoned" : "browsed";
		s->outcome = s->st.ncart ? OUTCOME_ABANDONED : OUTCOME_BROWSED;
		if (s->coupon_id != 0) {
			/* an unused coupon stays in the wallet */
			uint32_t wallet[CATALOG_WALLET];
			catalog_wallet(s->ctx->cat, s->agent, wallet);
			for (unsigned i = 0; i < CATALOG_WALLET; i++)
				if (wallet[i] == s->coupon_id)
					s->st.redeemed &= (uint8_t)~(1u << i);
			s->coupon_id = 0;
		}
		/* A session that never filled a cart abandoned nothing: its row says "browsed". */
		if (s->st.ncart != 0)
			add_event(op, STEP_FINAL, EV_ABANDON, 0, s->cart_cents);
		return;
	}
	op_reset(s, op, STORE_OP_CHECKOUT, STEP_FINAL);
	cart_to_items(s, op);
	op->coupon_id = s->coupon_id;
	s->total_cents = s->cart_cents - (uint32_t)((uint64_t)s->cart_cents * s->pct_off / 100);
	op->total_cents = s->total_cents;
	if (s->coupon_id)
		add_event(op, STEP_FINAL, EV_COUPON_APPLIED, s->coupon_id, s->pct_off);
	add_event(op, STEP_FINAL, EV_CHECKOUT, 0, s->total_cents);
	s->outcome = OUTCOME_ORDERED;
	s->st.ncart = 0;
}

void
shopper_fail(struct shopper_session *s, struct store_op *op, const char *reason)
{
	int step = s->step > 0 ? s->step - 1 : 0;

	op_reset(s, op, STORE_OP_FAIL, step);
	op->started = s->t0;
	snprintf(op->reason, sizeof(op->reason), "%s", reason);
	s->step = STEP_DONE;
}

int
shopper_next(struct shopper_session *s, struct store_op *op)
{
	for (;;) {
		switch (s->step++) {
		case STEP_BEGIN:
			op_reset(s, op, STORE_OP_BEGIN, STEP_BEGIN);
			add_event(op, STEP_BEGIN, EV_SESSION_START, 0, s->st.ncart);
			return 1;
		case STEP_BROWSE1:
			step_browse(s, op, STEP_BROWSE1);
			return 1;
		case STEP_BROWSE2:
			if (rng_double(&s->rng) >= SECOND_BROWSE_P)
				continue;
			step_browse(s, op, STEP_BROWSE2);
			return 1;
		case STEP_CART:
			if (rng_double(&s->rng) < BROWSE_ONLY_P)
				continue;
			op_reset(s, op, STORE_OP_CART, STEP_CART);
			s->added = (uint8_t)fill_cart(s, op, STEP_CART);
			if (s->added == 0)
				continue;
			cart_to_items(s, op);
			return 1;
		case STEP_COUPONS:
			s->cart_cents = cart_cents(s);
			if (s->st.ncart == 0 || rng_double(&s->rng) >= s->p->coupon_affinity)
				continue;
			step_coupons(s, op);
			return 1;
		case STEP_FINAL:
			s->cart_cents = cart_cents(s);
			step_final(s, op);
			return 1;
		default:
			s->step = STEP_DONE;
			return 0;
		}
	}
}
