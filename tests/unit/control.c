/*
 * control.c - the control socket's streams, against a real socket on the
 * loop: a request answered many times, ended by the handler, by the client's
 * cancel or by its going away; a slow reader gets no backlog.  The deadlines:
 * a request line trickled in is cut at control_request_timeout from its
 * first byte; an idle client is closed, one with a stream is not.  With the
 * daemon's priorities, a request is answered within a few loop turns however
 * much other work is queued (counted in callbacks, not timed).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "check.h"
#include "sim/control.h"
#include "sim/proto.h"
#include "sim/rpc.h"

struct t {
	struct event_base *base;
	struct cmd_req *stream; /* the one stream open, if any */
	int gone;               /* its gone callback ran */
	int sent, dropped;
};

static void
gone_cb(struct cmd_req *req, void *arg)
{
	struct t *t = arg;

	t->gone++;
	t->stream = NULL;
	control_end(req);
}

static json_t *
msg(json_t *id, int n, size_t pad)
{
	char *s = calloc(1, pad + 1);
	json_t *m;

	memset(s, 'x', pad);
	m = rpc_result(json_incref(id), json_pack("{s:i, s:s}", "n", n, "pad", s));
	free(s);
	return m;
}

/* "stream": three messages now; "flood": as many big ones as the client will not read. */
static void
dispatch(void *ctx, struct cmd_req *req, struct rpc_request *rr)
{
	struct t *t = ctx;

	if (strcmp(rr->method, "stream") == 0 || strcmp(rr->method, "flood") == 0) {
		int flood = rr->method[0] == 'f';
		control_stream(req, gone_cb, t);
		t->stream = req;
		for (int i = 0; i < (flood ? 2000 : 3); i++) {
			int r = control_send(req, msg(req->id, i, flood ? 4096 : 8));
			t->sent += r == 1;
			t->dropped += r == 0;
		}
	} else if (strcmp(rr->method, "cancel") == 0) {
		int ok = control_cancel(req, json_object_get(rr->params, "id"));
		control_answer(req, rpc_result(json_incref(req->id), json_boolean(ok)));
	} else if (strcmp(rr->method, "end") == 0 && t->stream != NULL) {
		control_end(t->stream);
		t->stream = NULL;
		control_answer(req, rpc_result(json_incref(req->id), json_true()));
	}
}

static int
client(const char *path)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
		return -1;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

static void
say(int fd, const char *line)
{
	CHECK(write(fd, line, strlen(line)) == (ssize_t)strlen(line));
}

static void
spin(struct t *t, int turns)
{
	while (turns-- > 0)
		event_base_loop(t->base, EVLOOP_NONBLOCK);
}

/* Lines readable now (the loop turned meanwhile). */
static int
lines(struct t *t, int fd, char *buf, size_t len)
{
	size_t got = 0;
	int n = 0;
	ssize_t r;

	for (int i = 0; i < 50; i++) {
		spin(t, 2);
		while (got + 1 < len && (r = read(fd, buf + got, len - got - 1)) > 0)
			got += (size_t)r;
	}
	buf[got] = '\0';
	for (char *p = buf; (p = strchr(p, '\n')) != NULL; p++)
		n++;
	return n;
}

/*
 * Turns the loop for about 50 ms of wall time, n times or until the daemon
 * closes fd; writes `drip' (when not NULL) before each turn.  1 when closed;
 * what was read goes into buf.
 */
static int
closed_within(struct t *t, int fd, int n, const char *drip, char *buf, size_t len)
{
	struct timeval tick = { 0, 50000 };
	size_t got = 0;
	ssize_t r;

	buf[0] = '\0';
	while (n-- > 0) {
		if (drip != NULL && write(fd, drip, strlen(drip)) < 0 && errno != EAGAIN)
			drip = NULL; /* the daemon has closed: the read below says so */
		event_base_loopexit(t->base, &tick);
		event_base_dispatch(t->base);
		do
			r = read(fd, buf + got, len - got - 1);
		while (r > 0 && (got += (size_t)r) + 1 < len);
		buf[got] = '\0';
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
			return 1;
	}
	return 0;
}

