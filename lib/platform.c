/* platform.c - the one file with platform-specific code. */
#ifdef __linux__
#define _GNU_SOURCE 1 /* struct ucred */
#endif
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif
#ifdef __GLIBC__
#include <malloc.h>
#endif
#ifdef __linux__
#include <sched.h>
#include <sys/syscall.h>
#endif
#ifdef __APPLE__
#include <mach/mach.h>
#include <sys/sysctl.h>
#endif

#include "sim/platform.h"

int
platform_peer_cred(int fd, uid_t *uid, gid_t *gid)
{
#if defined(SO_PEERCRED) && defined(__linux__)
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0)
		return -1;
	*uid = cr.uid;
	*gid = cr.gid;
	return 0;
#else
	return getpeereid(fd, uid, gid);
#endif
}

int
platform_uid_in_group(uid_t uid, gid_t gid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	gid_t groups[256];
	int n = 256;

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		return 0;
	if (pw.pw_gid == gid)
		return 1;
#ifdef __APPLE__
	if (getgrouplist(pw.pw_name, (int)pw.pw_gid, (int *)groups, &n) < 0)
		return 0;
#else
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0)
		return 0;
#endif
	for (int i = 0; i < n; i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

int
platform_mkdir_p(const char *dir, char *err, size_t errlen)
{
	char path[4096];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(path)) {
		snprintf(err, errlen, "bad directory name: %s", dir);
		return -1;
	}
	memcpy(path, dir, len + 1);
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			snprintf(
			    err, errlen, "cannot create directory %s: %s", path, strerror(errno));
			return -1;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	return 0;
}

int
platform_write_errno(const char *path)
{
	int fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return errno == ENOENT ? 0 : errno;
}

int
platform_mkdir_parents(const char *path, char *err, size_t errlen)
{
	char dir[4096];
	char *slash;

	if (strlen(path) >= sizeof(dir)) {
		snprintf(err, errlen, "path too long: %s", path);
		return -1;
	}
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	return platform_mkdir_p(dir, err, errlen);
}

int
platform_lock_dir(const char *dir, char *err, size_t errlen)
{
	char path[4096], pid[32];
	struct flock fl;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/simd.lock", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open lock file %s: %s", path, strerror(errno));
		return -1;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_SETLK, &fl) != 0) {
		n = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		snprintf(err, errlen, "data directory %s is in use by another simd%s%s%s", dir,
		    *pid ? " (pid " : "", pid, *pid ? ")" : "");
		close(fd);
		return -1;
	}
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, strlen(pid), 0) < 0) {
		snprintf(err, errlen, "cannot write lock file %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

uint64_t
platform_raise_nofile(uint64_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 0;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rlim_t to =
		    rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? (rlim_t)want : rl.rlim_max;
		struct rlimit raised = { to, rl.rlim_max };
		if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
			rl.rlim_cur = to;
	}
	return rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
}

uint64_t
platform_rss_bytes(void)
{
#if defined(__linux__)
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size, resident;
	int ok;

	if (f == NULL)
		return 0;
	ok = fscanf(f, "%lu %lu", &size, &resident) == 2;
	fclose(f);
	return ok ? (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
#elif defined(__APPLE__)
	struct mach_task_basic_info info;
	mach_msg_type_number_t count = MACH_TASK_BASIC_INFO_COUNT;

	if (task_info(mach_task_self(), MACH_TASK_BASIC_INFO, (task_info_t)&info, &count) !=
	    KERN_SUCCESS)
		return 0;
	return info.resident_size;
#else
	return 0;
#endif
}

uint64_t
platform_peak_rss_bytes(void)
{
	struct rusage ru;
	uint64_t peak, now = platform_rss_bytes();

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return now;
#ifdef __APPLE__
	peak = (uint64_t)ru.ru_maxrss; /* bytes on macOS */
#else
	peak = (uint64_t)ru.ru_maxrss * 1024; /* KiB elsewhere */
#endif
	/* the kernel updates its high-water mark lazily: never report a peak below now */
	return peak > now ? peak : now;
}

int
platform_syslog_available(void)
{
	struct stat st;

	return stat(PLATFORM_SYSLOG_SOCKET, &st) == 0 && S_ISSOCK(st.st_mode);
}

void
platform_notify(const char *state)
{
#ifdef HAVE_SYSTEMD
	sd_notify(0, state);
#else
	(void)state;
#endif
}

uint64_t
platform_watchdog_usec(void)
{
#ifdef HAVE_SYSTEMD
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) > 0)
		return usec;
#endif
	return 0;
}

