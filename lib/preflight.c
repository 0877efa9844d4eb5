/*
 * preflight.c - the checks before a run (see preflight.h).  Each check adds
 * one line: its level, the value measured and the threshold.  The database
 * is asked through pgsync connections, closed before returning.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "sim/config.h"
#include "sim/pgconn.h"
#include "sim/platform.h"
#include "sim/preflight.h"
#include "sim/store.h"

#define MIB (1024.0 * 1024.0)
#define DISK_FAIL (100 * MIB)
#define DISK_WARN (1024 * MIB)
#define SKEW_WARN 2.0
#define SKEW_FAIL 30.0

struct preflight_check *
preflight_add(struct preflight *p, const char *name, enum preflight_level l)
{
	struct preflight_check *c = &p->c[p->n < PREFLIGHT_MAX ? p->n++ : PREFLIGHT_MAX - 1];

	memset(c, 0, sizeof(*c));
	c->name = name;
	c->level = l;
	return c;
}

const char *
preflight_level_name(enum preflight_level l)
{
	return l == PREFLIGHT_OK ? "ok" : l == PREFLIGHT_WARN ? "warn" : "fail";
}

static double
pf_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The data directory: there (or made), and a file can be written in it. */
static int
pf_data_dir(const struct sim_config *cfg, struct preflight *p)
{
	struct preflight_check *c = preflight_add(p, "data_dir", PREFLIGHT_OK);
	char path[4096], err[256];
	int fd;

	snprintf(c->threshold, sizeof(c->threshold), "a file can be created");
	if (platform_mkdir_p(cfg->data_dir, err, sizeof(err)) != 0) {
		c->level = PREFLIGHT_FAIL;
		snprintf(c->value, sizeof(c->value), "%.150s", err);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/.preflight.XXXXXX", cfg->data_dir);
	if ((fd = mkstemp(path)) < 0 || write(fd, "x", 1) != 1) {
		c->level = PREFLIGHT_FAIL;
		snprintf(c->value, sizeof(c->value), "%.100s: %s", cfg->data_dir, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
		return -1;
	}
	close(fd);
	unlink(path);
	snprintf(c->value, sizeof(c->value), "%.150s writable", cfg->data_dir);
	return 0;
}

static void
pf_checkpoint_file(const struct sim_config *cfg, struct preflight *p)
{
	struct preflight_check *c = preflight_add(p, "checkpoint_file", PREFLIGHT_OK);
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/checkpoints.db", cfg->data_dir);
	snprintf(c->threshold, sizeof(c->threshold), "writable");
	if ((fd = open(path, O_WRONLY | O_APPEND)) >= 0) {
		close(fd);
		snprintf(c->value, sizeof(c->value), "%.150s writable", path);
	} else if (errno == ENOENT) {
		snprintf(c->value, sizeof(c->value), "not there yet; its directory is writable");
	} else {
		c->level = PREFLIGHT_FAIL;
		snprintf(c->value, sizeof(c->value), "%.100s: %s", path, strerror(errno));
	}
}

static void
pf_disk(const struct sim_config *cfg, struct preflight *p)
{
	struct preflight_check *c = preflight_add(p, "disk_free", PREFLIGHT_OK);
	struct statvfs v;
	double free_b;

	snprintf(c->threshold, sizeof(c->threshold), "warn below %.0f MiB, fail below %.0f MiB",
	    DISK_WARN / MIB, DISK_FAIL / MIB);
	if (statvfs(cfg->data_dir, &v) != 0) {
		c->level = PREFLIGHT_FAIL;
		snprintf(c->value, sizeof(c->value), "statvfs: %s", strerror(errno));
		return;
	}
	free_b = (double)v.f_bavail * (double)v.f_frsize;
	c->level = free_b < DISK_FAIL ? PREFLIGHT_FAIL
	    : free_b < DISK_WARN      ? PREFLIGHT_WARN
				      : PREFLIGHT_OK;
	snprintf(c->value, sizeof(c->value), "%.0f MiB free on the data dir", free_b / MIB);
}

static void
pf_memory(const struct sim_config *cfg, struct preflight *p)
{
	struct preflight_check *c = preflight_add(p, "memory_free", PREFLIGHT_OK);
	double need =
	    (double)PREFLIGHT_BASE_BYTES + (double)cfg->agents * PREFLIGHT_BYTES_PER_AGENT;
	double free_b = (double)platform_mem_free();

	snprintf(c->threshold, sizeof(c->threshold),
	    "need %.0f MiB for %lld agents (warn below twice that)", need / MIB,
	    (long long)cfg->agents);
	if (free_b <= 0) {
		c->level = PREFLIGHT_WARN;
		snprintf(c->value, sizeof(c->value), "unknown on this platform");
		return;
	}
	c->level = free_b < need ? PREFLIGHT_FAIL
	    : free_b < 2 * need  ? PREFLIGHT_WARN
				 : PREFLIGHT_OK;
	snprintf(c->value, sizeof(c->value), "%.0f MiB available (cgroup-aware)", free_b / MIB);
}

static void
pf_sqlite(const struct sim_config *cfg, struct preflight *p)
{
	struct preflight_check *c = preflight_add(p, "database", PREFLIGHT_OK);
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/shop.db", cfg->data_dir);
	if (stat(path, &st) == 0)
		snprintf(c->value, sizeof(c->value), "embedded %.100s, %.1f MiB", path,
		    (double)st.st_size / MIB);
	else
		snprintf(c->value, sizeof(c->value), "embedded %.100s, not created yet", path);
}

/* ---- PostgreSQL ---- */

#define PF_FIELDS 8
struct pf_row {
	char v[PF_FIELDS][64];
	int ok;
};

static void
pf_row(void *arg, int idx, const PGresult *r)
{
	struct pf_row *row = arg;

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 || PQnfields(r) != PF_FIELDS)
		return;
	for (int i = 0; i < PF_FIELDS; i++)
		pgconn_copy(row->v[i], sizeof(row->v[i]), PQgetvalue(r, 0, i));
	row->ok = 1;
}

static const char pf_sql[] =
    "SELECT split_part(current_setting('server_version'), ' ', 1),"
    " coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false),"
    " current_setting('max_connections')::int"
    " - current_setting('superuser_reserved_connections')::int"
    " - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),"
    " pg_database_size(current_database()), extract(epoch FROM clock_timestamp()),"
    " current_setting('max_connections'), pg_backend_pid(),"
    " (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
    " AND application_name LIKE '" STORE_APPNAME_PREFIX "/%' AND pid <> pg_backend_pid())";

static void
pf_pg_connections(const struct sim_config *cfg, unsigned held, int pooled, struct preflight *p,
    const struct pf_row *row, int *room)
{
	struct preflight_check *c = preflight_add(p, "connections", PREFLIGHT_OK);
	/* ours counts as in use, and so do those the daemon's pool holds: both are room */
	long free_n = strtol(row->v[2], NULL, 10) + 1 + (long)held;

	snprintf(c->threshold, sizeof(c->threshold),
	    "pool_max %lld (fail above the free ones, warn within 10 %% of them)",
	    (long long)cfg->pool_max);
	*room = 1;
	if (pooled) { /* our connections are the pooler's clients; its own pool takes the server's */
		snprintf(c->value, sizeof(c->value),
		    "%ld free of max_connections %s; behind a pooler, whose pool size bounds ours",
		    strtol(row->v[2], NULL, 10), row->v[5]);
		return;
	}
	if (held > 0)
		snprintf(c->value, sizeof(c->value),
		    "%ld free of max_connections %s, counting the %u held by simd's pool", free_n,
		    row->v[5], held);
	else
		snprintf(c->value, sizeof(c->value), "%ld free of max_connections %s", free_n,
		    row->v[5]);
	if (free_n < cfg->pool_max)
		c->level = PREFLIGHT_FAIL;
	else if ((double)free_n < 1.1 * (double)cfg->pool_max)
		c->level = PREFLIGHT_WARN;
	*room = c->level != PREFLIGHT_FAIL;
}

/*
 * cluster = on: the whole cluster may open cluster_pool_max connections.  The
 * connections simd's daemons hold now (application_name simd/...: this one's
 * pool and the other members') are the budget in use, so they count as room.
 */
static void
pf_pg_cluster(
    const struct sim_config *cfg, int pooled, struct preflight *p, const struct pf_row *row)
{
	struct preflight_check *c;
	long simd_n = strtol(row->v[7], NULL, 10), free_n = strtol(row->v[2], NULL, 10) + 1;

	if (!cfg->cluster)
		return;
	c = preflight_add(p, "cluster_budget", PREFLIGHT_OK);
	snprintf(c->threshold, sizeof(c->threshold),
	    "cluster_pool_max %lld (fail above the free ones, warn within 10 %% of them)",
	    (long long)cfg->cluster_pool_max);
	if (pooled) {
		snprintf(c->value, sizeof(c->value),
		    "%ld free of max_connections %s; behind a pooler, whose pool size bounds ours",
		    free_n - 1, row->v[5]);
		return;
	}
	snprintf(c->value, sizeof(c->value),
	    "%ld free of max_connections %s, counting the %ld held by simd's daemons",
	    free_n + simd_n, row->v[5], simd_n);
	free_n += simd_n;
	if (free_n < cfg->cluster_pool_max)
		c->level = PREFLIGHT_FAIL;
	else if ((double)free_n < 1.1 * (double)cfg->cluster_pool_max)
		c->level = PREFLIGHT_WARN;
}

static void
pf_pg_facts(struct preflight *p, const struct pf_row *row, double t0)
{
	struct preflight_check *c;
	struct timespec now;
	double skew;

	c = preflight_add(p, "database_size", PREFLIGHT_OK);
	snprintf(c->value, sizeof(c->value), "%.1f MiB", strtod(row->v[3], NULL) / MIB);
	c = preflight_add(p, "clock_skew", PREFLIGHT_OK);
	clock_gettime(CLOCK_REALTIME, &now);
	skew = strtod(row->v[4], NULL) - ((double)now.tv_sec + (double)now.tv_nsec / 1e9);
	skew += (pf_now() - t0) / 2; /* half the round trip */
	if (skew < 0)
		skew = -skew;
	c->level = skew > SKEW_FAIL ? PREFLIGHT_FAIL
	    : skew > SKEW_WARN      ? PREFLIGHT_WARN
				    : PREFLIGHT_OK;
	snprintf(c->value, sizeof(c->value), "%.2f s between the database's clock and ours", skew);
	snprintf(c->threshold, sizeof(c->threshold), "warn above %.0f s, fail above %.0f s",
	    SKEW_WARN, SKEW_FAIL);
}

/* ---- a pooler in the way ---- */

static void
pf_pid(void *arg, int idx, const PGresult *r)
{
	long *pid = arg;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && PQnfields(r) == 1)
		*pid = strtol(PQgetvalue(r, 0, 0), NULL, 10);
}

