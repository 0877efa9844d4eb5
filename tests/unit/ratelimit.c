/*
 * ratelimit.c - the adaptive limiter in simulated time: clients driven by an
 * injected clock against a server that keeps its own token bucket (or a fixed
 * window with OpenAI's headers) and answers 429 when over it.  The figures of
 * each run are printed for the record; the checks hold on any machine since no
 * real time passes.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "sim/ratelimit.h"

#include "check.h"

#define CLIENTS_MAX 64
#define TRACE_N 12

struct server {
	double rate, burst, tokens, last;
	int retry_after; /* 429s say when the next token comes, in whole s */
	double window;   /* > 0: a fixed window of `limit' requests instead */
	long limit, used;
	double window_end;
};

struct scenario {
	const char *name;
	struct ratelimit_opts lim;
	struct server srv;
	int clients;
	double latency, gap;     /* gap: a client's pause between requests */
	double duration, settle; /* figures "after convergence" count from settle */
};

struct client {
	double t, sent;
	int waiting_reply, ok;
	double retry_after, reset;
	long remaining;
};

struct result {
	uint64_t sent, throttled, sent_late, ok_late, throttled_late;
	unsigned early;     /* requests sent before a block the server asked for */
	double lo, hi, sum; /* the rate after settle, sampled at each event */
	uint64_t samples;
	int out_of_bounds;
	double reached_max; /* when the rate first hit rate_max; -1: never */
	double trace[TRACE_N];
	struct ratelimit_stats st;
};

/* 1: served; 0: 429, with the Retry-After or the quota headers filled in. */
static int
server_ask(struct server *sv, double t, struct client *c)
{
	c->retry_after = -1.0;
	c->remaining = -1;
	if (sv->window > 0.0) {
		if (t >= sv->window_end) {
			sv->window_end = (floor(t / sv->window) + 1.0) * sv->window;
			sv->used = 0;
		}
		c->reset = sv->window_end;
		if (sv->used >= sv->limit) {
			c->remaining = 0;
			return 0;
		}
		c->remaining = sv->limit - ++sv->used;
		return 1;
	}
	sv->tokens = fmin(sv->burst, sv->tokens + (t - sv->last) * sv->rate);
	sv->last = t;
	if (sv->tokens >= 1.0) {
		sv->tokens -= 1.0;
		return 1;
	}
	if (sv->retry_after)
		c->retry_after = ceil((1.0 - sv->tokens) / sv->rate);
	return 0;
}

static void
observe(const struct scenario *sc, struct ratelimit *rl, double t, struct result *r)
{
	struct ratelimit_stats st;

	ratelimit_stats(rl, t, &st);
	if (st.rate != 0.0 && (st.rate < sc->lim.rate_min || st.rate > sc->lim.rate_max))
		r->out_of_bounds = 1;
	if (r->reached_max < 0 && st.rate >= sc->lim.rate_max)
		r->reached_max = t;
	for (int i = 0; i < TRACE_N; i++)
		if (r->trace[i] < 0 && t >= sc->duration * i / TRACE_N)
			r->trace[i] = st.rate;
	if (t < sc->settle)
		return;
	r->lo = fmin(r->lo, st.rate);
	r->hi = fmax(r->hi, st.rate);
	r->sum += st.rate;
	r->samples++;
}

static void
client_reply(struct ratelimit *rl, struct client *c, double t, double *block_end, struct result *r)
{
	if (c->ok)
		ratelimit_success(rl, t, c->sent);
	else
		ratelimit_throttle(rl, t, c->sent, c->retry_after);
	if (c->retry_after > 0)
		*block_end = fmax(*block_end, t + c->retry_after);
	if (c->remaining >= 0)
		ratelimit_headers(rl, t, c->remaining, c->reset - t);
	if (c->remaining == 0)
		*block_end = fmax(*block_end, c->reset);
}

