/*
 * realism.c - the realism tally and its report.
 *
 * Counters and histograms only, filled once per finished session; the report
 * turns them into issue 17's figures and sets each beside its band.  Carts are
 * counted per cart: a cart is new when a visit adds into an empty cart; it is
 * bought in that visit (direct), or left; a left cart is bought on the
 * agent's next visit (recovered) or emptied there (expired).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/realism.h"

#define WEEK INT64_C(604800)

struct realism {
	uint32_t nagents;
	int64_t sim_start;
	uint64_t sessions, orders, cart_sessions, bounces, abandoned;
	uint64_t carts_new, direct, recovered, expired;
	uint64_t weekday[7], hour[24], morning[2], days[2]; /* [0] weekdays, [1] weekends */
	uint64_t first_tenth;
	uint64_t coupon_orders, coupon_ok, one_store;
	uint64_t orders_by[2], coupons_by[2];         /* [1] coupon-affine personas */
	uint64_t buyer_weeks, multi_weeks;            /* agent-weeks closed so far */
	double expect_visits, expect_orders;          /* per simulated week, from the personas */
	int64_t span_s;                               /* simulated seconds covered */
	struct histogram length, gap, units, between; /* s, s, units, hours */
	int64_t *last_order;                          /* per agent: 0 = none yet */
	int32_t *week;                                /* per agent: week of week_orders */
	uint16_t *week_orders;
};

struct realism_def {
	const char *name, *label, *unit;
	double lo, hi;
	const char *reference;
};

#define OPEN INFINITY

