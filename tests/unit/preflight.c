/* preflight.c - a preflight's JSON, its lines and its exit status (preflight_print.c). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sim/preflight.h"

/* What preflight_print writes for p; the exit status in *rc.  Caller frees. */
static char *
printed(const struct preflight *p, int *rc)
{
	json_t *j = preflight_json(p);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	*rc = preflight_print(f, j);
	fclose(f);
	CHECK(preflight_exit_status(j) == *rc);
	json_decref(j);
	return buf;
}

int
main(void)
{
	struct preflight p;
	struct preflight_check *c;
	json_t *j;
	char *text;
	int rc;

	memset(&p, 0, sizeof(p));
	c = preflight_add(&p, "disk_free", PREFLIGHT_OK);
	snprintf(c->value, sizeof(c->value), "2048 MiB free");
	snprintf(c->threshold, sizeof(c->threshold), "warn below 1024 MiB");
	c = preflight_add(&p, "database_size", PREFLIGHT_OK);
	snprintf(c->value, sizeof(c->value), "7.3 MiB");
	text = printed(&p, &rc);
	CHECK(rc == 0);
	CHECK(strcmp(text,
		  "ok    disk_free        2048 MiB free (warn below 1024 MiB)\n"
		  "ok    database_size    7.3 MiB\n") == 0);
	free(text);

	/* the worst decides: a warning 1, a failure 2, whatever comes after it */
	c = preflight_add(&p, "connections", PREFLIGHT_WARN);
	text = printed(&p, &rc);
	CHECK(rc == 1);
	CHECK(strstr(text, "\nwarn  connections      \n") != NULL);
	free(text);
	preflight_add(&p, "pool_full", PREFLIGHT_FAIL);
	preflight_add(&p, "clock_skew", PREFLIGHT_OK);
	text = printed(&p, &rc);
	CHECK(rc == 2);
	free(text);
	j = preflight_json(&p);
	CHECK(strcmp(json_string_value(json_object_get(j, "worst")), "fail") == 0);
	CHECK(json_array_size(json_object_get(j, "checks")) == 5);
	json_decref(j);

	/* an answer without a verdict is no pass */
	j = json_object();
	CHECK(preflight_exit_status(j) == 2);
	json_decref(j);

	/* a full list keeps its last slot for the newest check */
	memset(&p, 0, sizeof(p));
	for (int i = 0; i < PREFLIGHT_MAX + 3; i++)
		preflight_add(&p, i < PREFLIGHT_MAX + 2 ? "x" : "last", PREFLIGHT_OK);
	CHECK(p.n == PREFLIGHT_MAX);
	CHECK(strcmp(p.c[PREFLIGHT_MAX - 1].name, "last") == 0);
	return CHECK_DONE();
}
