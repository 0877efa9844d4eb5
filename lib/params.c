/* params.c - the table of run parameters, and their JSON forms (see params.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/config.h"
#include "sim/params.h"
#include "sim/text.h"

#define OFF(f) offsetof(struct run_params, f)
#define S PARAM_START
#define C PARAM_CKPT
#define N PARAM_CKPT_NEW
/* A double of struct shopper_opts from the key of the same name. */
#define SHOP(key, f)                                                                          \
	{                                                                                     \
		key, PARAM_DOUBLE, OFF(shop.f), key, 0, 0, C | N, key, NULL, NULL, NULL, NULL \
	}

const struct param_def param_defs[] = {
	{ "run_id", PARAM_RUN_ID, OFF(run_id), NULL, 0, 0, C, "run_id", NULL, NULL, NULL, NULL },
	{ "agents", PARAM_U32, OFF(agents), "agents", 0, 0, S | C, "agents", "agents", "N",
	    "number of agents (default: the daemon's agents key)", "a whole number of agents" },
	{ "cycles", PARAM_U32, OFF(cycles), "cycles", 0, 0, S | C, "cycles", "cycles", "N",
	    "stop after N cycles", "a whole number of cycles" },
	{ "hours", PARAM_DOUBLE, OFF(hours), "hours", 0, 0, S | C, "hours", "hours", "H",
	    "stop after H wall-clock hours", "a number of hours" },
	{ "time_scale", PARAM_DOUBLE, OFF(time_scale), "time_scale", 0, 0, S | C, "time_scale",
	    "time-scale", "X", "simulated/wall time, 0 = as fast as possible",
	    "a finite number: 0, or simulated seconds per wall second" },
	{ "max_concurrent", PARAM_U32, OFF(max_concurrent), "max_concurrent", 0, 0, S | C,
	    "max_concurrent", "max-concurrent", "N", "sessions in flight at once",
	    "a whole number of sessions" },
	{ "seed", PARAM_U64, OFF(seed), "seed", 0, 0, S | C, "seed", "seed", "S", "random seed",
	    "a whole number" },
	{ "agents_list", PARAM_AGENTS, OFF(only), NULL, 0, 0, S | C, "only", "agents-list",
	    "ID,...", "only these agents (agent_001,...)", "agent ids separated by commas" },
	{ "all_shop", PARAM_BOOL, OFF(all_shop), NULL, 0, 1, S | C, "all_shop", "all-shop", NULL,
	    "every agent shops every cycle (benchmarks)", NULL },
	{ "shard", PARAM_SHARD, OFF(shard), "shard", 0, 0, S | C | N, "shard", "shard", "I/N",
	    "simulate only shard I of N of the population (default: the shard key)",
	    "I/N, shard I of N (like 0/3)" },
	{ "write_mode", PARAM_CHOICE, OFF(write_mode), "write_mode", 0, WRITE_MODE_MAX, S | C | N,
	    "write_mode", "write-mode", "MODE",
	    "realistic (each step its own transaction) or bulk (many sessions per transaction)",
	    "realistic or bulk" },
	{ "tick", PARAM_U32, OFF(tick), "tick", 0, 0, C, "tick", NULL, NULL, NULL, NULL },
	{ "sim_start", PARAM_TIME, OFF(sim_start), "sim_start", 0, 0, C, "sim_start", NULL, NULL,
	    NULL, NULL },
	{ "max_retries", PARAM_U32, OFF(max_retries), "max_retries", 0, 0, C, "max_retries", NULL,
	    NULL, NULL, NULL },
	{ "retry_backoff_ms", PARAM_U32, OFF(retry_backoff_ms), "retry_backoff_ms", 0, 0, C,
	    "retry_backoff_ms", NULL, NULL, NULL, NULL },
	{ "retry_window", PARAM_DOUBLE, OFF(retry_window), "retry_window", 0, 0, C, "retry_window",
	    NULL, NULL, NULL, NULL },
	{ "max_error_rate", PARAM_DOUBLE, OFF(max_error_rate), "max_error_rate", 0, 0,
	    S | C | PARAM_CKPT_NEW, "max_error_rate", "max-error-rate", "R",
	    "the run fails when more than this share of its sessions failed",
	    "a number from 0 to 1" },
	{ "catalog_products", PARAM_U32, OFF(catalog_products), "catalog_products", 0, 0, C,
	    "catalog_products", NULL, NULL, NULL, NULL },
	{ "catalog_stores", PARAM_U32, OFF(catalog_stores), "catalog_stores", 0, 0, C,
	    "catalog_stores", NULL, NULL, NULL, NULL },
	{ "catalog_coupons", PARAM_U32, OFF(catalog_coupons), "catalog_coupons", 0, 0, C,
	    "catalog_coupons", NULL, NULL, NULL, NULL },
	/* the shopper model: docs/realism.md */
	SHOP("bounce_rate", bounce_rate),
	SHOP("second_browse_rate", second_browse),
	SHOP("cross_store_rate", cross_store),
	SHOP("think_sigma", think_sigma),
	SHOP("think_max_s", think_max_s),
	SHOP("checkout_median_s", checkout_s),
	SHOP("session_max_s", session_max_s),
	SHOP("cart_rate", cart_rate),
	SHOP("checkout_rate", checkout_rate),
	{ "weekday_mix", PARAM_TEXT, OFF(weekday_mix), "weekday_mix", 0, WEEKDAY_MIX_MAX, C | N,
	    "weekday_mix", NULL, NULL, NULL, NULL },
	{ "calendar", PARAM_TEXT, OFF(calendar), "calendar", 0, CALENDAR_TEXT_MAX + 1, C | N,
	    "calendar", NULL, NULL, NULL, NULL },
};
const size_t param_ndefs = sizeof(param_defs) / sizeof(param_defs[0]);

