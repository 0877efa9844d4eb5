/*
 * llmd.c - tests for the LLM test double's I/O-free parts: its personas pass
 * simd's own gate (persona_from_json) and its wrong answers fail it in the
 * documented way; behaviours parse; the rate window runs on a given clock.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sim/persona.h"

/* The double's files, built into this test rather than into libsim. */
#include "../tools/llmd_model.c"
#include "../tools/llmd_persona.c"

#include "check.h"

static struct llmd_prompt
prompt(const char *text)
{
	struct llmd_prompt p;

	llmd_prompt_scan(text, &p);
	return p;
}

static void
test_prompt_scan(void)
{
	struct llmd_prompt p;

	p = prompt("Describe shopper agent_007 (run seed 42) as JSON.");
	CHECK(p.has_agent && p.agent == 6 && strcmp(p.agent_id, "agent_007") == 0);
	CHECK(p.has_seed && p.seed == 42);
	p = prompt("Seed: 18446744073709551615; you are AGENT_12");
	CHECK(p.has_seed && p.seed == UINT64_MAX);
	CHECK(p.has_agent && p.agent == 11);
	p = prompt("seed=9 agent_000");
	CHECK(p.has_seed && p.seed == 9 && !p.has_agent);
	p = prompt("seed-derived hints, seed 99999999999999999999");
	CHECK(!p.has_seed);
	p = prompt("nothing here");
	CHECK(!p.has_agent && !p.has_seed && p.agent_id[0] == '\0');
}

/* persona_from_json on the content, and the persona itself. */
static int
gate(const char *content, struct persona *p, char *err, size_t errlen)
{
	json_t *j = json_loads(content, 0, NULL);
	int rc;

	if (j == NULL) {
		snprintf(err, errlen, "not JSON");
		return -2;
	}
	rc = persona_from_json(j, p, err, errlen);
	json_decref(j);
	return rc;
}

static void
test_personas_pass_the_gate(void)
{
	static const uint64_t seeds[] = { 0, 1, 42, UINT64_MAX };
	struct persona p, local;
	char text[64], err[256], *c, *again;
	int bad = 0, same_as_local = 0;
	unsigned s, a;

	for (s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
		for (a = 1; a <= 300; a++) {
			struct llmd_prompt pr;

			snprintf(text, sizeof(text), "agent_%03u seed %llu", a,
			    (unsigned long long)seeds[s]);
			pr = prompt(text);
			c = llmd_content(LLMD_PERSONA, &pr);
			again = llmd_content(LLMD_PERSONA, &pr);
			if (c == NULL || again == NULL || strcmp(c, again) != 0 ||
			    gate(c, &p, err, sizeof(err)) != 0 || strncmp(p.name, "LLM ", 4) != 0) {
				if (bad++ == 0)
					fprintf(stderr, "agent %u seed %llu: %s\n", a,
					    (unsigned long long)seeds[s], c ? err : "no content");
			}
			persona_generate(&local, seeds[s], a - 1);
			same_as_local += p.price_sensitivity == local.price_sensitivity &&
			    p.budget_cents == local.budget_cents;
			free(c);
			free(again);
		}
	}
	CHECK(bad == 0);
	CHECK(same_as_local == 0); /* its own draw, not the local persona renamed */
}

static void
test_fenced(void)
{
	struct llmd_prompt pr = prompt("agent_003 seed 5");
	char *c = llmd_content(LLMD_PERSONA_FENCED, &pr), *plain, msg[256];

	plain = llmd_content(LLMD_PERSONA, &pr);
	CHECK(c != NULL && plain != NULL);
	CHECK(c != NULL && strstr(c, "```json\n") != NULL && strstr(c, "agent_003") != NULL);
	CHECK(c != NULL && json_loads(c, 0, NULL) == NULL);
	CHECK(c != NULL && plain != NULL && strstr(c, plain) != NULL);
	CHECK(c != NULL && llmd_check(c, strlen(c), msg, sizeof(msg)) == 0 &&
	    strncmp(msg, "LLM ", 4) == 0);
	free(c);
	free(plain);
}

