/*
 * pgpool.c - the PostgreSQL connection pool (see pgpool.h).
 *
 * Every connection has a slot: CONNECTING, IDLE (on the idle stack, its socket
 * watched so that a server-side close is noticed), PINGING (checked before it
 * is handed out) or ACTIVE (handed out).  connecting + idle + pinging + active
 * never exceeds the limit: a slot is counted from the moment its connection
 * attempt starts until its connection is freed.  Results reach the requesters
 * through the deferred queue (defer.h), so that no callback runs
 * inside acquire/release and a callback may acquire again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "sim/log.h"
#include "sim/pgpool.h"

enum slot_state { SLOT_CONNECTING, SLOT_IDLE, SLOT_PINGING, SLOT_ACTIVE };
enum req_state { REQ_NONE, REQ_WAITING, REQ_PINGING, REQ_READY };

struct pgpool_slot {
	TAILQ_ENTRY(pgpool_slot) link; /* idle stack, or the others list */
	struct pgpool *pool;
	struct pgconn *c;
	enum slot_state state;
	int opened;
	int suspect;
	double born, last_used;
	unsigned gen;               /* the pool's appname generation it is named for */
	struct pgpool_req *for_req; /* PINGING: whom the connection goes to */
	/* PINGING: the generation it is named for once the ping answers; renaming, the name */
	unsigned ping_gen;
	char rename[PGPOOL_APPNAME_MAX];
	const char *rename_param;
	struct pgstmt rename_st; /* set_config's statement, valid until the answer */
};

TAILQ_HEAD(pgpool_slots, pgpool_slot);
TAILQ_HEAD(pgpool_reqs, pgpool_req);

struct pgpool {
	struct event_base *base;
	struct pgpool_opts o;
	char *conninfo;
	char where[100]; /* host:port/dbname, for messages */
	unsigned limit;
	struct pgpool_slots idle, others;
	struct pgpool_reqs waiters;
	unsigned nidle, nactive, nconnecting, npinging, nwaiting;
	struct event *timer; /* the oldest waiter's deadline */
	struct event *retry; /* end of the reconnect backoff */
	struct defer *defer; /* delivers the answers */
	double backoff;
	int backing_off;
	double down_since;      /* > 0: no connection could be had since then */
	uint64_t down_failures; /* attempts that failed meanwhile */
	uint64_t opened, closed, failures, timeouts, pings;
	char appname[PGPOOL_APPNAME_MAX]; /* what new connections are named */
	unsigned gen;                     /* bumped when appname changes */
};

static const struct pgstmt pgpool_ping_stmt = { PGSTMT_PARAMS, "ping", "", 0, NULL };
/* A connection named for an earlier run takes the new name in one round trip. */
#define PGPOOL_RENAME_SQL "SELECT set_config('application_name', $1, false)"

static void pgpool_serve(struct pgpool *p);

static double
pgpool_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Too old (recycle): replaced rather than reused. */
static int
pgpool_stale(const struct pgpool *p, const struct pgpool_slot *s, double now)
{
	return p->o.recycle > 0 && now - s->born >= p->o.recycle;
}

static struct timeval
pgpool_tv(double s)
{
	struct timeval tv;

	if (s < 0)
		s = 0;
	tv.tv_sec = (time_t)s;
	tv.tv_usec = (suseconds_t)((s - (double)tv.tv_sec) * 1e6);
	return tv;
}

static unsigned
pgpool_limit(const struct pgpool_opts *o)
{
	unsigned limit = o->size + o->overflow;

	if (limit > o->max)
		limit = o->max;
	return limit > 0 ? limit : 1;
}

static unsigned
pgpool_total(const struct pgpool *p)
{
	return p->nidle + p->nactive + p->nconnecting + p->npinging;
}

static void
pgpool_arm_timer(struct pgpool *p)
{
	struct pgpool_req *r = TAILQ_FIRST(&p->waiters);
	struct timeval tv;

	if (r == NULL) {
		evtimer_del(p->timer);
		return;
	}
	tv = pgpool_tv(r->deadline - pgpool_now());
	evtimer_add(p->timer, &tv);
}

static void
pgpool_deliver(struct defer_entry *e)
{
	struct pgpool_req *r = DEFER_OWNER(e, struct pgpool_req, answer);

	r->state = REQ_NONE;
	r->cb(r->conn, r->err, r->err == STORE_OK ? NULL : r->msg, r->arg);
}

