/*
 * reload.h - a new configuration, taken whole: SIGHUP (the file, the
 * environment and the flags read again) and set-concurrency (one key set over
 * the control socket) go through the same path.  The new configuration is
 * parsed and checked before it arrives here; then each key that needs a
 * restart keeps its running value and is reported, a key set over the socket
 * keeps its value against the file (DESIGN.md 6: runtime changes beat the
 * file), each runtime key that changed goes through its apply hook (one per
 * kind, enum config_apply), and the new configuration replaces the old.
 */
#ifndef SIM_RELOAD_H
#define SIM_RELOAD_H

#include <stddef.h>

struct server;
struct sim_config;

enum reload_source { RELOAD_FILE, RELOAD_CONTROL };

/*
 * Takes next (frees it, or keeps it as srv->cfg).  0 when it was taken (keys
 * whose hook failed keep their old value, and are logged); -1 with a message
 * when nothing changed.
 */
int reload_apply(
    struct server *srv, struct sim_config *next, enum reload_source src, char *err, size_t errlen);
/* One key set to value over the control socket, as the file would say it. */
int reload_set(struct server *srv, const char *key, const char *value, char *err, size_t errlen);
/* Several keys at once (set-concurrency N --adaptive off), taken together or not at all. */
int reload_set_keys(struct server *srv, const char *const *keys, const char *const *values, int n,
    char *err, size_t errlen);

#endif
