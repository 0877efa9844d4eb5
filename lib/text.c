/* text.c - small checks of text from outside (see text.h). */
#include "sim/text.h"

int
text_printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return 1;
}
