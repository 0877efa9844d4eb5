/* ckptcodec.c - a checkpoint's contents, encoded and checked (see ckptcodec.h). */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sim/ckptcodec.h"
#include "sim/text.h"

#define CKPT_MAGIC UINT32_C(0x504b4353) /* "SCKP" read as a little-endian u32 */
#define CKPT_STATE_VERSION 1
#define CKPT_HEADER_SIZE 12
#define CKPT_AGENT_SIZE 6
#define CKPT_LINE_SIZE 6

static void
put_u16(unsigned char *b, uint16_t v)
{
	b[0] = (unsigned char)v;
	b[1] = (unsigned char)(v >> 8);
}

static void
put_u32(unsigned char *b, uint32_t v)
{
	b[0] = (unsigned char)v;
	b[1] = (unsigned char)(v >> 8);
	b[2] = (unsigned char)(v >> 16);
	b[3] = (unsigned char)(v >> 24);
}

static uint16_t
get_u16(const unsigned char *b)
{
	return (uint16_t)(b[0] | b[1] << 8);
}

static uint32_t
get_u32(const unsigned char *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/*
 * Eight bytes at a time ("slicing-by-8"): a nibble-table loop costs ~40 ms on
 * the 8 MB state of 100,000 agents, this about 4.
 */
void
ckpt_crc_init(struct ckpt_crc *c)
{
	uint32_t v;
	int i, k;

	for (i = 0; i < 256; i++) {
		v = (uint32_t)i;
		for (k = 0; k < 8; k++)
			v = (v >> 1) ^ (UINT32_C(0xedb88320) & (0u - (v & 1)));
		c->t[0][i] = v;
	}
	for (i = 0; i < 256; i++)
		for (k = 1; k < 8; k++)
			c->t[k][i] = (c->t[k - 1][i] >> 8) ^ c->t[0][c->t[k - 1][i] & 0xff];
}

uint32_t
ckpt_crc32(const struct ckpt_crc *c, const unsigned char *p, size_t n)
{
	const uint32_t(*t)[256] = c->t;
	uint32_t v = 0xffffffff, lo, hi;

	for (; n >= 8; n -= 8, p += 8) {
		lo = v ^ get_u32(p);
		hi = get_u32(p + 4);
		v = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^
		    t[4][lo >> 24] ^ t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^
		    t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
	}
	while (n-- > 0)
		v = (v >> 8) ^ t[0][(v ^ *p++) & 0xff];
	return ~v;
}

/* ---- checks shared by writing and loading: what a resume can rely on ---- */

static uint64_t
count_at(const struct engine_counts *k, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)k + off, sizeof(v));
	return v;
}

static int
check_counts(const struct engine_counts *k, char *why, size_t len)
{
	size_t i;

	for (i = 0; i < engine_ncount_defs; i++)
		if (count_at(k, engine_count_defs[i].offset) > INT64_MAX)
			goto range;
	for (i = 0; i < STORE_ERR_COUNT; i++)
		if (k->errors_by_type[i] > INT64_MAX)
			goto range;
	return 0;
range:
	snprintf(why, len, "counts: a counter is out of range");
	return -1;
}

size_t
ckpt_state_check(const struct run_state *rs, const char *reason, char *why, size_t len)
{
	size_t n = reason != NULL ? strlen(reason) : 0, size = CKPT_HEADER_SIZE;

	if (n == 0 || n >= 24 || !text_printable(reason, n)) {
		snprintf(why, len, "the reason is not a short printable word");
		return 0;
	}
	if (params_check(&rs->params, why, len) != 0 || check_counts(&rs->counts, why, len) != 0)
		return 0;
	if (!isfinite(rs->elapsed_s) || rs->elapsed_s < 0 || !isfinite(rs->lag_s) ||
	    rs->lag_s < 0) {
		snprintf(why, len, "elapsed_s or lag_s is not a finite number >= 0");
		return 0;
	}
	if (rs->agents == NULL) {
		snprintf(why, len, "no agent states");
		return 0;
	}
	for (uint32_t i = 0; i < rs->params.agents; i++) {
		if (rs->agents[i].ncart > STORE_MAX_ITEMS) {
			snprintf(why, len, "agent %u has %u cart lines (at most %d)", i,
			    rs->agents[i].ncart, STORE_MAX_ITEMS);
			return 0;
		}
		size += CKPT_AGENT_SIZE + (size_t)rs->agents[i].ncart * CKPT_LINE_SIZE;
	}
	return size;
}

