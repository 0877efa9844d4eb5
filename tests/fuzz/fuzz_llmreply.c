/*
 * fuzz_llmreply.c - what an LLM answers: llm_reply_parse on the input as a
 * chat-completion body, and llm_content_parse on it as the assistant's content.
 *
 * Contract: a refusal says why in one line; an accepted persona keeps the
 * local persona's demographic bands, has fields the schema accepts (it
 * survives persona_to_json / persona_from_json unchanged), and its repair
 * notes are one line.
 */
#include <jansson.h>

#include "sim/llmreply.h"
#include "sim/persona.h"

#include "fuzz.h"

static struct persona local;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	persona_generate(&local, 42, 6);
	return 0;
}

static void
fuzz_check(enum llm_reply_kind k, const struct persona *p, const struct llm_reply_info *info,
    const char *err)
{
	struct persona q;
	char why[256];
	json_t *j;

	FUZZ_ASSERT((unsigned)k < LLM_REPLY_KINDS);
	FUZZ_ASSERT(strchr(info->notes, '\n') == NULL);
	if (k != LLM_REPLY_OK) {
		FUZZ_ASSERT(err[0] != '\0' && strchr(err, '\n') == NULL);
		return;
	}
	FUZZ_ASSERT(p->age_band == local.age_band && p->household == local.household &&
	    p->income_band == local.income_band);
	j = persona_to_json(p);
	FUZZ_ASSERT(j != NULL);
	memset(&q, 0, sizeof(q));
	FUZZ_ASSERT(persona_from_json(j, &q, why, sizeof(why)) == 0);
	FUZZ_ASSERT(memcmp(p, &q, sizeof(q)) == 0);
	json_decref(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct llm_reply_info info;
	struct persona p;
	char err[256];
	enum llm_reply_kind k;

	memset(&p, 0, sizeof(p));
	err[0] = '\0';
	k = llm_reply_parse((const char *)data, size, &local, &p, &info, err, sizeof(err));
	fuzz_check(k, &p, &info, err);
	memset(&p, 0, sizeof(p));
	err[0] = '\0';
	k = llm_content_parse((const char *)data, size, &local, &p, &info, err, sizeof(err));
	fuzz_check(k, &p, &info, err);
	return 0;
}
