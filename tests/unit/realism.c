/*
 * realism.c - tests for the realism tally: a fixed-seed simulated week lands
 * every figure inside its band; the counting rules on hand-made sessions; the
 * JSON form.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "simweek.h"

#include "check.h"

#define WEEK_CYCLES 168
#define WEEK_AGENTS 8000
#define WEEK_SEED 7

static char *
report_text(const struct realism *t)
{
	struct realism_report rep;
	json_t *j;
	char *s;

	realism_report(t, &rep);
	j = realism_report_json(&rep);
	s = j != NULL ? json_dumps(j, JSON_SORT_KEYS | JSON_DUMP_REALS) : NULL;
	json_decref(j);
	return s;
}

/* The table of issue 17, from a week of WEEK_AGENTS agents: every banded figure in its band. */
static void
test_week(void)
{
	struct simweek w;
	struct realism_report rep;
	char line[160], *a, *b;
	int f, banded = 0, in = 0;

	CHECK(simweek_open(&w, WEEK_SEED, WEEK_AGENTS, WEEK_CYCLES) == 0);
	simweek_run(&w);
	CHECK(w.invalid == 0);
	realism_report(w.tally, &rep);
	CHECK(rep.sessions == w.sessions && rep.sessions > WEEK_AGENTS);
	printf("simulated week: %u agents, seed %d: %llu sessions, %llu orders\n", WEEK_AGENTS,
	    WEEK_SEED, (unsigned long long)rep.sessions, (unsigned long long)rep.orders);
	for (f = 0; f < REALISM_FIGURES; f++) {
		realism_figure_line(&rep.fig[f], line, sizeof(line));
		printf("  %s\n", line);
		if (rep.fig[f].status == REALISM_OUT)
			fprintf(stderr, "outside its band: %s\n", line);
		if (rep.fig[f].status != REALISM_INFO) {
			banded++;
			in += rep.fig[f].status == REALISM_IN;
		}
		CHECK(rep.fig[f].status != REALISM_NO_DATA);
	}
	CHECK(banded > 20 && in == banded);
	CHECK(rep.nout == 0);
	/* the same run gives the same report, byte for byte */
	a = report_text(w.tally);
	simweek_close(&w);
	CHECK(simweek_open(&w, WEEK_SEED, WEEK_AGENTS, WEEK_CYCLES) == 0);
	w.reverse = 1;
	simweek_run(&w);
	b = report_text(w.tally);
	CHECK(a != NULL && b != NULL && strcmp(a, b) == 0);
	free(a);
	free(b);
	simweek_close(&w);
}

/* ---- counting rules, on hand-made sessions ---- */

static struct realism_session
session_at(uint32_t agent, int64_t t, uint8_t outcome)
{
	struct realism_session r;

	memset(&r, 0, sizeof(r));
	r.agent = agent;
	r.start = t;
	r.cycle_s = 3600;
	r.offset_s = (uint32_t)(t % 3600);
	r.length_s = 60;
	r.outcome = outcome;
	r.views = 3;
	r.view_gap_s = 20;
	if (outcome == OUTCOME_ORDERED) {
		r.units = 3;
		r.nstores = 1;
	}
	return r;
}

