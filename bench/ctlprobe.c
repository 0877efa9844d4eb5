/*
 * ctlprobe.c - times simctl status round trips, for make bench.
 *
 *	ctlprobe SOCKET SECONDS [INTERVAL_MS [SUBSCRIBERS SUB_INTERVAL_MS]]
 *
 * For SECONDS, does what "simctl status" does - connect to the control socket, send one
 * JSON-RPC "status" request, read the answer line, close - and then sleeps INTERVAL_MS
 * (default 10).  Each round trip is timed from connect() to the answer's end; process
 * start-up of simctl is left out, so the figure is the daemon's.  With SUBSCRIBERS, that
 * many connections subscribe (every SUB_INTERVAL_MS) meanwhile and are read between
 * round trips, as simctl top reads them: what subscribers cost the loop.  Prints one line:
 *	n=N p50_ms=X p99_ms=Y max_ms=Z errors=E [frames=F] sched=S
 * and exits 1 if no round trip succeeded.  The probe runs at real-time
 * priority where it may (S = fifo; else slice: a short time slice, or
 * default), so that its own wait for a CPU, on a machine the database keeps
 * busy, is not counted as the daemon's.  The client side is simctl's (lib/client.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/client.h"
#include "sim/metrics.h"
#include "sim/platform.h"
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

#define MAX_SUBSCRIBERS 256

/* SUBSCRIBERS connections, each subscribed every sub_ms; 0, or -1 (a message said why). */
static int
subscribe_all(const char *path, struct client **subs, size_t n, double sub_ms)
{
	enum client_err kind;
	char err[256];

	for (size_t i = 0; i < n; i++) {
		if ((subs[i] = client_open(path, &kind, err, sizeof(err))) == NULL ||
		    client_send(subs[i], SIM_M_SUBSCRIBE,
			json_pack("{s:i}", "interval_ms", (int)sub_ms), 1, err,
			sizeof(err)) != CLIENT_OK) {
			fprintf(stderr, "ctlprobe: subscriber %zu: %s\n", i, err);
			return -1;
		}
	}
	return 0;
}

/* Reads what the subscribers have been sent; the frames read. */
static size_t
drain_all(struct client **subs, size_t n)
{
	enum client_err kind;
	char err[256];
	size_t frames = 0;
	json_t *m;

	for (size_t i = 0; i < n; i++)
		while ((m = client_read(subs[i], 0, &kind, err, sizeof(err))) != NULL) {
			json_decref(m);
			frames++;
		}
	return frames;
}

int
main(int argc, char **argv)
{
	double secs, interval_ms = 10, end, *v = NULL, sub_ms = 0;
	size_t n = 0, cap = 0, errors = 0, nsubs = 0, frames = 0;
	struct client *subs[MAX_SUBSCRIBERS] = { NULL };
	const char *sched;

	if (argc != 3 && argc != 4 && argc != 6) {
		fprintf(stderr,
		    "usage: ctlprobe SOCKET SECONDS [INTERVAL_MS [SUBSCRIBERS SUB_INTERVAL_MS]]\n");
		return 2;
	}
	/* the probe's own wake-ups are not the daemon's latency: run before anything else */
	sched = platform_realtime() == 0     ? "fifo"
	    : platform_short_slice(100) == 0 ? "slice"
					     : "default";
	secs = parse_pos(argv[2], "duration");
	if (argc >= 4)
		interval_ms = parse_pos(argv[3], "interval");
	if (argc == 6) {
		nsubs = (size_t)parse_pos(argv[4], "subscribers");
		sub_ms = parse_pos(argv[5], "subscription interval");
		if (nsubs > MAX_SUBSCRIBERS || sub_ms < 100) {
			fprintf(stderr, "ctlprobe: at most %d subscribers, every 100 ms or more\n",
			    MAX_SUBSCRIBERS);
			return 2;
		}
		if (subscribe_all(argv[1], subs, nsubs, sub_ms) != 0)
			return 1;
	}
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
		frames += drain_all(subs, nsubs);
	}
	for (size_t i = 0; i < nsubs; i++)
		client_close(subs[i]);
	if (n == 0) {
		printf("n=0 errors=%zu\n", errors);
		return 1;
	}
	qsort(v, n, sizeof(*v), cmp_double);
	printf("n=%zu p50_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%zu", n, percentile(v, n, 50),
	    percentile(v, n, 99), v[n - 1], errors);
	if (nsubs > 0)
		printf(" frames=%zu", frames);
	printf(" sched=%s\n", sched);
	free(v);
	return 0;
}