/*
 * Machine use.  The parsers take the files' text so that layouts can be
 * tested without the files; the readers walk from the process's cgroup up
 * to the root, since a limit is often set on a parent (a systemd slice, a
 * pod), and take the tightest.
 */

/* A number at *p, skipping blanks; -1 when there is none or it overflows. */
static int
parse_u64(const char **p, uint64_t *v)
{
	char *end;
	unsigned long long n;

	while (**p == ' ' || **p == '\t')
		(*p)++;
	if (**p < '0' || **p > '9')
		return -1;
	errno = 0;
	n = strtoull(*p, &end, 10);
	if (errno != 0)
		return -1;
	*p = end;
	*v = n;
	return 0;
}

/* The line after p's, or NULL after the last. */
static const char *
next_line(const char *p)
{
	p = strchr(p, '\n');
	return p != NULL && p[1] != '\0' ? p + 1 : NULL;
}

int
platform_parse_cgroup(const char *text, char *path, size_t len)
{
	const char *p;
	size_t n;

	for (p = text; p != NULL && *p != '\0'; p = next_line(p)) {
		if (strncmp(p, "0::", 3) != 0)
			continue;
		p += 3;
		n = strcspn(p, "\n");
		if (n == 0 || *p != '/' || n >= len)
			return -1;
		memcpy(path, p, n);
		path[n] = '\0';
		/* outside our cgroup namespace: its files are not ours to see */
		if (strstr(path, "/../") != NULL || (n >= 3 && strcmp(path + n - 3, "/..") == 0))
			return -1;
		return 0;
	}
	return -1;
}

int
platform_parse_cpu_max(const char *text, double *cpus)
{
	const char *p = text;
	uint64_t quota, period;

	if (strncmp(p, "max", 3) == 0 && (p[3] == ' ' || p[3] == '\n' || p[3] == '\0'))
		return 0;
	if (parse_u64(&p, &quota) != 0 || parse_u64(&p, &period) != 0 || quota == 0 || period == 0)
		return -1;
	*cpus = (double)quota / (double)period;
	return 1;
}

int
platform_parse_limit(const char *text, uint64_t *v)
{
	const char *p = text;

	if (strncmp(p, "max", 3) == 0 && (p[3] == '\n' || p[3] == '\0'))
		return 0;
	if (parse_u64(&p, v) != 0 || (*p != '\n' && *p != '\0'))
		return -1;
	return 1;
}

int
platform_parse_key(const char *text, const char *key, uint64_t *v)
{
	size_t klen = strlen(key);
	const char *p;

	for (p = text; p != NULL && *p != '\0'; p = next_line(p)) {
		if (strncmp(p, key, klen) != 0)
			continue;
		p += klen;
		if (*p == ':')
			p++;
		if (*p != ' ' && *p != '\t')
			continue; /* a longer key with this prefix */
		return parse_u64(&p, v);
	}
	return -1;
}

/* The file's text, NUL-terminated (truncated to len - 1); -1 if it cannot be read. */
static int
read_text(const char *path, char *buf, size_t len)
{
	size_t have = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (have < len - 1 && (n = read(fd, buf + have, len - 1 - have)) > 0)
		have += (size_t)n;
	close(fd);
	buf[have] = '\0';
	return have > 0 ? 0 : -1;
}

static int
read_at(const char *dir, const char *file, char *buf, size_t len)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
		return -1;
	return read_text(path, buf, len);
}

/* The process's cgroup directory under cgroot; -1 when there is none to look at. */
static int
cgroup_dir(const char *proc, const char *cgroot, char *dir, size_t len)
{
	char text[4096], path[2048];

	if (cgroot == NULL || read_at(proc, "self/cgroup", text, sizeof(text)) != 0 ||
	    platform_parse_cgroup(text, path, sizeof(path)) != 0)
		return -1;
	if ((size_t)snprintf(dir, len, "%s%s", cgroot, strcmp(path, "/") ? path : "") >= len)
		return -1;
	return 0;
}

