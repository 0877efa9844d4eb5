/*
 * llmd.h - the pieces of llmd, a test double for OpenAI-compatible LLM servers:
 * behaviours per model, the content of answers, a requests-per-window limit
 * and the counters behind GET /_stats.  See llmd.c for the command line.
 */
#ifndef LLMD_H
#define LLMD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "sim/persona.h"

#define LLMD_MODELS_MAX 64  /* models configured at once */
#define LLMD_NAME_MAX 128   /* bytes of a model name, NUL included */
#define LLMD_SPEC_MAX 96    /* bytes of a formatted behaviour */
#define LLMD_RPM_MAX 100000 /* largest --rpm */

/* What a model does with a request.  The first group answers 200 with this content. */
enum llmd_kind {
	LLMD_PERSONA,        /* a valid persona as JSON */
	LLMD_PERSONA_FENCED, /* the same in a ```json fence with prose around it */
	LLMD_GARBAGE,        /* prose, not JSON */
	LLMD_NOTPERSONA,     /* valid JSON that is not a persona */
	LLMD_OUTOFRANGE,     /* a persona with out-of-range fields */
	LLMD_PARTIAL,        /* a persona without some fields */
	LLMD_TRUNCATED,      /* half a persona, finish_reason "length" */
	LLMD_E429,           /* OpenRouter's rate-limit error */
	LLMD_E503,           /* Ollama's "queue full" */
	LLMD_E404,           /* OpenAI's "model not found" */
	LLMD_E500,           /* OpenAI's server error */
	LLMD_HANG,           /* never answers */
	LLMD_KINDS
};

struct llmd_spec {
	enum llmd_kind kind;
	int retry_after; /* seconds in Retry-After, -1 for none */
	int delay_ms;    /* answer this much later */
	long times;      /* this many more requests, then personas; -1: always */
};

/* Parses "KIND[,retry-after=S][,delay=MS][,times=N]" or "slow=MS"; 0 or -1 and err. */
int llmd_spec_parse(const char *s, struct llmd_spec *out, char *err, size_t errlen);
/* The spec in the form llmd_spec_parse reads. */
void llmd_spec_format(const struct llmd_spec *s, char *buf, size_t len);
const char *llmd_kind_name(enum llmd_kind k);
/* An HTTP error: with a "models" list the next model is tried. */
int llmd_kind_is_error(enum llmd_kind k);
/* The behaviour for this request; counts down "times" and turns into personas at 0. */
struct llmd_spec llmd_spec_take(struct llmd_spec *s);

struct llmd_model {
	char name[LLMD_NAME_MAX];
	struct llmd_spec spec;
	uint64_t asked;    /* requests naming it first */
	uint64_t tried;    /* times it was tried, first or as a fallback */
	uint64_t answered; /* times it gave the final answer */
};

/* Configured models; "other" stands for every name not configured (--default). */
struct llmd_models {
	struct llmd_model m[LLMD_MODELS_MAX];
	size_t n;
	struct llmd_model other;
};

void llmd_models_init(struct llmd_models *ms);
/* The model called name, or &ms->other. */
struct llmd_model *llmd_models_find(struct llmd_models *ms, const char *name);
/* Adds or changes a model (spec NULL removes it); 0 or -1 and err. */
int llmd_models_set(struct llmd_models *ms, const char *name, const struct llmd_spec *spec,
    char *err, size_t errlen);
/* "NAME=SPEC", as --model takes it. */
int llmd_models_set_arg(struct llmd_models *ms, const char *arg, char *err, size_t errlen);
int llmd_name_ok(const char *name);
json_t *llmd_models_json(const struct llmd_models *ms);

/* Admits at most limit requests in any span seconds (a sliding log). */
struct llmd_window {
	double *stamp; /* ring of admission times */
	unsigned limit, head, count;
	double span;
};

