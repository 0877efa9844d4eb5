/*
 * shopper.c - tests for the shopper: determinism, the shape of a visit, think
 * times, the coupon-store rule, baskets in one store, carried carts.  Every
 * run is in-process (simweek.h): the shopper against a fake store.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/config.h"
#include "sim/engine.h"
#include "sim/params.h"

#include "simweek.h"

#include "check.h"

#define WEEK_CYCLES 168

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* ---- determinism ---- */

static uint64_t
week_digest(uint64_t seed, int reverse, struct shopper_opts *opts)
{
	struct simweek w;
	uint64_t d;

	if (simweek_open(&w, seed, 300, WEEK_CYCLES) != 0)
		return 0;
	w.reverse = reverse;
	if (opts != NULL)
		w.opts = *opts;
	simweek_run(&w);
	d = w.digest;
	CHECK(w.invalid == 0);
	CHECK(w.sessions > 300);
	simweek_close(&w);
	return d;
}

static void
test_determinism(void)
{
	uint64_t a = week_digest(11, 0, NULL);

	CHECK(a != 0);
	CHECK(week_digest(11, 0, NULL) == a);
	CHECK(week_digest(11, 1, NULL) == a); /* the order agents run in does not matter */
	CHECK(week_digest(12, 0, NULL) != a);
}

/* The same session state, started twice, hands out the same operations. */
static void
test_replay(void)
{
	struct simweek w;
	struct shopper_session s1, s2;
	struct store_op o1, o2;
	struct rng rng;
	uint32_t a, c, sessions = 0;
	int same = 1;

	CHECK(simweek_open(&w, 5, 50, 48) == 0);
	for (c = 0; c < w.cycles; c++) {
		for (a = 0; a < w.agents; a++) {
			if (!shopper_decide(&w.ctx, &w.personas[a], a, c, &rng))
				continue;
			shopper_session_init(&s1, &w.ctx, &w.personas[a], a, c, &w.states[a], &rng);
			shopper_session_init(&s2, &w.ctx, &w.personas[a], a, c, &w.states[a], &rng);
			for (;;) {
				int n1 = shopper_next(&s1, &o1), n2 = shopper_next(&s2, &o2);

				same &= n1 == n2;
				if (!n1 || !n2)
					break;
				same &= memcmp(&o1, &o2, offsetof(struct store_op, cb)) == 0;
			}
			same &= memcmp(&s1.st, &s2.st, sizeof(s1.st)) == 0;
			w.states[a] = s1.st;
			sessions++;
		}
	}
	CHECK(sessions > 20);
	CHECK(same);
	simweek_close(&w);
}

/* ---- a visit's shape ---- */

struct shape {
	uint64_t sessions, browsed, abandoned, ordered, bad_events, bad_outcome, bad_time;
	uint64_t overlaps, too_long, begins, recover_browse;
	uint32_t nevents_abandon;
	int64_t *last_end;       /* per agent */
	int64_t prev_time;       /* of the session's previous operation */
	uint32_t abandon_events; /* in the current session */
	int recovering;
};

static void
shape_op(struct simweek *w, const struct shopper_session *s, const struct store_op *op)
{
	struct shape *sh = w->arg;

	if (op->type == STORE_OP_BEGIN) {
		sh->begins++;
		sh->prev_time = op->sim_time;
		sh->abandon_events = 0;
		if (op->sim_time < sh->last_end[s->agent])
			sh->overlaps++;
	}
	/* operations, and the events inside one, never go back in time */
	sh->bad_time += op->sim_time < sh->prev_time;
	for (unsigned i = 0; i < op->nevents; i++) {
		sh->bad_time +=
		    op->events[i].dt < 0 || (i > 0 && op->events[i].dt < op->events[i - 1].dt);
		sh->abandon_events += op->events[i].type == EV_ABANDON;
	}
	sh->prev_time = op->sim_time + (op->nevents ? op->events[op->nevents - 1].dt : 0);
	sh->recover_browse += s->visit == VISIT_RECOVER && op->type == STORE_OP_BROWSE;
}

