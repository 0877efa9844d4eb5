/* simd.c - the daemon: flags, configuration, detaching, wiring, signals. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "sim/checkpoint.h"
#include "sim/ckptsched.h"
#include "sim/cluster.h"
#include "sim/cmd.h"
#include "sim/concurrency.h"
#include "sim/config.h"
#include "sim/control.h"
#include "sim/engine.h"
#include "sim/llm.h"
#include "sim/log.h"
#include "sim/paths.h"
#include "sim/platform.h"
#include "sim/preflight.h"
#include "sim/reload.h"
#include "sim/resume.h"
#include "sim/server.h"
#include "sim/shutdown.h"
#include "sim/store.h"
#include "sim/version.h"
#include "sim/watch.h"

#define MAX_FLAG_KEYS 8
/*
 * The loop's time slice (platform_short_slice): woken by a control client
 * while database backends on the same host keep both cores busy, it waited
 * 3-20 ms for a CPU with the default slice, under 2 ms with this one.
 */
#define LOOP_SLICE_US 100

struct flags {
	int foreground, check_only, resume, init_db, preflight, json;
	const char *config_path;
	const char *keys[MAX_FLAG_KEYS]; /* flag overrides, re-applied on SIGHUP */
	const char *values[MAX_FLAG_KEYS];
	int nkeys;
};

struct daemon {
	struct server srv;
	struct flags fl;
	struct event *sig[4];
	struct event *watchdog;
	int ready_fd; /* pipe to the waiting parent when detaching, else -1 */
	int lock_fd;
	int exit_code;
	char pid_path[PATH_MAX];
};

static void
print_version(void)
{
	char line[160];

	version_line(line, sizeof(line), "simd", 1);
	printf("%s\n", line);
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: simd [-fhnV] [-c file] [-s socket] [-d datadir] [-l level] [-L file] "
	    "[--resume] [--init-db] [--preflight [--json]]\n"
	    "  -f, --foreground   stay in the foreground, log to stderr\n"
	    "  -c, --config FILE  configuration file (simd.conf(5))\n"
	    "  -s, --socket PATH  control socket\n"
	    "  -d, --data-dir DIR data directory (shop.db, checkpoints.db, lock)\n"
	    "  -l, --log-level L  error, warn, info or debug\n"
	    "  -L, --log-file F   append the log to F (reopened on SIGHUP)\n"
	    "  -n, --check        check the configuration and exit\n"
	    "      --resume       continue the newest checkpointed run on start\n"
	    "      --init-db      create or migrate the shop database and exit\n"
	    "      --preflight    check the machine and the database before a run, and exit\n"
	    "      --json         with --preflight: the checks as JSON\n"
	    "  -V, --version      print the version and exit\n"
	    "  -h, --help         this help\n");
}

static void
add_flag(struct flags *fl, const char *key, const char *value)
{
	if (fl->nkeys < MAX_FLAG_KEYS) {
		fl->keys[fl->nkeys] = key;
		fl->values[fl->nkeys++] = value;
	}
}

static void
parse_flags(int argc, char **argv, struct flags *fl)
{
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "check", no_argument, NULL, 'n' },
		{ "log-file", required_argument, NULL, 'L' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ "resume", no_argument, NULL, 'R' },
		{ "init-db", no_argument, NULL, 'I' },
		{ "preflight", no_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "fc:s:d:l:L:nVh", opts, NULL)) != -1) {
		switch (ch) {
		case 'f': fl->foreground = 1; break;
		case 'c': fl->config_path = optarg; break;
		case 's': add_flag(fl, "socket", optarg); break;
		case 'd': add_flag(fl, "data_dir", optarg); break;
		case 'l': add_flag(fl, "log_level", optarg); break;
		case 'L': add_flag(fl, "log_file", optarg); break;
		case 'n': fl->check_only = 1; break;
		case 'R': fl->resume = 1; break;
		case 'I': fl->init_db = 1; break;
		case 'P': fl->preflight = 1; break;
		case 'J': fl->json = 1; break;
		case 'V': print_version(); exit(0);
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "simd: unexpected argument: %s\n", argv[optind]);
		usage(stderr);
		exit(2);
	}
}

/* defaults < file < environment < flags */
static struct sim_config *
load_config(const struct flags *fl, char *err, size_t errlen)
{
	const char *path = fl->config_path ? fl->config_path : getenv("SIMD_CONFIG");

	return config_load(path, fl->keys, fl->values, fl->nkeys, err, errlen);
}