static void
test_wrong_answers(void)
{
	struct llmd_prompt pr = prompt("agent_010 seed 77");
	struct persona p;
	char err[256], *c;
	json_t *j;

	c = llmd_content(LLMD_GARBAGE, &pr);
	CHECK(c != NULL && gate(c, &p, err, sizeof(err)) == -2 && strchr(c, '{') != NULL);
	free(c);
	c = llmd_content(LLMD_TRUNCATED, &pr);
	CHECK(c != NULL && gate(c, &p, err, sizeof(err)) == -2 && strncmp(c, "{", 1) == 0);
	free(c);
	c = llmd_content(LLMD_NOTPERSONA, &pr);
	CHECK(c != NULL && gate(c, &p, err, sizeof(err)) == -1);
	free(c);

	c = llmd_content(LLMD_OUTOFRANGE, &pr);
	CHECK(c != NULL && gate(c, &p, err, sizeof(err)) == -1 &&
	    strstr(err, "price_sensitivity") != NULL);
	j = c != NULL ? json_loads(c, 0, NULL) : NULL;
	CHECK(json_integer_value(json_object_get(j, "price_sensitivity")) == 7);
	CHECK(json_integer_value(json_object_get(j, "sessions_per_week")) == 500);
	CHECK(json_number_value(json_array_get(json_object_get(j, "hours"), 2)) < 0);
	CHECK(json_number_value(json_array_get(json_object_get(j, "hours"), 3)) < 0);
	CHECK(json_is_string(json_object_get(j, "name")));
	json_decref(j);
	free(c);

	c = llmd_content(LLMD_PARTIAL, &pr);
	CHECK(c != NULL && gate(c, &p, err, sizeof(err)) == -1 && strstr(err, "is missing"));
	j = c != NULL ? json_loads(c, 0, NULL) : NULL;
	CHECK(j != NULL && json_object_get(j, "hours") == NULL &&
	    json_object_get(j, "budget_cents") == NULL && json_object_get(j, "name") != NULL);
	json_decref(j);
	free(c);
	CHECK(llmd_content(LLMD_E429, &pr) == NULL);
}

static void
test_check_reply(void)
{
	const char *reply = "{\"choices\":[{\"message\":{\"content\":\"not json\"}}]}";
	char msg[256];

	CHECK(llmd_check(reply, strlen(reply), msg, sizeof(msg)) == -1 &&
	    strstr(msg, "not JSON") != NULL);
	CHECK(llmd_check("{\"a\":1}", 7, msg, sizeof(msg)) == -1 && strstr(msg, "persona"));
	CHECK(llmd_check("```json\n{}", 10, msg, sizeof(msg)) == -1);
}

static void
test_spec(void)
{
	struct llmd_spec s, now;
	char err[256], buf[LLMD_SPEC_MAX];

	CHECK(llmd_spec_parse("persona", &s, err, sizeof(err)) == 0 && s.kind == LLMD_PERSONA &&
	    s.retry_after == -1 && s.delay_ms == 0 && s.times == -1);
	CHECK(llmd_spec_parse("slow=250", &s, err, sizeof(err)) == 0 && s.kind == LLMD_PERSONA &&
	    s.delay_ms == 250);
	CHECK(llmd_spec_parse("429,retry-after=7,times=2", &s, err, sizeof(err)) == 0 &&
	    s.kind == LLMD_E429 && s.retry_after == 7 && s.times == 2);
	llmd_spec_format(&s, buf, sizeof(buf));
	CHECK(strcmp(buf, "429,retry-after=7,times=2") == 0);
	now = llmd_spec_take(&s);
	CHECK(now.kind == LLMD_E429 && s.kind == LLMD_E429 && s.times == 1);
	now = llmd_spec_take(&s);
	CHECK(now.kind == LLMD_E429 && s.kind == LLMD_PERSONA && s.retry_after == -1);
	now = llmd_spec_take(&s);
	CHECK(now.kind == LLMD_PERSONA && s.kind == LLMD_PERSONA);
	CHECK(llmd_spec_parse("hang", &s, err, sizeof(err)) == 0 && s.kind == LLMD_HANG);
	CHECK(llmd_spec_parse("500,delay=10", &s, err, sizeof(err)) == 0 && s.delay_ms == 10);
	CHECK(llmd_spec_parse("persona,retry-after=1", &s, err, sizeof(err)) == -1 &&
	    strstr(err, "retry-after"));
	CHECK(llmd_spec_parse("teapot", &s, err, sizeof(err)) == -1 && strstr(err, "teapot"));
	CHECK(llmd_spec_parse("slow=-1", &s, err, sizeof(err)) == -1);
	CHECK(llmd_spec_parse("429,times=0", &s, err, sizeof(err)) == -1);
	CHECK(llmd_spec_parse("", &s, err, sizeof(err)) == -1);
	CHECK(llmd_spec_parse(",", &s, err, sizeof(err)) == -1);
	CHECK(llmd_spec_parse("404,colour=red", &s, err, sizeof(err)) == -1);
}

