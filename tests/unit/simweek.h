/*
 * simweek.h - a simulated run in-process: the shopper's decisions and
 * sessions against a fake store that answers every operation at once, as
 * the engine would drive them, with no daemon and no database.  Shared by
 * the shopper and realism tests.
 */
#ifndef SIM_TEST_SIMWEEK_H
#define SIM_TEST_SIMWEEK_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim/calendar.h"
#include "sim/catalog.h"
#include "sim/persona.h"
#include "sim/realism.h"
#include "sim/shopper.h"
#include "sim/store.h"

#define SIMWEEK_T0 INT64_C(1767571200) /* 2026-01-05T00:00:00Z, a Monday */

struct simweek;
typedef void (*simweek_op_fn)(
    struct simweek *w, const struct shopper_session *s, const struct store_op *op);

struct simweek {
	uint64_t seed;
	uint32_t agents, cycles;
	int reverse; /* agents of a cycle in reverse order */
	struct shopper_opts opts;
	struct calendar cal;
	struct catalog *cat;
	struct persona *personas;
	struct agent_state *states;
	struct shopper_ctx ctx;
	struct realism *tally;
	simweek_op_fn on_op;      /* every operation, as it is handed out */
	simweek_op_fn on_session; /* every finished session, with its last operation */
	void *arg;
	uint64_t sessions, ops, invalid;
	uint64_t digest; /* sum of the operations' hashes: any order, same sum */
};

/* The run's shape: 20 stores, 2000 products, 60 coupons, hourly ticks (simd's defaults). */
static int
simweek_open(struct simweek *w, uint64_t seed, uint32_t agents, uint32_t cycles)
{
	memset(w, 0, sizeof(*w));
	w->seed = seed;
	w->agents = agents;
	w->cycles = cycles;
	shopper_opts_init(&w->opts);
	calendar_init(&w->cal);
	w->cat = catalog_new(seed, SIMWEEK_T0, 20, 2000, 60);
	w->personas = calloc(agents, sizeof(*w->personas));
	w->states = calloc(agents, sizeof(*w->states));
	w->tally = realism_new(agents, SIMWEEK_T0);
	if (w->cat == NULL || w->personas == NULL || w->states == NULL || w->tally == NULL)
		return -1;
	for (uint32_t a = 0; a < agents; a++) {
		persona_generate(&w->personas[a], seed, a);
		realism_expect(w->tally, &w->personas[a]);
	}
	w->ctx.cat = w->cat;
	w->ctx.seed = seed;
	w->ctx.tick = 60;
	w->ctx.sim_start = SIMWEEK_T0;
	w->ctx.opts = &w->opts;
	w->ctx.cal = &w->cal;
	return 0;
}

static void
simweek_close(struct simweek *w)
{
	catalog_free(w->cat);
	free(w->personas);
	free(w->states);
	realism_free(w->tally);
}

static uint64_t
simweek_hash_op(const struct store_op *op)
{
	uint64_t h =
	    rng_hash(op->type, (uint64_t)op->agent << 32 | op->cycle, (uint64_t)op->sim_time);

	h = rng_hash(h, op->nitems, (uint64_t)op->coupon_id << 32 | op->total_cents);
	for (unsigned i = 0; i < op->nitems; i++)
		h = rng_hash(h, op->items[i].product_id, op->items[i].quantity);
	for (unsigned i = 0; i < op->nevents; i++) {
		const struct store_event *ev = &op->events[i];
		h = rng_hash(h, (uint64_t)ev->type << 32 | ev->step << 16 | ev->index,
		    (uint64_t)ev->product_id << 32 | ev->value);
		h = rng_hash(h, (uint64_t)(uint32_t)ev->dt, 0);
	}
	return h;
}

/* What the store would answer: rows of the category read, the cart's lines. */
static void
simweek_answer(const struct simweek *w, struct store_op *op)
{
	op->err = STORE_OK;
	op->result_count = op->type == STORE_OP_BROWSE ? w->cat->ncategory[op->category]
	    : op->type == STORE_OP_CART                ? op->nitems
						       : 1;
}

static void
simweek_session(struct simweek *w, uint32_t a, uint32_t c, const struct rng *rng)
{
	struct shopper_session s;
	struct store_op op;
	struct realism_session r;

	shopper_session_init(&s, &w->ctx, &w->personas[a], a, c, &w->states[a], rng);
	while (shopper_next(&s, &op)) {
		w->ops++;
		w->invalid += store_op_invalid(&op) != NULL;
		w->digest += simweek_hash_op(&op);
		simweek_answer(w, &op);
		if (w->on_op)
			w->on_op(w, &s, &op);
	}
	w->states[a] = s.st;
	w->states[a].done_cycle = c + 1;
	w->sessions++;
	realism_session_fill(&r, &s, &op);
	realism_add(w->tally, &r);
	if (w->on_session)
		w->on_session(w, &s, &op);
}

static void
simweek_run(struct simweek *w)
{
	struct rng rng;

	for (uint32_t c = 0; c < w->cycles; c++) {
		for (uint32_t i = 0; i < w->agents; i++) {
			uint32_t a = w->reverse ? w->agents - 1 - i : i;

			if (shopper_decide(&w->ctx, &w->personas[a], a, c, &rng))
				simweek_session(w, a, c, &rng);
		}
		realism_set_span(w->tally, (int64_t)(c + 1) * w->ctx.tick * 60);
	}
}

#endif
