/* csvlog.c - a CSV row per finished cycle (see csvlog.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/csvlog.h"
#include "sim/engine.h"
#include "sim/log.h"
#include "sim/server.h"
#include "sim/snapshot.h"

struct csvlog {
	struct server *srv;
	char *path;
	FILE *f;
	char last_run[RUN_ID_MAX]; /* the file's last row: rows up to it are not repeated */
	uint32_t last_cycle;
	struct snapshot *s;      /* reused: the struct is large */
	struct histogram before; /* sessions' latencies at the last cycle's end */
	uint64_t before_cycles;  /* cycles the engine had timed then */
};

/* The run and cycle of the file's last row, if it has one. */
static void
read_last_row(struct csvlog *l)
{
	char buf[4096], *line, *end;
	long size;
	size_t n;

	l->last_run[0] = '\0';
	l->last_cycle = 0;
	if (fseek(l->f, 0, SEEK_END) != 0 || (size = ftell(l->f)) <= 0)
		return;
	n = size > (long)sizeof(buf) - 1 ? sizeof(buf) - 1 : (size_t)size;
	if (fseek(l->f, size - (long)n, SEEK_SET) != 0 || fread(buf, 1, n, l->f) != n)
		return;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	line = strrchr(buf, '\n') != NULL ? strrchr(buf, '\n') + 1 : buf;
	/* timestamp,run_id,cycle,... */
	if ((line = strchr(line, ',')) == NULL || (end = strchr(++line, ',')) == NULL ||
	    (size_t)(end - line) >= sizeof(l->last_run))
		return;
	memcpy(l->last_run, line, (size_t)(end - line));
	l->last_run[end - line] = '\0';
	l->last_cycle = (uint32_t)strtoul(end + 1, NULL, 10);
}

static int
open_file(struct csvlog *l, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "a+");
	long size;

	if (f == NULL) {
		snprintf(err, errlen, "metrics_csv %s: %s", path, strerror(errno));
		return -1;
	}
	l->f = f;
	read_last_row(l);
	(void)fseek(f, 0, SEEK_END);
	size = ftell(f);
	if (size == 0 && (fprintf(f, "%s\n", CSVLOG_HEADER) < 0 || fflush(f) != 0)) {
		snprintf(err, errlen, "metrics_csv %s: %s", path, strerror(errno));
		fclose(f);
		l->f = NULL;
		return -1;
	}
	return 0;
}

/* The file's last row is of this run and this cycle or a later one: a replay. */
static int
written_already(const struct csvlog *l, const struct snapshot *s)
{
	return strcmp(l->last_run, s->params.run_id) == 0 && s->cycle <= l->last_cycle;
}

void
csvlog_row(FILE *f, const struct snapshot *s, const struct histogram *cyc)
{
	char now[32], sim[32] = "";
	double avg = cyc->count ? (double)cyc->sum_us / (double)cyc->count / 1e3 : 0;
	double secs = s->cycle_s_last;

	store_time_iso(now, sizeof(now), (int64_t)time(NULL));
	if (s->has_sim_time)
		store_time_iso(sim, sizeof(sim), s->sim_time);
	fprintf(f, "%s,%s,%u,%s,%llu,%llu,%llu,%llu,%llu,%llu,%.3f,%.3f,%.3f,%.6f,%.1f,", now,
	    s->params.run_id, s->cycle, sim, (unsigned long long)s->counts.agents_processed,
	    (unsigned long long)s->counts.agents_shopped, (unsigned long long)s->counts.sessions,
	    (unsigned long long)s->counts.orders, (unsigned long long)s->counts.errors,
	    (unsigned long long)s->cycle_errors, avg, (double)hist_quantile(cyc, 0.95) / 1e3,
	    (double)hist_quantile(cyc, 0.99) / 1e3, secs,
	    secs > 0 ? (double)s->cycle_rows / secs : 0.0);
	if (s->has_rates && s->cpu_pct >= 0)
		fprintf(f, "%.1f", s->cpu_pct);
	fprintf(f, ",%.1f,%u,%u,%u,%.3f,", (double)s->rss_bytes / (1024.0 * 1024.0),
	    s->store.connections_active, s->store.max, s->limit, s->lag_s);
	if (s->api.on) {
		uint64_t fails = 0;

		for (int i = 0; i < API_FAIL_TYPES; i++)
			fails += s->api.fails[i];
		fprintf(f, "%.1f,%llu,%llu,%u,%llu", s->api.rate,
		    (unsigned long long)s->api.requests, (unsigned long long)s->api.status_429,
		    s->api.in_flight, (unsigned long long)fails);
	} else
		fputs(",,,,", f);
	fputc('\n', f);
}

static void
cycle_end(struct engine *e, void *arg)
{
	struct csvlog *l = arg;
	struct histogram cyc;

	if (l->f == NULL)
		return;
	server_snapshot(l->srv, l->s);
	/* one more cycle timed since the last row, or the run (re)started since */
	if (l->s->cycle_lat.count != l->before_cycles + 1)
		memset(&l->before, 0, sizeof(l->before));
	hist_since(&cyc, &l->s->session_lat, &l->before);
	l->before = l->s->session_lat;
	l->before_cycles = l->s->cycle_lat.count;
	if (written_already(l, l->s))
		return;
	csvlog_row(l->f, l->s, &cyc);
	if (fflush(l->f) != 0 || ferror(l->f)) {
		log_warn("metrics_csv %s: cannot write", l->path);
		clearerr(l->f);
	}
	snprintf(l->last_run, sizeof(l->last_run), "%s", l->s->params.run_id);
	l->last_cycle = l->s->cycle;
}

struct csvlog *
csvlog_new(struct server *srv, const char *path, char *err, size_t errlen)
{
	struct csvlog *l = calloc(1, sizeof(*l));
	struct engine_hooks h = { NULL, cycle_end, NULL, NULL };

	if (l == NULL || (l->s = malloc(sizeof(*l->s))) == NULL) {
		free(l);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->srv = srv;
	h.arg = l;
	if (engine_add_hooks(srv->engine, &h) != 0) {
		snprintf(err, errlen, "metrics_csv: no room for the engine's hooks");
		csvlog_free(l);
		return NULL;
	}
	if (csvlog_reopen(l, path, err, errlen) != 0) {
		csvlog_free(l);
		return NULL;
	}
	return l;
}

void
csvlog_free(struct csvlog *l)
{
	if (l == NULL)
		return;
	if (l->f != NULL)
		fclose(l->f);
	free(l->path);
	free(l->s);
	free(l);
}

int
csvlog_reopen(struct csvlog *l, const char *path, char *err, size_t errlen)
{
	struct csvlog next = *l;
	char *copy = *path != '\0' ? strdup(path) : NULL;

	if (*path != '\0' && copy == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	next.f = NULL;
	if (copy != NULL && open_file(&next, copy, err, errlen) != 0) {
		free(copy);
		return -1;
	}
	if (l->f != NULL)
		fclose(l->f);
	free(l->path);
	*l = next;
	l->path = copy;
	if (copy != NULL)
		log_info("metrics_csv: a row per cycle to %s", copy);
	return 0;
}

int
csvlog_check(const char *path, char *err, size_t errlen)
{
	FILE *f;

	if (*path == '\0')
		return 0;
	if ((f = fopen(path, "a")) == NULL) {
		snprintf(err, errlen, "metrics_csv %s: %s", path, strerror(errno));
		return -1;
	}
	fclose(f);
	return 0;
}
