/* control.c - the control socket on the event loop. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "sim/config.h"
#include "sim/control.h"
#include "sim/log.h"
#include "sim/platform.h"
#include "sim/proto.h"
#include "sim/rpc.h"

#define CONTROL_RESERVED 16 /* of control_max_clients, kept for root and the daemon's uid */
#define CONTROL_MAX_OUTPUT (8u << 20)      /* an unread backlog past this drops the client */
#define CONTROL_STREAM_BACKLOG (64u << 10) /* a stream skips messages past this unread */
#define CONTROL_STREAM_SNDBUF (32 << 10)   /* kernel buffer of a newest-only stream */

struct control_client {
	struct control *ctl;
	struct bufferevent *bev;
	struct control_client *prev, *next;
	struct cmd_req *pending;   /* requests not yet answered */
	struct event *timer;       /* a half-written line's deadline, else idleness */
	uint64_t partial_since_us; /* when the unfinished line began; 0: none */
	uid_t uid;
	int readonly; /* only read-only methods (socket_readonly_group) */
	int closing;  /* flush what is queued, then close */
};

struct control {
	struct event_base *base;
	struct event *listener; /* the listening socket, read at CONTROL_PRIORITY */
	evutil_socket_t lfd;
	char *path;
	gid_t group, ro_group;
	int has_group, has_ro_group;
	size_t max_request;
	double request_timeout, idle_timeout;
	size_t max_per_uid, max_clients;
	control_dispatch_fn dispatch;
	void *ctx;
	struct control_client *clients;
	size_t nclients;
	int spare_fd;           /* held back to refuse a client when descriptors run out */
	struct event *relisten; /* re-enables the listener paused without a spare */
	uint64_t fd_refused;    /* clients refused since descriptors ran out (0: they have not) */
	uint64_t fd_refused_us; /* when the last was */
};

static void client_free(struct control_client *cl);
static void client_arm(struct control_client *cl);

static uint64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void
client_send(struct control_client *cl, json_t *msg)
{
	size_t len;
	char *line;

	if (msg == NULL)
		return;
	line = rpc_dump_line(msg, &len);
	json_decref(msg);
	if (line == NULL) {
		log_warnx("control: out of memory serialising an answer");
		return;
	}
	if (evbuffer_get_length(bufferevent_get_output(cl->bev)) + len > CONTROL_MAX_OUTPUT) {
		log_warnx("control: client uid %u is not reading its answers; closing it",
		    (unsigned)cl->uid);
		cl->closing = 1;
	} else if (bufferevent_write(cl->bev, line, len) != 0) {
		log_warnx("control: cannot queue an answer");
	}
	free(line);
}

/* Sends an error and closes the connection once it is written. */
static void
client_reject(struct control_client *cl, int code, const char *msg)
{
	client_send(cl, rpc_error(json_null(), code, msg, NULL));
	cl->closing = 1;
	bufferevent_disable(cl->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(cl->bev)) == 0)
		client_free(cl);
}

static void
unlink_req(struct cmd_req *req)
{
	struct control_client *cl = req->client;
	struct cmd_req **pp;

	if (cl == NULL)
		return;
	for (pp = &cl->pending; *pp != NULL; pp = &(*pp)->next_pending) {
		if (*pp == req) {
			*pp = req->next_pending;
			break;
		}
	}
	req->client = NULL;
	client_arm(cl); /* nothing pending any more: idleness counts from now */
}

void
control_end(struct cmd_req *req)
{
	unlink_req(req);
	json_decref(req->id);
	free(req);
}

void
control_answer(struct cmd_req *req, json_t *msg)
{
	struct control_client *cl = req->client;

	/* Never frees the client here: callers may still hold it. */
	if (cl != NULL && req->id != NULL && !cl->closing)
		client_send(cl, msg);
	else
		json_decref(msg);
	control_end(req);
}

void
control_stream(struct cmd_req *req, void (*gone)(struct cmd_req *, void *), void *arg)
{
	req->gone = gone;
	req->gone_arg = arg;
}

