/* defer.c - the one queue of deferred completions (see defer.h). */
#include <stdlib.h>

#include <event2/event.h>

#include "sim/control.h"
#include "sim/defer.h"
#include "sim/metrics.h"

/*
 * A round stops after this long and the rest waits for the next, after the
 * loop has polled: a round of many completions must not hold the control
 * socket beyond its turn (control.h).
 */
#define DEFER_ROUND_US (CONTROL_TURN_US / 2)

TAILQ_HEAD(defer_list, defer_entry);

struct defer {
	struct event *ev;
	struct defer_list queue;
	struct defer_entry *round_last; /* the last entry of the round being run */
	int running;                    /* inside a callback of this queue */
	int dying;                      /* freed by one: gone once it returns */
};

static void
destroy(struct defer *d)
{
	event_free(d->ev);
	free(d);
}

static void
run_one(struct defer *d)
{
	struct defer_entry *e = TAILQ_FIRST(&d->queue);

	TAILQ_REMOVE(&d->queue, e, link);
	if (e == d->round_last)
		d->round_last = NULL;
	e->queued = 0;
	e->fn(e);
}

static void
defer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct defer *d = arg;
	uint64_t t0 = metrics_now_us();

	/* what is queued now; what the callbacks queue goes in the next round */
	d->round_last = TAILQ_LAST(&d->queue, defer_list);
	d->running = 1;
	while (d->round_last != NULL) {
		run_one(d);
		if (d->dying) {
			destroy(d);
			return;
		}
		if (metrics_now_us() - t0 >= DEFER_ROUND_US)
			break; /* the rest, still first in the queue, in the next round */
	}
	d->round_last = NULL;
	d->running = 0;
	if (!TAILQ_EMPTY(&d->queue))
		event_active(d->ev, EV_TIMEOUT, 0);
}

struct defer *
defer_new(struct event_base *base)
{
	struct defer *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	TAILQ_INIT(&d->queue);
	if ((d->ev = event_new(base, -1, 0, defer_cb, d)) == NULL) {
		free(d);
		return NULL;
	}
	return d;
}

void
defer_free(struct defer *d)
{
	struct defer_entry *e;

	if (d == NULL)
		return;
	while ((e = TAILQ_FIRST(&d->queue)) != NULL) {
		TAILQ_REMOVE(&d->queue, e, link);
		e->queued = 0;
	}
	d->round_last = NULL;
	if (d->running)
		d->dying = 1; /* a callback of ours freed us: the loop ends it */
	else
		destroy(d);
}

void
defer_add(struct defer *d, struct defer_entry *e, void (*fn)(struct defer_entry *e))
{
	e->fn = fn;
	if (e->queued)
		return;
	e->queued = 1;
	TAILQ_INSERT_TAIL(&d->queue, e, link);
	event_active(d->ev, EV_TIMEOUT, 0);
}

void
defer_cancel(struct defer *d, struct defer_entry *e)
{
	if (!e->queued)
		return;
	if (e == d->round_last)
		d->round_last = TAILQ_PREV(e, defer_list, link);
	TAILQ_REMOVE(&d->queue, e, link);
	e->queued = 0;
}

void
defer_run(struct defer *d)
{
	int outer = d->running;

	d->running = 1;
	while (!TAILQ_EMPTY(&d->queue)) {
		run_one(d);
		if (d->dying) {
			if (!outer)
				destroy(d);
			return;
		}
	}
	d->running = outer;
}

int
defer_empty(const struct defer *d)
{
	return TAILQ_EMPTY(&d->queue);
}
