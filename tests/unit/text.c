/* text.c - tests of the text helpers and of the log's refusal of forged lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "sim/log.h"
#include "sim/text.h"

static void
test_shown(void)
{
	char buf[8];

	CHECK(strcmp(text_shown("abc", buf, sizeof(buf)), "abc") == 0);
	CHECK(strcmp(text_shown("a\nb\x1b[c", buf, sizeof(buf)), "a?b?[c") == 0);
	CHECK(strcmp(text_shown("\xc3\xb6k", buf, sizeof(buf)), "??k") == 0);
	CHECK(strcmp(text_shown("0123456789", buf, sizeof(buf)), "0123...") == 0);
	CHECK(strcmp(text_shown("0123456", buf, sizeof(buf)), "0123456") == 0);
	CHECK(strcmp(text_shown("x", buf, 0), "") == 0);
}

static void
test_errf(void)
{
	char err[16];

	CHECK(text_errf(err, sizeof(err), "n=%d", 42) == -1 && strcmp(err, "n=42") == 0);
	CHECK(text_errf(NULL, 0, "n=%d", 42) == -1);
}

/* A message quoting text from outside stays one line in the log file. */
static void
test_log_unforged(void)
{
	char path[128], err[128], line[512];
	int fd = mkstemp(check_tmpl(path, sizeof(path), "simd-text", 100)), lines = 0;
	FILE *f;

	CHECK(fd >= 0);
	close(fd);
	log_init("test", 0, LOG_LEVEL_INFO);
	CHECK(log_set_file(path, err, sizeof(err)) == 0);
	log_info("unknown method \"%s\"", "x\n2026-01-01T00:00:00.000Z simd[info] forged\r\x1b[2J");
	CHECK((f = fopen(path, "r")) != NULL);
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		lines++;
		CHECK(
		    strstr(line, "\"x?2026-01-01T00:00:00.000Z simd[info] forged??[2J\"") != NULL);
	}
	CHECK(lines == 1);
	if (f != NULL)
		fclose(f);
	unlink(path);
}

int
main(void)
{
	test_shown();
	test_errf();
	test_log_unforged();
	return CHECK_DONE();
}
