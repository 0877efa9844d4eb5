/*
 * llmd_model.c - llmd's behaviours per model, its requests-per-window limit
 * and its counters.  No I/O here, so tests/unit/llmd.c can drive it with its
 * own clock.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmd.h"

static const char *const llmd_kind_names[LLMD_KINDS] = {
	"persona",
	"persona-fenced",
	"garbage",
	"notpersona",
	"outofrange",
	"partial",
	"truncated",
	"429",
	"503",
	"404",
	"500",
	"hang",
};

#define LLMD_DELAY_MAX 600000 /* ms */
#define LLMD_RETRY_AFTER_MAX 86400
#define LLMD_TIMES_MAX 1000000000L

const char *
llmd_kind_name(enum llmd_kind k)
{
	return k < LLMD_KINDS ? llmd_kind_names[k] : "?";
}

int
llmd_kind_is_error(enum llmd_kind k)
{
	return k == LLMD_E429 || k == LLMD_E503 || k == LLMD_E404 || k == LLMD_E500;
}

/* A whole decimal number in [lo, hi]. */
static int
llmd_number(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int
llmd_spec_kind(const char *word, struct llmd_spec *sp, char *err, size_t errlen)
{
	long v;
	int k;

	if (strncmp(word, "slow=", 5) == 0) {
		if (llmd_number(word + 5, 0, LLMD_DELAY_MAX, &v) != 0) {
			snprintf(err, errlen, "slow=MS needs MS from 0 to %d", LLMD_DELAY_MAX);
			return -1;
		}
		sp->kind = LLMD_PERSONA;
		sp->delay_ms = (int)v;
		return 0;
	}
	for (k = 0; k < LLMD_KINDS; k++) {
		if (strcmp(word, llmd_kind_names[k]) == 0) {
			sp->kind = (enum llmd_kind)k;
			return 0;
		}
	}
	snprintf(err, errlen,
	    "unknown behaviour \"%.40s\" (persona, persona-fenced, garbage, "
	    "notpersona, outofrange, partial, truncated, 429, 503, 404, 500, hang, slow=MS)",
	    word);
	return -1;
}

static int
llmd_spec_option(const char *opt, struct llmd_spec *sp, char *err, size_t errlen)
{
	long v;

	if (strncmp(opt, "retry-after=", 12) == 0) {
		if (sp->kind != LLMD_E429 && sp->kind != LLMD_E503) {
			snprintf(err, errlen, "retry-after applies to 429 and 503 only");
			return -1;
		}
		if (llmd_number(opt + 12, 0, LLMD_RETRY_AFTER_MAX, &v) == 0) {
			sp->retry_after = (int)v;
			return 0;
		}
		snprintf(err, errlen, "retry-after=S needs S from 0 to %d", LLMD_RETRY_AFTER_MAX);
	} else if (strncmp(opt, "delay=", 6) == 0) {
		if (llmd_number(opt + 6, 0, LLMD_DELAY_MAX, &v) == 0) {
			sp->delay_ms = (int)v;
			return 0;
		}
		snprintf(err, errlen, "delay=MS needs MS from 0 to %d", LLMD_DELAY_MAX);
	} else if (strncmp(opt, "times=", 6) == 0) {
		if (llmd_number(opt + 6, 1, LLMD_TIMES_MAX, &v) == 0) {
			sp->times = v;
			return 0;
		}
		snprintf(err, errlen, "times=N needs N from 1 to %ld", LLMD_TIMES_MAX);
	} else {
		snprintf(err, errlen, "unknown option \"%.40s\" (retry-after=S, delay=MS, times=N)",
		    opt);
	}
	return -1;
}

int
llmd_spec_parse(const char *s, struct llmd_spec *out, char *err, size_t errlen)
{
	struct llmd_spec sp = { LLMD_PERSONA, -1, 0, -1 };
	char buf[LLMD_SPEC_MAX], *word, *save = NULL;
	int first = 1;

	if (strlen(s) >= sizeof(buf) || *s == '\0') {
		snprintf(err, errlen, "a behaviour must have 1 to %zu bytes", sizeof(buf) - 1);
		return -1;
	}
	memcpy(buf, s, strlen(s) + 1);
	for (word = strtok_r(buf, ",", &save); word != NULL; word = strtok_r(NULL, ",", &save)) {
		if (first ? llmd_spec_kind(word, &sp, err, errlen) != 0
			  : llmd_spec_option(word, &sp, err, errlen) != 0)
			return -1;
		first = 0;
	}
	if (first) {
		snprintf(err, errlen, "empty behaviour");
		return -1;
	}
	*out = sp;
	return 0;
}

void
llmd_spec_format(const struct llmd_spec *s, char *buf, size_t len)
{
	int n;

	n = snprintf(buf, len, "%s", llmd_kind_name(s->kind));
	if (s->retry_after >= 0 && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, ",retry-after=%d", s->retry_after);
	if (s->delay_ms > 0 && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, ",delay=%d", s->delay_ms);
	if (s->times >= 0 && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, ",times=%ld", s->times);
}

struct llmd_spec
llmd_spec_take(struct llmd_spec *s)
{
	struct llmd_spec now = *s;

	if (s->times > 0 && --s->times == 0) {
		s->kind = LLMD_PERSONA;
		s->retry_after = -1;
		s->delay_ms = 0;
		s->times = -1;
	}
	return now;
}

/* Models. */

void
llmd_models_init(struct llmd_models *ms)
{
	memset(ms, 0, sizeof(*ms));
	snprintf(ms->other.name, sizeof(ms->other.name), "*");
	ms->other.spec = (struct llmd_spec){ LLMD_E404, -1, 0, -1 };
}

/* Printable ASCII without spaces, commas or '=': what model ids look like. */
int
llmd_name_ok(const char *name)
{
	size_t len = strlen(name), i;

	if (len == 0 || len >= LLMD_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (name[i] <= ' ' || name[i] > '~' || name[i] == ',' || name[i] == '=')
			return 0;
	return 1;
}

struct llmd_model *
llmd_models_find(struct llmd_models *ms, const char *name)
{
	size_t i;

	for (i = 0; i < ms->n; i++)
		if (strcmp(ms->m[i].name, name) == 0)
			return &ms->m[i];
	return &ms->other;
}

int
llmd_models_set(struct llmd_models *ms, const char *name, const struct llmd_spec *spec, char *err,
    size_t errlen)
{
	struct llmd_model *m;

	if (!llmd_name_ok(name)) {
		snprintf(err, errlen,
		    "a model name must be 1 to %d printable bytes without "
		    "spaces, ',' or '='",
		    LLMD_NAME_MAX - 1);
		return -1;
	}
	m = llmd_models_find(ms, name);
	if (spec == NULL) {
		if (m != &ms->other)
			*m = ms->m[--ms->n];
		return 0;
	}
	if (m == &ms->other) {
		if (ms->n == LLMD_MODELS_MAX) {
			snprintf(err, errlen, "at most %d models", LLMD_MODELS_MAX);
			return -1;
		}
		m = &ms->m[ms->n++];
		memset(m, 0, sizeof(*m));
		snprintf(m->name, sizeof(m->name), "%s", name);
	}
	m->spec = *spec;
	return 0;
}

int
llmd_models_set_arg(struct llmd_models *ms, const char *arg, char *err, size_t errlen)
{
	const char *eq = strchr(arg, '=');
	char name[LLMD_NAME_MAX];
	struct llmd_spec sp;

	if (eq == NULL || (size_t)(eq - arg) >= sizeof(name)) {
		snprintf(err, errlen, "expected NAME=BEHAVIOUR");
		return -1;
	}
	memcpy(name, arg, (size_t)(eq - arg));
	name[eq - arg] = '\0';
	if (llmd_spec_parse(eq + 1, &sp, err, errlen) != 0)
		return -1;
	return llmd_models_set(ms, name, &sp, err, errlen);
}

json_t *
llmd_models_json(const struct llmd_models *ms)
{
	json_t *o = json_object();
	char buf[LLMD_SPEC_MAX];
	size_t i;

	for (i = 0; o != NULL && i < ms->n; i++) {
		llmd_spec_format(&ms->m[i].spec, buf, sizeof(buf));
		json_object_set_new(o, ms->m[i].name, json_string(buf));
	}
	return o;
}

/* The window. */

int
llmd_window_set(struct llmd_window *w, unsigned limit, double span)
{
	double *stamp = NULL;

	if (limit > 0 && (stamp = calloc(limit, sizeof(*stamp))) == NULL)
		return -1;
	free(w->stamp);
	w->stamp = stamp;
	w->limit = limit;
	w->head = w->count = 0;
	w->span = span;
	return 0;
}

void
llmd_window_clear(struct llmd_window *w)
{
	free(w->stamp);
	memset(w, 0, sizeof(*w));
}

/* Forgets admissions that left the window; the oldest is at head. */
static void
llmd_window_expire(struct llmd_window *w, double now)
{
	while (w->count > 0 && w->stamp[w->head] <= now - w->span) {
		w->head = (w->head + 1) % w->limit;
		w->count--;
	}
}

int
llmd_window_admit(struct llmd_window *w, double now, double *wait)
{
	if (w->limit == 0)
		return 1;
	llmd_window_expire(w, now);
	if (w->count == w->limit) {
		*wait = w->stamp[w->head] + w->span - now;
		return 0;
	}
	w->stamp[(w->head + w->count) % w->limit] = now;
	w->count++;
	return 1;
}

unsigned
llmd_window_remaining(struct llmd_window *w, double now)
{
	if (w->limit == 0)
		return 0;
	llmd_window_expire(w, now);
	return w->limit - w->count;
}

double
llmd_window_reset(struct llmd_window *w, double now)
{
	if (w->limit == 0)
		return 0.0;
	llmd_window_expire(w, now);
	if (w->count == 0)
		return 0.0;
	return w->stamp[(w->head + w->count - 1) % w->limit] + w->span - now;
}

/* "1.5s" for 1500 ms: Go's way, which OpenAI's headers follow. */
static void
llmd_fraction(long ms, char *buf, size_t len)
{
	char frac[4];
	int n = 3;

	snprintf(frac, sizeof(frac), "%03ld", ms % 1000);
	while (n > 0 && frac[n - 1] == '0')
		frac[--n] = '\0';
	snprintf(buf, len, "%ld.%ss", ms / 1000, frac);
}

void
llmd_duration(double secs, char *buf, size_t len)
{
	long ms = secs <= 0.0 ? 0 : (long)ceil(secs * 1000.0);

	if (ms < 1000)
		snprintf(buf, len, "%ldms", ms);
	else if (ms < 60000 && ms % 1000 == 0)
		snprintf(buf, len, "%lds", ms / 1000);
	else if (ms < 60000)
		llmd_fraction(ms, buf, len);
	else
		snprintf(buf, len, "%ldm%lds", ms / 60000, (ms % 60000 + 999) / 1000);
}

/* Counters. */

static json_t *
llmd_model_json(const struct llmd_model *m)
{
	return json_pack("{sIsIsI}", "asked", (json_int_t)m->asked, "tried", (json_int_t)m->tried,
	    "answered", (json_int_t)m->answered);
}

static json_t *
llmd_by_model_json(const struct llmd_models *ms)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; o != NULL && i < ms->n; i++)
		json_object_set_new(o, ms->m[i].name, llmd_model_json(&ms->m[i]));
	if (o != NULL && ms->other.tried > 0)
		json_object_set_new(o, ms->other.name, llmd_model_json(&ms->other));
	return o;
}

