/* check.h - the unit tests' one macro.  Each test binary prints "N passed, M failed". */
#ifndef SIM_CHECK_H
#define SIM_CHECK_H

#include <stdio.h>

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

#endif
