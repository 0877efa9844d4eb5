/*
 * storekeys.c - what every store driver writes the same way: names,
 * deterministic keys, event payloads, times and users.persona, and the check
 * of an operation.  Built here, once, so that the sqlite and the postgres
 * drivers write byte-identical rows for the same run.  No loop, no driver.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "sim/catalog.h"
#include "sim/persona.h"
#include "sim/catalog.h"
#include "sim/store.h"

static const char *const store_err_names[STORE_ERR_COUNT] = {
	"ok",
	"connect",
	"timeout",
	"busy",
	"query",
	"data",
	"nomem",
	"closed",
	"disk",
	"fenced",
};

static const char *const store_op_names[STORE_OP_TYPES] = {
	"begin",
	"browse",
	"cart",
	"coupons",
	"checkout",
	"abandon",
	"fail",
};

static const char *const store_event_names[EV_TYPES] = {
	"session_start",
	"view",
	"cart_add",
	"coupons_viewed",
	"coupon_applied",
	"checkout",
	"abandon",
};

const char *
store_err_name(enum store_err e)
{
	return (unsigned)e < STORE_ERR_COUNT ? store_err_names[e] : "unknown";
}

int
store_err_transient(enum store_err e)
{
	return e == STORE_ERR_CONNECT || e == STORE_ERR_TIMEOUT || e == STORE_ERR_BUSY ||
	    e == STORE_ERR_DISK;
}

const char *
store_op_name(enum store_op_type t)
{
	return (unsigned)t < STORE_OP_TYPES ? store_op_names[t] : "unknown";
}

const char *
store_event_name(enum store_event_type t)
{
	return (unsigned)t < EV_TYPES ? store_event_names[t] : "unknown";
}

void
store_agent_id(char *buf, size_t len, uint32_t agent)
{
	snprintf(buf, len, "agent_%03llu", (unsigned long long)agent + 1);
}

/*
 * The op's agent_id when the caller filled it in, else the one its index gives.
 * buf has room for any uint32_t index, which op->agent_id need not have.
 */
static const char *
store_op_agent(const struct store_op *op, char *buf, size_t len)
{
	if (op->agent_id[0] != '\0' && memchr(op->agent_id, '\0', sizeof(op->agent_id)))
		return op->agent_id;
	store_agent_id(buf, len, op->agent);
	return buf;
}

void
store_session_key(char *buf, size_t len, const struct store_op *op)
{
	char id[24];

	snprintf(buf, len, "s%llu:%s:%u", (unsigned long long)op->seed,
	    store_op_agent(op, id, sizeof(id)), (unsigned)op->cycle);
}

void
store_order_key(char *buf, size_t len, const struct store_op *op)
{
	char id[24];

	snprintf(buf, len, "s%llu:%s:%u:order", (unsigned long long)op->seed,
	    store_op_agent(op, id, sizeof(id)), (unsigned)op->cycle);
}

void
store_event_key(char *buf, size_t len, const struct store_op *op, const struct store_event *ev)
{
	char id[24];

	snprintf(buf, len, "s%llu:%s:%u:%u:%u", (unsigned long long)op->seed,
	    store_op_agent(op, id, sizeof(id)), (unsigned)op->cycle, (unsigned)ev->step,
	    (unsigned)ev->index);
}

void
store_op_clear(struct store_op *op)
{
	op->err = STORE_OK;
	op->errmsg[0] = '\0';
	op->result_count = 0;
	op->rows = 0;
	op->permanent = 0;
	op->retry_after = -1;
}

const char *
store_op_invalid(const struct store_op *op)
{
	uint16_t i;

	if ((unsigned)op->type >= STORE_OP_TYPES)
		return "unknown operation type";
	if (op->nitems > STORE_MAX_ITEMS || op->nevents > STORE_MAX_EVENTS)
		return "too many items or events";
	if (op->type == STORE_OP_BROWSE && op->category >= CATALOG_CATEGORIES)
		return "category out of range";
	if (op->type == STORE_OP_ABANDON &&
	    (op->outcome == NULL ||
		(strcmp(op->outcome, "abandoned") != 0 && strcmp(op->outcome, "browsed") != 0)))
		return "outcome must be 'abandoned' or 'browsed'";
	if (op->type == STORE_OP_FAIL &&
	    (op->reason[0] == '\0' || memchr(op->reason, '\0', sizeof(op->reason)) == NULL))
		return "a failed session needs a reason";
	if (op->type == STORE_OP_CHECKOUT && op->nitems == 0)
		return "checkout without items";
	for (i = 0; i < op->nitems; i++)
		if (op->items[i].product_id == 0 || op->items[i].quantity == 0)
			return "item with product 0 or quantity 0";
	for (i = 0; i < op->nevents; i++) {
		if (op->events[i].type >= EV_TYPES)
			return "unknown event type";
		if (op->events[i].dt < 0 || op->events[i].dt > STORE_EVENT_DT_MAX)
			return "event time offset outside 0..86400 s";
	}
	return NULL;
}

