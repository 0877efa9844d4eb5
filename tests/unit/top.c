/*
 * top.c - simctl top's screen from a frame: the panels, colours by the thresholds, parts
 * a frame lacks shown as "-", the window's width and height kept; status --watch's line
 * and start --wait's bar.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sim/top.h"

static const char *frame_text =
    "{\"state\":\"running\",\"run_id\":\"R1\",\"agents\":1000,\"cycle\":2,\"cycles_total\":10,"
    "\"sim_time\":\"2026-01-05T02:00:00Z\",\"elapsed_s\":12.5,\"eta_s\":50,\"lag_s\":0,"
    "\"params\":{\"hours\":0},"
    "\"concurrency\":{\"limit\":50,\"in_flight\":7,\"adaptive\":false},"
    "\"counts\":{\"sessions\":1234,\"orders\":56,\"errors\":3},"
    "\"store\":{\"driver\":\"postgres\",\"connections_active\":52,\"connections_idle\":3,"
    "\"waiting\":0,\"max\":60},"
    "\"process\":{\"rss_bytes\":104857600,\"cpu_pct\":95.0},"
    "\"setup\":{\"phase\":\"done\",\"users_written\":1000,\"users_total\":1000,"
    "\"catalogue_written\":true,\"personas_generated\":1000,\"personas_total\":1000,"
    "\"personas_llm\":0},"
    "\"rates\":{\"interval\":{\"sessions_per_s\":100.5,\"writes_per_s\":40,\"session_avg_ms\":12},"
    "\"minute\":{\"sessions_per_s\":90,\"writes_per_s\":900},\"total\":{\"sessions_per_s\":80,"
    "\"writes_per_s\":800}},"
    "\"latency\":{\"session\":{\"avg_ms\":11,\"p95_ms\":30,\"p99_ms\":45},\"steps\":{"
    "\"browse\":{\"count\":5,\"avg_ms\":1.5,\"p95_ms\":3}}},"
    "\"cycle_now\":{\"agents_done\":500,\"elapsed_s\":2,\"last_s\":75,\"errors\":1},"
    "\"errors\":{\"total\":3,\"retries\":9,\"by_type\":{\"timeout\":3},\"last_by_type\":{"
    "\"timeout\":{\"agent\":\"agent_042\",\"step\":\"checkout\",\"cycle\":1}},"
    "\"recent\":[{\"type\":\"timeout\",\"agent\":\"agent_042\",\"step\":\"checkout\","
    "\"at\":\"2026-12-02T01:02:03Z\",\"message\":\"pool timeout after 30 s\"}]}}";

static int
has_line(const char *text, const char *start)
{
	for (const char *p = text; p != NULL && *p;
	     p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, start, strlen(start)) == 0)
			return 1;
	return 0;
}

static int
lines(const char *text, int *widest)
{
	int n = 0, w = 0;

	*widest = 0;
	for (const char *p = text; *p; p++) {
		if (*p == '\n') {
			n++;
			w = 0;
		} else if (++w > *widest) {
			*widest = w;
		}
	}
	return n;
}

int
main(void)
{
	json_error_t je;
	json_t *f = json_loads(frame_text, 0, &je), *bare;
	struct top_view v = { 100, 0, 0, NULL, "done" };
	char *s;
	int widest;

	CHECK(f != NULL);
	s = top_render(f, &v);
	CHECK(s != NULL);
	CHECK(has_line(s, "simd top  run R1  running"));
	CHECK(has_line(
	    s, "agents 500 / 1,000 this cycle   cycle 3 of 10   sim time 2026-01-05T02:00"));
	CHECK(has_line(s, "cycle time   last 1m15s   this one 2.0 s"));
	CHECK(has_line(s, "session ms   avg 12.00  p95 30.00  p99 45.00"));
	CHECK(has_line(s, "steps ms     browse 1.50/3.00"));
	CHECK(has_line(s, "sessions/s   100.5  1 min 90.0  run 80.0"));
	CHECK(has_line(s, "writes/s     40.0  1 min 900.0  run 800.0"));
	CHECK(has_line(s, "api calls/s  -   llm calls/s  -"));
	CHECK(has_line(
	    s, "cpu 95.0 %   rss 100.0 MB   db postgres 52 active 3 idle 0 waiting of 60"));
	CHECK(has_line(s, "cycle  [") && strstr(s, "50 %") != NULL);
	CHECK(has_line(s, "set-up done      users 1,000/1,000  catalogue written"));
	CHECK(has_line(s, "limit 50   in flight 7   adaptive off"));
	CHECK(has_line(s, "total 3   this cycle 1   retries 9"));
	CHECK(has_line(s, "timeout             3  agent_042    checkout        1"));
	CHECK(has_line(s, "01:02:03Z timeout agent_042 checkout: pool timeout after 30 s"));
	CHECK(has_line(s, "q quit  p pause/resume  +/- concurrency   done"));
	CHECK(strchr(s, '\033') == NULL); /* no colour asked: none */
	free(s);

	/* colours by the plan's thresholds: cycle 75 s warns, CPU 95 % and writes 40/s are
	 * critical, 52 connections warn */
	v.color = 1;
	s = top_render(f, &v);
	CHECK(strstr(s, "\033[33m1m15s\033[0m") != NULL);
	CHECK(strstr(s, "\033[1;31m95.0 %\033[0m") != NULL);
	CHECK(strstr(s, "\033[1;31m40.0\033[0m") != NULL);
	CHECK(strstr(s, "\033[33m52 active\033[0m") != NULL);
	CHECK(strstr(s, "\033[32m12.00\033[0m") != NULL); /* latency 12 ms: healthy */
	free(s);
	/* ... or by others */
	{
		struct thresholds t;
		char err[128];
		thresholds_default(&t);
		CHECK(
		    thresholds_parse(&t, "cycle_s=100:200 cpu_pct=99:100", err, sizeof(err)) == 0);
		v.over = &t;
		s = top_render(f, &v);
		CHECK(strstr(s, "\033[32m1m15s\033[0m") != NULL);
		CHECK(strstr(s, "\033[32m95.0 %\033[0m") != NULL);
		free(s);
		v.over = NULL;
	}

	/* a small window: no line wider, no more lines, the footer on the last row */
	v.color = 0;
	v.cols = 40;
	v.rows = 12;
	s = top_render(f, &v);
	CHECK(lines(s, &widest) == 12);
	CHECK(widest <= 40);
	CHECK(strstr(s, "q quit") != NULL && strstr(s, "q quit") > strrchr(s, '\n') - 45);
	free(s);

	/* a frame that lacks most parts (an older simd, status only): dashes, no crash */
	bare = json_pack("{s:s}", "state", "idle");
	v.cols = 100;
	v.rows = 0;
	s = top_render(bare, &v);
	CHECK(s != NULL && has_line(s, "simd top  run -  idle"));
	CHECK(has_line(s, "session ms   avg -  p95 -  p99 -"));
	free(s);

	/* status --watch's line and start --wait's bar */
	s = top_line(f);
	CHECK(s != NULL &&
	    strstr(s,
		" running  cycle 2/10 agents 500/1,000 sessions 1,234 (100.5/s) "
		"orders 56 errors 3 in flight 7/50 rss 100.0 MB\n") != NULL);
	free(s);
	s = top_progress(f, 60);
	CHECK(s != NULL && s[0] == '[' && strstr(s, "25 %  cycle 2/10  eta 50.0 s") != NULL);
	CHECK((int)strlen(s) <= 60);
	free(s);
	json_object_set_new(json_object_get(f, "setup"), "phase", json_string("users"));
	json_object_set_new(json_object_get(f, "setup"), "users_written", json_integer(250));
	s = top_progress(f, 60);
	CHECK(s != NULL && strncmp(s, "set-up: users [", 15) == 0 && strstr(s, "users 250/1,000"));
	free(s);
	json_decref(bare);
	json_decref(f);
	return CHECK_DONE();
}
