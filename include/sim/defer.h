/*
 * defer.h - "complete from the loop, never inside the call": the one queue of
 * deferred completions.  A caller embeds a struct defer_entry in whatever is
 * to be completed and queues it; one event runs the queue from the loop, in
 * order.  Entries queued while the queue runs wait for the next round, so a
 * completion that starts new work cannot starve sockets and timers, and a
 * round that has run for half the loop's turn (control.h) leaves the rest to
 * the next one, after the loop has polled.  No allocation: queueing cannot
 * fail.
 */
#ifndef SIM_DEFER_H
#define SIM_DEFER_H

#include <stddef.h>
#include <sys/queue.h>

struct event_base;
struct defer;

struct defer_entry {
	TAILQ_ENTRY(defer_entry) link;
	void (*fn)(struct defer_entry *e);
	int queued;
};

/* The struct that holds entry e as its member m. */
#define DEFER_OWNER(e, type, m) ((type *)(void *)((char *)(e)-offsetof(type, m)))

struct defer *defer_new(struct event_base *base);
/* Entries still queued are forgotten (not run); a callback of d's own may free it. */
void defer_free(struct defer *d);
/* fn(e) runs from the loop; an entry already queued stays where it is. */
void defer_add(struct defer *d, struct defer_entry *e, void (*fn)(struct defer_entry *e));
void defer_cancel(struct defer *d, struct defer_entry *e);
/* Runs the queue now, until it is empty (close paths: no loop turn is left). */
void defer_run(struct defer *d);
int defer_empty(const struct defer *d);

#endif