#undef S
#undef C
#undef N
#undef SHOP

#define FIELD(p, d, type) ((type *)(void *)((char *)(p) + (d)->offset))
#define CFIELD(p, d, type) ((const type *)(const void *)((const char *)(p) + (d)->offset))

const struct param_def *
param_find(const char *name)
{
	for (size_t i = 0; i < param_ndefs; i++)
		if (strcmp(param_defs[i].name, name) == 0)
			return &param_defs[i];
	return NULL;
}

/* The numeric value of cfg's key as the parameter's type holds it. */
static void
param_set_number(struct run_params *p, const struct param_def *d, double v)
{
	switch (d->type) {
	case PARAM_U32: *FIELD(p, d, uint32_t) = (uint32_t)v; break;
	case PARAM_U64: *FIELD(p, d, uint64_t) = (uint64_t)v; break;
	case PARAM_DOUBLE: *FIELD(p, d, double) = v; break;
	case PARAM_TIME: *FIELD(p, d, int64_t) = (int64_t)v; break;
	case PARAM_BOOL: *FIELD(p, d, int) = v != 0; break;
	default: break;
	}
}

/* A text parameter; 0, or -1 when it does not fit. */
static int
param_set_text(struct run_params *p, const struct param_def *d, const char *v)
{
	size_t n = strlen(v);

	if (n >= (size_t)d->max)
		return -1;
	memcpy(FIELD(p, d, char), v, n + 1);
	return 0;
}

void
params_from_config(struct run_params *p, const struct sim_config *c)
{
	char why[128];

	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < param_ndefs; i++) {
		const struct param_def *d = &param_defs[i];
		const struct config_key *k = d->key != NULL ? config_find(d->key) : NULL;

		if (k != NULL && (d->type == PARAM_TEXT || d->type == PARAM_CHOICE))
			param_set_text(
			    p, d, *(char *const *)(const void *)((const char *)c + k->offset));
		else if (k != NULL && d->type == PARAM_SHARD) /* the key was checked */
			(void)shard_parse(
			    *(char *const *)(const void *)((const char *)c + k->offset),
			    FIELD(p, d, struct shard), why, sizeof(why));
		else if (k != NULL)
			param_set_number(p, d, config_number(c, k));
	}
}

static void
param_bounds(const struct param_def *d, double *min, double *max, int *zero_ok)
{
	const struct config_key *k = d->key != NULL ? config_find(d->key) : NULL;

	*min = k != NULL ? k->min : d->min;
	*max = k != NULL ? k->max : d->max;
	*zero_ok = k != NULL && (k->flags & CFG_ZERO_OK);
}

