/*
 * csvlog.h - metrics_csv: a row per finished cycle, for Grafana, Datadog or a
 * spreadsheet.  A header line first (in a new or empty file); each row flushed
 * as it is written; the file reopened on SIGHUP (logrotate).  A resumed run
 * replays cycles since its checkpoint: rows whose run and cycle the file's
 * last row already has are not written again.  Counts are the run's totals
 * at the cycle's end; latencies, writes/s and errors are the cycle's own.
 * The api_ columns (empty without shop_api_url) are the shop API's figures
 * of status: granted rate, requests, 429s and failures (run totals), in flight.
 */
#ifndef SIM_CSVLOG_H
#define SIM_CSVLOG_H

#include <stddef.h>
#include <stdio.h>

struct server;
struct snapshot;
struct csvlog;

#define CSVLOG_HEADER                                                                      \
	"timestamp,run_id,cycle,sim_time,agents_processed,agents_shopped,sessions,orders," \
	"errors,cycle_errors,avg_latency_ms,p95_latency_ms,p99_latency_ms,cycle_time_s,"   \
	"writes_per_sec,cpu_percent,memory_mb,db_connections,db_connections_max,"          \
	"concurrency_limit,lag_s,api_rate,api_requests,api_429,api_in_flight,api_failures"

/* Opens path ("" none) and writes a row at each cycle's end; NULL with a message. */
struct csvlog *csvlog_new(struct server *srv, const char *path, char *err, size_t errlen);
void csvlog_free(struct csvlog *l);
/* SIGHUP: the same path reopened, or another one (or "" none); -1 keeps the old. */
int csvlog_reopen(struct csvlog *l, const char *path, char *err, size_t errlen);
/* Whether path could be appended to (simd -n); 0, or -1 with a message. */
int csvlog_check(const char *path, char *err, size_t errlen);
/* The row of s (after a cycle's end) into f; latencies of this cycle from cyc. */
struct histogram;
void csvlog_row(FILE *f, const struct snapshot *s, const struct histogram *cyc);

#endif
