/*
 * top.c - the screens of a run from subscribe's frames (see top.h): the
 * panels of simctl top, status --watch's line, start --wait's bar.  Rendering
 * is a pure function of a frame and the window; toploop.c drives it.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/top.h"

#define LINE_MAX_BYTES 2048
#define BAR_MIN 10

/* ---- reading a frame: missing parts are NAN or NULL, never an error ---- */

static const json_t *
at(const json_t *f, const char *path)
{
	char buf[96], *tok, *save = NULL;
	const json_t *v = f;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok != NULL && v != NULL;
	     tok = strtok_r(NULL, ".", &save))
		v = json_object_get(v, tok);
	return v;
}

static double
num(const json_t *f, const char *path)
{
	const json_t *v = at(f, path);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *
str(const json_t *f, const char *path, const char *def)
{
	const char *s = json_string_value(at(f, path));

	return s != NULL ? s : def;
}

/* ---- formatting ---- */

/* 1234567 -> "1,234,567"; NAN -> "-" */
static const char *
count(char *buf, size_t len, double v)
{
	char digits[32];
	size_t n, o = 0;

	if (!isfinite(v)) {
		snprintf(buf, len, "-");
		return buf;
	}
	snprintf(digits, sizeof(digits), "%.0f", v);
	n = strlen(digits);
	for (size_t i = 0; i < n && o + 2 < len; i++) {
		if (i > 0 && digits[i - 1] != '-' && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}

static const char *
real(char *buf, size_t len, const char *fmt, double v)
{
	if (!isfinite(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, fmt, v);
	return buf;
}

/* seconds -> "3.4 ms", "12.3 s", "4m05s", "2h03m", "3d04h" */
static const char *
dur(char *buf, size_t len, double s)
{
	if (!isfinite(s) || s < 0)
		snprintf(buf, len, "-");
	else if (s < 1)
		snprintf(buf, len, "%.1f ms", s * 1e3);
	else if (s < 60)
		snprintf(buf, len, "%.1f s", s);
	else if (s < 3600)
		snprintf(buf, len, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
	else if (s < 86400 * 10)
		snprintf(buf, len, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
	else
		snprintf(buf, len, "%dd%02dh", (int)(s / 86400), (int)fmod(s / 3600, 24));
	return buf;
}

/* ---- a screen: lines of at most cols visible characters ---- */

enum tone { T_PLAIN, T_HEAD, T_DIM, T_OK, T_WARN, T_CRIT };
static const char *const sgr[] = { NULL, "1", "2", "32", "33", "1;31" };

struct line {
	char buf[LINE_MAX_BYTES];
	size_t len;
	int vis;
};

struct screen {
	const struct top_view *v;
	struct thresholds th;
	char *text;
	size_t len, cap;
	int nlines, bad;
};

static void add(struct screen *s, struct line *l, enum tone tone, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
addv(struct screen *s, struct line *l, enum tone tone, const char *fmt, va_list ap)
{
	char piece[512];
	int room = s->v->cols - l->vis, n;

	vsnprintf(piece, sizeof(piece), fmt, ap);
	n = (int)strlen(piece);
	if (room <= 0)
		return;
	if (n > room)
		n = room;
	if (s->v->color && sgr[tone] != NULL && l->len + (size_t)n + 16 < sizeof(l->buf))
		l->len += (size_t)snprintf(l->buf + l->len, sizeof(l->buf) - l->len,
		    "\033[%sm%.*s\033[0m", sgr[tone], n, piece);
	else if (l->len + (size_t)n + 1 < sizeof(l->buf))
		l->len +=
		    (size_t)snprintf(l->buf + l->len, sizeof(l->buf) - l->len, "%.*s", n, piece);
	l->vis += n;
}

static void
add(struct screen *s, struct line *l, enum tone tone, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	addv(s, l, tone, fmt, ap);
	va_end(ap);
}

static void
emit(struct screen *s, struct line *l)
{
	size_t need = s->len + l->len + 2;

	if (s->v->rows > 0 && s->nlines >= s->v->rows - 1)
		return; /* the footer keeps the last row */
	if (need > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8192;
		char *t;
		while (cap < need)
			cap *= 2;
		if ((t = realloc(s->text, cap)) == NULL) {
			s->bad = 1;
			return;
		}
		s->text = t;
		s->cap = cap;
	}
	memcpy(s->text + s->len, l->buf, l->len);
	s->len += l->len;
	s->text[s->len++] = '\n';
	s->text[s->len] = '\0';
	s->nlines++;
	l->len = 0;
	l->vis = 0;
}

static enum tone
level(const struct screen *s, enum th_metric m, double v)
{
	if (!isfinite(v))
		return T_DIM;
	switch (thresholds_level(&s->th, m, v)) {
	case TH_CRIT: return T_CRIT;
	case TH_WARN: return T_WARN;
	default: return T_OK;
	}
}

static void
heading(struct screen *s, const char *title)
{
	struct line l = { .len = 0 };
	int dashes = s->v->cols - (int)strlen(title) - 4;

	add(s, &l, T_HEAD, "-- %s ", title);
	while (dashes-- > 0)
		add(s, &l, T_DIM, "-");
	emit(s, &l);
}

/* [#####.....] of width cols; frac in [0, 1] */
static void
bar(struct screen *s, struct line *l, double frac, int width)
{
	char b[256];
	int n, i;

	if (width < BAR_MIN)
		width = BAR_MIN;
	if (width > (int)sizeof(b) - 3)
		width = (int)sizeof(b) - 3;
	if (!isfinite(frac) || frac < 0)
		frac = 0;
	if (frac > 1)
		frac = 1;
	n = (int)(frac * width + 0.5);
	b[0] = '[';
	for (i = 0; i < width; i++)
		b[i + 1] = i < n ? '#' : '.';
	b[width + 1] = ']';
	b[width + 2] = '\0';
	add(s, l, T_PLAIN, "%s", b);
}

/* ---- the panels ---- */

static int
running(const json_t *f)
{
	const char *st = str(f, "state", "");

	return strcmp(st, "running") == 0;
}

static void
panel_header(struct screen *s, const json_t *f)
{
	struct line l = { .len = 0 };
	char a[32], b[32], c[32];
	const char *st = str(f, "state", "?");
	double total = num(f, "cycles_total");

	add(s, &l, T_HEAD, "simd top");
	add(s, &l, T_PLAIN, "  run %s  ", str(f, "run_id", "-"));
	add(s, &l,
	    strcmp(st, "failed") == 0        ? T_CRIT
		: strcmp(st, "running") == 0 ? T_OK
					     : T_WARN,
	    "%s", st);
	if (at(f, "error") != NULL)
		add(s, &l, T_CRIT, ": %s", str(f, "error", ""));
	emit(s, &l);
	add(s, &l, T_PLAIN, "agents %s / %s this cycle   cycle %s",
	    count(a, sizeof(a), num(f, "cycle_now.agents_done")),
	    count(b, sizeof(b), num(f, "agents")), count(c, sizeof(c), num(f, "cycle") + 1));
	if (isfinite(total) && total > 0)
		add(s, &l, T_PLAIN, " of %s", count(a, sizeof(a), total));
	add(s, &l, T_PLAIN, "   sim time %s", str(f, "sim_time", "-"));
	emit(s, &l);
}

/* "now X  1 min Y  run Z" for one rate */
static void
rate3(struct screen *s, struct line *l, const json_t *f, const char *name, enum tone now_tone)
{
	char k[64], a[32], b[32], c[32];

	snprintf(k, sizeof(k), "rates.interval.%s", name);
	add(s, l, now_tone, "%s", real(a, sizeof(a), "%.1f", num(f, k)));
	snprintf(k, sizeof(k), "rates.minute.%s", name);
	add(s, l, T_PLAIN, "  1 min %s", real(b, sizeof(b), "%.1f", num(f, k)));
	snprintf(k, sizeof(k), "rates.total.%s", name);
	add(s, l, T_PLAIN, "  run %s", real(c, sizeof(c), "%.1f", num(f, k)));
}

static void
perf_latency(struct screen *s, const json_t *f)
{
	struct line l = { .len = 0 };
	char a[32], b[32], c[32];
	double avg = num(f, "rates.interval.session_avg_ms");
	const char *k;
	json_t *v;

	if (!isfinite(avg) || avg <= 0)
		avg = num(f, "latency.session.avg_ms");
	add(s, &l, T_PLAIN, "session ms   avg ");
	add(s, &l, level(s, TH_LATENCY_MS, avg), "%s", real(a, sizeof(a), "%.2f", avg));
	add(s, &l, T_PLAIN, "  p95 %s  p99 %s",
	    real(b, sizeof(b), "%.2f", num(f, "latency.session.p95_ms")),
	    real(c, sizeof(c), "%.2f", num(f, "latency.session.p99_ms")));
	emit(s, &l);
	add(s, &l, T_PLAIN, "steps ms     ");
	json_object_foreach ((json_t *)at(f, "latency.steps"), k, v)
		if (num(v, "count") > 0)
			add(s, &l, T_PLAIN, "%s %s/%s  ", k,
			    real(a, sizeof(a), "%.2f", num(v, "avg_ms")),
			    real(b, sizeof(b), "%.2f", num(v, "p95_ms")));
	add(s, &l, T_DIM, "(avg/p95)");
	emit(s, &l);
}

static void
perf_calls(struct screen *s, const json_t *f)
{
	struct line l = { .len = 0 };
	char a[32], b[32], c[32];

	add(s, &l, T_PLAIN, "api calls/s  ");
	if (at(f, "api") != NULL)
		add(s, &l, T_PLAIN, "%s  429s %s  in flight %s",
		    real(a, sizeof(a), "%.1f", num(f, "api.rate")),
		    count(b, sizeof(b), num(f, "api.status_429")),
		    count(c, sizeof(c), num(f, "api.in_flight")));
	else
		add(s, &l, T_DIM, "-");
	add(s, &l, T_PLAIN, "   llm calls/s  ");
	if (json_is_object(at(f, "llm")))
		add(s, &l, T_PLAIN, "%s  rate %s  429s %s",
		    real(a, sizeof(a), "%.1f", num(f, "llm.requests_per_s")),
		    real(b, sizeof(b), "%.2f", num(f, "llm.rate")),
		    count(c, sizeof(c), num(f, "llm.status_429")));
	else
		add(s, &l, T_DIM, "-");
	emit(s, &l);
}

static void
perf_machine(struct screen *s, const json_t *f)
{
	struct line l = { .len = 0 };
	char a[32], b[32], c[32], d[32];
	double rss = num(f, "process.rss_bytes") / (1024.0 * 1024.0);
	double active = num(f, "store.connections_active");

	add(s, &l, T_PLAIN, "cpu ");
	add(s, &l, level(s, TH_CPU_PCT, num(f, "process.cpu_pct")), "%s %%",
	    real(a, sizeof(a), "%.1f", num(f, "process.cpu_pct")));
	add(s, &l, T_PLAIN, "   rss ");
	add(s, &l, level(s, TH_MEMORY_GB, rss / 1024.0), "%s MB", real(a, sizeof(a), "%.1f", rss));
	add(s, &l, T_PLAIN, "   db %s ", str(f, "store.driver", "-"));
	add(s, &l, level(s, TH_DB_CONNECTIONS, active), "%s active", count(a, sizeof(a), active));
	add(s, &l, T_PLAIN, " %s idle %s waiting of %s",
	    count(b, sizeof(b), num(f, "store.connections_idle")),
	    count(c, sizeof(c), num(f, "store.waiting")), count(d, sizeof(d), num(f, "store.max")));
	emit(s, &l);
}

static void
panel_perf(struct screen *s, const json_t *f)
{
	struct line l = { .len = 0 };
	char a[32], b[32];
	double last = num(f, "cycle") > 0 ? num(f, "cycle_now.last_s") : NAN;

	heading(s, "performance");
	add(s, &l, T_PLAIN, "cycle time   last ");
	add(s, &l, level(s, TH_CYCLE_S, last), "%s", dur(a, sizeof(a), last));
	add(s, &l, T_PLAIN, "   this one %s   lag %s",
	    dur(b, sizeof(b), num(f, "cycle_now.elapsed_s")), dur(a, sizeof(a), num(f, "lag_s")));
	emit(s, &l);
	perf_latency(s, f);
	add(s, &l, T_PLAIN, "sessions/s   ");
	rate3(s, &l, f, "sessions_per_s", T_PLAIN);
	emit(s, &l);
	add(s, &l, T_PLAIN, "writes/s     ");
	rate3(s, &l, f, "writes_per_s",
	    running(f) ? level(s, TH_WRITES_PER_S, num(f, "rates.interval.writes_per_s"))
		       : T_PLAIN);
	emit(s, &l);
	perf_calls(s, f);
	perf_machine(s, f);
}

static void
progress_row(struct screen *s, const char *what, double frac, double eta, const char *tail)
{
	struct line l = { .len = 0 };
	char a[32];
	int width = s->v->cols - 52;

	add(s, &l, T_PLAIN, "%-6s ", what);
	bar(s, &l, frac, width > 50 ? 50 : width);
	add(s, &l, T_PLAIN, " %3.0f %%  eta %s  %s", isfinite(frac) ? 100 * frac : 0.0,
	    dur(a, sizeof(a), eta), tail);
	emit(s, &l);
}

/* How far the run is, 0..1 (NAN unknown). */
static double
run_fraction(const json_t *f)
{
	double total = num(f, "cycles_total"), agents = num(f, "agents"),
	       hours = num(f, "params.hours");
	double cyc = num(f, "cycle") + (agents > 0 ? num(f, "cycle_now.agents_done") / agents : 0);

	if (strcmp(str(f, "state", ""), "finished") == 0)
		return 1;
	if (total > 0)
		return cyc / total;
	if (hours > 0)
		return num(f, "elapsed_s") / (hours * 3600);
	return NAN;
}

static void
panel_progress(struct screen *s, const json_t *f)
{
	struct line l = { .len = 0 };
	char a[32], b[32], c[32], d[80];
	double agents = num(f, "agents"), done = num(f, "cycle_now.agents_done");
	double frac = agents > 0 ? done / agents : NAN, el = num(f, "cycle_now.elapsed_s");
	double eta = frac > 0 && el > 0 ? el * (1 - frac) / frac : NAN;

	heading(s, "progress");
	snprintf(
	    d, sizeof(d), "%s/%s agents", count(a, sizeof(a), done), count(b, sizeof(b), agents));
	progress_row(s, "cycle", frac, eta, d);
	progress_row(s, "run", run_fraction(f), num(f, "eta_s"), "");
	add(s, &l, T_PLAIN, "set-up %-9s users %s/%s  catalogue %s", str(f, "setup.phase", "-"),
	    count(a, sizeof(a), num(f, "setup.users_written")),
	    count(b, sizeof(b), num(f, "setup.users_total")),
	    json_is_true(at(f, "setup.catalogue_written")) ? "written" : "-");
	add(s, &l, T_PLAIN, "  personas %s/%s (llm %s)",
	    count(a, sizeof(a), num(f, "setup.personas_generated")),
	    count(b, sizeof(b), num(f, "setup.personas_total")),
	    count(c, sizeof(c), num(f, "setup.personas_llm")));
	emit(s, &l);
}

static void
panel_concurrency(struct screen *s, const json_t *f)
{
	struct line l = { .len = 0 };
	char a[32], b[32];

	heading(s, "concurrency");
	add(s, &l, T_PLAIN, "limit %s   in flight %s   adaptive %s",
	    count(a, sizeof(a), num(f, "concurrency.limit")),
	    count(b, sizeof(b), num(f, "concurrency.in_flight")),
	    json_is_true(at(f, "concurrency.adaptive")) ? "on" : "off");
	if (at(f, "concurrency.base") != NULL) /* the adaptive controller's, when it has one */
		add(s, &l, T_PLAIN, "   base %s", count(a, sizeof(a), num(f, "concurrency.base")));
	if (at(f, "concurrency.reason") != NULL)
		add(s, &l, T_PLAIN, "   reason: %s", str(f, "concurrency.reason", "-"));
	emit(s, &l);
}

static void
panel_errors(struct screen *s, const json_t *f)
{
	struct line l = { .len = 0 };
	char a[32], b[32];
	const json_t *by = at(f, "errors.by_type"), *recent = at(f, "errors.recent"), *e;
	double cyc = num(f, "cycle_now.errors");
	const char *k;
	json_t *v;
	size_t i;

	heading(s, "errors");
	add(s, &l, T_PLAIN, "total %s   this cycle ", count(a, sizeof(a), num(f, "errors.total")));
	add(s, &l, level(s, TH_ERRORS_PER_CYCLE, cyc), "%s", count(a, sizeof(a), cyc));
	add(s, &l, T_PLAIN, "   retries %s", count(a, sizeof(a), num(f, "errors.retries")));
	emit(s, &l);
	if (json_object_size(by) > 0) {
		add(s, &l, T_DIM, "%-10s %10s  %-12s %-10s %6s", "type", "count", "last agent",
		    "step", "cycle");
		emit(s, &l);
	}
	json_object_foreach ((json_t *)by, k, v) {
		const json_t *last = json_object_get(at(f, "errors.last_by_type"), k);
		add(s, &l, T_WARN, "%-10s", k);
		add(s, &l, T_PLAIN, " %10s  %-12s %-10s %6s",
		    count(a, sizeof(a), json_number_value(v)), str(last, "agent", "-"),
		    str(last, "step", "-"), last ? count(b, sizeof(b), num(last, "cycle")) : "-");
		emit(s, &l);
	}
	heading(s, "last errors");
	if (json_array_size(recent) == 0) {
		add(s, &l, T_DIM, "none");
		emit(s, &l);
	}
	json_array_foreach (recent, i, e) {
		const char *when = str(e, "at", "");
		add(s, &l, T_DIM, "%s ", strlen(when) >= 19 ? when + 11 : when);
		add(s, &l, T_WARN, "%s", str(e, "type", "?"));
		add(s, &l, T_PLAIN, " %s %s: %s", str(e, "agent", "-"), str(e, "step", "-"),
		    str(e, "message", ""));
		emit(s, &l);
	}
}

char *
top_render(const json_t *f, const struct top_view *v)
{
	struct screen s = { .v = v };
	struct line l = { .len = 0 };

	thresholds_default(&s.th);
	thresholds_from_json(&s.th, at(f, "thresholds"));
	if (v->over != NULL)
		s.th = *v->over;
	panel_header(&s, f);
	panel_perf(&s, f);
	panel_progress(&s, f);
	panel_concurrency(&s, f);
	panel_errors(&s, f);
	if (v->rows > 0) /* the footer on the last row */
		while (s.nlines < v->rows - 1 && !s.bad) {
			struct line blank = { .len = 0 };
			emit(&s, &blank);
		}
	add(&s, &l, T_DIM, "q quit  p pause/resume  +/- concurrency");
	if (v->message != NULL && *v->message != '\0')
		add(&s, &l, T_PLAIN, "   %s", v->message);
	s.nlines = 0; /* the footer always fits */
	{
		struct top_view unbounded = *v;
		unbounded.rows = 0;
		s.v = &unbounded;
		emit(&s, &l);
		s.v = v;
	}
	if (s.bad) {
		free(s.text);
		return NULL;
	}
	return s.text;
}

char *
top_line(const json_t *f)
{
	char b[11][32], out[512], when[16];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	snprintf(out, sizeof(out),
	    "%s %-8s cycle %s/%s agents %s/%s sessions %s (%s/s) orders %s errors %s "
	    "in flight %s/%s rss %s MB\n",
	    when, str(f, "state", "?"), count(b[0], 32, num(f, "cycle")),
	    count(b[1], 32, num(f, "cycles_total")),
	    count(b[2], 32, num(f, "cycle_now.agents_done")), count(b[3], 32, num(f, "agents")),
	    count(b[4], 32, num(f, "counts.sessions")),
	    real(b[5], 32, "%.1f", num(f, "rates.interval.sessions_per_s")),
	    count(b[6], 32, num(f, "counts.orders")), count(b[7], 32, num(f, "counts.errors")),
	    count(b[8], 32, num(f, "concurrency.in_flight")),
	    count(b[9], 32, num(f, "concurrency.limit")),
	    real(b[10], 32, "%.1f", num(f, "process.rss_bytes") / (1024.0 * 1024.0)));
	return strdup(out);
}

char *
top_progress(const json_t *f, int cols)
{
	struct top_view v = { .cols = cols };
	struct screen s = { .v = &v };
	struct line l = { .len = 0 };
	char a[32], b[32];
	const char *phase = str(f, "setup.phase", "done");

	if (strcmp(phase, "done") != 0 && strcmp(phase, "none") != 0) {
		double total = num(f, "setup.users_total");
		add(&s, &l, T_PLAIN, "set-up: %s ", phase);
		bar(&s, &l, total > 0 ? num(f, "setup.users_written") / total : 0, cols / 3);
		add(&s, &l, T_PLAIN, " users %s/%s",
		    count(a, sizeof(a), num(f, "setup.users_written")), count(b, sizeof(b), total));
	} else {
		double frac = run_fraction(f);
		bar(&s, &l, frac, cols / 3);
		add(&s, &l, T_PLAIN, " %3.0f %%  cycle %s", isfinite(frac) ? 100 * frac : 0.0,
		    count(a, sizeof(a), num(f, "cycle")));
		if (num(f, "cycles_total") > 0)
			add(&s, &l, T_PLAIN, "/%s", count(b, sizeof(b), num(f, "cycles_total")));
		add(&s, &l, T_PLAIN, "  eta %s", dur(a, sizeof(a), num(f, "eta_s")));
	}
	return strndup(l.buf, l.len);
}
