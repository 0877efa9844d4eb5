/*
 * paths.h - where the daemon's files are when the configuration does not
 * say: the data directory, the socket, the log file and the pid file, made
 * absolute (detaching leaves the working directory).
 */
#ifndef SIM_PATHS_H
#define SIM_PATHS_H

#include <stddef.h>

struct sim_config;

/*
 * Fills in the default socket and data directory, creates the data directory
 * (mode 0700) when missing, and makes the data directory, the socket and the
 * log file absolute.  0, or -1 with a message.
 */
int paths_resolve(struct sim_config *c, char *err, size_t errlen);
/* The pid file of a detached daemon: pid_file, relative to the data directory, or simd.pid. */
void paths_pid_file(const struct sim_config *c, char *buf, size_t len);

#endif
