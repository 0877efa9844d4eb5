/*
 * persona.c - who an agent is.
 *
 * persona_generate draws a persona from (seed, agent) alone.  The shapes aim at
 * an adult online-shopping population (DESIGN.md 3.2a): a few favourite
 * categories, activity with a morning shoulder and an evening peak, a little
 * more on weekends, baskets of a few items with a long tail, coupon use
 * concentrated in a minority, and about 70 % of carts abandoned.
 *
 * persona_from_json is the gate for personas that come from outside (the users
 * table, an LLM): it checks every field and names the one that is wrong.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "sim/catalog.h"
#include "sim/persona.h"
#include "sim/rng.h"
#include "sim/text.h"

/* Stream tag for persona draws; far from any cycle number the engine uses as "sub". */
#define PERSONA_STREAM UINT64_C(0x706572736f6e61) /* "persona" */

/* Scale of cart_propensity before the grocery lift: the population mean lands near 10 %. */
#define PERSONA_CART_BASE 0.075

#define PERSONA_BUDGET_MIN 500
#define PERSONA_BUDGET_MAX 100000000

const char *const persona_age_names[AGE_BANDS] = {
	"18-24",
	"25-34",
	"35-44",
	"45-54",
	"55-64",
	"65+",
};

const char *const persona_household_names[HH_KINDS] = {
	"single",
	"couple",
	"family",
	"shared",
};

const char *const persona_income_names[INC_BANDS] = {
	"low",
	"lower-middle",
	"middle",
	"upper-middle",
	"high",
};

const char *const persona_day_names[7] = {
	"mon",
	"tue",
	"wed",
	"thu",
	"fri",
	"sat",
	"sun",
};

/* Same order as catalog_category_names; kept here so persona.c stands alone. */
enum {
	CAT_GROCERIES,
	CAT_HOUSEHOLD,
	CAT_BEAUTY,
	CAT_BABY,
	CAT_PETS,
	CAT_ELECTRONICS,
	CAT_HOME,
	CAT_CLOTHING,
	CAT_SPORTS,
	CAT_TOYS,
	CAT_BOOKS,
	CAT_HEALTH,
};

/* Rough share of online shoppers by age band (adults only). */
static const float persona_age_mix[AGE_BANDS] = { 12, 22, 21, 17, 15, 13 };

/* Household given age: families peak at 35-44, couples later, sharing when young. */
static const float persona_household_mix[AGE_BANDS][HH_KINDS] = {
	{ 35, 10, 10, 45 },
	{ 30, 25, 35, 10 },
	{ 20, 20, 55, 5 },
	{ 20, 30, 45, 5 },
	{ 25, 55, 17, 3 },
	{ 35, 55, 8, 2 },
};

/* Income given age: rises into mid-career, falls back in retirement. */
static const float persona_income_mix[AGE_BANDS][INC_BANDS] = {
	{ 40, 30, 20, 8, 2 },
	{ 15, 25, 32, 20, 8 },
	{ 10, 20, 32, 25, 13 },
	{ 10, 18, 30, 27, 15 },
	{ 13, 22, 30, 23, 12 },
	{ 22, 28, 28, 15, 7 },
};

/* How often each category is someone's favourite, before age and household adjust it. */
static const float persona_category_base[PERSONA_CATEGORIES] = {
	1.4f,
	1.0f,
	0.9f,
	0.3f,
	0.5f,
	1.0f,
	0.9f,
	1.3f,
	0.6f,
	0.4f,
	0.6f,
	0.8f,
};

static const float persona_income_price[INC_BANDS] = { 0.75f, 0.62f, 0.50f, 0.38f, 0.25f };
static const double persona_income_budget[INC_BANDS] = { 3000, 6000, 10000, 18000, 40000 };

