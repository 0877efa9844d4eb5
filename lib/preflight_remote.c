/*
 * preflight_remote.c - the preflight's checks of the services beyond the
 * database: the shop API (reachable with the simulator's token, and its rate
 * limits skipped for the simulator's requests only) and the LLM endpoint (it
 * answers, the key is accepted).  Blocking requests through libcurl's easy
 * interface, each bounded by api_timeout or llm_timeout: they run where
 * preflight_run runs, never on the loop.  No secret (the JWT key, a token, the
 * API key) goes into a check's text: only hosts, paths and statuses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "sim/config.h"
#include "sim/jwt.h"
#include "sim/llmconf.h"
#include "sim/preflight.h"

#define PF_API_PROBES 100 /* requests without the header at most, to meet a limit */
#define PF_BODY_MAX (1 << 20)

struct pf_answer {
	long status; /* 0: no answer */
	double ms;
	char err[CURL_ERROR_SIZE];
};

static size_t
pf_discard(char *data, size_t size, size_t n, void *arg)
{
	return size * n;
}

/* One request; body NULL: a GET. */
static void
pf_request(const char *url, struct curl_slist *hdrs, const char *body, double timeout,
    const struct sim_config *cfg, struct pf_answer *a)
{
	CURL *e = curl_easy_init();
	double secs = 0;

	memset(a, 0, sizeof(*a));
	if (e == NULL) {
		snprintf(a->err, sizeof(a->err), "out of memory");
		return;
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L); /* on a thread: no SIGALRM for timeouts */
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "simd/" SIMD_VERSION " preflight");
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, a->err);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, pf_discard);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)PF_BODY_MAX);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	if (cfg != NULL && cfg->api_ca_file[0] != '\0')
		curl_easy_setopt(e, CURLOPT_CAINFO, cfg->api_ca_file);
	if (cfg != NULL && cfg->api_insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (body != NULL)
		curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body);
	if (curl_easy_perform(e) == CURLE_OK) {
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &a->status);
		curl_easy_getinfo(e, CURLINFO_TOTAL_TIME, &secs);
		a->ms = secs * 1000;
	} else if (a->err[0] == '\0') {
		snprintf(a->err, sizeof(a->err), "no answer");
	}
	curl_easy_cleanup(e);
}

/* scheme://host[:port] of url, without a user or password it may hold. */
static void
pf_origin(char *out, size_t len, const char *url)
{
	const char *s = strstr(url, "://"), *h, *end, *at;

	h = s != NULL ? s + 3 : url;
	end = h + strcspn(h, "/?#");
	at = memchr(h, '@', (size_t)(end - h));
	if (at != NULL)
		h = at + 1;
	snprintf(out, len, "%.*s%.*s", s != NULL ? (int)(s + 3 - url) : 0, url, (int)(end - h), h);
}

/* l with "name: value" appended (value may be a secret: the copy is wiped); NULL: l freed. */
static struct curl_slist *
pf_header(struct curl_slist *l, const char *name, const char *value)
{
	size_t len = strlen(name) + strlen(value) + 3;
	char *line = malloc(len);
	struct curl_slist *n = NULL;

	if (line != NULL) {
		snprintf(line, len, "%s: %s", name, value);
		n = curl_slist_append(l, line);
		explicit_bzero(line, len);
		free(line);
	}
	if (n == NULL)
		curl_slist_free_all(l);
	return n;
}

/* ---- the shop API ---- */

/*
 * Requests without X-Simulation-Mode until the shop limits one (429), then one
 * with it: the simulator's requests must pass while the others are held back.
 */
static void
pf_bypass(const struct sim_config *cfg, const char *url, struct curl_slist *plain,
    struct curl_slist *sim, struct preflight *p)
{
	struct preflight_check *c = preflight_add(p, "rate_bypass", PREFLIGHT_OK);
	struct pf_answer a;
	int k;