void
store_event_payload(char *buf, size_t len, const struct store_event *ev)
{
	unsigned long id = ev->product_id, v = ev->value;

	switch (ev->type) {
	case EV_VIEW: snprintf(buf, len, "{\"product_id\":%lu,\"price_cents\":%lu}", id, v); break;
	case EV_CART_ADD: snprintf(buf, len, "{\"product_id\":%lu,\"quantity\":%lu}", id, v); break;
	case EV_COUPONS_VIEWED: snprintf(buf, len, "{\"eligible\":%lu}", v); break;
	case EV_COUPON_APPLIED: snprintf(buf, len, "{\"coupon_id\":%lu}", id); break;
	case EV_CHECKOUT: snprintf(buf, len, "{\"total_cents\":%lu}", v); break;
	case EV_ABANDON: snprintf(buf, len, "{\"cart_cents\":%lu}", v); break;
	default: snprintf(buf, len, "{}"); break;
	}
}

void
store_time_iso(char *buf, size_t len, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (len == 0)
		return;
	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		buf[0] = '\0';
}

/* ---- users.persona: jansson's compact dump ---- */

#define STORE_PERSONA_FLAGS (JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(9))

long
store_persona_json(const struct persona *p, char **buf, size_t *cap)
{
	json_t *j = persona_to_json(p);
	size_t n;

	if (j == NULL)
		return -1;
	/* one dump into the buffer there is (its reals are most of a user's set-up: printf),
	 * a second only when it has to grow */
	n = json_dumpb(j, *buf, *cap, STORE_PERSONA_FLAGS);
	if (n != 0 && n + 1 > *cap) {
		char *nb = realloc(*buf, n + 1);
		if (nb == NULL) {
			json_decref(j);
			return -1;
		}
		*buf = nb;
		*cap = n + 1;
		if (json_dumpb(j, *buf, n, STORE_PERSONA_FLAGS) != n)
			n = 0;
	}
	if (n == 0) {
		json_decref(j);
		return -1;
	}
	(*buf)[n] = '\0';
	json_decref(j);
	return (long)n;
}

const char *const store_sig_keys[STORE_SIG_KEYS] = {
	"catalog_version",
	"catalog_seed",
	"catalog_sim_start",
	"catalog_stores",
	"catalog_products",
	"catalog_coupons",
};

void
store_catalog_signature(const struct catalog *c, char val[STORE_SIG_KEYS][STORE_SIG_LEN])
{
	snprintf(val[0], STORE_SIG_LEN, "%d", CATALOG_VERSION);
	snprintf(val[1], STORE_SIG_LEN, "%llu", (unsigned long long)c->seed);
	snprintf(val[2], STORE_SIG_LEN, "%lld", (long long)c->sim_start);
	snprintf(val[3], STORE_SIG_LEN, "%lu", (unsigned long)c->nstores);
	snprintf(val[4], STORE_SIG_LEN, "%lu", (unsigned long)c->nproducts);
	snprintf(val[5], STORE_SIG_LEN, "%lu", (unsigned long)c->ncoupons);
}

const char *const store_keyed_names[STORE_KEYED] = {
	"order_items",
	"orders",
	"user_coupons",
	"interactions",
	"shopping_session_events",
	"shopping_sessions",
};

static const struct {
	const char *name, *table, *key;
} store_phases[STORE_P_DONE] = {
	{ "orders", "orders", "idem_key" },
	{ "interactions", "interactions", "interaction_key" },
	{ "events", "shopping_session_events", "event_key" },
	{ "sessions", "shopping_sessions", "session_key" },
};

const char *
store_phase_name(enum store_purge_phase p)
{
	return (unsigned)p < STORE_P_DONE ? store_phases[p].name : "done";
}

const char *
store_phase_table(enum store_purge_phase p)
{
	return (unsigned)p < STORE_P_DONE ? store_phases[p].table : NULL;
}

const char *
store_phase_key(enum store_purge_phase p)
{
	return (unsigned)p < STORE_P_DONE ? store_phases[p].key : NULL;
}

void
store_key_prefix(char *buf, size_t len, uint64_t seed)
{
	snprintf(buf, len, "s%llu:", (unsigned long long)seed);
}
