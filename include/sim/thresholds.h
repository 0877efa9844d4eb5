/*
 * thresholds.h - when a figure of a run is healthy, a warning or critical:
 * the plan's monitoring guide (cycle time < 60 s healthy, 60-120 warning,
 * > 120 critical; ...), overridable by a spec such as
 * "cycle_s=30:90 writes_per_s=500:100".  A metric whose warning bound is
 * above its critical one is one where lower is worse (writes per second).
 */
#ifndef SIM_THRESHOLDS_H
#define SIM_THRESHOLDS_H

#include <stddef.h>

#include <jansson.h>

enum th_metric {
	TH_CYCLE_S,          /* the last cycle's wall time */
	TH_LATENCY_MS,       /* a session's average latency */
	TH_WRITES_PER_S,     /* rows written per second */
	TH_CPU_PCT,          /* the daemon's CPU */
	TH_MEMORY_GB,        /* the daemon's RSS */
	TH_DB_CONNECTIONS,   /* connections in use */
	TH_ERRORS_PER_CYCLE, /* failed sessions in the current cycle */
	TH_N
};

enum th_level { TH_OK, TH_WARN, TH_CRIT };

struct thresholds {
	double warn[TH_N], crit[TH_N];
};

extern const char *const thresholds_names[TH_N]; /* "cycle_s", ... */
#define THRESHOLDS_DEFAULT                                                       \
	"cycle_s=60:120 latency_ms=1000:2000 writes_per_s=100:50 cpu_pct=70:90 " \
	"memory_gb=8:12 db_connections=50:55 errors_per_cycle=5:20"

void thresholds_default(struct thresholds *t);
/* Applies spec (NAME=WARN:CRIT, blank- or comma-separated) over t; -1 with a message. */
int thresholds_parse(struct thresholds *t, const char *spec, char *err, size_t errlen);
enum th_level thresholds_level(const struct thresholds *t, enum th_metric m, double v);
/* {"cycle_s": [60, 120], ...}; and back (keys it does not know are ignored). */
json_t *thresholds_json(const struct thresholds *t);
void thresholds_from_json(struct thresholds *t, const json_t *o);

#endif