/* One level up, not above cgroot; 0 when dir was cgroot already. */
static int
cgroup_up(char *dir, size_t rootlen)
{
	char *slash = strrchr(dir, '/');

	if (strlen(dir) <= rootlen || slash == NULL || (size_t)(slash - dir) < rootlen)
		return 0;
	*slash = '\0';
	return 1;
}

/* The tightest CPU quota of the process's cgroup and its parents, if below *cpus. */
static void
cgroup_cpu(const char *proc, const char *cgroot, double *cpus)
{
	char dir[4096], text[256];
	double c;

	if (cgroup_dir(proc, cgroot, dir, sizeof(dir)) != 0)
		return;
	do {
		if (read_at(dir, "cpu.max", text, sizeof(text)) == 0 &&
		    platform_parse_cpu_max(text, &c) == 1 && c > 0 && c < *cpus)
			*cpus = c;
	} while (cgroup_up(dir, strlen(cgroot)));
}

void
platform_cpu_sample_at(
    struct platform_cpu *s, const char *proc, const char *cgroot, uint64_t used_us, uint64_t now_us)
{
	s->used_us = used_us;
	s->now_us = now_us;
	s->cpus = 1; /* the loop is one thread */
	if (cgroot != NULL)
		cgroup_cpu(proc, cgroot, &s->cpus);
}

double
platform_cpu_pct(const struct platform_cpu *prev, const struct platform_cpu *cur)
{
	double pct;

	if (prev->cpus <= 0 || cur->cpus <= 0 || cur->used_us < prev->used_us ||
	    cur->now_us <= prev->now_us)
		return -1;
	pct = 100.0 * (double)(cur->used_us - prev->used_us) /
	    ((double)(cur->now_us - prev->now_us) * cur->cpus);
	return pct > 100 ? 100 : pct;
}

/* Bytes used (less inactive page cache) and the limit of the tightest cgroup: -1 if none. */
static int
cgroup_mem(const char *proc, const char *cgroot, uint64_t machine, uint64_t *used, uint64_t *limit)
{
	char dir[4096], best[4096], text[8192];
	uint64_t lim, lowest = machine, cur, inactive = 0;
	int found = 0;

	if (cgroup_dir(proc, cgroot, dir, sizeof(dir)) != 0)
		return -1;
	do {
		if (read_at(dir, "memory.max", text, sizeof(text)) == 0 &&
		    platform_parse_limit(text, &lim) == 1 && lim > 0 && lim < lowest) {
			lowest = lim;
			found = snprintf(best, sizeof(best), "%s", dir) < (int)sizeof(best);
		}
	} while (cgroup_up(dir, strlen(cgroot)));
	if (!found || read_at(best, "memory.current", text, sizeof(text)) != 0 ||
	    platform_parse_limit(text, &cur) != 1)
		return -1;
	if (read_at(best, "memory.stat", text, sizeof(text)) == 0)
		platform_parse_key(text, "inactive_file", &inactive);
	*used = cur > inactive ? cur - inactive : 0;
	*limit = lowest;
	return 0;
}

/* Memory used in a cgroup with a limit below the machine's memory: -1 if none. */
static double
cgroup_mem_pct(const char *proc, const char *cgroot, uint64_t machine)
{
	uint64_t cur, lim;

	if (cgroup_mem(proc, cgroot, machine, &cur, &lim) != 0)
		return -1;
	return cur >= lim ? 100 : 100.0 * (double)cur / (double)lim;
}

uint64_t
platform_mem_free_at(const char *proc, const char *cgroot)
{
	char text[8192];
	uint64_t total, avail, cur, lim, free_b;

	if (read_at(proc, "meminfo", text, sizeof(text)) != 0 ||
	    platform_parse_key(text, "MemTotal", &total) != 0 ||
	    platform_parse_key(text, "MemAvailable", &avail) != 0)
		return 0;
	free_b = avail * 1024;
	if (cgroup_mem(proc, cgroot, total * 1024, &cur, &lim) == 0)
		free_b = cur >= lim ? 0 : lim - cur < free_b ? lim - cur : free_b;
	return free_b;
}

