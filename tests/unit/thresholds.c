/* thresholds.c - the plan's monitoring thresholds, a spec over them, lower-is-worse metrics. */
#include <string.h>

#include "check.h"
#include "sim/thresholds.h"

int
main(void)
{
	struct thresholds t, u;
	char err[256];
	json_t *o;

	thresholds_default(&t);
	/* cycle time < 60 s healthy, 60-120 warning, > 120 critical */
	CHECK(thresholds_level(&t, TH_CYCLE_S, 59.9) == TH_OK);
	CHECK(thresholds_level(&t, TH_CYCLE_S, 60) == TH_WARN);
	CHECK(thresholds_level(&t, TH_CYCLE_S, 120) == TH_WARN);
	CHECK(thresholds_level(&t, TH_CYCLE_S, 120.1) == TH_CRIT);
	/* writes/s > 100 healthy, 50-100 warning, < 50 critical: lower is worse */
	CHECK(thresholds_level(&t, TH_WRITES_PER_S, 101) == TH_OK);
	CHECK(thresholds_level(&t, TH_WRITES_PER_S, 100) == TH_WARN);
	CHECK(thresholds_level(&t, TH_WRITES_PER_S, 50) == TH_WARN);
	CHECK(thresholds_level(&t, TH_WRITES_PER_S, 49) == TH_CRIT);
	CHECK(thresholds_level(&t, TH_LATENCY_MS, 2500) == TH_CRIT);
	CHECK(thresholds_level(&t, TH_CPU_PCT, 75) == TH_WARN);
	CHECK(thresholds_level(&t, TH_MEMORY_GB, 13) == TH_CRIT);
	CHECK(thresholds_level(&t, TH_DB_CONNECTIONS, 52) == TH_WARN);
	CHECK(thresholds_level(&t, TH_ERRORS_PER_CYCLE, 4) == TH_OK);

	/* a spec changes only what it names */
	CHECK(thresholds_parse(&t, "cycle_s=30:90, writes_per_s=500:100", err, sizeof(err)) == 0);
	CHECK(thresholds_level(&t, TH_CYCLE_S, 45) == TH_WARN);
	CHECK(thresholds_level(&t, TH_WRITES_PER_S, 400) == TH_WARN);
	CHECK(thresholds_level(&t, TH_CPU_PCT, 75) == TH_WARN);
	CHECK(thresholds_parse(&t, "", err, sizeof(err)) == 0);

	/* a bad spec says why and changes nothing */
	u = t;
	CHECK(thresholds_parse(&t, "cycle_s=10:20 cpu=1:2", err, sizeof(err)) == -1);
	CHECK(strstr(err, "bad threshold \"cpu=1:2\"") != NULL);
	CHECK(memcmp(&t, &u, sizeof(t)) == 0);
	CHECK(thresholds_parse(&t, "cycle_s=a:2", err, sizeof(err)) == -1);
	CHECK(strstr(err, "must be numbers") != NULL);
	CHECK(thresholds_parse(&t, "cycle_s=-1:2", err, sizeof(err)) == -1);
	CHECK(thresholds_parse(&t, "cycle_s=1", err, sizeof(err)) == -1);

	/* through JSON (subscribe's frames carry them) and back */
	o = thresholds_json(&t);
	CHECK(o != NULL && json_array_size(json_object_get(o, "cycle_s")) == 2);
	thresholds_default(&u);
	thresholds_from_json(&u, o);
	CHECK(memcmp(&t, &u, sizeof(t)) == 0);
	json_decref(o);
	return CHECK_DONE();
}