static void
client_send(const struct scenario *sc, struct server *sv, struct client *c, double t,
    double block_end, struct result *r)
{
	int late = t >= sc->settle;

	r->early += t < block_end - 1e-9;
	c->ok = server_ask(sv, t, c);
	c->sent = t;
	c->waiting_reply = 1;
	c->t = t + sc->latency;
	r->sent++;
	r->sent_late += late;
	r->throttled += !c->ok;
	r->throttled_late += late && !c->ok;
	r->ok_late += late && c->ok;
}

static void
run(const struct scenario *sc, struct result *r)
{
	struct server sv = sc->srv;
	struct client cl[CLIENTS_MAX];
	struct ratelimit *rl = ratelimit_new(&sc->lim, 0.0);
	double t, w, block_end = 0.0;
	int i, k;

	memset(r, 0, sizeof(*r));
	r->lo = INFINITY;
	r->reached_max = -1.0;
	for (i = 0; i < TRACE_N; i++)
		r->trace[i] = -1.0;
	memset(cl, 0, sizeof(cl));
	sv.tokens = sv.burst;
	CHECK(rl != NULL);
	if (rl == NULL)
		return;
	for (;;) {
		for (k = 0, i = 1; i < sc->clients; i++)
			if (cl[i].t < cl[k].t)
				k = i;
		if ((t = cl[k].t) > sc->duration)
			break;
		if (cl[k].waiting_reply) {
			cl[k].waiting_reply = 0;
			client_reply(rl, &cl[k], t, &block_end, r);
			cl[k].t = t + sc->gap;
		} else if ((w = ratelimit_take(rl, t)) > 0.0) {
			cl[k].t = t + w;
		} else {
			client_send(sc, &sv, &cl[k], t, block_end, r);
		}
		observe(sc, rl, t, r);
	}
	observe(sc, rl, sc->duration, r);
	ratelimit_stats(rl, sc->duration, &r->st);
	ratelimit_free(rl);
}

static double
late_share(const struct result *r)
{
	return r->sent_late ? (double)r->throttled_late / (double)r->sent_late : 0.0;
}

static void
report(const struct scenario *sc, const struct result *r)
{
	double span = sc->duration - sc->settle;
	double limit = sc->srv.window > 0 ? sc->srv.limit / sc->srv.window : sc->srv.rate;

	printf("%s: %.0f s simulated, %llu requests, %llu answered 429 (%.1f %%)\n", sc->name,
	    sc->duration, (unsigned long long)r->sent, (unsigned long long)r->throttled,
	    r->sent ? 100.0 * (double)r->throttled / (double)r->sent : 0.0);
	printf("  after %.0f s: %.2f %% 429; sent %.3f/s, served %.3f/s = %.0f %% of the "
	       "server's %.3f/s\n",
	    sc->settle, 100.0 * late_share(r), (double)r->sent_late / span,
	    (double)r->ok_late / span, limit > 0 ? 100.0 * (double)r->ok_late / span / limit : 0.0,
	    limit);
	printf("  limiter rate after %.0f s: min %.3f, mean %.3f, max %.3f; %llu decreases, "
	       "%llu increases, %u sent inside a block\n",
	    sc->settle, r->lo, r->samples ? r->sum / (double)r->samples : 0.0, r->hi,
	    (unsigned long long)r->st.decreases, (unsigned long long)r->st.increases, r->early);
	printf("  rate every %.0f s:", sc->duration / TRACE_N);
	for (int i = 0; i < TRACE_N; i++)
		printf(" %.3g", r->trace[i]);
	printf("\n");
}

/* Converged: within the limit over the long window, few 429s, bounds and blocks kept. */
static void
check_converged(const struct scenario *sc, const struct result *r, double min_share)
{
	double span = sc->duration - sc->settle;
	double limit = sc->srv.window > 0 ? sc->srv.limit / sc->srv.window : sc->srv.rate;

	report(sc, r);
	CHECK(!r->out_of_bounds);
	CHECK(r->early == 0);
	CHECK(late_share(r) < 0.10);
	CHECK((double)r->sent_late / span <= 1.10 * limit);
	CHECK((double)r->ok_late / span >= min_share * limit);
	CHECK(r->lo >= sc->lim.rate_min && r->hi <= sc->lim.rate_max);
}

