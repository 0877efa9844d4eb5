/* simctl.h - simctl's tables: its verbs, their flags and its global options. */
#ifndef SIMCTL_H
#define SIMCTL_H

#include <stddef.h>

#include <jansson.h>

/*
 * F_OPTNUM: a number that may follow the flag (--watch [SECS]); F_STR: any text;
 * F_ONOFF: on or off (yes/no), sent as true or false
 */
enum ftype { F_INT, F_NUM, F_BOOL, F_LIST, F_OPTNUM, F_STR, F_ONOFF };

struct vflag {
	const char *name; /* --name */
	const char *key;  /* params key */
	enum ftype type;
	const char *arg; /* metavariable */
	const char *help;
	const char *wants; /* what a bad value should have been, for the error */
	const char *needs; /* another flag it goes with, or NULL */
};

struct verb {
	const char *name;
	const char *method;
	const char *pos_key; /* one required positional integer, or NULL */
	const char *pos_arg;
	const char *pos_bounds; /* the config key of its bounds */
	int run_params;         /* the run's parameters (params.h) are flags too */
	const struct vflag *flags;
	void (*print)(const json_t *result);
	const char *help;
};

/* An option before the command (-s, --json...). */
struct gopt {
	const char *sh;  /* "-s", or NULL */
	const char *lo;  /* "--socket" */
	const char *arg; /* metavariable, or NULL when it takes no value */
	const char *help;
};

extern const struct verb verbs[];       /* the daemon's methods, NULL-terminated */
extern const struct verb local_verbs[]; /* help, completion: answered by simctl */
extern const struct gopt gopts[];

/* Flag i of v (0, 1, ...) into *out; 0 past the last. */
int verb_flag(const struct verb *v, size_t i, struct vflag *out);

/* simctl completion bash|zsh (completion.c): the exit status. */
int completion_main(int argc, char **argv);

#endif
