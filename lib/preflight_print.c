/*
 * preflight_print.c - a preflight as text, one line per check, and its exit
 * status, both from preflight_json()'s object: simd --preflight and simctl
 * preflight print the same lines from the same code.  Jansson only, so that
 * simctl links it without the database's library.
 */
#include <stdio.h>
#include <string.h>

#include "sim/preflight.h"

int
preflight_exit_status(const json_t *j)
{
	const char *w = json_string_value(json_object_get(j, "worst"));

	if (w != NULL && strcmp(w, "ok") == 0)
		return 0;
	if (w != NULL && strcmp(w, "warn") == 0)
		return 1;
	return 2; /* fail, or an answer that says nothing: not a pass */
}

int
preflight_print(FILE *f, const json_t *j)
{
	const json_t *c;
	size_t i;

	json_array_foreach (json_object_get(j, "checks"), i, c) {
		const char *level = json_string_value(json_object_get(c, "level"));
		const char *name = json_string_value(json_object_get(c, "name"));
		const char *value = json_string_value(json_object_get(c, "value"));
		const char *th = json_string_value(json_object_get(c, "threshold"));
		int has_th = th != NULL && th[0] != '\0';

		fprintf(f, "%-4s  %-16s %s%s%s%s\n", level ? level : "?", name ? name : "?",
		    value ? value : "", has_th ? " (" : "", has_th ? th : "", has_th ? ")" : "");
	}
	return preflight_exit_status(j);
}
