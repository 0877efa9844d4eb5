/*
 * adaptive.c - the engine's concurrency limit as the controller sets it: a
 * run's controller (concurrency.c) is fed the latency of every step that
 * completes, and simd's own CPU and the machine's memory once a second (see
 * platform.h for why the CPU is the process's), and is asked
 * every tenth of its interval; a change it makes is the limit the pump
 * starts sessions within, logged with its reason.  With adaptive off the
 * controller still measures (status shows latency and the machine) and the
 * limit is the base, max_concurrent.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "sim/engine_priv.h"
#include "sim/log.h"

#define ADAPT_TICK_US 50000u    /* a tenth of the controller's interval */
#define MACHINE_US 1000000u     /* between machine samples */
#define LOG_BURST 10.0          /* change lines logged in a row ... */
#define LOG_REFILL_US 5000000.0 /* ... then one per 5 s; stats keep them all */

static void
adaptive_log(struct engine *e, uint32_t from, int forced)
{
	struct adaptive *ad = &e->ad;
	uint64_t now = engine_now_us(e);
	uint32_t to = concurrency_limit(ad->cc);

	ad->log_tokens += (double)(now - ad->log_at) / LOG_REFILL_US;
	if (ad->log_tokens > LOG_BURST)
		ad->log_tokens = LOG_BURST;
	ad->log_at = now;
	if (!forced && ad->log_tokens < 1) {
		ad->log_skipped++;
		return;
	}
	if (!forced)
		ad->log_tokens -= 1;
	if (ad->log_skipped > 0)
		log_info("concurrency limit %u -> %u: %s (%u changes before it not logged; "
			 "simctl stats lists the last ones)",
		    from, to, concurrency_reason(ad->cc), ad->log_skipped);
	else
		log_info("concurrency limit %u -> %u: %s", from, to, concurrency_reason(ad->cc));
	ad->log_skipped = 0;
}

/* The controller moved the limit: the pump follows, and the log says why. */
static void
adaptive_changed(struct engine *e, int forced)
{
	uint32_t from = e->limit;

	e->limit = concurrency_limit(e->ad.cc);
	adaptive_log(e, from, forced);
	if (e->state == ENGINE_RUNNING && e->limit > from)
		event_active(e->pump_ev, EV_TIMEOUT, 0);
}

static void
machine_sample(struct engine *e, uint64_t now)
{
	struct adaptive *ad = &e->ad;
	struct platform_cpu cur;
	double cpu = -1;

	ad->machine_at = now;
	if (platform_cpu_sample(&cur) == 0) {
		if (ad->has_cpu)
			cpu = platform_cpu_pct(&ad->cpu_prev, &cur);
		ad->cpu_prev = cur;
		ad->has_cpu = 1;
	}
	concurrency_machine(ad->cc, cpu, platform_mem_pct());
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	uint64_t now = engine_now_us(e);

	if (e->ad.cc == NULL || !engine_active(e)) {
		evtimer_del(e->ad.timer);
		return;
	}
	if (now - e->ad.machine_at >= MACHINE_US)
		machine_sample(e, now);
	concurrency_load(e->ad.cc, e->in_flight);
	if (concurrency_tick(e->ad.cc, now))
		adaptive_changed(e, 0);
}

void
adaptive_init(struct engine *e)
{
	struct concurrency_opts *o = &e->ad.opts;

	/* Until the daemon says otherwise (engine_set_adaptive): a fixed limit. */
	o->enabled = 0;
	o->min = 1;
	o->max = 100000;
	o->cpu_high = o->cpu_low = o->mem_high = o->mem_low = 100;
}