static void
shape_session(struct simweek *w, const struct shopper_session *s, const struct store_op *last)
{
	struct shape *sh = w->arg;

	sh->sessions++;
	sh->last_end[s->agent] = s->now;
	sh->too_long += shopper_session_length(s) > (int64_t)w->opts.session_max_s;
	switch (s->outcome) {
	case OUTCOME_BROWSED:
		sh->browsed++;
		/* a browse-only visit left no cart and says so: no abandon event */
		sh->bad_events += sh->abandon_events != 0;
		sh->bad_outcome += last->type != STORE_OP_ABANDON ||
		    strcmp(last->outcome, "browsed") != 0 || s->st.ncart != 0;
		break;
	case OUTCOME_ABANDONED:
		sh->abandoned++;
		sh->bad_events += sh->abandon_events != 1;
		sh->bad_outcome += last->type != STORE_OP_ABANDON ||
		    strcmp(last->outcome, "abandoned") != 0 || s->st.ncart == 0;
		break;
	case OUTCOME_ORDERED:
		sh->ordered++;
		sh->bad_events += sh->abandon_events != 0;
		sh->bad_outcome +=
		    last->type != STORE_OP_CHECKOUT || s->st.ncart != 0 || last->nitems == 0;
		break;
	default: sh->bad_outcome++;
	}
}

static void
test_shape(void)
{
	struct simweek w;
	struct shape sh;

	memset(&sh, 0, sizeof(sh));
	CHECK(simweek_open(&w, 21, 2000, WEEK_CYCLES) == 0);
	sh.last_end = calloc(w.agents, sizeof(int64_t));
	CHECK(sh.last_end != NULL);
	if (sh.last_end == NULL)
		return;
	w.on_op = shape_op;
	w.on_session = shape_session;
	w.arg = &sh;
	simweek_run(&w);
	CHECK(w.invalid == 0);
	CHECK(sh.sessions == sh.begins && sh.sessions == w.sessions);
	CHECK(sh.browsed + sh.abandoned + sh.ordered == sh.sessions);
	/* most visits browse and leave; a few fill a cart; fewer still buy */
	CHECK(sh.browsed > sh.sessions * 8 / 10);
	CHECK(sh.abandoned > sh.ordered && sh.ordered > 0);
	CHECK(sh.bad_events == 0);
	CHECK(sh.bad_outcome == 0);
	CHECK(sh.bad_time == 0);
	CHECK(sh.overlaps == 0); /* an agent's visits never overlap */
	CHECK(sh.too_long == 0);
	CHECK(sh.recover_browse == 0); /* a recovered cart goes straight to checkout */
	free(sh.last_end);
	simweek_close(&w);
}

/* ---- think times ---- */

#define GAPS_MAX 200000

struct gaps {
	double ratio[GAPS_MAX]; /* gap between two views / the persona's think_s */
	size_t n;
	double lengths[GAPS_MAX];
	size_t nlen;
};

static void
gaps_op(struct simweek *w, const struct shopper_session *s, const struct store_op *op)
{
	struct gaps *g = w->arg;

	if (op->type != STORE_OP_BROWSE)
		return;
	for (unsigned i = 1; i < op->nevents && g->n < GAPS_MAX; i++)
		g->ratio[g->n++] = (op->events[i].dt - op->events[i - 1].dt) / s->p->think_s;
}

static void
gaps_session(struct simweek *w, const struct shopper_session *s, const struct store_op *last)
{
	struct gaps *g = w->arg;

	if (g->nlen < GAPS_MAX)
		g->lengths[g->nlen++] = (double)shopper_session_length(s);
}