static const struct realism_def realism_defs[REALISM_FIGURES] = {
	[RF_CONVERSION] = { "conversion", "sessions ending in an order", "%", 1.4, 4.0,
	    "1.4-3.2 % (Shopify average 1.4 %, top 20 % > 3.2 %; IRP 1.9 %; Dynamic Yield "
	    "2.95 %)" },
	[RF_ADD_TO_CART] = { "add_to_cart", "sessions adding to the cart", "%", 6, 14,
	    "~10 % add-to-cart rate" },
	[RF_CART_ABANDON] = { "cart_abandonment", "carts never bought (per cart)", "%", 60, 80,
	    "~70 % (Baymard, average of ~50 studies)" },
	[RF_CART_ABANDON_SESSION] = { "cart_abandonment_sessions",
	    "sessions with a cart that end without an order", "%", 55, 85,
	    "~70 % (Baymard; session-based studies)" },
	[RF_CART_RECOVERY] = { "cart_recovery", "left carts bought on the next visit", "%", 5, 20,
	    "10-15 % of abandoned carts recovered (cart-recovery benchmarks)" },
	[RF_BOUNCE] = { "bounce_rate", "sessions with one view", "%", 35, 55,
	    "45.7 % for shopping sites (CXL bounce-rate benchmarks)" },
	[RF_SESSION_MEDIAN] = { "session_median_s", "median session length", "s", 20, 180,
	    "minutes, long-tailed (e-commerce average 2-3 min)" },
	[RF_SESSION_MEAN] = { "session_mean_s", "mean session length", "s", 60, 240,
	    "e-commerce average 2-3 min (B2C ~92 s)" },
	[RF_SESSION_TAIL] = { "session_p90_over_median", "90th percentile / median length", "x", 3,
	    OPEN, "long-tailed" },
	[RF_VIEW_GAP] = { "view_gap_median_s", "median seconds between views", "s", 5, 120,
	    "views seconds to minutes apart" },
	[RF_BUSIEST_DAY] = { "busiest_weekday", "busiest weekday", "day", NAN, NAN,
	    "Monday or Sunday (SaleCycle; Workarea: Mon 15.3 %, Sun 14.8 %)" },
	[RF_QUIETEST_DAY] = { "quietest_weekday", "quietest weekday", "day", NAN, NAN,
	    "Saturday (SaleCycle)" },
	[RF_MONDAY] = { "monday_share", "Monday's share of sessions", "%", 14, 16.6,
	    "15.3 % (Workarea)" },
	[RF_FRIDAY] = { "friday_share", "Friday's share of sessions", "%", 12, 14.6,
	    "13.3 % (Workarea)" },
	[RF_SUNDAY] = { "sunday_share", "Sunday's share of sessions", "%", 13.5, 16.1,
	    "14.8 % (Workarea)" },
	[RF_WEEKEND_MORNING] = { "weekend_morning_ratio",
	    "share of a day's sessions 6-9 h, weekend / weekday", "x", 0, 0.85,
	    "later mornings at weekends" },
	[RF_PEAK_HOUR] = { "peak_hour", "hour with the most sessions", "hour", 19, 22,
	    "20-21 h (SaleCycle)" },
	[RF_TROUGH_HOUR] = { "trough_hour", "hour with the fewest sessions", "hour", 2, 6,
	    "3-5 h (SaleCycle)" },
	[RF_FROM_15H] = { "share_from_15h", "sessions starting 15-24 h", "%", 45, 75,
	    "high from 15 h (SaleCycle)" },
	[RF_VISIT_FREQUENCY] = { "visit_frequency",
	    "sessions / the personas' sessions_per_week over the run", "x", 0.9, 1.1,
	    "each persona visits sessions_per_week times a week on average" },
	[RF_ORDER_FREQUENCY] = { "order_frequency",
	    "orders / the personas' sessions_per_week x cart_propensity x (1 - abandon_tendency)",
	    "x", 0.75, 1.15,
	    "purchase frequency follows each persona's visits and funnel (carts left late in a "
	    "run are not yet recovered)" },
	[RF_REPEAT_WEEK] = { "repeat_buyers_week", "buyers ordering twice or more in a week", "%",
	    0, 12,
	    "far lower than 38 % for general retail (loyal customers buy ~5 times "
	    "a year)" },
	[RF_INTER_PURCHASE] = { "inter_purchase_median_days",
	    "median days between an agent's orders (within the run)", "days", NAN, NAN,
	    "loyal e-commerce customers: every ~73 days; a run shorter than that sees only "
	    "the short gaps" },
	[RF_COUPON_RULE] = { "coupon_rule",
	    "coupon orders discounting exactly the lines the coupon covers", "%", 100, 100,
	    "a store coupon applies to that store's items" },
	[RF_COUPON_ORDERS] = { "coupon_orders", "orders with a coupon", "%", NAN, NAN,
	    "~1.3 % of distributed coupons are redeemed (Inmar 2024)" },
	[RF_COUPON_LIFT] = { "coupon_affine_lift",
	    "coupon use per order, coupon-affine personas / the others", "x", 2, OPEN,
	    "coupon use concentrated in coupon-affine personas (DESIGN.md 3.2a)" },
	[RF_ONE_STORE] = { "single_store_orders", "orders from one store", "%", 80, 100,
	    "a basket usually comes from one store" },
	[RF_UNITS_MEAN] = { "units_mean", "mean units per order", "units", 2, 5,
	    "2-4 general retail; ~10 grocery (Instacart)" },
	[RF_UNITS_MEDIAN] = { "units_median", "median units per order", "units", 1, 4,
	    "2-4 general retail" },
	[RF_UNITS_P90] = { "units_p90", "90th percentile units per order", "units", 3, 12,
	    "a long tail up to a grocery shop (~10, Instacart)" },
	[RF_ARRIVALS] = { "arrivals_first_tenth",
	    "sessions starting in the first tenth of "
	    "their cycle",
	    "%", 5, 15, "arrivals spread over the hour (10 % when even)" },
};

static const char *const realism_day_names[7] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

struct realism *
realism_new(uint32_t nagents, int64_t sim_start)
{
	struct realism *t = calloc(1, sizeof(*t));
	size_t n = nagents > 0 ? nagents : 1;

	if (t == NULL)
		return NULL;
	t->nagents = nagents;
	t->sim_start = sim_start;
	t->last_order = calloc(n, sizeof(*t->last_order));
	t->week = calloc(n, sizeof(*t->week));
	t->week_orders = calloc(n, sizeof(*t->week_orders));
	if (t->last_order == NULL || t->week == NULL || t->week_orders == NULL) {
		realism_free(t);
		errno = ENOMEM;
		return NULL;
	}
	return t;
}

void
realism_free(struct realism *t)
{
	if (t == NULL)
		return;
	free(t->last_order);
	free(t->week);
	free(t->week_orders);
	free(t);
}

