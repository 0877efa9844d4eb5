/*
 * clustershard.c - a member's shard: claimed by lease, run as a static shard
 * of the recorded run from its newest checkpoint in PostgreSQL, its
 * checkpoints copied there (fenced), let go when it ends (see cluster.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "sim/ckptcodec.h"
#include "sim/ckptsched.h"
#include "sim/cluster.h"
#include "sim/cluster_priv.h"
#include "sim/engine.h"
#include "sim/log.h"
#include "sim/params.h"
#include "sim/store.h"

#define CL_PG_KEEP "3" /* checkpoints kept per shard in simd_checkpoints */

struct claim {
	int got;
	char run_id[RUN_ID_MAX];
	uint32_t shard, shards;
	long long generation;
	char *params;
	char state[16];
	long long concurrency;
	int has_ckpt;
	uint32_t cycle;
	char reason[24];
	char *counts;
	unsigned char *blob;
	size_t nblob;
	double elapsed, lag;
};

static void
claim_free(struct claim *k)
{
	free(k->params);
	free(k->counts);
	if (k->blob != NULL)
		PQfreemem(k->blob);
	free(k);
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* ---- losing the lease ---- */

static void
cl_lose(struct cluster *c, const char *why)
{
	char err[128];

	if (!c->held.on || c->held.lost)
		return;
	c->held.lost = 1;
	log_warnx("cluster: shard %u of run %s (generation %lld) is no longer ours: %s; stopping",
	    c->held.shard, c->held.run_id, (long long)c->held.generation, why);
	ckptsched_set_stop_reason(c->sched, "lease");
	if (engine_active(c->engine))
		engine_stop(c->engine, err, sizeof(err));
}

void
cl_lease_check(struct cluster *c)
{
	char why[96];
	double since = cl_now() - c->hb_ok;

	if (!c->held.on || c->held.lost || c->hb_ok <= 0 || since <= c->o.lease_ttl)
		return;
	snprintf(why, sizeof(why), "no heartbeat has gone through for %.1f s (lease_ttl %g s)",
	    since, c->o.lease_ttl);
	cl_lose(c, why);
}

/* The run's state as recorded (pause, resume, stop from any member: cmd_*.c). */
static void
cl_apply_run(struct cluster *c)
{
	const struct cl_view *v = &c->view;
	enum engine_state st = engine_state(c->engine);
	char err[128];

	if (strcmp(v->state, "paused") == 0 && st == ENGINE_RUNNING)
		engine_pause(c->engine, err, sizeof(err));
	else if (strcmp(v->state, "running") == 0 && st == ENGINE_PAUSED)
		engine_resume(c->engine, err, sizeof(err));
	else if (strcmp(v->state, "stopped") == 0 && engine_active(c->engine)) {
		ckptsched_set_stop_reason(c->sched, "stop");
		engine_stop(c->engine, err, sizeof(err));
	}
	if (v->concurrency > 0 && engine_active(c->engine) &&
	    (uint32_t)v->concurrency != c->held_concurrency) {
		c->held_concurrency = (uint32_t)v->concurrency;
		engine_set_concurrency(c->engine, (uint32_t)v->concurrency, err, sizeof(err));
	}
}

void
cl_shard_view(struct cluster *c)
{
	const struct cl_view *v = &c->view;
	char why[160];

	if (!c->held.on || c->held.lost || c->held.ending || !v->has_run ||
	    strcmp(v->run_id, c->held.run_id) != 0)
		return;
	for (uint32_t i = 0; i < v->nshard; i++) {
		const struct cl_shard *s = &v->shard[i];
		if (s->index != c->held.shard)
			continue;
		if (strcmp(s->state, "held") != 0 || strcmp(s->holder, c->member) != 0 ||
		    s->generation != c->held.generation) {
			snprintf(why, sizeof(why), "the shard is %s by %s at generation %lld",
			    s->state, s->holder[0] ? s->holder : "nobody",
			    (long long)s->generation);
			cl_lose(c, why);
			return;
		}
	}
	cl_apply_run(c);
	engine_gate_check(c->engine); /* the other shards may have moved on */
}

/*
 * cluster_max_skew: cycle n begins once every other shard a member holds has
 * begun cycle n - skew, that is finished cycle n - skew - 1 (simd_shards.cycle
 * counts the cycles done).  Shards no member holds yet are not waited for.
 */
static int
cl_gate(void *arg, uint32_t cycle)
{
	struct cluster *c = arg;
	const struct cl_view *v = &c->view;
	struct run_state rs;

	if (!c->held.on || c->held.lost || !v->has_run || strcmp(v->run_id, c->held.run_id) != 0 ||
	    engine_run_state(c->engine, &rs) != 0 || strcmp(rs.params.run_id, c->held.run_id) != 0)
		return 1;
	for (uint32_t i = 0; i < v->nshard; i++) {
		const struct cl_shard *s = &v->shard[i];
		if (s->index != c->held.shard && strcmp(s->state, "held") == 0 &&
		    (uint64_t)s->cycle + c->o.max_skew < cycle)
			return 0;
	}
	return 1;
}

/* ---- letting a shard go ---- */

/* Nothing is held any more: the store writes unfenced again (the next claim fences it anew). */
static void
cl_forget(struct cluster *c)
{
	char err[128];

	memset(&c->held, 0, sizeof(c->held));
	c->held_concurrency = 0;
	if (store_set_fence(c->store, NULL, 0, 0, err, sizeof(err)) != 0)
		log_warnx("cluster: %s", err);
}

static void
release_done(struct cjob *j, enum store_err err, const char *msg)
{
	struct cluster *c = j->c;

	if (err != STORE_OK && err != STORE_ERR_CLOSED)
		log_warnx("cluster: shard %u of run %s: recording its end failed: %s "
			  "(its lease runs out; whoever takes it over finds its end checkpoint)",
		    c->held.shard, c->held.run_id, msg);
	cl_forget(c);
	cl_idle_watch(c);
	cl_maybe_claim(c);
}

/* state: "done", "failed" or "free" (stopped before its end: another member goes on). */
static void
cl_release(struct cluster *c, const char *state, const char *why)
{
	struct run_state rs;
	struct cjob *j = cj_new(c, NULL, release_done, NULL);
	char shard[16], gen[24], cycle[16], *counts = NULL;
	int have =
	    engine_run_state(c->engine, &rs) == 0 && strcmp(rs.params.run_id, c->held.run_id) == 0;

	if (j == NULL) {
		cl_forget(c);
		return;
	}
	log_info("cluster: shard %u/%u of run %s %s%s%s", c->held.shard, c->held.shards,
	    c->held.run_id, strcmp(state, "free") == 0 ? "let go" : state, why ? ": " : "",
	    why ? why : "");
	snprintf(shard, sizeof(shard), "%u", c->held.shard);
	snprintf(gen, sizeof(gen), "%lld", (long long)c->held.generation);
	if (have) {
		snprintf(cycle, sizeof(cycle), "%u", rs.cycle);
		counts = ckpt_counts_text(&rs.counts);
	}
	cj_add(j, "begin", "BEGIN", 0);
	/* one member at a time decides whether the run is over */
	cj_add(j, "cl_run_lock", "SELECT 1 FROM simd_runs WHERE run_id = $1 FOR UPDATE", 1,
	    c->held.run_id);
	cj_add(j, "cl_release",
	    "UPDATE simd_shards SET state = $4, holder = CASE WHEN $4 = 'free' THEN NULL"
	    " ELSE holder END, cycle = COALESCE($5::integer, cycle),"
	    " counts = COALESCE($6::jsonb, counts),"
	    " finished_at = CASE WHEN $4 = 'free' THEN NULL ELSE now() END"
	    " WHERE run_id = $1 AND shard = $2::integer AND generation = $3::bigint"
	    " AND holder = $7 AND state = 'held'",
	    7, c->held.run_id, shard, gen, state, have ? cycle : NULL, counts, c->member);
	cj_add(j, "cl_run_end",
	    "UPDATE simd_runs SET state = CASE WHEN EXISTS (SELECT 1 FROM simd_shards"
	    " WHERE run_id = $1 AND state = 'failed') THEN 'failed' ELSE 'finished' END,"
	    " updated_at = now() WHERE run_id = $1 AND state IN ('running', 'paused')"
	    " AND NOT EXISTS (SELECT 1 FROM simd_shards WHERE run_id = $1"
	    " AND state IN ('free', 'held'))",
	    1, c->held.run_id);
	cj_add(j, "cl_notify", "SELECT pg_notify('" CLUSTER_CHANNEL "', $1)", 1, c->held.run_id);
	cj_add(j, "commit", "COMMIT", 0);
	free(counts);
	cj_submit(c, j, 0);
}

static int
run_complete(const struct run_state *rs)
{
	const struct run_params *p = &rs->params;

	return (p->cycles != 0 && rs->cycle >= p->cycles) ||
	    (p->hours > 0 && rs->elapsed_s >= p->hours * 3600.0);
}

/* The run has ended and its end checkpoint is written (and its copy queued). */
static void
shard_ended(void *arg)
{
	struct cluster *c = arg;
	struct run_state rs;
	const char *why = engine_fail_reason(c->engine);

	if (c->closing || !c->held.on)
		return;
	if (c->held.lost || strncmp(why, "fenced", 6) == 0) {
		log_info("cluster: shard %u of run %s stopped: it is another member's now",
		    c->held.shard, c->held.run_id);
		cl_forget(c);
		cl_maybe_claim(c);
		return;
	}
	if (engine_state(c->engine) == ENGINE_FAILED)
		cl_release(c, "failed", why);
	else if (engine_run_state(c->engine, &rs) == 0 && run_complete(&rs))
		cl_release(c, "done", NULL);
	else
		cl_release(c, "free", "stopped before its end");
}

static void
on_run_end(struct engine *e, void *arg)
{
	struct cluster *c = arg;
	struct run_state rs;

	if (c->closing || !c->held.on || c->held.ending || engine_run_state(e, &rs) != 0 ||
	    strcmp(rs.params.run_id, c->held.run_id) != 0)
		return;
	c->held.ending = 1;
	/* the engine's hooks before ours have queued the end checkpoint: after it */
	if (ckptsched_after(c->sched, shard_ended, c) != 0)
		shard_ended(c);
}

/* ---- the shard's progress and checkpoints, in PostgreSQL ---- */

static void
progress_done(struct cjob *j, enum store_err err, const char *msg)
{
	struct cluster *c = j->c;

	c->progress_busy = 0;
	if (err != STORE_OK && err != STORE_ERR_CLOSED)
		log_debug("cluster: progress not recorded: %s", msg);
	cl_idle_watch(c);
	if (c->progress_again) {
		c->progress_again = 0;
		cl_progress(c);
	}
}

/* simd_shards.cycle and counts of the shard held (status, and the skew gate). */
void
cl_progress(struct cluster *c)
{
	struct run_state rs;
	struct cjob *j;
	char shard[16], gen[24], cycle[16], *counts;

	if (!c->held.on || c->held.lost || engine_run_state(c->engine, &rs) != 0 ||
	    strcmp(rs.params.run_id, c->held.run_id) != 0)
		return;
	if (c->progress_busy) {
		c->progress_again = 1;
		return;
	}
	if ((j = cj_new(c, NULL, progress_done, NULL)) == NULL)
		return;
	snprintf(shard, sizeof(shard), "%u", c->held.shard);
	snprintf(gen, sizeof(gen), "%lld", (long long)c->held.generation);
	snprintf(cycle, sizeof(cycle), "%u", rs.cycle);
	counts = ckpt_counts_text(&rs.counts);
	/* guarded by the lease, not fenced: no advisory lock, so a claim never waits on it */
	cj_add(j, "cl_progress",
	    "UPDATE simd_shards SET cycle = $4::integer, counts = $5::jsonb"
	    " WHERE run_id = $1 AND shard = $2::integer AND generation = $3::bigint"
	    " AND holder = $6 AND state = 'held'",
	    6, c->held.run_id, shard, gen, cycle, counts, c->member);
	/* shards waiting for this one (cluster_max_skew) look again */
	cj_add(j, "cl_notify", "SELECT pg_notify('" CLUSTER_CHANNEL "', $1)", 1, c->held.run_id);
	free(counts);
	c->progress_busy = 1;
	cj_submit(c, j, 0);
}

static void
on_cycle_end(struct engine *e, void *arg)
{
	cl_progress(arg);
}

static void
mirror_done(struct cjob *j, enum store_err err, const char *msg)
{
	struct cluster *c = j->c;

	if (err == STORE_OK) {
		log_debug("cluster: checkpoint copied to simd_checkpoints");
	} else if (err != STORE_ERR_CLOSED) {
		log_warnx("cluster: checkpoint not copied: %s", msg);
		if (msg != NULL && strstr(msg, "fenced") != NULL)
			cl_lose(c, msg);
	}
	cl_idle_watch(c);
}

static char *
hex_bytea(const unsigned char *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *s = malloc(2 * n + 3), *p;

	if (s == NULL)
		return NULL;
	p = s;
	*p++ = '\\';
	*p++ = 'x';
	for (size_t i = 0; i < n; i++) {
		*p++ = digits[b[i] >> 4];
		*p++ = digits[b[i] & 15];
	}
	*p = '\0';
	return s;
}

static void
on_checkpoint(const struct run_state *rs, const char *reason, void *arg)
{
	struct cluster *c = arg;
	struct cjob *j;
	unsigned char *b;
	char why[256], shard[16], gen[24], cycle[16], el[32], lag[32], *counts;
	size_t n;

	if (c->closing || !c->held.on || c->held.lost ||
	    strcmp(rs->params.run_id, c->held.run_id) != 0)
		return;
	if ((n = ckpt_state_check(rs, reason, why, sizeof(why))) == 0) {
		log_warnx("cluster: checkpoint not copied: %s", why);
		return;
	}
	if ((b = malloc(n)) == NULL || (j = cj_new(c, NULL, mirror_done, NULL)) == NULL) {
		free(b);
		log_warnx("cluster: checkpoint not copied: out of memory");
		return;
	}
	ckpt_state_encode(b, rs);
	snprintf(shard, sizeof(shard), "%u", c->held.shard);
	snprintf(gen, sizeof(gen), "%lld", (long long)c->held.generation);
	snprintf(cycle, sizeof(cycle), "%u", rs->cycle);
	snprintf(el, sizeof(el), "%.6f", rs->elapsed_s);
	snprintf(lag, sizeof(lag), "%.6f", rs->lag_s);
	counts = ckpt_counts_text(&rs->counts);
	cj_add(j, "begin", "BEGIN", 0);
	cj_add(j, "cl_fence", "SELECT simd_fence($1, $2::integer, $3::bigint)", 3, c->held.run_id,
	    shard, gen);
	cj_add(j, "cl_ckpt",
	    "INSERT INTO simd_checkpoints (run_id, shard, cycle, generation, reason, counts,"
	    " state, elapsed_s, lag_s) VALUES ($1, $2::integer, $3::integer, $4::bigint, $5,"
	    " $6::jsonb, $7::bytea, $8::float8, $9::float8)"
	    " ON CONFLICT (run_id, shard, cycle) DO UPDATE SET generation = EXCLUDED.generation,"
	    " reason = EXCLUDED.reason, counts = EXCLUDED.counts, state = EXCLUDED.state,"
	    " elapsed_s = EXCLUDED.elapsed_s, lag_s = EXCLUDED.lag_s, written_at = now()",
	    9, c->held.run_id, shard, cycle, gen, reason, counts, NULL, el, lag);
	cj_take(j, 2, 6, hex_bytea(b, n));
	cj_add(j, "cl_ckpt_keep",
	    "DELETE FROM simd_checkpoints WHERE run_id = $1 AND shard = $2::integer"
	    " AND cycle < (SELECT min(cycle) FROM (SELECT cycle FROM simd_checkpoints"
	    " WHERE run_id = $1 AND shard = $2::integer ORDER BY cycle DESC LIMIT " CL_PG_KEEP
	    ") AS k)",
	    2, c->held.run_id, shard);
	cj_add(j, "commit", "COMMIT", 0);
	free(counts);
	free(b);
	cj_submit(c, j, 0);
	cl_progress(c);
}

/* ---- claiming ---- */

static void
claim_res(struct cjob *j, int idx, const PGresult *r)
{
	struct claim *k = j->arg;
	const char *v;

	if (idx == 2 && PQntuples(r) > 0) {
		k->got = 1;
		cl_copy(k->run_id, sizeof(k->run_id), cl_val(r, 0, 0));
		k->shard = (uint32_t)cl_int(r, 0, 1, 0);
		k->generation = cl_int(r, 0, 2, 0);
		k->shards = (uint32_t)cl_int(r, 0, 3, 0);
		k->params = dup_or_null(cl_val(r, 0, 4));
		cl_copy(k->state, sizeof(k->state), cl_val(r, 0, 5));
		k->concurrency = cl_int(r, 0, 6, -1);
	} else if (idx == 4 && PQntuples(r) > 0) {
		k->has_ckpt = 1;
		k->cycle = (uint32_t)cl_int(r, 0, 0, 0);
		cl_copy(k->reason, sizeof(k->reason), cl_val(r, 0, 1));
		k->counts = dup_or_null(cl_val(r, 0, 2));
		if ((v = cl_val(r, 0, 3)) != NULL)
			k->blob = PQunescapeBytea((const unsigned char *)v, &k->nblob);
		k->elapsed = cl_num(r, 0, 4);
		k->lag = cl_num(r, 0, 5);
	}
}

/* Continues the shard from its checkpoint; 0, or -1 with why. */
static int
resume_shard(struct cluster *c, struct claim *k, struct run_params *p, char *why, size_t len)
{
	struct run_state rs;
	struct agent_state *agents = NULL;
	int rc;

	memset(&rs, 0, sizeof(rs));
	if (k->blob == NULL || k->counts == NULL) {
		snprintf(why, len, "its checkpoint could not be read");
		return -1;
	}
	if (ckpt_state_decode(k->blob, k->nblob, p->agents, &agents, why, len) != CKPT_OK ||
	    ckpt_counts_parse(k->counts, strlen(k->counts), &rs.counts, why, len) != CKPT_OK) {
		free(agents);
		return -1;
	}
	rs.params = *p;
	rs.cycle = k->cycle;
	rs.elapsed_s = k->elapsed;
	rs.lag_s = k->lag;
	rs.agents = agents;
	rc = engine_resume_from(c->engine, &rs, why, len);
	free(agents);
	return rc;
}

static void
run_claim(struct cluster *c, struct claim *k)
{
	struct run_params p;
	char why[256];
	int rc;

	memset(&p, 0, sizeof(p));
	memset(&c->held, 0, sizeof(c->held));
	c->held.on = 1;
	cl_copy(c->held.run_id, sizeof(c->held.run_id), k->run_id);
	c->held.shard = k->shard;
	c->held.shards = k->shards;
	c->held.generation = k->generation;
	log_info("cluster: claimed shard %u/%u of run %s (generation %lld), %s", k->shard,
	    k->shards, k->run_id, k->generation,
	    k->has_ckpt ? "from its checkpoint" : "from the start");
	if (k->params == NULL ||
	    ckpt_params_parse(k->params, strlen(k->params), &p, why, sizeof(why)) != CKPT_OK) {
		cl_release(c, "failed", "the run's recorded parameters cannot be read");
		return;
	}
	p.shard.index = k->shard;
	p.shard.count = k->shards;
	if (strcmp(p.run_id, k->run_id) != 0 || params_shard_apply(&p, why, sizeof(why)) != 0) {
		params_clear(&p);
		cl_release(c, "failed", "the run's recorded parameters do not make this shard");
		return;
	}
	if (k->has_ckpt &&
	    (strcmp(k->reason, "end") == 0 || (p.cycles != 0 && k->cycle >= p.cycles))) {
		params_clear(&p);
		cl_release(c, "done", "its end checkpoint was there");
		return;
	}
	/* every write of the shard checks the generation: once another claims it, none lands */
	if (store_set_fence(
		c->store, k->run_id, k->shard, (uint64_t)k->generation, why, sizeof(why)) != 0) {
		params_clear(&p);
		cl_release(c, "free", why);
		return;
	}
	if (k->has_ckpt) {
		rc = resume_shard(c, k, &p, why, sizeof(why));
		params_clear(&p);
	} else {
		rc = engine_start_as(c->engine, &p, why, sizeof(why)); /* takes p's list */
	}
	if (rc != 0) {
		log_warnx(
		    "cluster: shard %u of run %s cannot run here: %s", k->shard, k->run_id, why);
		cl_release(c, "free", why);
		return;
	}
	if (strcmp(k->state, "paused") == 0)
		engine_pause(c->engine, why, sizeof(why));
	if (k->concurrency > 0 &&
	    engine_set_concurrency(c->engine, (uint32_t)k->concurrency, why, sizeof(why)) == 0)
		c->held_concurrency = (uint32_t)k->concurrency;
}

static void
claim_done(struct cjob *j, enum store_err err, const char *msg)
{
	struct cluster *c = j->c;
	struct claim *k = j->arg;

	c->claim_busy = 0;
	if (err != STORE_OK) {
		if (err != STORE_ERR_CLOSED)
			log_info("cluster: no shard claimed this time: %s", msg);
	} else if (k->got) {
		run_claim(c, k);
	}
	claim_free(k);
	cl_idle_watch(c);
}

void
cl_maybe_claim(struct cluster *c)
{
	struct claim *k;
	struct cjob *j;
	char ttl[32], lock[32];

	/*
	 * The claim shares the one connection with the heartbeat, and the lease
	 * it gets runs from this member's last heartbeat (hb_ok): claim only on
	 * a fresh one and wait for the old holder's writes a third of the lease
	 * at most, so that a claim that lands leaves a third of the lease for the
	 * next heartbeat to go through; a longer wait gives up and tries again.
	 */
	if (c->closing || c->leaving || !c->connected || c->hb_ok <= 0 ||
	    cl_now() - c->hb_ok > cl_beat(c) || c->held.on || c->claim_busy ||
	    engine_active(c->engine))
		return;
	if ((k = calloc(1, sizeof(*k))) == NULL ||
	    (j = cj_new(c, claim_res, claim_done, k)) == NULL) {
		free(k);
		return;
	}
	snprintf(ttl, sizeof(ttl), "%.3f", c->o.lease_ttl);
	snprintf(lock, sizeof(lock), "%.0fms", cl_beat(c) * 1000);
	cj_add(j, "begin", "BEGIN", 0);
	/* the old holder's writes in flight hold the lock shared: wait for them, not forever */
	cj_add(j, "cl_lock_timeout", "SELECT set_config('lock_timeout', $1, true)", 1, lock);
	cj_add(j, "cl_claim",
	    "UPDATE simd_shards s SET state = 'held', holder = $1,"
	    " generation = s.generation + 1, claimed_at = now()"
	    " FROM (SELECT k.run_id, k.shard FROM simd_shards k"
	    " JOIN simd_runs r ON r.run_id = k.run_id"
	    " LEFT JOIN simd_members m ON m.member = k.holder"
	    " WHERE r.state IN ('running', 'paused') AND (k.state = 'free' OR (k.state = 'held'"
	    " AND (k.holder = $1 OR m.member IS NULL"
	    " OR m.heartbeat < now() - make_interval(secs => $2::float8))))"
	    " ORDER BY r.created_at, k.shard LIMIT 1 FOR UPDATE OF k SKIP LOCKED) AS c,"
	    " simd_runs r"
	    " WHERE s.run_id = c.run_id AND s.shard = c.shard AND r.run_id = c.run_id"
	    " RETURNING s.run_id, s.shard, s.generation, r.shards, r.params, r.state,"
	    " r.concurrency",
	    2, c->member, ttl);
	cj_add(j, "cl_claim_lock",
	    "SELECT pg_advisory_xact_lock(hashtext(run_id), shard) FROM simd_shards"
	    " WHERE holder = $1 AND state = 'held' AND claimed_at = now()",
	    1, c->member);
	cj_add(j, "cl_claim_ckpt",
	    "SELECT k.cycle, k.reason, k.counts, k.state, k.elapsed_s, k.lag_s"
	    " FROM simd_checkpoints k JOIN simd_shards s"
	    " ON s.run_id = k.run_id AND s.shard = k.shard"
	    " WHERE s.holder = $1 AND s.state = 'held' AND s.claimed_at = now()"
	    " ORDER BY k.cycle DESC, k.written_at DESC LIMIT 1",
	    1, c->member);
	cj_add(j, "commit", "COMMIT", 0);
	c->claim_busy = 1;
	cj_submit(c, j, 0);
}

int
cl_shard_init(struct cluster *c)
{
	struct engine_hooks h;

	memset(&h, 0, sizeof(h));
	h.cycle_end = on_cycle_end;
	h.run_end = on_run_end;
	h.arg = c;
	if (engine_add_hooks(c->engine, &h) != 0)
		return -1;
	engine_set_gate(c->engine, cl_gate, c);
	ckptsched_set_mirror(c->sched, on_checkpoint, c);
	return 0;
}