static void
test_models(void)
{
	struct llmd_models ms;
	char err[256];

	llmd_models_init(&ms);
	CHECK(llmd_models_find(&ms, "x") == &ms.other && ms.other.spec.kind == LLMD_E404);
	CHECK(llmd_models_set_arg(
		  &ms, "nvidia/nemotron-3-nano-30b-a3b:free=429", err, sizeof(err)) == 0);
	CHECK(llmd_models_set_arg(&ms, "minimax/minimax-m2.1=slow=20", err, sizeof(err)) == 0);
	CHECK(llmd_models_find(&ms, "nvidia/nemotron-3-nano-30b-a3b:free")->spec.kind == LLMD_E429);
	CHECK(llmd_models_find(&ms, "minimax/minimax-m2.1")->spec.delay_ms == 20);
	CHECK(llmd_models_set_arg(&ms, "minimax/minimax-m2.1=garbage", err, sizeof(err)) == 0 &&
	    ms.n == 2);
	CHECK(llmd_models_set_arg(&ms, "no-behaviour", err, sizeof(err)) == -1);
	CHECK(llmd_models_set_arg(&ms, "=persona", err, sizeof(err)) == -1);
	CHECK(llmd_models_set_arg(&ms, "bad name=persona", err, sizeof(err)) == -1);
	CHECK(llmd_models_set(&ms, "minimax/minimax-m2.1", NULL, err, sizeof(err)) == 0 &&
	    ms.n == 1 && llmd_models_find(&ms, "minimax/minimax-m2.1") == &ms.other);
}

static void
test_window(void)
{
	struct llmd_window w = { 0 };
	double wait = -1;
	char buf[32];

	CHECK(llmd_window_set(&w, 0, 60) == 0 && llmd_window_admit(&w, 0, &wait) == 1);
	CHECK(llmd_window_set(&w, 3, 60) == 0);
	CHECK(llmd_window_admit(&w, 100, &wait) && llmd_window_admit(&w, 101, &wait));
	CHECK(llmd_window_remaining(&w, 101.5) == 1);
	CHECK(llmd_window_admit(&w, 102, &wait) && llmd_window_remaining(&w, 102) == 0);
	CHECK(llmd_window_admit(&w, 103, &wait) == 0 && wait == 57);
	CHECK(llmd_window_reset(&w, 103) == 59);
	CHECK(llmd_window_admit(&w, 159.9, &wait) == 0);
	CHECK(llmd_window_admit(&w, 160, &wait) == 1); /* the first one left the window */
	CHECK(llmd_window_admit(&w, 160.5, &wait) == 0 && wait == 0.5);
	CHECK(llmd_window_remaining(&w, 1000) == 3 && llmd_window_reset(&w, 1000) == 0);
	llmd_window_clear(&w);
	llmd_duration(0.25, buf, sizeof(buf));
	CHECK(strcmp(buf, "250ms") == 0);
	llmd_duration(12, buf, sizeof(buf));
	CHECK(strcmp(buf, "12s") == 0);
	llmd_duration(1.5, buf, sizeof(buf));
	CHECK(strcmp(buf, "1.5s") == 0);
	llmd_duration(90, buf, sizeof(buf));
	CHECK(strcmp(buf, "1m30s") == 0);
}

static void
test_stats(void)
{
	struct llmd_models ms;
	struct llmd_stats st;

	llmd_models_init(&ms);
	CHECK(llmd_stats_init(&st) == 0);
	llmd_stats_agent(&st, 6);
	llmd_stats_agent(&st, 7);
	llmd_stats_agent(&st, 6);
	llmd_stats_agent(&st, LLMD_AGENTS_MAX); /* past the bitmap: not told apart */
	CHECK(st.agents == 2 && st.agents_again == 1);
	st.in_flight = 3;
	st.requests = 9;
	llmd_stats_reset(&st, &ms);
	CHECK(st.requests == 0 && st.agents == 0 && st.in_flight == 3 && st.max_in_flight == 3);
	llmd_stats_agent(&st, 6);
	CHECK(st.agents == 1 && st.agents_again == 0);
	llmd_stats_clear(&st);
}

int
main(void)
{
	test_prompt_scan();
	test_personas_pass_the_gate();
	test_fenced();
	test_wrong_answers();
	test_check_reply();
	test_spec();
	test_models();
	test_window();
	test_stats();
	return CHECK_DONE();
}
