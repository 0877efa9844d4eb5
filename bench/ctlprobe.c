/*
 * ctlprobe.c - times simctl status round trips, for make bench.
 *
 *	ctlprobe SOCKET SECONDS [INTERVAL_MS]
 *
 * For SECONDS, does what "simctl status" does - connect to the control socket, send one
 * JSON-RPC "status" request, read the answer line, close - and then sleeps INTERVAL_MS
 * (default 10).  Each round trip is timed from connect() to the answer's end; process
 * start-up of simctl is left out, so the figure is the daemon's.  Prints one line:
 *	n=N p50_ms=X p99_ms=Y max_ms=Z errors=E
 * and exits 1 if no round trip succeeded.  The client side is simctl's (lib/client.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/client.h"
#include "sim/metrics.h"
#include "sim/proto.h"

#define ANSWER_TIMEOUT 30.0

/* One status round trip (what simctl does, less its start-up); ms, or < 0 on failure. */
static double
round_trip(const char *path)
{
	uint64_t t0 = metrics_now_us();
	enum client_err kind;
	char err[256];
	json_t *msg =
	    client_call(path, SIM_M_STATUS, NULL, ANSWER_TIMEOUT, &kind, err, sizeof(err));

	if (msg == NULL)
		return -1;
	json_decref(msg);
	return (double)(metrics_now_us() - t0) / 1e3;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of the sorted v[0..n-1], n > 0. */
static double
percentile(const double *v, size_t n, double pct)
{
	size_t rank = (size_t)(pct / 100.0 * (double)n + 0.999999);

	if (rank < 1)
		rank = 1;
	return v[(rank > n ? n : rank) - 1];
}

static double
parse_pos(const char *s, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || errno != 0 || !(v >= 0) || v > 86400) {
		fprintf(stderr, "ctlprobe: bad %s \"%s\"\n", what, s);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	double secs, interval_ms = 10, end, *v = NULL;
	size_t n = 0, cap = 0, errors = 0;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: ctlprobe SOCKET SECONDS [INTERVAL_MS]\n");
		return 2;
	}
	secs = parse_pos(argv[2], "duration");
	if (argc == 4)
		interval_ms = parse_pos(argv[3], "interval");
	end = (double)metrics_now_us() / 1e3 + secs * 1e3;
	while ((double)metrics_now_us() / 1e3 < end) {
		double t = round_trip(argv[1]);
		struct timespec pause = { (time_t)(interval_ms / 1e3),
			(long)((interval_ms - (double)(time_t)(interval_ms / 1e3) * 1e3) * 1e6) };

		if (t < 0) {
			errors++;
		} else {
			if (n == cap) {
				double *nv = realloc(v, (cap = cap ? cap * 2 : 1024) * sizeof(*v));
				if (nv == NULL) {
					fprintf(stderr, "ctlprobe: out of memory\n");
					free(v);
					return 1;
				}
				v = nv;
			}
			v[n++] = t;
		}
		nanosleep(&pause, NULL);
	}
	if (n == 0) {
		printf("n=0 errors=%zu\n", errors);
		return 1;
	}
	qsort(v, n, sizeof(*v), cmp_double);
	printf("n=%zu p50_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%zu\n", n, percentile(v, n, 50),
	    percentile(v, n, 99), v[n - 1], errors);
	free(v);
	return 0;
}
