/* rates.c - counters sampled into a ring, rates over windows (see rates.h). */
#include <string.h>

#include "sim/rates.h"

const char *const rate_names[RATE_NCOUNTERS] = {
	[RATE_AGENTS] = "agents_per_s",
	[RATE_SESSIONS] = "sessions_per_s",
	[RATE_ORDERS] = "orders_per_s",
	[RATE_EVENTS] = "events_per_s",
	[RATE_ROWS] = "writes_per_s",
	[RATE_ERRORS] = "errors_per_s",
	[RATE_RETRIES] = "retries_per_s",
};

void
rate_sample_of(struct rate_sample *out, const struct engine_counts *c,
    const struct histogram *session, uint64_t t_us)
{
	out->t_us = t_us;
	out->v[RATE_AGENTS] = c->agents_processed;
	out->v[RATE_SESSIONS] = c->sessions;
	out->v[RATE_ORDERS] = c->orders;
	out->v[RATE_EVENTS] = c->events;
	out->v[RATE_ROWS] = c->rows;
	out->v[RATE_ERRORS] = c->errors;
	out->v[RATE_RETRIES] = c->retries;
	out->lat_count = session->count;
	out->lat_sum_us = session->sum_us;
}

void
rates_reset(struct rates *r)
{
	r->head = 0;
	r->n = 0;
}

static int
went_down(const struct rate_sample *old, const struct rate_sample *s)
{
	for (int i = 0; i < RATE_NCOUNTERS; i++)
		if (s->v[i] < old->v[i])
			return 1;
	return s->lat_count < old->lat_count || s->t_us < old->t_us;
}

void
rates_push(struct rates *r, const struct rate_sample *s)
{
	if (r->n > 0 && went_down(&r->ring[r->head], s))
		rates_reset(r);
	r->head = r->n == 0 ? 0 : (r->head + 1) % RATES_RING;
	r->ring[r->head] = *s;
	if (r->n < RATES_RING)
		r->n++;
}

void
rates_between(const struct rate_sample *a, const struct rate_sample *b, struct rate_window *out)
{
	memset(out, 0, sizeof(*out));
	if (b->t_us <= a->t_us || went_down(a, b))
		return;
	out->secs = (double)(b->t_us - a->t_us) / 1e6;
	for (int i = 0; i < RATE_NCOUNTERS; i++)
		out->per_s[i] = (double)(b->v[i] - a->v[i]) / out->secs;
	if (b->lat_count > a->lat_count)
		out->session_avg_ms = (double)(b->lat_sum_us - a->lat_sum_us) /
		    (double)(b->lat_count - a->lat_count) / 1e3;
}

void
rates_over(
    const struct rates *r, const struct rate_sample *cur, double window, struct rate_window *out)
{
	const struct rate_sample *from = NULL;
	uint64_t span = (uint64_t)(window * 1e6);

	/* newest first: the first one old enough; else the oldest */
	for (unsigned k = 0; k < r->n; k++) {
		from = &r->ring[(r->head + RATES_RING - k) % RATES_RING];
		if (from->t_us <= cur->t_us && cur->t_us - from->t_us >= span)
			break;
	}
	if (from == NULL) {
		memset(out, 0, sizeof(*out));
		return;
	}
	rates_between(from, cur, out);
}

json_t *
rate_window_json(const struct rate_window *w)
{
	json_t *o = json_object();
	int bad;

	if (o == NULL)
		return NULL;
	bad = json_object_set_new(o, "window_s", metrics_real(w->secs, 3));
	for (int i = 0; i < RATE_NCOUNTERS; i++)
		bad |= json_object_set_new(o, rate_names[i], metrics_real(w->per_s[i], 1));
	bad |= json_object_set_new(o, "session_avg_ms", metrics_real(w->session_avg_ms, 3));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}