static void
test_think_times(void)
{
	struct gaps *g = calloc(1, sizeof(*g));
	struct simweek w;
	double med, p90, p10;

	CHECK(g != NULL && simweek_open(&w, 31, 2000, WEEK_CYCLES) == 0);
	if (g == NULL)
		return;
	w.on_op = gaps_op;
	w.on_session = gaps_session;
	w.arg = g;
	simweek_run(&w);
	CHECK(g->n > 10000);
	qsort(g->ratio, g->n, sizeof(double), cmp_double);
	med = g->ratio[g->n / 2];
	p90 = g->ratio[g->n * 9 / 10];
	p10 = g->ratio[g->n / 10];
	/* lognormal around the persona's median, sigma 1: p90 / p50 = e^1.28 = 3.6 */
	CHECK(med > 0.8 && med < 1.25);
	CHECK(p90 / med > 2.5 && p90 / med < 5.0);
	CHECK(med / p10 > 2.0);
	CHECK(g->ratio[0] > 0.0); /* no two views in the same second... */
	/* ... and sessions last minutes, with a long tail */
	qsort(g->lengths, g->nlen, sizeof(double), cmp_double);
	CHECK(g->lengths[g->nlen / 2] >= 20 && g->lengths[g->nlen / 2] <= 180);
	CHECK(g->lengths[g->nlen * 9 / 10] >= 3 * g->lengths[g->nlen / 2]);
	CHECK(g->lengths[g->nlen - 1] <= w.opts.session_max_s);
	simweek_close(&w);
	free(g);

	/* think_sigma 0: every gap is the persona's median exactly (within rounding) */
	g = calloc(1, sizeof(*g));
	CHECK(g != NULL && simweek_open(&w, 31, 300, 48) == 0);
	if (g == NULL)
		return;
	w.opts.think_sigma = 0;
	w.on_op = gaps_op;
	w.arg = g;
	simweek_run(&w);
	CHECK(g->n > 100);
	qsort(g->ratio, g->n, sizeof(double), cmp_double);
	CHECK(g->ratio[g->n / 10] > 0.9 && g->ratio[g->n * 9 / 10] <= 1.0);
	simweek_close(&w);
	free(g);
}

/* ---- coupons and stores ---- */

struct orders {
	uint64_t orders, coupons, store_coupons, mixed_store_coupons, wrong_total, one_store;
	uint64_t coupon_affine, coupon_other, orders_affine, orders_other;
};

static unsigned
distinct_stores(const struct store_op *op)
{
	unsigned n = 0, i, j;

	for (i = 0; i < op->nitems; i++) {
		for (j = 0; j < i && op->items[j].store_id != op->items[i].store_id; j++)
			;
		n += j == i;
	}
	return n;
}

static void
orders_session(struct simweek *w, const struct shopper_session *s, const struct store_op *op)
{
	struct orders *o = w->arg;
	const struct coupon *c;
	uint64_t sub = 0, base = 0;
	int affine = s->p->coupon_affinity >= 0.5f;

	if (s->outcome != OUTCOME_ORDERED)
		return;
	o->orders++;
	o->one_store += distinct_stores(op) == 1;
	*(affine ? &o->orders_affine : &o->orders_other) += 1;
	c = catalog_coupon(w->cat, op->coupon_id);
	for (unsigned i = 0; i < op->nitems; i++) {
		uint64_t line = (uint64_t)op->items[i].price_cents * op->items[i].quantity;

		sub += line;
		if (c != NULL && (c->store_id == 0 || c->store_id == op->items[i].store_id))
			base += line;
	}
	if (c == NULL) {
		o->wrong_total += op->total_cents != sub;
		return;
	}
	o->coupons++;
	*(affine ? &o->coupon_affine : &o->coupon_other) += 1;
	o->store_coupons += c->store_id != 0;
	o->mixed_store_coupons += c->store_id != 0 && base < sub;
	/* a store's coupon takes its percentage off that store's lines, and only those */
	o->wrong_total += op->total_cents != sub - base * c->pct_off / 100 || base == 0 ||
	    base < c->min_spend_cents;
}

