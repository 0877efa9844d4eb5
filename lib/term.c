/* term.c - raw keys, size, alternate screen, drawing (see term.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "sim/term.h"

#define ALT_ON "\033[?1049h\033[?25l" /* the alternate screen; the cursor hidden */
#define ALT_OFF "\033[?25h\033[?1049l"

int
term_write(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

int
term_open(struct term *t, int in, int out)
{
	struct termios raw;

	memset(t, 0, sizeof(*t));
	t->in = in;
	t->out = out;
	if (isatty(in) && tcgetattr(in, &t->saved) == 0) {
		raw = t->saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		if (tcsetattr(in, TCSAFLUSH, &raw) != 0)
			return -1;
		t->raw = 1;
	}
	return term_write(out, ALT_ON, strlen(ALT_ON));
}

void
term_close(struct term *t)
{
	(void)term_write(t->out, ALT_OFF, strlen(ALT_OFF));
	if (t->raw)
		(void)tcsetattr(t->in, TCSAFLUSH, &t->saved);
	t->raw = 0;
}

int
term_size(int fd, int *cols, int *rows)
{
	struct winsize ws;

	if (ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0 || ws.ws_row == 0)
		return -1;
	*cols = ws.ws_col;
	*rows = ws.ws_row;
	return 0;
}

int
term_draw(struct term *t, const char *text)
{
	size_t n = strlen(text), cap = n * 5 + 16, len = 0; /* "\n" grows to 5 bytes */
	char *buf = malloc(cap);
	int rc;

	if (buf == NULL)
		return -1;
	/* home, then each line cleared to its end: no flicker of a full clear */
	memcpy(buf, "\033[H", 3);
	len = 3;
	for (const char *p = text; *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t k = nl ? (size_t)(nl - p) : strlen(p);
		memcpy(buf + len, p, k);
		len += k;
		memcpy(buf + len, "\033[K", 3);
		len += 3;
		if (nl == NULL || nl[1] == '\0')
			break; /* no line end after the last row: the screen must not scroll */
		buf[len++] = '\r';
		buf[len++] = '\n';
		p = nl + 1;
	}
	memcpy(buf + len, "\033[J", 3); /* and below the last line */
	len += 3;
	rc = term_write(t->out, buf, len);
	free(buf);
	return rc;
}

int
term_color_ok(int fd)
{
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");

	if (nc != NULL && *nc != '\0')
		return 0;
	if (term != NULL && strcmp(term, "dumb") == 0)
		return 0;
	return isatty(fd);
}
