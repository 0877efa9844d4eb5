/*
 * shopper.h - what an agent does: the decision to shop and the shopping
 * session as a sequence of store operations.
 *
 * Everything here is a pure function of (seed, agent, cycle, persona,
 * catalogue, the agent's own state): the engine may run sessions in any
 * order, at any concurrency, pause, crash and replay, and the operations
 * (and so the rows) come out the same (DESIGN.md 3.3).
 */
#ifndef SIM_SHOPPER_H
#define SIM_SHOPPER_H

#include <stdint.h>

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
	uint32_t done_cycle;    /* the session of cycle c is done when done_cycle > c */
	uint8_t redeemed;       /* bit i: wallet coupon i was used */
	uint8_t ncart;          /* lines in the cart (kept after an abandoned session) */
	struct cart_line cart[STORE_MAX_ITEMS];
};

struct shopper_ctx {
	const struct catalog *cat;
	uint64_t seed;
	uint32_t tick;          /* simulated minutes per cycle */
	int64_t sim_start;
	int all_shop;           /* every agent shops every cycle (benchmarks) */
};

enum shopper_outcome { OUTCOME_NONE, OUTCOME_ORDERED, OUTCOME_ABANDONED, OUTCOME_BROWSED };

struct shopper_session {
	const struct shopper_ctx *ctx;
	const struct persona *p;
	uint32_t agent, cycle;
	struct rng rng;
	struct agent_state st;  /* working copy: becomes the agent's state when the session ends */
	int step;
	int64_t t0;             /* simulated time the session starts */
	uint32_t viewed[STORE_MAX_ITEMS];
	uint8_t nviewed;
	uint8_t added;          /* lines added in this session */
	uint8_t wallet_eligible;
	uint32_t coupon_id;
	uint8_t pct_off;
	uint8_t outcome;        /* enum shopper_outcome */
	uint32_t cart_cents;
	uint32_t total_cents;
};

/* Simulated time at which cycle c starts. */
int64_t shopper_cycle_time(const struct shopper_ctx *ctx, uint32_t cycle);
/* Whether the agent shops in this cycle; seeds *rng for the session that follows. */
int shopper_decide(const struct shopper_ctx *ctx, const struct persona *p, uint32_t agent,
    uint32_t cycle, struct rng *rng);
void shopper_session_init(struct shopper_session *s, const struct shopper_ctx *ctx,
    const struct persona *p, uint32_t agent, uint32_t cycle, const struct agent_state *st,
    const struct rng *rng);
/*
 * Replaces the session's remaining steps with the one that records its failure
 * (STORE_OP_FAIL at the time of the step that failed); the session is over after it.
 */
void shopper_fail(struct shopper_session *s, struct store_op *op, const char *reason);
/* Fills op (all but cb/arg) with the next step; 0 when the session is over. */
int shopper_next(struct shopper_session *s, struct store_op *op);

#endif