static const char *const persona_first_names[] = {
	"Maya",
	"Liam",
	"Aisha",
	"Noah",
	"Sofia",
	"Mateo",
	"Priya",
	"Ethan",
	"Yuki",
	"Omar",
	"Elena",
	"Kwame",
	"Hannah",
	"Diego",
	"Mei",
	"Lucas",
	"Fatima",
	"Jonas",
	"Amara",
	"Ravi",
	"Chloe",
	"Tomasz",
	"Ingrid",
	"Samuel",
	"Leila",
	"Arjun",
	"Grace",
	"Malik",
	"Nora",
	"Hugo",
	"Zara",
	"Felix",
	"Ana",
	"Kofi",
	"Julia",
	"Hiro",
	"Olivia",
	"Ibrahim",
	"Sara",
	"Marco",
};

static const char *const persona_last_names[] = {
	"Okafor",
	"Smith",
	"Garcia",
	"Nguyen",
	"Patel",
	"Kowalski",
	"Haddad",
	"Tanaka",
	"Muller",
	"Rossi",
	"Johansson",
	"Mensah",
	"Silva",
	"Kim",
	"Dubois",
	"Novak",
	"Ahmed",
	"Fischer",
	"Lopez",
	"Chen",
	"O'Brien",
	"Ivanova",
	"Santos",
	"Nakamura",
	"Walker",
	"Moreau",
	"Costa",
	"Jensen",
	"Adeyemi",
	"Rahman",
	"Murphy",
	"Schmidt",
	"Alvarez",
	"Park",
	"Bianchi",
	"Larsen",
	"Osei",
	"Khan",
	"Herrera",
	"Brown",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static double
persona_clamp(double x, double lo, double hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

static void
persona_normalise(float *w, const double *raw, int n)
{
	double sum = 0.0;
	int i;

	for (i = 0; i < n; i++)
		sum += raw[i];
	for (i = 0; i < n; i++)
		w[i] = (float)(raw[i] / sum);
}

static void
persona_gen_name(struct persona *p, struct rng *r)
{
	const char *first = persona_first_names[rng_below(r, NELEM(persona_first_names))];
	const char *last = persona_last_names[rng_below(r, NELEM(persona_last_names))];

	snprintf(p->name, sizeof(p->name), "%s %s", first, last);
}

static void
persona_gen_demographics(struct persona *p, struct rng *r)
{
	p->age_band = (uint8_t)rng_weighted(r, persona_age_mix, AGE_BANDS);
	p->household = (uint8_t)rng_weighted(r, persona_household_mix[p->age_band], HH_KINDS);
	p->income_band = (uint8_t)rng_weighted(r, persona_income_mix[p->age_band], INC_BANDS);
}

/* How likely each category is to be among the favourites, for this persona. */
static void
persona_category_appeal(const struct persona *p, struct rng *r, float *appeal)
{
	int family = p->household == HH_FAMILY;

	memcpy(appeal, persona_category_base, sizeof(persona_category_base));
	appeal[CAT_BABY] *= family ? 5.0f : 0.15f;
	appeal[CAT_TOYS] *= family ? 4.0f : 0.4f;
	if (family)
		appeal[CAT_GROCERIES] *= 1.3f;
	/* About a third of households keep a pet; the rest rarely buy for one. */
	appeal[CAT_PETS] *= rng_double(r) < 0.35 ? 4.0f : 0.2f;
	if (p->age_band == AGE_18_24) {
		appeal[CAT_ELECTRONICS] *= 1.4f;
		appeal[CAT_CLOTHING] *= 1.3f;
		appeal[CAT_BEAUTY] *= 1.2f;
		appeal[CAT_HEALTH] *= 0.6f;
	} else if (p->age_band >= AGE_55_64) {
		appeal[CAT_HEALTH] *= 1.8f;
		appeal[CAT_BOOKS] *= 1.3f;
		appeal[CAT_ELECTRONICS] *= 0.7f;
		appeal[CAT_CLOTHING] *= 0.8f;
	}
}

/*
 * A Dirichlet-like draw concentrated on 2-4 favourites: favourites get
 * lognormal weights around 1, every other category a small remainder, so a
 * persona mostly sticks to its favourites but now and then strays.
 */
static void
persona_gen_categories(struct persona *p, struct rng *r)
{
	float appeal[PERSONA_CATEGORIES];
	double raw[PERSONA_CATEGORIES];
	unsigned i, k, nfav;

	persona_category_appeal(p, r, appeal);
	for (i = 0; i < PERSONA_CATEGORIES; i++)
		raw[i] = 0.06 * appeal[i] * rng_double(r);
	nfav = 2 + rng_below(r, 3);
	for (k = 0; k < nfav; k++) {
		i = rng_weighted(r, appeal, PERSONA_CATEGORIES);
		raw[i] = rng_lognormal(r, 0.0, 0.5);
		appeal[i] = 0.0f; /* drawn without replacement */
	}
	persona_normalise(p->category_weight, raw, PERSONA_CATEGORIES);
}

static void
persona_gen_money(struct persona *p, struct rng *r)
{
	double ps, coupon, hunter;

	ps = persona_income_price[p->income_band] + 0.12 * rng_normal(r);
	if (p->household == HH_FAMILY)
		ps += 0.05;
	p->price_sensitivity = (float)persona_clamp(ps, 0.02, 0.98);
	ps = p->price_sensitivity;

	/* Long tail: a minority of coupon hunters, likelier among the price sensitive. */
	hunter = 0.06 + 0.15 * ps;
	if (rng_double(r) < hunter)
		coupon = 0.70 + 0.25 * rng_double(r);
	else
		coupon = persona_clamp(0.06 + 0.3 * ps + 0.07 * rng_normal(r), 0.02, 0.6);
	p->coupon_affinity = (float)coupon;

	p->budget_cents = (uint32_t)persona_clamp(
	    floor(persona_income_budget[p->income_band] * (p->household == HH_FAMILY ? 1.3 : 1.0) *
		    rng_lognormal(r, 0.0, 0.5) / 100.0 +
		0.5) *
		100.0,
	    PERSONA_BUDGET_MIN, 2000000);
	/* Per cart (Baymard ~70 %): the price sensitive leave more, grocery runs fewer. */
	p->abandon_tendency = (float)persona_clamp(
	    0.65 + 0.16 * ps - 0.25 * p->category_weight[CAT_GROCERIES] + 0.05 * rng_normal(r), 0.3,
	    0.95);
}

static void
persona_gen_trips(struct persona *p, struct rng *r)
{
	static const double size[HH_KINDS] = { 0.85, 1.1, 1.4, 1.0 };
	double spw;

	spw = rng_lognormal(r, log(2.0), 0.6);
	if (p->age_band == AGE_25_34 || p->age_band == AGE_35_44)
		spw *= 1.1;
	p->sessions_per_week = (float)persona_clamp(spw, 0.2, 14.0);
	/* 2-4 units in general retail, ~10 for a grocery shop (Instacart). */
	p->basket_mean = (float)persona_clamp(rng_lognormal(r, log(2.0), 0.45) *
		size[p->household] * (1.0 + 1.5 * p->category_weight[CAT_GROCERIES]),
	    1.0, 12.0);
}

/* A bump on the 24-hour circle, centred at c with width w. */
static double
persona_bump(double h, double c, double w)
{
	double d = fabs(h - c);

	if (d > 12.0)
		d = 24.0 - d;
	return exp(-0.5 * (d / w) * (d / w));
}

/* What shapes one persona's day; the same draws give its weekday and weekend profiles. */
struct persona_day {
	double shift, morning, lunch, evening;
};

/*
 * Activity by hour: morning shoulder, lunch bump, evening peak (19-22h), near
 * nothing while asleep.  At weekends people sleep an hour longer and the
 * morning shoulder moves from 8h to 10h: later mornings, the same evening.
 */
static void
persona_day_profile(float *w, const struct persona_day *d, int weekend)
{
	double raw[24], t, sleep;
	double wake = weekend ? 10.0 : 8.0, night = weekend ? 4.5 : 3.5;
	int h;

	for (h = 0; h < 24; h++) {
		t = h + 0.5 - d->shift; /* the middle of hour h, in the persona's own day */
		sleep = 1.0 - 0.97 * persona_bump(t, night, 1.6);
		raw[h] = (0.04 + d->morning * persona_bump(t, wake, weekend ? 1.3 : 1.0) +
			     d->lunch * persona_bump(t, weekend ? 13.0 : 12.5, 1.0) +
			     0.25 * persona_bump(t, 16.0, 2.0) +
			     d->evening * persona_bump(t, 20.5, 1.4)) *
		    sleep;
	}
	persona_normalise(w, raw, 24);
}

/*
 * The whole profile shifts per persona: most by under an hour, some early
 * birds by two earlier, some night owls by two or three later.
 */
static void
persona_gen_hours(struct persona *p, struct rng *r)
{
	struct persona_day d;
	double kind = rng_double(r);

	d.shift = 0.6 * rng_normal(r);
	d.morning = 0.45 * rng_lognormal(r, 0.0, 0.3);
	d.lunch = 0.55 * rng_lognormal(r, 0.0, 0.3);
	d.evening = 1.4 * rng_lognormal(r, 0.0, 0.25);
	if (kind < 0.12) { /* early bird */
		d.shift -= 1.5 + 0.5 * rng_double(r);
		d.morning *= 1.8;
	} else if (kind < 0.24) { /* night owl */
		d.shift += 2.0 + rng_double(r);
		d.evening *= 1.2;
	}
	persona_day_profile(p->hour_weight, &d, 0);
	persona_day_profile(p->weekend_hour_weight, &d, 1);
}

/*
 * Day weights are the persona's own lean, relative to the population's weekday
 * mix (calendar.h applies that): most are near flat, 12 % lean to weekends
 * (x1.5-2) and 12 % to weekdays (x0.37-0.57 at weekends: after renormalising,
 * that balances the weekend leaners), so the whole population keeps the
 * calendar's mix.
 */
static void
persona_gen_days(struct persona *p, struct rng *r)
{
	double raw[7], weekend, kind = rng_double(r);
	int d;

	if (kind < 0.12)
		weekend = 1.5 + 0.5 * rng_double(r);
	else if (kind < 0.24)
		weekend = 0.37 + 0.2 * rng_double(r);
	else
		weekend = rng_lognormal(r, 0.0, 0.12);
	for (d = 0; d < 7; d++) {
		raw[d] = persona_clamp(1.0 + 0.1 * rng_normal(r), 0.6, 1.4);
		if (d >= 5)
			raw[d] *= weekend;
	}
	persona_normalise(p->day_weight, raw, 7);
}

/*
 * The visit funnel (docs/realism.md): about one visit in ten adds to the cart,
 * more for those who shop groceries; about one abandoned cart in ten is bought
 * on the next visit; views some 20 s apart, slower with age.
 */
static void
persona_gen_funnel(struct persona *p, struct rng *r)
{
	static const double pace[AGE_BANDS] = { 0.85, 0.9, 1.0, 1.05, 1.2, 1.35 };
	double groc = p->category_weight[CAT_GROCERIES];

	p->cart_propensity = (float)persona_clamp(
	    PERSONA_CART_BASE * rng_lognormal(r, 0.0, 0.45) * (1.0 + 1.2 * groc), 0.01, 0.5);
	p->cart_recovery = (float)persona_clamp(rng_lognormal(r, log(0.085), 0.5), 0.01, 0.5);
	p->think_s =
	    (float)persona_clamp(rng_lognormal(r, log(18.0), 0.35) * pace[p->age_band], 3.0, 300.0);
}

void
persona_generate(struct persona *p, uint64_t seed, uint32_t agent)
{
	struct rng r;

	memset(p, 0, sizeof(*p));
	rng_seed(&r, seed, agent, PERSONA_STREAM);
	persona_gen_name(p, &r);
	persona_gen_demographics(p, &r);
	persona_gen_categories(p, &r);
	persona_gen_money(p, &r);
	persona_gen_trips(p, &r);
	persona_gen_hours(p, &r);
	persona_gen_days(p, &r);
	persona_gen_funnel(p, &r);
}

const float *
persona_hours(const struct persona *p, int weekday)
{
	return weekday >= 5 ? p->weekend_hour_weight : p->hour_weight;
}

double
persona_shop_probability(const struct persona *p, int hour, int weekday, int tick_minutes)
{
	double expect;

	if (hour < 0 || hour > 23 || weekday < 0 || weekday > 6 || tick_minutes <= 0)
		return 0.0;
	expect = p->sessions_per_week * p->day_weight[weekday] * persona_hours(p, weekday)[hour] *
	    (tick_minutes / 60.0);
	if (!(expect > 0.0))
		return 0.0;
	return expect > 1.0 ? 1.0 : expect;
}

/* JSON out. */

static json_t *
persona_weights_json(const float *w, const char *const *names, int n)
{
	json_t *o = json_object();
	int i;

	if (o == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (json_object_set_new(o, names[i], json_real(w[i])) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

static json_t *
persona_hours_json(const float *w)
{
	json_t *a = json_array();
	int h;

	if (a == NULL)
		return NULL;
	for (h = 0; h < 24; h++) {
		if (json_array_append_new(a, json_real(w[h])) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

json_t *
persona_to_json(const struct persona *p)
{
	json_t *o = json_object();
	int bad = 0;

	if (o == NULL)
		return NULL;
	/* json_object_set_new frees the value, or fails on a NULL one: one check at the end. */
	bad |= json_object_set_new(
	    o, "name", json_stringn(p->name, strnlen(p->name, PERSONA_NAME_MAX - 1)));
	bad |= json_object_set_new(
	    o, "age_band", json_string(persona_age_names[p->age_band % AGE_BANDS]));
	bad |= json_object_set_new(
	    o, "household", json_string(persona_household_names[p->household % HH_KINDS]));
	bad |= json_object_set_new(
	    o, "income_band", json_string(persona_income_names[p->income_band % INC_BANDS]));
	bad |= json_object_set_new(o, "categories",
	    persona_weights_json(p->category_weight, catalog_category_names, PERSONA_CATEGORIES));
	bad |= json_object_set_new(o, "price_sensitivity", json_real(p->price_sensitivity));
	bad |= json_object_set_new(o, "coupon_affinity", json_real(p->coupon_affinity));
	bad |= json_object_set_new(o, "sessions_per_week", json_real(p->sessions_per_week));
	bad |= json_object_set_new(o, "hours", persona_hours_json(p->hour_weight));
	bad |= json_object_set_new(
	    o, "days", persona_weights_json(p->day_weight, persona_day_names, 7));
	bad |= json_object_set_new(o, "basket_mean", json_real(p->basket_mean));
	bad |= json_object_set_new(o, "budget_cents", json_integer(p->budget_cents));
	bad |= json_object_set_new(o, "abandon_tendency", json_real(p->abandon_tendency));
	bad |= json_object_set_new(o, "weekend_hours", persona_hours_json(p->weekend_hour_weight));
	bad |= json_object_set_new(o, "cart_propensity", json_real(p->cart_propensity));
	bad |= json_object_set_new(o, "cart_recovery", json_real(p->cart_recovery));
	bad |= json_object_set_new(o, "think_s", json_real(p->think_s));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* JSON in. */

static const char *const persona_keys[] = {
	"name",
	"age_band",
	"household",
	"income_band",
	"categories",
	"price_sensitivity",
	"coupon_affinity",
	"sessions_per_week",
	"hours",
	"days",
	"basket_mean",
	"budget_cents",
	"abandon_tendency",
};

/* Keys added later: a persona without them is still valid and gets their defaults. */
static const char *const persona_optional_keys[] = {
	"weekend_hours",
	"cart_propensity",
	"cart_recovery",
	"think_s",
};

static int
persona_lookup(const char *s, const char *const *names, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

/* A finite JSON number (integer or real) in [lo, hi]. */
static int
persona_get_number(const json_t *j, const char *key, double lo, double hi, double *out)
{
	const json_t *v = json_object_get(j, key);
	double x;

	if (!json_is_number(v))
		return -1;
	x = json_number_value(v);
	if (!isfinite(x) || x < lo || x > hi)
		return -1;
	*out = x;
	return 0;
}

static int
persona_get_unit(const json_t *j, const char *key, float *out, char *err, size_t errlen)
{
	double x;

	if (persona_get_number(j, key, 0.0, 1.0, &x) != 0)
		return text_errf(err, errlen, "persona: \"%s\" must be a number from 0 to 1", key);
	*out = (float)x;
	return 0;
}

static int
persona_get_band(const json_t *j, const char *key, const char *const *names, int n, uint8_t *out,
    char *err, size_t errlen)
{
	const char *s = json_string_value(json_object_get(j, key));
	int i;

	i = s == NULL ? -1 : persona_lookup(s, names, n);
	if (i < 0) {
		char list[128] = "";
		int k;

		for (k = 0; k < n; k++) {
			strncat(list, k ? ", " : "", sizeof(list) - strlen(list) - 1);
			strncat(list, names[k], sizeof(list) - strlen(list) - 1);
		}
		return text_errf(err, errlen, "persona: \"%s\" must be one of %s", key, list);
	}
	*out = (uint8_t)i;
	return 0;
}

/* Valid UTF-8 without control characters (C0, DEL, C1), overlongs or surrogates. */
static int
persona_name_ok(const unsigned char *s, size_t len)
{
	size_t i = 0, n, k;
	uint32_t c;

	while (i < len) {
		c = s[i];
		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return 0;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, c &= 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, c &= 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, c &= 0x07;
		else
			return 0;
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			c = (c << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && c < 0x800) || (n == 3 && (c < 0x10000 || c > 0x10ffff)) ||
		    (c >= 0xd800 && c <= 0xdfff) || (c >= 0x80 && c <= 0x9f))
			return 0;
		i += n + 1;
	}
	return 1;
}

static int
persona_get_name(const json_t *j, struct persona *p, char *err, size_t errlen)
{
	const json_t *v = json_object_get(j, "name");
	const char *s = json_string_value(v);
	size_t len;

	if (s == NULL)
		return text_errf(err, errlen, "persona: \"name\" must be a string");
	len = json_string_length(v);
	if (len == 0)
		return text_errf(err, errlen, "persona: \"name\" must not be empty");
	if (len > PERSONA_NAME_MAX - 1)
		return text_errf(err, errlen, "persona: \"name\" must be at most %d bytes",
		    PERSONA_NAME_MAX - 1);
	if (!persona_name_ok((const unsigned char *)s, len))
		return text_errf(err, errlen,
		    "persona: \"name\" must be printable UTF-8 without control characters");
	memcpy(p->name, s, len);
	p->name[len] = '\0';
	return 0;
}

/*
 * Weights are normalised on input, except when they already sum to 1 within
 * float precision: then they are kept bit for bit, so a round trip is exact.
 */
static int
persona_finish_weights(float *w, double *raw, int n, const char *field, char *err, size_t errlen)
{
	double sum = 0.0;
	int i;

	for (i = 0; i < n; i++)
		sum += raw[i];
	/* Finite weights can still overflow the sum, and x / inf would make them all 0. */
	if (!isfinite(sum))
		return text_errf(err, errlen,
		    "persona: \"%s\" weights are too large (their sum is not finite)", field);
	if (!(sum > 0.0))
		return text_errf(
		    err, errlen, "persona: \"%s\" weights must not all be zero", field);
	if (fabs(sum - 1.0) < 1e-6) {
		/* judged on the floats kept: read back, they must be kept again */
		for (i = 0, sum = 0.0; i < n; i++)
			sum += (float)raw[i];
		if (fabs(sum - 1.0) < 1e-6) {
			for (i = 0; i < n; i++)
				w[i] = (float)raw[i];
			return 0;
		}
	}
	persona_normalise(w, raw, n);
	return 0;
}

/* An object of named weights; with all_required, every name must be present. */
static int
persona_get_weights(const json_t *j, const char *field, const char *const *names, int n,
    int all_required, float *w, char *err, size_t errlen)
{
	const json_t *o = json_object_get(j, field), *v;
	double raw[PERSONA_CATEGORIES > 7 ? PERSONA_CATEGORIES : 7] = { 0 };
	const char *key;
	char shown[48];
	int i;

	if (!json_is_object(o))
		return text_errf(err, errlen, "persona: \"%s\" must be an object", field);
	json_object_foreach ((json_t *)o, key, v) {
		i = persona_lookup(key, names, n);
		if (i < 0)
			return text_errf(err, errlen, "persona: \"%s\" has unknown key \"%s\"",
			    field, text_shown(key, shown, sizeof(shown)));
		if (!json_is_number(v) || !isfinite(json_number_value(v)) ||
		    json_number_value(v) < 0.0)
			return text_errf(
			    err, errlen, "persona: \"%s.%s\" must be a number >= 0", field, key);
		raw[i] = json_number_value(v);
	}
	for (i = 0; all_required && i < n; i++)
		if (json_object_get(o, names[i]) == NULL)
			return text_errf(
			    err, errlen, "persona: \"%s.%s\" is missing", field, names[i]);
	return persona_finish_weights(w, raw, n, field, err, errlen);
}

static int
persona_get_hours(const json_t *j, const char *key, float *w, char *err, size_t errlen)
{
	const json_t *a = json_object_get(j, key), *v;
	double raw[24];
	size_t h;

	if (!json_is_array(a) || json_array_size(a) != 24)
		return text_errf(
		    err, errlen, "persona: \"%s\" must be an array of 24 numbers", key);
	for (h = 0; h < 24; h++) {
		v = json_array_get(a, h);
		if (!json_is_number(v) || !isfinite(json_number_value(v)) ||
		    json_number_value(v) < 0.0)
			return text_errf(
			    err, errlen, "persona: \"%s[%zu]\" must be a number >= 0", key, h);
		raw[h] = json_number_value(v);
	}
	return persona_finish_weights(w, raw, 24, key, err, errlen);
}

static int
persona_check_keys(const json_t *j, char *err, size_t errlen)
{
	const char *key;
	const json_t *v;
	char shown[48];
	size_t i;

	if (!json_is_object(j))
		return text_errf(err, errlen, "persona: must be a JSON object");
	json_object_foreach ((json_t *)j, key, v) {
		if (persona_lookup(key, persona_keys, NELEM(persona_keys)) < 0 &&
		    persona_lookup(key, persona_optional_keys, NELEM(persona_optional_keys)) < 0)
			return text_errf(err, errlen, "persona: unknown key \"%s\"",
			    text_shown(key, shown, sizeof(shown)));
	}
	for (i = 0; i < NELEM(persona_keys); i++)
		if (json_object_get(j, persona_keys[i]) == NULL)
			return text_errf(
			    err, errlen, "persona: \"%s\" is missing", persona_keys[i]);
	return 0;
}

static int
persona_get_trip(const json_t *j, struct persona *p, char *err, size_t errlen)
{
	double x;

	if (persona_get_number(j, "sessions_per_week", 0.1, 21.0, &x) != 0)
		return text_errf(
		    err, errlen, "persona: \"sessions_per_week\" must be a number from 0.1 to 21");
	p->sessions_per_week = (float)x;
	if (persona_get_number(j, "basket_mean", 1.0, 20.0, &x) != 0)
		return text_errf(
		    err, errlen, "persona: \"basket_mean\" must be a number from 1 to 20");
	p->basket_mean = (float)x;
	if (persona_get_number(j, "budget_cents", PERSONA_BUDGET_MIN, PERSONA_BUDGET_MAX, &x) !=
		0 ||
	    x != floor(x))
		return text_errf(err, errlen,
		    "persona: \"budget_cents\" must be a whole number from %d to %d",
		    PERSONA_BUDGET_MIN, PERSONA_BUDGET_MAX);
	p->budget_cents = (uint32_t)x;
	return 0;
}

/* The optional fields: absent, they take their defaults; present, they are checked. */
static int
persona_get_funnel(const json_t *j, struct persona *p, char *err, size_t errlen)
{
	double x;

	if (json_object_get(j, "weekend_hours") == NULL)
		memcpy(p->weekend_hour_weight, p->hour_weight, sizeof(p->hour_weight));
	else if (persona_get_hours(j, "weekend_hours", p->weekend_hour_weight, err, errlen) != 0)
		return -1;
	p->cart_propensity = PERSONA_DEFAULT_CART_PROPENSITY;
	p->cart_recovery = PERSONA_DEFAULT_CART_RECOVERY;
	p->think_s = PERSONA_DEFAULT_THINK_S;
	if ((json_object_get(j, "cart_propensity") != NULL &&
		persona_get_unit(j, "cart_propensity", &p->cart_propensity, err, errlen) != 0) ||
	    (json_object_get(j, "cart_recovery") != NULL &&
		persona_get_unit(j, "cart_recovery", &p->cart_recovery, err, errlen) != 0))
		return -1;
	if (json_object_get(j, "think_s") == NULL)
		return 0;
	if (persona_get_number(j, "think_s", 1.0, 600.0, &x) != 0)
		return text_errf(
		    err, errlen, "persona: \"think_s\" must be a number of seconds from 1 to 600");
	p->think_s = (float)x;
	return 0;
}

int
persona_from_json(const json_t *j, struct persona *out, char *err, size_t errlen)
{
	struct persona p;

	memset(&p, 0, sizeof(p));
	if (persona_check_keys(j, err, errlen) != 0 || persona_get_name(j, &p, err, errlen) != 0 ||
	    persona_get_band(
		j, "age_band", persona_age_names, AGE_BANDS, &p.age_band, err, errlen) != 0 ||
	    persona_get_band(j, "household", persona_household_names, HH_KINDS, &p.household, err,
		errlen) != 0 ||
	    persona_get_band(j, "income_band", persona_income_names, INC_BANDS, &p.income_band, err,
		errlen) != 0 ||
	    persona_get_weights(j, "categories", catalog_category_names, PERSONA_CATEGORIES, 0,
		p.category_weight, err, errlen) != 0 ||
	    persona_get_unit(j, "price_sensitivity", &p.price_sensitivity, err, errlen) != 0 ||
	    persona_get_unit(j, "coupon_affinity", &p.coupon_affinity, err, errlen) != 0 ||
	    persona_get_unit(j, "abandon_tendency", &p.abandon_tendency, err, errlen) != 0 ||
	    persona_get_hours(j, "hours", p.hour_weight, err, errlen) != 0 ||
	    persona_get_weights(j, "days", persona_day_names, 7, 1, p.day_weight, err, errlen) !=
		0 ||
	    persona_get_trip(j, &p, err, errlen) != 0 ||
	    persona_get_funnel(j, &p, err, errlen) != 0)
		return -1;
	*out = p;
	return 0;
}
