/*
 * params.h - a run's parameters, defined once.
 *
 * One table (params.c) names each parameter of a run with its type, where it
 * sits in struct run_params, the simd.conf key that gives its default and its
 * bounds, whether `start' takes it (and as which simctl flag, with its help
 * line), and whether checkpoints record it.  The start method's check, the
 * checkpoint codec, status and simctl's flags and help all read this table:
 * adding a run parameter is adding a field and a row.
 */
#ifndef SIM_PARAMS_H
#define SIM_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sim/calendar.h"
#include "sim/shard.h"
#include "sim/shopper.h"

struct sim_config;

#define RUN_ID_MAX 40
#define WEEKDAY_MIX_MAX 128 /* bytes of the weekday_mix text, its NUL included */
#define WRITE_MODE_MAX 16   /* bytes of a write mode's name, its NUL included */

struct run_params {
	char run_id[RUN_ID_MAX]; /* empty: a new one is made */
	uint64_t seed;
	uint32_t agents;
	uint32_t cycles;   /* 0: until hours or stop */
	double hours;      /* 0: until cycles or stop */
	uint32_t tick;     /* simulated minutes per cycle */
	double time_scale; /* 0: as fast as possible */
	int64_t sim_start;
	uint32_t max_concurrent;
	uint32_t max_retries;
	uint32_t retry_backoff_ms;
	double retry_window;
	double max_error_rate; /* the run fails when a larger share of its sessions failed */
	uint32_t catalog_products, catalog_stores, catalog_coupons;
	int all_shop;
	/* The shopper model (docs/realism.md): checkpoints keep it, so a resume shops alike. */
	struct shopper_opts shop;
	char weekday_mix[WEEKDAY_MIX_MAX];
	char calendar[CALENDAR_TEXT_MAX + 1];
	uint32_t *only; /* sorted agent indices to run, NULL: all; owned by the holder */
	uint32_t nonly;
	struct shard shard; /* the slice of the population this daemon runs (shard.h) */
	char write_mode[WRITE_MODE_MAX]; /* "realistic" or "bulk" (store_setup.bulk) */
};

enum param_type {
	PARAM_U32,
	PARAM_U64,
	PARAM_DOUBLE,
	PARAM_BOOL,
	PARAM_TIME,
	PARAM_RUN_ID, /* printable text of fewer than RUN_ID_MAX bytes */
	PARAM_AGENTS, /* start: ["agent_007", ...]; checkpoints: [6, ...] */
	PARAM_TEXT,   /* a char array of max bytes (its NUL included), from a string key */
	PARAM_SHARD,  /* "I/N" or "" (struct shard), from a string key */
	PARAM_CHOICE, /* one of the words of its string key (config_choices), as PARAM_TEXT */
};

#define PARAM_START 0x1 /* start takes it (simctl start --FLAG) */
#define PARAM_CKPT 0x2  /* checkpoints record it; a resume restores it */
#define PARAM_CKPT_NEW \
	0x4 /* recorded since a later version: an older checkpoint gives the
                            * key's built-in default */

struct param_def {
	const char *name; /* in start's params and status's "params" */
	enum param_type type;
	size_t offset;   /* in struct run_params */
	const char *key; /* the simd.conf key of its default and bounds, or NULL */
	double min, max; /* the bounds of a parameter without a key */
	int flags;
	const char *ckpt;        /* its name in a checkpoint's params, if PARAM_CKPT */
	const char *flag, *meta; /* simctl start --flag META (with PARAM_START) */
	const char *help;        /* simctl's help line */
	const char *wants;       /* what a bad value should have been, said plainly */
};

extern const struct param_def param_defs[];
extern const size_t param_ndefs;

const struct param_def *param_find(const char *name);

/* The defaults of a new run: every parameter from its config key (all_shop off). */
void params_from_config(struct run_params *p, const struct sim_config *c);
/*
 * start's params over the defaults already in p: each value checked against its
 * bounds.  With cfg, the agents list is also checked against the population
 * (agents given, or cfg's); without, only its form.  Unknown names are not
 * this function's business (the caller allows its own).  0, or -1 with a message.
 */
int params_from_json(
    struct run_params *p, const json_t *o, const struct sim_config *cfg, char *err, size_t errlen);
/* The parameters carrying all of flags, as a checkpoint (names: ckpt) or status writes them. */
json_t *params_to_json(const struct run_params *p, int flags);
/* What a resume can rely on (printable run id, agents, finite >= 0 reals, a sorted list). */
int params_check(const struct run_params *p, char *why, size_t len);
/* A checkpoint's params: every PARAM_CKPT one, checked; 0, or -1 with why (p then freed
 * by params_clear). */
int params_from_ckpt(struct run_params *p, const json_t *o, char *why, size_t len);
void params_clear(struct run_params *p); /* frees only */
/* A deep copy (the agents list too); 0, or -1 out of memory. */
int params_copy(struct run_params *dst, const struct run_params *src);

/*
 * Narrows the agents list to p's shard (a no-op when not sharded): the list
 * becomes the agents of the list, or of the population, that the shard owns.
 * 0, or -1 with a message (the shard owns none of them, out of memory).
 */
int params_shard_apply(struct run_params *p, char *err, size_t errlen);

/* "agent_007" -> 6; -1 when s is not an agent id. */
long long params_agent_index(const char *s);

#endif
