/*
 * preflight.h - the checks before a run (simd --preflight): what the data
 * directory, the machine and the database say against what the configuration
 * will ask of them.  Synchronous and blocking: simd --preflight runs it before
 * the loop exists, the preflight method (cmd_preflight.c) on a thread of its own.
 */
#ifndef SIM_PREFLIGHT_H
#define SIM_PREFLIGHT_H

#include <stddef.h>
#include <stdio.h>

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

/*
 * Runs every check that applies to c; the worst level found.  held: database
 * connections the running daemon's pool holds already (0 before it runs):
 * they count as room for pool_max, and the full-pool test opens the rest.
 * Touches nothing but c and out: safe on a thread of its own.
 */
enum preflight_level
preflight_run(const struct sim_config *c, unsigned held, struct preflight *out);
/* A check added to p (the last one overwritten when p is full). */
struct preflight_check *
preflight_add(struct preflight *p, const char *name, enum preflight_level l);
const char *preflight_level_name(enum preflight_level l); /* "ok", "warn", "fail" */
/* {"checks": [{"name", "level", "value", "threshold"}], "worst"}; NULL out of memory. */
json_t *preflight_json(const struct preflight *p);

/* preflight_remote.c: the shop API (shop_api_url set), the LLM endpoint (persona_source = llm). */
void preflight_shop(const struct sim_config *c, struct preflight *p);
void preflight_llm(const struct sim_config *c, struct preflight *p);

/* preflight_print.c: from preflight_json()'s object, for simd and simctl alike. */
/* One line per check: level, name, value, (threshold); returns the exit status. */
int preflight_print(FILE *f, const json_t *j);
/* 0 when the worst is ok, 1 warn, 2 fail (or no verdict). */
int preflight_exit_status(const json_t *j);

/* Bytes a run of this many agents needs, as bench measured (bench/README) with room. */
#define PREFLIGHT_BYTES_PER_AGENT 2048
#define PREFLIGHT_BASE_BYTES (64ULL << 20)

#endif