static void
test_deadlines(struct t *t, const char *path)
{
	struct control_opts o = { path, 0600, "", "", 65536, 0.3, 0.3, 64, 1024 };
	struct control *c;
	char err[256], buf[4096];
	int fd;

	c = control_new(t->base, &o, dispatch, t, err, sizeof(err));
	CHECK(c != NULL);
	if (c == NULL)
		return;
	/* a byte every 50 ms never finishes the line: cut 0.3 s after its first byte */
	fd = client(path);
	CHECK(closed_within(t, fd, 200, "x", buf, sizeof(buf)) == 1);
	CHECK(strstr(buf, "timed out waiting for the end of the request line") != NULL);
	close(fd);
	/* a client that says nothing is closed once idle, and told why */
	fd = client(path);
	CHECK(closed_within(t, fd, 200, NULL, buf, sizeof(buf)) == 1);
	CHECK(strstr(buf, "idle for 0.3 s (control_idle_timeout)") != NULL);
	close(fd);
	/* a stream is not idle: kept for longer than the idle timeout... */
	fd = client(path);
	say(fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"stream\"}\n");
	CHECK(closed_within(t, fd, 20, NULL, buf, sizeof(buf)) == 0);
	CHECK(strstr(buf, "\"n\":2") != NULL && t->stream != NULL);
	/* ...and idle from its end on */
	say(fd, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"end\"}\n");
	CHECK(closed_within(t, fd, 200, NULL, buf, sizeof(buf)) == 1);
	CHECK(strstr(buf, "control_idle_timeout") != NULL);
	close(fd);
	spin(t, 5);
	CHECK(control_nclients(c) == 0);
	control_free(c);
}

/* Busy work that re-arms itself at once, as the scheduler and the stores do. */
struct busy {
	struct event *ev;
	unsigned *runs;
};

static void
busy_cb(evutil_socket_t fd, short what, void *arg)
{
	struct busy *b = arg;

	(*b->runs)++;
	event_active(b->ev, EV_TIMEOUT, 0);
	event_base_loopbreak(event_get_base(b->ev)); /* the test's turn ends here */
}

/*
 * NBUSY events always ready and the loop bounded to one of their callbacks
 * per turn (the daemon's set-up, with a tighter bound; each event_base_loop
 * below is one turn): a request still gets its answer after a handful of
 * busy callbacks, not after the whole queue of them.
 */
static void
test_priority(const char *path)
{
	enum { NBUSY = 64 };
	struct control_opts o = { path, 0600, "", "", 65536, 10, 0, 64, 1024 };
	struct event_config *cfg = event_config_new();
	struct busy b[NBUSY];
	struct control *c = NULL;
	unsigned runs = 0, at_request, turns = 0;
	char err[256], buf[4096];
	size_t got = 0;
	ssize_t r;
	struct t t;
	int fd;

	memset(&t, 0, sizeof(t));
	buf[0] = '\0';
	CHECK(cfg != NULL &&
	    event_config_set_max_dispatch_interval(cfg, NULL, 1, CONTROL_PRIORITY + 1) == 0);
	t.base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	CHECK(t.base != NULL && event_base_priority_init(t.base, CONTROL_PRIORITIES) == 0);
	if (t.base == NULL)
		return;
	for (int i = 0; i < NBUSY; i++) {
		b[i].runs = &runs;
		b[i].ev = event_new(t.base, -1, 0, busy_cb, &b[i]);
		CHECK(b[i].ev != NULL);
		event_active(b[i].ev, EV_TIMEOUT, 0);
	}
	c = control_new(t.base, &o, dispatch, &t, err, sizeof(err));
	CHECK(c != NULL);
	fd = c != NULL ? client(path) : -1;
	CHECK(fd >= 0);
	if (fd >= 0) {
		for (int i = 0; i < 3 * NBUSY; i++) /* the busy work is under way */
			event_base_loop(t.base, EVLOOP_NONBLOCK);
		say(fd,
		    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"cancel\","
		    "\"params\":{\"id\":0}}\n");
		at_request = runs;
		while (strchr(buf, '\n') == NULL && turns++ < 10 * NBUSY) {
			event_base_loop(t.base, EVLOOP_NONBLOCK);
			while (got + 1 < sizeof(buf) &&
			    (r = read(fd, buf + got, sizeof(buf) - got - 1)) > 0)
				got += (size_t)r;
			buf[got] = '\0';
		}
		CHECK(strstr(buf, "\"result\":false") != NULL);
		/* accept, read, write: a few turns, a busy callback in some of them */
		CHECK(runs - at_request < 8);
		close(fd);
	}
	control_free(c);
	for (int i = 0; i < NBUSY; i++)
		if (b[i].ev != NULL)
			event_free(b[i].ev);
	event_base_free(t.base);
}