/* What start-up would refuse, short of binding and connecting: simd -n runs all of it. */
static int
check_parts(const struct sim_config *c, char *err, size_t errlen)
{
	struct control_opts co;
	struct store_opts so;
	struct run_params *rp = malloc(sizeof(*rp));
	struct shopper_opts shop;
	struct calendar cal;
	struct concurrency_opts ao;
	FILE *f;
	int bad;

	if (rp == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	control_opts_from_config(&co, c);
	store_opts_from_config(&so, c);
	params_from_config(rp, c); /* the shopper model of the next run */
	concurrency_opts_from_config(&ao, c);
	bad = control_check(&co, err, errlen) != 0 || store_check(&so, err, errlen) != 0 ||
	    watch_check(c, err, errlen) != 0 || concurrency_opts_check(&ao, err, errlen) != 0 ||
	    llm_check(c, err, errlen) != 0 || cluster_check(c, err, errlen) != 0 ||
	    engine_shopper(rp, &shop, &cal, err, errlen) != 0;
	free(rp);
	if (bad)
		return -1;
	if (*c->log_file != '\0') {
		if ((f = fopen(c->log_file, "a")) == NULL) {
			snprintf(err, errlen, "log_file %s: %s", c->log_file, strerror(errno));
			return -1;
		}
		fclose(f);
	}
	return 0;
}

/* Prints j (stolen) indented, or null. */
static void
print_json_line(json_t *j)
{
	char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;

	printf("%s\n", text ? text : "null");
	free(text);
	json_decref(j);
}

/* The checks as simctl preflight prints them (preflight_print.c); the exit status. */
static int
print_preflight(const struct preflight *p, int json)
{
	json_t *j = preflight_json(p);
	int rc;

	if (j == NULL) {
		fprintf(stderr, "simd: out of memory\n");
		return 2;
	}
	rc = preflight_exit_status(j);
	if (!json) {
		preflight_print(stdout, j);
		json_decref(j);
	} else {
		print_json_line(j);
	}
	return rc;
}

/* simd --preflight: one line per check; exit 0 all ok, 1 warnings, 2 failures. */
static int
run_preflight(struct daemon *d, const char *paths_err)
{
	struct preflight *p = malloc(sizeof(*p));
	int rc = 2;

	if (p == NULL) {
		fprintf(stderr, "simd: out of memory\n");
	} else if (paths_err != NULL) {
		/* a data directory that cannot be had is its first failure */
		struct preflight_check *c;
		memset(p, 0, sizeof(*p));
		c = preflight_add(p, "data_dir", PREFLIGHT_FAIL);
		/* cut: a line, not a page */
		snprintf(c->value, sizeof(c->value), "%.150s", paths_err);
		snprintf(c->threshold, sizeof(c->threshold), "a file can be created");
		rc = print_preflight(p, d->fl.json);
	} else {
		preflight_run(d->srv.cfg, 0, p);
		rc = print_preflight(p, d->fl.json);
	}
	free(p);
	config_free(d->srv.cfg);
	return rc;
}

/* ---- detaching ---- */

static int
detach(struct daemon *d)
{
	int fds[2];
	pid_t pid;
	char c;

	if (pipe(fds) != 0) {
		perror("simd: pipe");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		perror("simd: fork");
		return -1;
	}
	if (pid > 0) {
		/* The parent returns once the daemon listens, or fails with its message. */
		close(fds[1]);
		if (read(fds[0], &c, 1) == 1 && c == 'R')
			exit(0);
		exit(1);
	}
	close(fds[0]);
	d->ready_fd = fds[1];
	if (setsid() < 0)
		return -1;
	pid = fork(); /* never reacquire a controlling terminal */
	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	umask(022);
	return chdir("/");
}

static void
detached_ready(struct daemon *d)
{
	int fd;
	FILE *f;

	if (d->ready_fd < 0)
		return;
	f = fopen(d->pid_path, "w");
	if (f != NULL) {
		fprintf(f, "%ld\n", (long)getpid());
		fclose(f);
	} else {
		log_warn("cannot write pid file %s", d->pid_path);
	}
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > 2)
			close(fd);
	}
	if (write(d->ready_fd, "R", 1) != 1)
		log_warn("cannot tell the parent we are ready");
	close(d->ready_fd);
	d->ready_fd = -1;
}

/* ---- shutdown and reload ---- */

static void
loop_exit(void *arg)
{
	struct daemon *d = arg;

	event_base_loopexit(d->srv.base, NULL);
}