void
realism_reset(struct realism *t)
{
	struct realism keep = *t;
	size_t n = t->nagents > 0 ? t->nagents : 1;

	memset(keep.last_order, 0, n * sizeof(*keep.last_order));
	memset(keep.week, 0, n * sizeof(*keep.week));
	memset(keep.week_orders, 0, n * sizeof(*keep.week_orders));
	memset(t, 0, sizeof(*t));
	t->expect_visits = keep.expect_visits;
	t->expect_orders = keep.expect_orders;
	t->nagents = keep.nagents;
	t->sim_start = keep.sim_start;
	t->last_order = keep.last_order;
	t->week = keep.week;
	t->week_orders = keep.week_orders;
}

void
realism_expect(struct realism *t, const struct persona *p)
{
	t->expect_visits += p->sessions_per_week;
	t->expect_orders +=
	    p->sessions_per_week * p->cart_propensity * (1.0 - (double)p->abandon_tendency);
}

void
realism_set_span(struct realism *t, int64_t seconds)
{
	t->span_s = seconds > 0 ? seconds : 0;
}

/* ---- filling ---- */

static void
fill_order(struct realism_session *r, const struct catalog *cat, const struct store_op *op)
{
	uint64_t sub = 0, base = 0;
	const struct coupon *c = catalog_coupon(cat, op->coupon_id);
	unsigned i, j;

	for (i = 0; i < op->nitems; i++) {
		const struct store_item *it = &op->items[i];

		r->units = (uint16_t)(r->units + it->quantity);
		sub += (uint64_t)it->price_cents * it->quantity;
		if (c != NULL && (c->store_id == 0 || c->store_id == it->store_id))
			base += (uint64_t)it->price_cents * it->quantity;
		for (j = 0; j < i && op->items[j].store_id != it->store_id; j++)
			;
		r->nstores += j == i;
	}
	if (op->coupon_id == 0)
		return;
	r->coupon = c != NULL && c->store_id == 0 ? REALISM_COUPON_ANY_STORE : REALISM_COUPON_STORE;
	r->coupon_ok = c != NULL && base > 0 && base >= c->min_spend_cents &&
	    op->total_cents == sub - base * c->pct_off / 100;
}

void
realism_session_fill(
    struct realism_session *r, const struct shopper_session *s, const struct store_op *last)
{
	memset(r, 0, sizeof(*r));
	r->agent = s->agent;
	r->start = s->t0;
	r->offset_s = (uint32_t)(s->t0 - shopper_cycle_time(s->ctx, s->cycle));
	r->cycle_s = s->ctx->tick * 60;
	r->length_s = (uint32_t)shopper_session_length(s);
	r->outcome = s->outcome;
	r->visit = s->visit;
	r->cart_added = s->added > 0;
	r->cart_new = s->cart_new;
	r->cart_carried = s->carried;
	r->cart_expired = s->discarded;
	r->coupon_affine = s->p->coupon_affinity >= REALISM_AFFINE;
	r->views = s->views;
	if (s->views >= 2)
		r->view_gap_s = (uint32_t)((s->last_view - s->first_view) / (s->views - 1));
	if (s->outcome == OUTCOME_ORDERED && last != NULL && last->type == STORE_OP_CHECKOUT)
		fill_order(r, s->ctx->cat, last);
}

/* ---- counting ---- */

static void
add_time(struct realism *t, const struct realism_session *r)
{
	int hour, wd;

	calendar_time_parts(r->start, &hour, &wd, NULL, NULL);
	t->weekday[wd]++;
	t->hour[hour]++;
	t->days[wd >= 5]++;
	t->morning[wd >= 5] += hour >= 6 && hour < 9;
	t->first_tenth += r->cycle_s > 0 && (uint64_t)r->offset_s * 10 < r->cycle_s;
	hist_add(&t->length, r->length_s);
	if (r->views >= 2)
		hist_add(&t->gap, r->view_gap_s);
}

/* An agent-week with orders is closed when the agent orders in a later week. */
static void
add_repeat(struct realism *t, const struct realism_session *r)
{
	uint32_t a = r->agent;
	int32_t w = (int32_t)((r->start - t->sim_start) / WEEK);

	if (a >= t->nagents)
		return;
	if (t->last_order[a] != 0 && r->start >= t->last_order[a])
		hist_add(&t->between, (uint64_t)(r->start - t->last_order[a]) / 3600);
	t->last_order[a] = r->start;
	if (t->week_orders[a] == 0 || t->week[a] != w) {
		t->buyer_weeks += t->week_orders[a] > 0;
		t->multi_weeks += t->week_orders[a] > 1;
		t->week[a] = w;
		t->week_orders[a] = 0;
	}
	if (t->week_orders[a] < UINT16_MAX)
		t->week_orders[a]++;
}

