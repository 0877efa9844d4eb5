/*
 * limiter.h - per-client-address rate limits: one token bucket per address.
 *
 * A limit of N per minute lets a client burst N requests, then one every
 * 60/N seconds.  The table holds at most max_addrs addresses; a bucket that
 * has refilled is the same as no bucket and is dropped when room is needed, and
 * a new address that still finds no room is refused like one over its limit.
 */
#ifndef SHOPD_LIMITER_H
#define SHOPD_LIMITER_H

struct limiter;

/* per_minute 0: no limit (limiter_take always lets the request go). */
struct limiter *limiter_new(unsigned per_minute, unsigned max_addrs);
void limiter_free(struct limiter *l);
/*
 * Takes a token for addr at time now (seconds on a monotonic clock): 0 when the
 * request may go on, else the whole seconds (>= 1) until it may (Retry-After).
 */
unsigned limiter_take(struct limiter *l, const char *addr, double now);

#endif