/* Queues r's answer; the deferred queue delivers it from the loop. */
static void
pgpool_answer(
    struct pgpool *p, struct pgpool_req *r, struct pgconn *c, enum store_err err, const char *msg)
{
	r->conn = c;
	r->err = err;
	pgconn_copy(r->msg, sizeof(r->msg), msg);
	r->state = REQ_READY;
	defer_add(p->defer, &r->answer, pgpool_deliver);
}

static struct pgpool_req *
pgpool_pop_waiter(struct pgpool *p)
{
	struct pgpool_req *r = TAILQ_FIRST(&p->waiters);

	if (r != NULL) {
		TAILQ_REMOVE(&p->waiters, r, link);
		p->nwaiting--;
	}
	return r;
}

static void
pgpool_slot_count(struct pgpool *p, struct pgpool_slot *s, int d)
{
	switch (s->state) {
	case SLOT_CONNECTING: p->nconnecting += (unsigned)d; break;
	case SLOT_IDLE: p->nidle += (unsigned)d; break;
	case SLOT_PINGING: p->npinging += (unsigned)d; break;
	case SLOT_ACTIVE: p->nactive += (unsigned)d; break;
	}
}

/* Moves a slot to a state (and to the list that state lives on). */
static void
pgpool_slot_set(struct pgpool *p, struct pgpool_slot *s, enum slot_state st)
{
	pgpool_slot_count(p, s, -1);
	TAILQ_REMOVE(s->state == SLOT_IDLE ? &p->idle : &p->others, s, link);
	s->state = st;
	pgpool_slot_count(p, s, 1);
	if (st == SLOT_IDLE)
		TAILQ_INSERT_HEAD(&p->idle, s, link); /* LIFO */
	else
		TAILQ_INSERT_TAIL(&p->others, s, link);
}

static void
pgpool_slot_close(struct pgpool *p, struct pgpool_slot *s)
{
	pgpool_slot_count(p, s, -1);
	TAILQ_REMOVE(s->state == SLOT_IDLE ? &p->idle : &p->others, s, link);
	if (s->opened)
		p->closed++;
	pgconn_free(s->c);
	free(s);
}

/* One connection broke: the idle ones may have gone with it (a server restart). */
static void
pgpool_suspect_idle(struct pgpool *p)
{
	struct pgpool_slot *s;

	TAILQ_FOREACH (s, &p->idle, link)
		s->suspect = 1;
}

static void
pgpool_hand_over(struct pgpool *p, struct pgpool_slot *s, struct pgpool_req *r)
{
	pgpool_slot_set(p, s, SLOT_ACTIVE);
	s->for_req = NULL;
	pgpool_answer(p, r, s->c, STORE_OK, NULL);
}

static void
pgpool_lost(struct pgconn *c, void *arg)
{
	struct pgpool_slot *s = arg;
	struct pgpool *p = s->pool;

	log_debug("postgres: idle connection to %s closed by the server", p->where);
	pgpool_slot_close(p, s);
	pgpool_suspect_idle(p);
	pgpool_serve(p);
}

static void pgpool_ping(struct pgpool *p, struct pgpool_slot *s, struct pgpool_req *r);

/* A connection nobody waits for: keep it (idle), rename it, or close it (overflow, age). */
static void
pgpool_park(struct pgpool *p, struct pgpool_slot *s)
{
	double now = pgpool_now();

	if (pgpool_stale(p, s, now) || pgpool_total(p) > p->o.size || pgpool_total(p) > p->limit) {
		pgpool_slot_close(p, s);
		return;
	}
	if (s->gen != p->gen) {
		pgpool_ping(p, s, NULL);
		return;
	}
	s->last_used = now;
	pgpool_slot_set(p, s, SLOT_IDLE);
	pgconn_watch(s->c, pgpool_lost, s);
}

static void
pgpool_pinged(void *arg, enum store_err err, const char *msg)
{
	struct pgpool_slot *s = arg;
	struct pgpool *p = s->pool;
	struct pgpool_req *r = s->for_req;

	p->npinging--;
	p->nactive++;
	s->state = SLOT_ACTIVE;
	s->for_req = NULL;
	if (r != NULL)
		r->slot = NULL;
	if (err != STORE_OK || !pgconn_ok(s->c)) {
		log_debug("postgres: pre-ping failed: %s", msg != NULL ? msg : "");
		pgpool_slot_close(p, s);
		pgpool_suspect_idle(p);
		if (r != NULL) { /* back to the front: it keeps its turn */
			r->state = REQ_WAITING;
			TAILQ_INSERT_HEAD(&p->waiters, r, link);
			p->nwaiting++;
			pgpool_arm_timer(p);
		}
	} else {
		s->suspect = 0;
		s->gen = s->ping_gen;
		s->last_used = pgpool_now();
		if (r != NULL)
			pgpool_answer(p, r, s->c, STORE_OK, NULL);
		else
			pgpool_park(p, s);
	}
	pgpool_serve(p);
}

