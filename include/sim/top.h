/*
 * top.h - what simctl shows of a run as it goes, from subscribe's frames
 * (snapshot_frame_json): the full-screen view of `simctl top' (the plan's
 * panels, values coloured by thresholds), the one line per interval of
 * `simctl status --watch', and the progress bar of `simctl start --wait'.
 * Parts a frame lacks (no API driver, no LLM) show as "-".
 */
#ifndef SIM_TOP_H
#define SIM_TOP_H

#include <stddef.h>

#include <jansson.h>

#include "sim/thresholds.h"

struct client;

struct top_view {
	int cols, rows;                /* the window; rows 0: as many lines as it takes */
	int color;                     /* SGR colours */
	const struct thresholds *over; /* NULL: the frame's (simd.conf's watch_thresholds) */
	const char *message;           /* the footer's last word (an answer to a key) */
};

/* The screen for frame f, lines ending in \n; malloc'd, NULL out of memory. */
char *top_render(const json_t *f, const struct top_view *v);
/* One line (with its \n) for status --watch; malloc'd. */
char *top_line(const json_t *f);
/* The progress bar of start --wait, cols wide at most, without a line end; malloc'd. */
char *top_progress(const json_t *f, int cols);

struct top_opts {
	int once;        /* one plain frame, then return */
	int interactive; /* keys from in, the alternate screen on out */
	int color;
	unsigned interval_ms;
	const struct thresholds *over; /* --thresholds, or NULL */
	int in, out;
};

/*
 * simctl top on an open connection: subscribe, draw each frame (the newest
 * one when several wait), handle q, p, + and - until q, the daemon's going
 * away, or with once the first frame.  0, or -1 with a message.
 */
int top_run(struct client *c, const struct top_opts *o, char *err, size_t errlen);
/* simctl status --watch: a line per interval on out until the daemon goes away. */
int top_watch(struct client *c, unsigned interval_ms, int out, char *err, size_t errlen);

/*
 * method's answer on c (sent with id 1), while a progress bar of the run is
 * drawn on bar_fd from a subscription (start --wait); NULL with a message.
 */
json_t *top_call_progress(
    struct client *c, const char *method, json_t *params, int bar_fd, char *err, size_t errlen);
#endif