static const struct ratelimit_opts shop_lim = {
	.rate = 10,
	.rate_min = 1,
	.rate_max = 200,
	.burst = 5,
	.decrease = 0.5,
	.increase = 1.1,
	.block_max = 600,
};
static const struct ratelimit_opts llm_lim = {
	.rate = 10,
	.rate_min = 0.05,
	.rate_max = 50,
	.burst = 1,
	.decrease = 0.5,
	.increase = 1.1,
	.block_max = 600,
};

static void
test_convergence(void)
{
	/* name, limiter, server, clients, latency, gap, duration, settle */
	struct scenario sc[] = {
		{ "shop API, server 50/s (burst 10), 16 clients, 50 ms", shop_lim,
		    { .rate = 50, .burst = 10 }, 16, 0.05, 0, 600, 60 },
		{ "shop API unlimited at first (rate 0), server 50/s, 64 clients", shop_lim,
		    { .rate = 50, .burst = 10 }, 64, 0.05, 0, 600, 60 },
		{ "LLM, server 20/min (burst 1), no Retry-After, 1 client, 2 s", llm_lim,
		    { .rate = 1.0 / 60 * 20, .burst = 1 }, 1, 2.0, 0, 7200, 600 },
		{ "LLM, server 20/min (burst 1), Retry-After, 4 clients, 2 s", llm_lim,
		    { .rate = 1.0 / 60 * 20, .burst = 1, .retry_after = 1 }, 4, 2.0, 0, 7200, 600 },
	};
	struct result r;

	sc[1].lim.rate = 0;
	for (unsigned i = 0; i < sizeof(sc) / sizeof(sc[0]); i++) {
		run(&sc[i], &r);
		check_converged(&sc[i], &r, 0.6);
	}
}

static void
test_headers_mode(void)
{
	struct scenario sc = { "LLM, fixed window 20/min with x-ratelimit headers, 1 client",
		llm_lim, { .window = 60, .limit = 20 }, 1, 0.5, 0, 3600, 60 };
	struct result r;

	run(&sc, &r);
	check_converged(&sc, &r, 0.95);
	CHECK(r.throttled == 0); /* the headers said stop before the server had to */
}

static void
test_bounds(void)
{
	struct scenario open = { "server never throttles, 8 greedy clients", llm_lim,
		{ .rate = 1e9, .burst = 1e9 }, 8, 0.05, 0, 120, 60 };
	struct scenario idle = open, shut = open;
	struct result r;

	run(&open, &r);
	report(&open, &r);
	CHECK(!r.out_of_bounds && r.hi == llm_lim.rate_max && r.reached_max > 0);
	printf("  rate_max reached after %.1f s\n", r.reached_max);

	idle.name = "server never throttles, 1 client asking twice a second";
	idle.clients = 1;
	idle.gap = 0.5;
	run(&idle, &r);
	CHECK(r.st.increases == 0 && r.st.rate == llm_lim.rate); /* unused: no growth */

	shut.name = "server throttles everything, 4 clients";
	shut.srv.rate = 0;
	shut.srv.burst = 0;
	shut.clients = 4;
	run(&shut, &r);
	report(&shut, &r);
	CHECK(!r.out_of_bounds && r.lo == llm_lim.rate_min && r.st.rate == llm_lim.rate_min);
}

static void
test_bucket(void)
{
	struct ratelimit_opts o = shop_lim;
	struct ratelimit *rl = ratelimit_new(&o, 100.0);
	struct ratelimit_stats st;
	double w;
	int i, n = 0;

	for (i = 0; i < 10; i++)
		n += ratelimit_take(rl, 100.0) == 0.0;
	CHECK(n == 5); /* the burst, then nothing */
	w = ratelimit_take(rl, 100.0);
	CHECK(fabs(w - 0.1) < 1e-12);
	CHECK(ratelimit_take(rl, 100.0 + w) == 0.0); /* waiting as told is enough */
	CHECK(ratelimit_take(rl, 99.0) > 0.0);       /* a clock gone back adds nothing */
	ratelimit_stats(rl, 1e6, &st);
	CHECK(st.tokens == 5.0 && st.granted == 6); /* full again, never fuller */
	ratelimit_free(rl);
}

