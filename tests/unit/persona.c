/* persona.c - tests for persona generation, shop probability and the JSON gate. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sim/persona.h"

#include "check.h"

#define NP 10000
#define NAME47 "Forty-seven bytes exactly, which is the limit!!"

enum {
	GROCERIES,
	HOUSEHOLD,
	BEAUTY,
	BABY,
	PETS,
	ELECTRONICS,
	HOME,
	CLOTHING,
	SPORTS,
	TOYS,
	BOOKS,
	HEALTH
};

static char *
dump(const struct persona *p)
{
	json_t *j = persona_to_json(p);
	char *s = j ? json_dumps(j, JSON_SORT_KEYS) : NULL;

	json_decref(j);
	return s;
}

static void
test_determinism(void)
{
	struct persona a, b, c, d;
	char *sa, *sb;

	persona_generate(&a, 77, 5);
	persona_generate(&b, 77, 5);
	persona_generate(&c, 77, 6);
	persona_generate(&d, 78, 5);
	CHECK(memcmp(&a, &b, sizeof(a)) == 0);
	CHECK(memcmp(&a, &c, sizeof(a)) != 0);
	CHECK(memcmp(&a, &d, sizeof(a)) != 0);
	CHECK(memcmp(a.hour_weight, c.hour_weight, sizeof(a.hour_weight)) != 0);
	sa = dump(&a);
	sb = dump(&b);
	CHECK(sa != NULL && sb != NULL && strcmp(sa, sb) == 0);
	free(sa);
	free(sb);
}

static int
sums_to_one(const float *w, int n)
{
	double s = 0.0;
	int i;

	for (i = 0; i < n; i++) {
		if (!(w[i] >= 0.0f))
			return 0;
		s += w[i];
	}
	return fabs(s - 1.0) < 1e-5;
}

static int
in_bounds(const struct persona *p)
{
	size_t len = strlen(p->name);

	return len > 0 && len < PERSONA_NAME_MAX && strchr(p->name, ' ') != NULL &&
	    p->age_band < AGE_BANDS && p->household < HH_KINDS && p->income_band < INC_BANDS &&
	    sums_to_one(p->category_weight, PERSONA_CATEGORIES) &&
	    sums_to_one(p->hour_weight, 24) && sums_to_one(p->day_weight, 7) &&
	    p->price_sensitivity >= 0 && p->price_sensitivity <= 1 && p->coupon_affinity >= 0 &&
	    p->coupon_affinity <= 1 && p->sessions_per_week >= 0.2f &&
	    p->sessions_per_week <= 14.0f && p->basket_mean >= 1.0f && p->basket_mean <= 12.0f &&
	    p->budget_cents >= 500 && p->budget_cents <= 100000000 && p->abandon_tendency >= 0 &&
	    p->abandon_tendency <= 1 && sums_to_one(p->weekend_hour_weight, 24) &&
	    p->cart_propensity > 0 && p->cart_propensity <= 0.5f && p->cart_recovery > 0 &&
	    p->cart_recovery <= 0.5f && p->think_s >= 3.0f && p->think_s <= 300.0f;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

/* Sums collected over the population. */
struct stats {
	double spw, night, three, morning, evening, weekend, abandon, top4, coupon_ps;
	double cart, recovery, think, we_morning, wd_morning, groc_cart, groc_n, other_cart;
	int bounded, coupon_mid, coupon_hunters, names_distinct;
	int age[AGE_BANDS], income[INC_BANDS], hh[HH_KINDS];
	double family_baby, other_baby, family_toys, other_toys, family_basket, other_basket;
	double ps_low, ps_high;
	float basket[NP];
	uint32_t budget[INC_BANDS][NP];
};