static void
add_order(struct realism *t, const struct realism_session *r)
{
	t->orders++;
	if (r->cart_carried && !r->cart_expired)
		t->recovered++;
	else
		t->direct++;
	hist_add(&t->units, r->units);
	t->one_store += r->nstores == 1;
	t->orders_by[r->coupon_affine != 0]++;
	if (r->coupon != REALISM_COUPON_NONE) {
		t->coupon_orders++;
		t->coupon_ok += r->coupon_ok != 0;
		t->coupons_by[r->coupon_affine != 0]++;
	}
	add_repeat(t, r);
}

void
realism_add(struct realism *t, const struct realism_session *r)
{
	t->sessions++;
	add_time(t, r);
	t->bounces += r->views == 1;
	t->cart_sessions += r->cart_added != 0;
	t->carts_new += r->cart_new != 0;
	t->expired += r->cart_expired != 0;
	if (r->outcome == OUTCOME_ORDERED)
		add_order(t, r);
	else if (r->outcome == OUTCOME_ABANDONED)
		t->abandoned++;
}

/* ---- the report ---- */

static double
pct(uint64_t a, uint64_t b)
{
	return b > 0 ? 100.0 * (double)a / (double)b : NAN;
}

static void
set(struct realism_report *rep, enum realism_fig f, double v, uint64_t n)
{
	rep->fig[f].value = v;
	rep->fig[f].n = n;
}

static void
set_day(struct realism_report *rep, enum realism_fig f, int day, uint64_t n, int ok)
{
	set(rep, f, n > 0 ? day : NAN, n);
	if (n == 0)
		return;
	snprintf(rep->fig[f].text, sizeof(rep->fig[f].text), "%s", realism_day_names[day]);
	rep->fig[f].status = ok ? REALISM_IN : REALISM_OUT;
}

/*
 * Per cart, with recovery measured on the carts whose next visit has come:
 * a new cart is bought directly with d, else recovered with R, so it stays
 * unbought with (1 - d)(1 - R).  Counting carts still waiting for their next
 * visit as lost would overstate abandonment in a short run.
 */
static void
report_carts(const struct realism *t, struct realism_report *rep)
{
	uint64_t direct_new = t->direct;
	double d, r;

	set(rep, RF_CONVERSION, pct(t->orders, t->sessions), t->sessions);
	set(rep, RF_ADD_TO_CART, pct(t->cart_sessions, t->sessions), t->sessions);
	set(rep, RF_BOUNCE, pct(t->bounces, t->sessions), t->sessions);
	set(rep, RF_CART_ABANDON_SESSION, pct(t->abandoned, t->abandoned + t->orders),
	    t->abandoned + t->orders);
	set(rep, RF_CART_RECOVERY, pct(t->recovered, t->recovered + t->expired),
	    t->recovered + t->expired);
	if (direct_new > t->carts_new)
		direct_new = t->carts_new;
	d = t->carts_new > 0 ? (double)direct_new / (double)t->carts_new : NAN;
	r = t->recovered + t->expired > 0
	    ? (double)t->recovered / (double)(t->recovered + t->expired)
	    : 0.0;
	set(rep, RF_CART_ABANDON, 100.0 * (1.0 - d) * (1.0 - r), t->carts_new);
}

static void
report_lengths(const struct realism *t, struct realism_report *rep)
{
	double med = (double)hist_quantile(&t->length, 0.5);

	set(rep, RF_SESSION_MEDIAN, t->length.count ? med : NAN, t->length.count);
	set(rep, RF_SESSION_MEAN,
	    t->length.count ? (double)t->length.sum_us / (double)t->length.count : NAN,
	    t->length.count);
	set(rep, RF_SESSION_TAIL,
	    t->length.count && med > 0 ? (double)hist_quantile(&t->length, 0.9) / med : NAN,
	    t->length.count);
	set(rep, RF_VIEW_GAP, t->gap.count ? (double)hist_quantile(&t->gap, 0.5) : NAN,
	    t->gap.count);
}

