/*
 * llmreply.h - what an LLM answered, made into a persona or refused.
 *
 * Pure (no I/O): the client (llm.c) calls it on every 200, the fuzz harness on
 * anything.  A chat-completion body is read as OpenAI documents it
 * (choices[0].message.content); the content's JSON object is found inside
 * whatever surrounds it (a ```json fence, a sentence before or after).  Then
 * the persona schema (persona_from_json) decides, after three repairs a
 * person would make, each counted and named in the notes:
 *
 *  - a number out of its range is clamped to it (price_sensitivity 7 -> 1,
 *    a negative hour weight -> 0, budget_cents rounded to whole cents);
 *  - a field the model left out is filled from the agent's local persona;
 *  - a key the schema does not know is dropped.
 *
 * The demographic bands (age_band, household, income_band) are always the
 * local persona's: the prompt asked for them, and keeping them keeps the
 * population's mix that of the local generator.  A reply is refused whole when
 * it is not JSON, not an object, carries fewer than half of the persona's
 * fields, or a field of the wrong type or an unknown name (a category, a day).
 */
#ifndef SIM_LLMREPLY_H
#define SIM_LLMREPLY_H

#include <stddef.h>

#include "sim/persona.h"

enum llm_reply_kind {
	LLM_REPLY_OK,          /* a persona, perhaps repaired */
	LLM_REPLY_NOT_JSON,    /* the body or the content holds no JSON object */
	LLM_REPLY_NOT_PERSONA, /* JSON, but not a persona (err says which field) */
	LLM_REPLY_TRUNCATED,   /* cut short (finish_reason "length") before the JSON ended */
	LLM_REPLY_ERROR,       /* an error object in a 200 (OpenRouter, mid-stream) */
	LLM_REPLY_KINDS
};

struct llm_reply_info {
	unsigned clamped; /* fields clamped into range */
	unsigned filled;  /* fields filled from the local persona */
	unsigned dropped; /* unknown keys dropped */
	int error_code;   /* LLM_REPLY_ERROR: error.code (429...), or 0 */
	char notes[256];  /* "price_sensitivity 7 -> 1; hours filled", "" when none */
};

/* "ok", "not_json", "not_persona", "truncated", "error". */
const char *llm_reply_kind_name(enum llm_reply_kind k);

/*
 * A chat-completion body; local is the agent's local persona.  OK fills out;
 * anything else leaves it alone and says why in err (one line).
 */
enum llm_reply_kind llm_reply_parse(const char *body, size_t len, const struct persona *local,
    struct persona *out, struct llm_reply_info *info, char *err, size_t errlen);
/* The same for the content alone (what the assistant wrote). */
enum llm_reply_kind llm_content_parse(const char *content, size_t len, const struct persona *local,
    struct persona *out, struct llm_reply_info *info, char *err, size_t errlen);

#endif
