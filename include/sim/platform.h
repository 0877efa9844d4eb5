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
 * Why the existing file path cannot be opened for writing now (EROFS: its
 * filesystem turned read-only, EACCES, EIO, ...), or 0 when it can, or is
 * not there.  For messages: SQLite's "disk I/O error" loses the errno.
 */
int platform_write_errno(const char *path);
/*
 * Takes an exclusive lock on <dir>/simd.lock, held until the process exits.
 * Returns the fd, or -1 with a message in err (naming the holder's pid if known).
 */
int platform_lock_dir(const char *dir, char *err, size_t errlen);
/* Resident set size of this process in bytes (0 if unknown). */
/*
 * Raises the soft limit on open files towards want (never above the hard
 * limit); returns the limit now in force.
 */
uint64_t platform_raise_nofile(uint64_t want);
uint64_t platform_rss_bytes(void);
/* Peak resident set size in bytes (0 if unknown), never below the current one. */
uint64_t platform_peak_rss_bytes(void);
/* Gives memory freed since back to the system where the allocator allows (glibc). */
void platform_trim_memory(void);
/*
 * Asks the scheduler to run the calling thread (and the threads it creates
 * later) soon after it wakes: a time slice of us microseconds, where the
 * kernel takes one (Linux 6.12 and later, EEVDF), its share of the CPU and
 * its nice value unchanged.  For the loop, so that the control socket is
 * answered within a few ms on a machine whose cores other processes keep
 * busy (a database on the same host).  0, or -1 with errno (ENOSYS where
 * there is no such thing; a thread not of the default policy is left alone).
 */
int platform_short_slice(unsigned us);
/*
 * The calling process at real-time priority (SCHED_FIFO, the lowest), for a
 * measuring tool whose own wake-ups must not count in what it measures
 * (bench/ctlprobe); needs the privilege.  0, or -1 with errno.
 */
int platform_realtime(void);

#ifdef __APPLE__
#define PLATFORM_SYSLOG_SOCKET "/var/run/syslog"
#else
#define PLATFORM_SYSLOG_SOCKET "/dev/log"
#endif
/* Whether syslog(3) has somewhere to go (containers often have no syslog socket). */
int platform_syslog_available(void);
/*
 * What the adaptive concurrency limit's ceiling reads.  CPU is simd's own: the
 * time its process has run (getrusage) against the CPU it can have, which is
 * one CPU (the loop is one thread), or less when the cgroup (v2) of the process
 * or a parent has a tighter quota (cpu.max).  The machine's CPU is not judged:
 * a database or any other program on the same machine loads it, and the
 * latency control already sees what that costs; cutting simd for their CPU only
 * slowed the run.  Memory is the machine's, or that of the process's cgroup
 * when it or a parent has a tighter limit.  Linux reads /proc and the cgroup v2
 * hierarchy (/sys/fs/cgroup, or its unified part on a hybrid layout); macOS asks
 * the host statistics for memory.  -1 means unknown: a file missing or
 * unreadable, text that does not parse.
 */

/* A CPU sample of the process: utilisation is measured between two. */
struct platform_cpu {
	uint64_t used_us; /* CPU time the process has used, user and system */
	uint64_t now_us;  /* a monotonic clock */
	double cpus;      /* the CPU it can have: 1, or a tighter quota; 0: no sample */
};

/* 0, or -1 when nothing could be read (then cpus is 0). */
int platform_cpu_sample(struct platform_cpu *s);
/* CPU used from prev to cur, in percent of cur's cpus, 0 to 100; -1 if one is missing. */
double platform_cpu_pct(const struct platform_cpu *prev, const struct platform_cpu *cur);
/* Memory used now in percent (cgroup: less its inactive page cache), or -1. */
double platform_mem_pct(void);
/* Bytes that can still be had (MemAvailable, or the tightest cgroup's room if less); 0 unknown. */
uint64_t platform_mem_free(void);

/*
 * The same from files under proc (for /proc) and cgroot (the cgroup v2
 * mount; NULL: none), with the process's CPU time and the clock given: what
 * the tests call.
 */
void platform_cpu_sample_at(struct platform_cpu *s, const char *proc, const char *cgroot,
    uint64_t used_us, uint64_t now_us);
double platform_mem_pct_at(const char *proc, const char *cgroot);
uint64_t platform_mem_free_at(const char *proc, const char *cgroot);

/* Parsers of those files' text; 0, or -1 for text they cannot read, unless said. */
/* /proc/self/cgroup: the v2 line's path ("0::/a/b"); -1 without one or with "..". */
int platform_parse_cgroup(const char *text, char *path, size_t len);
/* cpu.max ("quota period"): 1 with the CPUs it allows, 0 for "max" (no limit). */
int platform_parse_cpu_max(const char *text, double *cpus);
/* memory.max, memory.current: 1 with the number, 0 for "max". */
int platform_parse_limit(const char *text, uint64_t *v);
/* A "key value" or "key: value" line (meminfo, cpu.stat, memory.stat). */
int platform_parse_key(const char *text, const char *key, uint64_t *v);

/* Service manager notifications (systemd's sd_notify); no-ops without it. */
void platform_notify(const char *state);
/* Watchdog interval in microseconds the unit asks for, 0 if none. */
uint64_t platform_watchdog_usec(void);

#endif
