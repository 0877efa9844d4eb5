/*
 * fuzz_persona.c - a persona as JSON (the users table, an LLM's answer):
 * persona_from_json on json_loadb of the input.
 *
 * Contract: a refusal is one line starting "persona: "; an accepted persona
 * has weights that are proper distributions and fields within their bounds,
 * and survives persona_to_json / persona_from_json unchanged.
 */
#include <math.h>

#include <jansson.h>

#include "sim/persona.h"

#include "fuzz.h"

static void
fuzz_distribution(const float *w, int n)
{
	double sum = 0.0;

	for (int i = 0; i < n; i++) {
		FUZZ_ASSERT(isfinite(w[i]) && w[i] >= 0.0f && w[i] <= 1.0f);
		sum += w[i];
	}
	FUZZ_ASSERT(fabs(sum - 1.0) < 1e-4);
}

static void
fuzz_bounds(const struct persona *p)
{
	size_t len = strnlen(p->name, PERSONA_NAME_MAX);

	FUZZ_ASSERT(len > 0 && len < PERSONA_NAME_MAX);
	FUZZ_ASSERT(
	    p->age_band < AGE_BANDS && p->household < HH_KINDS && p->income_band < INC_BANDS);
	fuzz_distribution(p->category_weight, PERSONA_CATEGORIES);
	fuzz_distribution(p->hour_weight, 24);
	fuzz_distribution(p->day_weight, 7);
	FUZZ_ASSERT(p->price_sensitivity >= 0.0f && p->price_sensitivity <= 1.0f);
	FUZZ_ASSERT(p->coupon_affinity >= 0.0f && p->coupon_affinity <= 1.0f);
	FUZZ_ASSERT(p->abandon_tendency >= 0.0f && p->abandon_tendency <= 1.0f);
	FUZZ_ASSERT(isfinite(p->sessions_per_week) && p->sessions_per_week > 0.0f);
	FUZZ_ASSERT(isfinite(p->basket_mean) && p->basket_mean > 0.0f);
	for (int h = 0; h < 24; h++) {
		double x = persona_shop_probability(p, h, h % 7, 60);

		FUZZ_ASSERT(x >= 0.0 && x <= 1.0);
	}
}

/* What simd writes back (checkpoints, the users table) it must read again, unchanged. */
static void
fuzz_round_trip(const struct persona *p)
{
	struct persona q;
	char err[256];
	json_t *j = persona_to_json(p);

	FUZZ_ASSERT(j != NULL);
	memset(&q, 0, sizeof(q));
	FUZZ_ASSERT(persona_from_json(j, &q, err, sizeof(err)) == 0);
	FUZZ_ASSERT(memcmp(p, &q, sizeof(q)) == 0);
	json_decref(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct persona p;
	char err[256];
	json_t *j;

	j = json_loadb((const char *)data, size, 0, NULL);
	if (j == NULL)
		return 0;
	memset(&p, 0, sizeof(p));
	err[0] = '\0';
	if (persona_from_json(j, &p, err, sizeof(err)) == 0) {
		fuzz_bounds(&p);
		fuzz_round_trip(&p);
	} else {
		FUZZ_ASSERT(strncmp(err, "persona: ", 9) == 0 && fuzz_one_line(err));
	}
	json_decref(j);
	return 0;
}
