/*
 * llmconf.h - what the LLM client needs from the configuration, checked: the
 * URL, the models in order, the limiter's and the retries' figures, the
 * prompt template (and its hash, part of the cache key) and the API key.
 *
 * The key comes from the environment (LLM_API_KEY, else OPENROUTER_API_KEY,
 * else OPENAI_API_KEY) or from llm_api_key_file; it is kept here only, sent
 * only in the Authorization header, and never logged, shown or written.  No
 * key at all is allowed: local servers (llama.cpp, Ollama, vLLM) need none.
 */
#ifndef SIM_LLMCONF_H
#define SIM_LLMCONF_H

#include <stddef.h>
#include <stdint.h>

#include "sim/persona.h"

struct sim_config;

#define LLM_MODELS_MAX 8 /* llm_model and its fallbacks */
#define LLM_MODEL_NAME_MAX 128
#define LLM_PROMPT_MAX 16384 /* bytes of a prompt template */

struct llm_conf {
	char *url; /* base URL; "/chat/completions" is appended */
	char models[LLM_MODELS_MAX][LLM_MODEL_NAME_MAX];
	unsigned nmodels;
	unsigned max_concurrent;
	double rate, rate_min, rate_max; /* requests/s; rate 0: unlimited until throttled */
	unsigned max_retries;
	double retry_delay, timeout; /* s */
	char *prompt;                /* the user message's template */
	char prompt_hash[33];        /* of the system message and the template, hex */
	char *key;                   /* secret; NULL: none */
	const char *key_source;      /* "LLM_API_KEY", ..., "llm_api_key_file" or "none" */
	int required;
	char *cache_path; /* <data_dir>/personas.db */
};

/* The system message every request carries. */
extern const char llm_system_prompt[];
/* The built-in template (llm_prompt_file empty). */
extern const char llm_default_prompt[];

/*
 * From c (persona_source = llm): 0, or -1 with a one-line reason in err that
 * names the key.  lc is then empty (llm_conf_clear is still safe).
 */
int llm_conf_load(struct llm_conf *lc, const struct sim_config *c, char *err, size_t errlen);
/* Frees lc; the key's bytes are wiped first. */
void llm_conf_clear(struct llm_conf *lc);
/* What simd -n checks: nothing unless persona_source = llm, else llm_conf_load. */
int llm_check(const struct sim_config *c, char *err, size_t errlen);

/*
 * Checks a template: placeholders are {agent}, {seed}, {age_band},
 * {household}, {income_band}, {categories}, {days}; "{{" is a brace.  0, or -1
 * naming the first unknown one.
 */
int llm_prompt_check(const char *tmpl, char *err, size_t errlen);
/*
 * The user message for one agent, the hints from its local persona; malloc'd,
 * NULL when out of memory.
 */
char *
llm_prompt_render(const char *tmpl, uint32_t agent, uint64_t seed, const struct persona *local);

#endif
