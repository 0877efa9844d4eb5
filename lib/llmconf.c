/* llmconf.c - the LLM client's configuration, its prompt and its key (see llmconf.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "sim/catalog.h"
#include "sim/config.h"
#include "sim/llmconf.h"
#include "sim/store.h"
#include "sim/text.h"

#define LLM_KEY_MAX 4096

const char llm_system_prompt[] =
    "You write shopper personas for a shop simulation. Answer with one JSON object and "
    "nothing else: no prose, no code fence.";

const char llm_default_prompt[] =
    "Write the persona of shopper {agent} (simulation seed {seed}) as one JSON object with "
    "these fields:\n"
    "\"name\": a first and a last name;\n"
    "\"age_band\": \"{age_band}\"; \"household\": \"{household}\"; "
    "\"income_band\": \"{income_band}\";\n"
    "\"categories\": an object of weights >= 0 over {categories}, most weight on two to four "
    "favourites;\n"
    "\"price_sensitivity\", \"coupon_affinity\", \"abandon_tendency\" (the chance a filled "
    "cart is left), \"cart_propensity\" (the chance a visit fills a cart, about 0.1), "
    "\"cart_recovery\": numbers from 0 to 1;\n"
    "\"sessions_per_week\": 0.1 to 21; \"basket_mean\": distinct items per basket, 1 to 20; "
    "\"budget_cents\": a whole number from 500 to 100000000; \"think_s\": median seconds "
    "between two product views, 1 to 600;\n"
    "\"hours\" and \"weekend_hours\": arrays of 24 weights >= 0, activity by hour on weekdays "
    "and at weekends; \"days\": an object of weights over {days}.\n"
    "Make the person plausible for the age band, household and income band given.";

static const char *const placeholders[] = {
	"agent",
	"seed",
	"age_band",
	"household",
	"income_band",
	"categories",
	"days",
};
#define NPLACEHOLDERS (sizeof(placeholders) / sizeof(placeholders[0]))

/* The placeholder at s ("{name}"), or -1; *len its length with the braces. */
static int
placeholder_at(const char *s, size_t *len)
{
	for (size_t i = 0; i < NPLACEHOLDERS; i++) {
		size_t n = strlen(placeholders[i]);

		if (strncmp(s + 1, placeholders[i], n) == 0 && s[n + 1] == '}') {
			*len = n + 2;
			return (int)i;
		}
	}
	return -1;
}

int
llm_prompt_check(const char *tmpl, char *err, size_t errlen)
{
	size_t len;
	char shown[40];

	for (const char *p = tmpl; *p; p++) {
		if (*p != '{')
			continue;
		if (p[1] == '{') {
			p++;
			continue;
		}
		if (placeholder_at(p, &len) < 0)
			return text_errf(err, errlen,
			    "llm_prompt_file: unknown placeholder at \"%s\" (known: {agent}, {seed}, "
			    "{age_band}, {household}, {income_band}, {categories}, {days}; {{ is a "
			    "brace)",
			    text_shown(p, shown, sizeof(shown)));
		p += len - 1;
	}
	return 0;
}

static int
names_list(char *buf, size_t size, const char *const *names, size_t n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", names[i]);
		if (w < 0 || (size_t)w >= size - used)
			return -1;
		used += (size_t)w;
	}
	return 0;
}

/* The value of placeholder i for this agent, into buf. */
static void
placeholder_value(
    int i, char *buf, size_t size, uint32_t agent, uint64_t seed, const struct persona *local)
{
	switch (i) {
	case 0: store_agent_id(buf, size, agent); break;
	case 1: snprintf(buf, size, "%llu", (unsigned long long)seed); break;
	case 2: snprintf(buf, size, "%s", persona_age_names[local->age_band % AGE_BANDS]); break;
	case 3:
		snprintf(buf, size, "%s", persona_household_names[local->household % HH_KINDS]);
		break;
	case 4:
		snprintf(buf, size, "%s", persona_income_names[local->income_band % INC_BANDS]);
		break;
	case 5: names_list(buf, size, catalog_category_names, PERSONA_CATEGORIES); break;
	default: names_list(buf, size, persona_day_names, 7); break;
	}
}