/* The server's pid of the backend running the next statement on s; -1 unknown. */
static long
pf_backend(struct pgsync *s)
{
	static const struct pgstmt st = { PGSTMT_PARAMS, "pid", "SELECT pg_backend_pid()", 0,
		NULL };
	char err[PGCONN_MSG_MAX];
	long pid = -1;

	if (pgsync_exec(s, &st, 1, pf_pid, &pid, NULL, err, sizeof(err)) != 0)
		return -1;
	return pid;
}

/*
 * Whether a pooler stands between us and the server, and in which mode.  A
 * pooler announces a backend key of its own at start-up, so the pid libpq was
 * told is not the pid of the backend that ran our statement (pid).  Then: a
 * second client's statement run by that same backend proves that the pooler
 * took the backend back once our transaction ended (transaction mode; its
 * servers are reused last-released first, pgbouncer's default), as does our
 * next statement landing on another backend; otherwise the backend stayed
 * ours: session mode.  Returns 'n' none, 's' session, 't' transaction.
 */
static int
pf_pooler_mode(struct pgsync *s, const struct pgconn_opts *o, long pid, char *how, size_t len)
{
	struct pgconn_opts o2 = *o;
	struct pgsync *other;
	char err[PGCONN_MSG_MAX];
	long pid2 = -1, pid3;

	if (pgsync_backend_pid(s) == pid) {
		snprintf(how, len, "none: the backend key is the server's (pid %ld)", pid);
		return 'n';
	}
	/* a session pooler with no server connection left would keep the second one waiting */
	o2.statement_timeout = o->connect_timeout;
	if ((other = pgsync_open(&o2, err, sizeof(err))) != NULL) {
		pid2 = pf_backend(other);
		pgsync_close(other);
	}
	if (pid2 == pid) {
		snprintf(how, len,
		    "transaction mode: another client's statement ran on our backend "
		    "once our transaction ended");
		return 't';
	}
	if ((pid3 = pf_backend(s)) >= 0 && pid3 != pid) {
		snprintf(how, len, "transaction mode: our next transaction ran on another backend");
		return 't';
	}
	snprintf(
	    how, len, "session mode: the backend key is the pooler's, our backend stayed ours");
	return 's';
}

