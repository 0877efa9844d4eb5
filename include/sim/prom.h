/*
 * prom.h - metrics_listen: GET /metrics in Prometheus's text exposition
 * format (version 0.0.4), served by evhttp on the loop from the snapshot
 * status reads.  Counters end in _total, durations are in seconds, sizes in
 * bytes; latency histograms are the run's own log-linear ones cumulated at
 * fixed bounds (to their bucket, about 9 %).  Off by default; the host
 * defaults to 127.0.0.1, and any other address listens only when configured.
 */
#ifndef SIM_PROM_H
#define SIM_PROM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct server;
struct snapshot;
struct prom;

/* "[HOST:]PORT", HOST a numeric IPv4 or [IPv6] address; 0, or -1 with a message. */
int prom_parse_listen(
    const char *spec, char *host, size_t hostlen, uint16_t *port, char *err, size_t errlen);
/* Listens on spec ("" none: returns NULL with err ""); NULL with a message. */
struct prom *prom_new(struct server *srv, const char *spec, char *err, size_t errlen);
void prom_free(struct prom *p);
/* "127.0.0.1:9464" as bound (the port a spec of 0 got). */
const char *prom_addr(const struct prom *p);
/* The exposition of s, cpu_s the process's CPU seconds; -1 on a write error. */
int prom_format(FILE *f, const struct snapshot *s, double cpu_s, double start_time);

#endif
