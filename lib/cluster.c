/*
 * cluster.c - a member of a cluster: its connection, its job queue, the
 * heartbeat and what it reads back (see cluster.h).  clustershard.c claims
 * and runs shards.
 *
 * All statements go through one queue on one connection, one job at a time,
 * so that the heartbeat, a claim and a checkpoint's copy never race each
 * other on this member.  Between jobs the connection is watched, which is
 * where NOTIFYs on simd_cluster arrive: they bring the next tick forward.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "sim/ckptcodec.h"
#include "sim/ckptsched.h"
#include "sim/cluster.h"
#include "sim/cluster_priv.h"
#include "sim/config.h"
#include "sim/engine.h"
#include "sim/log.h"
#include "sim/params.h"
#include "sim/store.h"

double
cl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
cl_beat(const struct cluster *c)
{
	return c->o.lease_ttl / 3;
}

static void
cl_arm(struct event *ev, double s)
{
	struct timeval tv = { (time_t)s, (suseconds_t)((s - (double)(time_t)s) * 1e6) };

	event_add(ev, &tv);
}

/* ---- options ---- */

void
cluster_opts_from_config(struct cluster_opts *o, const struct sim_config *c)
{
	memset(o, 0, sizeof(*o));
	o->conninfo = c->database_url;
	o->member = c->cluster_member;
	o->data_dir = c->data_dir;
	o->lease_ttl = c->lease_ttl;
	o->connect_timeout = c->connect_timeout;
	o->pool_max = (unsigned)c->cluster_pool_max;
	o->max_skew = (unsigned)c->cluster_max_skew;
}

int
cluster_check(const struct sim_config *c, char *err, size_t errlen)
{
	if (!c->cluster)
		return 0;
	if (c->database_url[0] == '\0') {
		snprintf(err, errlen,
		    "cluster = on: the members of a cluster share one PostgreSQL database; "
		    "set database_url");
		return -1;
	}
	if (strlen(c->cluster_member) >= CLUSTER_NAME_MAX) {
		snprintf(err, errlen, "cluster_member: at most %d bytes", CLUSTER_NAME_MAX - 1);
		return -1;
	}
	return 0;
}

void
cluster_default_member(char *buf, size_t len, const char *data_dir)
{
	char host[64];
	uint32_t h = 2166136261u; /* FNV-1a */

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	for (const char *p = data_dir; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	snprintf(buf, len, "%s:%08x", host, (unsigned)h);
}

/* ---- jobs ---- */

struct cjob *
cj_new(struct cluster *c, cj_res_fn res, cj_done_fn done, void *arg)
{
	struct cjob *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return NULL;
	j->c = c;
	j->res = res;
	j->done = done;
	j->arg = arg;
	return j;
}

/* Appends a statement with n text parameters (copied; NULL is SQL NULL). */
void
cj_add(struct cjob *j, const char *name, const char *sql, int n, ...)
{
	va_list ap;
	struct pgstmt *st;

	if (j->n >= CJ_STMTS || n > CJ_PARAMS) {
		j->nomem = 1;
		return;
	}
	st = &j->st[j->n];
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		const char *v = va_arg(ap, const char *);
		char *copy = NULL;

		if (v != NULL && (copy = strdup(v)) == NULL)
			j->nomem = 1;
		j->own[j->nown++] = copy;
		j->pv[j->n][i] = copy;
	}
	va_end(ap);
	*st = (struct pgstmt){ PGSTMT_PARAMS, name, sql, n, j->pv[j->n] };
	j->n++;
}

/* As cj_add, taking a malloc'd parameter (the state's hex) instead of copying it. */
void
cj_take(struct cjob *j, int stmt, int idx, char *value)
{
	if (value == NULL || j->nown >= CJ_STMTS * CJ_PARAMS) {
		free(value);
		j->nomem = 1;
		return;
	}
	j->own[j->nown++] = value;
	j->pv[stmt][idx] = value;
}

static void
cj_free(struct cjob *j)
{
	for (int i = 0; i < j->nown; i++)
		free(j->own[i]);
	free(j);
}

static void cl_pump(struct cluster *c);