/* The check's line; 1 when a pooler is in the way. */
static int
pf_pooler(const struct sim_config *cfg, struct pgsync *s, const struct pgconn_opts *o, long pid,
    struct preflight *p)
{
	struct preflight_check *c = preflight_add(p, "pooler", PREFLIGHT_OK);
	char how[120];
	int mode = pf_pooler_mode(s, o, pid, how, sizeof(how));

	snprintf(c->threshold, sizeof(c->threshold),
	    "pg_prepared = no behind a transaction-mode pooler");
	snprintf(c->value, sizeof(c->value), "%.110s; pg_prepared = %s %s", how,
	    cfg->pg_prepared ? "yes" : "no",
	    mode == 't' && cfg->pg_prepared ? "does not fit" : "fits");
	if (mode == 't' && cfg->pg_prepared)
		c->level = PREFLIGHT_FAIL;
	return mode != 'n';
}

/*
 * The pool at its full size: pool_max connections opened at once, then
 * closed; those the daemon's pool holds already (held) are not asked again.
 */
static void
pf_pg_pool(
    const struct sim_config *cfg, unsigned held, const struct pgconn_opts *o, struct preflight *p)
{
	struct preflight_check *c = preflight_add(p, "pool_full", PREFLIGHT_OK);
	long want = cfg->pool_max > (long)held ? (long)cfg->pool_max - (long)held : 0;
	struct pgsync **conns = calloc((size_t)want + 1, sizeof(*conns));
	char err[PGCONN_MSG_MAX];
	double t0 = pf_now();
	long i, n = 0;

	snprintf(c->threshold, sizeof(c->threshold), "pool_max %lld connections at once",
	    (long long)cfg->pool_max);
	if (conns == NULL) {
		c->level = PREFLIGHT_FAIL;
		snprintf(c->value, sizeof(c->value), "out of memory");
		return;
	}
	err[0] = '\0';
	while (n < want && (conns[n] = pgsync_open(o, err, sizeof(err))) != NULL)
		n++;
	for (i = 0; i < n; i++)
		pgsync_close(conns[i]);
	free(conns);
	if (n < want) {
		c->level = PREFLIGHT_FAIL;
		snprintf(c->value, sizeof(c->value), "%ld opened, then: %.120s", n, err);
	} else if (held > 0) {
		snprintf(c->value, sizeof(c->value),
		    "%ld opened in %.2f s and released, besides the %u held by simd's pool", n,
		    pf_now() - t0, held);
	} else {
		snprintf(c->value, sizeof(c->value), "%ld opened in %.2f s and released", n,
		    pf_now() - t0);
	}
}