/* A JSON number that is a whole number (1.0 counts). */
static int
json_whole(const json_t *v, double *out)
{
	double x;

	if (json_is_integer(v)) {
		*out = (double)json_integer_value(v);
		return 1;
	}
	if (!json_is_real(v))
		return 0;
	x = json_real_value(v);
	*out = x;
	return x == floor(x) && fabs(x) < 9e15;
}

static int
param_number_json(
    struct run_params *p, const struct param_def *d, const json_t *v, char *err, size_t errlen)
{
	double x, min, max;
	int zero_ok, whole = d->type != PARAM_DOUBLE;

	param_bounds(d, &min, &max, &zero_ok);
	if (whole ? !json_whole(v, &x) : !json_is_number(v)) {
		snprintf(
		    err, errlen, "\"%s\" must be %s", d->name, whole ? "an integer" : "a number");
		return -1;
	}
	if (!whole)
		x = json_number_value(v);
	if (zero_ok && x == 0) {
		param_set_number(p, d, x);
		return 0;
	}
	if (!(x >= min && x <= max)) {
		if (zero_ok)
			snprintf(err, errlen,
			    "\"%s\" must be 0 (as fast as possible) or from %g "
			    "to %g (got %g)",
			    d->name, min, max, x);
		else if (whole)
			snprintf(err, errlen, "\"%s\" must be from %.0f to %.0f (got %.0f)",
			    d->name, min, max, x);
		else
			snprintf(err, errlen, "\"%s\" must be from %g to %g", d->name, min, max);
		return -1;
	}
	param_set_number(p, d, x);
	return 0;
}

