/*
 * platform.h - everything that differs between Linux and macOS (and the
 * BSDs) lives behind these calls, implemented in lib/platform.c alone.
 */
#ifndef SIM_PLATFORM_H
#define SIM_PLATFORM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Credentials of the process at the other end of a Unix stream socket. */
int platform_peer_cred(int fd, uid_t *uid, gid_t *gid);
/* Whether uid's user is a member (primary or supplementary) of gid. */
int platform_uid_in_group(uid_t uid, gid_t gid);
/* Creates the directories leading to path (not path itself), mode 0700 for new ones. */
int platform_mkdir_parents(const char *path, char *err, size_t errlen);
int platform_mkdir_p(const char *dir, char *err, size_t errlen);
/*
 * Takes an exclusive lock on <dir>/simd.lock, held until the process exits.
 * Returns the fd, or -1 with a message in err (naming the holder's pid if known).
 */
int platform_lock_dir(const char *dir, char *err, size_t errlen);
/* Resident set size of this process in bytes (0 if unknown). */
uint64_t platform_rss_bytes(void);
/* Peak resident set size in bytes (0 if unknown), never below the current one. */
uint64_t platform_peak_rss_bytes(void);

#ifdef __APPLE__
#define PLATFORM_SYSLOG_SOCKET "/var/run/syslog"
#else
#define PLATFORM_SYSLOG_SOCKET "/dev/log"
#endif
/* Whether syslog(3) has somewhere to go (containers often have no syslog socket). */
int platform_syslog_available(void);

/* Service manager notifications (systemd's sd_notify); no-ops without it. */
void platform_notify(const char *state);
/* Watchdog interval in microseconds the unit asks for, 0 if none. */
uint64_t platform_watchdog_usec(void);

#endif