static void
cj_res(void *arg, int idx, const PGresult *r)
{
	struct cjob *j = arg;

	if (j->res != NULL)
		j->res(j, idx, r);
}

static void
cl_conn_gone(struct cluster *c)
{
	pgconn_free(c->conn);
	c->conn = NULL;
	c->connected = 0;
	if (!c->closing)
		cl_arm(c->timers[CL_RETRY], c->retry_s);
}

static void
cj_done(void *arg, enum store_err err, const char *msg)
{
	struct cjob *j = arg;
	struct cluster *c = j->c;

	c->running = NULL;
	j->done(j, err, msg);
	cj_free(j);
	if (err == STORE_ERR_CONNECT || err == STORE_ERR_TIMEOUT ||
	    (c->conn != NULL && !pgconn_ok(c->conn))) {
		log_warnx("cluster: connection lost: %s", msg != NULL ? msg : "(no message)");
		cl_conn_gone(c);
		return;
	}
	cl_pump(c);
}

void
cj_submit(struct cluster *c, struct cjob *j, int first)
{
	struct cjob **pp;

	if (j->nomem || c->closing) {
		j->done(j, c->closing ? STORE_ERR_CLOSED : STORE_ERR_NOMEM,
		    c->closing ? "the daemon is shutting down" : "out of memory");
		cj_free(j);
		return;
	}
	if (first) {
		j->next = c->queue;
		c->queue = j;
	} else {
		for (pp = &c->queue; *pp != NULL; pp = &(*pp)->next)
			;
		*pp = j;
	}
	cl_pump(c);
}

static void
cl_lost(struct pgconn *conn, void *arg)
{
	struct cluster *c = arg;

	log_warnx("cluster: the server closed the connection");
	cl_conn_gone(c);
}

static void
cl_notified(void *arg, const char *channel, const char *payload)
{
	struct cluster *c = arg;

	log_debug("cluster: NOTIFY %s %s", channel, payload);
	event_active(c->timers[CL_WAKE], EV_TIMEOUT, 0);
}

static void cl_connected(struct pgconn *conn, enum store_err err, const char *msg, void *arg);

int
cluster_drain(struct cluster *c, void (*fn)(void *), void *arg)
{
	if (c->drained != NULL)
		return -1;
	c->leaving = 1; /* claims nothing more */
	if (c->queue == NULL && c->running == NULL) {
		fn(arg);
		return 0;
	}
	c->drained = fn;
	c->drained_arg = arg;
	return 0;
}

static void
cl_pump(struct cluster *c)
{
	struct cjob *j;
	void (*fn)(void *);

	if (c->closing)
		return;
	if (c->queue == NULL && c->running == NULL && (fn = c->drained) != NULL) {
		c->drained = NULL;
		fn(c->drained_arg);
		return;
	}
	if (c->conn == NULL) {
		if (!evtimer_pending(c->timers[CL_RETRY], NULL)) {
			c->conn = pgconn_connect(c->base, &c->copts, cl_connected, c);
			if (c->conn == NULL)
				cl_conn_gone(c);
		}
		return;
	}
	if (!c->connected || c->running != NULL || (j = c->queue) == NULL)
		return;
	c->queue = j->next;
	c->running = j;
	j->sent = cl_now();
	pgconn_unwatch(c->conn);
	pgconn_exec(c->conn, j->st, j->n, cj_res, cj_done, j);
}

static void
cl_listened(struct cjob *j, enum store_err err, const char *msg)
{
	struct cluster *c = j->c;

	if (err != STORE_OK)
		return;
	if (c->conn != NULL && c->queue == NULL)
		pgconn_watch(c->conn, cl_lost, c);
	event_active(c->timers[CL_WAKE], EV_TIMEOUT, 0); /* what happened while we were away */
}

