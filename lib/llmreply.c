/* llmreply.c - an LLM's answer made into a persona, or refused (see llmreply.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "sim/llmreply.h"
#include "sim/text.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const kind_names[LLM_REPLY_KINDS] = {
	"ok",
	"not_json",
	"not_persona",
	"truncated",
	"error",
};

const char *
llm_reply_kind_name(enum llm_reply_kind k)
{
	return (unsigned)k < LLM_REPLY_KINDS ? kind_names[k] : "?";
}

/* How each field of the schema is repaired; KEEP fields take the local persona's value. */
enum field_kind { F_NAME, F_KEEP, F_NUMBER, F_WHOLE, F_HOURS, F_WEIGHTS };

static const struct field {
	const char *name;
	enum field_kind kind;
	double lo, hi;
	int required;
} fields[] = {
	{ "name", F_NAME, 0, 0, 1 },
	{ "age_band", F_KEEP, 0, 0, 1 },
	{ "household", F_KEEP, 0, 0, 1 },
	{ "income_band", F_KEEP, 0, 0, 1 },
	{ "categories", F_WEIGHTS, 0, 0, 1 },
	{ "price_sensitivity", F_NUMBER, 0, 1, 1 },
	{ "coupon_affinity", F_NUMBER, 0, 1, 1 },
	{ "sessions_per_week", F_NUMBER, 0.1, 21, 1 },
	{ "hours", F_HOURS, 0, 0, 1 },
	{ "days", F_WEIGHTS, 0, 0, 1 },
	{ "basket_mean", F_NUMBER, 1, 20, 1 },
	{ "budget_cents", F_WHOLE, 500, 100000000, 1 },
	{ "abandon_tendency", F_NUMBER, 0, 1, 1 },
	{ "weekend_hours", F_HOURS, 0, 0, 0 },
	{ "cart_propensity", F_NUMBER, 0, 1, 0 },
	{ "cart_recovery", F_NUMBER, 0, 1, 0 },
	{ "think_s", F_NUMBER, 1, 600, 0 },
};

static const struct field *
field_find(const char *name)
{
	for (size_t i = 0; i < NELEM(fields); i++)
		if (strcmp(fields[i].name, name) == 0)
			return &fields[i];
	return NULL;
}

static void
note(struct llm_reply_info *info, const char *fmt, const char *what, double a, double b)
{
	size_t n = strlen(info->notes);
	char one[96];

	snprintf(one, sizeof(one), fmt, what, a, b);
	if (n + strlen(one) + 3 < sizeof(info->notes))
		snprintf(info->notes + n, sizeof(info->notes) - n, "%s%s", n ? "; " : "", one);
}

static int
refuse(char *err, size_t errlen, const char *field, const char *wants)
{
	return text_errf(err, errlen, "persona: \"%s\" must be %s", field, wants);
}

/* A number clamped into [lo, hi] (whole: rounded too); -1 when v is not a number. */
static int
clamp_number(
    json_t *v, const struct field *f, const char *what, struct llm_reply_info *info, json_t **out)
{
	double x, y;

	if (!json_is_number(v))
		return -1;
	x = y = json_number_value(v);
	if (f->kind == F_WHOLE)
		y = floor(y + 0.5);
	if (y < f->lo)
		y = f->lo;
	if (y > f->hi)
		y = f->hi;
	if (y != x && (x < f->lo || x > f->hi)) {
		info->clamped++;
		note(info, "%s %g -> %g", what, x, y);
	}
	*out = f->kind == F_WHOLE ? json_integer((json_int_t)y) : json_real(y);
	return 0;
}

/* Negative weights become 0 (one clamp per field); -1 when an item is not a number. */
static int
clamp_weights(json_t *c, const char *field, struct llm_reply_info *info)
{
	const char *key;
	json_t *v;
	size_t i;
	int clamped = 0;

	if (json_is_array(c)) {
		json_array_foreach (c, i, v) {
			if (!json_is_number(v))
				return -1;
			if (json_number_value(v) < 0) {
				clamped = 1;
				json_array_set_new(c, i, json_real(0));
			}
		}
	} else {
		json_object_foreach (c, key, v) {
			if (!json_is_number(v))
				return -1;
			if (json_number_value(v) < 0) {
				clamped = 1;
				json_object_set_new(c, key, json_real(0));
			}
		}
	}
	if (clamped) {
		info->clamped++;
		note(info, "%s: negative weights -> 0", field, 0, 0);
	}
	return 0;
}

/* The model's value of field f repaired into merged; -1 and err when it cannot be. */
static int
repair_field(json_t *merged, const struct field *f, json_t *v, struct llm_reply_info *info,
    char *err, size_t errlen)
{
	json_t *nv = NULL;

	switch (f->kind) {
	case F_KEEP: return 0;
	case F_NAME:
		if (!json_is_string(v))
			return refuse(err, errlen, f->name, "a string");
		return json_object_set(merged, f->name, v);
	case F_NUMBER:
	case F_WHOLE:
		if (clamp_number(v, f, f->name, info, &nv) != 0)
			return refuse(err, errlen, f->name, "a number");
		return json_object_set_new(merged, f->name, nv);
	case F_HOURS:
	case F_WEIGHTS:
		if (f->kind == F_HOURS ? !json_is_array(v) : !json_is_object(v))
			return refuse(err, errlen, f->name,
			    f->kind == F_HOURS ? "an array of 24 numbers" : "an object of weights");
		if ((nv = json_deep_copy(v)) == NULL)
			return text_errf(err, errlen, "out of memory");
		if (clamp_weights(nv, f->name, info) != 0) {
			json_decref(nv);
			return refuse(err, errlen, f->name, "made of numbers");
		}
		return json_object_set_new(merged, f->name, nv);
	}
	return 0;
}

