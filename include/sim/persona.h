/* persona.h - who an agent is: generated from (seed, agent) or validated from JSON. */
#ifndef SIM_PERSONA_H
#define SIM_PERSONA_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define PERSONA_CATEGORIES 12 /* product categories, see catalog.h */
#define PERSONA_NAME_MAX 48

enum persona_age { AGE_18_24, AGE_25_34, AGE_35_44, AGE_45_54, AGE_55_64, AGE_65_PLUS, AGE_BANDS };
enum persona_household { HH_SINGLE, HH_COUPLE, HH_FAMILY, HH_SHARED, HH_KINDS };
enum persona_income {
	INC_LOW,
	INC_LOWER_MIDDLE,
	INC_MIDDLE,
	INC_UPPER_MIDDLE,
	INC_HIGH,
	INC_BANDS
};

struct persona {
	char name[PERSONA_NAME_MAX];
	uint8_t age_band;                          /* enum persona_age */
	uint8_t household;                         /* enum persona_household */
	uint8_t income_band;                       /* enum persona_income */
	float category_weight[PERSONA_CATEGORIES]; /* >= 0, sum 1 */
	float price_sensitivity;                   /* 0..1: 1 = always the cheapest */
	float coupon_affinity;                     /* 0..1: chance to look at coupons */
	float sessions_per_week;                   /* 0.1..21 */
	float hour_weight[24];                     /* activity over a weekday, sum 1 */
	float day_weight[7];                       /* Monday = 0 .. Sunday = 6, sum 1 */
	float basket_mean;                         /* mean distinct items added, 1..20 */
	uint32_t budget_cents;                     /* budget per trip, 500..100000000 */
	float abandon_tendency; /* 0..1: chance a cart is never bought (per cart) */
	/* Optional in JSON (older personas lack them): the defaults below apply. */
	float weekend_hour_weight[24]; /* Saturday and Sunday profile, sum 1; default: hours */
	float cart_propensity;         /* 0..1: chance a visit adds to the cart */
	float cart_recovery;           /* 0..1: chance a cart left unbought is bought next visit */
	float think_s;                 /* median seconds between two views, 1..600 */
};

/*
 * Defaults for the optional fields, and the population means persona_generate
 * aims at (docs/realism.md gives the sources): ~10 % of visits add to the cart,
 * ~10 % of abandoned carts are recovered, views ~20 s apart.
 */
#define PERSONA_DEFAULT_CART_PROPENSITY 0.10f
#define PERSONA_DEFAULT_CART_RECOVERY 0.10f
#define PERSONA_DEFAULT_THINK_S 20.0f

/* Names used in JSON, indexed by the enums above. */
extern const char *const persona_age_names[AGE_BANDS];
extern const char *const persona_household_names[HH_KINDS];
extern const char *const persona_income_names[INC_BANDS];
extern const char *const persona_day_names[7];

/* Deterministic: the same (seed, agent index) always gives the same persona. */
void persona_generate(struct persona *p, uint64_t seed, uint32_t agent);

/*
 * JSON form (stored in users.persona, and what an LLM must produce):
 * {"name": str, "age_band": "25-34", "household": "family", "income_band": "middle",
 *  "categories": {"groceries": 0.4, ...}, "price_sensitivity": 0.6,
 *  "coupon_affinity": 0.3, "sessions_per_week": 2.5,
 *  "hours": [24 numbers], "days": {"mon": 0.1, ...}, "basket_mean": 4.2,
 *  "budget_cents": 8000, "abandon_tendency": 0.7,
 *  "weekend_hours": [24 numbers], "cart_propensity": 0.1, "cart_recovery": 0.1,
 *  "think_s": 20}
 * The last four are optional (a persona written before they existed stays
 * valid): weekend_hours defaults to hours, the others to the PERSONA_DEFAULT_*
 * values.  persona_to_json always writes them.  Weights are normalised on
 * input; unknown keys are rejected.
 */
json_t *persona_to_json(const struct persona *p);
/* Returns 0, or -1 with a message a person can act on in err. */
int persona_from_json(const json_t *j, struct persona *p, char *err, size_t errlen);
/*
 * Probability (0..1) that the agent starts a session in a tick of tick_minutes
 * at this time, with a flat calendar (calendar.h weighs in the weekday mix and
 * promotions).  Saturday and Sunday (weekday 5, 6) use weekend_hour_weight.
 */
/* The hour profile of that weekday (Monday = 0): weekend_hour_weight on 5 and 6. */
const float *persona_hours(const struct persona *p, int weekday);
double persona_shop_probability(const struct persona *p, int hour, int weekday, int tick_minutes);

#endif