int
adaptive_begin(struct engine *e, char *err, size_t errlen)
{
	struct adaptive *ad = &e->ad;
	struct concurrency_opts o = ad->opts;
	struct timeval tv = { 0, ADAPT_TICK_US };

	o.base = e->p.max_concurrent;
	if (ad->timer == NULL &&
	    (ad->timer = event_new(e->base, -1, EV_PERSIST, tick_cb, e)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((ad->cc = concurrency_new(&o, err, errlen)) == NULL)
		return -1;
	if (ad->carry_us > 0)
		concurrency_seed(ad->cc, ad->carry_us, ad->carry_due, engine_now_us(e));
	ad->has_cpu = 0;
	ad->log_tokens = LOG_BURST;
	ad->log_at = engine_now_us(e);
	ad->log_skipped = 0;
	machine_sample(e, ad->log_at);
	e->limit = concurrency_limit(ad->cc);
	if (e->limit != o.base)
		log_info("concurrency limit %u (max_concurrent %u within adaptive_min %u, "
			 "adaptive_max %u%s)",
		    e->limit, o.base, o.min, o.max, o.ceiling ? " and the store's ceiling" : "");
	evtimer_add(ad->timer, &tv);
	return 0;
}

void
adaptive_clear(struct engine *e)
{
	if (e->ad.cc != NULL &&
	    concurrency_no_load(e->ad.cc, &e->ad.carry_us, &e->ad.carry_due) != 0)
		e->ad.carry_us = 0;
	concurrency_free(e->ad.cc);
	e->ad.cc = NULL;
	if (e->ad.timer != NULL)
		evtimer_del(e->ad.timer);
}

void
adaptive_free(struct engine *e)
{
	adaptive_clear(e);
	if (e->ad.timer != NULL)
		event_free(e->ad.timer);
	e->ad.timer = NULL;
}

void
adaptive_sample(struct engine *e, uint64_t latency_us)
{
	if (e->ad.cc != NULL)
		concurrency_sample(e->ad.cc, latency_us, e->in_flight);
}

void
adaptive_set_base(struct engine *e, uint32_t base)
{
	if (e->ad.cc == NULL) {
		if (e->limit != base)
			log_info("concurrency limit %u -> %u", e->limit, base);
		e->limit = base;
	} else if (concurrency_set_base(e->ad.cc, base, engine_now_us(e))) {
		adaptive_changed(e, 1);
	}
}

int
engine_set_adaptive(struct engine *e, const struct concurrency_opts *o, char *err, size_t errlen)
{
	struct concurrency_opts next = *o;
	int rc, toggled = o->enabled != e->ad.opts.enabled;

	next.base = e->ad.cc != NULL ? e->p.max_concurrent : (o->base ? o->base : 1);
	if (concurrency_opts_check(&next, err, errlen) != 0)
		return -1;
	if (e->ad.cc != NULL &&
	    (rc = concurrency_configure(e->ad.cc, &next, engine_now_us(e), err, errlen)) != 0) {
		if (rc < 0)
			return -1;
		adaptive_changed(e, 1);
	} else if (e->ad.cc != NULL && toggled) {
		log_info("concurrency limit %u: adaptive %s", e->limit, o->enabled ? "on" : "off");
	}
	e->ad.opts = *o;
	return 0;
}

void
adaptive_snapshot(const struct engine *e, struct snapshot *s)
{
	struct concurrency_state st;
	uint64_t now;
	time_t wall;

	s->adaptive = e->ad.opts.enabled;
	s->base = e->p.max_concurrent;
	s->machine_cpu_pct = s->machine_mem_pct = s->latency_ms = s->no_load_latency_ms = -1;
	if (e->ad.cc == NULL)
		return;
	concurrency_state(e->ad.cc, &st);
	s->adaptive = st.enabled;
	s->base = st.base;
	snprintf(s->limit_reason, sizeof(s->limit_reason), "%s", st.reason);
	s->machine_cpu_pct = st.cpu_pct;
	s->machine_mem_pct = st.mem_pct;
	s->latency_ms = st.latency_ms;
	s->no_load_latency_ms = st.no_load_latency_ms;
	s->limit_changes = st.changes;
	s->nlimit_history = concurrency_history(e->ad.cc, s->limit_history, CONCURRENCY_HISTORY);
	/* The controller's clock is the engine's: its times as wall-clock seconds. */
	now = engine_now_us(e);
	wall = time(NULL);
	for (unsigned i = 0; i < s->nlimit_history; i++)
		s->limit_history[i].at = (uint64_t)wall -
		    (now > s->limit_history[i].at ? (now - s->limit_history[i].at) / 1000000u : 0);
}