long long
params_agent_index(const char *s)
{
	char *end;
	long long n;

	if (strncmp(s, "agent_", 6) != 0 || s[6] < '0' || s[6] > '9')
		return -1;
	n = strtoll(s + 6, &end, 10);
	if (*end != '\0' || n < 1 || n > 10000000)
		return -1;
	return n - 1;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Sorts and drops duplicates; returns the new count. */
static uint32_t
sort_unique(uint32_t *ids, size_t n)
{
	size_t i, k = 0;

	qsort(ids, n, sizeof(*ids), cmp_u32);
	for (i = 0; i < n; i++)
		if (k == 0 || ids[k - 1] != ids[i])
			ids[k++] = ids[i];
	return (uint32_t)k;
}

/* start's agents_list: ids like agent_007, within the population when it is known. */
static int
param_list_json(struct run_params *p, const json_t *list, uint64_t agents, char *err, size_t errlen)
{
	size_t n = json_array_size(list), i;
	uint32_t *ids;

	if (!json_is_array(list) || n == 0) {
		snprintf(err, errlen, "\"agents_list\" must be a non-empty array of agent ids");
		return -1;
	}
	if ((ids = calloc(n, sizeof(*ids))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		const json_t *v = json_array_get(list, i);
		const char *s = json_string_value(v);
		long long a = s != NULL ? params_agent_index(s) : -1;

		if (a < 0) {
			snprintf(err, errlen,
			    "\"agents_list\": %s%.40s%s is not an agent id like "
			    "agent_007",
			    s ? "\"" : "", s ? s : "an item", s ? "\"" : "");
			free(ids);
			return -1;
		}
		if ((uint64_t)a >= agents) {
			snprintf(err, errlen,
			    "\"agents_list\": %s is outside the population of %llu "
			    "agents (use --agents)",
			    s, (unsigned long long)agents);
			free(ids);
			return -1;
		}
		ids[i] = (uint32_t)a;
	}
	free(p->only);
	p->only = ids;
	p->nonly = sort_unique(ids, n);
	return 0;
}

/* One of the words its key takes (config_choices); 0, or -1. */
static int
param_choice_set(struct run_params *p, const struct param_def *d, const json_t *v)
{
	const struct config_key *k = config_find(d->key);
	const char *const *c = k != NULL ? config_choices(k) : NULL;
	const char *s = json_string_value(v);

	for (size_t i = 0; s != NULL && c != NULL && c[i] != NULL; i++)
		if (strcmp(s, c[i]) == 0)
			return param_set_text(p, d, s);
	return -1;
}

/* A shard, "I/N" or "" (all). */
static int
param_shard_json(
    struct run_params *p, const struct param_def *d, const json_t *v, char *err, size_t errlen)
{
	char why[128];

	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(err, errlen, "\"%s\" must be a string, %s", d->name, d->wants);
		return -1;
	}
	if (shard_parse(json_string_value(v), FIELD(p, d, struct shard), why, sizeof(why)) != 0) {
		snprintf(err, errlen, "\"%s\" %s", d->name, why);
		return -1;
	}
	return 0;
}

int
params_from_json(
    struct run_params *p, const json_t *o, const struct sim_config *cfg, char *err, size_t errlen)
{
	const json_t *list = NULL;

	for (size_t i = 0; i < param_ndefs; i++) {
		const struct param_def *d = &param_defs[i];
		const json_t *v = o != NULL ? json_object_get(o, d->name) : NULL;

		if (v == NULL || !(d->flags & PARAM_START))
			continue;
		if (d->type == PARAM_AGENTS) {
			list = v; /* once the population is known */
		} else if (d->type == PARAM_BOOL) {
			if (!json_is_boolean(v)) {
				snprintf(err, errlen, "\"%s\" must be true or false", d->name);
				return -1;
			}
			*FIELD(p, d, int) = json_is_true(v);
		} else if (d->type == PARAM_SHARD) {
			if (param_shard_json(p, d, v, err, errlen) != 0)
				return -1;
		} else if (d->type == PARAM_CHOICE) {
			if (param_choice_set(p, d, v) != 0) {
				snprintf(err, errlen, "\"%s\" must be %s", d->name, d->wants);
				return -1;
			}
		} else if (param_number_json(p, d, v, err, errlen) != 0) {
			return -1;
		}
	}
	if (list == NULL)
		return 0;
	/* without the running configuration only the ids' form can be checked */
	return param_list_json(p, list,
	    cfg != NULL || json_object_get(o, "agents") ? p->agents : UINT64_MAX, err, errlen);
}

static json_t *
param_value_json(const struct run_params *p, const struct param_def *d)
{
	json_t *a;

	switch (d->type) {
	case PARAM_U32: return json_integer(*CFIELD(p, d, uint32_t));
	case PARAM_U64: return json_integer((json_int_t)*CFIELD(p, d, uint64_t));
	case PARAM_DOUBLE: return json_real(*CFIELD(p, d, double));
	case PARAM_TIME: return json_integer(*CFIELD(p, d, int64_t));
	case PARAM_BOOL: return json_boolean(*CFIELD(p, d, int));
	case PARAM_RUN_ID: return json_string(p->run_id);
	case PARAM_TEXT:
	case PARAM_CHOICE: return json_string(CFIELD(p, d, char));
	case PARAM_SHARD: {
		char buf[SHARD_TEXT_MAX];

		shard_format(CFIELD(p, d, struct shard), buf, sizeof(buf));
		return json_string(buf);
	}
	case PARAM_AGENTS:
		if (p->only == NULL)
			return json_null();
		if ((a = json_array()) == NULL)
			return NULL;
		for (uint32_t i = 0; i < p->nonly; i++)
			if (json_array_append_new(a, json_integer(p->only[i])) != 0) {
				json_decref(a);
				return NULL;
			}
		return a;
	}
	return NULL;
}

json_t *
params_to_json(const struct run_params *p, int flags)
{
	json_t *o = json_object();

	for (size_t i = 0; o != NULL && i < param_ndefs; i++) {
		const struct param_def *d = &param_defs[i];
		json_t *v;

		if ((d->flags & flags) != flags)
			continue;
		v = param_value_json(p, d);
		if (v == NULL ||
		    json_object_set_new(o, (flags & PARAM_CKPT) ? d->ckpt : d->name, v) != 0) {
			json_decref(o);
			o = NULL;
		}
	}
	return o;
}

/* ---- checkpoints: every recorded parameter back, each checked ---- */

static int
ckpt_int(const json_t *v, const struct param_def *d, json_int_t min, json_int_t max,
    json_int_t *out, char *why, size_t len)
{
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		snprintf(why, len, "params: \"%s\" is %s, not an integer from %lld to %lld",
		    d->ckpt, v == NULL ? "missing" : "wrong", (long long)min, (long long)max);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

static int
ckpt_list(struct run_params *p, const struct param_def *d, const json_t *a, char *why, size_t len)
{
	size_t i, n = json_array_size(a);
	json_int_t v;

	if (json_is_null(a))
		return 0;
	if (!json_is_array(a) || n == 0 || n > p->agents) {
		snprintf(
		    why, len, "params: \"only\" is not a list of at most %u agents", p->agents);
		return -1;
	}
	if ((p->only = malloc(n * sizeof(*p->only))) == NULL) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	p->nonly = (uint32_t)n;
	for (i = 0; i < n; i++) {
		if (ckpt_int(json_array_get(a, i), d, 0, UINT32_MAX, &v, why, len) != 0)
			return -1;
		p->only[i] = (uint32_t)v;
	}
	return 0;
}

static int
ckpt_value(struct run_params *p, const struct param_def *d, const json_t *v, char *why, size_t len)
{
	json_int_t x;

	switch (d->type) {
	case PARAM_RUN_ID:
		if (!json_is_string(v) || json_string_length(v) >= sizeof(p->run_id) ||
		    strlen(json_string_value(v)) != json_string_length(v)) {
			snprintf(why, len, "params: \"run_id\" is not a short string");
			return -1;
		}
		memcpy(p->run_id, json_string_value(v), json_string_length(v) + 1);
		return 0;
	case PARAM_BOOL:
		if (!json_is_boolean(v)) {
			snprintf(why, len, "params: \"%s\" is not true or false", d->ckpt);
			return -1;
		}
		*FIELD(p, d, int) = json_is_true(v);
		return 0;
	case PARAM_DOUBLE:
		if (!json_is_number(v)) {
			snprintf(why, len, "params: \"%s\" is not a number", d->ckpt);
			return -1;
		}
		*FIELD(p, d, double) = json_number_value(v);
		return 0;
	case PARAM_U32:
		if (ckpt_int(v, d, 0, UINT32_MAX, &x, why, len) != 0)
			return -1;
		*FIELD(p, d, uint32_t) = (uint32_t)x;
		return 0;
	case PARAM_U64:
		if (ckpt_int(v, d, 0, INT64_MAX, &x, why, len) != 0)
			return -1;
		*FIELD(p, d, uint64_t) = (uint64_t)x;
		return 0;
	case PARAM_TIME:
		if (ckpt_int(v, d, INT64_MIN, INT64_MAX, &x, why, len) != 0)
			return -1;
		*FIELD(p, d, int64_t) = x;
		return 0;
	case PARAM_TEXT:
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
		    param_set_text(p, d, json_string_value(v)) != 0) {
			snprintf(why, len, "params: \"%s\" is not a string of under %.0f bytes",
			    d->ckpt, d->max);
			return -1;
		}
		return 0;
	case PARAM_CHOICE:
		if (param_choice_set(p, d, v) != 0) {
			snprintf(why, len, "params: \"%s\" is not %s", d->ckpt, d->wants);
			return -1;
		}
		return 0;
	case PARAM_SHARD:
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
		    shard_parse(json_string_value(v), FIELD(p, d, struct shard), why, len) != 0) {
			snprintf(why, len, "params: \"%s\" is not a shard like 0/3", d->ckpt);
			return -1;
		}
		return 0;
	case PARAM_AGENTS: return 0; /* after the population: see params_from_ckpt */
	}
	return -1;
}

