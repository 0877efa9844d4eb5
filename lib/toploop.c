/*
 * toploop.c - simctl's watching loops on a control connection (see top.h):
 * top's screen and keys, status --watch's lines, start --wait's bar.  All
 * read subscribe's frames; when several have arrived only the newest is
 * drawn.  Blocking by design: these are the client's, never the daemon's.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/client.h"
#include "sim/proto.h"
#include "sim/term.h"
#include "sim/top.h"

#define ID_SUBSCRIBE 2 /* id 1 is the request the loop serves (start --wait) */
#define ID_KEYS 100    /* and up: requests sent for keys */
#define BAR_INTERVAL_MS 500

static int
write_str(int fd, const char *s)
{
	return term_write(fd, s, strlen(s));
}

static int
subscribe(struct client *c, unsigned interval_ms, char *err, size_t errlen)
{
	return client_send(c, SIM_M_SUBSCRIBE, json_pack("{s:i}", "interval_ms", (int)interval_ms),
		   ID_SUBSCRIBE, err, errlen) == CLIENT_OK
	    ? 0
	    : -1;
}

/* A message's error text, or NULL when it is a result. */
static const char *
error_of(const json_t *msg)
{
	const json_t *e = json_object_get(msg, "error");

	if (e == NULL)
		return NULL;
	return json_string_value(json_object_get(e, "message"))
	    ? json_string_value(json_object_get(e, "message"))
	    : "error without a message";
}

/*
 * Everything that has arrived: the newest frame replaces *frame, an answer to
 * another request goes to *other (the newest).  -1 when the daemon has gone
 * (or refused the subscription), with a message.
 */
static int
drain(struct client *c, json_t **frame, json_t **other, char *err, size_t errlen)
{
	enum client_err kind;
	json_t *msg;

	while ((msg = client_read(c, 0, &kind, err, errlen)) != NULL) {
		json_t **slot =
		    json_integer_value(json_object_get(msg, "id")) == ID_SUBSCRIBE ? frame : other;
		if (slot == frame && error_of(msg) != NULL) {
			snprintf(err, errlen, "%s", error_of(msg));
			json_decref(msg);
			return -1;
		}
		json_decref(*slot);
		*slot = msg;
	}
	return kind == CLIENT_TIMEOUT ? 0 : -1;
}

/* Waits for the socket (and in, when >= 0); 1 when in is readable, 2 when it has closed. */
static int
wait_input(struct client *c, int in)
{
	struct pollfd p[2] = { { client_fd(c), POLLIN, 0 }, { in, POLLIN, 0 } };

	if (client_buffered(c))
		return 0;
	if (poll(p, in >= 0 ? 2 : 1, -1) < 0)
		return 0; /* EINTR: a resize; redraw */
	if (in < 0)
		return 0;
	if (p[1].revents & POLLIN)
		return 1;
	return (p[1].revents & (POLLHUP | POLLERR | POLLNVAL)) != 0 ? 2 : 0;
}

/* ---- top ---- */

struct top_state {
	struct client *c;
	const struct top_opts *o;
	struct term term;
	json_t *frame, *answer;
	char message[160];
	long long next_id;
	int in; /* keys; -1 once closed */
	int quit;
};

static void
draw(struct top_state *t)
{
	struct top_view v = { 100, 0, t->o->color, t->o->over, t->message };
	const json_t *f = json_object_get(t->frame, "result");
	char *text;

	if (t->o->interactive && term_size(t->o->out, &v.cols, &v.rows) != 0)
		v.cols = 100, v.rows = 0;
	if (f == NULL || (text = top_render(f, &v)) == NULL)
		return;
	if (t->o->interactive)
		(void)term_draw(&t->term, text);
	else
		(void)write_str(t->o->out, text);
	free(text);
}

static void
send_key(struct top_state *t, const char *method, json_t *params, const char *what)
{
	char err[128];

	if (client_send(t->c, method, params, t->next_id++, err, sizeof(err)) != CLIENT_OK)
		snprintf(t->message, sizeof(t->message), "%s", err);
	else
		snprintf(t->message, sizeof(t->message), "%s...", what);
}

static void
key(struct top_state *t, char ch)
{
	const json_t *f = json_object_get(t->frame, "result");
	const char *st = json_string_value(json_object_get(f, "state"));
	long long lim =
	    json_integer_value(json_object_get(json_object_get(f, "concurrency"), "limit"));
	long long step = lim >= 20 ? lim / 10 : 1;
	char what[64];

	switch (ch) {
	case 'q':
	case 'Q': t->quit = 1; break;
	case 'p':
	case 'P':
		if (st != NULL && strcmp(st, "paused") == 0)
			send_key(t, SIM_M_RESUME, NULL, "resuming");
		else
			send_key(t, SIM_M_PAUSE, NULL, "pausing");
		break;
	case '+':
	case '=':
	case '-':
		if (lim <= 0)
			break;
		lim = ch == '-' ? (lim - step < 1 ? 1 : lim - step) : lim + step;
		snprintf(what, sizeof(what), "concurrency limit %lld", lim);
		send_key(
		    t, SIM_M_SET_CONCURRENCY, json_pack("{s:I}", "limit", (json_int_t)lim), what);
		break;
	}
}