double
platform_mem_pct_at(const char *proc, const char *cgroot)
{
	char text[8192];
	uint64_t total, avail;
	double pct;

	if (read_at(proc, "meminfo", text, sizeof(text)) != 0 ||
	    platform_parse_key(text, "MemTotal", &total) != 0 ||
	    platform_parse_key(text, "MemAvailable", &avail) != 0 || total == 0 || avail > total)
		return -1;
	if ((pct = cgroup_mem_pct(proc, cgroot, total * 1024)) >= 0)
		return pct;
	return 100.0 * (double)(total - avail) / (double)total;
}

#ifdef __linux__
/* The cgroup v2 hierarchy: all of /sys/fs/cgroup, or its unified part (hybrid). */
static const char *
cgroup_root(void)
{
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0)
		return "/sys/fs/cgroup";
	if (access("/sys/fs/cgroup/unified/cgroup.controllers", F_OK) == 0)
		return "/sys/fs/cgroup/unified";
	return NULL;
}
#endif

int
platform_cpu_sample(struct platform_cpu *s)
{
	struct rusage ru;
	struct timespec ts;
	uint64_t used;

	memset(s, 0, sizeof(*s));
	if (getrusage(RUSAGE_SELF, &ru) != 0 || clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return -1;
	used = (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec +
	    (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
#if defined(__linux__)
	platform_cpu_sample_at(s, "/proc", cgroup_root(), used,
	    (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
#else
	platform_cpu_sample_at(
	    s, NULL, NULL, used, (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
#endif
	return 0;
}

double
platform_mem_pct(void)
{
#if defined(__linux__)
	return platform_mem_pct_at("/proc", cgroup_root());
#elif defined(__APPLE__)
	vm_statistics64_data_t vm;
	mach_msg_type_number_t count = HOST_VM_INFO64_COUNT;
	mach_port_t host = mach_host_self();
	uint64_t memsize = 0, used;
	size_t len = sizeof(memsize);
	vm_size_t page = 0;
	kern_return_t kr;

	kr = host_statistics64(host, HOST_VM_INFO64, (host_info64_t)&vm, &count);
	if (kr == KERN_SUCCESS)
		kr = host_page_size(host, &page);
	mach_port_deallocate(mach_task_self(), host);
	if (kr != KERN_SUCCESS || sysctlbyname("hw.memsize", &memsize, &len, NULL, 0) != 0 ||
	    memsize == 0)
		return -1;
	/* What Activity Monitor calls memory used: app (less purgeable), wired, compressed. */
	used = ((uint64_t)vm.internal_page_count - vm.purgeable_count + vm.wire_count +
		   vm.compressor_page_count) *
	    page;
	return used >= memsize ? 100 : 100.0 * (double)used / (double)memsize;
#else
	return -1;
#endif
}

uint64_t
platform_mem_free(void)
{
#if defined(__linux__)
	return platform_mem_free_at("/proc", cgroup_root());
#else
	return 0;
#endif
}

void
platform_trim_memory(void)
{
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

int
platform_short_slice(unsigned us)
{
#if defined(__linux__) && defined(SYS_sched_setattr)
	struct {
		uint32_t size, policy;
		uint64_t flags;
		int32_t nice;
		uint32_t priority;
		uint64_t runtime, deadline, period;
	} a; /* struct sched_attr (sched_setattr(2)), which glibc does not declare */
	int nice;

	if (sched_getscheduler(0) != SCHED_OTHER) {
		errno = EPERM;
		return -1;
	}
	errno = 0;
	nice = getpriority(PRIO_PROCESS, 0); /* this thread's, on Linux */
	if (nice == -1 && errno != 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.policy = SCHED_OTHER;
	a.nice = nice;
	a.runtime = (uint64_t)us * 1000; /* ns: for SCHED_OTHER, the slice asked for */
	return syscall(SYS_sched_setattr, 0, &a, 0) == 0 ? 0 : -1;
#else
	(void)us;
	errno = ENOSYS;
	return -1;
#endif
}

int
platform_realtime(void)
{
#ifdef __linux__
	struct sched_param sp = { .sched_priority = sched_get_priority_min(SCHED_FIFO) };

	return sched_setscheduler(0, SCHED_FIFO, &sp);
#else
	errno = ENOSYS;
	return -1;
#endif
}