/*
 * Checks s before r gets it (r NULL: before it goes back to idle).  A
 * connection named for an earlier run is renamed by the same round trip: a new
 * run's application_name costs one round trip, not a reconnection of the pool.
 */
static void
pgpool_ping(struct pgpool *p, struct pgpool_slot *s, struct pgpool_req *r)
{
	static const struct pgstmt rename = { PGSTMT_PARAMS, "rename", PGPOOL_RENAME_SQL, 1, NULL };
	const struct pgstmt *st = &pgpool_ping_stmt;

	pgconn_unwatch(s->c);
	pgpool_slot_set(p, s, SLOT_PINGING);
	s->for_req = r;
	if (r != NULL) {
		r->state = REQ_PINGING;
		r->slot = s;
	}
	p->pings++;
	s->ping_gen = p->gen;
	if (s->gen != p->gen) {
		memcpy(s->rename, p->appname, sizeof(s->rename));
		s->rename_param = s->rename;
		s->rename_st = rename;
		s->rename_st.params = &s->rename_param;
		st = &s->rename_st;
	}
	pgconn_exec(s->c, st, 1, NULL, pgpool_pinged, s);
}

/* Gives idle connections to waiters, pinging the ones that sat too long. */
static void
pgpool_serve_idle(struct pgpool *p)
{
	double now = pgpool_now();
	struct pgpool_slot *s;
	struct pgpool_req *r;

	while ((s = TAILQ_FIRST(&p->idle)) != NULL && !TAILQ_EMPTY(&p->waiters)) {
		if (!pgconn_ok(s->c) || pgpool_stale(p, s, now)) {
			pgpool_slot_close(p, s);
			continue;
		}
		pgconn_unwatch(s->c);
		r = pgpool_pop_waiter(p);
		if (s->suspect || s->gen != p->gen ||
		    (p->o.pre_ping && now - s->last_used >= p->o.ping_after))
			pgpool_ping(p, s, r);
		else
			pgpool_hand_over(p, s, r);
	}
}

static void pgpool_connected(struct pgconn *c, enum store_err err, const char *msg, void *arg);

static int
pgpool_open_one(struct pgpool *p)
{
	struct pgpool_slot *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return -1;
	s->pool = p;
	s->state = SLOT_CONNECTING;
	s->born = pgpool_now();
	s->gen = p->gen;
	TAILQ_INSERT_TAIL(&p->others, s, link);
	p->nconnecting++;
	s->c = pgconn_connect(p->base, &p->o.conn, pgpool_connected, s);
	if (s->c == NULL) {
		p->nconnecting--;
		TAILQ_REMOVE(&p->others, s, link);
		free(s);
		return -1;
	}
	pgconn_set_owner(s->c, s);
	return 0;
}

static void
pgpool_open_n(struct pgpool *p, unsigned n)
{
	while (n-- > 0)
		if (pgpool_open_one(p) != 0) {
			log_warnx("postgres: out of memory opening a connection");
			break;
		}
}

/* Opens connections for the waiters no connection attempt is already meant for. */
static void
pgpool_grow(struct pgpool *p)
{
	unsigned want, total = pgpool_total(p);

	if (p->backing_off || p->nwaiting <= p->nconnecting || total >= p->limit)
		return;
	want = p->nwaiting - p->nconnecting;
	if (want > p->limit - total)
		want = p->limit - total;
	if (p->backoff > 0)
		want = p->nconnecting == 0; /* after a failure: one probe at a time */
	pgpool_open_n(p, want);
}

static void
pgpool_serve(struct pgpool *p)
{
	pgpool_serve_idle(p);
	pgpool_grow(p);
	pgpool_arm_timer(p);
}

/* Nothing open and nothing on the way: the waiters would only wait for their timeout. */
static void
pgpool_fail_waiters(struct pgpool *p, const char *msg)
{
	struct pgpool_req *r;

	if (p->nidle + p->nactive + p->npinging + p->nconnecting > 0)
		return;
	while ((r = pgpool_pop_waiter(p)) != NULL)
		pgpool_answer(p, r, NULL, STORE_ERR_CONNECT, msg);
}

