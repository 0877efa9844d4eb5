/* paths.c - where the daemon's files are (see paths.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/config.h"
#include "sim/paths.h"
#include "sim/platform.h"

/* A relative path is taken from the working directory, which detaching leaves. */
static int
absolute(struct sim_config *c, const char *key, const char *path, char *err, size_t errlen)
{
	char cwd[PATH_MAX], buf[PATH_MAX];

	if (*path == '\0' || *path == '/')
		return 0;
	if (getcwd(cwd, sizeof(cwd)) == NULL ||
	    snprintf(buf, sizeof(buf), "%s/%s", cwd, path) >= (int)sizeof(buf)) {
		snprintf(err, errlen, "%s: path too long: %s", key, path);
		return -1;
	}
	return config_set(c, key, buf, err, errlen);
}

static int
default_data_dir(struct sim_config *c, char *err, size_t errlen)
{
	const char *home = getenv("HOME");
	char buf[PATH_MAX];

	if (geteuid() == 0 || home == NULL || *home != '/')
		snprintf(buf, sizeof(buf), "/var/lib/simd");
	else if (snprintf(buf, sizeof(buf), "%s/.local/state/simd", home) >= (int)sizeof(buf)) {
		snprintf(err, errlen, "data_dir: $HOME is too long");
		return -1;
	}
	return config_set(c, "data_dir", buf, err, errlen);
}

int
paths_resolve(struct sim_config *c, char *err, size_t errlen)
{
	char buf[PATH_MAX];

	if (*c->socket_path == '\0') {
		config_default_socket(buf, sizeof(buf));
		if (config_set(c, "socket", buf, err, errlen) != 0)
			return -1;
	}
	if (*c->data_dir == '\0' && default_data_dir(c, err, errlen) != 0)
		return -1;
	if (platform_mkdir_p(c->data_dir, err, errlen) != 0)
		return -1;
	if (realpath(c->data_dir, buf) == NULL) {
		snprintf(err, errlen, "data_dir %s: %s", c->data_dir, strerror(errno));
		return -1;
	}
	if (config_set(c, "data_dir", buf, err, errlen) != 0)
		return -1;
	return absolute(c, "socket", c->socket_path, err, errlen) != 0 ||
		absolute(c, "log_file", c->log_file, err, errlen) != 0 ||
		absolute(c, "metrics_csv", c->metrics_csv, err, errlen) != 0
	    ? -1
	    : 0;
}

void
paths_pid_file(const struct sim_config *c, char *buf, size_t len)
{
	if (*c->pid_file == '/')
		snprintf(buf, len, "%s", c->pid_file);
	else if (*c->pid_file) /* relative: to the data directory */
		snprintf(buf, len, "%s/%s", c->data_dir, c->pid_file);
	else
		snprintf(buf, len, "%s/simd.pid", c->data_dir);
}