static void
collect(struct stats *st, const struct persona *p, const struct persona *prev)
{
	float w[PERSONA_CATEGORIES];
	int h, fam = p->household == HH_FAMILY;

	st->bounded += in_bounds(p);
	st->spw += p->sessions_per_week;
	for (h = 1; h <= 5; h++)
		st->night += p->hour_weight[h];
	st->three += p->hour_weight[3];
	for (h = 7; h <= 9; h++)
		st->morning += p->hour_weight[h] / 3.0;
	for (h = 19; h <= 22; h++)
		st->evening += p->hour_weight[h] / 4.0;
	st->weekend += p->day_weight[5] + p->day_weight[6];
	st->cart += p->cart_propensity;
	st->recovery += p->cart_recovery;
	st->think += p->think_s;
	for (h = 6; h <= 8; h++) {
		st->wd_morning += p->hour_weight[h];
		st->we_morning += p->weekend_hour_weight[h];
	}
	if (p->category_weight[GROCERIES] > 0.3f) {
		st->groc_cart += p->cart_propensity;
		st->groc_n++;
	} else {
		st->other_cart += p->cart_propensity;
	}
	st->abandon += p->abandon_tendency;
	st->coupon_mid += p->coupon_affinity >= 0.1f && p->coupon_affinity <= 0.4f;
	st->coupon_hunters += p->coupon_affinity >= 0.7f;
	st->coupon_ps += (p->coupon_affinity - 0.3) * (p->price_sensitivity - 0.5);
	memcpy(w, p->category_weight, sizeof(w));
	qsort(w, PERSONA_CATEGORIES, sizeof(w[0]), cmp_float);
	st->top4 += w[8] + w[9] + w[10] + w[11];
	st->age[p->age_band]++;
	st->hh[p->household]++;
	st->budget[p->income_band][st->income[p->income_band]++] = p->budget_cents;
	*(fam ? &st->family_baby : &st->other_baby) += p->category_weight[BABY];
	*(fam ? &st->family_toys : &st->other_toys) += p->category_weight[TOYS];
	*(fam ? &st->family_basket : &st->other_basket) += p->basket_mean;
	if (p->income_band == INC_LOW)
		st->ps_low += p->price_sensitivity;
	if (p->income_band == INC_HIGH)
		st->ps_high += p->price_sensitivity;
	st->names_distinct += strcmp(p->name, prev->name) != 0;
}

static void
test_distributions(void)
{
	struct stats *st = calloc(1, sizeof(*st));
	struct persona p, prev;
	int i, b, fam;

	CHECK(st != NULL);
	if (st == NULL)
		return;
	persona_generate(&prev, 2024, NP);
	for (i = 0; i < NP; i++) {
		persona_generate(&p, 2024, (uint32_t)i);
		collect(st, &p, &prev);
		st->basket[i] = p.basket_mean;
		prev = p;
	}
	fam = st->hh[HH_FAMILY];
	CHECK(st->bounded == NP);
	CHECK(st->spw / NP > 1.8 && st->spw / NP < 3.2);
	CHECK(st->night / NP < 0.05);
	CHECK(st->three < 0.03 * st->evening); /* near zero in the small hours */
	CHECK(st->evening > 1.5 * st->morning);
	/* a persona's days lean relative to the calendar's mix, which stays the population's */
	CHECK(fabs(st->weekend / NP - 2.0 / 7.0) < 0.01);
	CHECK(fabs(st->abandon / NP - 0.70) < 0.02);
	/* the funnel: ~10 % of visits fill a cart (more for grocery), ~10 % recovered, ~20 s */
	CHECK(fabs(st->cart / NP - 0.10) < 0.015);
	CHECK(st->groc_n > 0 &&
	    st->groc_cart / st->groc_n > 1.2 * st->other_cart / (NP - st->groc_n));
	CHECK(fabs(st->recovery / NP - 0.10) < 0.015);
	CHECK(st->think / NP > 15.0 && st->think / NP < 25.0);
	CHECK(st->we_morning < 0.7 * st->wd_morning); /* later mornings at weekends */
	CHECK(st->top4 / NP > 0.75);
	CHECK(st->coupon_mid > NP / 2);
	CHECK(st->coupon_hunters > NP / 20 && st->coupon_hunters < NP / 4);
	CHECK(st->coupon_ps > 0.0);
	for (b = 0; b < AGE_BANDS; b++)
		CHECK(st->age[b] > NP / 20 && st->age[b] < NP * 3 / 10);
	for (b = 0; b < HH_KINDS; b++)
		CHECK(st->hh[b] > NP / 20);
	CHECK(fam > 0 && fam < NP);
	if (fam > 0 && fam < NP) {
		CHECK(st->family_baby / fam > 2.0 * st->other_baby / (NP - fam));
		CHECK(st->family_toys / fam > 2.0 * st->other_toys / (NP - fam));
		CHECK(st->family_basket / fam > st->other_basket / (NP - fam));
	}
	CHECK(st->ps_low / st->income[INC_LOW] > st->ps_high / st->income[INC_HIGH] + 0.2);
	for (b = 0; b < INC_BANDS; b++)
		qsort(st->budget[b], (size_t)st->income[b], sizeof(uint32_t), cmp_u32);
	for (b = 1; b < INC_BANDS; b++)
		CHECK(st->budget[b][st->income[b] / 2] > st->budget[b - 1][st->income[b - 1] / 2]);
	CHECK(st->budget[INC_LOW][st->income[INC_LOW] / 2] >= 2000);
	CHECK(st->budget[INC_HIGH][st->income[INC_HIGH] / 2] <= 60000);
	qsort(st->basket, NP, sizeof(float), cmp_float);
	CHECK(st->basket[NP / 2] > 2.0f && st->basket[NP / 2] < 3.2f);
	CHECK(st->basket[NP * 95 / 100] > 2.0f * st->basket[NP / 2]); /* a long tail */
	CHECK(st->names_distinct > NP * 9 / 10);
	free(st);
}