static void
pgpool_connect_failed(struct pgpool *p, struct pgpool_slot *s, const char *msg)
{
	char line[PGCONN_MSG_MAX + 128];
	struct timeval tv;

	p->failures++;
	snprintf(line, sizeof(line), "cannot connect to %s: %s", p->where,
	    msg != NULL ? msg : "unknown error");
	pgpool_slot_close(p, s); /* msg lives in the connection: used above */
	/* an outage is said once when it starts, once when it ends; attempts in debug */
	p->down_failures++;
	if (p->down_since == 0) {
		p->down_since = pgpool_now();
		log_warnx("postgres: the database is unreachable (%s); reconnecting with backoff, "
			  "work waits",
		    line);
	} else {
		log_debug("postgres: %s", line);
	}
	p->backoff = p->backoff > 0 ? p->backoff * 2 : p->o.backoff_min;
	if (p->backoff > p->o.backoff_max)
		p->backoff = p->o.backoff_max;
	p->backing_off = 1;
	tv = pgpool_tv(p->backoff);
	evtimer_add(p->retry, &tv);
	pgpool_fail_waiters(p, line);
	pgpool_arm_timer(p);
}

static void
pgpool_connected(struct pgconn *c, enum store_err err, const char *msg, void *arg)
{
	struct pgpool_slot *s = arg;
	struct pgpool *p = s->pool;
	struct pgpool_req *r;

	if (err != STORE_OK) {
		pgpool_connect_failed(p, s, msg);
		return;
	}
	p->opened++;
	s->opened = 1;
	s->born = s->last_used = pgpool_now();
	p->backoff = 0;
	if (p->down_since > 0) {
		log_info("postgres: the database at %s is reachable again after %.1f s "
			 "(%llu failed connection attempts)",
		    p->where, s->born - p->down_since, (unsigned long long)p->down_failures);
		p->down_since = 0;
		p->down_failures = 0;
	}
	if (pgpool_total(p) <= p->limit && (r = pgpool_pop_waiter(p)) != NULL) {
		pgpool_hand_over(p, s, r);
	} else {
		pgpool_slot_set(p, s, SLOT_ACTIVE);
		pgpool_park(p, s); /* closes it when over the cap */
	}
	pgpool_serve(p);
}

static void
pgpool_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pgpool *p = arg;

	p->backing_off = 0;
	pgpool_serve(p);
}

static void
pgpool_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pgpool *p = arg;
	double now = pgpool_now();
	struct pgpool_req *r;
	char msg[200];

	snprintf(msg, sizeof(msg),
	    "no database connection free within %g s (%u of %u in use, %u waiting)", p->o.timeout,
	    p->nactive + p->npinging, p->limit, p->nwaiting);
	while ((r = TAILQ_FIRST(&p->waiters)) != NULL && r->deadline <= now + 1e-4) {
		pgpool_pop_waiter(p);
		p->timeouts++;
		pgpool_answer(p, r, NULL, STORE_ERR_TIMEOUT, msg);
	}
	pgpool_arm_timer(p);
}

struct pgpool *
pgpool_new(struct event_base *base, const struct pgpool_opts *o)
{
	struct pgpool *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->base = base;
	p->o = *o;
	TAILQ_INIT(&p->idle);
	TAILQ_INIT(&p->others);
	TAILQ_INIT(&p->waiters);
	p->conninfo = strdup(o->conn.conninfo != NULL ? o->conn.conninfo : "");
	p->timer = evtimer_new(base, pgpool_timer_cb, p);
	p->retry = evtimer_new(base, pgpool_retry_cb, p);
	p->defer = defer_new(base);
	if (p->conninfo == NULL || p->timer == NULL || p->retry == NULL || p->defer == NULL) {
		pgpool_free(p);
		return NULL;
	}
	p->o.conn.conninfo = p->conninfo;
	pgconn_copy(p->appname, sizeof(p->appname), o->conn.appname);
	p->o.conn.appname = p->appname[0] != '\0' ? p->appname : NULL;
	if (p->o.ping_after <= 0)
		p->o.ping_after = 10;
	if (p->o.backoff_min <= 0)
		p->o.backoff_min = 0.1;
	if (p->o.backoff_max < p->o.backoff_min)
		p->o.backoff_max = p->o.backoff_min > 5 ? p->o.backoff_min : 5;
	p->limit = pgpool_limit(o);
	pgconn_describe(p->where, sizeof(p->where), p->conninfo);
	return p;
}

