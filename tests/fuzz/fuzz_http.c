/*
 * fuzz_http.c - the HTTP response headers simd interprets: Retry-After
 * (http_parse_retry_after) and the x-ratelimit-reset-* durations
 * (http_parse_duration).
 *
 * Contract: -1 for anything invalid, otherwise a finite number of seconds
 * from 0 (a duration at most 1e9).
 */
#include <math.h>
#include <time.h>

#include "sim/http.h"

#include "fuzz.h"

/* A fixed "now" (2026-01-05T00:00:00Z): the same input, the same result. */
#define FUZZ_NOW ((time_t)1767571200)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size);
	double d, r;

	d = http_parse_duration(s);
	FUZZ_ASSERT(d == -1 || (isfinite(d) && d >= 0 && d <= 1e9));
	r = http_parse_retry_after(s, FUZZ_NOW);
	FUZZ_ASSERT(r == -1 || (isfinite(r) && r >= 0));
	free(s);
	return 0;
}