static void
test_carts(void)
{
	struct realism *t = realism_new(10, SIMWEEK_T0);
	struct realism_report rep;
	struct realism_session r;
	int i;

	CHECK(t != NULL);
	if (t == NULL)
		return;
	/* 100 sessions: 10 new carts, 2 bought at once, 8 left; of those 8, 1 recovered, 3 expired */
	for (i = 0; i < 100; i++) {
		r = session_at((uint32_t)(i % 10), SIMWEEK_T0 + i * 3600, OUTCOME_BROWSED);
		if (i < 10) {
			r.cart_added = r.cart_new = 1;
			r.outcome = i < 2 ? OUTCOME_ORDERED : OUTCOME_ABANDONED;
			r.units = 2;
			r.nstores = 1;
		} else if (i < 11) {
			r.cart_carried = 1;
			r.outcome = OUTCOME_ORDERED;
			r.units = 4;
			r.nstores = 2;
		} else if (i < 14) {
			r.cart_carried = r.cart_expired = 1;
		}
		realism_add(t, &r);
	}
	realism_report(t, &rep);
	CHECK(rep.sessions == 100 && rep.orders == 3);
	CHECK(fabs(rep.fig[RF_CONVERSION].value - 3.0) < 1e-9);
	CHECK(rep.fig[RF_CONVERSION].status == REALISM_IN);
	CHECK(fabs(rep.fig[RF_ADD_TO_CART].value - 10.0) < 1e-9);
	CHECK(fabs(rep.fig[RF_CART_RECOVERY].value - 25.0) < 1e-9);
	CHECK(rep.fig[RF_CART_RECOVERY].status == REALISM_OUT);
	/* per cart: bought at once 2/10, else recovered 1/4: unbought (1 - 0.2)(1 - 0.25) = 60 % */
	CHECK(fabs(rep.fig[RF_CART_ABANDON].value - 60.0) < 1e-9);
	CHECK(fabs(rep.fig[RF_CART_ABANDON_SESSION].value - 800.0 / 11.0) < 1e-9);
	CHECK(fabs(rep.fig[RF_ONE_STORE].value - 200.0 / 3.0) < 1e-9);
	CHECK(rep.fig[RF_ONE_STORE].status == REALISM_OUT);
	CHECK(fabs(rep.fig[RF_UNITS_MEAN].value - 8.0 / 3.0) < 1e-9);
	CHECK(rep.nout > 0);
	realism_reset(t);
	realism_report(t, &rep);
	CHECK(rep.sessions == 0 && rep.fig[RF_CONVERSION].status == REALISM_NO_DATA);
	CHECK(rep.fig[RF_BUSIEST_DAY].status == REALISM_NO_DATA && rep.nout == 0);
	realism_free(t);
}

static void
test_repeat(void)
{
	struct realism *t = realism_new(3, SIMWEEK_T0);
	struct realism_report rep;
	struct realism_session r;
	int64_t day = 86400;

	CHECK(t != NULL);
	if (t == NULL)
		return;
	/* agent 0: twice in week 0, once in week 1; agent 1: once; agent 2: twice in week 1 */
	r = session_at(0, SIMWEEK_T0 + 1 * day, OUTCOME_ORDERED);
	realism_add(t, &r);
	r = session_at(0, SIMWEEK_T0 + 3 * day, OUTCOME_ORDERED);
	realism_add(t, &r);
	r = session_at(0, SIMWEEK_T0 + 8 * day, OUTCOME_ORDERED);
	realism_add(t, &r);
	r = session_at(1, SIMWEEK_T0 + 2 * day, OUTCOME_ORDERED);
	realism_add(t, &r);
	r = session_at(2, SIMWEEK_T0 + 9 * day, OUTCOME_ORDERED);
	realism_add(t, &r);
	r = session_at(2, SIMWEEK_T0 + 10 * day, OUTCOME_ORDERED);
	realism_add(t, &r);
	/* an agent outside the population counts as an order, not as a buyer */
	r = session_at(99, SIMWEEK_T0 + 10 * day, OUTCOME_ORDERED);
	realism_add(t, &r);
	realism_report(t, &rep);
	CHECK(rep.orders == 7);
	/* agent-weeks with orders: (0, w0), (0, w1), (1, w0), (2, w1); twice or more: 2 */
	CHECK(rep.fig[RF_REPEAT_WEEK].n == 4);
	CHECK(fabs(rep.fig[RF_REPEAT_WEEK].value - 50.0) < 1e-9);
	CHECK(rep.fig[RF_REPEAT_WEEK].status == REALISM_OUT);
	/* gaps of 2, 5 and 1 days: the median is 2 (within the histogram's precision) */
	CHECK(rep.fig[RF_INTER_PURCHASE].n == 3);
	CHECK(fabs(rep.fig[RF_INTER_PURCHASE].value - 2.0) < 0.2);
	CHECK(rep.fig[RF_INTER_PURCHASE].status == REALISM_INFO);
	realism_free(t);
}

