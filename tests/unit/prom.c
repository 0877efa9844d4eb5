/*
 * prom.c - /metrics from a snapshot: every series typed and described once, counters
 * ending in _total, histograms cumulative up to +Inf = _count; metrics_listen's forms.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sim/prom.h"
#include "sim/snapshot.h"

static char *
format(const struct snapshot *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	CHECK(f != NULL && prom_format(f, s, 1.5, 1700000000) == 0);
	fclose(f);
	return text;
}

/* The value of the first line that starts with series followed by a blank; -1 without. */
static double
value(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = text; p != NULL && *p;
	     p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return -1;
}

/* Every sample line's metric family has one TYPE line, and each counter ends in _total. */
static int
well_typed(const char *text)
{
	char fam[128], type[32];
	int ok = 1;

	for (const char *p = text; p != NULL && *p;
	     p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (sscanf(p, "# TYPE %127s %31s", fam, type) == 2 && strcmp(type, "counter") == 0)
			ok &= strlen(fam) > 6 && strcmp(fam + strlen(fam) - 6, "_total") == 0;
		if (*p != '#' && *p != '\n') {
			char want[160];
			size_t n = strcspn(p, "{ ");
			snprintf(want, sizeof(want), "# TYPE %.*s ", (int)n, p);
			if (strstr(text, want) == NULL) {
				/* a histogram's series: its family without _bucket, _sum, _count */
				const char *u = memchr(p, '_', n) ? p : NULL;
				for (size_t k = n; u != NULL && k > 0; k--)
					if (p[k - 1] == '_') {
						snprintf(want, sizeof(want),
						    "# TYPE %.*s histogram", (int)(k - 1), p);
						break;
					}
				ok &= strstr(text, want) != NULL;
			}
		}
	}
	return ok;
}

int
main(void)
{
	struct snapshot *s = calloc(1, sizeof(*s));
	char host[64], err[256], *t;
	uint16_t port;

	s->state = ENGINE_RUNNING;
	s->population = 100;
	s->cycle = 3;
	s->limit = 50;
	s->in_flight = 7;
	s->eta_s = -1;
	s->counts.sessions = 40;
	s->counts.orders = 4;
	s->counts.errors_by_type[STORE_ERR_TIMEOUT] = 2;
	s->store.driver = "sqlite";
	s->store.connections_idle = 1;
	s->store.max = 1;
	s->rss_bytes = 123456789;
	for (int i = 0; i < 1000; i++)
		hist_add(&s->session_lat, (uint64_t)(i * 100)); /* 0 .. 99.9 ms */
	hist_add(&s->op_lat[STORE_OP_BROWSE], 50000000);        /* 50 s: past every bound */
	t = format(s);
	CHECK(t != NULL);
	CHECK(well_typed(t));
	CHECK(value(t, "simd_sessions_total") == 40);
	CHECK(value(t, "simd_orders_total") == 4);
	CHECK(value(t, "simd_errors_total{type=\"timeout\"}") == 2);
	CHECK(value(t, "simd_errors_total{type=\"connect\"}") == 0);
	CHECK(value(t, "simd_run_state{state=\"running\"}") == 1);
	CHECK(value(t, "simd_run_state{state=\"idle\"}") == 0);
	CHECK(value(t, "simd_concurrency_limit") == 50);
	CHECK(value(t, "simd_sessions_in_flight") == 7);
	CHECK(value(t, "simd_store_connections{state=\"idle\"}") == 1);
	CHECK(value(t, "process_resident_memory_bytes") == 123456789);
	CHECK(value(t, "process_cpu_seconds_total") == 1.5);
	CHECK(strstr(t, "\nsimd_eta_seconds NaN\n") != NULL);
	/* cumulative buckets: non-decreasing, about half below 50 ms, all by +Inf */
	CHECK(value(t, "simd_session_duration_seconds_bucket{le=\"0.025\"}") <=
	    value(t, "simd_session_duration_seconds_bucket{le=\"0.05\"}"));
	CHECK(value(t, "simd_session_duration_seconds_bucket{le=\"0.05\"}") > 450);
	CHECK(value(t, "simd_session_duration_seconds_bucket{le=\"0.05\"}") < 550);
	/* to the bucket: the top samples (99.9 ms) sit in one whose middle is 102 ms */
	CHECK(value(t, "simd_session_duration_seconds_bucket{le=\"0.1\"}") >= 950);
	CHECK(value(t, "simd_session_duration_seconds_bucket{le=\"+Inf\"}") == 1000);
	CHECK(value(t, "simd_session_duration_seconds_count") == 1000);
	CHECK(value(t, "simd_step_duration_seconds_bucket{step=\"browse\",le=\"30\"}") == 0);
	CHECK(value(t, "simd_step_duration_seconds_bucket{step=\"browse\",le=\"+Inf\"}") == 1);
	CHECK(value(t, "simd_step_duration_seconds_sum{step=\"browse\"}") == 50);
	free(t);

	/* metrics_listen: loopback unless an address is written */
	CHECK(prom_parse_listen("9464", host, sizeof(host), &port, err, sizeof(err)) == 0);
	CHECK(strcmp(host, "127.0.0.1") == 0 && port == 9464);
	CHECK(prom_parse_listen(":0", host, sizeof(host), &port, err, sizeof(err)) == 0);
	CHECK(strcmp(host, "127.0.0.1") == 0 && port == 0);
	CHECK(prom_parse_listen("0.0.0.0:80", host, sizeof(host), &port, err, sizeof(err)) == 0);
	CHECK(strcmp(host, "0.0.0.0") == 0 && port == 80);
	CHECK(prom_parse_listen("[::1]:9464", host, sizeof(host), &port, err, sizeof(err)) == 0);
	CHECK(strcmp(host, "::1") == 0);
	CHECK(prom_parse_listen("localhost:1", host, sizeof(host), &port, err, sizeof(err)) == -1);
	CHECK(strstr(err, "metrics_listen: \"localhost:1\" wants [HOST:]PORT") != NULL);
	CHECK(prom_parse_listen("127.0.0.1:65536", host, sizeof(host), &port, err, sizeof(err)) ==
	    -1);
	CHECK(prom_parse_listen("127.0.0.1:", host, sizeof(host), &port, err, sizeof(err)) == -1);
	CHECK(prom_parse_listen("", host, sizeof(host), &port, err, sizeof(err)) == -1);
	free(s);
	return CHECK_DONE();
}