static json_t *
llmd_by_status_json(const struct llmd_stats *st)
{
	json_t *o = json_object();
	char code[8];
	int i;

	for (i = 0; o != NULL && i < LLMD_STATUS_MAX; i++) {
		if (st->status[i] == 0)
			continue;
		snprintf(code, sizeof(code), "%d", i);
		json_object_set_new(o, code, json_integer((json_int_t)st->status[i]));
	}
	return o;
}

int
llmd_stats_init(struct llmd_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->agent_seen = calloc(LLMD_AGENTS_MAX / 8, 1);
	return st->agent_seen != NULL ? 0 : -1;
}

void
llmd_stats_clear(struct llmd_stats *st)
{
	free(st->agent_seen);
	memset(st, 0, sizeof(*st));
}

void
llmd_stats_agent(struct llmd_stats *st, uint32_t agent)
{
	uint8_t bit = (uint8_t)(1u << (agent % 8));

	if (agent >= LLMD_AGENTS_MAX || st->agent_seen == NULL)
		return;
	if (st->agent_seen[agent / 8] & bit) {
		st->agents_again++;
	} else {
		st->agent_seen[agent / 8] |= bit;
		st->agents++;
	}
}

json_t *
llmd_stats_json(const struct llmd_stats *st, const struct llmd_models *ms)
{
	return json_pack("{sIsIsIsIsIsIsIsIsisisoso}", "requests", (json_int_t)st->requests,
	    "answered", (json_int_t)st->status[200], "agents", (json_int_t)st->agents,
	    "agents_again", (json_int_t)st->agents_again, "rate_limited",
	    (json_int_t)st->rate_limited, "rpm_limited", (json_int_t)st->rpm_limited, "abandoned",
	    (json_int_t)st->abandoned, "json_format", (json_int_t)st->json_format, "in_flight",
	    (int)st->in_flight, "max_concurrent", (int)st->max_in_flight, "by_status",
	    llmd_by_status_json(st), "by_model", llmd_by_model_json(ms));
}

void
llmd_stats_reset(struct llmd_stats *st, struct llmd_models *ms)
{
	unsigned in_flight = st->in_flight;
	uint8_t *seen = st->agent_seen;
	size_t i;

	memset(st, 0, sizeof(*st));
	st->in_flight = st->max_in_flight = in_flight;
	st->agent_seen = seen;
	if (seen != NULL)
		memset(seen, 0, LLMD_AGENTS_MAX / 8);
	for (i = 0; i < ms->n; i++)
		ms->m[i].asked = ms->m[i].tried = ms->m[i].answered = 0;
	ms->other.asked = ms->other.tried = ms->other.answered = 0;
}
