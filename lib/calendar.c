/*
 * calendar.c - the weekday mix and the dated windows that shift activity.
 *
 * Parsing writes into a copy and swaps it in only when the whole text is
 * valid, so a bad reload keeps the calendar that was running.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/calendar.h"
#include "sim/text.h"

#define CAL_DAY INT64_C(86400)
#define CAL_LAST_DAY (UINT32_C(1) << 31)

static const struct calendar calendar_default = {
	{ 0.153f, 0.147f, 0.147f, 0.147f, 0.133f, 0.125f, 0.148f },
	0,
	{ { 0, 0, 0, 0, 0 } },
};

static const char *const cal_kind_names[] = { "promo", "holiday", "payday" };

void
calendar_init(struct calendar *c)
{
	*c = calendar_default;
}

int
calendar_set_weekdays(struct calendar *c, const char *text, char *err, size_t errlen)
{
	double raw[7], sum = 0.0;
	const char *s = text;
	char *end;
	int d;

	for (d = 0; d < 7; d++) {
		while (*s == ' ' || *s == ',' || *s == '\t')
			s++;
		raw[d] = strtod(s, &end);
		if (end == s || !isfinite(raw[d]) || raw[d] < 0.0)
			return text_errf(err, errlen,
			    "weekday_mix: want seven numbers >= 0, Monday "
			    "first, e.g. \"%s\"",
			    CALENDAR_DEFAULT_WEEKDAYS);
		sum += raw[d];
		s = end;
	}
	while (*s == ' ' || *s == ',' || *s == '\t')
		s++;
	if (*s != '\0')
		return text_errf(err, errlen, "weekday_mix: more than seven numbers");
	if (!(sum > 0.0))
		return text_errf(err, errlen, "weekday_mix: the weights must not all be zero");
	for (d = 0; d < 7; d++)
		c->weekday[d] = (float)(raw[d] / sum);
	return 0;
}

/* Whether s starts with pat, where 'd' stands for a digit. */
static int
cal_pattern(const char *s, const char *pat)
{
	for (; *pat != '\0'; s++, pat++)
		if (*pat == 'd' ? !isdigit((unsigned char)*s) : *s != *pat)
			return 0;
	return 1;
}

static int
cal_num(const char *s, int len)
{
	int v = 0;

	while (len-- > 0)
		v = v * 10 + (*s++ - '0');
	return v;
}

/* YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z]; *date_only says which. */
static int
cal_parse_time(const char *s, int64_t *out, int *date_only)
{
	struct tm tm, want;
	size_t n = 10;
	time_t t;

	if (!cal_pattern(s, "dddd-dd-dd"))
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = cal_num(s, 4) - 1900;
	tm.tm_mon = cal_num(s + 5, 2) - 1;
	tm.tm_mday = cal_num(s + 8, 2);
	*date_only = s[n] == '\0';
	if (s[n] == 'T') {
		if (!cal_pattern(s + n + 1, "dd:dd"))
			return -1;
		tm.tm_hour = cal_num(s + n + 1, 2);
		tm.tm_min = cal_num(s + n + 4, 2);
		n += 6;
		if (s[n] == ':') {
			if (!cal_pattern(s + n + 1, "dd"))
				return -1;
			tm.tm_sec = cal_num(s + n + 1, 2);
			n += 3;
		}
		n += s[n] == 'Z';
	}
	if (s[n] != '\0' || tm.tm_year < 70 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59)
		return -1;
	want = tm;
	t = timegm(&tm);
	/* timegm normalises 2026-02-30 to March: a date that moved was not a date. */
	if (tm.tm_mday != want.tm_mday || tm.tm_mon != want.tm_mon || tm.tm_year != want.tm_year)
		return -1;
	*out = (int64_t)t;
	return 0;
}

/* FROM[/TO]: a date-only TO (or a lone date) runs to the end of that day. */
static int
cal_parse_span(char *s, struct calendar_window *w)
{
	char *slash = strchr(s, '/');
	int64_t to;
	int from_date, to_date;

	if (slash != NULL)
		*slash = '\0';
	if (cal_parse_time(s, &w->from, &from_date) != 0)
		return -1;
	if (slash == NULL) {
		w->to = from_date ? w->from + CAL_DAY : w->from + 1;
		return 0;
	}
	if (cal_parse_time(slash + 1, &to, &to_date) != 0)
		return -1;
	w->to = to_date ? to + CAL_DAY : to;
	return w->to > w->from ? 0 : -1;
}

static int
cal_parse_days(char *s, uint32_t *days)
{
	char *save = NULL, *tok, *end;
	long d;

	*days = 0;
	for (tok = strtok_r(s, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "last") == 0) {
			*days |= CAL_LAST_DAY;
			continue;
		}
		d = strtol(tok, &end, 10);
		if (end == tok || *end != '\0' || d < 1 || d > 31)
			return -1;
		*days |= UINT32_C(1) << (d - 1);
	}
	return *days != 0 ? 0 : -1;
}

static int
cal_parse_factor(const char *s, float *out)
{
	char *end;
	double f;

	if (s[0] != 'x')
		return -1;
	f = strtod(s + 1, &end);
	if (end == s + 1 || *end != '\0' || !isfinite(f) || f < 0.0 || f > 10.0)
		return -1;
	*out = (float)f;
	return 0;
}

static int
cal_kind(const char *s)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(s, cal_kind_names[i]) == 0)
			return i;
	return -1;
}