/* ---- the agents' states ---- */

void
ckpt_state_encode(unsigned char *b, const struct run_state *rs)
{
	const struct agent_state *a;
	uint32_t i, j;

	put_u32(b, CKPT_MAGIC);
	put_u16(b + 4, CKPT_STATE_VERSION);
	put_u16(b + 6, 0);
	put_u32(b + 8, rs->params.agents);
	b += CKPT_HEADER_SIZE;
	for (i = 0; i < rs->params.agents; i++) {
		a = &rs->agents[i];
		put_u32(b, a->done_cycle);
		b[4] = a->redeemed;
		b[5] = a->ncart;
		b += CKPT_AGENT_SIZE;
		for (j = 0; j < a->ncart; j++) {
			put_u32(b, a->cart[j].product_id);
			put_u16(b + 4, a->cart[j].quantity);
			b += CKPT_LINE_SIZE;
		}
	}
}

/* Checks the header; the length check bounds the allocation that follows. */
static int
state_header(const unsigned char *b, size_t n, uint32_t agents, char *why, size_t len)
{
	if (n < CKPT_HEADER_SIZE) {
		snprintf(why, len, "state is %zu bytes, shorter than its header", n);
		return CKPT_DAMAGED;
	}
	if (get_u32(b) != CKPT_MAGIC) {
		snprintf(why, len, "state has no checkpoint header");
		return CKPT_DAMAGED;
	}
	if (get_u16(b + 4) != CKPT_STATE_VERSION) {
		snprintf(why, len, "state encoding version %u is not one this simd reads (%d)",
		    get_u16(b + 4), CKPT_STATE_VERSION);
		return CKPT_DAMAGED;
	}
	if (get_u16(b + 6) != 0) {
		snprintf(why, len, "state header: reserved bytes are %#x, not 0", get_u16(b + 6));
		return CKPT_DAMAGED;
	}
	if (get_u32(b + 8) != agents) {
		snprintf(
		    why, len, "state holds %u agents, the row says %u", get_u32(b + 8), agents);
		return CKPT_DAMAGED;
	}
	if ((n - CKPT_HEADER_SIZE) / CKPT_AGENT_SIZE < agents) {
		snprintf(why, len, "state is too short for %u agents", agents);
		return CKPT_DAMAGED;
	}
	return CKPT_OK;
}

static int
state_agents(const unsigned char *b, size_t n, struct agent_state *out, uint32_t agents, char *why,
    size_t len)
{
	const unsigned char *p = b + CKPT_HEADER_SIZE, *end = b + n;
	struct agent_state *a;
	uint32_t i, j;

	for (i = 0; i < agents; i++) {
		a = &out[i];
		if (end - p < CKPT_AGENT_SIZE)
			goto short_state;
		a->done_cycle = get_u32(p);
		a->redeemed = p[4];
		a->ncart = p[5];
		p += CKPT_AGENT_SIZE;
		if (a->ncart > STORE_MAX_ITEMS) {
			snprintf(why, len, "agent %u has %u cart lines (at most %d)", i, a->ncart,
			    STORE_MAX_ITEMS);
			return CKPT_DAMAGED;
		}
		if (end - p < (ptrdiff_t)a->ncart * CKPT_LINE_SIZE)
			goto short_state;
		for (j = 0; j < a->ncart; j++, p += CKPT_LINE_SIZE) {
			a->cart[j].product_id = get_u32(p);
			a->cart[j].quantity = get_u16(p + 4);
		}
	}
	if (p != end) {
		snprintf(why, len, "state has %td bytes after the last agent", end - p);
		return CKPT_DAMAGED;
	}
	return CKPT_OK;
short_state:
	snprintf(why, len, "state ends inside agent %u", i);
	return CKPT_DAMAGED;
}

int
ckpt_state_decode(const unsigned char *b, size_t n, uint32_t agents, struct agent_state **out,
    char *why, size_t len)
{
	int rc;

	*out = NULL;
	if ((rc = state_header(b, n, agents, why, len)) != CKPT_OK)
		return rc;
	/* calloc: cart lines past ncart are zero, whatever the writer's held. */
	if ((*out = calloc(agents, sizeof(**out))) == NULL)
		return CKPT_NOMEM;
	return state_agents(b, n, *out, agents, why, len);
}

