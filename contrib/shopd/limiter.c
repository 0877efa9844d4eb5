/* limiter.c - token buckets in an open-addressing table keyed by client address. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "limiter.h"

#define LIM_ADDR_MAX 64 /* an IPv6 address in text, with room to spare */

struct bucket {
	char addr[LIM_ADDR_MAX]; /* "" = free slot */
	double tokens;
	double stamp; /* when tokens was last brought up to date */
};

struct limiter {
	double cap, rate; /* tokens; tokens per second */
	unsigned max;     /* addresses held at most */
	unsigned count;
	size_t mask; /* slots - 1; slots = a power of two >= 2 * max */
	struct bucket *slot;
	struct bucket *spare; /* as many slots, for the sweep to rebuild into */
};

struct limiter *
limiter_new(unsigned per_minute, unsigned max_addrs)
{
	struct limiter *l;
	size_t n = 16;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->cap = per_minute;
	l->rate = per_minute / 60.0;
	l->max = max_addrs ? max_addrs : 1;
	if (per_minute == 0)
		return l;
	while (n < (size_t)l->max * 2)
		n *= 2;
	if ((l->slot = calloc(n, sizeof(*l->slot))) == NULL ||
	    (l->spare = calloc(n, sizeof(*l->spare))) == NULL) {
		limiter_free(l);
		return NULL;
	}
	l->mask = n - 1;
	return l;
}

void
limiter_free(struct limiter *l)
{
	if (l != NULL) {
		free(l->slot);
		free(l->spare);
	}
	free(l);
}

static size_t
lim_hash(const char *s)
{
	uint64_t h = UINT64_C(14695981039346656037);

	while (*s)
		h = (h ^ (unsigned char)*s++) * UINT64_C(1099511628211);
	return (size_t)h;
}

static void
lim_refill(struct limiter *l, struct bucket *b, double now)
{
	if (now > b->stamp)
		b->tokens += (now - b->stamp) * l->rate;
	if (b->tokens > l->cap)
		b->tokens = l->cap;
	b->stamp = now;
}

/* The slot holding addr, or the free slot where it would go. */
static struct bucket *
lim_find(struct limiter *l, const char *addr)
{
	size_t i = lim_hash(addr) & l->mask;

	while (l->slot[i].addr[0] != '\0' && strcmp(l->slot[i].addr, addr) != 0)
		i = (i + 1) & l->mask;
	return &l->slot[i];
}

/*
 * Drops the buckets that have refilled.  The survivors are rehashed into the
 * spare table, so that linear probing needs no tombstones.
 */
static void
lim_sweep(struct limiter *l, double now)
{
	struct bucket *old = l->slot, b;
	size_t i, n = l->mask + 1;

	memset(l->spare, 0, n * sizeof(*l->spare));
	l->slot = l->spare;
	l->spare = old;
	l->count = 0;
	for (i = 0; i < n; i++) {
		if (old[i].addr[0] == '\0')
			continue;
		b = old[i];
		lim_refill(l, &b, now);
		if (b.tokens < l->cap) {
			*lim_find(l, b.addr) = b;
			l->count++;
		}
	}
}

static unsigned
lim_wait(const struct limiter *l, double tokens)
{
	double s = ceil((1.0 - tokens) / l->rate);

	return s < 1 ? 1 : s > 3600 ? 3600 : (unsigned)s;
}

unsigned
limiter_take(struct limiter *l, const char *addr, double now)
{
	struct bucket *b;

	if (l->rate == 0)
		return 0;
	if (strlen(addr) >= LIM_ADDR_MAX)
		addr = "?"; /* cannot happen with numeric addresses; share one bucket */
	b = lim_find(l, addr);
	if (b->addr[0] == '\0') {
		if (l->count >= l->max) {
			lim_sweep(l, now);
			b = lim_find(l, addr);
			if (l->count >= l->max)
				return lim_wait(l, 0);
		}
		strcpy(b->addr, addr);
		b->tokens = l->cap;
		b->stamp = now;
		l->count++;
	}
	lim_refill(l, b, now);
	if (b->tokens < 1.0)
		return lim_wait(l, b->tokens);
	b->tokens -= 1.0;
	return 0;
}
