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

/*
 * Keys, payloads and times are written for every row, so they are put
 * together by hand rather than by snprintf(), byte for byte what the formats
 * in the comments give (tests/unit/store_sqlite.c compares the two).  A
 * piece is assembled in a buffer with room for the longest, then copied as
 * snprintf() would: cut to len - 1 bytes and terminated.
 */
#define STORE_FMT_MAX 160

/* The decimal digits of v, at least `width' of them (zeros in front), at p. */
static size_t
store_put_u64(char *p, uint64_t v, size_t width)
{
	char t[20];
	size_t n = 0, i;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = n; i < width; i++)
		*p++ = '0';
	for (i = 0; i < n; i++)
		p[i] = t[n - 1 - i];
	return (n < width ? width : n);
}

static size_t
store_put_str(char *p, const char *str, size_t max)
{
	size_t n = strnlen(str, max);

	memcpy(p, str, n);
	return n;
}

static void
store_put_out(char *buf, size_t len, const char *s, size_t n)
{
	if (len == 0)
		return;
	if (n >= len)
		n = len - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
}

/* "agent_%03llu" of agent + 1 */
static size_t
store_put_agent(char *p, uint32_t agent)
{
	memcpy(p, "agent_", 6);
	return 6 + store_put_u64(p + 6, (uint64_t)agent + 1, 3);
}

void
store_agent_id(char *buf, size_t len, uint32_t agent)
{
	char t[32];

	store_put_out(buf, len, t, store_put_agent(t, agent));
}

/*
 * "s%llu:%s:%u" of the seed, the op's agent_id (when the caller filled it in,
 * else the one its index gives) and the cycle: the session key, which the
 * order's and the events' keys continue.
 */
static size_t
store_put_session(char *p, const struct store_op *op)
{
	size_t n = 0;

	p[n++] = 's';
	n += store_put_u64(p + n, op->seed, 0);
	p[n++] = ':';
	if (op->agent_id[0] != '\0' && memchr(op->agent_id, '\0', sizeof(op->agent_id)))
		n += store_put_str(p + n, op->agent_id, sizeof(op->agent_id));
	else
		n += store_put_agent(p + n, op->agent);
	p[n++] = ':';
	return n + store_put_u64(p + n, op->cycle, 0);
}

void
store_session_key(char *buf, size_t len, const struct store_op *op)
{
	char t[STORE_FMT_MAX];

	store_put_out(buf, len, t, store_put_session(t, op));
}

/* "s%llu:%s:%u:order" */
void
store_order_key(char *buf, size_t len, const struct store_op *op)
{
	char t[STORE_FMT_MAX];
	size_t n = store_put_session(t, op);

	memcpy(t + n, ":order", 6);
	store_put_out(buf, len, t, n + 6);
}

/* "s%llu:%s:%u:%u:%u": the session's key, the step, the index */
void
store_event_key(char *buf, size_t len, const struct store_op *op, const struct store_event *ev)
{
	char t[STORE_FMT_MAX];
	size_t n = store_put_session(t, op);

	t[n++] = ':';
	n += store_put_u64(t + n, ev->step, 0);
	t[n++] = ':';
	n += store_put_u64(t + n, ev->index, 0);
	store_put_out(buf, len, t, n);
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

/* "{\"NAME\":%lu" then, with a second name, ",\"NAME2\":%lu", then "}" */
static size_t
store_put_json(char *p, const char *name, uint64_t a, const char *name2, uint64_t b)
{
	size_t n = 0;

	n += store_put_str(p + n, "{\"", 2);
	n += store_put_str(p + n, name, 32);
	n += store_put_str(p + n, "\":", 2);
	n += store_put_u64(p + n, a, 0);
	if (name2 != NULL) {
		n += store_put_str(p + n, ",\"", 2);
		n += store_put_str(p + n, name2, 32);
		n += store_put_str(p + n, "\":", 2);
		n += store_put_u64(p + n, b, 0);
	}
	p[n++] = '}';
	return n;
}

void
store_event_payload(char *buf, size_t len, const struct store_event *ev)
{
	uint64_t id = ev->product_id, v = ev->value;
	char t[STORE_FMT_MAX];
	size_t n;

	switch (ev->type) {
	case EV_VIEW: n = store_put_json(t, "product_id", id, "price_cents", v); break;
	case EV_CART_ADD: n = store_put_json(t, "product_id", id, "quantity", v); break;
	case EV_COUPONS_VIEWED: n = store_put_json(t, "eligible", v, NULL, 0); break;
	case EV_COUPON_APPLIED: n = store_put_json(t, "coupon_id", id, NULL, 0); break;
	case EV_CHECKOUT: n = store_put_json(t, "total_cents", v, NULL, 0); break;
	case EV_ABANDON: n = store_put_json(t, "cart_cents", v, NULL, 0); break;
	default: n = store_put_str(t, "{}", 2); break;
	}
	store_put_out(buf, len, t, n);
}

/* strftime()'s "%Y-%m-%dT%H:%M:%SZ" of gmtime_r(), which times outside years 1000-9999 take */
static void
store_time_libc(char *buf, size_t len, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (len == 0)
		return;
	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		buf[0] = '\0';
}

#define STORE_T_Y1000 INT64_C(-30610224000)  /* 1000-01-01T00:00:00Z */
#define STORE_T_Y10000 INT64_C(253402300800) /* 10000-01-01T00:00:00Z */

void
store_time_iso(char *buf, size_t len, int64_t t)
{
	int64_t days, sec, era, doe, yoe, doy, mp, y, m, d;
	char s[24];

	if (t < STORE_T_Y1000 || t >= STORE_T_Y10000 || len < 21) {
		store_time_libc(buf, len, t);
		return;
	}
	days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	sec = t - days * 86400;
	/* civil_from_days (H. Hinnant): the proleptic Gregorian date of a day */
	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = yoe + era * 400 + (m <= 2);
	store_put_u64(s, (uint64_t)y, 4);
	s[4] = '-';
	store_put_u64(s + 5, (uint64_t)m, 2);
	s[7] = '-';
	store_put_u64(s + 8, (uint64_t)d, 2);
	s[10] = 'T';
	store_put_u64(s + 11, (uint64_t)(sec / 3600), 2);
	s[13] = ':';
	store_put_u64(s + 14, (uint64_t)(sec / 60 % 60), 2);
	s[16] = ':';
	store_put_u64(s + 17, (uint64_t)(sec % 60), 2);
	s[19] = 'Z';
	store_put_out(buf, len, s, 20);
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