static void
reload(struct daemon *d)
{
	char err[512];
	struct sim_config *c = load_config(&d->fl, err, sizeof(err));

	/* parse and check it all first: a bad file changes nothing */
	if (c != NULL &&
	    (paths_resolve(c, err, sizeof(err)) != 0 || check_parts(c, err, sizeof(err)) != 0)) {
		config_free(c);
		c = NULL;
	}
	if (c == NULL || reload_apply(&d->srv, c, RELOAD_FILE, err, sizeof(err)) != 0)
		log_warnx("reload failed, keeping the running configuration: %s", err);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	switch (sig) {
	case SIGTERM:
	case SIGINT:
		shutdown_request(d->srv.shutdown, sig == SIGTERM ? "SIGTERM" : "SIGINT");
		break;
	case SIGHUP:
		log_info("SIGHUP: reloading the configuration");
		platform_notify("RELOADING=1");
		reload(d);
		platform_notify("READY=1");
		break;
	}
}

static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	platform_notify("WATCHDOG=1");
}

static int
setup_signals(struct daemon *d)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	struct sigaction sa;
	uint64_t wd = platform_watchdog_usec();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	for (size_t i = 0; i < 3; i++) {
		d->sig[i] = evsignal_new(d->srv.base, sigs[i], signal_cb, d);
		if (d->sig[i] == NULL || evsignal_add(d->sig[i], NULL) != 0)
			return -1;
	}
	if (wd > 0) {
		struct timeval tv = { (time_t)(wd / 2000000), (suseconds_t)(wd / 2 % 1000000) };
		d->watchdog = event_new(d->srv.base, -1, EV_PERSIST, watchdog_cb, d);
		if (d->watchdog == NULL || event_add(d->watchdog, &tv) != 0)
			return -1;
	}
	return 0;
}

/* ---- start-up ---- */

/* Room for every control client the caps allow, the pool and the files of our own. */
static void
raise_nofile(const struct sim_config *c)
{
	uint64_t want = (uint64_t)c->control_max_clients + (uint64_t)c->pool_max + 64;
	uint64_t got = platform_raise_nofile(want);

	if (got < want)
		log_warnx("open files are limited to %llu (hard limit), fewer than the %llu that "
			  "control_max_clients and pool_max may need: past it, clients and "
			  "connections are refused",
		    (unsigned long long)got, (unsigned long long)want);
}

/* persona_source = llm: the engine's personas come from the LLM client. */
static int
open_llm(struct server *srv, char *err, size_t errlen)
{
	struct llm_conf lc;
	struct persona_source src;

	if (strcmp(srv->cfg->persona_source, "llm") != 0)
		return 0;
	if (llm_conf_load(&lc, srv->cfg, err, errlen) != 0 ||
	    (srv->llm = llm_new(srv->base, &lc, err, errlen)) == NULL)
		return -1;
	llm_persona_source(srv->llm, &src);
	engine_set_persona_source(srv->engine, &src);
	return 0;
}