int
main(void)
{
	char dir[64], path[128], buf[65536];
	struct control_opts o = { NULL, 0600, "", "", 65536, 10, 0, 64, 1024 };
	struct control *c;
	struct t t;
	char err[256];
	int fd;

	signal(SIGPIPE, SIG_IGN); /* as simd does: a vanished client is an error, not a death */
	memset(&t, 0, sizeof(t));
	CHECK(mkdtemp(check_tmpl(dir, sizeof(dir), "simd-control", 40)) != NULL);
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	o.path = path;
	t.base = event_base_new();
	c = control_new(t.base, &o, dispatch, &t, err, sizeof(err));
	CHECK(c != NULL);
	if (c == NULL)
		return CHECK_DONE();

	/* a stream: many answers to one request, until the handler ends it */
	fd = client(path);
	say(fd, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"stream\"}\n");
	CHECK(lines(&t, fd, buf, sizeof(buf)) == 3);
	CHECK(strstr(buf, "\"id\":7,\"result\":{\"n\":2") != NULL);
	say(fd, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"end\"}\n");
	CHECK(lines(&t, fd, buf, sizeof(buf)) == 1 && t.stream == NULL && t.gone == 0);
	/* ended by the client's cancel: its handler hears of it */
	say(fd, "{\"jsonrpc\":\"2.0\",\"id\":\"s2\",\"method\":\"stream\"}\n");
	lines(&t, fd, buf, sizeof(buf));
	say(fd,
	    "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"cancel\",\"params\":{\"id\":\"s2\"}}\n");
	CHECK(lines(&t, fd, buf, sizeof(buf)) == 1 && strstr(buf, "\"result\":true") != NULL);
	CHECK(t.gone == 1 && t.stream == NULL);
	say(fd,
	    "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"cancel\",\"params\":{\"id\":\"s2\"}}\n");
	CHECK(lines(&t, fd, buf, sizeof(buf)) == 1 && strstr(buf, "\"result\":false") != NULL);
	/* ended by the client going away */
	say(fd, "{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"stream\"}\n");
	spin(&t, 20);
	close(fd);
	spin(&t, 20);
	CHECK(t.gone == 2 && t.stream == NULL && control_nclients(c) == 0);
	/* a reader that does not read: messages are dropped, never piled up */
	fd = client(path);
	t.sent = t.dropped = 0;
	say(fd, "{\"jsonrpc\":\"2.0\",\"id\":12,\"method\":\"flood\"}\n");
	spin(&t, 20);
	CHECK(t.dropped > 1900 && t.sent < 100);
	close(fd);
	spin(&t, 20);
	CHECK(t.gone == 3 && control_nclients(c) == 0);
	control_free(c);
	test_deadlines(&t, path);
	event_base_free(t.base);
	test_priority(path);
	rmdir(dir);
	return CHECK_DONE();
}