char *
llm_prompt_render(const char *tmpl, uint32_t agent, uint64_t seed, const struct persona *local)
{
	size_t cap = strlen(tmpl) * 2 + 1024, used = 0, len;
	char *out = malloc(cap), *nb, val[512];

	for (const char *p = tmpl; out != NULL && *p; p++) {
		const char *piece = p;
		size_t n = 1;
		int i;

		if (*p == '{' && p[1] == '{') {
			p++;
		} else if (*p == '{' && (i = placeholder_at(p, &len)) >= 0) {
			placeholder_value(i, val, sizeof(val), agent, seed, local);
			piece = val;
			n = strlen(val);
			p += len - 1;
		}
		if (used + n + 1 > cap) {
			cap = (used + n + 1) * 2;
			if ((nb = realloc(out, cap)) == NULL) {
				free(out);
				return NULL;
			}
			out = nb;
		}
		memcpy(out + used, piece, n);
		used += n;
	}
	if (out != NULL)
		out[used] = '\0';
	return out;
}

/* SHA-256 of the system message, a NUL and the template; the first 16 bytes in hex. */
static int
prompt_hash(const char *tmpl, char *hex)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	int ok;

	ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, llm_system_prompt, sizeof(llm_system_prompt)) == 1 &&
	    EVP_DigestUpdate(ctx, tmpl, strlen(tmpl)) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen >= 16;
	EVP_MD_CTX_free(ctx);
	for (unsigned i = 0; ok && i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return ok ? 0 : -1;
}

/* A whole small file, NUL-terminated; NULL with err. */
static char *
read_small(const char *path, size_t max, const char *key, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (f == NULL) {
		text_errf(err, errlen, "%s %s: %s", key, path, strerror(errno));
		return NULL;
	}
	buf = malloc(max + 1);
	n = buf != NULL ? fread(buf, 1, max + 1, f) : 0;
	if (buf == NULL || ferror(f) || n > max) {
		text_errf(err, errlen, "%s %s: %s", key, path,
		    buf == NULL   ? "out of memory"
			: n > max ? "too large"
				  : "read error");
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	if (strlen(buf) != n) {
		text_errf(err, errlen, "%s %s: holds a NUL byte", key, path);
		free(buf);
		return NULL;
	}
	return buf;
}

/* The key: the first variable set, else the file; trailing blanks dropped. */
static int
load_key(struct llm_conf *lc, const struct sim_config *c, char *err, size_t errlen)
{
	static const char *const vars[] = { "LLM_API_KEY", "OPENROUTER_API_KEY", "OPENAI_API_KEY" };
	const char *v = NULL;
	size_t n;

	lc->key_source = "none";
	for (size_t i = 0; i < 3 && v == NULL; i++)
		if ((v = getenv(vars[i])) != NULL && *v != '\0')
			lc->key_source = vars[i];
		else
			v = NULL;
	if (v != NULL)
		lc->key = strdup(v);
	else if (*c->llm_api_key_file != '\0') {
		lc->key_source = "llm_api_key_file";
		if ((lc->key = read_small(c->llm_api_key_file, LLM_KEY_MAX, "llm_api_key_file", err,
			 errlen)) == NULL)
			return -1;
	} else
		return 0;
	if (lc->key == NULL)
		return text_errf(err, errlen, "out of memory");
	n = strlen(lc->key);
	while (n > 0 && (lc->key[n - 1] == '\n' || lc->key[n - 1] == '\r' || lc->key[n - 1] == ' '))
		lc->key[--n] = '\0';
	/* never quoted: the key itself must not reach a message */
	if (n == 0 || !text_printable(lc->key, n) || strchr(lc->key, ' ') != NULL)
		return text_errf(err, errlen,
		    "the API key from %s is empty or holds blanks or control characters",
		    lc->key_source);
	return 0;
}

static int
parse_models(struct llm_conf *lc, const struct sim_config *c, char *err, size_t errlen)
{
	char *list = strdup(c->llm_fallback_models), *save = NULL, *tok;
	int rc = 0;

	if (list == NULL)
		return text_errf(err, errlen, "out of memory");
	snprintf(lc->models[0], sizeof(lc->models[0]), "%s", c->llm_model);
	lc->nmodels = 1;
	for (tok = strtok_r(list, ",", &save); tok != NULL && rc == 0;
	     tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ' || *tok == '\t')
			tok++;
		for (char *e = tok + strlen(tok); e > tok && (e[-1] == ' ' || e[-1] == '\t');)
			*--e = '\0';
		if (*tok == '\0')
			continue;
		if (lc->nmodels == LLM_MODELS_MAX)
			rc = text_errf(err, errlen, "llm_fallback_models: more than %d models",
			    LLM_MODELS_MAX - 1);
		else if (strlen(tok) >= LLM_MODEL_NAME_MAX || !text_printable(tok, strlen(tok)))
			rc = text_errf(err, errlen,
			    "llm_fallback_models: a model name must be printable and under %d bytes",
			    LLM_MODEL_NAME_MAX);
		else
			snprintf(lc->models[lc->nmodels++], LLM_MODEL_NAME_MAX, "%s", tok);
	}
	free(list);
	return rc;
}

static int
check_url(const char *url, char *err, size_t errlen)
{
	CURLU *u = curl_url();
	char *scheme = NULL;
	int ok;

	if (*url == '\0')
		return text_errf(err, errlen, "llm_url: empty; persona_source = llm needs one");
	ok = u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0);
	curl_free(scheme);
	curl_url_cleanup(u);
	if (!ok)
		return text_errf(err, errlen, "llm_url: not an http:// or https:// URL");
	return 0;
}