static void
report_days(const struct realism *t, struct realism_report *rep)
{
	int d, hi = 0, lo = 0;

	for (d = 0; d < 7; d++) {
		rep->weekday_share[d] = pct(t->weekday[d], t->sessions);
		hi = t->weekday[d] > t->weekday[hi] ? d : hi;
		lo = t->weekday[d] < t->weekday[lo] ? d : lo;
	}
	set_day(rep, RF_BUSIEST_DAY, hi, t->sessions, hi == 0 || hi == 6);
	set_day(rep, RF_QUIETEST_DAY, lo, t->sessions, lo == 5);
	set(rep, RF_MONDAY, rep->weekday_share[0], t->sessions);
	set(rep, RF_FRIDAY, rep->weekday_share[4], t->sessions);
	set(rep, RF_SUNDAY, rep->weekday_share[6], t->sessions);
	set(rep, RF_WEEKEND_MORNING,
	    t->morning[0] && t->days[1]
		? pct(t->morning[1], t->days[1]) / pct(t->morning[0], t->days[0])
		: NAN,
	    t->days[1]);
}

static void
report_hours(const struct realism *t, struct realism_report *rep)
{
	uint64_t late = 0;
	int h, hi = 0, lo = 0;

	for (h = 0; h < 24; h++) {
		rep->hour_share[h] = pct(t->hour[h], t->sessions);
		hi = t->hour[h] > t->hour[hi] ? h : hi;
		lo = t->hour[h] < t->hour[lo] ? h : lo;
		late += h >= 15 ? t->hour[h] : 0;
	}
	set(rep, RF_PEAK_HOUR, t->sessions ? hi : NAN, t->sessions);
	set(rep, RF_TROUGH_HOUR, t->sessions ? lo : NAN, t->sessions);
	set(rep, RF_FROM_15H, pct(late, t->sessions), t->sessions);
	set(rep, RF_ARRIVALS, pct(t->first_tenth, t->sessions), t->sessions);
}

static void
report_repeat(const struct realism *t, struct realism_report *rep)
{
	uint64_t weeks = t->buyer_weeks, multi = t->multi_weeks;

	for (uint32_t a = 0; a < t->nagents; a++) {
		weeks += t->week_orders[a] > 0;
		multi += t->week_orders[a] > 1;
	}
	double w = (double)t->span_s / (double)WEEK;

	set(rep, RF_VISIT_FREQUENCY,
	    w > 0 && t->expect_visits > 0 ? (double)t->sessions / (t->expect_visits * w) : NAN,
	    t->span_s > 0 ? t->sessions : 0);
	set(rep, RF_ORDER_FREQUENCY,
	    w > 0 && t->expect_orders > 0 ? (double)t->orders / (t->expect_orders * w) : NAN,
	    t->span_s > 0 ? t->orders : 0);
	set(rep, RF_REPEAT_WEEK, pct(multi, weeks), weeks);
	set(rep, RF_INTER_PURCHASE,
	    t->between.count ? (double)hist_quantile(&t->between, 0.5) / 24.0 : NAN,
	    t->between.count);
}

static void
report_orders(const struct realism *t, struct realism_report *rep)
{
	double affine = pct(t->coupons_by[1], t->orders_by[1]);
	double other = pct(t->coupons_by[0], t->orders_by[0]);

	set(rep, RF_COUPON_RULE, pct(t->coupon_ok, t->coupon_orders), t->coupon_orders);
	set(rep, RF_COUPON_ORDERS, pct(t->coupon_orders, t->orders), t->orders);
	set(rep, RF_COUPON_LIFT,
	    t->orders_by[1] && t->coupons_by[1] ? (other > 0 ? affine / other : INFINITY) : NAN,
	    t->coupon_orders);
	set(rep, RF_ONE_STORE, pct(t->one_store, t->orders), t->orders);
	set(rep, RF_UNITS_MEAN, t->orders ? (double)t->units.sum_us / (double)t->orders : NAN,
	    t->orders);
	set(rep, RF_UNITS_MEDIAN, t->orders ? (double)hist_quantile(&t->units, 0.5) : NAN,
	    t->orders);
	set(rep, RF_UNITS_P90, t->orders ? (double)hist_quantile(&t->units, 0.9) : NAN, t->orders);
}

/* In or out of the band, for figures whose status the value alone decides. */
static void
judge(struct realism_figure *f)
{
	if (isnan(f->lo)) {
		if (f->status == REALISM_NO_DATA && !isnan(f->value) && f->text[0] == '\0')
			f->status = REALISM_INFO;
		return;
	}
	if (isnan(f->value) || f->n == 0)
		f->status = REALISM_NO_DATA;
	else
		f->status =
		    f->value >= f->lo - 1e-9 && f->value <= f->hi + 1e-9 ? REALISM_IN : REALISM_OUT;
}

