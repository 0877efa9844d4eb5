/*
 * delayproxy.c - a TCP proxy that makes a local server look remote, for make bench.
 *
 *	delayproxy [-d MS] LISTEN_PORT TARGET_PORT
 *
 * Listens on 127.0.0.1:LISTEN_PORT (0: any free port) and forwards every connection to
 * 127.0.0.1:TARGET_PORT.  Every chunk read from either side is held MS milliseconds
 * (default 50) before it is written to the other, so a round trip through the proxy
 * costs 2 * MS more.  Chunks keep their order: the delay is the same for all, so each
 * direction is a FIFO.  Once listening it prints "port N" on stdout.  It runs until
 * killed.  Built by bench/run.sh: cc delayproxy.c $(pkg-config --cflags --libs libevent).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

struct chunk {
	struct chunk *next;
	uint64_t due_us;
	size_t len;
	char data[];
};

struct conn;

/* One direction of a connection: what is read from "from" goes to "to", late. */
struct dir {
	struct conn *c;
	struct bufferevent *from, *to;
	struct chunk *head, *tail;
	struct event *timer;
	int eof; /* "from" is closed: end once the queue is out */
};

struct conn {
	struct proxy *p;
	struct bufferevent *client, *server;
	struct dir up, down; /* client -> server, server -> client */
	int closing;
};

struct proxy {
	struct event_base *base;
	struct sockaddr_in target;
	uint64_t delay_us;
};

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void
dir_clear(struct dir *d)
{
	while (d->head) {
		struct chunk *k = d->head;
		d->head = k->next;
		free(k);
	}
	d->tail = NULL;
	if (d->timer)
		event_free(d->timer);
	d->timer = NULL;
}

static void
conn_free(struct conn *c)
{
	dir_clear(&c->up);
	dir_clear(&c->down);
	if (c->client)
		bufferevent_free(c->client);
	if (c->server)
		bufferevent_free(c->server);
	free(c);
}

static void
drained_cb(struct bufferevent *bev, void *arg)
{
	conn_free(arg);
}

static void event_cb(struct bufferevent *bev, short what, void *arg);

/* The side that closed has nothing more to say: let the other side's output drain, end. */
static void
conn_close(struct conn *c, struct bufferevent *out)
{
	c->closing = 1;
	evtimer_del(c->up.timer);
	evtimer_del(c->down.timer);
	bufferevent_disable(c->client, EV_READ);
	bufferevent_disable(c->server, EV_READ);
	if (out == NULL || evbuffer_get_length(bufferevent_get_output(out)) == 0) {
		conn_free(c);
		return;
	}
	bufferevent_setcb(out, NULL, drained_cb, event_cb, c);
}

static void
dir_arm(struct dir *d, uint64_t now)
{
	uint64_t wait = d->head->due_us > now ? d->head->due_us - now : 0;
	struct timeval tv = { (time_t)(wait / 1000000u), (suseconds_t)(wait % 1000000u) };

	evtimer_add(d->timer, &tv);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dir *d = arg;
	uint64_t now = now_us();

	while (d->head && d->head->due_us <= now) {
		struct chunk *k = d->head;
		d->head = k->next;
		if (d->head == NULL)
			d->tail = NULL;
		if (bufferevent_write(d->to, k->data, k->len) != 0) {
			free(k);
			conn_close(d->c, NULL);
			return;
		}
		free(k);
	}
	if (d->head)
		dir_arm(d, now);
	else if (d->eof)
		conn_close(d->c, d->to);
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct dir *d = bev == c->client ? &c->up : &c->down;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in);
	struct chunk *k;

	if (len == 0 || c->closing)
		return;
	if ((k = malloc(sizeof(*k) + len)) == NULL) {
		fprintf(stderr, "delayproxy: out of memory; dropping a connection\n");
		conn_close(c, NULL);
		return;
	}
	k->next = NULL;
	k->len = len;
	k->due_us = now_us() + c->p->delay_us;
	evbuffer_remove(in, k->data, len);
	if (d->tail)
		d->tail->next = k;
	else
		d->head = k;
	d->tail = k;
	if (!evtimer_pending(d->timer, NULL))
		dir_arm(d, now_us());
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	struct dir *d = bev == c->client ? &c->up : &c->down;

	if (what & BEV_EVENT_CONNECTED) {
		evutil_socket_t fd = bufferevent_getfd(bev);
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	if (c->closing) { /* the peer went away while we were draining */
		conn_free(c);
		return;
	}
	/* Whatever was read before the close still goes out, late like the rest. */
	read_cb(bev, c);
	bufferevent_disable(bev, EV_READ);
	d->eof = 1;
	if (what & BEV_EVENT_ERROR)
		conn_close(c, NULL);
	else if (d->head == NULL && !c->closing)
		conn_close(c, d->to);
}

