/*
 * fuzz_config.c - a configuration file: config_load_file, then what reads the
 * result (config_format of every key, config_dup, config_diff_restart).
 *
 * config_load_file takes a path, so the input goes to one temporary file
 * (on /dev/shm when there is one), rewritten for every input.
 * Contract: a failure says why in one line naming the file; the secret
 * (database_url) is never shown by config_format.
 */
#include <fcntl.h>
#include <unistd.h>

#include "sim/config.h"

#include "fuzz.h"

static char fuzz_path[128];
static int fuzz_fd = -1;

static void
fuzz_cleanup(void)
{
	if (fuzz_fd != -1)
		unlink(fuzz_path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("TMPDIR");

	if (dir == NULL || dir[0] == '\0' || strlen(dir) > 60)
		dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	snprintf(fuzz_path, sizeof(fuzz_path), "%s/simd-fuzz-config.XXXXXX", dir);
	fuzz_fd = mkstemp(fuzz_path);
	FUZZ_ASSERT(fuzz_fd != -1);
	atexit(fuzz_cleanup);
	return 0;
}

static void
fuzz_write(const uint8_t *data, size_t size)
{
	FUZZ_ASSERT(ftruncate(fuzz_fd, 0) == 0);
	FUZZ_ASSERT(size == 0 || pwrite(fuzz_fd, data, size, 0) == (ssize_t)size);
}

/* What reads a loaded config must cope with whatever the file set. */
static void
fuzz_use(const struct sim_config *c)
{
	struct sim_config *d;
	const char *keys[64];
	char buf[8192];

	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];

		config_format(c, k, buf, sizeof(buf));
		if (k->flags & CFG_SECRET)
			FUZZ_ASSERT(strcmp(buf, "") == 0 || strcmp(buf, "(set)") == 0);
	}
	d = config_dup(c);
	FUZZ_ASSERT(d != NULL);
	FUZZ_ASSERT(config_diff_restart(c, d, keys, 64) == 0);
	config_free(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sim_config *c;
	char err[512];

	fuzz_write(data, size);
	c = config_new();
	FUZZ_ASSERT(c != NULL);
	err[0] = '\0';
	if (config_load_file(c, fuzz_path, err, sizeof(err)) == 0) {
		fuzz_use(c);
	} else {
		FUZZ_ASSERT(strncmp(err, fuzz_path, strlen(fuzz_path)) == 0);
		FUZZ_ASSERT(fuzz_one_line(err));
	}
	config_free(c);
	return 0;
}