void
realism_report(const struct realism *t, struct realism_report *rep)
{
	memset(rep, 0, sizeof(*rep));
	for (int f = 0; f < REALISM_FIGURES; f++) {
		const struct realism_def *d = &realism_defs[f];

		rep->fig[f] = (struct realism_figure){ d->name, d->label, d->unit, d->reference,
			NAN, d->lo, d->hi, "", 0, REALISM_NO_DATA };
	}
	rep->sessions = t->sessions;
	rep->orders = t->orders;
	report_carts(t, rep);
	report_lengths(t, rep);
	report_days(t, rep);
	report_hours(t, rep);
	report_repeat(t, rep);
	report_orders(t, rep);
	for (int f = 0; f < REALISM_FIGURES; f++) {
		judge(&rep->fig[f]);
		rep->nout += rep->fig[f].status == REALISM_OUT;
	}
}

/* ---- output ---- */

static const char *const realism_status_names[] = { "in", "out", "no data", "info" };

static json_t *
number_or_null(double v)
{
	return isfinite(v) ? metrics_real(v, 3) : json_null();
}

static json_t *
figure_json(const struct realism_figure *f)
{
	json_t *o = json_object();
	int bad = 0;

	if (o == NULL)
		return NULL;
	bad |= json_object_set_new(o, "name", json_string(f->name));
	bad |= json_object_set_new(o, "label", json_string(f->label));
	bad |= json_object_set_new(
	    o, "value", f->text[0] ? json_string(f->text) : number_or_null(f->value));
	bad |= json_object_set_new(o, "unit", json_string(f->unit));
	bad |= json_object_set_new(o, "band",
	    isnan(f->lo) ? json_null()
			 : json_pack("[oo]", number_or_null(f->lo), number_or_null(f->hi)));
	bad |= json_object_set_new(o, "status", json_string(realism_status_names[f->status]));
	bad |= json_object_set_new(o, "n", json_integer((json_int_t)f->n));
	bad |= json_object_set_new(o, "reference", json_string(f->reference));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
shares_json(const struct realism_report *rep)
{
	json_t *days = json_object(), *hours = json_array(), *o = json_object();
	int bad = days == NULL || hours == NULL || o == NULL;

	for (int d = 0; !bad && d < 7; d++)
		bad |= json_object_set_new(
		    days, realism_day_names[d], number_or_null(rep->weekday_share[d]));
	for (int h = 0; !bad && h < 24; h++)
		bad |= json_array_append_new(hours, number_or_null(rep->hour_share[h]));
	if (!bad) {
		bad |= json_object_set_new(o, "weekday_share", days);
		days = NULL;
		bad |= json_object_set_new(o, "hour_share", hours);
		hours = NULL;
	}
	json_decref(days);
	json_decref(hours);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
realism_report_json(const struct realism_report *rep)
{
	json_t *o = shares_json(rep), *figs = json_array();
	int bad = o == NULL || figs == NULL;

	for (int f = 0; !bad && f < REALISM_FIGURES; f++)
		bad |= json_array_append_new(figs, figure_json(&rep->fig[f]));
	if (!bad) {
		bad |= json_object_set_new(o, "sessions", json_integer((json_int_t)rep->sessions));
		bad |= json_object_set_new(o, "orders", json_integer((json_int_t)rep->orders));
		bad |= json_object_set_new(o, "outside", json_integer(rep->nout));
		bad |= json_object_set_new(o, "figures", figs);
		figs = NULL;
	}
	json_decref(figs);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

void
realism_figure_line(const struct realism_figure *f, char *buf, size_t len)
{
	char value[32], band[48];

	if (f->text[0])
		snprintf(value, sizeof(value), "%s", f->text);
	else if (isfinite(f->value))
		snprintf(value, sizeof(value), "%.3g %s", f->value, f->unit);
	else
		snprintf(value, sizeof(value), "-");
	if (isnan(f->lo))
		snprintf(band, sizeof(band), "%s", f->text[0] ? f->reference : "no band");
	else if (isinf(f->hi))
		snprintf(band, sizeof(band), "band >= %g", f->lo);
	else
		snprintf(band, sizeof(band), "band %g-%g", f->lo, f->hi);
	snprintf(buf, len, "%-28s %-12s %-40.40s %s", f->name, value, band,
	    realism_status_names[f->status]);
}
