/* check.h - the unit tests' one macro.  Each test binary prints "N passed, M failed". */
#ifndef SIM_CHECK_H
#define SIM_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond)                                                                              \
	do {                                                                                     \
		if (cond) {                                                                      \
			check_passed++;                                                          \
		} else {                                                                         \
			check_failed++;                                                          \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                                \
	} while (0)

#define CHECK_DONE()                                                                 \
	(printf("%s: %d passed, %d failed\n", __FILE__, check_passed, check_failed), \
	    check_failed != 0)

/*
 * "$TMPDIR/NAME.XXXXXX" in buf, for mkdtemp() or mkstemp(); /tmp when TMPDIR is
 * unset, empty, or longer than maxdir (a Unix socket's path must stay under
 * about 104 bytes).  Returns buf.
 */
static inline char *
check_tmpl(char *buf, size_t len, const char *name, size_t maxdir)
{
	const char *tmp = getenv("TMPDIR");

	if (tmp == NULL || tmp[0] == '\0' || strlen(tmp) > maxdir)
		tmp = "/tmp";
	snprintf(buf, len, "%s/%s.XXXXXX", tmp, name);
	return buf;
}

#endif
