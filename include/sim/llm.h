/*
 * llm.h - personas from an OpenAI-compatible chat-completions API
 * (persona_source = llm): OpenRouter, OpenAI, vLLM, llama.cpp's server, Ollama.
 *
 * llm_fill() replaces a run's locally generated personas, asynchronously:
 *
 *  1. every agent is looked up in the cache (personadb.h) under each model in
 *     order; a hit is used as it is and nothing is asked;
 *  2. the rest are asked for, llm_max_concurrent at a time, each request
 *     through the shared AIMD limiter (ratelimit.h), which 429s and 503s slow
 *     down (Retry-After and x-ratelimit-* honoured) and successes speed up;
 *  3. a 429, a 503, a 5xx, a timeout or a lost connection is retried on the
 *     same model (backoff.h: llm_retry_delay doubled, llm_max_retries times,
 *     never sooner than a Retry-After); a 404 (no such model), another 4xx or
 *     a reply that is no persona (llmreply.h) moves to the next model at once,
 *     as does a model whose retries ran out;
 *  4. an agent no model gave a persona keeps its local one, counted as a
 *     fallback and logged (with llm_required the fill fails instead).
 *
 * A persona the LLM gave is stored in the cache as simd's JSON and read back
 * from that text, so a later run from the cache gets the very same persona.
 * Counters (llm_stats) go to status as its "llm" object.
 */
#ifndef SIM_LLM_H
#define SIM_LLM_H

#include <stddef.h>
#include <stdint.h>

#include "sim/engine.h"
#include "sim/llmconf.h"

struct event_base;
struct llm;

/* Why a request failed, as counted. */
enum llm_err {
	LLM_ERR_CONNECT,     /* no connection, or it broke */
	LLM_ERR_TIMEOUT,     /* llm_timeout passed */
	LLM_ERR_429,         /* rate limited */
	LLM_ERR_503,         /* overloaded (Ollama's queue full) */
	LLM_ERR_5XX,         /* another server error */
	LLM_ERR_404,         /* no such model */
	LLM_ERR_AUTH,        /* 401, 403: the key */
	LLM_ERR_4XX,         /* another client error */
	LLM_ERR_NOT_JSON,    /* the reply holds no JSON object */
	LLM_ERR_NOT_PERSONA, /* JSON, but not a persona */
	LLM_ERR_TRUNCATED,   /* cut short before the JSON ended */
	LLM_ERR_REPLY,       /* an error object inside a 200 */
	LLM_ERR_TYPES
};
const char *llm_err_name(enum llm_err e); /* "connect", "timeout", "429", ... */

struct llm_stats {
	uint32_t total;                    /* agents of the fill under way (or the last) */
	uint32_t done;                     /* of them settled: cached, from the LLM, or local */
	uint32_t cached;                   /* taken from personas.db */
	uint32_t from_llm;                 /* answered by a model in this fill */
	uint32_t by_model[LLM_MODELS_MAX]; /* from_llm by the model that answered */
	uint32_t local_fallbacks;          /* agents left with their local persona */
	uint64_t model_fallbacks;          /* times an agent moved on to the next model */
	uint64_t requests;                 /* sent */
	uint64_t retries;                  /* of them, retries on the same model */
	uint64_t status_429;               /* 429 answers */
	uint64_t errors;                   /* failed requests, by type below */
	uint64_t errors_by_type[LLM_ERR_TYPES];
	uint64_t clamped, filled; /* persona fields repaired (llmreply.h) */
	unsigned in_flight;
	double rate;           /* the limiter's requests/s now; 0: unlimited */
	double elapsed_s;      /* the fill's wall time, so far or in all */
	double requests_per_s; /* sent over the fill so far */
	double eta_s;          /* until every agent is settled; < 0: no estimate */
	int active, paused;
	unsigned nmodels;
	char models[LLM_MODELS_MAX][LLM_MODEL_NAME_MAX];
};

/*
 * Takes conf (moved: *conf is left empty).  Opens the cache, the HTTP client
 * and the limiter; NULL with a one-line reason in err.
 */
struct llm *llm_new(struct event_base *base, struct llm_conf *conf, char *err, size_t errlen);
void llm_free(struct llm *l);

/*
 * Replaces ps[0..n) (the local personas of seed) with the LLM's; done runs
 * once, later, from the loop.  0, or -1 with err when a fill is under way.
 */
int llm_fill(struct llm *l, uint64_t seed, struct persona *ps, uint32_t n, persona_done_fn done,
    void *arg, char *err, size_t errlen);
/* Stops the fill: nothing more is sent and done is not called. */
void llm_cancel(struct llm *l);
/* While paused nothing is sent; what is in flight completes. */
void llm_pause(struct llm *l, int on);
void llm_stats(const struct llm *l, struct llm_stats *st);
/* The engine's persona_source, calling the functions above. */
void llm_persona_source(struct llm *l, struct persona_source *src);

#endif