static void
cl_connected(struct pgconn *conn, enum store_err err, const char *msg, void *arg)
{
	struct cluster *c = arg;
	struct cjob *j;

	if (err != STORE_OK) {
		if (!c->warned_down)
			log_warnx("cluster: cannot connect: %s", msg);
		c->warned_down = 1;
		c->retry_s = c->retry_s * 2 > cl_beat(c) ? cl_beat(c) : c->retry_s * 2;
		cl_conn_gone(c);
		return;
	}
	if (c->warned_down)
		log_info("cluster: connected again");
	c->warned_down = 0;
	c->retry_s = CL_RETRY_MIN;
	c->connected = 1;
	pgconn_on_notify(conn, cl_notified, c);
	if ((j = cj_new(c, NULL, cl_listened, NULL)) == NULL) {
		cl_conn_gone(c);
		return;
	}
	cj_add(j, "listen", "LISTEN " CLUSTER_CHANNEL, 0);
	cj_submit(c, j, 1);
}

/* Whatever job finished last left the queue empty: watch for NOTIFYs meanwhile. */
void
cl_idle_watch(struct cluster *c)
{
	if (c->conn != NULL && c->connected && c->running == NULL && c->queue == NULL &&
	    pgconn_ok(c->conn))
		pgconn_watch(c->conn, cl_lost, c);
}

static void
cl_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	cl_pump(arg);
}

/* ---- results ---- */

const char *
cl_val(const PGresult *r, int row, int col)
{
	if (row >= PQntuples(r) || col >= PQnfields(r) || PQgetisnull(r, row, col))
		return NULL;
	return PQgetvalue(r, row, col);
}

long long
cl_int(const PGresult *r, int row, int col, long long dflt)
{
	const char *v = cl_val(r, row, col);

	return v != NULL ? strtoll(v, NULL, 10) : dflt;
}

double
cl_num(const PGresult *r, int row, int col)
{
	const char *v = cl_val(r, row, col);

	return v != NULL ? strtod(v, NULL) : 0;
}

void
cl_copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src != NULL ? src : "");
}

/* ---- the connection budget ---- */

/*
 * This member's share of cluster_pool_max: what is left after every live
 * member's coordination connection, split evenly, at least 1.  It shrinks at
 * once; it grows only into what the other members' recorded caps leave, so
 * that a member joining never counts on connections another still holds.
 */
static void
cl_pool_share(struct cluster *c)
{
	const struct cl_view *v = &c->view;
	long long live = 0, others = 0, budget, fair, room, cap;

	for (uint32_t i = 0; i < v->nmember; i++) {
		if (v->member[i].age >= c->o.lease_ttl)
			continue;
		live++;
		if (strcmp(v->member[i].name, c->member) != 0)
			others += v->member[i].pool_cap;
	}
	if (live == 0)
		live = 1;
	budget = (long long)c->o.pool_max - live * CLUSTER_COORD_CONNS;
	fair = budget / live;
	/* said once each time it starts: the budget cannot be kept (each member needs one) */
	if ((fair < 1) != c->budget_short) {
		c->budget_short = fair < 1;
		if (c->budget_short)
			log_warnx(
			    "cluster: %lld live members leave no share of cluster_pool_max %u "
			    "(a member needs %d connections): each pool keeps 1, so the "
			    "cluster may open %lld",
			    live, c->o.pool_max, CLUSTER_COORD_CONNS + 1,
			    live * (CLUSTER_COORD_CONNS + 1));
		else
			log_info(
			    "cluster: cluster_pool_max %u has a share for each of the %lld live "
			    "members again",
			    c->o.pool_max, live);
	}
	room = budget - others;
	cap = fair;
	if (cap > c->pool_cap)
		cap = room > c->pool_cap ? (room < fair ? room : fair) : c->pool_cap;
	if (cap < 1)
		cap = 1;
	if ((uint32_t)cap == c->pool_cap)
		return;
	log_info("cluster: %lld live members share cluster_pool_max %u: this member's pool cap %u "
		 "-> %lld",
	    live, c->o.pool_max, c->pool_cap, cap);
	c->pool_cap = (uint32_t)cap;
	store_set_pool_max(c->store, c->pool_cap);
}

/* ---- the heartbeat, and what it reads back ---- */

/* The run this member shows: the one it holds a shard of, else the newest. */
#define CL_RUN_SQL                                                                      \
	"(SELECT run_id FROM simd_runs ORDER BY (run_id IS NOT DISTINCT FROM $1) DESC," \
	" created_at DESC LIMIT 1)"

