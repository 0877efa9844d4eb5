/* metrics.c - latency histograms. */
#include <math.h>
#include <time.h>

#include "sim/metrics.h"

static unsigned
bucket_of(uint64_t us)
{
	unsigned e, sub;

	if (us < HIST_SUB)
		return (unsigned)us;
	e = 63u - (unsigned)__builtin_clzll(us); /* floor(log2 us) >= 3 */
	sub = (unsigned)(us >> (e - 3)) & (HIST_SUB - 1);
	e = (e - 2) * HIST_SUB + sub;
	return e < HIST_BUCKETS ? e : HIST_BUCKETS - 1;
}

static uint64_t
bucket_value(unsigned b)
{
	unsigned e, sub;

	if (b < HIST_SUB)
		return b;
	e = b / HIST_SUB + 2;
	sub = b % HIST_SUB;
	/* midpoint of the bucket */
	return ((uint64_t)(HIST_SUB + sub) << (e - 3)) + ((1ull << (e - 3)) >> 1);
}

void
hist_add(struct histogram *h, uint64_t us)
{
	h->count++;
	h->sum_us += us;
	if (us > h->max_us)
		h->max_us = us;
	h->bucket[bucket_of(us)]++;
}

uint64_t
hist_quantile(const struct histogram *h, double q)
{
	uint64_t rank, seen = 0;

	if (h->count == 0)
		return 0;
	rank = (uint64_t)(q * (double)(h->count - 1)) + 1;
	for (unsigned b = 0; b < HIST_BUCKETS; b++) {
		seen += h->bucket[b];
		if (seen >= rank) {
			uint64_t v = bucket_value(b);
			return v > h->max_us ? h->max_us : v;
		}
	}
	return h->max_us;
}

uint64_t
hist_count_le(const struct histogram *h, uint64_t us)
{
	uint64_t n = 0;

	for (unsigned b = 0; b < HIST_BUCKETS && bucket_value(b) <= us; b++)
		n += h->bucket[b];
	return n;
}

void
hist_since(struct histogram *out, const struct histogram *h, const struct histogram *before)
{
	*out = *h;
	if (before->count > h->count || before->sum_us > h->sum_us)
		return; /* reset since (a new run): all of h is new */
	out->count -= before->count;
	out->sum_us -= before->sum_us;
	for (unsigned b = 0; b < HIST_BUCKETS; b++)
		out->bucket[b] -=
		    h->bucket[b] >= before->bucket[b] ? before->bucket[b] : h->bucket[b];
}

json_t *
metrics_real(double v, int decimals)
{
	double scale = 1;

	while (decimals-- > 0)
		scale *= 10;
	if (!isfinite(v))
		return json_null();
	if (fabs(v) < 1e15 / scale)
		v = round(v * scale) / scale;
	return json_real(v);
}

/* Milliseconds from microseconds, to the microsecond the figure is measured in. */
static json_t *
ms_json(double us)
{
	return metrics_real(us / 1000.0, 3);
}

json_t *
hist_json(const struct histogram *h)
{
	return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o}", "count", (json_int_t)h->count, "avg_ms",
	    ms_json(h->count ? (double)h->sum_us / (double)h->count : 0.0), "p50_ms",
	    ms_json((double)hist_quantile(h, 0.50)), "p95_ms",
	    ms_json((double)hist_quantile(h, 0.95)), "p99_ms",
	    ms_json((double)hist_quantile(h, 0.99)), "max_ms", ms_json((double)h->max_us));
}

uint64_t
metrics_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