/* limit 0 turns the limit off; 0 or -1 when out of memory. */
int llmd_window_set(struct llmd_window *w, unsigned limit, double span);
void llmd_window_clear(struct llmd_window *w);
/* 1 (and records now) when admitted; 0 and *wait, the seconds until a slot frees. */
int llmd_window_admit(struct llmd_window *w, double now, double *wait);
unsigned llmd_window_remaining(struct llmd_window *w, double now);
/* Seconds until the window is empty again. */
double llmd_window_reset(struct llmd_window *w, double now);
/* A duration the way OpenAI writes it: "250ms", "12s", "1m30s". */
void llmd_duration(double secs, char *buf, size_t len);

#define LLMD_STATUS_MAX 600
#define LLMD_AGENTS_MAX (1u << 20) /* agents whose answers are told apart */
struct llmd_stats {
	uint64_t requests;     /* chat-completion requests */
	uint64_t agents;       /* agents that got a 200 */
	uint64_t agents_again; /* 200s for an agent that had one already */
	uint8_t *agent_seen;   /* bitmap of LLMD_AGENTS_MAX agents */
	uint64_t status[LLMD_STATUS_MAX];
	uint64_t rate_limited; /* 429s, from --rpm or a model's behaviour */
	uint64_t rpm_limited;  /* 429s from --rpm */
	uint64_t abandoned;    /* clients gone before their answer */
	uint64_t json_format;  /* requests asking for a JSON response_format */
	unsigned in_flight, max_in_flight;
};

int llmd_stats_init(struct llmd_stats *st);
void llmd_stats_clear(struct llmd_stats *st);
json_t *llmd_stats_json(const struct llmd_stats *st, const struct llmd_models *ms);
/* Zeroes the counters (in_flight stays: those requests are still there). */
void llmd_stats_reset(struct llmd_stats *st, struct llmd_models *ms);
/* Counts a 200 for agent (an index, agent_001 = 0). */
void llmd_stats_agent(struct llmd_stats *st, uint32_t agent);

/* What the prompt says: agent_NNN (index NNN - 1, as simd numbers agents) and "seed N". */
struct llmd_prompt {
	int has_agent, has_seed;
	uint32_t agent;
	uint64_t seed;
	char agent_id[24]; /* "agent_007", or "" */
};

void llmd_prompt_scan(const char *text, struct llmd_prompt *p);
/* The double's own persona: another draw than simd's local one, named "LLM ...". */
void llmd_persona(const struct llmd_prompt *pr, struct persona *p);
/* The assistant's content for a content kind (malloc'd; NULL when out of memory). */
char *llmd_content(enum llmd_kind k, const struct llmd_prompt *pr);
/*
 * Checks a chat-completion reply (or bare content) the way simd would: takes
 * choices[0].message.content, drops a ```json fence, runs persona_from_json.
 * 0 and the persona's name in msg, or -1 and the reason.
 */
int llmd_check(const char *text, size_t len, char *msg, size_t msglen);

/* The server (llmd.c, llmd_chat.c). */
struct event_base;
struct evhttp;
struct evhttp_request;
struct event;
struct llmd_pending;

struct llmd {
	struct event_base *base;
	struct evhttp *http;
	struct event *sig[2]; /* SIGTERM, SIGINT */
	struct llmd_models models;
	struct llmd_window window; /* --rpm */
	struct llmd_stats stats;
	struct llmd_pending *pending; /* requests answered later (delay, hang) */
	char *key;                    /* --key, or NULL */
	FILE *log;                    /* --log, or NULL */
	int rpm_retry_after;
	int ratelimit_headers;
	unsigned max_inflight;
	uint64_t next_id;
};

double llmd_now(void);
/* Sends body (consumed) as JSON. */
void llmd_send_json(struct evhttp_request *req, int code, json_t *body);
/* OpenAI's error shape: {"error":{"message","type","param","code"}}. */
json_t *
llmd_openai_error(const char *message, const char *type, const char *param, const char *code);
/* Whether the request may pass --key; *has_key says whether it carried any. */
int llmd_authorised(const struct llmd *d, struct evhttp_request *req, int *has_key);
/* The 401 body: OpenAI's words for a missing and for a wrong key. */
json_t *llmd_key_error(int has_key);
void llmd_chat(struct llmd *d, struct evhttp_request *req, const char *path);
void llmd_pending_free_all(struct llmd *d);

#endif