/* ---- parameters and counters as JSON ---- */

/* Returns json's compact text and drops the reference; NULL if either failed. */
static char *
dump(json_t *o)
{
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

char *
ckpt_params_text(const struct run_params *p)
{
	return dump(params_to_json(p, PARAM_CKPT));
}

char *
ckpt_counts_text(const struct engine_counts *k)
{
	json_t *o = json_object(), *a = json_array();
	size_t i;
	int bad = o == NULL || a == NULL;

	for (i = 0; !bad && i < engine_ncount_defs; i++)
		bad |= json_object_set_new(o, engine_count_defs[i].name,
		    json_integer((json_int_t)count_at(k, engine_count_defs[i].offset)));
	for (i = 0; !bad && i < STORE_ERR_COUNT; i++)
		bad |= json_array_append_new(a, json_integer((json_int_t)k->errors_by_type[i]));
	if (bad || json_object_set_new(o, "errors_by_type", a) != 0) {
		if (!bad)
			a = NULL; /* set_new took it */
		json_decref(a);
		json_decref(o);
		return NULL;
	}
	return dump(o);
}

static int
load_object(const char *text, size_t n, const char *name, json_t **out, char *why, size_t len)
{
	json_error_t jerr;

	*out = json_loadb(text, n, JSON_REJECT_DUPLICATES, &jerr);
	if (*out == NULL) {
		snprintf(why, len, "%s: not JSON (%.100s)", name, jerr.text);
		return CKPT_DAMAGED;
	}
	if (!json_is_object(*out)) {
		snprintf(why, len, "%s: not a JSON object", name);
		json_decref(*out);
		*out = NULL;
		return CKPT_DAMAGED;
	}
	return CKPT_OK;
}

int
ckpt_params_parse(const char *text, size_t n, struct run_params *p, char *why, size_t len)
{
	json_t *o;
	int rc;

	if ((rc = load_object(text, n, "params", &o, why, len)) != CKPT_OK)
		return rc;
	rc = params_from_ckpt(p, o, why, len);
	json_decref(o);
	if (rc != 0) {
		params_clear(p);
		return strcmp(why, "out of memory") == 0 ? CKPT_NOMEM : CKPT_DAMAGED;
	}
	return CKPT_OK;
}

static int
count_json(const json_t *v, const char *key, uint64_t *out, char *why, size_t len)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		snprintf(why, len, "counts: \"%s\" is %s, not an integer from 0 to %lld", key,
		    v == NULL ? "missing" : "wrong", (long long)INT64_MAX);
		return CKPT_DAMAGED;
	}
	*out = (uint64_t)json_integer_value(v);
	return CKPT_OK;
}

int
ckpt_counts_parse(const char *text, size_t n, struct engine_counts *k, char *why, size_t len)
{
	json_t *o, *a;
	uint64_t u = 0;
	size_t i;
	int rc;

	memset(k, 0, sizeof(*k));
	if ((rc = load_object(text, n, "counts", &o, why, len)) != CKPT_OK)
		return rc;
	for (i = 0; rc == CKPT_OK && i < engine_ncount_defs; i++) {
		rc = count_json(json_object_get(o, engine_count_defs[i].name),
		    engine_count_defs[i].name, &u, why, len);
		memcpy((char *)k + engine_count_defs[i].offset, &u, sizeof(u));
	}
	a = json_object_get(o, "errors_by_type");
	/* Fewer entries than STORE_ERR_COUNT: error types added since are zero. */
	if (rc == CKPT_OK && (!json_is_array(a) || json_array_size(a) > STORE_ERR_COUNT)) {
		snprintf(why, len,
		    "counts: \"errors_by_type\" is not a list of at most %d counters",
		    STORE_ERR_COUNT);
		rc = CKPT_DAMAGED;
	}
	for (i = 0; rc == CKPT_OK && i < json_array_size(a); i++)
		rc = count_json(
		    json_array_get(a, i), "errors_by_type", &k->errors_by_type[i], why, len);
	json_decref(o);
	return rc;
}
