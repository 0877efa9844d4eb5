/* defer.c - the deferred-completion queue: order, rounds, cancelling, freeing from inside. */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "check.h"
#include "sim/defer.h"

struct item {
	struct defer_entry e;
	struct defer *d;
	int id;
	int *log, *nlog;
	struct item *requeue; /* queue this one from the callback */
	struct item *cancel;  /* cancel this one from the callback */
	int free_queue;       /* free the queue from the callback */
};

static void
ran(struct defer_entry *e)
{
	struct item *it = DEFER_OWNER(e, struct item, e);

	it->log[(*it->nlog)++] = it->id;
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
	return CHECK_DONE();
}