/* The final states of the runs clients wait for (the heartbeat's last statement). */
static void
cl_waiters_read(struct cluster *c, const PGresult *r)
{
	for (int i = 0; i < PQntuples(r); i++) {
		const char *id = cl_val(r, i, 0), *st = cl_val(r, i, 1);
		if (id == NULL || st == NULL || strcmp(st, "running") == 0 ||
		    strcmp(st, "paused") == 0)
			continue;
		for (struct cl_waiter *w = c->waiters; w != NULL; w = w->next)
			if (strcmp(w->run_id, id) == 0)
				cl_copy(w->ended, sizeof(w->ended), st);
	}
}

/* Tells the waiters whose run has ended (all of them, with NULL, when closing). */
static void
cl_waiters_tell(struct cluster *c)
{
	struct cl_waiter **pw = &c->waiters, *w;

	while ((w = *pw) != NULL) {
		if (!c->closing && w->ended[0] == '\0') {
			pw = &w->next;
			continue;
		}
		*pw = w->next;
		w->fn(c->closing ? NULL : w->ended, w->arg);
		free(w);
	}
}

int
cluster_wait_run(struct cluster *c, const char *run_id, cluster_end_fn fn, void *arg)
{
	struct cl_waiter *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return -1;
	cl_copy(w->run_id, sizeof(w->run_id), run_id);
	w->fn = fn;
	w->arg = arg;
	w->next = c->waiters;
	c->waiters = w;
	return 0;
}

/* "{id,...}": the runs waited for, as a text[] (run ids are printable, without , { } or "). */
static char *
cl_waited_ids(const struct cluster *c)
{
	size_t n = 3;
	char *s;

	for (const struct cl_waiter *w = c->waiters; w != NULL; w = w->next)
		n += strlen(w->run_id) + 3;
	if ((s = malloc(n)) == NULL)
		return NULL;
	strcpy(s, "{");
	for (const struct cl_waiter *w = c->waiters; w != NULL; w = w->next) {
		strcat(s, "\"");
		strcat(s, w->run_id);
		strcat(s, w->next != NULL ? "\"," : "\"");
	}
	strcat(s, "}");
	return s;
}

static void
hb_res(struct cjob *j, int idx, const PGresult *r)
{
	struct cl_view *v = j->arg;
	int n = PQntuples(r);

	if (idx == 1) {
		for (int i = 0; i < n && v->nmember < CLUSTER_MEMBER_MAX; i++) {
			struct cl_member *m = &v->member[v->nmember++];
			cl_copy(m->name, sizeof(m->name), cl_val(r, i, 0));
			m->age = cl_num(r, i, 1);
			cl_copy(m->run_id, sizeof(m->run_id), cl_val(r, i, 2));
			m->shard = cl_int(r, i, 3, -1);
			m->pool_cap = (uint32_t)cl_int(r, i, 4, 0);
			m->cycle = cl_int(r, i, 5, -1);
			m->lag_s = cl_num(r, i, 6);
		}
	} else if (idx == 2 && n > 0) {
		cl_copy(v->run_id, sizeof(v->run_id), cl_val(r, 0, 0));
		v->shards = (uint32_t)cl_int(r, 0, 1, 0);
		cl_copy(v->state, sizeof(v->state), cl_val(r, 0, 2));
		v->concurrency = cl_int(r, 0, 3, -1);
		v->has_run = 1;
	} else if (idx == 4) {
		cl_waiters_read(j->c, r);
	} else if (idx == 3 && n > 0 && (v->shard = calloc((size_t)n, sizeof(*v->shard))) != NULL) {
		for (int i = 0; i < n; i++) {
			struct cl_shard *s = &v->shard[v->nshard++];
			const char *counts = cl_val(r, i, 5);
			char why[128];
			s->index = (uint32_t)cl_int(r, i, 0, 0);
			cl_copy(s->state, sizeof(s->state), cl_val(r, i, 1));
			cl_copy(s->holder, sizeof(s->holder), cl_val(r, i, 2));
			s->generation = cl_int(r, i, 3, 0);
			s->cycle = (uint32_t)cl_int(r, i, 4, 0);
			s->has_counts = counts != NULL &&
			    ckpt_counts_parse(
				counts, strlen(counts), &s->counts, why, sizeof(why)) == CKPT_OK;
		}
	}
}