static void
pf_postgres(const struct sim_config *cfg, unsigned held, struct preflight *p)
{
	struct preflight_check *c = preflight_add(p, "database", PREFLIGHT_OK);
	struct pgconn_opts o;
	struct pgstmt st = { PGSTMT_PARAMS, "preflight", pf_sql, 0, NULL };
	struct pf_row row;
	struct pgsync *s;
	char err[PGCONN_MSG_MAX], where[100];
	double t0 = pf_now(), dt;
	int room = 0, pooled;

	memset(&o, 0, sizeof(o));
	o.conninfo = cfg->database_url;
	o.appname = STORE_APPNAME_PREFIX "/preflight";
	o.connect_timeout = cfg->connect_timeout;
	pgconn_describe(where, sizeof(where), cfg->database_url);
	if ((s = pgsync_open(&o, err, sizeof(err))) == NULL) {
		c->level = PREFLIGHT_FAIL;
		snprintf(c->value, sizeof(c->value), "%.60s: %.90s", where, err);
		return;
	}
	dt = pf_now() - t0;
	memset(&row, 0, sizeof(row));
	t0 = pf_now();
	if (pgsync_exec(s, &st, 1, pf_row, &row, NULL, err, sizeof(err)) != 0 || !row.ok) {
		pgsync_close(s);
		c->level = PREFLIGHT_FAIL;
		snprintf(c->value, sizeof(c->value), "%.60s: %.90s", where,
		    row.ok ? err : "an answer of an unexpected shape");
		return;
	}
	snprintf(c->value, sizeof(c->value),
	    "%.60s: PostgreSQL %.20s, TLS %s, connected in %.0f ms", where, row.v[0],
	    row.v[1][0] == 't' ? "on" : "off", dt * 1000);
	pf_pg_facts(p, &row, t0);
	pooled = pf_pooler(cfg, s, &o, strtol(row.v[6], NULL, 10), p);
	pf_pg_connections(cfg, held, pooled, p, &row, &room);
	pf_pg_cluster(cfg, pooled, p, &row);
	pgsync_close(s);
	if (room)
		pf_pg_pool(cfg, held, &o, p);
}

