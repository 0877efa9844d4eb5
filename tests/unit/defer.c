/* defer.c - the deferred-completion queue: order, rounds, cancelling, freeing from inside. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "check.h"
#include "sim/control.h"
#include "sim/defer.h"
#include "sim/metrics.h"

struct item {
	struct defer_entry e;
	struct defer *d;
	int id;
	int *log, *nlog;
	struct item *requeue; /* queue this one from the callback */
	struct item *cancel;  /* cancel this one from the callback */
	int free_queue;       /* free the queue from the callback */
	int spin_us;          /* take this long */
	int poke;             /* write a byte there first */
};

static void
ran(struct defer_entry *e)
{
	struct item *it = DEFER_OWNER(e, struct item, e);

	it->log[(*it->nlog)++] = it->id;
	if (it->poke > 0 && write(it->poke, "x", 1) != 1)
		abort();
	for (uint64_t t0 = metrics_now_us();
	     it->spin_us > 0 && metrics_now_us() - t0 < (uint64_t)it->spin_us;)
		;
	if (it->requeue != NULL)
		defer_add(it->d, &it->requeue->e, ran);
	if (it->cancel != NULL)
		defer_cancel(it->d, &it->cancel->e);
	if (it->free_queue)
		defer_free(it->d);
}

static void
init(struct item *it, int n, struct defer *d, int *log, int *nlog)
{
	memset(it, 0, (size_t)n * sizeof(*it));
	for (int i = 0; i < n; i++) {
		it[i].d = d;
		it[i].id = i;
		it[i].log = log;
		it[i].nlog = nlog;
	}
}

/* The control socket's stand-in: logs -1 when its pipe is readable. */
static void
readable(evutil_socket_t fd, short what, void *arg)
{
	struct item *it = arg;
	char c;

	(void)what;
	if (read(fd, &c, 1) == 1)
		it->log[(*it->nlog)++] = -1;
}

/*
 * A round that runs long stops after half the loop's turn: the rest runs
 * after the loop has polled, so a socket of the first priority (the control
 * socket) is served between two rounds, not after the whole queue.
 */
static void
test_round_bound(void)
{
	struct event_base *base = control_base_new();
	struct defer *d;
	struct event *ev;
	struct item it[10], ctl;
	int log[64], n = 0, fds[2], k, first_ctl = -1;

	CHECK(base != NULL && pipe(fds) == 0);
	d = defer_new(base);
	memset(&ctl, 0, sizeof(ctl));
	ctl.log = log;
	ctl.nlog = &n;
	ev = event_new(base, fds[0], EV_READ | EV_PERSIST, readable, &ctl);
	CHECK(d != NULL && ev != NULL && event_priority_set(ev, CONTROL_PRIORITY) == 0 &&
	    event_add(ev, NULL) == 0);
	init(it, 10, d, log, &n);
	for (k = 0; k < 10; k++) {
		it[k].spin_us = CONTROL_TURN_US / 4;
		defer_add(d, &it[k].e, ran);
	}
	it[0].poke = fds[1]; /* readable while the first round runs */
	for (k = 0; k < 100 && !(defer_empty(d) && n == 11); k++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK(n == 11);
	for (k = 0; k < n; k++)
		if (log[k] == -1 && first_ctl < 0)
			first_ctl = k;
	/* entries in order around it; the socket's turn came before the queue's end */
	for (k = 0; k < n; k++)
		if (k != first_ctl)
			CHECK(log[k] == (k < first_ctl ? k : k - 1));
	CHECK(first_ctl > 0 && first_ctl < 10);
	event_free(ev);
	defer_free(d);
	event_base_free(base);
	close(fds[0]);
	close(fds[1]);
}

int
main(void)
{
	struct event_base *base = event_base_new();
	struct defer *d = defer_new(base);
	struct item it[6];
	int log[32], n = 0;

	CHECK(base != NULL && d != NULL);
	/* in order, from the loop, never inside defer_add; an entry queued twice runs once */
	init(it, 6, d, log, &n);
	defer_add(d, &it[2].e, ran);
	defer_add(d, &it[0].e, ran);
	defer_add(d, &it[2].e, ran);
	CHECK(n == 0 && !defer_empty(d));
	event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK(n == 2 && log[0] == 2 && log[1] == 0 && defer_empty(d));
	/* what a callback queues waits for the next round: after what was queued before it */
	n = 0;
	it[0].requeue = &it[1];
	defer_add(d, &it[0].e, ran);
	defer_add(d, &it[2].e, ran);
	event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK(n == 3 && log[0] == 0 && log[1] == 2 && log[2] == 1);
	/* cancelling, the round's last one too, from inside a callback */
	init(it, 6, d, log, &n);
	n = 0;
	it[0].cancel = &it[2];
	for (int i = 0; i < 3; i++)
		defer_add(d, &it[i].e, ran);
	defer_cancel(d, &it[1].e);
	event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK(n == 1 && log[0] == 0 && defer_empty(d));
	/* run now (close paths), until empty, callbacks' additions included */
	n = 0;
	it[3].requeue = &it[4];
	defer_add(d, &it[3].e, ran);
	defer_run(d);
	CHECK(n == 2 && log[0] == 3 && log[1] == 4);
	/* a callback may free its own queue: the rest is forgotten, nothing breaks */
	init(it, 6, d, log, &n);
	n = 0;
	it[0].free_queue = 1;
	defer_add(d, &it[0].e, ran);
	defer_add(d, &it[1].e, ran);
	event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK(n == 1);
	event_base_free(base);
	test_round_bound();
	return CHECK_DONE();
}
