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
#include <unistd.h>

#include "sim/platform.h"

#include "check.h"

static void
test_proc_stat(void)
{
	uint64_t busy = 0, total = 0;

	CHECK(platform_parse_proc_stat("cpu  197268 0 34534 601576 1622 0 1517 4862 0 0\n"
				       "cpu0 99872 0 16992 300427 479 0 441 2389 0 0\nintr 1 2 3\n",
		  &busy, &total) == 0);
	CHECK(total == 841379 && busy == 841379 - 601576 - 1622);
	/* Kernels before 2.6 had four fields. */
	CHECK(platform_parse_proc_stat("cpu 10 20 30 40\n", &busy, &total) == 0);
	CHECK(total == 100 && busy == 60);
	CHECK(platform_parse_proc_stat("", &busy, &total) == -1);
	CHECK(platform_parse_proc_stat("cpu0 1 2 3 4\n", &busy, &total) == -1);
	CHECK(platform_parse_proc_stat("cpu a b c d\n", &busy, &total) == -1);
	CHECK(platform_parse_proc_stat("cpu 1 2 3\n", &busy, &total) == -1);
	CHECK(platform_parse_proc_stat("cpu 1 2 -3 4\n", &busy, &total) == -1);
	CHECK(platform_parse_proc_stat("cpu 99999999999999999999999 1 1 1\n", &busy, &total) == -1);
}

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
	struct platform_cpu a = { PLATFORM_MACHINE, 100, 1000, 0, 0 };
	struct platform_cpu b = { PLATFORM_MACHINE, 150, 1200, 0, 0 };
	struct platform_cpu none = { PLATFORM_NONE, 0, 0, 0, 0 };
	struct platform_cpu g1 = { PLATFORM_CGROUP, 1000000, 1000000, 0.5, 7 };
	struct platform_cpu g2 = { PLATFORM_CGROUP, 1500000, 3000000, 0.5, 7 };

	CHECK(platform_cpu_pct(&a, &b) == 25);
	CHECK(platform_cpu_pct(&b, &a) == -1); /* backwards */
	CHECK(platform_cpu_pct(&a, &a) == -1); /* no time passed */
	CHECK(platform_cpu_pct(&none, &b) == -1);
	CHECK(platform_cpu_pct(&a, &g2) == -1);  /* the scope changed */
	CHECK(platform_cpu_pct(&g1, &g2) == 50); /* 0.5 s of CPU in 2 s of 0.5 CPU */
	g2.total = 1500000;
	CHECK(platform_cpu_pct(&g1, &g2) == 100); /* clamped */
	g2.id = 8;
	CHECK(platform_cpu_pct(&g1, &g2) == -1); /* another cgroup */
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
	put("proc/stat", "cpu  100 0 100 700 100 0 0 0 0 0\n");
	put("proc/meminfo", "MemTotal: 16777216 kB\nMemAvailable: 4194304 kB\n");
	put("proc/self/cgroup", "0::/a/b\n");
	put("cg/cgroup.controllers", "cpu memory\n");
	put("cg/a/cpu.max", "50000 100000\n");
	put("cg/a/cpu.stat", "usage_usec 1000000\nuser_usec 1\n");
	put("cg/a/b/cpu.max", "max 100000\n");
	put("cg/a/b/cpu.stat", "usage_usec 5\n");
	put("cg/a/memory.max", "1073741824\n");
	put("cg/a/memory.current", "536870912\n");
	put("cg/a/memory.stat", "active_file 1\ninactive_file 268435456\n");
	put("cg/a/b/memory.max", "max\n");

	/* The parent's quota (0.5 CPU) is the tighter: its usage is what counts. */
	CHECK(platform_cpu_sample_at(&s, proc, cg, 1000000) == 0);
	CHECK(s.scope == PLATFORM_CGROUP && s.busy == 1000000 && s.cpus == 0.5);
	put("cg/a/cpu.stat", "usage_usec 1250000\n");
	CHECK(platform_cpu_sample_at(&t, proc, cg, 2000000) == 0);
	CHECK(platform_cpu_pct(&s, &t) == 50);
	/* (512 MiB - 256 MiB inactive page cache) of 1 GiB */
	CHECK(platform_mem_pct_at(proc, cg) == 25);

	/* A limit above the machine's memory, garbage, no cgroup: the machine's. */
	put("cg/a/memory.max", "68719476736\n");
	CHECK(platform_mem_pct_at(proc, cg) == 75);
	put("cg/a/memory.max", "lots\n");
	CHECK(platform_mem_pct_at(proc, cg) == 75);
	CHECK(platform_mem_pct_at(proc, NULL) == 75);
	put("cg/a/cpu.max", "max 100000\n");
	CHECK(platform_cpu_sample_at(&s, proc, cg, 3000000) == 0);
	CHECK(s.scope == PLATFORM_MACHINE && s.busy == 200 && s.total == 1000);
	put("cg/a/cpu.max", "1000 100000 junk\n");
	put("cg/a/cpu.stat", "nothing here\n");
	CHECK(platform_cpu_sample_at(&s, proc, cg, 3000000) == 0 && s.scope == PLATFORM_MACHINE);
	put("proc/stat", "cpu  200 0 200 1400 200 0 0 0 0 0\n");
	CHECK(platform_cpu_sample_at(&t, proc, cg, 4000000) == 0);
	CHECK(platform_cpu_pct(&s, &t) == 20);
	/* Outside the cgroup namespace: the machine's. */
	put("proc/self/cgroup", "0::/../x\n");
	put("cg/a/cpu.max", "50000 100000\n");
	CHECK(platform_cpu_sample_at(&s, proc, cg, 5000000) == 0 && s.scope == PLATFORM_MACHINE);

	/* Nothing readable: unknown. */
	put("proc/meminfo", "MemTotal: 16777216 kB\n");
	CHECK(platform_mem_pct_at(proc, NULL) == -1);
	put("proc/stat", "garbage\n");
	CHECK(platform_cpu_sample_at(&s, proc, NULL, 1) == -1 && s.scope == PLATFORM_NONE);
	CHECK(platform_cpu_sample_at(&s, "/nonexistent", "/nonexistent", 1) == -1);
	CHECK(platform_mem_pct_at("/nonexistent", NULL) == -1);
	snprintf(proc, sizeof(proc), "rm -rf '%s'", root);
	CHECK(system(proc) == 0);
}

/* Here, whatever this is: sane values or unknown. */
static void
test_here(void)
{
	struct platform_cpu a, b;
	double cpu, mem;

	CHECK(platform_cpu_sample(&a) == 0 || a.scope == PLATFORM_NONE);
	usleep(50000); /* a few clock ticks */
	CHECK(platform_cpu_sample(&b) == 0 || b.scope == PLATFORM_NONE);
	cpu = platform_cpu_pct(&a, &b);
	mem = platform_mem_pct();
	printf("here: cpu %.1f %% (%s), mem %.1f %%\n", cpu,
	    b.scope == PLATFORM_CGROUP        ? "cgroup"
		: b.scope == PLATFORM_MACHINE ? "machine"
					      : "unknown",
	    mem);
	CHECK(cpu == -1 || (cpu >= 0 && cpu <= 100));
	CHECK(mem == -1 || (mem > 0 && mem <= 100));
#ifdef __linux__
	CHECK(a.scope != PLATFORM_NONE && mem != -1);
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

int
main(void)
{
	test_write_errno();
	test_nofile();
	test_proc_stat();
	test_cgroup_path();
	test_cgroup_files();
	test_cpu_pct();
	test_tree();
	test_here();
	return CHECK_DONE();
}