	snprintf(c->threshold, sizeof(c->threshold),
	    "a 429 without X-Simulation-Mode within %d requests, then 200 with it", PF_API_PROBES);
	for (k = 1; k <= PF_API_PROBES; k++) {
		pf_request(url, plain, NULL, cfg->api_timeout, cfg, &a);
		if (a.status != 200)
			break;
	}
	if (k > PF_API_PROBES) {
		c->level = PREFLIGHT_WARN;
		snprintf(c->value, sizeof(c->value),
		    "no limit met in %d requests without the header: the bypass not shown",
		    PF_API_PROBES);
		return;
	}
	if (a.status != 429) {
		c->level = PREFLIGHT_FAIL;
		snprintf(c->value, sizeof(c->value), "request %d without the header: %ld %.80s", k,
		    a.status, a.status == 0 ? a.err : "");
		return;
	}
	pf_request(url, sim, NULL, cfg->api_timeout, cfg, &a);
	if (a.status == 200) {
		snprintf(c->value, sizeof(c->value),
		    "429 after %d requests without the header, then 200 with it", k);
	} else {
		c->level = PREFLIGHT_FAIL;
		snprintf(c->value, sizeof(c->value),
		    "429 after %d requests without the header, then %ld with it: not bypassed", k,
		    a.status);
	}
}

