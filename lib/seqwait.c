/* seqwait.c - waiters on numbered batches (see seqwait.h). */
#include <stdlib.h>

#include "sim/seqwait.h"

struct seqwaiter {
	struct seqwaiter *next;
	uint64_t target;
	store_done_cb cb;
	void *arg;
};

int
seqwait_add(struct seqwait *w, uint64_t target, store_done_cb cb, void *arg)
{
	struct seqwaiter *x = calloc(1, sizeof(*x));

	if (x == NULL)
		return -1;
	x->target = target;
	x->cb = cb;
	x->arg = arg;
	x->next = w->head;
	w->head = x;
	return 0;
}

void
seqwait_complete(struct seqwait *w, uint64_t low, enum store_err err, const char *msg)
{
	struct seqwaiter **pp = &w->head, *x, *done = NULL;

	while ((x = *pp) != NULL) {
		int pick = err == STORE_OK ? x->target < low : x->target >= low;

		if (pick) {
			*pp = x->next;
			x->next = done;
			done = x;
		} else {
			pp = &x->next;
		}
	}
	while ((x = done) != NULL) {
		done = x->next;
		x->cb(err, err == STORE_OK ? NULL : msg, x->arg);
		free(x);
	}
}

void
seqwait_abort(struct seqwait *w, enum store_err err, const char *msg)
{
	struct seqwaiter *x;

	while ((x = w->head) != NULL) {
		w->head = x->next;
		x->cb(err, msg, x->arg);
		free(x);
	}
}

void
seqwait_clear(struct seqwait *w)
{
	struct seqwaiter *x;

	while ((x = w->head) != NULL) {
		w->head = x->next;
		free(x);
	}
}

int
seqwait_empty(const struct seqwait *w)
{
	return w->head == NULL;
}