static int
dir_init(struct dir *d, struct conn *c, struct bufferevent *from, struct bufferevent *to)
{
	d->c = c;
	d->from = from;
	d->to = to;
	d->timer = evtimer_new(c->p->base, timer_cb, d);
	return d->timer ? 0 : -1;
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct proxy *p = arg;
	struct conn *c = calloc(1, sizeof(*c));
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (c == NULL) {
		evutil_closesocket(fd);
		fprintf(stderr, "delayproxy: out of memory; refusing a connection\n");
		return;
	}
	c->p = p;
	c->client = bufferevent_socket_new(p->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->server = bufferevent_socket_new(p->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (c->client == NULL || c->server == NULL ||
	    dir_init(&c->up, c, c->client, c->server) != 0 ||
	    dir_init(&c->down, c, c->server, c->client) != 0) {
		if (c->client == NULL)
			evutil_closesocket(fd);
		conn_free(c);
		fprintf(stderr, "delayproxy: out of memory; refusing a connection\n");
		return;
	}
	bufferevent_setcb(c->client, read_cb, NULL, event_cb, c);
	bufferevent_setcb(c->server, read_cb, NULL, event_cb, c);
	if (bufferevent_socket_connect(
		c->server, (struct sockaddr *)&p->target, sizeof(p->target)) != 0) {
		fprintf(stderr, "delayproxy: cannot connect to port %d: %s\n",
		    ntohs(p->target.sin_port), strerror(errno));
		conn_free(c);
		return;
	}
	bufferevent_enable(c->client, EV_READ);
	bufferevent_enable(c->server, EV_READ);
}

static long
parse_num(const char *s, long lo, long hi, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi) {
		fprintf(
		    stderr, "delayproxy: bad %s \"%s\" (expected %ld to %ld)\n", what, s, lo, hi);
		exit(2);
	}
	return v;
}

static void
usage(void)
{
	fprintf(stderr, "usage: delayproxy [-d MS] LISTEN_PORT TARGET_PORT\n");
	exit(2);
}

static int
listen_on(struct proxy *p, struct evconnlistener **out, long port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	*out = evconnlistener_new_bind(p->base, accept_cb, p,
	    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE, 128, (struct sockaddr *)&sin, sizeof(sin));
	if (*out == NULL) {
		fprintf(stderr, "delayproxy: cannot listen on 127.0.0.1:%ld: %s\n", port,
		    strerror(errno));
		return -1;
	}
	if (getsockname(evconnlistener_get_fd(*out), (struct sockaddr *)&sin, &len) != 0) {
		fprintf(stderr, "delayproxy: getsockname: %s\n", strerror(errno));
		return -1;
	}
	printf("port %d\n", ntohs(sin.sin_port));
	fflush(stdout);
	return 0;
}

int
main(int argc, char **argv)
{
	struct proxy p;
	struct evconnlistener *l = NULL;
	long delay_ms = 50;
	int i = 1;

	if (argc > 2 && strcmp(argv[1], "-d") == 0) {
		delay_ms = parse_num(argv[2], 0, 60000, "delay");
		i = 3;
	}
	if (argc - i != 2)
		usage();
	memset(&p, 0, sizeof(p));
	p.delay_us = (uint64_t)delay_ms * 1000u;
	p.target.sin_family = AF_INET;
	p.target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p.target.sin_port = htons((uint16_t)parse_num(argv[i + 1], 1, 65535, "target port"));
	if ((p.base = event_base_new()) == NULL) {
		fprintf(stderr, "delayproxy: event_base_new failed\n");
		return 1;
	}
	if (listen_on(&p, &l, parse_num(argv[i], 0, 65535, "listen port")) != 0)
		return 1;
	event_base_dispatch(p.base);
	evconnlistener_free(l);
	event_base_free(p.base);
	return 0;
}
