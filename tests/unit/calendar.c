/* calendar.c - tests for the weekday mix, the dated windows and the shop probability. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sim/calendar.h"
#include "sim/persona.h"

#include "check.h"

#define T0 INT64_C(1767571200) /* 2026-01-05T00:00:00Z, a Monday */
#define HOUR INT64_C(3600)
#define DAY INT64_C(86400)

static void
test_weekdays(void)
{
	struct calendar c, keep;
	char err[160];
	double sum = 0.0;

	calendar_init(&c);
	for (int d = 0; d < 7; d++)
		sum += c.weekday[d];
	CHECK(fabs(sum - 1.0) < 1e-6);
	CHECK(c.weekday[0] > c.weekday[1] && c.weekday[6] > c.weekday[1]); /* Mon, Sun highest */
	for (int d = 0; d < 7; d++)
		CHECK(d == 5 || c.weekday[5] < c.weekday[d]); /* Saturday lowest */
	CHECK(c.nwindows == 0);
	CHECK(calendar_set_weekdays(&c, CALENDAR_DEFAULT_WEEKDAYS, err, sizeof(err)) == 0);
	CHECK(fabs(c.weekday[0] - 0.153) < 1e-6);
	CHECK(calendar_set_weekdays(&c, "1,1,1,1,1, 2 ,2", err, sizeof(err)) == 0);
	CHECK(fabs(c.weekday[5] - 2.0 / 9.0) < 1e-6);
	keep = c;
	CHECK(calendar_set_weekdays(&c, "1 1 1 1 1 1", err, sizeof(err)) == -1);
	CHECK(strstr(err, "weekday_mix") != NULL);
	CHECK(calendar_set_weekdays(&c, "1 1 1 1 1 1 1 1", err, sizeof(err)) == -1);
	CHECK(calendar_set_weekdays(&c, "1 1 1 1 1 1 -1", err, sizeof(err)) == -1);
	CHECK(calendar_set_weekdays(&c, "0 0 0 0 0 0 0", err, sizeof(err)) == -1);
	CHECK(calendar_set_weekdays(&c, "1 1 1 1 1 1 x", err, sizeof(err)) == -1);
	CHECK(calendar_set_weekdays(&c, "1 1 1 1 1 1 nan", err, sizeof(err)) == -1);
	CHECK(memcmp(&c, &keep, sizeof(c)) == 0);
}

static void
test_events(void)
{
	struct calendar c, keep;
	char err[200];

	calendar_init(&c);
	CHECK(calendar_set_events(&c,
		  "promo 2026-01-09T18:00/2026-01-12 x1.6; "
		  "holiday 2026-01-07 x0.5;payday 1,15,last x1.2 ;",
		  err, sizeof(err)) == 0);
	CHECK(c.nwindows == 3);
	CHECK(c.window[0].kind == CALENDAR_PROMO && c.window[0].from == T0 + 4 * DAY + 18 * HOUR);
	CHECK(c.window[0].to == T0 + 8 * DAY); /* a date-only end: the whole day */
	CHECK(c.window[1].from == T0 + 2 * DAY && c.window[1].to == T0 + 3 * DAY);
	CHECK(fabs(calendar_factor(&c, T0 + 4 * DAY + 18 * HOUR) - 1.6) < 1e-6);
	CHECK(calendar_factor(&c, T0 + 4 * DAY + 18 * HOUR - 1) == 1.0);
	CHECK(fabs(calendar_factor(&c, T0 + 8 * DAY - 1) - 1.6) < 1e-6);
	CHECK(calendar_factor(&c, T0 + 8 * DAY) == 1.0);
	CHECK(fabs(calendar_factor(&c, T0 + 2 * DAY + 12 * HOUR) - 0.5) < 1e-6);
	/* paydays: the 15th; the 31st, the last day of January; 1 February */
	CHECK(fabs(calendar_factor(&c, T0 + 10 * DAY) - 1.2) < 1e-6);
	CHECK(fabs(calendar_factor(&c, T0 + 26 * DAY + 23 * HOUR) - 1.2) < 1e-6);
	CHECK(fabs(calendar_factor(&c, T0 + 27 * DAY) - 1.2) < 1e-6);
	CHECK(calendar_factor(&c, T0 + 28 * DAY) == 1.0);
	/* overlapping windows multiply; a datetime end is exclusive */
	CHECK(calendar_set_events(&c,
		  "promo 2026-01-05T10:00:00Z/2026-01-05T12:00 x2;"
		  "promo 2026-01-05T11:00/2026-01-05T13:00 x3",
		  err, sizeof(err)) == 0);
	CHECK(fabs(calendar_factor(&c, T0 + 11 * HOUR) - 6.0) < 1e-6);
	CHECK(fabs(calendar_factor(&c, T0 + 12 * HOUR) - 3.0) < 1e-6);
	CHECK(calendar_factor(&c, T0 + 13 * HOUR) == 1.0);
	/* payday 31 falls on the last day of a shorter month */
	CHECK(calendar_set_events(&c, "payday 31 x2", err, sizeof(err)) == 0);
	CHECK(calendar_factor(&c, INT64_C(1772236800)) == 2.0); /* 2026-02-28 */
	CHECK(calendar_factor(&c, INT64_C(1772150400)) == 1.0); /* 2026-02-27 */
	CHECK(calendar_set_events(&c, "", err, sizeof(err)) == 0 && c.nwindows == 0);
	CHECK(calendar_factor(NULL, T0) == 1.0);
	keep = c;
	static const char *const bad[] = {
		"sale 2026-01-09 x2",
		"promo 2026-02-30 x2",
		"promo 2026-01-09",
		"promo x2",
		"promo 2026-01-09 2",
		"promo 2026-01-09 x11",
		"promo 2026-01-09 x-1",
		"promo 2026-01-10/2026-01-09 x2",
		"promo 2026-01-09T25:00 x2",
		"promo 2026-01-09T10:00/2026-01-09T10:00 x2",
		"payday 0 x2",
		"payday 32 x2",
		"payday first x2",
		"payday , x2",
		"promo 2026-1-09 x2",
		"promo 2026-01- 9 x2",
		"promo 2026-01-09 x2 extra",
		"holiday 1969-12-31 x0.5",
		"promo 2026-01-09T18: 5 x2",
		"promo 2026-01-09T18:00:5 x2",
		"promo 2026-00-10 x2",
		"promo 2026-01-00 x2",
		"promo 2026-01-09T18:00Zx x2",
		"holiday 2026-01-09/ x2",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK(calendar_set_events(&c, bad[i], err, sizeof(err)) == -1);
		CHECK(strncmp(err, "calendar: entry 1", 17) == 0);
		CHECK(memcmp(&c, &keep, sizeof(c)) == 0);
	}
	CHECK(
	    calendar_set_events(&c, "promo 2026-01-09 x2; promo nope x2", err, sizeof(err)) == -1);
	CHECK(strncmp(err, "calendar: entry 2", 17) == 0 && c.nwindows == 0);
}

