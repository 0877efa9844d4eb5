/* version.h - what this build is: its version, its commit, its optional parts. */
#ifndef SIM_VERSION_H
#define SIM_VERSION_H

#include <stddef.h>

const char *version_number(void); /* "0.1.0" */
/* The git commit built ("1a2b3c4d5e6f", "...-dirty" with local changes), "" outside git. */
const char *version_commit(void);
/* The optional parts compiled in, space-separated ("libsystemd"), or "". */
const char *version_features(void);
/*
 * "simd 0.1.0 (commit 1a2b3c4d5e6f)", and with features "; with libsystemd" or
 * "; without libsystemd" inside the parentheses.
 */
void version_line(char *buf, size_t len, const char *prog, int features);

#endif
