/*
 * platform.c - tests for the machine sampling in lib/platform.c: the parsers
 * on fixture text, the readers on a fake /proc and cgroup tree, and the real
 * calls here (whatever this machine is, they return 0..100 or -1).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "sim/platform.h"

#include "check.h"

static void
test_cgroup_path(void)
{
	char path[64];

	CHECK(platform_parse_cgroup(
		  "0::/user.slice/user-1000.slice/session-3.scope\n", path, sizeof(path)) == 0);
	CHECK(strcmp(path, "/user.slice/user-1000.slice/session-3.scope") == 0);
	/* A hybrid layout (this kind of machine): v1 lines first. */
	CHECK(platform_parse_cgroup("9:name=systemd:/\n4:memory:/process_api/29a8\n1:cpu:/\n"
				    "0::/\n",
		  path, sizeof(path)) == 0);
	CHECK(strcmp(path, "/") == 0);
	CHECK(platform_parse_cgroup("0::/a/b", path, sizeof(path)) == 0);
	CHECK(strcmp(path, "/a/b") == 0);
	CHECK(platform_parse_cgroup("0::/..x\n", path, sizeof(path)) == 0);
	/* v1 only, outside our namespace, empty, too long, garbage */
	CHECK(platform_parse_cgroup("4:memory:/a\n1:cpu:/\n", path, sizeof(path)) == -1);
	CHECK(platform_parse_cgroup("0::/../../system.slice\n", path, sizeof(path)) == -1);
	CHECK(platform_parse_cgroup("0::/a/..\n", path, sizeof(path)) == -1);
	CHECK(platform_parse_cgroup("0::\n", path, sizeof(path)) == -1);
	CHECK(platform_parse_cgroup("0::relative\n", path, sizeof(path)) == -1);
	CHECK(platform_parse_cgroup(
		  "0::/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaa\n",
		  path, sizeof(path)) == -1);
	CHECK(platform_parse_cgroup("", path, sizeof(path)) == -1);
}

static void
test_cgroup_files(void)
{
	double cpus = 0;
	uint64_t v = 0;

	CHECK(platform_parse_cpu_max("max 100000\n", &cpus) == 0);
	CHECK(platform_parse_cpu_max("max", &cpus) == 0);
	CHECK(platform_parse_cpu_max("150000 100000\n", &cpus) == 1 && cpus == 1.5);
	CHECK(platform_parse_cpu_max("50000 100000", &cpus) == 1 && cpus == 0.5);
	CHECK(platform_parse_cpu_max("0 100000\n", &cpus) == -1);
	CHECK(platform_parse_cpu_max("100000\n", &cpus) == -1);
	CHECK(platform_parse_cpu_max("maximum 1\n", &cpus) == -1);
	CHECK(platform_parse_cpu_max("garbage\n", &cpus) == -1);
	CHECK(platform_parse_cpu_max("", &cpus) == -1);

	CHECK(platform_parse_limit("max\n", &v) == 0);
	CHECK(platform_parse_limit("1073741824\n", &v) == 1 && v == 1073741824u);
	CHECK(platform_parse_limit("12x\n", &v) == -1);
	CHECK(platform_parse_limit("-5\n", &v) == -1);
	CHECK(platform_parse_limit("", &v) == -1);

	CHECK(platform_parse_key("MemTotal:       24683584 kB\nMemFree:  100 kB\n"
				 "MemAvailable:   24232660 kB\n",
		  "MemAvailable", &v) == 0 &&
	    v == 24232660u);
	CHECK(platform_parse_key("usage_usec 123\nuser_usec 100\n", "usage_usec", &v) == 0 &&
	    v == 123);
	CHECK(platform_parse_key("user_usec 100\nusage_usec 7", "usage_usec", &v) == 0 && v == 7);
	/* A longer key with the same prefix, or the key inside another, is not it. */
	CHECK(platform_parse_key("total_inactive_file 9\ninactive_file_x 8\ninactive_file 5\n",
		  "inactive_file", &v) == 0 &&
	    v == 5);
	CHECK(platform_parse_key("usage_usecs 1\n", "usage_usec", &v) == -1);
	CHECK(platform_parse_key("usage_usec abc\n", "usage_usec", &v) == -1);
	CHECK(platform_parse_key("", "usage_usec", &v) == -1);
}

