/*
 * calendar.h - when the population shops: the weekday mix, and dated windows
 * (promotions, holidays, paydays) that raise or lower activity.
 *
 * A calendar is plain data the engine builds from two config strings and
 * passes to the shopper (struct shopper_ctx); nothing in it changes during a
 * run, so an agent's choices stay a pure function of their inputs.  Times are
 * simulated unix seconds, read in UTC, like sim_start.
 */
#ifndef SIM_CALENDAR_H
#define SIM_CALENDAR_H

#include <stddef.h>
#include <stdint.h>

#include "sim/persona.h"

#define CALENDAR_MAX_WINDOWS 32
#define CALENDAR_TEXT_MAX 4096

/*
 * Monday .. Sunday share of sessions, in percent: Workarea's Monday 15.3,
 * Sunday 14.8 and Friday 13.3 (REFERENCES.md); Saturday lowest (SaleCycle);
 * Tuesday to Thursday share what is left, just under Sunday.
 */
#define CALENDAR_DEFAULT_WEEKDAYS "15.3 14.7 14.7 14.7 13.3 12.5 14.8"

enum calendar_kind { CALENDAR_PROMO, CALENDAR_HOLIDAY, CALENDAR_PAYDAY };

struct calendar_window {
	uint8_t kind;     /* enum calendar_kind */
	int64_t from, to; /* promo, holiday: [from, to) */
	uint32_t days;    /* payday: bit d - 1 for day d of the month; bit 31: the last day */
	float factor;     /* activity multiplier, 0..10 */
};

struct calendar {
	float weekday[7]; /* Monday = 0 .. Sunday = 6; relative weights, sum 1 */
	unsigned nwindows;
	struct calendar_window window[CALENDAR_MAX_WINDOWS];
};

/* The default weekday mix and no windows. */
void calendar_init(struct calendar *c);

/*
 * Config key "weekday_mix": seven numbers >= 0 (Monday first), separated by
 * spaces or commas, normalised; not all zero.  Returns 0, or -1 with a
 * one-line message in err and c unchanged.
 */
int calendar_set_weekdays(struct calendar *c, const char *text, char *err, size_t errlen);

/*
 * Config key "calendar": entries separated by ";", each "KIND WHEN xFACTOR":
 *   promo   2026-01-09T18:00/2026-01-12 x1.6   a window of higher (or lower) activity
 *   holiday 2026-12-25 x0.6                    a day, or a range of days (FROM/TO)
 *   payday  1,15,last x1.15                    days of every month
 * WHEN is a date (the whole day) or a date and time (YYYY-MM-DDTHH:MM[:SS][Z],
 * UTC); a range FROM/TO ends at TO when TO has a time and at the end of TO's
 * day when it is a date.  FACTOR is 0..10; overlapping windows multiply.  An
 * empty string clears the windows.  Returns 0, or -1 naming the entry that is
 * wrong, with c unchanged.
 */
int calendar_set_events(struct calendar *c, const char *text, char *err, size_t errlen);

/* The product of the factors of the windows covering t (1 when none does). */
double calendar_factor(const struct calendar *c, int64_t t);

/* UTC parts of t: hour 0..23, weekday Monday = 0, day of month 1..31, days in that month. */
void calendar_time_parts(int64_t t, int *hour, int *weekday, int *mday, int *mdays);

/*
 * Probability (0..1) that the persona starts a visit in [t, t + tick_minutes):
 * sessions_per_week, spread over the days by the persona's day weights times
 * the calendar's weekday mix (renormalised, so the weekly mean stays
 * sessions_per_week), over the hours by the persona's profile for that day,
 * times calendar_factor; a tick over several hours sums them.  c may be NULL:
 * the default calendar.
 */
double calendar_shop_probability(
    const struct calendar *c, const struct persona *p, int64_t t, int tick_minutes);

#endif