static void
test_holdoff(void)
{
	struct ratelimit_opts o = llm_lim;
	struct ratelimit *rl;
	struct ratelimit_stats st;
	double w;
	int i;

	o.rate = 40;
	o.burst = 40;
	rl = ratelimit_new(&o, 0.0);
	for (i = 0; i < 30; i++)
		CHECK(ratelimit_take(rl, 0.0) == 0.0);
	for (i = 0; i < 30; i++) /* all 30 in flight come back 429 */
		ratelimit_throttle(rl, 1.0, 0.0, -1.0);
	ratelimit_stats(rl, 1.0, &st);
	CHECK(st.throttles == 30 && st.decreases == 1 && st.rate == 20.0);
	CHECK(st.tokens == 0.0);
	w = ratelimit_take(rl, 1.0);
	CHECK(fabs(w - 0.05) < 1e-12);
	CHECK(ratelimit_take(rl, 1.0 + w) == 0.0);
	ratelimit_success(rl, 1.2, 0.5);            /* an old request: no evidence */
	ratelimit_throttle(rl, 1.3, 1.0 + w, -1.0); /* sent after the cut: cut again */
	ratelimit_stats(rl, 1.3, &st);
	CHECK(st.decreases == 2 && st.rate == 10.0 && st.increases == 0);
	ratelimit_free(rl);

	rl = ratelimit_new(&o, 0.0); /* a caller that passes now */
	for (i = 0; i < 30; i++)
		ratelimit_throttle(rl, 1.0 + i / 100.0, 1.0 + i / 100.0, -1.0);
	ratelimit_stats(rl, 1.0, &st);
	CHECK(st.decreases == 30 && st.rate == o.rate_min);
	ratelimit_free(rl);
}

static void
test_retry_after(void)
{
	struct ratelimit_opts o = shop_lim;
	struct ratelimit *rl = ratelimit_new(&o, 0.0);
	struct ratelimit_stats st;

	ratelimit_throttle(rl, 10.0, 9.9, 5.0);
	CHECK(ratelimit_take(rl, 10.0) == 5.0);
	CHECK(ratelimit_take(rl, 12.0) == 3.0);
	ratelimit_stats(rl, 12.0, &st);
	CHECK(st.blocked_until == 15.0 && st.rate == 5.0);
	CHECK(ratelimit_take(rl, 15.0) == 0.0); /* one token at the end of it */
	CHECK(fabs(ratelimit_take(rl, 15.0) - 0.2) < 1e-12);
	ratelimit_throttle(rl, 16.0, 9.95, 20.0); /* same event: no cut, but wait */
	ratelimit_stats(rl, 16.0, &st);
	CHECK(st.decreases == 1 && st.blocked_until == 36.0);
	ratelimit_throttle(rl, 17.0, 9.95, 1e9); /* bounded by block_max */
	ratelimit_throttle(rl, 17.0, 9.95, NAN);
	ratelimit_throttle(rl, 17.0, 9.95, -1.0);
	ratelimit_stats(rl, 17.0, &st);
	CHECK(st.blocked_until == 617.0 && st.throttles == 5 && st.decreases == 1);
	ratelimit_stats(rl, 700.0, &st);
	CHECK(st.blocked_until == 0.0);
	ratelimit_free(rl);
}

