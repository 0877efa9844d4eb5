/* rates.c - windowed rates: the ring, the last interval and minute, a new run's reset. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "sim/rates.h"

static struct rate_sample
at(uint64_t t_s, uint64_t sessions, uint64_t lat_count, uint64_t lat_sum_us)
{
	struct rate_sample s;

	memset(&s, 0, sizeof(s));
	s.t_us = t_s * 1000000u;
	s.v[RATE_SESSIONS] = sessions;
	s.v[RATE_ROWS] = sessions * 10;
	s.lat_count = lat_count;
	s.lat_sum_us = lat_sum_us;
	return s;
}

int
main(void)
{
	struct rates r;
	struct rate_window w;
	struct rate_sample s, cur;
	struct engine_counts c;
	struct histogram h;

	rates_reset(&r);
	cur = at(10, 100, 0, 0);
	rates_over(&r, &cur, 60, &w);
	CHECK(w.secs == 0); /* nothing sampled: nothing to say */

	/* one sample a second, 10 sessions a second, 2 ms each */
	for (uint64_t t = 0; t <= 200; t++) {
		s = at(t, t * 10, t * 10, t * 10 * 2000);
		rates_push(&r, &s);
	}
	CHECK(r.n == RATES_RING);
	cur = at(201, 2010, 2010, 2010 * 2000);
	rates_over(&r, &cur, 1, &w);
	CHECK(fabs(w.secs - 1) < 1e-9);
	CHECK(fabs(w.per_s[RATE_SESSIONS] - 10) < 1e-9);
	CHECK(fabs(w.per_s[RATE_ROWS] - 100) < 1e-9);
	CHECK(fabs(w.session_avg_ms - 2) < 1e-9);
	rates_over(&r, &cur, 60, &w);
	CHECK(fabs(w.secs - 60) < 1e-9);
	CHECK(fabs(w.per_s[RATE_SESSIONS] - 10) < 1e-9);
	/* a window older than the ring: the oldest sample there is */
	rates_over(&r, &cur, 3600, &w);
	CHECK(fabs(w.secs - RATES_RING) < 1e-9);

	/* a burst in the last second shows in the interval, diluted in the minute */
	cur = at(201, 2010 + 600, 2010, 2010 * 2000);
	rates_over(&r, &cur, 1, &w);
	CHECK(fabs(w.per_s[RATE_SESSIONS] - 610) < 1e-9);
	rates_over(&r, &cur, 60, &w);
	CHECK(fabs(w.per_s[RATE_SESSIONS] - 20) < 1e-9);

	/* counters that go down are a new run: the ring starts afresh */
	s = at(202, 5, 5, 5000);
	rates_push(&r, &s);
	CHECK(r.n == 1);
	rates_between(&cur, &s, &w); /* across the reset: no rate, not a negative one */
	CHECK(w.secs == 0 && w.per_s[RATE_SESSIONS] == 0);

	/* from a run's counters */
	memset(&c, 0, sizeof(c));
	memset(&h, 0, sizeof(h));
	c.sessions = 7;
	c.rows = 70;
	c.agents_processed = 100;
	hist_add(&h, 1500);
	rate_sample_of(&s, &c, &h, 42);
	CHECK(s.t_us == 42 && s.v[RATE_SESSIONS] == 7 && s.v[RATE_ROWS] == 70);
	CHECK(s.v[RATE_AGENTS] == 100 && s.lat_count == 1 && s.lat_sum_us == 1500);
	{
		json_t *o = rate_window_json(&w);
		CHECK(o != NULL && json_object_get(o, "sessions_per_s") != NULL &&
		    json_object_get(o, "writes_per_s") != NULL &&
		    json_object_get(o, "session_avg_ms") != NULL);
		json_decref(o);
	}
	return CHECK_DONE();
}