static void
test_days_and_hours(void)
{
	struct realism *t = realism_new(1, SIMWEEK_T0);
	struct realism_report rep;
	struct realism_session r;
	int d, h, n;

	CHECK(t != NULL);
	if (t == NULL)
		return;
	/* Saturday quietest, Monday busiest; 20 h the peak; weekend mornings empty */
	for (d = 0; d < 7; d++) {
		for (h = 0; h < 24; h++) {
			n = (d == 0 ? 3 : d == 5 ? 1 : 2) * (h == 20 ? 5 : h < 5 ? 0 : 1);
			if (d >= 5 && h >= 6 && h < 9)
				n = 0;
			while (n-- > 0) {
				r = session_at(
				    0, SIMWEEK_T0 + d * 86400 + h * 3600 + 30, OUTCOME_BROWSED);
				realism_add(t, &r);
			}
		}
	}
	realism_report(t, &rep);
	CHECK(strcmp(rep.fig[RF_BUSIEST_DAY].text, "mon") == 0);
	CHECK(rep.fig[RF_BUSIEST_DAY].status == REALISM_IN);
	CHECK(strcmp(rep.fig[RF_QUIETEST_DAY].text, "sat") == 0);
	CHECK(rep.fig[RF_QUIETEST_DAY].status == REALISM_IN);
	CHECK(rep.fig[RF_PEAK_HOUR].value == 20 && rep.fig[RF_PEAK_HOUR].status == REALISM_IN);
	CHECK(rep.fig[RF_TROUGH_HOUR].value == 0 && rep.fig[RF_TROUGH_HOUR].status == REALISM_OUT);
	CHECK(rep.fig[RF_WEEKEND_MORNING].value == 0.0);
	CHECK(rep.fig[RF_ARRIVALS].value == 100.0); /* every one 30 s into its hour */
	realism_free(t);
}

/* ---- from a session: the order's lines are read again, the coupon rule checked ---- */

static void
test_fill(void)
{
	struct catalog *cat = catalog_new(3, SIMWEEK_T0, 4, 200, 40);
	struct shopper_ctx ctx;
	struct shopper_session s;
	struct store_op op;
	struct realism_session r;
	struct persona p;
	const struct coupon *c = NULL;
	uint32_t i;

	CHECK(cat != NULL);
	if (cat == NULL)
		return;
	for (i = 1; i <= cat->ncoupons && (c == NULL || c->store_id == 0); i++)
		c = catalog_coupon(cat, i);
	CHECK(c != NULL && c->store_id != 0);
	memset(&ctx, 0, sizeof(ctx));
	ctx.cat = cat;
	ctx.tick = 60;
	ctx.sim_start = SIMWEEK_T0;
	persona_generate(&p, 3, 0);
	p.coupon_affinity = 0.9f;
	memset(&s, 0, sizeof(s));
	s.ctx = &ctx;
	s.p = &p;
	s.cycle = 2;
	s.t0 = SIMWEEK_T0 + 2 * 3600 + 360;
	s.now = s.t0 + 200;
	s.outcome = OUTCOME_ORDERED;
	s.views = 5;
	s.first_view = s.t0 + 10;
	s.last_view = s.t0 + 90;
	/* two lines of the coupon's store at 1000, one of another store at 3000 */
	memset(&op, 0, sizeof(op));
	op.type = STORE_OP_CHECKOUT;
	op.nitems = 3;
	op.items[0] = (struct store_item){ 1, c->store_id, 2, 1000 };
	op.items[1] = (struct store_item){ 2, c->store_id, 1, 1000 };
	op.items[2] = (struct store_item){ 3, (uint16_t)(c->store_id % 4 + 1), 1, 3000 };
	op.coupon_id = c->id;
	op.total_cents = 6000 - 3000 * c->pct_off / 100;
	realism_session_fill(&r, &s, &op);
	CHECK(r.length_s == 200 && r.offset_s == 360 && r.cycle_s == 3600);
	CHECK(r.view_gap_s == 20 && r.views == 5);
	CHECK(r.units == 4 && r.nstores == 2 && r.coupon_affine);
	CHECK(r.coupon == REALISM_COUPON_STORE);
	CHECK(r.coupon_ok == (c->min_spend_cents <= 3000));
	/* the discount taken off the whole order breaks the rule */
	op.total_cents = 6000 - 6000 * c->pct_off / 100;
	realism_session_fill(&r, &s, &op);
	CHECK(!r.coupon_ok);
	catalog_free(cat);
}