static void
test_headers(void)
{
	struct ratelimit *rl = ratelimit_new(&llm_lim, 0.0);
	struct ratelimit_stats st;

	ratelimit_headers(rl, 1.0, 5, 30.0);  /* quota left: nothing changes */
	ratelimit_headers(rl, 1.0, -1, 30.0); /* no header */
	ratelimit_headers(rl, 1.0, 0, NAN);   /* no reset given */
	CHECK(ratelimit_take(rl, 1.0) == 0.0);
	ratelimit_headers(rl, 2.0, 0, 30.0);
	CHECK(ratelimit_take(rl, 2.0) == 30.0);
	CHECK(ratelimit_take(rl, 32.0) == 0.0);
	ratelimit_stats(rl, 32.0, &st);
	CHECK(st.rate == 10.0 && st.decreases == 0); /* a quota is not congestion */
	ratelimit_free(rl);
}

static void
test_unlimited(void)
{
	struct ratelimit_opts o = llm_lim;
	struct ratelimit *rl;
	struct ratelimit_stats st;
	int i, ok = 1;

	o.rate = 0;
	rl = ratelimit_new(&o, 0.0);
	for (i = 0; i < 60; i++) /* 30/s for 2 s */
		ok &= ratelimit_take(rl, i / 30.0) == 0.0;
	CHECK(ok);
	ratelimit_stats(rl, 2.0, &st);
	CHECK(st.rate == 0.0 && fabs(st.achieved - 30.0) < 1.5);
	ratelimit_throttle(rl, 2.0, 1.95, -1.0);
	ratelimit_stats(rl, 2.0, &st);
	printf("unlimited: 30/s achieved, first 429: rate %.2f\n", st.rate);
	CHECK(st.rate >= 14.0 && st.rate <= 16.0);
	ratelimit_free(rl);

	o.rate_max = 10; /* bounded by rate_max */
	rl = ratelimit_new(&o, 0.0);
	for (i = 0; i < 60; i++)
		ratelimit_take(rl, i / 30.0);
	ratelimit_throttle(rl, 2.0, 1.95, -1.0);
	ratelimit_stats(rl, 2.0, &st);
	CHECK(st.rate == 10.0);
	ratelimit_free(rl);

	o.rate_max = 50; /* one slow request: its own span */
	rl = ratelimit_new(&o, 0.0);
	ratelimit_take(rl, 0.0);
	ratelimit_throttle(rl, 20.0, 0.0, -1.0);
	ratelimit_stats(rl, 20.0, &st);
	CHECK(st.rate == o.rate_min); /* 1/20 s achieved, halved: 0.025 */
	ratelimit_free(rl);
}

static void
test_opts(void)
{
	struct ratelimit_opts o = llm_lim, q;
	char err[128];

	CHECK(ratelimit_opts_check(&o, err, sizeof(err)) == 0);
	q = o, q.rate_min = 0;
	CHECK(ratelimit_opts_check(&q, err, sizeof(err)) == -1 && strstr(err, "rate_min"));
	q = o, q.rate_max = 0.01;
	CHECK(ratelimit_opts_check(&q, err, sizeof(err)) == -1 && strstr(err, "rate_max"));
	q = o, q.rate = 100;
	CHECK(ratelimit_opts_check(&q, err, sizeof(err)) == -1 && strstr(err, "rate must"));
	q = o, q.burst = 0.5;
	CHECK(ratelimit_opts_check(&q, err, sizeof(err)) == -1 && strstr(err, "burst"));
	q = o, q.decrease = 1;
	CHECK(ratelimit_opts_check(&q, err, sizeof(err)) == -1 && strstr(err, "decrease"));
	q = o, q.increase = NAN;
	CHECK(ratelimit_opts_check(&q, err, sizeof(err)) == -1 && strstr(err, "increase"));
	q = o, q.block_max = 0;
	CHECK(ratelimit_opts_check(&q, err, sizeof(err)) == -1 && strstr(err, "block_max"));
	CHECK(ratelimit_new(&q, 0.0) == NULL);
}

int
main(void)
{
	test_bucket();
	test_holdoff();
	test_retry_after();
	test_headers();
	test_unlimited();
	test_opts();
	test_bounds();
	test_convergence();
	test_headers_mode();
	return CHECK_DONE();
}
