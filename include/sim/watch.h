/*
 * watch.h - watching a run as it goes: a sampler that puts the run's counters
 * into a rates ring once a second (and measures the process's CPU), and the
 * subscribers of `subscribe', each sent a frame (snapshot_frame_json) every
 * interval.  A subscriber that has not read its last frame is sent no other
 * until it has: frames are coalesced, the next one is fresh, never a backlog.
 */
#ifndef SIM_WATCH_H
#define SIM_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define WATCH_INTERVAL_MIN 100 /* ms */
#define WATCH_INTERVAL_DEFAULT 1000
#define WATCH_INTERVAL_MAX 3600000
#define WATCH_MAX_SUBSCRIBERS 256 /* across all connections */

struct server;
struct snapshot;
struct cmd_req;
struct watch;

struct watch *watch_new(struct server *srv);
/* Ends every subscription (nothing more is sent). */
void watch_free(struct watch *w);
/* The rates (the last second, the last minute) and CPU into s: server_snapshot's. */
void watch_fill(const struct watch *w, struct snapshot *s);
/*
 * Makes req a stream of frames, the first now, then one every interval_ms;
 * 0, or -1 with a message (too many subscribers, out of memory).
 */
int watch_subscribe(
    struct watch *w, struct cmd_req *req, unsigned interval_ms, char *err, size_t errlen);
/* Ends the subscriptions of from's connection (with id, only that one); how many. */
int watch_unsubscribe(struct watch *w, const struct cmd_req *from, const json_t *id);
unsigned watch_nsubscribers(const struct watch *w);
/* The process's CPU time so far (user and system), microseconds. */
uint64_t watch_cpu_time_us(void);
/* What loading would refuse of the watching keys (simd -n): 0, or -1 with a message. */
struct sim_config;
int watch_check(const struct sim_config *c, char *err, size_t errlen);

#endif