/* The local persona, overwritten field by field with what the model said. */
static int
merge(const json_t *r, json_t *merged, struct llm_reply_info *info, char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	unsigned known = 0, required = 0;
	char shown[48];

	json_object_foreach ((json_t *)r, key, v) {
		const struct field *f = field_find(key);

		if (f == NULL) {
			info->dropped++;
			note(info, "%s dropped", text_shown(key, shown, sizeof(shown)), 0, 0);
			continue;
		}
		known++;
		if (repair_field(merged, f, v, info, err, errlen) != 0)
			return -1;
	}
	for (size_t i = 0; i < NELEM(fields); i++) {
		required += fields[i].required;
		if (json_object_get(r, fields[i].name) == NULL && fields[i].kind != F_KEEP) {
			info->filled++;
			note(info, "%s filled", fields[i].name, 0, 0);
		}
	}
	if (known * 2 < required)
		return text_errf(err, errlen,
		    "persona: only %u of the persona's %u fields are there", known, required);
	return 0;
}

static enum llm_reply_kind
from_object(const json_t *r, const struct persona *local, struct persona *out,
    struct llm_reply_info *info, char *err, size_t errlen)
{
	json_t *merged;
	struct persona p;
	int rc;

	if (!json_is_object(r)) {
		text_errf(err, errlen, "persona: the content is JSON but not an object");
		return LLM_REPLY_NOT_PERSONA;
	}
	if ((merged = persona_to_json(local)) == NULL) {
		text_errf(err, errlen, "out of memory");
		return LLM_REPLY_NOT_PERSONA;
	}
	rc = merge(r, merged, info, err, errlen);
	if (rc == 0)
		rc = persona_from_json(merged, &p, err, errlen);
	json_decref(merged);
	if (rc != 0)
		return LLM_REPLY_NOT_PERSONA;
	*out = p;
	return LLM_REPLY_OK;
}

static void
info_clear(struct llm_reply_info *info)
{
	memset(info, 0, sizeof(*info));
}

enum llm_reply_kind
llm_content_parse(const char *content, size_t len, const struct persona *local, struct persona *out,
    struct llm_reply_info *info, char *err, size_t errlen)
{
	const char *open = memchr(content, '{', len), *close = NULL;
	json_error_t je;
	enum llm_reply_kind k;
	json_t *r;

	info_clear(info);
	for (size_t i = len; open != NULL && i > (size_t)(open - content); i--)
		if (content[i - 1] == '}') {
			close = content + i - 1;
			break;
		}
	if (open == NULL || close == NULL) {
		text_errf(err, errlen, "the content is not JSON (no object in it)");
		return LLM_REPLY_NOT_JSON;
	}
	r = json_loadb(open, (size_t)(close - open) + 1, JSON_REJECT_DUPLICATES, &je);
	if (r == NULL) {
		text_errf(err, errlen, "the content is not JSON: %s", je.text);
		text_unforge(err);
		return LLM_REPLY_NOT_JSON;
	}
	k = from_object(r, local, out, info, err, errlen);
	json_decref(r);
	return k;
}

/* OpenRouter reports a failure after the status line as {"error": {...}} in a 200. */
static enum llm_reply_kind
body_error(const json_t *e, struct llm_reply_info *info, char *err, size_t errlen)
{
	const char *msg = json_string_value(json_object_get(e, "message"));
	json_t *code = json_object_get(e, "code");

	info->error_code = json_is_integer(code) ? (int)json_integer_value(code) : 0;
	text_errf(err, errlen, "the server answered an error: %.120s", msg ? msg : "(no message)");
	text_unforge(err);
	return LLM_REPLY_ERROR;
}

enum llm_reply_kind
llm_reply_parse(const char *body, size_t len, const struct persona *local, struct persona *out,
    struct llm_reply_info *info, char *err, size_t errlen)
{
	json_t *b, *choice, *e;
	const char *content, *finish;
	enum llm_reply_kind k;
	json_error_t je;

	info_clear(info);
	if ((b = json_loadb(body, len, 0, &je)) == NULL) {
		text_errf(err, errlen, "the reply is not JSON: %s", je.text);
		text_unforge(err);
		return LLM_REPLY_NOT_JSON;
	}
	if (json_is_object(e = json_object_get(b, "error"))) {
		k = body_error(e, info, err, errlen);
		json_decref(b);
		return k;
	}
	choice = json_array_get(json_object_get(b, "choices"), 0);
	content = json_string_value(json_object_get(json_object_get(choice, "message"), "content"));
	finish = json_string_value(json_object_get(choice, "finish_reason"));
	if (content == NULL) {
		text_errf(err, errlen, "the reply has no choices[0].message.content");
		json_decref(b);
		return LLM_REPLY_NOT_JSON;
	}
	k = llm_content_parse(content,
	    json_string_length(json_object_get(json_object_get(choice, "message"), "content")),
	    local, out, info, err, errlen);
	if (k == LLM_REPLY_NOT_JSON && finish != NULL && strcmp(finish, "length") == 0) {
		text_errf(err, errlen, "the reply was cut short (finish_reason \"length\")");
		k = LLM_REPLY_TRUNCATED;
	}
	json_decref(b);
	return k;
}
