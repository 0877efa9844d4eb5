/* text.h - small checks of text from outside (checkpoint rows, run ids). */
#ifndef SIM_TEXT_H
#define SIM_TEXT_H

#include <stddef.h>

/* Whether s[0..n) is printable ASCII (0x20 to 0x7e) through and through. */
int text_printable(const char *s, size_t n);

#endif