static void
test_cpu_pct(void)
{
	struct platform_cpu a = { 100, 1000, 1 };
	struct platform_cpu b = { 150, 1200, 1 };
	struct platform_cpu none = { 0, 0, 0 };
	struct platform_cpu g1 = { 1000000, 1000000, 0.5 };
	struct platform_cpu g2 = { 1500000, 3000000, 0.5 };

	CHECK(platform_cpu_pct(&a, &b) == 25);
	CHECK(platform_cpu_pct(&b, &a) == -1); /* backwards */
	CHECK(platform_cpu_pct(&a, &a) == -1); /* no time passed */
	CHECK(platform_cpu_pct(&none, &b) == -1);
	CHECK(platform_cpu_pct(&a, &none) == -1);
	CHECK(platform_cpu_pct(&g1, &g2) == 50); /* 0.5 s of CPU in 2 s of 0.5 CPU */
	g2.now_us = 1500000;
	CHECK(platform_cpu_pct(&g1, &g2) == 100); /* clamped */
}

static char root[64];

static void
put(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	CHECK((f = fopen(path, "w")) != NULL);
	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

static void
dirs(void)
{
	static const char *const d[] = { "proc", "proc/self", "cg", "cg/a", "cg/a/b" };
	char path[256];

	for (unsigned i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", root, d[i]);
		CHECK(mkdir(path, 0700) == 0);
	}
}

/* A fake machine: 16 GiB, 4 GiB available; the process in /a/b, limits on /a. */
static void
test_tree(void)
{
	char proc[128], cg[128];
	struct platform_cpu s, t;

	CHECK(mkdtemp(check_tmpl(root, sizeof(root), "simd-platform", 40)) != NULL);
	dirs();
	snprintf(proc, sizeof(proc), "%s/proc", root);
	snprintf(cg, sizeof(cg), "%s/cg", root);
	put("proc/meminfo", "MemTotal: 16777216 kB\nMemAvailable: 4194304 kB\n");
	put("proc/self/cgroup", "0::/a/b\n");
	put("cg/cgroup.controllers", "cpu memory\n");
	put("cg/a/cpu.max", "50000 100000\n");
	put("cg/a/b/cpu.max", "max 100000\n");
	put("cg/a/memory.max", "1073741824\n");
	put("cg/a/memory.current", "536870912\n");
	put("cg/a/memory.stat", "active_file 1\ninactive_file 268435456\n");
	put("cg/a/b/memory.max", "max\n");

	/* The parent's quota (0.5 CPU) is below one CPU: what the process can have. */
	platform_cpu_sample_at(&s, proc, cg, 1000000, 1000000);
	CHECK(s.used_us == 1000000 && s.now_us == 1000000 && s.cpus == 0.5);
	platform_cpu_sample_at(&t, proc, cg, 1250000, 2000000);
	CHECK(platform_cpu_pct(&s, &t) == 50);
	/* (512 MiB - 256 MiB inactive page cache) of 1 GiB */
	CHECK(platform_mem_pct_at(proc, cg) == 25);

	/* A limit above the machine's memory, garbage, no cgroup: the machine's. */
	put("cg/a/memory.max", "68719476736\n");
	CHECK(platform_mem_pct_at(proc, cg) == 75);
	put("cg/a/memory.max", "lots\n");
	CHECK(platform_mem_pct_at(proc, cg) == 75);
	CHECK(platform_mem_pct_at(proc, NULL) == 75);
	/* No quota, garbage, a quota of two CPUs, outside the cgroup namespace: one CPU. */
	put("cg/a/cpu.max", "max 100000\n");
	platform_cpu_sample_at(&s, proc, cg, 0, 3000000);
	CHECK(s.cpus == 1);
	put("cg/a/cpu.max", "lots 100000\n");
	platform_cpu_sample_at(&s, proc, cg, 0, 3000000);
	CHECK(s.cpus == 1);
	put("cg/a/cpu.max", "200000 100000\n");
	platform_cpu_sample_at(&s, proc, cg, 0, 3000000);
	CHECK(s.cpus == 1);
	platform_cpu_sample_at(&t, proc, cg, 200000, 4000000);
	CHECK(platform_cpu_pct(&s, &t) == 20);
	put("proc/self/cgroup", "0::/../x\n");
	put("cg/a/cpu.max", "50000 100000\n");
	platform_cpu_sample_at(&s, proc, cg, 0, 5000000);
	CHECK(s.cpus == 1);
	platform_cpu_sample_at(&s, proc, NULL, 0, 5000000);
	CHECK(s.cpus == 1);
	platform_cpu_sample_at(&s, "/nonexistent", "/nonexistent", 0, 5000000);
	CHECK(s.cpus == 1);

	/* Nothing readable: unknown. */
	put("proc/meminfo", "MemTotal: 16777216 kB\n");
	CHECK(platform_mem_pct_at(proc, NULL) == -1);
	CHECK(platform_mem_pct_at("/nonexistent", NULL) == -1);
	snprintf(proc, sizeof(proc), "rm -rf '%s'", root);
	CHECK(system(proc) == 0);
}

/* Here: the process's own CPU, while it spins and while it sleeps. */
static void
test_here(void)
{
	struct platform_cpu a, b;
	struct timespec ts;
	double cpu, mem;
	volatile uint64_t x = 0;

	CHECK(platform_cpu_sample(&a) == 0 && a.cpus > 0 && a.cpus <= 1);
	/* spin until the process has used 20 ms of CPU more, whatever the machine's speed */
	do {
		for (int i = 0; i < 100000; i++)
			x += (uint64_t)i;
		CHECK(platform_cpu_sample(&b) == 0);
	} while (b.used_us - a.used_us < 20000);
	CHECK(x > 0); /* the spin's work is used */
	cpu = platform_cpu_pct(&a, &b);
	CHECK(cpu > 0 && cpu <= 100);
	printf("here: spinning, cpu %.1f %% of %.2f CPU\n", cpu, b.cpus);
	a = b;
	ts.tv_sec = 0;
	ts.tv_nsec = 200000000;
	nanosleep(&ts, NULL);
	CHECK(platform_cpu_sample(&b) == 0);
	cpu = platform_cpu_pct(&a, &b);
	mem = platform_mem_pct();
	printf("here: asleep, cpu %.1f %%, mem %.1f %%\n", cpu, mem);
	CHECK(cpu >= 0 && cpu < 50); /* 200 ms asleep: at most a few ms of CPU */
	CHECK(mem == -1 || (mem > 0 && mem <= 100));
#ifdef __linux__
	CHECK(mem != -1);
#endif
}

/* The open-file limit goes up to what is asked, never past the hard limit. */
static void
test_nofile(void)
{
	struct rlimit rl, low;

	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 256)
		return; /* too tight a machine to try */
	low.rlim_cur = 64;
	low.rlim_max = rl.rlim_max;
	CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
	CHECK(platform_raise_nofile(200) == 200);
	CHECK(platform_raise_nofile(100) == 200); /* never lowered */
	if (rl.rlim_max != RLIM_INFINITY)
		CHECK(platform_raise_nofile((uint64_t)rl.rlim_max + 1000) == (uint64_t)rl.rlim_max);
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
}

