/* platform.c - the one file with platform-specific code. */
#ifdef __linux__
#define _GNU_SOURCE 1  /* struct ucred */
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
#include <unistd.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif
#ifdef __APPLE__
#include <mach/mach.h>
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
	for (char *p = path + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create directory %s: %s", path, strerror(errno));
			return -1;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	return 0;
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
	peak = (uint64_t)ru.ru_maxrss;          /* bytes on macOS */
#else
	peak = (uint64_t)ru.ru_maxrss * 1024;   /* KiB elsewhere */
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