static void
answered(struct top_state *t)
{
	const char *e;

	if (t->answer == NULL)
		return;
	e = error_of(t->answer);
	snprintf(t->message, sizeof(t->message), "%s", e != NULL ? e : "done");
	json_decref(t->answer);
	t->answer = NULL;
}

static void
on_winch(int sig)
{
	(void)sig; /* only to interrupt poll(): the loop redraws at the new size */
}

static int
top_loop(struct top_state *t, char *err, size_t errlen)
{
	char keys[64];

	while (!t->quit) {
		ssize_t n;

		switch (wait_input(t->c, t->in)) {
		case 1:
			n = read(t->in, keys, sizeof(keys));
			for (ssize_t i = 0; i < n; i++)
				key(t, keys[i]);
			break;
		case 2: t->in = -1; break; /* no more keys: watch on */
		}
		if (drain(t->c, &t->frame, &t->answer, err, errlen) != 0)
			return -1;
		answered(t);
		if (t->frame == NULL)
			continue;
		draw(t);
		if (t->o->once)
			break;
	}
	return 0;
}

int
top_run(struct client *c, const struct top_opts *o, char *err, size_t errlen)
{
	struct top_state t = {
		.c = c, .o = o, .next_id = ID_KEYS, .in = o->interactive ? o->in : -1
	};
	struct sigaction sa, old;
	int rc;

	if (subscribe(c, o->interval_ms, err, errlen) != 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_winch; /* no SA_RESTART: poll() returns */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGWINCH, &sa, &old);
	if (o->interactive && term_open(&t.term, o->in, o->out) != 0) {
		snprintf(err, errlen, "cannot set up the terminal");
		sigaction(SIGWINCH, &old, NULL);
		return -1;
	}
	rc = top_loop(&t, err, errlen);
	if (o->interactive)
		term_close(&t.term);
	sigaction(SIGWINCH, &old, NULL);
	json_decref(t.frame);
	json_decref(t.answer);
	return rc;
}

/* ---- status --watch ---- */

int
top_watch(struct client *c, unsigned interval_ms, int out, char *err, size_t errlen)
{
	json_t *frame = NULL, *other = NULL;

	if (subscribe(c, interval_ms, err, errlen) != 0)
		return -1;
	for (;;) {
		char *line;

		(void)wait_input(c, -1);
		if (drain(c, &frame, &other, err, errlen) != 0)
			break;
		if (frame == NULL)
			continue;
		line = top_line(json_object_get(frame, "result"));
		json_decref(frame);
		frame = NULL;
		if (line == NULL || write_str(out, line) != 0) {
			free(line);
			snprintf(err, errlen, "cannot write the line");
			break;
		}
		free(line);
	}
	json_decref(frame);
	json_decref(other);
	return -1;
}

/* ---- start --wait ---- */

static void
draw_bar(int fd, const json_t *frame)
{
	int cols = 80, rows;
	char *bar;

	if (term_size(fd, &cols, &rows) != 0)
		cols = 80;
	if ((bar = top_progress(json_object_get(frame, "result"), cols - 1)) == NULL)
		return;
	(void)write_str(fd, "\r");
	(void)write_str(fd, bar);
	(void)write_str(fd, "\033[K");
	free(bar);
}

json_t *
top_call_progress(
    struct client *c, const char *method, json_t *params, int bar_fd, char *err, size_t errlen)
{
	json_t *frame = NULL, *answer = NULL;
	int drawn = 0;

	if (client_send(c, method, params, 1, err, errlen) != CLIENT_OK ||
	    subscribe(c, BAR_INTERVAL_MS, err, errlen) != 0)
		return NULL;
	while (answer == NULL) {
		(void)wait_input(c, -1);
		if (drain(c, &frame, &answer, err, errlen) != 0 && answer == NULL) {
			if (frame == NULL && !drawn) /* no bar (an older simd): just wait */
				break;
			json_decref(frame);
			frame = NULL;
			break;
		}
		if (frame != NULL) {
			draw_bar(bar_fd, frame);
			drawn = 1;
			json_decref(frame);
			frame = NULL;
		}
	}
	if (drawn)
		(void)write_str(bar_fd, "\r\033[K");
	if (answer == NULL) {
		enum client_err kind;
		answer = client_read(c, -1, &kind, err, errlen);
	}
	return answer;
}
