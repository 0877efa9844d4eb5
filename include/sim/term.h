/*
 * term.h - the small terminal layer simctl top draws with: raw keys, the
 * window's size, the alternate screen, and a frame drawn from the top left.
 * Plain ECMA-48/VT100 sequences, which every terminal simctl meets speaks
 * (xterm and its kin, the Linux console, tmux, screen, macOS Terminal), so no
 * terminfo and no curses: simctl keeps linking jansson alone.
 */
#ifndef SIM_TERM_H
#define SIM_TERM_H

#include <stddef.h>
#include <termios.h>

struct term {
	int in, out;
	int raw; /* the input is in raw mode: restore it on close */
	struct termios saved;
};

/* Raw keys from in (when it is a terminal), the alternate screen on out; 0, or -1. */
int term_open(struct term *t, int in, int out);
/* Back to the terminal as it was. */
void term_close(struct term *t);
/* The window's size; 0, or -1 when fd is not a terminal. */
int term_size(int fd, int *cols, int *rows);
/* Draws text (lines ending in \n) from the top left, clearing what is left over. */
int term_draw(struct term *t, const char *text);
/* All of s[0..n) to fd (a terminal may take it in parts); 0, or -1. */
int term_write(int fd, const char *s, size_t n);
/* Whether colour may be used on fd: a terminal, not TERM=dumb, no NO_COLOR (no-color.org). */
int term_color_ok(int fd);

#endif
