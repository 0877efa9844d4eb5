/* pgtest.h - what the unit tests that talk to a real PostgreSQL server share. */
#ifndef SIM_PGTEST_H
#define SIM_PGTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "sim/store.h"

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

/* A completion the test waits for (store_done_cb: done_cb). */
struct done {
	int done;
	enum store_err err;
	char msg[256];
};

static inline void
done_cb(enum store_err err, const char *msg, void *arg)
{
	struct done *d = arg;

	d->done = 1;
	d->err = err;
	snprintf(d->msg, sizeof(d->msg), "%s", msg != NULL ? msg : "");
}

static inline int
q_exec(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok)
		fprintf(stderr, "exec failed: %s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	return ok ? 0 : -1;
}

/* PG_URL's parameters as a conninfo string with dbname (and others) replaced. */
static inline int
make_conninfo(char *out, size_t len, const char *url, const char *const *over)
{
	PQconninfoOption *o = PQconninfoParse(url, NULL), *p;
	size_t n = 0;
	int i;

	if (o == NULL)
		return -1;
	out[0] = '\0';
	for (p = o; p->keyword != NULL; p++) {
		const char *v = p->val;

		for (i = 0; over != NULL && over[i] != NULL; i += 2)
			if (strcmp(over[i], p->keyword) == 0)
				v = over[i + 1];
		if (v == NULL)
			continue;
		n += (size_t)snprintf(out + n, len - n, "%s='", p->keyword);
		for (; *v != '\0' && n + 4 < len; v++) {
			if (*v == '\'' || *v == '\\')
				out[n++] = '\\';
			out[n++] = *v;
		}
		n += (size_t)snprintf(out + n, len - n, "' ");
	}
	PQconninfoFree(o);
	return n < len ? 0 : -1;
}

/*
 * A database of the test's own, db, made afresh through pg_url; its conninfo
 * goes to url, and the connection returned is the test's own on it (appname
 * its application_name), for checks.  NULL with the reason printed (who names
 * the test).
 */
static inline PGconn *
pgtest_db_create(
    const char *who, const char *pg_url, const char *db, const char *appname, char *url, size_t len)
{
	const char *over[] = { "dbname", db, NULL };
	PGconn *a = PQconnectdb(pg_url);
	char sql[128], admin[1200];

	PQsetNoticeProcessor(a, quiet, NULL);
	if (PQstatus(a) != CONNECTION_OK) {
		printf("%s: cannot connect to $PG_URL: %s", who, PQerrorMessage(a));
		PQfinish(a);
		return NULL;
	}
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", db);
	q_exec(a, sql);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
	if (q_exec(a, sql) != 0) {
		PQfinish(a);
		return NULL;
	}
	PQfinish(a);
	if (make_conninfo(url, len, pg_url, over) != 0)
		return NULL;
	snprintf(admin, sizeof(admin), "%s application_name=%s", url, appname);
	a = PQconnectdb(admin);
	PQsetNoticeProcessor(a, quiet, NULL);
	if (PQstatus(a) == CONNECTION_OK)
		return a;
	PQfinish(a);
	return NULL;
}

/* Closes the test's connection and drops its database. */
static inline void
pgtest_db_drop(PGconn *admin, const char *pg_url, const char *db)
{
	PGconn *a;
	char sql[128];

	PQfinish(admin);
	if ((a = PQconnectdb(pg_url)) != NULL && PQstatus(a) == CONNECTION_OK) {
		snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
		q_exec(a, sql);
	}
	PQfinish(a);
}

#endif