static void
run_orders(struct orders *o, uint64_t seed, uint32_t agents, const struct shopper_opts *opts)
{
	struct simweek w;

	memset(o, 0, sizeof(*o));
	CHECK(simweek_open(&w, seed, agents, WEEK_CYCLES) == 0);
	if (opts != NULL)
		w.opts = *opts;
	w.on_session = orders_session;
	w.arg = o;
	simweek_run(&w);
	CHECK(w.invalid == 0);
	simweek_close(&w);
}

static void
test_coupon_store_rule(void)
{
	struct shopper_opts opts;
	struct orders o;

	/* every visit fills a cart that spans two stores: many store coupons meet other lines */
	shopper_opts_init(&opts);
	opts.cart_rate = 1;
	opts.checkout_rate = 1;
	opts.second_browse = 1;
	opts.cross_store = 1;
	run_orders(&o, 41, 3000, &opts);
	CHECK(o.orders > 5000);
	CHECK(o.store_coupons > 20);
	CHECK(o.mixed_store_coupons > 5);
	CHECK(o.wrong_total == 0);
	CHECK(o.one_store < o.orders / 2);

	/* defaults: baskets from one store; coupon use concentrated in coupon-affine personas */
	run_orders(&o, 42, 4000, NULL);
	CHECK(o.orders > 200);
	CHECK(o.wrong_total == 0);
	CHECK(o.one_store * 100 >= o.orders * 85);
	CHECK(o.orders_affine > 0 && o.orders_other > 0);
	CHECK((double)o.coupon_affine / o.orders_affine >
	    2.0 * (double)o.coupon_other / o.orders_other);

	/* no second look elsewhere: every basket is one store's */
	shopper_opts_init(&opts);
	opts.cross_store = 0;
	run_orders(&o, 43, 2000, &opts);
	CHECK(o.orders > 50 && o.one_store == o.orders);
}

/* ---- carts carried over ---- */

struct carried {
	uint64_t left, recovered, expired, expire_ops, expire_ok, bad;
	double recovery_sum; /* sum of cart_recovery over carried visits */
};

static void
carried_op(struct simweek *w, const struct shopper_session *s, const struct store_op *op)
{
	struct carried *c = w->arg;

	if (op->type == STORE_OP_CART && op->nitems == 0) {
		c->expire_ops++;
		c->expire_ok += s->discarded && op->nevents == 0;
	}
}

static void
carried_session(struct simweek *w, const struct shopper_session *s, const struct store_op *op)
{
	struct carried *c = w->arg;

	if (s->carried) {
		c->recovery_sum += s->p->cart_recovery;
		c->recovered += s->visit == VISIT_RECOVER;
		c->expired += s->discarded;
		c->bad += (s->visit == VISIT_RECOVER) == (s->discarded != 0);
		c->bad += s->visit == VISIT_RECOVER && s->outcome != OUTCOME_ORDERED;
	}
	c->left += s->outcome == OUTCOME_ABANDONED;
}

static void
test_carried_carts(void)
{
	struct simweek w;
	struct carried c;
	double expect;

	memset(&c, 0, sizeof(c));
	CHECK(simweek_open(&w, 51, 2000, 2 * WEEK_CYCLES) == 0);
	w.opts.cart_rate = 0.3;
	w.opts.checkout_rate = 0; /* every cart is left: the next visit decides */
	w.on_op = carried_op;
	w.on_session = carried_session;
	w.arg = &c;
	simweek_run(&w);
	CHECK(c.left > 1000);
	CHECK(c.bad == 0);
	CHECK(c.expire_ops == c.expired && c.expire_ok == c.expired);
	/* recovered at the personas' own rate (about 10 %) */
	expect = c.recovery_sum / (double)(c.recovered + c.expired);
	CHECK(fabs((double)c.recovered / (double)(c.recovered + c.expired) - expect) < 0.03);
	CHECK(expect > 0.05 && expect < 0.2);
	simweek_close(&w);
}