int
params_check(const struct run_params *p, char *why, size_t len)
{
	size_t n = strnlen(p->run_id, sizeof(p->run_id));

	if (n == sizeof(p->run_id) || !text_printable(p->run_id, n)) {
		snprintf(why, len, "params: run_id is not a short printable string");
		return -1;
	}
	if (p->agents == 0) {
		snprintf(why, len, "params: no agents");
		return -1;
	}
	if (p->seed > INT64_MAX) {
		snprintf(why, len, "params: seed is out of range");
		return -1;
	}
	for (size_t i = 0; i < param_ndefs; i++) {
		const struct param_def *d = &param_defs[i];
		double v, min, max;
		int zero_ok;

		if (d->type == PARAM_TEXT &&
		    (strnlen(CFIELD(p, d, char), (size_t)d->max) == (size_t)d->max ||
			!text_printable(CFIELD(p, d, char), strlen(CFIELD(p, d, char))))) {
			snprintf(why, len, "params: \"%s\" is not printable text", d->name);
			return -1;
		}
		if (d->type != PARAM_DOUBLE)
			continue;
		v = *CFIELD(p, d, double);
		param_bounds(d, &min, &max, &zero_ok);
		if (!isfinite(v) || v < (min < 0 ? min : 0)) {
			snprintf(why, len, "params: \"%s\" is not a finite number >= %g", d->name,
			    min < 0 ? min : 0);
			return -1;
		}
	}
	if (p->only != NULL && p->nonly == 0) {
		snprintf(why, len, "params: the agent list is empty");
		return -1;
	}
	for (uint32_t i = 0; p->only != NULL && i < p->nonly; i++) {
		if (p->only[i] >= p->agents) {
			snprintf(why, len, "params: the agent list names agent %u of %u",
			    p->only[i], p->agents);
			return -1;
		}
		if (i > 0 && p->only[i] <= p->only[i - 1]) {
			snprintf(why, len, "params: the agent list is not sorted");
			return -1;
		}
	}
	return 0;
}