static void
test_shop_probability(void)
{
	struct persona p;
	double week = 0.0, x;
	int d, h, ok = 1;

	persona_generate(&p, 1, 1);
	p.sessions_per_week = 3.5f;
	for (d = 0; d < 7; d++) {
		for (h = 0; h < 24; h++) {
			x = persona_shop_probability(&p, h, d, 60);
			ok &= x >= 0.0 && x <= 1.0;
			week += x;
		}
	}
	CHECK(ok);
	CHECK(fabs(week - 3.5) < 1e-3);
	x = persona_shop_probability(&p, 20, 5, 60);
	CHECK(fabs(x - 3.5 * p.day_weight[5] * p.weekend_hour_weight[20]) < 1e-6);
	CHECK(fabs(persona_shop_probability(&p, 20, 4, 60) -
		  3.5 * p.day_weight[4] * p.hour_weight[20]) < 1e-6);
	CHECK(
	    persona_hours(&p, 4) == p.hour_weight && persona_hours(&p, 6) == p.weekend_hour_weight);
	CHECK(fabs(persona_shop_probability(&p, 20, 5, 30) - x / 2) < 1e-9);
	CHECK(persona_shop_probability(&p, 20, 5, 1000000) == 1.0);
	CHECK(persona_shop_probability(&p, 24, 0, 60) == 0.0);
	CHECK(persona_shop_probability(&p, -1, 0, 60) == 0.0);
	CHECK(persona_shop_probability(&p, 3, 7, 60) == 0.0);
	CHECK(persona_shop_probability(&p, 3, 0, 0) == 0.0);
	CHECK(persona_shop_probability(&p, 20, 5, 60) > persona_shop_probability(&p, 3, 5, 60));
}

static int
same_floats(const float *a, const float *b, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (fabsf(a[i] - b[i]) > 1e-6f)
			return 0;
	return 1;
}

static int
same_persona(const struct persona *a, const struct persona *b)
{
	return strcmp(a->name, b->name) == 0 && a->age_band == b->age_band &&
	    a->household == b->household && a->income_band == b->income_band &&
	    same_floats(a->category_weight, b->category_weight, PERSONA_CATEGORIES) &&
	    same_floats(a->hour_weight, b->hour_weight, 24) &&
	    same_floats(a->day_weight, b->day_weight, 7) &&
	    same_floats(&a->price_sensitivity, &b->price_sensitivity, 1) &&
	    same_floats(&a->coupon_affinity, &b->coupon_affinity, 1) &&
	    same_floats(&a->sessions_per_week, &b->sessions_per_week, 1) &&
	    same_floats(&a->basket_mean, &b->basket_mean, 1) &&
	    same_floats(&a->abandon_tendency, &b->abandon_tendency, 1) &&
	    same_floats(a->weekend_hour_weight, b->weekend_hour_weight, 24) &&
	    same_floats(&a->cart_propensity, &b->cart_propensity, 1) &&
	    same_floats(&a->cart_recovery, &b->cart_recovery, 1) &&
	    same_floats(&a->think_s, &b->think_s, 1) && a->budget_cents == b->budget_cents;
}