/* ---- visits over the week ---- */

static void
test_decide(void)
{
	struct simweek w;
	struct rng rng;
	double spw = 0.0;
	uint64_t visits = 0, all = 0;

	CHECK(simweek_open(&w, 61, 3000, WEEK_CYCLES) == 0);
	for (uint32_t a = 0; a < w.agents; a++) {
		spw += w.personas[a].sessions_per_week;
		for (uint32_t c = 0; c < WEEK_CYCLES; c++)
			visits += shopper_decide(&w.ctx, &w.personas[a], a, c, &rng);
	}
	/* sessions_per_week, less the few visits that would overlap an earlier one */
	CHECK(visits < 1.03 * spw && visits > 0.93 * spw);
	w.ctx.all_shop = 1;
	for (uint32_t c = 0; c < 3; c++)
		all += shopper_decide(&w.ctx, &w.personas[7], 7, c, &rng);
	CHECK(all == 3);
	simweek_close(&w);
}

/* ---- options and failure ---- */

static void
test_opts(void)
{
	struct shopper_opts o;
	char err[128];

	shopper_opts_init(&o);
	CHECK(shopper_opts_check(&o, err, sizeof(err)) == 0);
	CHECK(o.bounce_rate == 0.45 && o.think_sigma == 1.0 && o.session_max_s == 2700);
	CHECK(o.cart_rate == -1 && o.checkout_rate == -1);
	o.bounce_rate = 0.99;
	CHECK(shopper_opts_check(&o, err, sizeof(err)) == -1 && strstr(err, "bounce_rate"));
	shopper_opts_init(&o);
	o.session_max_s = NAN;
	CHECK(shopper_opts_check(&o, err, sizeof(err)) == -1 && strstr(err, "session_max_s"));
	shopper_opts_init(&o);
	o.cart_rate = 1.5;
	CHECK(shopper_opts_check(&o, err, sizeof(err)) == -1 && strstr(err, "cart_rate"));
	shopper_opts_init(&o);
	o.checkout_rate = -0.5;
	CHECK(shopper_opts_check(&o, err, sizeof(err)) == -1 && strstr(err, "checkout_rate"));
}

static void
test_fail(void)
{
	struct simweek w;
	struct shopper_session s;
	struct store_op op;
	struct rng rng;
	uint32_t a, c;
	int done = 0;

	CHECK(simweek_open(&w, 71, 200, 48) == 0);
	for (c = 0; c < w.cycles && !done; c++) {
		for (a = 0; a < w.agents && !done; a++) {
			int64_t t;

			if (!shopper_decide(&w.ctx, &w.personas[a], a, c, &rng))
				continue;
			shopper_session_init(&s, &w.ctx, &w.personas[a], a, c, &w.states[a], &rng);
			CHECK(shopper_next(&s, &op) == 1 && op.type == STORE_OP_BEGIN);
			CHECK(shopper_next(&s, &op) == 1);
			t = op.sim_time;
			shopper_fail(&s, &op, "query at browse");
			CHECK(op.type == STORE_OP_FAIL && op.sim_time == t && op.started == s.t0);
			CHECK(strcmp(op.reason, "query at browse") == 0);
			CHECK(store_op_invalid(&op) == NULL);
			CHECK(shopper_next(&s, &op) == 0);
			done = 1;
		}
	}
	CHECK(done);
	simweek_close(&w);
}

/* An event's offset is part of what a store checks. */
static void
test_event_offsets(void)
{
	struct store_op op;

	memset(&op, 0, sizeof(op));
	op.type = STORE_OP_BEGIN;
	op.nevents = 1;
	op.events[0].type = EV_SESSION_START;
	CHECK(store_op_invalid(&op) == NULL);
	op.events[0].dt = STORE_EVENT_DT_MAX;
	CHECK(store_op_invalid(&op) == NULL);
	op.events[0].dt = -1;
	CHECK(store_op_invalid(&op) != NULL);
	op.events[0].dt = STORE_EVENT_DT_MAX + 1;
	CHECK(store_op_invalid(&op) != NULL);
}