int
control_send(struct cmd_req *req, json_t *msg)
{
	struct control_client *cl = req->client;

	if (cl == NULL || cl->closing) {
		json_decref(msg);
		return -1;
	}
	if (evbuffer_get_length(bufferevent_get_output(cl->bev)) > CONTROL_STREAM_BACKLOG) {
		json_decref(msg);
		return 0;
	}
	client_send(cl, msg);
	return 1;
}

void
control_stream_newest(struct cmd_req *req)
{
	int bytes = CONTROL_STREAM_SNDBUF;

	if (req->client != NULL &&
	    setsockopt(bufferevent_getfd(req->client->bev), SOL_SOCKET, SO_SNDBUF, &bytes,
		sizeof(bytes)) != 0)
		log_warn("control: cannot shrink a subscriber's send buffer");
}

size_t
control_unsent(const struct cmd_req *req)
{
	if (req->client == NULL)
		return 0;
	return evbuffer_get_length(bufferevent_get_output(req->client->bev));
}

int
control_cancel(struct cmd_req *from, const json_t *id)
{
	struct control_client *cl = from->client;

	if (cl == NULL || id == NULL)
		return 0;
	for (struct cmd_req *r = cl->pending; r != NULL; r = r->next_pending) {
		if (r != from && r->gone != NULL && r->id != NULL && json_equal(r->id, id)) {
			unlink_req(r);
			r->gone(r, r->gone_arg);
			return 1;
		}
	}
	return 0;
}

static void
handle_line(struct control_client *cl, const char *line, size_t len)
{
	struct rpc_request rr;
	struct cmd_req *req;
	json_t *answer;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return;
	if (rpc_parse(line, len, &rr, &answer) != 0) {
		client_send(cl, answer);
		return;
	}
	req = calloc(1, sizeof(*req));
	if (req == NULL) {
		client_send(cl,
		    rpc_error(rr.id ? json_incref(rr.id) : json_null(), RPC_INTERNAL_ERROR,
			"out of memory", NULL));
		rpc_request_clear(&rr);
		return;
	}
	req->client = cl;
	req->readonly = cl->readonly;
	req->id = rr.id ? json_incref(rr.id) : NULL;
	snprintf(req->method, sizeof(req->method), "%s", rr.method);
	req->next_pending = cl->pending;
	cl->pending = req;
	cl->ctl->dispatch(cl->ctl->ctx, req, &rr);
	rpc_request_clear(&rr);
}

static void
client_read(struct bufferevent *bev, void *arg)
{
	struct control_client *cl = arg;
	struct control *c = cl->ctl;
	struct evbuffer *in = bufferevent_get_input(bev);
	char msg[128];

	while (!cl->closing) {
		size_t eol_len = 0;
		struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
		size_t avail = evbuffer_get_length(in);
		char *line;

		if (eol.pos < 0) {
			if (avail > c->max_request)
				goto too_large;
			break;
		}
		if ((size_t)eol.pos > c->max_request)
			goto too_large;
		line = malloc((size_t)eol.pos + 1);
		if (line == NULL) {
			client_reject(cl, RPC_INTERNAL_ERROR, "out of memory");
			return;
		}
		evbuffer_remove(in, line, (size_t)eol.pos);
		evbuffer_drain(in, eol_len);
		line[eol.pos] = '\0';
		cl->partial_since_us = 0; /* what follows is a new line */
		handle_line(cl, line, (size_t)eol.pos);
		free(line);
		if (cl->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
			client_free(cl);
			return;
		}
	}
	client_arm(cl);
	return;
too_large:
	snprintf(msg, sizeof(msg), "request too large: a request line may hold at most %zu bytes",
	    c->max_request);
	log_warnx("control: %s; closing the client", msg);
	evbuffer_drain(in, evbuffer_get_length(in));
	client_reject(cl, SIM_ERR_TOO_LARGE, msg);
}

static void
client_written(struct bufferevent *bev, void *arg)
{
	struct control_client *cl = arg;

	if (cl->closing)
		client_free(cl);
}

static void
client_event(struct bufferevent *bev, short what, void *arg)
{
	struct control_client *cl = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		client_free(cl);
}

/*
 * One timer a client.  A request line must be complete within
 * control_request_timeout of its first byte, however slowly it trickles in;
 * a client with nothing unfinished and nothing pending (no request being
 * answered, no stream) is closed after control_idle_timeout.
 */