/* The optional fields, when present, are read and checked like the others. */
static void
test_optional_fields(void)
{
	struct persona p, q;
	char err[256];
	json_t *j, *h;
	int i;

	persona_generate(&p, 9, 9);
	j = persona_to_json(&p);
	CHECK(j != NULL);
	if (j == NULL)
		return;
	json_object_set_new(j, "cart_propensity", json_real(0.25));
	json_object_set_new(j, "cart_recovery", json_integer(0));
	json_object_set_new(j, "think_s", json_integer(45));
	h = json_array();
	for (i = 0; i < 24; i++)
		json_array_append_new(h, json_integer(i == 10 ? 2 : 0));
	json_object_set_new(j, "weekend_hours", h);
	CHECK(persona_from_json(j, &q, err, sizeof(err)) == 0);
	CHECK(q.cart_propensity == 0.25f && q.cart_recovery == 0.0f && q.think_s == 45.0f);
	CHECK(q.weekend_hour_weight[10] == 1.0f && q.weekend_hour_weight[9] == 0.0f);
	CHECK(memcmp(q.hour_weight, p.hour_weight, sizeof(p.hour_weight)) == 0);
	json_decref(j);
}

static void
test_round_trip(void)
{
	struct persona p, q;
	char err[256], *s;
	json_t *j;
	int i, ok = 1, exact = 1;

	for (i = 0; i < 500; i++) {
		persona_generate(&p, 99, (uint32_t)i);
		s = dump(&p);
		j = s ? json_loads(s, 0, NULL) : NULL;
		memset(&q, 0xa5, sizeof(q));
		ok &= j != NULL && persona_from_json(j, &q, err, sizeof(err)) == 0 &&
		    same_persona(&p, &q);
		exact &= memcmp(&p, &q, sizeof(p)) == 0;
		json_decref(j);
		free(s);
	}
	CHECK(ok);
	CHECK(exact);

	/* Weights that do not sum to 1 are normalised, and missing categories are 0. */
	j = json_pack(
	    "{s:s, s:s, s:s, s:s, s:{s:i, s:i}, s:f, s:f, s:f,"
	    " s:[ffffffffffffffffffffffff], s:{s:i, s:i, s:i, s:i, s:i, s:i, s:i}, s:f, s:i, s:f}",
	    "name", "Zoë Ölund", "age_band", "65+", "household", "couple", "income_band",
	    "upper-middle", "categories", "books", 3, "health", 1, "price_sensitivity", 0.5,
	    "coupon_affinity", 0.0, "sessions_per_week", 21.0, "hours", 0., 0., 0., 0., 0., 0., 0.,
	    0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 2., 2., 0., 0., "days", "mon", 1,
	    "tue", 1, "wed", 1, "thu", 1, "fri", 1, "sat", 2, "sun", 3, "basket_mean", 1.0,
	    "budget_cents", 500, "abandon_tendency", 1.0);
	CHECK(j != NULL);
	CHECK(persona_from_json(j, &q, err, sizeof(err)) == 0);
	CHECK(strcmp(q.name, "Zo\xc3\xab \xc3\x96lund") == 0);
	CHECK(q.age_band == AGE_65_PLUS && q.household == HH_COUPLE &&
	    q.income_band == INC_UPPER_MIDDLE);
	CHECK(fabsf(q.category_weight[BOOKS] - 0.75f) < 1e-6f);
	CHECK(fabsf(q.category_weight[HEALTH] - 0.25f) < 1e-6f);
	CHECK(q.category_weight[GROCERIES] == 0.0f);
	CHECK(fabsf(q.hour_weight[20] - 0.5f) < 1e-6f && q.hour_weight[0] == 0.0f);
	CHECK(fabsf(q.day_weight[6] - 0.3f) < 1e-6f);
	CHECK(q.budget_cents == 500 && q.sessions_per_week == 21.0f);
	/* written before the optional fields existed: it gets their defaults */
	CHECK(memcmp(q.weekend_hour_weight, q.hour_weight, sizeof(q.hour_weight)) == 0);
	CHECK(q.cart_propensity == PERSONA_DEFAULT_CART_PROPENSITY);
	CHECK(q.cart_recovery == PERSONA_DEFAULT_CART_RECOVERY);
	CHECK(q.think_s == PERSONA_DEFAULT_THINK_S);

	/* Huge weights whose sum is still finite are fine: only the ratios count. */
	json_object_set_new(
	    j, "categories", json_pack("{s:f, s:f}", "books", 6e307, "health", 2e307));
	CHECK(persona_from_json(j, &q, err, sizeof(err)) == 0);
	CHECK(fabsf(q.category_weight[BOOKS] - 0.75f) < 1e-6f);
	json_decref(j);
}

