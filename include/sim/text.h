/* text.h - small checks of text from outside (checkpoint rows, run ids), error text. */
#ifndef SIM_TEXT_H
#define SIM_TEXT_H

#include <stddef.h>

/* Whether s[0..n) is printable ASCII (0x20 to 0x7e) through and through. */
int text_printable(const char *s, size_t n);

/*
 * key as a message may quote it: printable ASCII with '?' for every other byte,
 * cut to size - 1 bytes with "..." ending what was cut.  Returns buf.
 */
const char *text_shown(const char *key, char *buf, size_t size);

/* Replaces in s every control byte (newline, escape...) with '?'. */
void text_unforge(char *s);

/* Formats an error into err[errlen] (when err is not NULL) and returns -1. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
int
text_errf(char *err, size_t errlen, const char *fmt, ...);

#endif
