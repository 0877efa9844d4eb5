/* thresholds.c - healthy, warning, critical (see thresholds.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/thresholds.h"

const char *const thresholds_names[TH_N] = {
	[TH_CYCLE_S] = "cycle_s",
	[TH_LATENCY_MS] = "latency_ms",
	[TH_WRITES_PER_S] = "writes_per_s",
	[TH_CPU_PCT] = "cpu_pct",
	[TH_MEMORY_GB] = "memory_gb",
	[TH_DB_CONNECTIONS] = "db_connections",
	[TH_ERRORS_PER_CYCLE] = "errors_per_cycle",
};

void
thresholds_default(struct thresholds *t)
{
	char err[8];

	memset(t, 0, sizeof(*t));
	(void)thresholds_parse(t, THRESHOLDS_DEFAULT, err, sizeof(err));
}

static int
parse_num(const char *s, const char *end, double *out)
{
	char buf[32], *e;
	size_t n = (size_t)(end - s);

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	*out = strtod(buf, &e);
	return *e != '\0' || errno != 0 || !isfinite(*out) || *out < 0 ? -1 : 0;
}

/* One NAME=WARN:CRIT of length n. */
static int
parse_one(struct thresholds *t, const char *s, size_t n, char *err, size_t errlen)
{
	const char *eq = memchr(s, '=', n),
		   *colon = eq ? memchr(eq, ':', n - (size_t)(eq - s)) : NULL;
	double w, c;
	int m;

	for (m = 0; eq != NULL && m < TH_N; m++)
		if (strlen(thresholds_names[m]) == (size_t)(eq - s) &&
		    strncmp(s, thresholds_names[m], (size_t)(eq - s)) == 0)
			break;
	if (eq == NULL || colon == NULL || m == TH_N) {
		snprintf(err, errlen,
		    "bad threshold \"%.*s\": it wants NAME=WARN:CRIT with NAME one of cycle_s, "
		    "latency_ms, writes_per_s, cpu_pct, memory_gb, db_connections, errors_per_cycle",
		    (int)(n > 40 ? 40 : n), s);
		return -1;
	}
	if (parse_num(eq + 1, colon, &w) != 0 || parse_num(colon + 1, s + n, &c) != 0) {
		snprintf(err, errlen, "bad threshold \"%.*s\": WARN and CRIT must be numbers >= 0",
		    (int)(n > 40 ? 40 : n), s);
		return -1;
	}
	t->warn[m] = w;
	t->crit[m] = c;
	return 0;
}

int
thresholds_parse(struct thresholds *t, const char *spec, char *err, size_t errlen)
{
	struct thresholds next = *t;
	const char *p = spec;

	while (p != NULL && *p != '\0') {
		size_t n = strcspn(p, " \t,");
		if (n > 0 && parse_one(&next, p, n, err, errlen) != 0)
			return -1;
		p += n;
		p += strspn(p, " \t,");
	}
	*t = next;
	return 0;
}

enum th_level
thresholds_level(const struct thresholds *t, enum th_metric m, double v)
{
	if (!isfinite(v))
		return TH_OK;
	if (t->warn[m] <= t->crit[m]) /* higher is worse */
		return v > t->crit[m] ? TH_CRIT : v >= t->warn[m] ? TH_WARN : TH_OK;
	return v < t->crit[m] ? TH_CRIT : v <= t->warn[m] ? TH_WARN : TH_OK;
}

json_t *
thresholds_json(const struct thresholds *t)
{
	json_t *o = json_object();

	for (int m = 0; o != NULL && m < TH_N; m++)
		if (json_object_set_new(
			o, thresholds_names[m], json_pack("[f, f]", t->warn[m], t->crit[m])) != 0) {
			json_decref(o);
			return NULL;
		}
	return o;
}

void
thresholds_from_json(struct thresholds *t, const json_t *o)
{
	for (int m = 0; m < TH_N; m++) {
		const json_t *a = json_object_get(o, thresholds_names[m]);
		if (json_is_array(a) && json_array_size(a) == 2 &&
		    json_is_number(json_array_get(a, 0)) && json_is_number(json_array_get(a, 1))) {
			t->warn[m] = json_number_value(json_array_get(a, 0));
			t->crit[m] = json_number_value(json_array_get(a, 1));
		}
	}
}
