/*
 * llmd_persona.c - what llmd's models say: personas drawn from the agent and
 * seed the prompt names, and the ways a model gets them wrong.
 *
 * The persona is simd's own generator run on another seed (so it differs from
 * the local persona of the same agent) and named "LLM ...", so a test can tell
 * where a user's persona came from.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "llmd.h"

#define LLMD_SALT UINT64_C(0x6c6c6d64) /* "llmd" */
#define LLMD_JSON_FLAGS (JSON_INDENT(2) | JSON_REAL_PRECISION(6))

/*
 * The digits that follow the first "word" (in any case) separated from it by
 * nothing but characters of gap, copied into buf; 0 when found.  A scan, not
 * a regex: it runs once per request, and the bench measures the client.
 */
static int
llmd_number_after(const char *text, const char *word, const char *gap, char *buf, size_t len)
{
	size_t wl = strlen(word), n;
	const char *s, *digits;

	for (s = text; *s != '\0'; s++) {
		if (strncasecmp(s, word, wl) != 0)
			continue;
		digits = s + wl + strspn(s + wl, gap);
		n = strspn(digits, "0123456789");
		if (n == 0 || n >= len)
			continue;
		memcpy(buf, digits, n);
		buf[n] = '\0';
		return 0;
	}
	return -1;
}

void
llmd_prompt_scan(const char *text, struct llmd_prompt *p)
{
	char anum[10], num[21];
	unsigned long long v;
	char *end;

	memset(p, 0, sizeof(*p));
	if (llmd_number_after(text, "agent_", "", anum, sizeof(anum)) == 0) {
		v = strtoull(anum, &end, 10);
		if (v >= 1) {
			p->has_agent = 1;
			p->agent = (uint32_t)(v - 1);
			snprintf(p->agent_id, sizeof(p->agent_id), "agent_%s", anum);
		}
	}
	if (llmd_number_after(text, "seed", " :=#", num, sizeof(num)) == 0) {
		errno = 0;
		v = strtoull(num, &end, 10);
		if (errno == 0) {
			p->has_seed = 1;
			p->seed = v;
		}
	}
}

void
llmd_persona(const struct llmd_prompt *pr, struct persona *p)
{
	char name[PERSONA_NAME_MAX];

	persona_generate(p, pr->seed ^ LLMD_SALT, pr->agent);
	/* Generated names are short ASCII: the cut never splits a character. */
	snprintf(name, sizeof(name), "LLM %.43s", p->name);
	memcpy(p->name, name, sizeof(p->name));
}

static json_t *
llmd_persona_json(const struct llmd_prompt *pr)
{
	struct persona p;

	llmd_persona(pr, &p);
	return persona_to_json(&p);
}

/* What the out-of-range reply gets wrong: three fields, each by far. */
static int
llmd_spoil(json_t *j)
{
	json_t *hours = json_object_get(j, "hours");

	return json_object_set_new(j, "price_sensitivity", json_integer(7)) |
	    json_object_set_new(j, "sessions_per_week", json_integer(500)) |
	    json_array_set_new(hours, 2, json_real(-0.5)) |
	    json_array_set_new(hours, 3, json_integer(-1));
}

/* What the partial reply leaves out. */
static int
llmd_cut(json_t *j)
{
	return json_object_del(j, "hours") | json_object_del(j, "days") |
	    json_object_del(j, "basket_mean") | json_object_del(j, "budget_cents");
}

static char *
llmd_persona_text(enum llmd_kind k, const struct llmd_prompt *pr)
{
	json_t *j = llmd_persona_json(pr);
	char *s = NULL;

	if (j == NULL)
		return NULL;
	if ((k == LLMD_OUTOFRANGE && llmd_spoil(j) != 0) ||
	    (k == LLMD_PARTIAL && llmd_cut(j) != 0)) {
		json_decref(j);
		return NULL;
	}
	s = json_dumps(j, LLMD_JSON_FLAGS);
	json_decref(j);
	if (s != NULL && k == LLMD_TRUNCATED)
		s[strlen(s) / 2] = '\0';
	return s;
}

