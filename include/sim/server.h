/*
 * server.h - the daemon's parts, wired together.  daemon/simd.c builds one
 * in dependency order; the control methods reach everything through it.
 */
#ifndef SIM_SERVER_H
#define SIM_SERVER_H

#include <stddef.h>
#include <time.h>

struct event_base;
struct sim_config;
struct control;
struct store;
struct engine;
struct checkpoint;
struct ckptsched;
struct shutdown;
struct snapshot;
struct watch;
struct csvlog;
struct prom;
struct purge;
struct llm;
struct cluster;

struct server {
	struct event_base *base;
	struct sim_config *cfg;        /* the running configuration (reload.c swaps it) */
	unsigned char *set_by_control; /* per config key: set over the socket, wins over a file */
	struct control *control;
	struct store *store;
	struct engine *engine;
	struct checkpoint *ckpt;
	struct ckptsched *sched;
	struct shutdown *shutdown;
	struct watch *watch;     /* rates and subscribers (server_init makes these three) */
	struct csvlog *csv;      /* metrics_csv */
	struct prom *prom;       /* metrics_listen, or NULL */
	struct purge *purge;     /* the purge under way (cmd_purge.c), or NULL */
	struct pfjob *preflight; /* the preflight under way (cmd_preflight.c), or NULL */
	struct llm *llm;         /* persona_source = llm, or NULL */
	struct cluster *cluster; /* cluster = on, or NULL */
	time_t started_at;
};

/* After the store, the engine and the checkpoint file are open: the scheduling. */
int server_init(struct server *srv, char *err, size_t errlen);
void server_fini(struct server *srv);
/* Everything status shows, now (see snapshot.h). */
void server_snapshot(const struct server *srv, struct snapshot *s);
/* Whether a graceful shutdown is under way. */
int server_stopping(const struct server *srv);

#endif
