/*
 * fakestore.h - a store double for the unit tests of the engine and what
 * drives it: it completes each op from the loop, as every driver must, when
 * the test lets it, and fails the ops the test says.
 */
#ifndef SIM_TEST_FAKESTORE_H
#define SIM_TEST_FAKESTORE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/defer.h"
#include "sim/rng.h"
#include "sim/store.h"

#define HELD_MAX 4096

struct fake {
	struct store pub;
	struct event_base *base;
	struct defer *defer;
	struct defer_entry prepared_e;
	store_done_cb prep_cb;
	void *prep_arg;
	int hold; /* keep ops until fake_release */
	struct store_op *held[HELD_MAX];
	unsigned nheld, max_held;
	/* a fault: ops of this type for this agent fail with err, `times' times (-1: always) */
	int fail_agent, fail_type, fail_times;
	enum store_err fail_err;
	uint64_t digest;           /* of every op that succeeded, order-free */
	store_fenced_fn fenced_fn; /* store_on_fenced: the test plays a refused batch */
	void *fenced_arg;
	unsigned ops, fails;
};

struct fake_op {
	struct defer_entry e;
	struct store_op *op;
	struct fake *f;
};

static inline void
op_complete(struct defer_entry *e)
{
	struct fake_op *x = DEFER_OWNER(e, struct fake_op, e);
	struct store_op *op = x->op;
	struct fake *f = x->f;

	free(x);
	if (f->fail_times != 0 && (int)op->agent == f->fail_agent &&
	    (int)op->type == f->fail_type) {
		if (f->fail_times > 0)
			f->fail_times--;
		op->err = f->fail_err;
		snprintf(op->errmsg, sizeof(op->errmsg), "fake: injected %s",
		    store_err_name(f->fail_err));
		f->fails++;
	} else {
		op->result_count = op->type == STORE_OP_BROWSE ? 50 : 1;
		op->rows = 1 + op->nevents;
		/* order-free: a sum of hashes of (agent, cycle, type, the op's contents) */
		f->digest +=
		    rng_hash(op->agent, op->cycle,
			(uint64_t)op->type << 32 | (uint64_t)op->nitems << 16 | op->nevents) ^
		    rng_hash(op->total_cents, op->coupon_id, (uint64_t)op->sim_time);
	}
	f->ops++;
	op->cb(op, op->arg);
}

static inline void
fake_go(struct fake *f, struct store_op *op)
{
	struct fake_op *x = calloc(1, sizeof(*x));

	x->op = op;
	x->f = f;
	defer_add(f->defer, &x->e, op_complete);
}

static inline void
fake_submit(struct store *st, struct store_op *op)
{
	struct fake *f = st->priv;

	if (f->hold && f->nheld < HELD_MAX) {
		f->held[f->nheld++] = op;
		if (f->nheld > f->max_held)
			f->max_held = f->nheld;
		return;
	}
	fake_go(f, op);
}

static inline void
fake_release(struct fake *f)
{
	unsigned n = f->nheld;

	f->nheld = 0;
	for (unsigned i = 0; i < n; i++)
		fake_go(f, f->held[i]);
}

static inline void
prepared(struct defer_entry *e)
{
	struct fake *f = DEFER_OWNER(e, struct fake, prepared_e);

	f->prep_cb(STORE_OK, NULL, f->prep_arg);
}

static inline void
fake_prepare(struct store *st, const struct store_setup *su, store_done_cb cb, void *arg)
{
	struct fake *f = st->priv;

	f->prep_cb = cb;
	f->prep_arg = arg;
	defer_add(f->defer, &f->prepared_e, prepared);
}

struct fake_flush {
	struct defer_entry e;
	store_done_cb cb;
	void *arg;
};

static inline void
flushed(struct defer_entry *e)
{
	struct fake_flush *x = DEFER_OWNER(e, struct fake_flush, e);
	store_done_cb cb = x->cb;
	void *arg = x->arg;

	free(x);
	cb(STORE_OK, NULL, arg);
}

/* Every flush completes from the loop, each on its own (several may wait at once). */
static inline void
fake_flush(struct store *st, store_done_cb cb, void *arg)
{
	struct fake *f = st->priv;
	struct fake_flush *x = calloc(1, sizeof(*x));

	x->cb = cb;
	x->arg = arg;
	defer_add(f->defer, &x->e, flushed);
}

static inline void
fake_stats(struct store *st, struct store_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->driver = "fake";
}

static inline void
fake_close(struct store *st)
{
}

static inline void
fake_on_fenced(struct store *st, store_fenced_fn fn, void *arg)
{
	struct fake *f = st->priv;

	f->fenced_fn = fn;
	f->fenced_arg = arg;
}

static const struct store_driver fake_driver = {
	.name = "fake",
	.close = fake_close,
	.prepare = fake_prepare,
	.submit = fake_submit,
	.flush = fake_flush,
	.stats = fake_stats,
	.on_fenced = fake_on_fenced,
};

static inline void
fake_init(struct fake *f, struct event_base *base)
{
	memset(f, 0, sizeof(*f));
	f->pub.drv = &fake_driver;
	f->pub.priv = f;
	f->base = base;
	f->defer = defer_new(base);
	f->fail_agent = -1;
}

#endif
