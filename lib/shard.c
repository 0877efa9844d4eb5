/* shard.c - a static shard of a run's population (see shard.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/shard.h"

/* Digits only, no sign or space, at most 6 of them; -1 otherwise. */
static long
shard_number(const char *s, const char *end)
{
	long v = 0;

	if (s == end || end - s > 6)
		return -1;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

int
shard_parse(const char *s, struct shard *out, char *why, size_t len)
{
	const char *slash = strchr(s, '/');
	long i, n;

	if (*s == '\0') {
		out->index = out->count = 0;
		return 0;
	}
	if (slash == NULL || (i = shard_number(s, slash)) < 0 ||
	    (n = shard_number(slash + 1, slash + 1 + strlen(slash + 1))) < 0) {
		snprintf(why, len, "must be I/N, shard I of N (like 0/3)");
		return -1;
	}
	if (n < 1 || n > SHARD_COUNT_MAX || i >= n) {
		snprintf(why, len, "must be I/N with 0 <= I < N <= %d (got %ld/%ld)",
		    SHARD_COUNT_MAX, i, n);
		return -1;
	}
	out->index = (uint32_t)i;
	out->count = (uint32_t)n;
	return 0;
}

void
shard_format(const struct shard *sh, char *buf, size_t len)
{
	if (sh->count == 0)
		snprintf(buf, len, "%s", "");
	else
		snprintf(buf, len, "%u/%u", sh->index, sh->count);
}

int
shard_owns(const struct shard *sh, uint32_t agent)
{
	return sh->count == 0 || agent % sh->count == sh->index;
}