static char *
llmd_fence(const char *json, const struct llmd_prompt *pr)
{
	const char *who = pr->agent_id[0] ? pr->agent_id : "this shopper";
	size_t len = strlen(json) + strlen(who) + 160;
	char *s = malloc(len);

	if (s != NULL)
		snprintf(s, len,
		    "Here is the persona for %s:\n\n```json\n%s\n```\n\n"
		    "The weights are normalised; tell me if you want changes.",
		    who, json);
	return s;
}

static char *
llmd_prose(enum llmd_kind k, const struct llmd_prompt *pr)
{
	const char *who = pr->agent_id[0] ? pr->agent_id : "the shopper";
	char buf[512];
	json_t *j;
	char *s;

	if (k == LLMD_GARBAGE) {
		/* A brace and a colon or two, to catch a client that only looks for '{'. */
		snprintf(buf, sizeof(buf),
		    "Sure! %s is a busy parent who loves groceries {price: "
		    "low, shops: sundays} and hates waiting. Hope that helps!",
		    who);
		return strdup(buf);
	}
	j = json_pack("{sssssb}", "response", "I am a helpful assistant.", "agent", who, "ok", 1);
	s = j != NULL ? json_dumps(j, LLMD_JSON_FLAGS) : NULL;
	json_decref(j);
	return s;
}

char *
llmd_content(enum llmd_kind k, const struct llmd_prompt *pr)
{
	char *json, *s;

	switch (k) {
	case LLMD_PERSONA:
	case LLMD_OUTOFRANGE:
	case LLMD_PARTIAL:
	case LLMD_TRUNCATED: return llmd_persona_text(k, pr);
	case LLMD_PERSONA_FENCED:
		if ((json = llmd_persona_text(LLMD_PERSONA, pr)) == NULL)
			return NULL;
		s = llmd_fence(json, pr);
		free(json);
		return s;
	case LLMD_GARBAGE:
	case LLMD_NOTPERSONA: return llmd_prose(k, pr);
	default: return NULL;
	}
}

/* The reply's content, or the whole text when it is no chat completion. */
static json_t *
llmd_reply_content(const char *text, size_t len)
{
	json_t *j = json_loadb(text, len, 0, NULL), *c;

	c = json_object_get(json_array_get(json_object_get(j, "choices"), 0), "message");
	c = json_object_get(c, "content");
	if (json_is_string(c)) {
		c = json_incref(c);
		json_decref(j);
		return c;
	}
	json_decref(j);
	return json_stringn(text, len);
}

/* The inside of a ```json fence if there is one, else the whole text. */
static json_t *
llmd_unfence(const char *s, size_t len)
{
	const char *a = strstr(s, "```"), *b;

	if (a == NULL)
		return json_loadb(s, len, 0, NULL);
	a += 3;
	if (strncmp(a, "json", 4) == 0)
		a += 4;
	b = strstr(a, "```");
	if (b == NULL)
		return NULL;
	return json_loadb(a, (size_t)(b - a), 0, NULL);
}

int
llmd_check(const char *text, size_t len, char *msg, size_t msglen)
{
	json_t *content = llmd_reply_content(text, len), *j;
	struct persona p;
	int rc;

	if (content == NULL) {
		snprintf(msg, msglen, "neither a chat completion nor UTF-8 text");
		return -1;
	}
	j = llmd_unfence(json_string_value(content), json_string_length(content));
	json_decref(content);
	if (j == NULL) {
		snprintf(msg, msglen, "the content is not JSON");
		return -1;
	}
	rc = persona_from_json(j, &p, msg, msglen);
	json_decref(j);
	if (rc == 0)
		snprintf(msg, msglen, "%s", p.name);
	return rc;
}