/* What stops a file from being opened for writing: 0 for a writable or missing one. */
static void
test_write_errno(void)
{
	char dir[256], path[300];
	FILE *f;

	CHECK(mkdtemp(check_tmpl(dir, sizeof(dir), "simd-wr", 200)) != NULL);
	snprintf(path, sizeof(path), "%s/f", dir);
	CHECK(platform_write_errno(path) == 0);
	CHECK((f = fopen(path, "w")) != NULL && fclose(f) == 0);
	CHECK(platform_write_errno(path) == 0);
	CHECK(platform_write_errno(dir) == EISDIR);
	CHECK(unlink(path) == 0 && rmdir(dir) == 0);
}

/* The loop's short slice: taken where the kernel has them, the nice value kept. */
static void
test_short_slice(void)
{
	char line[128];
	long slice = -1;
	FILE *f;
	int nice, major = 0, minor = 0;
	struct utsname u;

	errno = 0;
	nice = getpriority(PRIO_PROCESS, 0);
	CHECK(errno == 0);
	if (nice < 19)
		CHECK(setpriority(PRIO_PROCESS, 0, nice + 1) == 0); /* raising needs no privilege */
	nice = getpriority(PRIO_PROCESS, 0);
#ifdef __linux__
	CHECK(platform_short_slice(100) == 0);
	if ((f = fopen("/proc/thread-self/sched", "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL)
			if (strncmp(line, "se.slice", 8) == 0)
				slice = strtol(strchr(line, ':') + 1, NULL, 10);
		fclose(f);
	}
	if (uname(&u) == 0 && sscanf(u.release, "%d.%d", &major, &minor) == 2 &&
	    major * 100 + minor < 612)
		slice =
		    -1; /* custom slices came with 6.12: earlier kernels take the call, no slice */
	if (slice >= 0) /* shown where the kernel has CONFIG_SCHED_DEBUG */
		CHECK(slice == 100000);
	else
		printf("  note: kernel without custom slices or se.slice: slice not checked\n");
#else
	CHECK(platform_short_slice(100) == -1 && errno == ENOSYS);
	(void)line, (void)slice, (void)f, (void)major, (void)minor, (void)u;
#endif
	CHECK(getpriority(PRIO_PROCESS, 0) == nice);
}

int
main(void)
{
	test_short_slice();
	test_write_errno();
	test_nofile();
	test_cgroup_path();
	test_cgroup_files();
	test_cpu_pct();
	test_tree();
	test_here();
	return CHECK_DONE();
}