static void
view_clear(struct cl_view *v)
{
	free(v->shard);
	memset(v, 0, sizeof(*v));
}

static void
hb_done(struct cjob *j, enum store_err err, const char *msg)
{
	struct cluster *c = j->c;
	struct cl_view *v = j->arg;

	c->hb_busy = 0;
	if (err != STORE_OK) {
		if (err != STORE_ERR_CLOSED)
			log_warnx("cluster: heartbeat failed: %s", msg);
		view_clear(v);
		free(v);
		return;
	}
	if (c->hb_ok == 0)
		log_info("cluster: member %s joined (lease_ttl %g s)", c->member, c->o.lease_ttl);
	c->hb_ok = j->sent; /* the lease runs from when it was asked for, to be safe */
	v->at = cl_now();
	view_clear(&c->view);
	c->view = *v;
	free(v);
	cl_pool_share(c);
	cl_waiters_tell(c);
	cl_shard_view(c);
	cl_maybe_claim(c);
	cl_idle_watch(c);
}

static void
cl_heartbeat(struct cluster *c)
{
	struct cl_view *v;
	struct cjob *j;
	struct run_state rs;
	char pid[24], shard[16], cycle[16], lag[32], cap[16], ttl[32], *counts = NULL;
	const char *run = NULL;
	int have = c->held.on && engine_run_state(c->engine, &rs) == 0;

	if (c->hb_busy || c->closing)
		return;
	if ((v = calloc(1, sizeof(*v))) == NULL || (j = cj_new(c, hb_res, hb_done, v)) == NULL) {
		free(v);
		return;
	}
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	snprintf(cap, sizeof(cap), "%u", c->pool_cap);
	snprintf(ttl, sizeof(ttl), "%.3f", c->o.lease_ttl);
	if (c->held.on) {
		run = c->held.run_id;
		snprintf(shard, sizeof(shard), "%u", c->held.shard);
		if (have) {
			snprintf(cycle, sizeof(cycle), "%u", rs.cycle);
			snprintf(lag, sizeof(lag), "%.3f", rs.lag_s);
			counts = ckpt_counts_text(&rs.counts);
		}
	}
	cj_add(j, "cl_beat",
	    "INSERT INTO simd_members (member, host, pid, run_id, shard, cycle, lag_s, counts,"
	    " pool_cap, heartbeat) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, now())"
	    " ON CONFLICT (member) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid,"
	    " run_id = EXCLUDED.run_id, shard = EXCLUDED.shard, cycle = EXCLUDED.cycle,"
	    " lag_s = EXCLUDED.lag_s, counts = EXCLUDED.counts, pool_cap = EXCLUDED.pool_cap,"
	    " heartbeat = now()",
	    9, c->member, c->host, pid, run, run ? shard : NULL, have ? cycle : NULL,
	    have ? lag : NULL, counts, cap);
	free(counts);
	cj_add(j, "cl_members",
	    "SELECT member, extract(epoch FROM now() - heartbeat), run_id, shard, pool_cap, cycle,"
	    " lag_s FROM simd_members WHERE heartbeat > now() - make_interval(secs => $1::float8 * 10)"
	    " ORDER BY member",
	    1, ttl);
	cj_add(j, "cl_run",
	    "SELECT run_id, shards, state, concurrency FROM simd_runs WHERE run_id = " CL_RUN_SQL,
	    1, run);
	cj_add(j, "cl_shards",
	    "SELECT shard, state, holder, generation, cycle, counts FROM simd_shards"
	    " WHERE run_id = " CL_RUN_SQL " ORDER BY shard",
	    1, run);
	if (c->waiters != NULL) {
		cj_add(j, "cl_waited",
		    "SELECT run_id, state FROM simd_runs WHERE run_id = ANY($1::text[])", 1, "");
		cj_take(j, 4, 0, cl_waited_ids(c));
	}
	c->hb_busy = 1;
	cj_submit(c, j, 0);
}