static int
open_parts(struct daemon *d, char *err, size_t errlen)
{
	struct server *srv = &d->srv;
	struct sim_config *c = srv->cfg;
	struct control_opts co;
	struct store_opts so;

	control_opts_from_config(&co, c);
	store_opts_from_config(&so, c);
	raise_nofile(c);
	if ((d->lock_fd = platform_lock_dir(c->data_dir, err, errlen)) < 0)
		return -1;
	if ((srv->base = control_base_new()) == NULL) {
		snprintf(err, errlen, "cannot create the event loop");
		return -1;
	}
	if ((srv->store = store_open(srv->base, &so, err, errlen)) == NULL)
		return -1;
	if (d->fl.init_db)
		return 0;
	if ((srv->ckpt = checkpoint_open(c->data_dir, (int)c->checkpoint_keep, err, errlen)) ==
	    NULL)
		return -1;
	if ((srv->engine = engine_new(srv->base, srv->store)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (open_llm(srv, err, errlen) != 0 || server_init(srv, err, errlen) != 0)
		return -1;
	if (c->cluster) {
		struct cluster_opts clo;
		cluster_opts_from_config(&clo, c);
		srv->cluster =
		    cluster_new(srv->base, srv->engine, srv->store, srv->sched, &clo, err, errlen);
		if (srv->cluster == NULL)
			return -1;
	}
	if ((srv->shutdown = shutdown_new(srv, loop_exit, d)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (setup_signals(d) != 0) {
		snprintf(err, errlen, "cannot install signal handlers");
		return -1;
	}
	if ((srv->control = control_new(srv->base, &co, cmd_dispatch, srv, err, errlen)) == NULL)
		return -1;
	return 0;
}

static void
close_parts(struct daemon *d)
{
	struct server *srv = &d->srv;

	for (size_t i = 0; i < 3; i++)
		if (d->sig[i])
			event_free(d->sig[i]);
	if (d->watchdog)
		event_free(d->watchdog);
	shutdown_free(srv->shutdown);
	cluster_close(srv->cluster); /* nothing more goes to the cluster's tables */
	/* Sessions abandoned at a shutdown deadline come back from the store's close. */
	ckptsched_close(srv->sched);
	if (srv->engine)
		engine_detach(srv->engine);
	store_close(srv->store);
	server_fini(srv);
	engine_free(srv->engine);
	cluster_free(srv->cluster); /* after the engine: its hooks point there */
	llm_free(srv->llm);
	control_free(srv->control);
	checkpoint_close(srv->ckpt);
	if (srv->base)
		event_base_free(srv->base);
	if (d->ready_fd < 0 && !d->fl.foreground)
		unlink(d->pid_path);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	config_free(srv->cfg);
}

int
main(int argc, char **argv)
{
	struct daemon d;
	char err[1024], config_abs[PATH_MAX];

	memset(&d, 0, sizeof(d));
	d.ready_fd = -1;
	d.lock_fd = -1;
	parse_flags(argc, argv, &d.fl);
	/* Detaching changes directory: SIGHUP must still find the file. */
	if (d.fl.config_path != NULL && realpath(d.fl.config_path, config_abs) != NULL)
		d.fl.config_path = config_abs;
	if ((d.srv.cfg = load_config(&d.fl, err, sizeof(err))) == NULL) {
		fprintf(stderr, "simd: %s\n", err);
		return 1;
	}
	if (paths_resolve(d.srv.cfg, err, sizeof(err)) != 0) {
		if (d.fl.preflight)
			return run_preflight(&d, err);
		fprintf(stderr, "simd: %s\n", err);
		config_free(d.srv.cfg);
		return 1;
	}
	if (check_parts(d.srv.cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "simd: %s\n", err);
		config_free(d.srv.cfg);
		return 1;
	}
	if (d.fl.preflight)
		return run_preflight(&d, NULL);
	if (d.fl.check_only) {
		printf("simd: configuration OK\n");
		config_free(d.srv.cfg);
		return 0;
	}
	paths_pid_file(d.srv.cfg, d.pid_path, sizeof(d.pid_path));
	log_init("simd", 0, (enum log_level)d.srv.cfg->log_level);
	if (log_set_file(d.srv.cfg->log_file, err, sizeof(err)) != 0) {
		fprintf(stderr, "simd: %s\n", err);
		config_free(d.srv.cfg);
		return 1;
	}
	if (!d.fl.foreground && !d.fl.init_db && !log_to_file() && !platform_syslog_available())
		fprintf(stderr,
		    "simd: warning: no syslog here (%s is missing) and no log_file: "
		    "detached, simd will log nowhere; use -L FILE, log_file, or -f\n",
		    PLATFORM_SYSLOG_SOCKET);
	if (!d.fl.foreground && !d.fl.init_db && detach(&d) != 0) {
		fprintf(stderr, "simd: cannot detach: %s\n", strerror(errno));
		return 1;
	}
	d.srv.started_at = time(NULL);
	/* before any thread starts: they take it too */
	if (platform_short_slice(LOOP_SLICE_US) != 0)
		log_debug("no short time slice for the loop: %s", strerror(errno));
	if (open_parts(&d, err, sizeof(err)) != 0) {
		fprintf(stderr, "simd: %s\n", err);
		close_parts(&d);
		return 1;
	}
	if (d.fl.init_db) {
		printf("simd: shop database ready\n");
		close_parts(&d);
		return 0;
	}
	if (!d.fl.foreground)
		log_init("simd", 1, (enum log_level)d.srv.cfg->log_level);
	log_info("simd %s listening on %s (data %s)", version_number(), d.srv.cfg->socket_path,
	    d.srv.cfg->data_dir);
	if (d.fl.resume && resume_run(d.srv.engine, d.srv.ckpt, 0, err, sizeof(err)) != 0) {
		/* a resume that cannot happen must not look like one that did */
		log_warnx("--resume: %s", err);
		if (log_to_file() || !d.fl.foreground) /* else the line above went there */
			fprintf(stderr, "simd: --resume: %s\n", err);
		close_parts(&d);
		return 1;
	}
	detached_ready(&d);
	platform_notify("READY=1");
	event_base_dispatch(d.srv.base);
	log_info("simd stopped");
	close_parts(&d);
	return d.exit_code;
}
