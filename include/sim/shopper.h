/*
 * shopper.h - what an agent does: the decision to shop and the shopping
 * session as a sequence of store operations.
 *
 * Everything here is a pure function of (seed, agent, cycle, persona,
 * catalogue, the agent's own state): the engine may run sessions in any
 * order, at any concurrency, pause, crash and replay, and the operations
 * (and so the rows) come out the same (DESIGN.md 3.3).
 *
 * A visit is one of: a bounce (one view, gone), a browse (a category or two,
 * nothing added), a cart visit (views, adds, maybe coupons, then checkout or
 * abandon), or the return to a cart an earlier visit left (recovered: straight
 * to checkout).  A cart left unbought is recovered on the agent's next visit
 * with the persona's cart_recovery, or else emptied at that visit's start:
 * it expired.  docs/realism.md gives every rate and its source.
 */
#ifndef SIM_SHOPPER_H
#define SIM_SHOPPER_H

#include <stddef.h>
#include <stdint.h>

#include "sim/calendar.h"
#include "sim/catalog.h"
#include "sim/persona.h"
#include "sim/rng.h"
#include "sim/store.h"

/* What an agent carries from one session to the next (and into checkpoints). */
struct cart_line {
	uint32_t product_id;
	uint16_t quantity;
};

struct agent_state {
	uint32_t done_cycle; /* the session of cycle c is done when done_cycle > c */
	uint8_t redeemed;    /* bit i: wallet coupon i was used */
	uint8_t ncart;       /* lines in the cart (kept after an abandoned session) */
	struct cart_line cart[STORE_MAX_ITEMS];
};

/*
 * The shopper's tunables, one proposed config key each (in brackets), with
 * the default shopper_opts_init() sets.
 */
struct shopper_opts {
	double bounce_rate;   /* [bounce_rate] 0.45: visits that view one product and leave */
	double second_browse; /* [second_browse_rate] 0.35: other visits that look at a second
	                         * category */
	double cross_store;   /* [cross_store_rate] 0.10: that second look is in another store */
	double think_sigma;   /* [think_sigma] 1.0: log-space spread of think times */
	double think_max_s;   /* [think_max_s] 1800: longest pause inside a session (web
	                         * analytics end a session after 30 idle minutes) */
	double checkout_s;    /* [checkout_median_s] 75: median time to fill in the checkout */
	double session_max_s; /* [session_max_s] 2700: no session lasts longer; an agent's next
	                         * session starts after it */
	double cart_rate;     /* [cart_rate] -1: each persona's cart_propensity; 0..1: the
	                         * share of visits that fill a cart, for everyone (tests,
	                         * write-heavy benchmarks) */
	double checkout_rate; /* [checkout_rate] -1: from the persona's abandon_tendency and
	                         * cart_recovery; 0..1: the chance a cart is bought in the visit
	                         * that filled it, for everyone */
};

void shopper_opts_init(struct shopper_opts *o);
/* 0, or -1 with a one-line message naming the key that is out of range. */
int shopper_opts_check(const struct shopper_opts *o, char *err, size_t errlen);

struct shopper_ctx {
	const struct catalog *cat;
	uint64_t seed;
	uint32_t tick; /* simulated minutes per cycle */
	int64_t sim_start;
	int all_shop;                    /* every agent shops every cycle (benchmarks) */
	const struct shopper_opts *opts; /* NULL: the defaults */
	const struct calendar *cal;      /* NULL: the default weekday mix, no windows */
};

enum shopper_outcome { OUTCOME_NONE, OUTCOME_ORDERED, OUTCOME_ABANDONED, OUTCOME_BROWSED };
enum shopper_visit { VISIT_BOUNCE, VISIT_BROWSE, VISIT_CART, VISIT_RECOVER };

struct shopper_session {
	const struct shopper_ctx *ctx;
	const struct shopper_opts *opts;
	const struct persona *p;
	uint32_t agent, cycle;
	struct rng rng;
	struct agent_state st; /* working copy: becomes the agent's state when the session ends */
	int step;
	int64_t t0;            /* simulated time the session starts */
	int64_t now;           /* simulated time of its latest activity */
	int64_t op_time;       /* sim_time of the latest operation handed out */
	uint8_t visit;         /* enum shopper_visit */
	uint8_t second;        /* it looks at a second category */
	uint8_t cross;         /* ... in another store */
	uint8_t carried;       /* it began with a cart an earlier visit left */
	uint8_t discarded;     /* ... which expired at its start */
	uint8_t cart_new;      /* it started a cart */
	uint8_t carried_lines; /* lines in the cart when it began */
	uint16_t store;        /* the store it shops in */
	uint16_t want;         /* lines it means to add */
	uint16_t views;        /* view events written */
	int64_t first_view, last_view;
	uint32_t viewed[STORE_MAX_ITEMS]; /* the products of the latest browse step */
	uint8_t nviewed;
	uint8_t added; /* lines added in this session */
	uint8_t wallet_eligible;
	uint32_t coupon_id;
	uint8_t pct_off;
	uint8_t outcome; /* enum shopper_outcome */
	uint32_t cart_cents;
	uint32_t discount_cents;
	uint32_t total_cents;
};

/* Simulated time at which cycle c starts. */
int64_t shopper_cycle_time(const struct shopper_ctx *ctx, uint32_t cycle);
/*
 * Whether the agent shops in this cycle; seeds *rng for the session that
 * follows.  A visit starts anywhere in the cycle, and never before the
 * agent's visit of an earlier cycle can have ended (session_max_s).
 */
int shopper_decide(const struct shopper_ctx *ctx, const struct persona *p, uint32_t agent,
    uint32_t cycle, struct rng *rng);
/* Simulated time at which the agent's visit of this cycle starts (if it makes one). */
int64_t shopper_start_time(const struct shopper_ctx *ctx, uint32_t agent, uint32_t cycle);
/* rng as shopper_decide left it, for a cycle it said yes to. */
void shopper_session_init(struct shopper_session *s, const struct shopper_ctx *ctx,
    const struct persona *p, uint32_t agent, uint32_t cycle, const struct agent_state *st,
    const struct rng *rng);
/*
 * Replaces the session's remaining steps with the one that records its failure
 * (STORE_OP_FAIL at the time of the step that failed); the session is over after it.
 */
void shopper_fail(struct shopper_session *s, struct store_op *op, const char *reason);
/*
 * Fills op (all but cb/arg) with the next step; 0 when the session is over.
 * op->sim_time is when the step happens (the engine may pace it in wall
 * time); its events follow at op->sim_time + dt.
 */
int shopper_next(struct shopper_session *s, struct store_op *op);
/* Seconds from the session's start to its latest activity. */
int64_t shopper_session_length(const struct shopper_session *s);

#endif
