/* llmconf.c - the LLM configuration: keys checked, the key found, the prompt rendered. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/config.h"
#include "sim/llmconf.h"
#include "sim/personadb.h"

#include "check.h"

static struct sim_config *
llm_config(void)
{
	struct sim_config *c = config_new();
	char err[256];

	CHECK(c != NULL);
	CHECK(config_set(c, "persona_source", "llm", err, sizeof(err)) == 0);
	CHECK(config_set(c, "llm_url", "http://127.0.0.1:9/v1", err, sizeof(err)) == 0);
	CHECK(config_set(c, "llm_model", "m1", err, sizeof(err)) == 0);
	CHECK(config_set(c, "data_dir", "/tmp", err, sizeof(err)) == 0);
	return c;
}

static void
test_keys(void)
{
	struct sim_config *c = llm_config();
	struct llm_conf lc;
	char err[256];

	CHECK(config_set(c, "persona_source", "remote", err, sizeof(err)) == -1);
	CHECK(strcmp(err, "persona_source: must be one of local, llm") == 0);
	CHECK(config_set(c, "llm_fallback_models", " m2 , m3,,", err, sizeof(err)) == 0);
	unsetenv("LLM_API_KEY");
	unsetenv("OPENROUTER_API_KEY");
	setenv("OPENAI_API_KEY", "sk-openai-1", 1);
	CHECK(llm_conf_load(&lc, c, err, sizeof(err)) == 0);
	CHECK(
	    lc.nmodels == 3 && strcmp(lc.models[1], "m2") == 0 && strcmp(lc.models[2], "m3") == 0);
	CHECK(strcmp(lc.key, "sk-openai-1") == 0 && strcmp(lc.key_source, "OPENAI_API_KEY") == 0);
	CHECK(strcmp(lc.cache_path, "/tmp/personas.db") == 0 && strlen(lc.prompt_hash) == 32);
	llm_conf_clear(&lc);
	setenv("OPENROUTER_API_KEY", "sk-or-2", 1);
	setenv("LLM_API_KEY", "sk-llm-3", 1);
	CHECK(llm_conf_load(&lc, c, err, sizeof(err)) == 0);
	CHECK(strcmp(lc.key, "sk-llm-3") == 0 && strcmp(lc.key_source, "LLM_API_KEY") == 0);
	llm_conf_clear(&lc);
	setenv("LLM_API_KEY", "sk bad key", 1);
	CHECK(llm_conf_load(&lc, c, err, sizeof(err)) == -1);
	CHECK(strstr(err, "LLM_API_KEY") != NULL && strstr(err, "sk bad") == NULL);
	unsetenv("LLM_API_KEY");
	unsetenv("OPENROUTER_API_KEY");
	unsetenv("OPENAI_API_KEY");
	CHECK(llm_conf_load(&lc, c, err, sizeof(err)) == 0 && lc.key == NULL);
	llm_conf_clear(&lc);

	CHECK(config_set(c, "llm_url", "ftp://x", err, sizeof(err)) == 0);
	CHECK(llm_check(c, err, sizeof(err)) == -1 && strncmp(err, "llm_url:", 8) == 0);
	CHECK(config_set(c, "llm_url", "https://openrouter.ai/api/v1", err, sizeof(err)) == 0);
	CHECK(config_set(c, "llm_rate_min", "60", err, sizeof(err)) == 0);
	CHECK(llm_check(c, err, sizeof(err)) == -1 && strstr(err, "llm_rate_min") != NULL);
	CHECK(config_set(c, "llm_rate_min", "1", err, sizeof(err)) == 0);
	CHECK(config_set(c, "llm_model", "", err, sizeof(err)) == 0);
	CHECK(llm_check(c, err, sizeof(err)) == -1 && strncmp(err, "llm_model:", 10) == 0);
	CHECK(config_set(c, "persona_source", "local", err, sizeof(err)) == 0);
	CHECK(llm_check(c, err, sizeof(err)) == 0);
	config_free(c);
}

static void
test_prompt(void)
{
	struct persona p;
	char err[256], *s;

	persona_generate(&p, 42, 6);
	CHECK(llm_prompt_check(llm_default_prompt, err, sizeof(err)) == 0);
	CHECK(llm_prompt_check("{agent} {{literal}} {seed}", err, sizeof(err)) == 0);
	CHECK(llm_prompt_check("{agent} {colour}", err, sizeof(err)) == -1);
	CHECK(strstr(err, "{colour}") != NULL);
	s = llm_prompt_render("{agent}/{seed}/{age_band}/{{x}}/{days}", 6, 42, &p);
	CHECK(s != NULL);
	if (s != NULL) {
		char want[256];

		snprintf(want, sizeof(want),
		    "agent_007/42/%s/{x}}/mon, tue, wed, thu, fri, sat, sun",
		    persona_age_names[p.age_band]);
		CHECK(strcmp(s, want) == 0);
	}
	free(s);
	s = llm_prompt_render(llm_default_prompt, 0, 1, &p);
	CHECK(s != NULL && strstr(s, "agent_001") != NULL && strstr(s, "seed 1)") != NULL &&
	    strstr(s, "groceries, household") != NULL);
	free(s);
}

static void
test_cache(void)
{
	char path[140], db[128], err[256], *json;
	struct personadb *d;
	int fd = mkstemp(check_tmpl(db, sizeof(db), "simd-personadb", 100));

	CHECK(fd >= 0);
	close(fd);
	unlink(db);
	CHECK((d = personadb_open(db, err, sizeof(err))) != NULL);
	if (d == NULL)
		return;
	CHECK(personadb_get(d, "m", "h", 1, 6, &json, err, sizeof(err)) == 0 && json == NULL);
	CHECK(personadb_put(d, "m", "h", 1, 6, "{\"a\":1}", err, sizeof(err)) == 0);
	CHECK(personadb_put(d, "m", "h", 1, 6, "{\"a\":2}", err, sizeof(err)) == 0);
	CHECK(personadb_get(d, "m", "h", 1, 6, &json, err, sizeof(err)) == 1);
	CHECK(json != NULL && strcmp(json, "{\"a\":2}") == 0);
	free(json);
	/* every part of the key counts */
	CHECK(personadb_get(d, "m2", "h", 1, 6, &json, err, sizeof(err)) == 0);
	CHECK(personadb_get(d, "m", "h2", 1, 6, &json, err, sizeof(err)) == 0);
	CHECK(personadb_get(d, "m", "h", 2, 6, &json, err, sizeof(err)) == 0);
	CHECK(personadb_get(d, "m", "h", 1, 7, &json, err, sizeof(err)) == 0);
	CHECK(personadb_count(d) == 1);
	personadb_close(d);
	/* and it stays */
	CHECK((d = personadb_open(db, err, sizeof(err))) != NULL);
	CHECK(d != NULL && personadb_count(d) == 1);
	personadb_close(d);
	unlink(db);
	snprintf(path, sizeof(path), "%s-wal", db);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", db);
	unlink(path);
	CHECK(personadb_open("/nonexistent/dir/personas.db", err, sizeof(err)) == NULL);
	CHECK(strncmp(err, "personas cache: ", 16) == 0);
}

int
main(void)
{
	test_keys();
	test_prompt();
	test_cache();
	return CHECK_DONE();
}