void
pgpool_free(struct pgpool *p)
{
	struct pgpool_slot *s;

	if (p == NULL)
		return;
	while ((s = TAILQ_FIRST(&p->idle)) != NULL)
		pgpool_slot_close(p, s);
	while ((s = TAILQ_FIRST(&p->others)) != NULL)
		pgpool_slot_close(p, s);
	if (p->timer != NULL)
		event_free(p->timer);
	if (p->retry != NULL)
		event_free(p->retry);
	defer_free(p->defer);
	free(p->conninfo);
	free(p);
}

void
pgpool_acquire(struct pgpool *p, struct pgpool_req *r, pgpool_cb cb, void *arg)
{
	r->cb = cb;
	r->arg = arg;
	memset(&r->answer, 0, sizeof(r->answer)); /* the caller's memory: not yet queued */
	r->conn = NULL;
	r->slot = NULL;
	r->err = STORE_OK;
	r->msg[0] = '\0';
	r->deadline = pgpool_now() + p->o.timeout;
	r->state = REQ_WAITING;
	TAILQ_INSERT_TAIL(&p->waiters, r, link);
	p->nwaiting++;
	pgpool_serve(p);
}

int
pgpool_cancel(struct pgpool *p, struct pgpool_req *r)
{
	switch (r->state) {
	case REQ_WAITING:
		TAILQ_REMOVE(&p->waiters, r, link);
		p->nwaiting--;
		pgpool_arm_timer(p);
		break;
	case REQ_PINGING:
		((struct pgpool_slot *)r->slot)->for_req = NULL;
		r->slot = NULL;
		break;
	case REQ_READY:
		defer_cancel(p->defer, &r->answer);
		if (r->conn != NULL)
			pgpool_release(p, r->conn);
		break;
	default: return 0;
	}
	r->state = REQ_NONE;
	return 1;
}

void
pgpool_release(struct pgpool *p, struct pgconn *c)
{
	struct pgpool_slot *s = pgconn_owner(c);
	struct pgpool_req *r;

	if (!pgconn_ok(c)) {
		pgpool_slot_close(p, s);
		pgpool_suspect_idle(p);
	} else if (pgpool_stale(p, s, pgpool_now()) || pgpool_total(p) > p->limit) {
		pgpool_slot_close(p, s); /* over a cap lowered meanwhile (pgpool_set_max) */
	} else if ((r = pgpool_pop_waiter(p)) != NULL) {
		s->last_used = pgpool_now();
		pgpool_answer(p, r, c, STORE_OK, NULL); /* stays ACTIVE */
	} else {
		pgpool_park(p, s);
	}
	pgpool_serve(p);
}

void
pgpool_set_max(struct pgpool *p, unsigned max)
{
	struct pgpool_slot *s;

	p->o.max = max;
	p->limit = pgpool_limit(&p->o);
	/* the coldest idle ones first; those in use close as they come back */
	while (pgpool_total(p) > p->limit && (s = TAILQ_LAST(&p->idle, pgpool_slots)) != NULL)
		pgpool_slot_close(p, s);
	pgpool_serve(p);
}

void
pgpool_warm(struct pgpool *p)
{
	unsigned total = pgpool_total(p), n = p->o.size < p->limit ? p->o.size : p->limit;

	if (!p->backing_off && p->backoff == 0 && total < n)
		pgpool_open_n(p, n - total);
}

void
pgpool_set_appname(struct pgpool *p, const char *name)
{
	struct pgpool_slot *s;

	if (strcmp(p->appname, name) == 0)
		return;
	pgconn_copy(p->appname, sizeof(p->appname), name);
	p->o.conn.appname = p->appname;
	p->gen++;
	/* idle ones are renamed now; those in use when they come back (pgpool_park) */
	while ((s = TAILQ_FIRST(&p->idle)) != NULL)
		pgpool_ping(p, s, NULL);
	pgpool_serve(p);
}

void
pgpool_stats(const struct pgpool *p, struct pgpool_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->active = p->nactive + p->npinging;
	st->idle = p->nidle;
	st->connecting = p->nconnecting;
	st->waiting = p->nwaiting;
	st->limit = p->limit;
	st->opened = p->opened;
	st->closed = p->closed;
	st->connect_failures = p->failures;
	st->timeouts = p->timeouts;
	st->pings = p->pings;
}