static void
client_arm(struct control_client *cl)
{
	struct control *c = cl->ctl;
	uint64_t now = mono_us(), due;
	struct timeval tv;

	if (cl->closing || cl->timer == NULL) {
		if (cl->timer != NULL)
			evtimer_del(cl->timer);
		return;
	}
	if (evbuffer_get_length(bufferevent_get_input(cl->bev)) > 0) {
		if (cl->partial_since_us == 0)
			cl->partial_since_us = now;
		due = cl->partial_since_us + (uint64_t)(c->request_timeout * 1e6);
	} else if (cl->pending == NULL && c->idle_timeout > 0) {
		cl->partial_since_us = 0;
		due = now + (uint64_t)(c->idle_timeout * 1e6);
	} else {
		cl->partial_since_us = 0;
		evtimer_del(cl->timer);
		return;
	}
	due = due > now ? due - now : 0;
	tv.tv_sec = (time_t)(due / 1000000u);
	tv.tv_usec = (suseconds_t)(due % 1000000u);
	evtimer_add(cl->timer, &tv);
}

static void
client_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct control_client *cl = arg;
	char msg[96];

	if (evbuffer_get_length(bufferevent_get_input(cl->bev)) > 0) {
		log_warnx("control: uid %u did not finish a request line in %g s; closing it",
		    (unsigned)cl->uid, cl->ctl->request_timeout);
		client_reject(
		    cl, RPC_PARSE_ERROR, "timed out waiting for the end of the request line");
	} else if (cl->pending == NULL) {
		log_debug("control: closing a client of uid %u idle for %g s", (unsigned)cl->uid,
		    cl->ctl->idle_timeout);
		snprintf(msg, sizeof(msg), "idle for %g s (control_idle_timeout): closing",
		    cl->ctl->idle_timeout);
		client_reject(cl, SIM_ERR_FAILED, msg);
	}
}

static void
client_free(struct control_client *cl)
{
	struct control *c = cl->ctl;
	struct cmd_req *r, *next;

	/* answers still owed are dropped; a stream's handler hears that it is over */
	for (r = cl->pending, cl->pending = NULL; r != NULL; r = next) {
		next = r->next_pending;
		r->client = NULL;
		if (r->gone != NULL)
			r->gone(r, r->gone_arg);
	}
	if (cl->prev)
		cl->prev->next = cl->next;
	else
		c->clients = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	c->nclients--;
	if (cl->timer != NULL)
		event_free(cl->timer);
	bufferevent_free(cl->bev);
	free(cl);
}

enum peer_access { PEER_REFUSED, PEER_READONLY, PEER_FULL };