/* The headers of user 1's simulator token, without and with X-Simulation-Mode: 0, or -1 and err. */
static int
pf_shop_headers(const struct sim_config *cfg, struct curl_slist **plain, struct curl_slist **sim,
    char *err, size_t errlen)
{
	unsigned char key[JWT_KEY_MAX];
	char tok[JWT_TOKEN_MAX], bearer[JWT_TOKEN_MAX + 8];
	size_t keylen = 0;
	int64_t now = (int64_t)time(NULL);
	int n;

	if (jwt_read_key(cfg->api_jwt_secret_file, key, &keylen, err, errlen) != 0)
		return -1;
	n = jwt_sign(tok, sizeof(tok), key, keylen, 1, now, now + 300);
	explicit_bzero(key, sizeof(key));
	if (n < 0) {
		snprintf(err, errlen, "cannot sign a token");
		return -1;
	}
	snprintf(bearer, sizeof(bearer), "Bearer %s", tok);
	*plain = pf_header(NULL, "Authorization", bearer);
	*sim = pf_header(NULL, "Authorization", bearer);
	*sim = *sim != NULL ? pf_header(*sim, "X-Simulation-Mode", "true") : NULL;
	explicit_bzero(tok, sizeof(tok));
	explicit_bzero(bearer, sizeof(bearer));
	if (*plain == NULL || *sim == NULL) {
		curl_slist_free_all(*plain);
		curl_slist_free_all(*sim);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

void
preflight_shop(const struct sim_config *cfg, struct preflight *p)
{
	struct preflight_check *c = preflight_add(p, "shop_api", PREFLIGHT_FAIL);
	struct curl_slist *plain = NULL, *sim = NULL;
	struct pf_answer a;
	char url[2048], origin[200], err[256];
	size_t n = strlen(cfg->shop_api_url);

	while (n > 0 && cfg->shop_api_url[n - 1] == '/')
		n--;
	snprintf(url, sizeof(url), "%.*s%s?category=preflight&limit=1", (int)n, cfg->shop_api_url,
	    cfg->api_path_search);
	pf_origin(origin, sizeof(origin), cfg->shop_api_url);
	snprintf(c->threshold, sizeof(c->threshold), "200 to GET %.60s within api_timeout %g s",
	    cfg->api_path_search, cfg->api_timeout);
	if (pf_shop_headers(cfg, &plain, &sim, err, sizeof(err)) != 0) {
		snprintf(c->value, sizeof(c->value), "%.150s", err);
		return;
	}
	pf_request(url, sim, NULL, cfg->api_timeout, cfg, &a);
	if (a.status == 200) {
		c->level = PREFLIGHT_OK;
		snprintf(c->value, sizeof(c->value), "%.80s: 200 in %.0f ms", origin, a.ms);
	} else if (a.status == 401) {
		snprintf(c->value, sizeof(c->value),
		    "%.80s: 401, the simulator's token refused: is api_jwt_secret_file the shop's?",
		    origin);
	} else if (a.status != 0) {
		snprintf(c->value, sizeof(c->value), "%.80s: %ld", origin, a.status);
	} else {
		snprintf(c->value, sizeof(c->value), "%.60s: %.90s", origin, a.err);
	}
	if (a.status == 200)
		pf_bypass(cfg, url, plain, sim, p);
	curl_slist_free_all(plain);
	curl_slist_free_all(sim);
}

/* ---- the LLM endpoint ---- */

static void
pf_llm_verdict(struct preflight_check *c, const struct llm_conf *lc, const char *origin,
    const struct pf_answer *a)
{
	const char *model = lc->models[0];

	if (a->status == 200) {
		c->level = PREFLIGHT_OK;
		snprintf(c->value, sizeof(c->value),
		    "%.60s: %.40s answered in %.0f ms, the key (%s) accepted", origin, model, a->ms,
		    lc->key_source);
	} else if (a->status == 401 || a->status == 403) {
		snprintf(c->value, sizeof(c->value), "%.60s: %ld, the key (%s) refused", origin,
		    a->status, lc->key_source);
	} else if (a->status == 404) {
		snprintf(c->value, sizeof(c->value), "%.60s: 404, no model %.40s (or no chat API)",
		    origin, model);
	} else if (a->status == 429 || a->status == 503) {
		c->level = PREFLIGHT_WARN;
		snprintf(c->value, sizeof(c->value), "%.60s: %ld, busy or rate-limited just now",
		    origin, a->status);
	} else if (a->status != 0) {
		snprintf(c->value, sizeof(c->value), "%.60s: %ld", origin, a->status);
	} else {
		snprintf(c->value, sizeof(c->value), "%.60s: %.90s", origin, a->err);
	}
}

void
preflight_llm(const struct sim_config *cfg, struct preflight *p)
{
	struct preflight_check *c = preflight_add(p, "llm", PREFLIGHT_FAIL);
	struct llm_conf lc;
	struct curl_slist *h = NULL;
	struct pf_answer a;
	char url[2048], origin[200], err[256], *body = NULL;
	json_t *j;

	snprintf(c->threshold, sizeof(c->threshold),
	    "200 to one chat completion of max_tokens 1 within llm_timeout");
	memset(&lc, 0, sizeof(lc));
	if (llm_conf_load(&lc, cfg, err, sizeof(err)) != 0) {
		snprintf(c->value, sizeof(c->value), "%.150s", err);
		return;
	}
	snprintf(url, sizeof(url), "%s/chat/completions", lc.url);
	pf_origin(origin, sizeof(origin), lc.url);
	j = json_pack("{s:s, s:[{s:s, s:s}], s:i}", "model", lc.models[0], "messages", "role",
	    "user", "content", "Answer ok.", "max_tokens", 1);
	body = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	h = pf_header(NULL, "Content-Type", "application/json");
	if (h != NULL && lc.key != NULL) {
		size_t len = strlen(lc.key) + 8;
		char *bearer = malloc(len);
		if (bearer == NULL) {
			curl_slist_free_all(h);
			h = NULL;
		} else {
			snprintf(bearer, len, "Bearer %s", lc.key);
			h = pf_header(h, "Authorization", bearer);
			explicit_bzero(bearer, len);
			free(bearer);
		}
	}
	if (body == NULL || h == NULL) {
		snprintf(c->value, sizeof(c->value), "out of memory");
	} else {
		pf_request(url, h, body, lc.timeout, NULL, &a);
		pf_llm_verdict(c, &lc, origin, &a);
	}
	curl_slist_free_all(h);
	free(body);
	llm_conf_clear(&lc);
}