/* Dumped with 9 significant digits (enough for a float), the JSON is short and still exact. */
static void
test_round_trip_short(void)
{
	struct persona p, q;
	char err[256], *s;
	json_t *j;
	int i, exact = 1;

	for (i = 0; i < 200; i++) {
		persona_generate(&p, 3, (uint32_t)i);
		j = persona_to_json(&p);
		s = j ? json_dumps(j, JSON_REAL_PRECISION(9)) : NULL;
		json_decref(j);
		j = s ? json_loads(s, 0, NULL) : NULL;
		exact &= j != NULL && persona_from_json(j, &q, err, sizeof(err)) == 0 &&
		    memcmp(&p, &q, sizeof(p)) == 0;
		json_decref(j);
		free(s);
	}
	CHECK(exact);
}

/*
 * Weights summing to 1 within 1e-6 as doubles but not once rounded to floats
 * (found by tests/fuzz/fuzz_persona): read back, they were normalised, not kept.
 */
static void
test_round_trip_edge(void)
{
	static const char cats[] =
	    "{\"groceries\":0.23276177,\"household\":0.00527845835,"
	    "\"beauty\":0.00621876307,\"baby\":3.77889701e-5,\"pets\":0.00159159175,"
	    "\"electronics\":0.37377782,\"home\":0.0079008732,\"clothing\":0.00648007495,"
	    "\"sports\":0.0110364007,\"toys\":0.000798440829,\"books\":0.347504616,"
	    "\"health\":0.00661240378}";
	struct persona p, q;
	char err[256];
	json_t *j;

	persona_generate(&p, 7, 7);
	j = persona_to_json(&p);
	CHECK(j != NULL && json_object_set_new(j, "categories", json_loads(cats, 0, NULL)) == 0);
	memset(&q, 0, sizeof(q));
	CHECK(persona_from_json(j, &q, err, sizeof(err)) == 0);
	json_decref(j);
	j = persona_to_json(&q);
	memset(&p, 0, sizeof(p));
	CHECK(j != NULL && persona_from_json(j, &p, err, sizeof(err)) == 0);
	CHECK(memcmp(&p, &q, sizeof(p)) == 0);
	json_decref(j);
}

struct bad_case {
	const char *key;    /* field to change */
	const char *value;  /* JSON text put there, or NULL to delete the field */
	const char *expect; /* must appear in the error message */
};

static const struct bad_case bad_cases[] = {
	{ "coupon_affinity", "1.5", "\"coupon_affinity\" must be a number from 0 to 1" },
	{ "price_sensitivity", "\"high\"", "\"price_sensitivity\"" },
	{ "abandon_tendency", "-0.1", "\"abandon_tendency\"" },
	{ "age_band", "\"17-20\"", "\"age_band\"" },
	{ "household", "3", "\"household\"" },
	{ "income_band", "\"rich\"", "\"income_band\"" },
	{ "categories", "{\"groceries\": 1, \"cars\": 2}", "\"cars\"" },
	{ "categories", "{\"groceries\": -1}", "categories.groceries" },
	{ "categories", "{\"groceries\": 0, \"books\": 0}", "\"categories\"" },
	{ "categories", "[1, 2]", "\"categories\"" },
	{ "hours", "[1, 2, 3]", "\"hours\"" },
	{ "hours", "[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,\"x\"]", "hours[23]" },
	{ "hours", "[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]", "\"hours\"" },
	{ "days", "{\"mon\":1,\"tue\":1,\"wed\":1,\"thu\":1,\"fri\":1,\"sat\":1}", "days.sun" },
	{ "days",
	    "{\"mon\":1,\"tue\":1,\"wed\":1,\"thu\":1,\"fri\":1,\"sat\":1,\"sun\":1,"
	    "\"holiday\":1}",
	    "\"holiday\"" },
	{ "name", "\"\"", "\"name\"" },
	{ "name", "\"A name that is far too long to fit in forty-seven bytes\"", "\"name\"" },
	{ "name", "\"Bad\\u0007Bell\"", "\"name\"" },
	{ "name", "42", "\"name\"" },
	{ "sessions_per_week", "0", "\"sessions_per_week\"" },
	{ "sessions_per_week", "30", "\"sessions_per_week\"" },
	{ "basket_mean", "0.5", "\"basket_mean\"" },
	{ "budget_cents", "100", "\"budget_cents\"" },
	{ "budget_cents", "1000.5", "\"budget_cents\"" },
	/* Each weight is finite, but their sum overflows to infinity. */
	{ "categories", "{\"groceries\": 1e308, \"household\": 1e308}", "\"categories\"" },
	{ "hours", "[1e308,1e308,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]", "\"hours\"" },
	{ "days",
	    "{\"mon\":1e308,\"tue\":1e308,\"wed\":1,\"thu\":1,\"fri\":1,\"sat\":1,"
	    "\"sun\":1}",
	    "\"days\"" },
	{ "favourite_colour", "\"blue\"", "\"favourite_colour\"" },
	/* Keys are shown without what could forge a log line or drive a terminal. */
	{ "budget\n2026-01-05 simd: fake line", "1", "unknown key \"budget?2026-01-05 simd: fak" },
	{ "categories", "{\"\\u001b[31mred\": 1}", "unknown key \"?[31mred\"" },
	{ "days", NULL, "\"days\" is missing" },
	{ "cart_propensity", "1.2", "\"cart_propensity\"" },
	{ "cart_recovery", "\"often\"", "\"cart_recovery\"" },
	{ "think_s", "0.5", "\"think_s\"" },
	{ "think_s", "601", "\"think_s\"" },
	{ "weekend_hours", "[1, 2]", "\"weekend_hours\"" },
	{ "weekend_hours", "[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]",
	    "\"weekend_hours\"" },
	{ "weekend_hours", "[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,-1]",
	    "weekend_hours[23]" },
	{ "budget_cents", NULL, "\"budget_cents\"" },
};