/* One "KIND WHEN xFACTOR" entry, the n-th of the text (for the message). */
static int
cal_parse_entry(char *e, unsigned n, struct calendar_window *w, char *err, size_t errlen)
{
	char *save = NULL, *kind, *when, *factor;
	int k;

	kind = strtok_r(e, " \t", &save);
	when = strtok_r(NULL, " \t", &save);
	factor = strtok_r(NULL, " \t", &save);
	if (kind == NULL || when == NULL || factor == NULL || strtok_r(NULL, " \t", &save))
		return text_errf(err, errlen,
		    "calendar: entry %u: want \"KIND WHEN xFACTOR\", "
		    "e.g. \"promo 2026-01-09/2026-01-11 x1.5\"",
		    n);
	if ((k = cal_kind(kind)) < 0)
		return text_errf(err, errlen,
		    "calendar: entry %u: \"%s\" is not promo, holiday or "
		    "payday",
		    n, kind);
	memset(w, 0, sizeof(*w));
	w->kind = (uint8_t)k;
	if (k == CALENDAR_PAYDAY ? cal_parse_days(when, &w->days) != 0
				 : cal_parse_span(when, w) != 0)
		return text_errf(err, errlen,
		    k == CALENDAR_PAYDAY
			? "calendar: entry %u: payday wants days of the month 1..31 or \"last\", "
			  "comma-separated"
			: "calendar: entry %u: want a date YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], "
			  "or a range FROM/TO that ends after it starts",
		    n);
	if (cal_parse_factor(factor, &w->factor) != 0)
		return text_errf(err, errlen,
		    "calendar: entry %u: the factor must be x0 to x10, "
		    "e.g. x1.5",
		    n);
	return 0;
}

int
calendar_set_events(struct calendar *c, const char *text, char *err, size_t errlen)
{
	struct calendar next = *c;
	char buf[CALENDAR_TEXT_MAX], *save = NULL, *e;
	unsigned n = 0;

	if (strlen(text) >= sizeof(buf))
		return text_errf(
		    err, errlen, "calendar: longer than %d bytes", CALENDAR_TEXT_MAX - 1);
	memcpy(buf, text, strlen(text) + 1);
	next.nwindows = 0;
	for (e = strtok_r(buf, ";", &save); e != NULL; e = strtok_r(NULL, ";", &save)) {
		if (strspn(e, " \t") == strlen(e))
			continue; /* "a; ;b" and a trailing ";" are fine */
		if (next.nwindows == CALENDAR_MAX_WINDOWS)
			return text_errf(
			    err, errlen, "calendar: more than %d entries", CALENDAR_MAX_WINDOWS);
		if (cal_parse_entry(e, ++n, &next.window[next.nwindows], err, errlen) != 0)
			return -1;
		next.nwindows++;
	}
	*c = next;
	return 0;
}

void
calendar_time_parts(int64_t t, int *hour, int *weekday, int *mday, int *mdays)
{
	static const int len[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	time_t tt = (time_t)t;
	struct tm tm;
	int y;

	if (gmtime_r(&tt, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	*hour = tm.tm_hour;
	*weekday = (tm.tm_wday + 6) % 7;
	if (mday != NULL)
		*mday = tm.tm_mday;
	if (mdays != NULL) {
		y = tm.tm_year + 1900;
		*mdays = len[tm.tm_mon % 12] +
		    (tm.tm_mon == 1 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
	}
}

/* Whether t falls on one of the payday's days; days past the month's end fall on its last. */
static int
cal_payday(const struct calendar_window *w, int mday, int mdays)
{
	if (w->days & (UINT32_C(1) << (mday - 1)))
		return 1;
	return mday == mdays && ((w->days & CAL_LAST_DAY) || (w->days & ~CAL_LAST_DAY) >> mdays);
}

double
calendar_factor(const struct calendar *c, int64_t t)
{
	double f = 1.0;
	int hour, wd, mday = 0, mdays = 0;
	unsigned i;

	if (c == NULL || c->nwindows == 0)
		return 1.0;
	calendar_time_parts(t, &hour, &wd, &mday, &mdays);
	for (i = 0; i < c->nwindows; i++) {
		const struct calendar_window *w = &c->window[i];

		if (w->kind == CALENDAR_PAYDAY ? cal_payday(w, mday, mdays)
					       : t >= w->from && t < w->to)
			f *= w->factor;
	}
	return f;
}

/* Expected visits per hour at t, before the calendar's windows. */
static double
cal_rate(const struct calendar *c, const struct persona *p, int64_t t, double norm)
{
	int hour, wd;

	calendar_time_parts(t, &hour, &wd, NULL, NULL);
	return p->sessions_per_week * p->day_weight[wd] * c->weekday[wd] / norm *
	    persona_hours(p, wd)[hour];
}

double
calendar_shop_probability(
    const struct calendar *c, const struct persona *p, int64_t t, int tick_minutes)
{
	int64_t left = (int64_t)tick_minutes * 60, into, chunk;
	double norm = 0.0, sum = 0.0;
	int d;

	if (c == NULL)
		c = &calendar_default;
	for (d = 0; d < 7; d++)
		norm += (double)p->day_weight[d] * c->weekday[d];
	if (tick_minutes <= 0 || !(norm > 0.0))
		return 0.0;
	/* Hour by hour, so a long tick sees every hour (and window) it covers. */
	while (left > 0 && sum < 1.0) {
		into = ((t % 3600) + 3600) % 3600;
		chunk = 3600 - into < left ? 3600 - into : left;
		sum += cal_rate(c, p, t, norm) * calendar_factor(c, t) * (double)chunk / 3600.0;
		t += chunk;
		left -= chunk;
	}
	if (!(sum > 0.0))
		return 0.0;
	return sum > 1.0 ? 1.0 : sum;
}
