/* llmreply.c - an LLM's answer made into a persona: repairs counted, refusals named. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sim/llmreply.h"
#include "sim/persona.h"

#include "check.h"

static struct persona local, other;

/* other's JSON with key set to v (stolen; NULL removes it), as compact text. */
static char *
variant(const char *key, json_t *v)
{
	json_t *j = persona_to_json(&other);
	char *s;

	if (key != NULL && v != NULL)
		json_object_set_new(j, key, v);
	else if (key != NULL)
		json_object_del(j, key);
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

/* A chat-completion body around content. */
static char *
chat(const char *content, const char *finish)
{
	json_t *b = json_pack("{s:s, s:[{s:i, s:{s:s, s:s}, s:s}]}", "object", "chat.completion",
	    "choices", "index", 0, "message", "role", "assistant", "content", content,
	    "finish_reason", finish);
	char *s = json_dumps(b, JSON_COMPACT);

	json_decref(b);
	return s;
}

static enum llm_reply_kind
parse_content(const char *content, struct persona *out, struct llm_reply_info *info, char *err)
{
	return llm_content_parse(content, strlen(content), &local, out, info, err, 256);
}

static void
test_whole_reply(void)
{
	struct llm_reply_info info;
	struct persona p;
	char err[256], *c = variant(NULL, NULL), *body = chat(c, "stop"), fenced[8192];
	enum llm_reply_kind k;

	k = llm_reply_parse(body, strlen(body), &local, &p, &info, err, sizeof(err));
	CHECK(k == LLM_REPLY_OK);
	CHECK(strcmp(p.name, other.name) == 0);
	CHECK(p.price_sensitivity == other.price_sensitivity);
	CHECK(p.sessions_per_week == other.sessions_per_week);
	/* the bands are the local persona's, whatever the model said */
	CHECK(p.age_band == local.age_band && p.household == local.household &&
	    p.income_band == local.income_band);
	CHECK(info.clamped == 0 && info.filled == 0 && info.dropped == 0);
	free(body);

	snprintf(fenced, sizeof(fenced), "Here you go:\n```json\n%s\n```\nEnjoy.", c);
	body = chat(fenced, "stop");
	CHECK(llm_reply_parse(body, strlen(body), &local, &p, &info, err, sizeof(err)) ==
	    LLM_REPLY_OK);
	CHECK(strcmp(p.name, other.name) == 0);
	free(body);

	c[strlen(c) / 2] = '\0';
	body = chat(c, "length");
	CHECK(llm_reply_parse(body, strlen(body), &local, &p, &info, err, sizeof(err)) ==
	    LLM_REPLY_TRUNCATED);
	free(body);
	free(c);

	body = chat("I cannot help with that.", "stop");
	CHECK(llm_reply_parse(body, strlen(body), &local, &p, &info, err, sizeof(err)) ==
	    LLM_REPLY_NOT_JSON);
	CHECK(strstr(err, "not JSON") != NULL);
	free(body);

	static const char e429[] = "{\"error\":{\"code\":429,\"message\":\"Rate limit exceeded\"}}";
	CHECK(llm_reply_parse(e429, strlen(e429), &local, &p, &info, err, sizeof(err)) ==
	    LLM_REPLY_ERROR);
	CHECK(info.error_code == 429 && strstr(err, "Rate limit exceeded") != NULL);
	CHECK(llm_reply_parse("{\"choices\":[]}", 14, &local, &p, &info, err, sizeof(err)) ==
	    LLM_REPLY_NOT_JSON);
	CHECK(llm_reply_parse("<html>", 6, &local, &p, &info, err, sizeof(err)) ==
	    LLM_REPLY_NOT_JSON);
}

static void
test_repairs(void)
{
	struct llm_reply_info info;
	struct persona p;
	char err[256], *c;
	json_t *hours;

	c = variant("price_sensitivity", json_integer(7));
	CHECK(parse_content(c, &p, &info, err) == LLM_REPLY_OK);
	CHECK(p.price_sensitivity == 1.0f && info.clamped == 1);
	CHECK(strstr(info.notes, "price_sensitivity 7 -> 1") != NULL);
	free(c);

	c = variant("budget_cents", json_real(12.5));
	CHECK(parse_content(c, &p, &info, err) == LLM_REPLY_OK);
	CHECK(p.budget_cents == 500 && info.clamped == 1);
	free(c);

	hours = json_array();
	for (int h = 0; h < 24; h++)
		json_array_append_new(hours, json_real(h == 3 ? -1.0 : 1.0));
	c = variant("hours", hours);
	CHECK(parse_content(c, &p, &info, err) == LLM_REPLY_OK);
	CHECK(p.hour_weight[3] == 0.0f && p.hour_weight[4] > 0.04f && info.clamped == 1);
	free(c);

	c = variant("hours", NULL);
	CHECK(parse_content(c, &p, &info, err) == LLM_REPLY_OK);
	CHECK(memcmp(p.hour_weight, local.hour_weight, sizeof(p.hour_weight)) == 0);
	CHECK(info.filled == 1 && strstr(info.notes, "hours filled") != NULL);
	free(c);

	c = variant("favourite_colour", json_string("blue"));
	CHECK(parse_content(c, &p, &info, err) == LLM_REPLY_OK);
	CHECK(info.dropped == 1);
	free(c);
}

static void
test_refusals(void)
{
	struct llm_reply_info info;
	struct persona p;
	char err[256], *c;

	c = variant("price_sensitivity", json_string("high"));
	CHECK(parse_content(c, &p, &info, err) == LLM_REPLY_NOT_PERSONA);
	CHECK(strstr(err, "price_sensitivity") != NULL);
	free(c);

	c = variant("categories", json_pack("{s:f}", "gadgets", 1.0));
	CHECK(parse_content(c, &p, &info, err) == LLM_REPLY_NOT_PERSONA);
	CHECK(strstr(err, "gadgets") != NULL);
	free(c);

	c = variant("hours", json_pack("[i, i]", 1, 2));
	CHECK(parse_content(c, &p, &info, err) == LLM_REPLY_NOT_PERSONA);
	free(c);

	CHECK(parse_content("{\"name\": \"Ann\", \"price_sensitivity\": 0.5}", &p, &info, err) ==
	    LLM_REPLY_NOT_PERSONA);
	CHECK(strstr(err, "only 2 of") != NULL);
	CHECK(parse_content("[1, 2, 3]", &p, &info, err) == LLM_REPLY_NOT_JSON);
	CHECK(parse_content("{\"a\": [1, 2]}", &p, &info, err) == LLM_REPLY_NOT_PERSONA);
	CHECK(parse_content("{ not json }", &p, &info, err) == LLM_REPLY_NOT_JSON);
	CHECK(strchr(err, '\n') == NULL);
}

int
main(void)
{
	persona_generate(&local, 1, 6);
	persona_generate(&other, 99, 6);
	test_whole_reply();
	test_repairs();
	test_refusals();
	return CHECK_DONE();
}