static void
cl_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cluster *c = arg;

	if (c->closing)
		return;
	cl_lease_check(c);
	cl_heartbeat(c);
	cl_maybe_claim(c);
}

/* ---- starting a run ---- */

struct start_req {
	cluster_done_fn done;
	void *arg;
};

static void
start_done(struct cjob *j, enum store_err err, const char *msg)
{
	struct start_req *s = j->arg;

	s->done(err == STORE_OK, msg != NULL ? msg : "failed", s->arg);
	free(s);
	cl_idle_watch(j->c);
}

int
cluster_start_run(struct cluster *c, const struct run_params *p, uint32_t shards,
    cluster_done_fn done, void *arg, char *err, size_t errlen)
{
	struct start_req *s = malloc(sizeof(*s));
	struct cjob *j = s != NULL ? cj_new(c, NULL, start_done, s) : NULL;
	char *text = ckpt_params_text(p), n[16];

	if (j == NULL || text == NULL) {
		free(s);
		free(j);
		free(text);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->done = done;
	s->arg = arg;
	snprintf(n, sizeof(n), "%u", shards);
	cj_add(j, "begin", "BEGIN", 0);
	cj_add(j, "cl_run_new",
	    "INSERT INTO simd_runs (run_id, params, shards, state) VALUES ($1, $2, $3, 'running')",
	    3, p->run_id, text, n);
	cj_add(j, "cl_shards_new",
	    "INSERT INTO simd_shards (run_id, shard) SELECT $1, g"
	    " FROM generate_series(0, $2::integer - 1) AS g",
	    2, p->run_id, n);
	cj_add(j, "cl_notify", "SELECT pg_notify('" CLUSTER_CHANNEL "', $1)", 1, p->run_id);
	cj_add(j, "commit", "COMMIT", 0);
	free(text);
	log_info("cluster: run %s of %u agents in %u shards", p->run_id, p->agents, shards);
	cj_submit(c, j, 0);
	return 0;
}

/* ---- control of the whole run ---- */

int
cluster_has_run(const struct cluster *c)
{
	const struct cl_view *v = &c->view;

	if (c->held.on)
		return 1;
	return v->has_run && !engine_active(c->engine) &&
	    (strcmp(v->state, "running") == 0 || strcmp(v->state, "paused") == 0);
}

struct control_req {
	cluster_done_fn done;
	void *arg;
	int changed;
	char run_id[RUN_ID_MAX];
};

static void
control_res(struct cjob *j, int idx, const PGresult *r)
{
	struct control_req *q = j->arg;

	if (idx == 1)
		q->changed = PQntuples(r) > 0;
}

static void
control_done(struct cjob *j, enum store_err err, const char *msg)
{
	struct control_req *q = j->arg;
	char why[128];

	if (err == STORE_OK && !q->changed) {
		snprintf(
		    why, sizeof(why), "the cluster's run %s is no longer under way", q->run_id);
		q->done(0, why, q->arg);
	} else {
		q->done(err == STORE_OK, msg != NULL ? msg : "failed", q->arg);
	}
	free(q);
	cl_idle_watch(j->c);
}

int
cluster_run_control(struct cluster *c, const char *state, uint32_t concurrency,
    cluster_done_fn done, void *arg, char *err, size_t errlen)
{
	struct control_req *q;
	struct cjob *j;
	char n[16];

	if (!cluster_has_run(c)) {
		snprintf(err, errlen, "no run of the cluster is under way");
		return -1;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL ||
	    (j = cj_new(c, control_res, control_done, q)) == NULL) {
		free(q);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	q->done = done;
	q->arg = arg;
	cl_copy(q->run_id, sizeof(q->run_id), c->held.on ? c->held.run_id : c->view.run_id);
	snprintf(n, sizeof(n), "%u", concurrency);
	cj_add(j, "begin", "BEGIN", 0);
	cj_add(j, "cl_control",
	    "UPDATE simd_runs SET state = COALESCE($2, state),"
	    " concurrency = COALESCE(NULLIF($3::integer, 0), concurrency), updated_at = now()"
	    " WHERE run_id = $1 AND state IN ('running', 'paused') RETURNING state",
	    3, q->run_id, state, n);
	cj_add(j, "cl_notify", "SELECT pg_notify('" CLUSTER_CHANNEL "', $1)", 1, q->run_id);
	cj_add(j, "commit", "COMMIT", 0);
	log_info("cluster: run %s: %s%s%s for every member", q->run_id, state ? state : "",
	    state && concurrency ? ", " : "", concurrency ? "a new concurrency" : "");
	cj_submit(c, j, 0);
	return 0;
}

/* ---- status ---- */

static json_t *
counts_json(const struct engine_counts *k)
{
	json_t *o = json_object();

	for (size_t i = 0; o != NULL && i < engine_ncount_defs; i++)
		json_object_set_new(o, engine_count_defs[i].name,
		    json_integer((json_int_t) *
			(const uint64_t *)((const char *)k + engine_count_defs[i].offset)));
	return o;
}

static void
counts_add(struct engine_counts *sum, const struct engine_counts *k)
{
	for (size_t i = 0; i < engine_ncount_defs; i++)
		*(uint64_t *)((char *)sum + engine_count_defs[i].offset) +=
		    *(const uint64_t *)((const char *)k + engine_count_defs[i].offset);
}

static json_t *
shards_json(const struct cl_view *v, struct engine_counts *sum)
{
	json_t *a = json_array();

	for (uint32_t i = 0; a != NULL && i < v->nshard; i++) {
		const struct cl_shard *s = &v->shard[i];
		if (s->has_counts)
			counts_add(sum, &s->counts);
		json_array_append_new(a,
		    json_pack("{s:i, s:s, s:s?, s:I, s:i}", "index", (int)s->index, "state",
			s->state, "holder", s->holder[0] ? s->holder : NULL, "generation",
			(json_int_t)s->generation, "cycle", (int)s->cycle));
	}
	return a;
}

static json_t *
members_json(const struct cluster *c, double since)
{
	const struct cl_view *v = &c->view;
	json_t *a = json_array();

	for (uint32_t i = 0; a != NULL && i < v->nmember; i++) {
		const struct cl_member *m = &v->member[i];
		double age = m->age + since;
		json_array_append_new(a,
		    json_pack("{s:s, s:f, s:b, s:s?, s:o, s:o, s:f, s:i}", "name", m->name,
			"heartbeat_age_s", age, "live", age < c->o.lease_ttl, "run_id",
			m->run_id[0] ? m->run_id : NULL, "shard",
			m->shard >= 0 ? json_integer(m->shard) : json_null(), "cycle",
			m->cycle >= 0 ? json_integer(m->cycle) : json_null(), "lag_s", m->lag_s,
			"pool_cap", (int)m->pool_cap));
	}
	return a;
}

json_t *
cluster_status_json(const struct cluster *c)
{
	const struct cl_view *v = &c->view;
	struct engine_counts sum;
	double since = v->at > 0 ? cl_now() - v->at : 0;
	json_t *o, *held = json_null();

	memset(&sum, 0, sizeof(sum));
	if (c->held.on)
		held = json_pack("{s:s, s:i, s:I, s:b}", "run_id", c->held.run_id, "shard",
		    (int)c->held.shard, "generation", (json_int_t)c->held.generation, "lost",
		    c->held.lost);
	o = json_pack("{s:s, s:f, s:b, s:i, s:i, s:b, s:o?}", "member", c->member, "lease_ttl",
	    c->o.lease_ttl, "connected", c->connected && c->hb_ok > 0, "pool_cap", (int)c->pool_cap,
	    "max_skew", (int)c->o.max_skew, "waiting_for_shards",
	    c->held.on && engine_gated(c->engine), "holding", held);
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "refreshed_s_ago", v->at > 0 ? json_real(since) : json_null());
	json_object_set_new(o, "members", members_json(c, since));
	if (v->has_run) {
		json_object_set_new(o, "run_id", json_string(v->run_id));
		json_object_set_new(o, "state", json_string(v->state));
		json_object_set_new(o, "shards_total", json_integer(v->shards));
		json_object_set_new(o, "shards", shards_json(v, &sum));
		json_object_set_new(o, "counts", counts_json(&sum));
	}
	return o;
}

/* ---- life ---- */

struct cluster *
cluster_new(struct event_base *base, struct engine *e, struct store *s, struct ckptsched *cs,
    const struct cluster_opts *o, char *err, size_t errlen)
{
	struct cluster *c = calloc(1, sizeof(*c));
	struct pgsync *sy;
	char e2[PGCONN_MSG_MAX];

	if (c == NULL || (c->conninfo = strdup(o->conninfo)) == NULL)
		goto nomem;
	c->base = base;
	c->engine = e;
	c->store = s;
	c->sched = cs;
	c->o = *o;
	c->o.conninfo = c->conninfo;
	c->retry_s = CL_RETRY_MIN;
	if (o->member != NULL && o->member[0] != '\0')
		cl_copy(c->member, sizeof(c->member), o->member);
	else
		cluster_default_member(c->member, sizeof(c->member), o->data_dir);
	if (gethostname(c->host, sizeof(c->host)) != 0)
		cl_copy(c->host, sizeof(c->host), "localhost");
	c->host[sizeof(c->host) - 1] = '\0';
	c->copts.conninfo = c->conninfo;
	c->copts.appname = STORE_APPNAME_PREFIX "/cluster";
	c->copts.connect_timeout = o->connect_timeout;
	c->copts.statement_timeout = 2 * o->lease_ttl + 5; /* a claim waits a third of it at most */
	c->copts.timeout_grace = 1;
	/* start-up may wait: pin the server's address so the loop never resolves it */
	if ((sy = pgsync_open(&c->copts, e2, sizeof(e2))) == NULL) {
		snprintf(err, errlen, "cluster: cannot connect: %s", e2);
		cluster_free(c);
		return NULL;
	}
	if (pgsync_hostaddr(sy, c->hostaddr, sizeof(c->hostaddr)) == 0)
		c->copts.hostaddr = c->hostaddr;
	pgsync_close(sy);
	c->timers[CL_TICK] = event_new(base, -1, EV_PERSIST, cl_tick_cb, c);
	c->timers[CL_WAKE] = evtimer_new(base, cl_tick_cb, c);
	c->timers[CL_RETRY] = evtimer_new(base, cl_retry_cb, c);
	for (size_t i = 0; i < CL_TIMERS; i++)
		if (c->timers[i] == NULL)
			goto nomem;
	if (cl_shard_init(c) != 0)
		goto nomem;
	cl_arm(c->timers[CL_TICK], cl_beat(c));
	/* nothing is known of the others yet: one connection until the first heartbeat */
	c->pool_cap = 1;
	store_set_pool_max(s, 1);
	log_info("cluster: member %s, lease_ttl %g s, cluster_pool_max %u", c->member, o->lease_ttl,
	    o->pool_max);
	event_active(c->timers[CL_WAKE], EV_TIMEOUT, 0);
	return c;
nomem:
	snprintf(err, errlen, "out of memory");
	cluster_free(c);
	return NULL;
}

void
cluster_close(struct cluster *c)
{
	struct cjob *j;

	if (c == NULL || c->closing)
		return;
	c->closing = 1;
	c->drained = NULL;
	for (size_t i = 0; i < CL_TIMERS; i++)
		if (c->timers[i] != NULL)
			event_del(c->timers[i]);
	pgconn_free(c->conn);
	c->conn = NULL;
	if ((j = c->running) != NULL) {
		c->running = NULL;
		j->done(j, STORE_ERR_CLOSED, "the daemon is shutting down");
		cj_free(j);
	}
	while ((j = c->queue) != NULL) {
		c->queue = j->next;
		j->done(j, STORE_ERR_CLOSED, "the daemon is shutting down");
		cj_free(j);
	}
	cl_waiters_tell(c);
}

void
cluster_free(struct cluster *c)
{
	if (c == NULL)
		return;
	cluster_close(c);
	for (size_t i = 0; i < CL_TIMERS; i++)
		if (c->timers[i] != NULL)
			event_free(c->timers[i]);
	view_clear(&c->view);
	free(c->conninfo);
	free(c);
}
