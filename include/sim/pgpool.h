/*
 * pgpool.h - a pool of PostgreSQL connections on the libevent loop.
 *
 * Semantics of the usual pools (SQLAlchemy's QueuePool): `size' connections are
 * kept, up to `overflow' more are opened under load and closed when released,
 * and `max' is a hard cap on connections open or being opened that nothing
 * exceeds.  Idle connections are reused last-in first-out (the warm ones stay
 * warm, the cold ones age out); waiters are served first-come first-served and
 * fail with STORE_ERR_TIMEOUT after `timeout' seconds.  A connection idle longer
 * than `ping_after' (or suspect because another one broke) is pinged with an
 * empty query before it is handed out, one older than `recycle' is replaced.
 * Failed connection attempts back off exponentially and probe with one
 * connection at a time, so a restarting server is not stormed.
 *
 * Callbacks always run from the loop, never inside pgpool_acquire().
 */
#ifndef SIM_PGPOOL_H
#define SIM_PGPOOL_H

#include <stdint.h>
#include <sys/queue.h>

#include "sim/defer.h"
#include "sim/pgconn.h"
#include "sim/store.h"

struct event_base;
struct pgpool;

struct pgpool_opts {
	struct pgconn_opts conn;         /* conninfo is copied */
	unsigned size;                   /* connections kept (pool_size) */
	unsigned overflow;               /* more under load (max_overflow) */
	unsigned max;                    /* hard cap (pool_max) */
	double timeout;                  /* seconds a waiter waits (pool_timeout) */
	int pre_ping;                    /* ping connections idle longer than ping_after */
	double ping_after;               /* seconds; 0 means 10 */
	double recycle;                  /* seconds; 0 = never */
	double backoff_min, backoff_max; /* reconnect backoff; 0 means 0.1 and 5 */
};

/*
 * c is the connection (err == STORE_OK) or NULL: STORE_ERR_TIMEOUT (none free in
 * time), STORE_ERR_CONNECT (none could be opened).  msg is valid during the call.
 */
typedef void (*pgpool_cb)(struct pgconn *c, enum store_err err, const char *msg, void *arg);

/* One acquisition; lives in the caller's memory until its callback has run. */
struct pgpool_req {
	TAILQ_ENTRY(pgpool_req) link;
	struct defer_entry answer; /* private: delivers the answer from the loop */
	pgpool_cb cb;
	void *arg;
	double deadline;
	int state; /* private */
	struct pgconn *conn;
	void *slot; /* private: the connection pinged for it */
	enum store_err err;
	char msg[PGCONN_MSG_MAX];
};

struct pgpool_stats {
	unsigned active; /* handed out or being pinged */
	unsigned idle;
	unsigned connecting;
	unsigned waiting;
	unsigned limit;          /* min(size + overflow, max) */
	uint64_t opened, closed; /* connections established / closed, in total */
	uint64_t connect_failures, timeouts, pings;
};

/* NULL on allocation failure. */
struct pgpool *pgpool_new(struct event_base *base, const struct pgpool_opts *o);
/* Closes every connection; no callback runs afterwards (cancel requests first). */
void pgpool_free(struct pgpool *p);

void pgpool_acquire(struct pgpool *p, struct pgpool_req *r, pgpool_cb cb, void *arg);
/* Withdraws a request whose callback has not run; 1 if it was withdrawn. */
int pgpool_cancel(struct pgpool *p, struct pgpool_req *r);
/* Gives back what acquire handed out, healthy or broken (the pool checks). */
void pgpool_release(struct pgpool *p, struct pgconn *c);
void pgpool_stats(const struct pgpool *p, struct pgpool_stats *st);
/*
 * The application_name of connections from now on: idle connections are
 * renamed at once (set_config, one round trip, as a pre-ping), those in use
 * when released, so that each shows the new name without reconnecting.  A
 * rename that fails closes the connection.
 */
/*
 * A new hard cap (a cluster member's share): lowered, idle connections beyond
 * it close at once, the coldest first, and those in use as they are released
 * (work in flight is never cut); raised, the pool may grow into it.
 */
void pgpool_set_max(struct pgpool *p, unsigned max);
/*
 * Opens connections, in the background, until the pool holds the pool_size
 * it keeps (or its cap), so that the work that follows finds them connected,
 * their statements prepared and their backends warm.  Nothing while the pool
 * backs off after a failure.
 */
void pgpool_warm(struct pgpool *p);
#define PGPOOL_APPNAME_MAX 64
void pgpool_set_appname(struct pgpool *p, const char *name);

#endif