static void
test_json(void)
{
	struct realism *t = realism_new(5, SIMWEEK_T0);
	struct realism_report rep;
	struct realism_session r;
	json_t *j, *figs, *f;
	size_t i;
	int named = 1, statuses = 1;

	CHECK(t != NULL);
	if (t == NULL)
		return;
	r = session_at(1, SIMWEEK_T0 + 20 * 3600, OUTCOME_ORDERED);
	realism_add(t, &r);
	realism_report(t, &rep);
	j = realism_report_json(&rep);
	CHECK(j != NULL);
	if (j == NULL)
		return;
	CHECK(json_integer_value(json_object_get(j, "sessions")) == 1);
	CHECK(json_integer_value(json_object_get(j, "orders")) == 1);
	CHECK(json_is_integer(json_object_get(j, "outside")));
	CHECK(json_object_size(json_object_get(j, "weekday_share")) == 7);
	CHECK(json_array_size(json_object_get(j, "hour_share")) == 24);
	figs = json_object_get(j, "figures");
	CHECK(json_array_size(figs) == REALISM_FIGURES);
	json_array_foreach (figs, i, f) {
		const char *st = json_string_value(json_object_get(f, "status"));

		named &= json_is_string(json_object_get(f, "name")) &&
		    json_is_string(json_object_get(f, "label")) &&
		    json_is_string(json_object_get(f, "reference")) &&
		    json_object_get(f, "value") != NULL && json_object_get(f, "band") != NULL;
		statuses &= st != NULL &&
		    (strcmp(st, "in") == 0 || strcmp(st, "out") == 0 ||
			strcmp(st, "no data") == 0 || strcmp(st, "info") == 0);
	}
	CHECK(named && statuses);
	f = json_array_get(figs, RF_CONVERSION);
	CHECK(strcmp(json_string_value(json_object_get(f, "name")), "conversion") == 0);
	CHECK(json_real_value(json_object_get(f, "value")) == 100.0);
	CHECK(strcmp(json_string_value(json_object_get(f, "status")), "out") == 0);
	CHECK(json_array_size(json_object_get(f, "band")) == 2);
	CHECK(json_is_null(json_object_get(json_array_get(figs, RF_INTER_PURCHASE), "band")));
	CHECK(json_is_string(json_object_get(json_array_get(figs, RF_BUSIEST_DAY), "value")));
	/* an open band ends in null */
	CHECK(json_is_null(
	    json_array_get(json_object_get(json_array_get(figs, RF_SESSION_TAIL), "band"), 1)));
	json_decref(j);
	realism_free(t);
}

/* Visits and orders against what the personas' sessions_per_week and funnel lead one to expect. */
static void
test_frequency(void)
{
	struct realism *t = realism_new(2, SIMWEEK_T0);
	struct realism_report rep;
	struct realism_session r;
	struct persona p;

	CHECK(t != NULL);
	if (t == NULL)
		return;
	memset(&p, 0, sizeof(p));
	p.sessions_per_week = 10; /* two agents: 20 visits, 20 x 0.5 x 0.6 = 6 orders a week */
	p.cart_propensity = 0.5f;
	p.abandon_tendency = 0.4f;
	realism_expect(t, &p);
	realism_expect(t, &p);
	for (int i = 0; i < 38; i++) {
		r = session_at((uint32_t)(i % 2), SIMWEEK_T0 + i * 3600, OUTCOME_BROWSED);
		r.outcome = i < 12 ? OUTCOME_ORDERED : OUTCOME_BROWSED;
		realism_add(t, &r);
	}
	realism_report(t, &rep); /* no span yet: nothing to compare with */
	CHECK(rep.fig[RF_VISIT_FREQUENCY].status == REALISM_NO_DATA);
	CHECK(rep.fig[RF_ORDER_FREQUENCY].status == REALISM_NO_DATA);
	realism_set_span(t, 2 * 7 * 86400); /* two weeks: 40 visits and 12 orders expected */
	realism_report(t, &rep);
	CHECK(fabs(rep.fig[RF_VISIT_FREQUENCY].value - 38.0 / 40.0) < 1e-6);
	CHECK(rep.fig[RF_VISIT_FREQUENCY].status == REALISM_IN);
	CHECK(fabs(rep.fig[RF_ORDER_FREQUENCY].value - 1.0) < 1e-6);
	realism_set_span(t, 7 * 86400); /* one week: twice what the personas say */
	realism_report(t, &rep);
	CHECK(rep.fig[RF_VISIT_FREQUENCY].status == REALISM_OUT);
	CHECK(rep.fig[RF_ORDER_FREQUENCY].status == REALISM_OUT);
	realism_reset(t); /* the expectation stays; the sessions go */
	realism_report(t, &rep);
	CHECK(rep.fig[RF_VISIT_FREQUENCY].status == REALISM_NO_DATA);
	realism_free(t);
}

int
main(void)
{
	test_week();
	test_carts();
	test_frequency();
	test_repeat();
	test_days_and_hours();
	test_fill();
	test_json();
	return CHECK_DONE();
}