enum preflight_level
preflight_run(const struct sim_config *cfg, unsigned held, struct preflight *out)
{
	enum preflight_level worst = PREFLIGHT_OK;

	memset(out, 0, sizeof(*out));
	if (pf_data_dir(cfg, out) == 0) {
		pf_checkpoint_file(cfg, out);
		pf_disk(cfg, out);
	}
	pf_memory(cfg, out);
	if (cfg->database_url != NULL && cfg->database_url[0] != '\0')
		pf_postgres(cfg, held, out);
	else
		pf_sqlite(cfg, out);
	if (cfg->shop_api_url != NULL && cfg->shop_api_url[0] != '\0')
		preflight_shop(cfg, out);
	if (cfg->persona_source != NULL && strcmp(cfg->persona_source, "llm") == 0)
		preflight_llm(cfg, out);
	for (int i = 0; i < out->n; i++)
		if (out->c[i].level > worst)
			worst = out->c[i].level;
	return worst;
}

json_t *
preflight_json(const struct preflight *p)
{
	json_t *a = json_array();
	enum preflight_level worst = PREFLIGHT_OK;

	for (int i = 0; a != NULL && i < p->n; i++) {
		const struct preflight_check *c = &p->c[i];
		if (c->level > worst)
			worst = c->level;
		if (json_array_append_new(a,
			json_pack("{s:s, s:s, s:s, s:s}", "name", c->name, "level",
			    preflight_level_name(c->level), "value", c->value, "threshold",
			    c->threshold)) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a ? json_pack("{s:o, s:s}", "checks", a, "worst", preflight_level_name(worst))
		 : NULL;
}