static int
conf_numbers(struct llm_conf *lc, const struct sim_config *c, char *err, size_t errlen)
{
	lc->max_concurrent = (unsigned)c->llm_max_concurrent;
	lc->rate = c->llm_rate;
	lc->rate_min = c->llm_rate_min;
	lc->rate_max = c->llm_rate_max;
	lc->max_retries = (unsigned)c->llm_max_retries;
	lc->retry_delay = c->llm_retry_delay;
	lc->timeout = c->llm_timeout;
	lc->required = c->llm_required != 0;
	if (lc->rate_min > lc->rate_max)
		return text_errf(err, errlen, "llm_rate_min (%g) is above llm_rate_max (%g)",
		    lc->rate_min, lc->rate_max);
	if (lc->rate != 0 && (lc->rate < lc->rate_min || lc->rate > lc->rate_max))
		return text_errf(err, errlen,
		    "llm_rate (%g) is outside llm_rate_min to llm_rate_max (%g to %g)", lc->rate,
		    lc->rate_min, lc->rate_max);
	return 0;
}

static int
conf_fill(struct llm_conf *lc, const struct sim_config *c, char *err, size_t errlen)
{
	size_t n = strlen(c->data_dir) + sizeof("/personas.db");

	if (check_url(c->llm_url, err, errlen) != 0)
		return -1;
	if (*c->llm_model == '\0')
		return text_errf(err, errlen, "llm_model: empty; persona_source = llm needs one");
	if (strlen(c->llm_model) >= LLM_MODEL_NAME_MAX ||
	    !text_printable(c->llm_model, strlen(c->llm_model)))
		return text_errf(err, errlen, "llm_model: must be printable and under %d bytes",
		    LLM_MODEL_NAME_MAX);
	if (parse_models(lc, c, err, errlen) != 0 || conf_numbers(lc, c, err, errlen) != 0)
		return -1;
	if ((lc->url = strdup(c->llm_url)) == NULL || (lc->cache_path = malloc(n)) == NULL)
		return text_errf(err, errlen, "out of memory");
	snprintf(lc->cache_path, n, "%s/personas.db", c->data_dir);
	if (*c->llm_prompt_file != '\0')
		lc->prompt =
		    read_small(c->llm_prompt_file, LLM_PROMPT_MAX, "llm_prompt_file", err, errlen);
	else if ((lc->prompt = strdup(llm_default_prompt)) == NULL)
		text_errf(err, errlen, "out of memory");
	if (lc->prompt == NULL || llm_prompt_check(lc->prompt, err, errlen) != 0)
		return -1;
	if (prompt_hash(lc->prompt, lc->prompt_hash) != 0)
		return text_errf(err, errlen, "cannot hash the prompt (libcrypto)");
	return load_key(lc, c, err, errlen);
}

int
llm_conf_load(struct llm_conf *lc, const struct sim_config *c, char *err, size_t errlen)
{
	memset(lc, 0, sizeof(*lc));
	if (conf_fill(lc, c, err, errlen) != 0) {
		llm_conf_clear(lc);
		return -1;
	}
	return 0;
}

void
llm_conf_clear(struct llm_conf *lc)
{
	if (lc->key != NULL) {
		volatile char *k = lc->key;
		while (*k)
			*k++ = '\0';
	}
	free(lc->key);
	free(lc->url);
	free(lc->prompt);
	free(lc->cache_path);
	memset(lc, 0, sizeof(*lc));
}

int
llm_check(const struct sim_config *c, char *err, size_t errlen)
{
	struct llm_conf lc;

	if (strcmp(c->persona_source, "llm") != 0)
		return 0;
	if (llm_conf_load(&lc, c, err, errlen) != 0)
		return -1;
	llm_conf_clear(&lc);
	return 0;
}
