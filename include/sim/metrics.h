/* metrics.h - counters and latency histograms for status and stats. */
#ifndef SIM_METRICS_H
#define SIM_METRICS_H

#include <stdint.h>

#include <jansson.h>

/* Log-linear buckets: 8 per power of two from 1 us to ~70 min; about 9 % precision. */
#define HIST_SUB 8
#define HIST_BUCKETS (HIST_SUB * 32)

struct histogram {
	uint64_t count;
	uint64_t sum_us;
	uint64_t max_us;
	uint32_t bucket[HIST_BUCKETS];
};

void hist_add(struct histogram *h, uint64_t us);
/* Value (us) at quantile q in [0, 1]; 0 when empty. */
uint64_t hist_quantile(const struct histogram *h, double q);
/*
 * Samples at most us, to the bucket (a bucket counts below a bound when its
 * middle is): the cumulative counts of a Prometheus histogram.
 */
uint64_t hist_count_le(const struct histogram *h, uint64_t us);
/* What was added to h since it was `before' (a copy taken then); zero if h was reset. */
void hist_since(struct histogram *out, const struct histogram *h, const struct histogram *before);
/* {"count", "avg_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms"} */
json_t *hist_json(const struct histogram *h);

/*
 * A JSON real rounded to what the figure means (ms: 3 decimals, seconds: 3);
 * dumped with JSON_DUMP_REALS they print as written, not as 0.068000000000000005.
 * null when v is not finite.
 */
json_t *metrics_real(double v, int decimals);
#define JSON_DUMP_REALS JSON_REAL_PRECISION(15)

/* Monotonic clock in microseconds. */
uint64_t metrics_now_us(void);

#endif
