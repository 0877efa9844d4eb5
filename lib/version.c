/* version.c - the build's identity (see version.h); make passes SIMD_COMMIT to this file only. */
#include <stdio.h>
#include <string.h>

#include "sim/version.h"

#ifndef SIMD_VERSION
#define SIMD_VERSION "unknown"
#endif
#ifndef SIMD_COMMIT
#define SIMD_COMMIT ""
#endif

const char *
version_number(void)
{
	return SIMD_VERSION;
}

const char *
version_commit(void)
{
	return SIMD_COMMIT;
}

const char *
version_features(void)
{
#ifdef HAVE_SYSTEMD
	return "libsystemd";
#else
	return "";
#endif
}

void
version_line(char *buf, size_t len, const char *prog, int features)
{
	const char *f = version_features();
	char commit[64] = "";

	if (SIMD_COMMIT[0] != '\0')
		snprintf(commit, sizeof(commit), "commit %s", SIMD_COMMIT);
	else
		snprintf(commit, sizeof(commit), "not built from git");
	if (!features)
		snprintf(buf, len, "%s %s (%s)", prog, SIMD_VERSION, commit);
	else if (strstr(f, "libsystemd") != NULL)
		snprintf(buf, len, "%s %s (%s; with %s)", prog, SIMD_VERSION, commit, f);
	else
		snprintf(buf, len, "%s %s (%s; without libsystemd)", prog, SIMD_VERSION, commit);
}
