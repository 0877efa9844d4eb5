/*
 * shutdown.h - a graceful shutdown (SIGTERM, SIGINT, simctl shutdown): no new
 * sessions, those in flight get shutdown_timeout seconds, the queued events
 * are written and a checkpoint taken, then done() is called (the daemon ends
 * its loop).  Sessions still in flight at the deadline are abandoned without a
 * checkpoint: the store could not drain, so one written then could claim work
 * that never landed; the newest checkpoint stays the resume point.
 */
#ifndef SIM_SHUTDOWN_H
#define SIM_SHUTDOWN_H

struct server;
struct shutdown;

struct shutdown *shutdown_new(struct server *srv, void (*done)(void *arg), void *arg);
void shutdown_free(struct shutdown *sd);
/* Begins it, once (later calls do nothing); why names the cause in the log. */
void shutdown_request(struct shutdown *sd, const char *why);
int shutdown_requested(const struct shutdown *sd);

#endif
