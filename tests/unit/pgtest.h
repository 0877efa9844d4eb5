/* pgtest.h - what the unit tests that talk to a real PostgreSQL server share. */
#ifndef SIM_PGTEST_H
#define SIM_PGTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>
#include <libpq-fe.h>

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A persistent no-op timer keeps the loop turning while a test waits. */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
}

/* Runs the loop until *flag is set or secs have passed; 1 if the flag was set. */
static int
run_until(struct event_base *base, const int *flag, double secs)
{
	double end = now_s() + secs;

	while (!*flag && now_s() < end)
		event_base_loop(base, EVLOOP_ONCE);
	return *flag != 0;
}

static void
run_for(struct event_base *base, double secs)
{
	int never = 0;

	run_until(base, &never, secs);
}

/* Notice processor that keeps the server's NOTICEs out of the test output. */
static void
quiet(void *arg, const char *message)
{
}

/* The single integer a query returns, or -1 (the failure is printed). */
static long long
q_int(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	long long v = -1;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
		v = atoll(PQgetvalue(r, 0, 0));
	else if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fprintf(stderr, "query failed: %s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	return v;
}

#endif
