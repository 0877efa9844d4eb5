/* watch.c - the rates sampler and the subscribers of `subscribe' (see watch.h). */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <event2/event.h>

#include "sim/control.h"
#include "sim/log.h"
#include "sim/rates.h"
#include "sim/rpc.h"
#include "sim/server.h"
#include "sim/snapshot.h"
#include "sim/thresholds.h"
#include "sim/config.h"
#include "sim/csvlog.h"
#include "sim/prom.h"
#include "sim/watch.h"

#define WATCH_SAMPLE_US 1000000u /* the sampler's period */

struct sub {
	struct watch *w;
	struct cmd_req *req;
	struct event *timer;
	unsigned interval_ms;
	uint64_t seq, skipped;
	struct rate_sample prev; /* at its last frame: its own "interval" rates */
	int has_prev;
	struct sub *prev_sub, *next;
};

struct watch {
	struct server *srv;
	struct event *sampler;
	struct rates ring;
	struct snapshot *scratch; /* one snapshot, reused: the struct is large */
	uint64_t cpu_us, cpu_at;  /* the process's CPU time at the last sample */
	double cpu_pct;
	struct sub *subs;
	unsigned nsubs;
};

uint64_t
watch_cpu_time_us(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec +
	    (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
}

static void
sample(struct watch *w)
{
	struct snapshot *s = w->scratch;
	struct rate_sample rs;
	uint64_t now = metrics_now_us(), cpu = watch_cpu_time_us();

	memset(s, 0, sizeof(*s));
	engine_snapshot(w->srv->engine, s);
	rate_sample_of(&rs, &s->counts, &s->session_lat, now);
	rates_push(&w->ring, &rs);
	if (w->cpu_at != 0 && now > w->cpu_at && cpu >= w->cpu_us)
		w->cpu_pct = 100.0 * (double)(cpu - w->cpu_us) / (double)(now - w->cpu_at);
	w->cpu_us = cpu;
	w->cpu_at = now;
}

static void
sampler_cb(evutil_socket_t fd, short what, void *arg)
{
	sample(arg);
}

struct watch *
watch_new(struct server *srv)
{
	struct watch *w = calloc(1, sizeof(*w));
	struct timeval tv = { WATCH_SAMPLE_US / 1000000u, WATCH_SAMPLE_US % 1000000u };

	if (w == NULL)
		return NULL;
	w->srv = srv;
	w->cpu_pct = -1;
	w->scratch = malloc(sizeof(*w->scratch));
	w->sampler = event_new(srv->base, -1, EV_PERSIST, sampler_cb, w);
	if (w->scratch == NULL || w->sampler == NULL || event_add(w->sampler, &tv) != 0) {
		watch_free(w);
		return NULL;
	}
	sample(w);
	return w;
}

static void
sub_free(struct sub *u)
{
	struct watch *w = u->w;

	if (u->prev_sub)
		u->prev_sub->next = u->next;
	else
		w->subs = u->next;
	if (u->next)
		u->next->prev_sub = u->prev_sub;
	w->nsubs--;
	if (u->timer)
		event_free(u->timer);
	free(u);
}

void
watch_free(struct watch *w)
{
	if (w == NULL)
		return;
	while (w->subs != NULL) {
		struct cmd_req *req = w->subs->req;
		sub_free(w->subs);
		control_end(req);
	}
	if (w->sampler)
		event_free(w->sampler);
	free(w->scratch);
	free(w);
}

void
watch_fill(const struct watch *w, struct snapshot *s)
{
	struct rate_sample cur;

	rate_sample_of(&cur, &s->counts, &s->session_lat, metrics_now_us());
	rates_over(&w->ring, &cur, 1.0, &s->rate_interval);
	rates_over(&w->ring, &cur, 60.0, &s->rate_minute);
	s->has_rates = 1;
	s->cpu_pct = w->cpu_pct;
	s->subscribers = w->nsubs;
}

/* What simctl top colours by: the plan's, with simd.conf's watch_thresholds over them. */
static json_t *
frame_thresholds(const struct watch *w)
{
	struct thresholds t;
	char err[256];

	thresholds_default(&t);
	if (thresholds_parse(&t, w->srv->cfg->watch_thresholds, err, sizeof(err)) != 0)
		thresholds_default(&t); /* checked at load: cannot happen */
	return thresholds_json(&t);
}

/* One frame to u, unless its reader has not taken the last one yet. */
static void
sub_send(struct sub *u)
{
	struct snapshot *s = u->w->scratch;
	struct rate_sample cur;
	json_t *f;

	u->seq++;
	if (control_unsent(u->req) > 0) {
		u->skipped++; /* coalesced: the next frame it gets is a fresh one */
		return;
	}
	server_snapshot(u->w->srv, s);
	rate_sample_of(&cur, &s->counts, &s->session_lat, metrics_now_us());
	if (u->has_prev)
		rates_between(&u->prev, &cur, &s->rate_interval);
	u->prev = cur;
	u->has_prev = 1;
	f = snapshot_frame_json(s);
	if (f == NULL || json_object_set_new(f, "thresholds", frame_thresholds(u->w)) != 0 ||
	    json_object_set_new(f, "seq", json_integer((json_int_t)u->seq)) != 0 ||
	    json_object_set_new(f, "skipped", json_integer((json_int_t)u->skipped)) != 0 ||
	    json_object_set_new(f, "interval_ms", json_integer(u->interval_ms)) != 0 ||
	    json_object_set_new(f, "t_ms", json_integer((json_int_t)(cur.t_us / 1000))) != 0) {
		json_decref(f);
		log_warnx("subscribe: out of memory building a frame; skipping it");
		u->skipped++;
		return;
	}
	if (control_send(u->req, rpc_result(json_incref(u->req->id), f)) == 0)
		u->skipped++;
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	sub_send(arg);
}

/* The client went away or cancelled the stream. */
static void
sub_gone(struct cmd_req *req, void *arg)
{
	sub_free(arg);
	control_end(req);
}

int
watch_subscribe(
    struct watch *w, struct cmd_req *req, unsigned interval_ms, char *err, size_t errlen)
{
	struct timeval tv = { interval_ms / 1000, (suseconds_t)(interval_ms % 1000) * 1000 };
	struct sub *u;

	if (w->nsubs >= WATCH_MAX_SUBSCRIBERS) {
		snprintf(err, errlen, "too many subscribers (at most %d at once)",
		    WATCH_MAX_SUBSCRIBERS);
		return -1;
	}
	if ((u = calloc(1, sizeof(*u))) == NULL ||
	    (u->timer = event_new(w->srv->base, -1, EV_PERSIST, tick_cb, u)) == NULL ||
	    event_add(u->timer, &tv) != 0) {
		if (u != NULL && u->timer != NULL)
			event_free(u->timer);
		free(u);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	u->w = w;
	u->req = req;
	u->interval_ms = interval_ms;
	u->next = w->subs;
	if (w->subs)
		w->subs->prev_sub = u;
	w->subs = u;
	w->nsubs++;
	control_stream(req, sub_gone, u);
	control_stream_newest(req);
	sub_send(u);
	return 0;
}

int
watch_unsubscribe(struct watch *w, const struct cmd_req *from, const json_t *id)
{
	struct sub *u, *next;
	int n = 0;

	for (u = w->subs; u != NULL; u = next) {
		struct cmd_req *req = u->req;

		next = u->next;
		if (req->client != from->client || req == from ||
		    (id != NULL && !json_equal(req->id, id)))
			continue;
		sub_free(u);
		control_end(req);
		n++;
	}
	return n;
}

unsigned
watch_nsubscribers(const struct watch *w)
{
	return w->nsubs;
}

int
watch_check(const struct sim_config *c, char *err, size_t errlen)
{
	struct thresholds t;
	char host[64], msg[256];
	uint16_t port;

	thresholds_default(&t);
	if (thresholds_parse(&t, c->watch_thresholds, msg, sizeof(msg)) != 0) {
		snprintf(err, errlen, "watch_thresholds: %s", msg);
		return -1;
	}
	if (*c->metrics_listen != '\0' &&
	    prom_parse_listen(c->metrics_listen, host, sizeof(host), &port, err, errlen) != 0)
		return -1;
	return csvlog_check(c->metrics_csv, err, errlen);
}