/* The config keys' defaults are the shopper's own; a run's checkpoint keeps its keys. */
static void
test_run_keys(void)
{
	struct sim_config *c = config_new();
	struct run_params *p = calloc(1, sizeof(*p)), *q = calloc(1, sizeof(*q));
	struct shopper_opts def, o;
	struct calendar cal, defcal;
	char err[256];
	json_t *j;

	CHECK(c != NULL && p != NULL && q != NULL);
	if (c == NULL || p == NULL || q == NULL)
		goto out;
	params_from_config(p, c);
	shopper_opts_init(&def);
	calendar_init(&defcal);
	CHECK(engine_shopper(p, &o, &cal, err, sizeof(err)) == 0);
	CHECK(memcmp(&o, &def, sizeof(o)) == 0);
	CHECK(memcmp(cal.weekday, defcal.weekday, sizeof(cal.weekday)) == 0 && cal.nwindows == 0);
	/* set, checked, through a checkpoint and back */
	CHECK(config_set(c, "bounce_rate", "0.2", err, sizeof(err)) == 0);
	CHECK(config_set(c, "cart_rate", "-1", err, sizeof(err)) == 0);
	CHECK(config_set(c, "calendar", "promo 2026-01-09/2026-01-11 x1.5", err, sizeof(err)) == 0);
	params_from_config(p, c);
	p->agents = 3;
	CHECK(engine_shopper(p, &o, &cal, err, sizeof(err)) == 0);
	CHECK(o.bounce_rate == 0.2 && cal.nwindows == 1);
	j = params_to_json(p, PARAM_CKPT);
	CHECK(j != NULL && params_from_ckpt(q, j, err, sizeof(err)) == 0);
	CHECK(q->shop.bounce_rate == 0.2 && q->shop.cart_rate == -1 &&
	    strcmp(q->calendar, p->calendar) == 0 && strcmp(q->weekday_mix, p->weekday_mix) == 0);
	/* a checkpoint from before these keys: their defaults */
	json_object_del(j, "calendar");
	json_object_del(j, "bounce_rate");
	CHECK(params_from_ckpt(q, j, err, sizeof(err)) == 0);
	CHECK(q->shop.bounce_rate == 0.45 && q->calendar[0] == '\0');
	/* a damaged one is refused by name */
	json_object_set_new(j, "calendar", json_integer(3));
	CHECK(params_from_ckpt(q, j, err, sizeof(err)) != 0 && strstr(err, "calendar") != NULL);
	params_clear(q);
	json_decref(j);
	/* wrong values are said by key */
	p->shop.cart_rate = -0.5;
	CHECK(engine_shopper(p, &o, &cal, err, sizeof(err)) != 0 && strstr(err, "cart_rate"));
	p->shop.cart_rate = -1;
	snprintf(p->calendar, sizeof(p->calendar), "promo tomorrow x2");
	CHECK(engine_shopper(p, &o, &cal, err, sizeof(err)) != 0 && strstr(err, "calendar"));
	snprintf(p->weekday_mix, sizeof(p->weekday_mix), "0 0 0 0 0 0 0");
	CHECK(engine_shopper(p, &o, &cal, err, sizeof(err)) != 0 && strstr(err, "weekday_mix"));
out:
	config_free(c);
	free(p);
	free(q);
}

int
main(void)
{
	test_determinism();
	test_replay();
	test_shape();
	test_think_times();
	test_coupon_store_rule();
	test_carried_carts();
	test_decide();
	test_opts();
	test_fail();
	test_event_offsets();
	test_run_keys();
	return CHECK_DONE();
}