/* Root and the daemon's own uid: never locked out by others' connections. */
static int
peer_privileged(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

static enum peer_access
peer_allowed(struct control *c, uid_t uid, gid_t gid)
{
	if (peer_privileged(uid))
		return PEER_FULL;
	if (c->has_group && (gid == c->group || platform_uid_in_group(uid, c->group)))
		return PEER_FULL;
	if (c->has_ro_group && (gid == c->ro_group || platform_uid_in_group(uid, c->ro_group)))
		return PEER_READONLY;
	return PEER_REFUSED;
}

static size_t
clients_of(const struct control *c, uid_t uid)
{
	size_t n = 0;

	for (const struct control_client *cl = c->clients; cl != NULL; cl = cl->next)
		n += cl->uid == uid && !cl->closing;
	return n;
}

/*
 * The connection caps: control_max_clients in all, the last CONTROL_RESERVED
 * of them for root and the daemon's uid, and control_max_per_uid for any
 * other uid, so that idle connections of one user cannot lock out the rest.
 */
static void
control_admit(struct control *c, struct control_client *cl)
{
	size_t cap = peer_privileged(cl->uid) ? c->max_clients : c->max_clients - CONTROL_RESERVED;
	char msg[128];

	if (c->nclients > cap) {
		log_warnx("control: too many clients (%zu); refusing one of uid %u", c->nclients,
		    (unsigned)cl->uid);
		client_reject(cl, SIM_ERR_FAILED, "too many clients");
		return;
	}
	if (!peer_privileged(cl->uid) && clients_of(c, cl->uid) > c->max_per_uid) {
		snprintf(msg, sizeof(msg),
		    "too many connections from uid %u (control_max_per_uid %zu)", (unsigned)cl->uid,
		    c->max_per_uid);
		log_warnx("control: %s; refusing one", msg);
		client_reject(cl, SIM_ERR_FAILED, msg);
		return;
	}
	client_arm(cl);
}

static void
client_accept(struct control *c, evutil_socket_t fd)
{
	struct control_client *cl;
	enum peer_access access;
	uid_t uid;
	gid_t gid;
	char msg[160];

	if (c->fd_refused > 0 && mono_us() - c->fd_refused_us >= 1000000) {
		log_info("control: accepting clients again (%llu refused for want of file "
			 "descriptors)",
		    (unsigned long long)c->fd_refused);
		c->fd_refused = 0;
	}
	cl = calloc(1, sizeof(*cl));
	if (cl == NULL ||
	    (cl->bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL ||
	    bufferevent_priority_set(cl->bev, CONTROL_PRIORITY) != 0) {
		if (cl != NULL && cl->bev != NULL)
			bufferevent_free(cl->bev);
		else
			evutil_closesocket(fd);
		log_warnx("control: out of memory accepting a client");
		free(cl);
		return;
	}
	cl->ctl = c;
	if ((cl->timer = evtimer_new(c->base, client_timer_cb, cl)) == NULL ||
	    event_priority_set(cl->timer, CONTROL_PRIORITY) != 0) {
		if (cl->timer != NULL)
			event_free(cl->timer);
		log_warnx("control: out of memory accepting a client");
		bufferevent_free(cl->bev);
		free(cl);
		return;
	}
	cl->next = c->clients;
	if (c->clients)
		c->clients->prev = cl;
	c->clients = cl;
	c->nclients++;
	bufferevent_setcb(cl->bev, client_read, client_written, client_event, cl);
	bufferevent_enable(cl->bev, EV_READ | EV_WRITE);
	if (platform_peer_cred(fd, &uid, &gid) != 0) {
		log_warn("control: cannot read the peer's credentials");
		client_reject(cl, SIM_ERR_FAILED, "cannot identify the peer");
		return;
	}
	cl->uid = uid;
	access = peer_allowed(c, uid, gid);
	cl->readonly = access == PEER_READONLY;
	if (access == PEER_REFUSED) {
		snprintf(msg, sizeof(msg), "permission denied: uid %u may not use this socket",
		    (unsigned)uid);
		log_warnx("control: refused a client: %s", msg);
		client_reject(cl, SIM_ERR_FAILED, msg);
		return;
	}
	control_admit(c, cl);
}

/*
 * Out of file descriptors.  A pending connection left in the backlog keeps the
 * listener readable, so the loop would spin on a failing accept().  The spare
 * descriptor held for this moment is let go to take the client, tell it why
 * and close it; without one, the listener pauses for a moment.  Said once per
 * shortage, and with the count when clients are accepted again a second after
 * the last refusal (one freed descriptor is no end of a shortage).
 */
static void
refuse_for_fds(struct control *c, evutil_socket_t lfd, int why)
{
	struct timeval pause = { 1, 0 };
	json_t *msg;
	char *line = NULL;
	size_t len = 0;
	int fd = -1;

	if (c->fd_refused++ == 0)
		log_warnx("control: out of file descriptors (%s); refusing new clients until "
			  "some close",
		    strerror(why));
	c->fd_refused_us = mono_us();
	if (c->spare_fd >= 0) {
		close(c->spare_fd);
		if ((fd = accept(lfd, NULL, NULL)) >= 0) {
			msg = rpc_error(json_null(), SIM_ERR_FAILED,
			    "simd is out of file descriptors; try again later", NULL);
			if (msg != NULL && (line = rpc_dump_line(msg, &len)) != NULL &&
			    fcntl(fd, F_SETFL, O_NONBLOCK) == 0)
				(void)!write(fd, line, len);
			json_decref(msg);
			free(line);
			close(fd);
		}
		c->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && c->spare_fd >= 0)
			return;
	}
	event_del(c->listener);
	evtimer_add(c->relisten, &pause);
}

static void
relisten_cb(evutil_socket_t fd, short what, void *arg)
{
	struct control *c = arg;

	if (c->spare_fd < 0)
		c->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	event_add(c->listener, NULL);
}

/*
 * The listening socket is our own event, not an evconnlistener, so that it
 * can have the loop's first priority: a connection is taken at the next poll
 * whatever work is queued.  A burst is taken CONTROL_ACCEPT_BURST at a time.
 */
#define CONTROL_ACCEPT_BURST 16

static void
accept_ready(evutil_socket_t lfd, short what, void *arg)
{
	struct control *c = arg;
	evutil_socket_t fd;
	int e;

	for (int i = 0; i < CONTROL_ACCEPT_BURST; i++) {
		if ((fd = accept(lfd, NULL, NULL)) < 0) {
			e = errno;
			if (e == EMFILE || e == ENFILE)
				refuse_for_fds(c, lfd, e);
			else if (e != EAGAIN && e != EWOULDBLOCK && e != EINTR && e != ECONNABORTED)
				log_warn("control: accept"); /* the loop goes on */
			return;
		}
		if (evutil_make_socket_nonblocking(fd) != 0 ||
		    evutil_make_socket_closeonexec(fd) != 0) {
			log_warn("control: a client's socket");
			evutil_closesocket(fd);
			continue;
		}
		client_accept(c, fd);
	}
}

/* Refuses to take over a socket a live daemon still answers on. */
static int
socket_in_use(const char *path)
{
	struct sockaddr_un sun;
	int fd, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
		return 0;
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return rc;
}

/* A group named by a key: 0 (none named), 1 with its gid, -1 when there is no such group. */
static int
find_group(const char *key, const char *name, gid_t *gid, char *err, size_t errlen)
{
	struct group *gr;

	if (name == NULL || *name == '\0')
		return 0;
	if ((gr = getgrnam(name)) == NULL) {
		snprintf(err, errlen, "%s: no group named %s", key, name);
		return -1;
	}
	*gid = gr->gr_gid;
	return 1;
}

/* What listening on o would find wrong, short of binding: the path's length, the groups. */
static int
control_check_opts(struct control *c, const struct control_opts *o, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	int g, r;

	if (strlen(o->path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path too long (%zu bytes, at most %zu): %s",
		    strlen(o->path), sizeof(sun.sun_path) - 1, o->path);
		return -1;
	}
	if ((g = find_group("socket_group", o->group, &c->group, err, errlen)) < 0 ||
	    (r = find_group(
		 "socket_readonly_group", o->readonly_group, &c->ro_group, err, errlen)) < 0)
		return -1;
	c->has_group = g;
	c->has_ro_group = r;
	return 0;
}

int
control_check(const struct control_opts *o, char *err, size_t errlen)
{
	struct control c;

	return control_check_opts(&c, o, err, errlen);
}

static int
control_listen(struct control *c, const struct control_opts *o, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	mode_t old;
	int rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, o->path, strlen(o->path) + 1);
	if (platform_mkdir_parents(o->path, err, errlen) != 0)
		return -1;
	if (socket_in_use(o->path)) {
		snprintf(err, errlen, "socket %s is in use by another running simd", o->path);
		return -1;
	}
	unlink(o->path);
	if ((c->lfd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    evutil_make_socket_nonblocking(c->lfd) != 0 ||
	    evutil_make_socket_closeonexec(c->lfd) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", o->path, strerror(errno));
		return -1;
	}
	old = umask(0177); /* no window in which the socket is wider open than asked */
	rc = bind(c->lfd, (struct sockaddr *)&sun, (socklen_t)sizeof(sun));
	umask(old);
	if (rc != 0 || listen(c->lfd, 128) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", o->path, strerror(errno));
		return -1;
	}
	if ((c->listener = event_new(c->base, c->lfd, EV_READ | EV_PERSIST, accept_ready, c)) ==
		NULL ||
	    event_priority_set(c->listener, CONTROL_PRIORITY) != 0 ||
	    event_add(c->listener, NULL) != 0) {
		snprintf(err, errlen, "cannot listen on %s: out of memory", o->path);
		return -1;
	}
	if (c->has_group && chown(o->path, (uid_t)-1, c->group) != 0) {
		snprintf(err, errlen, "cannot give %s to group %s: %s", o->path, o->group,
		    strerror(errno));
		return -1;
	}
	if (chmod(o->path, (mode_t)o->mode) != 0) {
		snprintf(err, errlen, "cannot chmod %s: %s", o->path, strerror(errno));
		return -1;
	}
	return 0;
}

void
control_opts_from_config(struct control_opts *o, const struct sim_config *c)
{
	memset(o, 0, sizeof(*o));
	o->path = c->socket_path;
	o->mode = (int)c->socket_mode;
	o->group = c->socket_group;
	o->readonly_group = c->socket_readonly_group;
	o->max_request = (size_t)c->max_request;
	o->request_timeout = c->control_request_timeout;
	o->idle_timeout = c->control_idle_timeout;
	o->max_per_uid = (size_t)c->control_max_per_uid;
	o->max_clients = (size_t)c->control_max_clients;
}

struct control *
control_new(struct event_base *base, const struct control_opts *o, control_dispatch_fn dispatch,
    void *ctx, char *err, size_t errlen)
{
	struct control *c = calloc(1, sizeof(*c));

	if (c != NULL)
		c->spare_fd = c->lfd = -1;
	if (c == NULL || (c->path = strdup(o->path)) == NULL) {
		free(c);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->base = base;
	c->max_request = o->max_request;
	c->request_timeout = o->request_timeout > 0 ? o->request_timeout : 10;
	c->idle_timeout = o->idle_timeout; /* 0: never */
	c->max_clients = o->max_clients > CONTROL_RESERVED ? o->max_clients : 1024;
	c->max_per_uid = o->max_per_uid > 0 ? o->max_per_uid : c->max_clients;
	c->dispatch = dispatch;
	c->ctx = ctx;
	c->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if ((c->relisten = evtimer_new(base, relisten_cb, c)) == NULL) {
		free(c->path);
		c->path = NULL;
		control_free(c);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (control_check_opts(c, o, err, errlen) != 0) {
		free(c->path);
		c->path = NULL;
		control_free(c);
		return NULL;
	}
	if (control_listen(c, o, err, errlen) != 0) {
		if (c->listener == NULL) {
			free(c->path);
			c->path = NULL;
		}
		control_free(c);
		return NULL;
	}
	return c;
}

void
control_free(struct control *c)
{
	if (c == NULL)
		return;
	/*
	 * Last answers (shutdown's own) get one non-blocking send; nothing waits.
	 * (The bufferevent keeps its output's front frozen; it is going away.)
	 */
	for (struct control_client *cl = c->clients; cl != NULL; cl = cl->next) {
		struct evbuffer *out = bufferevent_get_output(cl->bev);
		evbuffer_unfreeze(out, 1);
		if (evbuffer_get_length(out) > 0)
			(void)evbuffer_write(out, bufferevent_getfd(cl->bev));
	}
	while (c->clients != NULL)
		client_free(c->clients);
	if (c->listener != NULL)
		event_free(c->listener);
	if (c->lfd >= 0)
		evutil_closesocket(c->lfd);
	if (c->relisten != NULL)
		event_free(c->relisten);
	if (c->spare_fd >= 0)
		close(c->spare_fd);
	if (c->path != NULL)
		unlink(c->path);
	free(c->path);
	free(c);
}

size_t
control_nclients(const struct control *c)
{
	return c->nclients;
}

/*
 * Work that re-arms itself (the scheduler's pump, the store's completions)
 * must not starve sockets and timers: after a bounded time or number of
 * callbacks the loop polls again.  The control socket has the first priority:
 * its events run first after every poll and are not counted in that bound, so
 * a status request waits for one short turn, not a queue.
 */
struct event_base *
control_base_new(void)
{
	struct event_config *cfg = event_config_new();
	struct timeval slice = { 0, CONTROL_TURN_US };
	struct event_base *base;

	if (cfg == NULL)
		return NULL;
	if (event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER) != 0 ||
	    event_config_set_max_dispatch_interval(
		cfg, &slice, CONTROL_TURN_CALLBACKS, CONTROL_PRIORITY + 1) != 0) {
		event_config_free(cfg);
		return NULL;
	}
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (base != NULL && event_base_priority_init(base, CONTROL_PRIORITIES) != 0) {
		event_base_free(base);
		return NULL;
	}
	return base;
}
