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

#ifdef __APPLE__
#define PLATFORM_SYSLOG_SOCKET "/var/run/syslog"
#else
#define PLATFORM_SYSLOG_SOCKET "/dev/log"
#endif
/* Whether syslog(3) has somewhere to go (containers often have no syslog socket). */
int platform_syslog_available(void);
/*
 * Machine use, for the adaptive concurrency limit: the machine's, or that of
 * the process's cgroup (v2) when it or a parent has a tighter limit - a CPU
 * quota below the machine's CPUs, a memory limit below its memory.  Linux
 * reads /proc and the cgroup v2 hierarchy (/sys/fs/cgroup, or its unified
 * part on a hybrid layout); macOS asks the host statistics.  -1 means
 * unknown: a file missing or unreadable, text that does not parse.
 */
enum platform_scope { PLATFORM_NONE, PLATFORM_MACHINE, PLATFORM_CGROUP };

/* A CPU sample: utilisation is measured between two. */
struct platform_cpu {
	enum platform_scope scope;
	uint64_t busy;  /* machine: busy clock ticks; cgroup: usage, us */
	uint64_t total; /* machine: all clock ticks; cgroup: the clock, us */
	double cpus;    /* cgroup: the CPUs its quota allows */
	uint64_t id;    /* cgroup: which one (a hash of its path) */
};

/* 0, or -1 when nothing could be read (scope PLATFORM_NONE). */
int platform_cpu_sample(struct platform_cpu *s);
/* CPU used from prev to cur in percent, 0 to 100; -1 if one is missing or they differ. */
double platform_cpu_pct(const struct platform_cpu *prev, const struct platform_cpu *cur);
/* Memory used now in percent (cgroup: less its inactive page cache), or -1. */
double platform_mem_pct(void);
/* Bytes that can still be had (MemAvailable, or the tightest cgroup's room if less); 0 unknown. */
uint64_t platform_mem_free(void);

/*
 * The same from files under proc (for /proc) and cgroot (the cgroup v2
 * mount; NULL: none), with the clock at now_us: what the tests call.
 */
int platform_cpu_sample_at(
    struct platform_cpu *s, const char *proc, const char *cgroot, uint64_t now_us);
double platform_mem_pct_at(const char *proc, const char *cgroot);
uint64_t platform_mem_free_at(const char *proc, const char *cgroot);

/* Parsers of those files' text; 0, or -1 for text they cannot read, unless said. */
/* /proc/stat: the "cpu" line's busy and total ticks. */
int platform_parse_proc_stat(const char *text, uint64_t *busy, uint64_t *total);
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