static void
test_invalid(void)
{
	struct persona p, q, keep;
	char err[256];
	json_t *good, *j, *v;
	size_t i;
	int rejected = 0, named = 0, untouched = 1;

	persona_generate(&p, 5, 5);
	good = persona_to_json(&p);
	CHECK(good != NULL);
	if (good == NULL)
		return;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];

		j = json_deep_copy(good);
		if (c->value != NULL) {
			v = json_loads(c->value, JSON_DECODE_ANY, NULL);
			CHECK(v != NULL);
			json_object_set_new(j, c->key, v);
		} else {
			json_object_del(j, c->key);
		}
		err[0] = '\0';
		memset(&q, 0x5a, sizeof(q));
		keep = q;
		if (persona_from_json(j, &q, err, sizeof(err)) == -1)
			rejected++;
		else
			fprintf(stderr, "accepted bad case %zu (%s)\n", i, c->key);
		if (strstr(err, c->expect) != NULL && strncmp(err, "persona: ", 9) == 0)
			named++;
		else
			fprintf(
			    stderr, "case %zu: message \"%s\" lacks \"%s\"\n", i, err, c->expect);
		untouched &= memcmp(&q, &keep, sizeof(q)) == 0;
		json_decref(j);
	}
	CHECK(rejected == (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	CHECK(named == rejected);
	CHECK(untouched);

	/* Not an object at all; and an invalid UTF-8 name built without jansson's check. */
	j = json_array();
	CHECK(persona_from_json(j, &q, err, sizeof(err)) == -1 && strstr(err, "object") != NULL);
	json_decref(j);
	j = json_deep_copy(good);
	json_object_set_new(j, "name", json_string_nocheck("Bad \xc0\xaf name"));
	CHECK(persona_from_json(j, &q, err, sizeof(err)) == -1 && strstr(err, "\"name\"") != NULL);
	json_object_set_new(j, "name", json_string("C1 \xc2\x85 control"));
	CHECK(persona_from_json(j, &q, err, sizeof(err)) == -1 && strstr(err, "\"name\"") != NULL);
	json_object_set_new(j, "name", json_stringn("Nul\0Inside", 10));
	CHECK(persona_from_json(j, &q, err, sizeof(err)) == -1 && strstr(err, "\"name\"") != NULL);
	json_object_set_new(j, "name", json_string(NAME47));
	CHECK(strlen(NAME47) == 47);
	CHECK(persona_from_json(j, &q, err, sizeof(err)) == 0);
	/* A tiny error buffer is never overrun, and a NULL one is allowed. */
	json_object_set_new(j, "coupon_affinity", json_integer(2));
	CHECK(persona_from_json(j, &q, err, 4) == -1 && strlen(err) == 3);
	CHECK(persona_from_json(j, &q, NULL, 0) == -1);
	json_decref(j);
	json_decref(good);
}

int
main(void)
{
	test_determinism();
	test_distributions();
	test_shop_probability();
	test_round_trip();
	test_optional_fields();
	test_round_trip_short();
	test_round_trip_edge();
	test_invalid();
	return CHECK_DONE();
}
