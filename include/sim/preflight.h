/*
 * preflight.h - the checks before a run (simd --preflight): what the data
 * directory, the machine and the database say against what the configuration
 * will ask of them.  Synchronous: it runs before the daemon's loop exists.
 */
#ifndef SIM_PREFLIGHT_H
#define SIM_PREFLIGHT_H

#include <stddef.h>

#include <jansson.h>

struct sim_config;

enum preflight_level { PREFLIGHT_OK, PREFLIGHT_WARN, PREFLIGHT_FAIL };

#define PREFLIGHT_MAX 16
struct preflight_check {
	const char *name;
	enum preflight_level level;
	char value[160];     /* what was measured, or why it could not be */
	char threshold[120]; /* what it was held against; "" when nothing */
};

struct preflight {
	struct preflight_check c[PREFLIGHT_MAX];
	int n;
};

/* Runs every check that applies to c; the worst level found. */
enum preflight_level preflight_run(const struct sim_config *c, struct preflight *out);
const char *preflight_level_name(enum preflight_level l); /* "ok", "warn", "fail" */
/* {"checks": [{"name", "level", "value", "threshold"}], "worst"}; NULL out of memory. */
json_t *preflight_json(const struct preflight *p);

/* Bytes a run of this many agents needs, as bench measured (bench/README) with room. */
#define PREFLIGHT_BYTES_PER_AGENT 2048
#define PREFLIGHT_BASE_BYTES (64ULL << 20)

#endif