/* A parameter an older checkpoint did not record: its key's built-in default. */
static void
param_builtin_default(struct run_params *p, const struct param_def *d)
{
	const struct config_key *k = config_find(d->key);

	if (k != NULL && (d->type == PARAM_TEXT || d->type == PARAM_CHOICE))
		(void)param_set_text(p, d, k->def); /* the table's defaults fit */
	else if (k != NULL && d->type == PARAM_SHARD)
		memset(FIELD(p, d, struct shard), 0, sizeof(struct shard)); /* the whole */
	else if (k != NULL)
		param_set_number(p, d, strtod(k->def, NULL));
}

int
params_from_ckpt(struct run_params *p, const json_t *o, char *why, size_t len)
{
	const struct param_def *list = NULL;

	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < param_ndefs; i++) {
		const struct param_def *d = &param_defs[i];

		if (!(d->flags & PARAM_CKPT))
			continue;
		if (d->type == PARAM_AGENTS)
			list = d;
		else if ((d->flags & PARAM_CKPT_NEW) && json_object_get(o, d->ckpt) == NULL)
			param_builtin_default(p, d);
		else if (ckpt_value(p, d, json_object_get(o, d->ckpt), why, len) != 0)
			return -1;
	}
	if (list != NULL && ckpt_list(p, list, json_object_get(o, list->ckpt), why, len) != 0)
		return -1;
	return params_check(p, why, len);
}

void
params_clear(struct run_params *p)
{
	free(p->only);
	p->only = NULL;
	p->nonly = 0;
}

int
params_shard_apply(struct run_params *p, char *err, size_t errlen)
{
	const struct shard *sh = &p->shard;
	uint32_t n = p->only ? p->nonly : p->agents, k = 0, *ids;

	if (sh->count == 0)
		return 0;
	if ((ids = malloc((p->only ? n : n / sh->count + 1) * sizeof(*ids))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t a = p->only ? p->only[i] : i;

		if (shard_owns(sh, a))
			ids[k++] = a;
	}
	if (k == 0) {
		snprintf(err, errlen, "shard %u/%u has none of the run's %u agents", sh->index,
		    sh->count, n);
		free(ids);
		return -1;
	}
	free(p->only);
	p->only = ids;
	p->nonly = k;
	return 0;
}

int
params_copy(struct run_params *dst, const struct run_params *src)
{
	*dst = *src;
	if (src->only == NULL)
		return 0;
	if ((dst->only = malloc(src->nonly * sizeof(*dst->only))) == NULL) {
		dst->nonly = 0;
		return -1;
	}
	memcpy(dst->only, src->only, src->nonly * sizeof(*dst->only));
	return 0;
}