static void
test_many(void)
{
	struct calendar c;
	char text[CALENDAR_TEXT_MAX + 16], err[128];
	size_t n = 0;
	int i;

	calendar_init(&c);
	for (i = 0; i < CALENDAR_MAX_WINDOWS + 1; i++)
		n += (size_t)snprintf(
		    text + n, sizeof(text) - n, "holiday 2026-02-%02d x0.9;", i % 28 + 1);
	CHECK(calendar_set_events(&c, text, err, sizeof(err)) == -1 && strstr(err, "more than"));
	memset(text, ' ', CALENDAR_TEXT_MAX);
	text[CALENDAR_TEXT_MAX] = '\0';
	CHECK(calendar_set_events(&c, text, err, sizeof(err)) == -1 && strstr(err, "longer"));
}

static void
flat_persona(struct persona *p)
{
	persona_generate(p, 1, 1);
	for (int d = 0; d < 7; d++)
		p->day_weight[d] = 1.0f / 7.0f;
	for (int h = 0; h < 24; h++)
		p->hour_weight[h] = p->weekend_hour_weight[h] = 1.0f / 24.0f;
	p->sessions_per_week = 3.5f;
}

static void
test_probability(void)
{
	struct calendar c;
	struct persona p;
	double week = 0.0, monday = 0.0, day = 0.0, x;
	char err[128];
	int h;

	calendar_init(&c);
	flat_persona(&p);
	for (h = 0; h < 168; h++) {
		x = calendar_shop_probability(&c, &p, T0 + h * HOUR, 60);
		week += x;
		monday += h < 24 ? x : 0.0;
	}
	/* sessions_per_week over the week; a flat persona follows the population's mix */
	CHECK(fabs(week - 3.5) < 1e-4);
	CHECK(fabs(monday / week - 0.153) < 1e-4);
	CHECK(calendar_shop_probability(NULL, &p, T0, 60) ==
	    calendar_shop_probability(&c, &p, T0, 60));
	/* a tick of a day sums its hours; half an hour is half of one */
	for (h = 0; h < 24; h++)
		day += calendar_shop_probability(&c, &p, T0 + DAY + h * HOUR, 60);
	CHECK(fabs(calendar_shop_probability(&c, &p, T0 + DAY, 1440) - day) < 1e-9);
	CHECK(fabs(calendar_shop_probability(&c, &p, T0 + 1800, 30) -
		  calendar_shop_probability(&c, &p, T0, 60) / 2) < 1e-9);
	CHECK(calendar_shop_probability(&c, &p, T0, 0) == 0.0);
	CHECK(calendar_shop_probability(&c, &p, T0, 100000) == 1.0);
	/* a promotion lifts its hours */
	x = calendar_shop_probability(&c, &p, T0 + 4 * DAY + 20 * HOUR, 60);
	CHECK(calendar_set_events(&c, "promo 2026-01-09 x1.5", err, sizeof(err)) == 0);
	CHECK(
	    fabs(calendar_shop_probability(&c, &p, T0 + 4 * DAY + 20 * HOUR, 60) - 1.5 * x) < 1e-9);
	/* weekends use the weekend profile */
	calendar_init(&c);
	for (h = 0; h < 24; h++)
		p.weekend_hour_weight[h] = h == 11 ? 1.0f : 0.0f;
	CHECK(calendar_shop_probability(&c, &p, T0 + 5 * DAY + 10 * HOUR, 60) == 0.0);
	CHECK(calendar_shop_probability(&c, &p, T0 + 5 * DAY + 11 * HOUR, 60) > 0.0);
	CHECK(calendar_shop_probability(&c, &p, T0 + 4 * DAY + 10 * HOUR, 60) > 0.0);
}

static void
test_parts(void)
{
	int hour, wd, mday, mdays;

	calendar_time_parts(T0 + 13 * HOUR + 59, &hour, &wd, &mday, &mdays);
	CHECK(hour == 13 && wd == 0 && mday == 5 && mdays == 31);
	calendar_time_parts(T0 + 6 * DAY, &hour, &wd, NULL, NULL);
	CHECK(hour == 0 && wd == 6);
	calendar_time_parts(INT64_C(1709164800), &hour, &wd, &mday, &mdays); /* 2024-02-29 */
	CHECK(mday == 29 && mdays == 29 && wd == 3);
}

int
main(void)
{
	test_weekdays();
	test_events();
	test_many();
	test_probability();
	test_parts();
	return CHECK_DONE();
}
