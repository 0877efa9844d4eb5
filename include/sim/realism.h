/*
 * realism.h - how a run's shape compares with a real shop's.
 *
 * A tally the engine feeds once per finished session (realism_add), and a
 * report of each figure of issue 17's table beside its reference band, with
 * an in/out flag (realism_report), as a struct and as JSON.  Pure counting:
 * no I/O, no clock; the memory is allocated once, by realism_new.
 * docs/realism.md says how each figure is computed and where its band comes from.
 */
#ifndef SIM_REALISM_H
#define SIM_REALISM_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sim/metrics.h"
#include "sim/shopper.h"

enum realism_coupon { REALISM_COUPON_NONE, REALISM_COUPON_ANY_STORE, REALISM_COUPON_STORE };

/* Personas at least this coupon-affine count as coupon-affine. */
#define REALISM_AFFINE 0.5f

/* What the tally needs of one finished session; realism_session_fill makes it. */
struct realism_session {
	uint32_t agent;
	int64_t start;         /* simulated unix seconds */
	uint32_t offset_s;     /* start - the start of its cycle */
	uint32_t cycle_s;      /* the cycle's length (tick) */
	uint32_t length_s;     /* start to the last activity */
	uint8_t outcome;       /* enum shopper_outcome */
	uint8_t visit;         /* enum shopper_visit */
	uint8_t cart_added;    /* it added to the cart */
	uint8_t cart_new;      /* ... into an empty cart: a new cart */
	uint8_t cart_carried;  /* it began with a cart an earlier visit left */
	uint8_t cart_expired;  /* ... which it emptied unbought */
	uint8_t coupon_affine; /* the persona's coupon_affinity >= REALISM_AFFINE */
	uint16_t views;
	uint32_t view_gap_s; /* mean seconds between its views (when views >= 2) */
	/* Ordered sessions, from the checkout's lines: */
	uint16_t units;
	uint8_t nstores;   /* distinct stores among the lines */
	uint8_t coupon;    /* enum realism_coupon */
	uint8_t coupon_ok; /* total = lines - pct_off of the lines the coupon covers */
};

/*
 * From a session that ended (not one that failed): last is the operation of
 * its final step, still as shopper_next filled it (the checkout's lines).
 */
void realism_session_fill(
    struct realism_session *r, const struct shopper_session *s, const struct store_op *last);

enum realism_status { REALISM_IN, REALISM_OUT, REALISM_NO_DATA, REALISM_INFO };

enum realism_fig {
	RF_CONVERSION,
	RF_ADD_TO_CART,
	RF_CART_ABANDON,
	RF_CART_ABANDON_SESSION,
	RF_CART_RECOVERY,
	RF_BOUNCE,
	RF_SESSION_MEDIAN,
	RF_SESSION_MEAN,
	RF_SESSION_TAIL,
	RF_VIEW_GAP,
	RF_BUSIEST_DAY,
	RF_QUIETEST_DAY,
	RF_MONDAY,
	RF_FRIDAY,
	RF_SUNDAY,
	RF_WEEKEND_MORNING,
	RF_PEAK_HOUR,
	RF_TROUGH_HOUR,
	RF_FROM_15H,
	RF_VISIT_FREQUENCY,
	RF_ORDER_FREQUENCY,
	RF_REPEAT_WEEK,
	RF_INTER_PURCHASE,
	RF_COUPON_RULE,
	RF_COUPON_ORDERS,
	RF_COUPON_LIFT,
	RF_ONE_STORE,
	RF_UNITS_MEAN,
	RF_UNITS_MEDIAN,
	RF_UNITS_P90,
	RF_ARRIVALS,
	REALISM_FIGURES
};

struct realism_figure {
	const char *name;      /* "conversion": the JSON name */
	const char *label;     /* "sessions ending in an order" */
	const char *unit;      /* "%", "s", "days", "hour", "day", "x", "units" */
	const char *reference; /* the public figure the band comes from */
	double value;          /* NAN without data */
	double lo, hi;         /* the band, inclusive (INFINITY when open); NAN for INFO */
	char text[8];          /* a day's name ("mon") where the value is a day */
	uint64_t n;            /* what the figure is computed over */
	enum realism_status status;
};

struct realism_report {
	uint64_t sessions, orders;
	unsigned nout;           /* figures outside their band */
	double weekday_share[7]; /* % of sessions, Monday first */
	double hour_share[24];   /* % of sessions by hour of start */
	struct realism_figure fig[REALISM_FIGURES];
};

struct realism;

/* NULL (errno ENOMEM) on allocation failure.  sim_start anchors the weeks. */
struct realism *realism_new(uint32_t nagents, int64_t sim_start);
void realism_free(struct realism *t);
/* Forgets every session (a new run). */
void realism_reset(struct realism *t);
/*
 * What the population's personas lead one to expect, agent by agent: visits
 * (sessions_per_week) and orders (sessions_per_week x cart_propensity x
 * (1 - abandon_tendency)) per simulated week.  realism_reset keeps it.
 */
void realism_expect(struct realism *t, const struct persona *p);
/* The simulated seconds the sessions counted so far cover (whole cycles). */
void realism_set_span(struct realism *t, int64_t seconds);
/* Counts one session; an agent >= nagents counts in every figure but the per-agent ones. */
void realism_add(struct realism *t, const struct realism_session *r);
void realism_report(const struct realism *t, struct realism_report *out);
/*
 * {"sessions", "orders", "outside", "figures": [{"name", "label", "value",
 *  "unit", "band": [lo, hi], "status": "in" | "out" | "no data" | "info",
 *  "n", "reference"}], "weekday_share": {"mon": %, ...}, "hour_share": [24]}
 * NULL on allocation failure.
 */
json_t *realism_report_json(const struct realism_report *rep);
/* "conversion  2.91 %  band 1.4-4  in" for logs and the run summary. */
void realism_figure_line(const struct realism_figure *f, char *buf, size_t len);

#endif
