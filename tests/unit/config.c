/* config.c - unit tests of the tunables table and its parsers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "sim/config.h"

static char dir[128];

static const char *
write_file(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static int
load(struct sim_config *c, const char *text, char *err, size_t len)
{
	return config_load_file(c, write_file("t.conf", text), err, len);
}

int
main(void)
{
	struct sim_config *c, *d;
	char err[512], buf[256];
	const char *keys[8];

	CHECK(mkdtemp(check_tmpl(dir, sizeof(dir), "simd-config", 80)) != NULL);
	c = config_new();
	CHECK(c != NULL);
	/* defaults */
	CHECK(c->max_concurrent == 50 && c->agents == 372 && c->pool_max == 60);
	CHECK(c->checkpoint_interval == 300 && c->checkpoint_keep == 10);
	CHECK(c->socket_mode == 0660 && c->pool_pre_ping == 1 && c->time_scale == 24);
	CHECK(c->sim_start == 1767571200); /* 2026-01-05T00:00:00Z */
	/* every key has a name, a doc line, a parseable default; names are unique */
	for (size_t i = 0; i < config_nkeys; i++) {
		CHECK(config_keys[i].doc != NULL && strlen(config_keys[i].doc) > 10);
		CHECK(config_find(config_keys[i].name) == &config_keys[i]);
	}
	CHECK(config_find("nope") == NULL);

	/* a good file: comments, blank lines, quotes, spaces */
	CHECK(load(c,
		  "# comment\n\n  max_concurrent = 80  # trailing\nsocket = \"/tmp/a b#c\"\n"
		  "time_scale=0\npool_pre_ping = off\nsim_start = 2026-02-01\nlog_level = DEBUG\n"
		  "socket_mode = 0600\n",
		  err, sizeof(err)) == 0);
	CHECK(c->max_concurrent == 80 && strcmp(c->socket_path, "/tmp/a b#c") == 0);
	CHECK(c->time_scale == 0 && c->pool_pre_ping == 0 && c->log_level == 3);
	CHECK(c->sim_start == 1769904000 && c->socket_mode == 0600);
	/* quotes keep blanks as they are (simd.conf(5)); without them the value is trimmed */
	CHECK(load(c, "socket = \" /tmp/a b \"  # c\nsocket_group = g  # c\n", err, sizeof(err)) ==
	    0);
	CHECK(strcmp(c->socket_path, " /tmp/a b ") == 0 && strcmp(c->socket_group, "g") == 0);

	/* errors name file, line and key */
	CHECK(load(c, "agents = 5\nmax_concurrent = 0\n", err, sizeof(err)) == -1);
	CHECK(strstr(err, "t.conf:2: max_concurrent: must be an integer from 1 to 100000") != NULL);
	CHECK(load(c, "frobs = 1\n", err, sizeof(err)) == -1);
	CHECK(strstr(err, "t.conf:1: frobs: unknown key") != NULL);
	/* an unknown key is shown without control bytes (a terminal escape), and cut */
	CHECK(load(c,
		  "\x1b[2Jfr\xc3\xb6"
		  "bs = 1\n",
		  err, sizeof(err)) == -1);
	CHECK(strstr(err, "t.conf:1: ?[2Jfr??bs: unknown key") != NULL);
	CHECK(
	    load(c, "k0123456789012345678901234567890123456789012345678901234567890123456789 = 1\n",
		err, sizeof(err)) == -1);
	CHECK(strstr(err,
		  ":1: k0123456789012345678901234567890123456789012345678901234567890"
		  "12...: unknown key") != NULL);
	CHECK(load(c, "no equals sign\n", err, sizeof(err)) == -1);
	CHECK(strstr(err, "t.conf:1: expected key = value") != NULL);
	CHECK(load(c, " = 5\n", err, sizeof(err)) == -1);
	CHECK(load(c, "agents = 12abc\n", err, sizeof(err)) == -1);
	CHECK(load(c, "agents = \n", err, sizeof(err)) == -1);
	CHECK(load(c, "hours = nan\n", err, sizeof(err)) == -1);
	CHECK(load(c, "hours = -1\n", err, sizeof(err)) == -1);
	CHECK(load(c, "agents = 99999999999999999999\n", err, sizeof(err)) == -1);
	CHECK(load(c, "pool_pre_ping = maybe\n", err, sizeof(err)) == -1);
	CHECK(strstr(err, "yes or no") != NULL);
	CHECK(load(c, "sim_start = 2026-02-30\n", err, sizeof(err)) == -1);
	CHECK(load(c, "sim_start = 2027-02-29\n", err, sizeof(err)) == -1);
	CHECK(load(c, "sim_start = 2100-02-29\n", err, sizeof(err)) == -1);
	CHECK(load(c, "sim_start = 2028-02-29T12:00:00Z\n", err, sizeof(err)) == 0);
	CHECK(load(c, "sim_start = 2026-01-01T25:00:00Z\n", err, sizeof(err)) == -1);
	CHECK(load(c, "socket_mode = 0999\n", err, sizeof(err)) == -1);
	CHECK(load(c, "log_level = loud\n", err, sizeof(err)) == -1);
	CHECK(load(c, "socket = \"unterminated\n", err, sizeof(err)) == -1);
	CHECK(config_load_file(c, "/nonexistent/x.conf", err, sizeof(err)) == -1);
	CHECK(strstr(err, "/nonexistent/x.conf") != NULL);
	CHECK(c->max_concurrent == 80); /* failed loads leave set values */

	/* environment, then set */
	setenv("SIMULATION_MAX_CONCURRENT", "7", 1);
	CHECK(config_load_env(c, err, sizeof(err)) == 0 && c->max_concurrent == 7);
	setenv("SIMULATION_MAX_CONCURRENT", "x", 1);
	CHECK(config_load_env(c, err, sizeof(err)) == -1);
	CHECK(strstr(err, "environment SIMULATION_MAX_CONCURRENT: max_concurrent") != NULL);
	unsetenv("SIMULATION_MAX_CONCURRENT");
	CHECK(config_set(c, "agents", "1000", err, sizeof(err)) == 0 && c->agents == 1000);

	/* secrets never shown */
	CHECK(config_set(c, "database_url", "postgresql://u:hunter2@h/db", err, sizeof(err)) == 0);
	config_format(c, config_find("database_url"), buf, sizeof(buf));
	CHECK(strcmp(buf, "(set)") == 0);
	config_format(c, config_find("socket_mode"), buf, sizeof(buf));
	CHECK(strcmp(buf, "0600") == 0);
	config_format(c, config_find("sim_start"), buf, sizeof(buf));
	CHECK(strcmp(buf, "2028-02-29T12:00:00Z") == 0);

	/* dup, and the keys a reload cannot change */
	d = config_dup(c);
	CHECK(d != NULL && strcmp(d->socket_path, c->socket_path) == 0 &&
	    d->socket_path != c->socket_path);
	CHECK(config_diff_restart(c, d, keys, 8) == 0);
	config_set(d, "pool_max", "5", err, sizeof(err));
	config_set(d, "max_concurrent", "5", err, sizeof(err));
	config_set(d, "socket", "/elsewhere", err, sizeof(err));
	CHECK(config_diff_restart(c, d, keys, 8) == 2);
	CHECK(strcmp(keys[0], "socket") == 0 && strcmp(keys[1], "pool_max") == 0);
	config_free(d);
	config_free(c);

	/* the default socket */
	setenv("SIMD_SOCKET", "/x/y.sock", 1);
	config_default_socket(buf, sizeof(buf));
	CHECK(strcmp(buf, "/x/y.sock") == 0);
	unsetenv("SIMD_SOCKET");
	config_default_socket(buf, sizeof(buf));
	CHECK(geteuid() != 0 || strcmp(buf, "/run/simd/simd.sock") == 0);

	unlink(write_file("t.conf", ""));
	rmdir(dir);
	return CHECK_DONE();
}
