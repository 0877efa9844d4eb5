/*
 * dropproxy.c - test tool: an HTTP proxy that loses the answer of an order.
 *
 *   dropproxy PORT_FILE UPSTREAM_PORT PATH
 *
 * Listens on 127.0.0.1 (a free port, written to PORT_FILE once it listens)
 * and relays every request to 127.0.0.1:UPSTREAM_PORT.  The first POST to
 * PATH with a given Idempotency-Key is relayed too, but once the upstream has
 * answered -- so it has committed the order -- the client's connection is
 * closed without the answer: the client sees a broken connection after the
 * backend did the work, the case Idempotency-Key is for.  Later requests with
 * that key are relayed as they are.  SIGTERM ends it; on stdout, one line per
 * dropped answer ("dropped KEY STATUS").
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#define MAX_KEYS 100000

struct proxy {
	struct event_base *base;
	struct evhttp_connection *up;
	const char *path;
	char **keys;
	size_t nkeys;
};

struct relay {
	struct proxy *p;
	struct evhttp_request *req;
	int drop;
	char key[160];
};

static int
seen(struct proxy *p, const char *key)
{
	for (size_t i = 0; i < p->nkeys; i++)
		if (strcmp(p->keys[i], key) == 0)
			return 1;
	if (p->nkeys < MAX_KEYS && (p->keys[p->nkeys] = strdup(key)) != NULL)
		p->nkeys++;
	return 0;
}

static void
drop_client(struct evhttp_request *req)
{
	struct evhttp_connection *c = evhttp_request_get_connection(req);
	struct bufferevent *bev = evhttp_connection_get_bufferevent(c);

	/* Reset it under the reply: the client reads a closed connection, no status. */
	shutdown(bufferevent_getfd(bev), SHUT_RDWR);
	evhttp_send_reply(req, 500, "dropped", NULL);
}

static void
upstream_done(struct evhttp_request *ur, void *arg)
{
	struct relay *r = arg;
	struct evkeyvalq *h;
	struct evkeyval *kv;
	struct evbuffer *body;

	if (ur == NULL || evhttp_request_get_response_code(ur) == 0) {
		evhttp_send_error(r->req, 502, "upstream failed");
		free(r);
		return;
	}
	if (r->drop) {
		printf("dropped %s %d\n", r->key, evhttp_request_get_response_code(ur));
		fflush(stdout);
		drop_client(r->req);
		free(r);
		return;
	}
	h = evhttp_request_get_input_headers(ur);
	TAILQ_FOREACH (kv, h, next)
		if (strcasecmp(kv->key, "Content-Length") != 0 &&
		    strcasecmp(kv->key, "Connection") != 0 &&
		    strcasecmp(kv->key, "Transfer-Encoding") != 0)
			evhttp_add_header(
			    evhttp_request_get_output_headers(r->req), kv->key, kv->value);
	body = evhttp_request_get_input_buffer(ur);
	evhttp_send_reply(r->req, evhttp_request_get_response_code(ur),
	    evhttp_request_get_response_code_line(ur), body);
	free(r);
}

static void
request_cb(struct evhttp_request *req, void *arg)
{
	struct proxy *p = arg;
	struct relay *r = calloc(1, sizeof(*r));
	struct evhttp_request *ur;
	struct evkeyval *kv;
	const char *key, *uri = evhttp_request_get_uri(req);

	if (r == NULL || (ur = evhttp_request_new(upstream_done, r)) == NULL) {
		free(r);
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	r->p = p;
	r->req = req;
	key = evhttp_find_header(evhttp_request_get_input_headers(req), "Idempotency-Key");
	if (evhttp_request_get_command(req) == EVHTTP_REQ_POST && strcmp(uri, p->path) == 0 &&
	    key != NULL && !seen(p, key)) {
		r->drop = 1;
		snprintf(r->key, sizeof(r->key), "%s", key);
	}
	TAILQ_FOREACH (kv, evhttp_request_get_input_headers(req), next)
		if (strcasecmp(kv->key, "Connection") != 0)
			evhttp_add_header(
			    evhttp_request_get_output_headers(ur), kv->key, kv->value);
	evbuffer_add_buffer(
	    evhttp_request_get_output_buffer(ur), evhttp_request_get_input_buffer(req));
	if (evhttp_make_request(p->up, ur, evhttp_request_get_command(req), uri) != 0) {
		evhttp_send_error(req, 502, "cannot relay");
		free(r);
	}
}

static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

int
main(int argc, char **argv)
{
	struct proxy p = { 0 };
	struct evhttp *http;
	struct evhttp_bound_socket *bs;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct event *sig;
	FILE *f;

	if (argc != 4) {
		fprintf(stderr, "usage: dropproxy PORT_FILE UPSTREAM_PORT PATH\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	p.path = argv[3];
	p.base = event_base_new();
	p.keys = calloc(MAX_KEYS, sizeof(*p.keys));
	http = p.base ? evhttp_new(p.base) : NULL;
	p.up = p.base
	    ? evhttp_connection_base_new(p.base, NULL, "127.0.0.1", (unsigned short)atoi(argv[2]))
	    : NULL;
	if (http == NULL || p.up == NULL || p.keys == NULL ||
	    (bs = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0)) == NULL) {
		fprintf(stderr, "dropproxy: cannot listen\n");
		return 1;
	}
	evhttp_set_gencb(http, request_cb, &p);
	getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &len);
	if ((f = fopen(argv[1], "w")) == NULL)
		return 1;
	fprintf(f, "%d\n", ntohs(((struct sockaddr_in *)&ss)->sin_port));
	fclose(f);
	sig = evsignal_new(p.base, SIGTERM, stop_cb, p.base);
	event_add(sig, NULL);
	event_base_dispatch(p.base);
	event_free(sig);
	evhttp_connection_free(p.up);
	evhttp_free(http);
	event_base_free(p.base);
	for (size_t i = 0; i < p.nkeys; i++)
		free(p.keys[i]);
	free(p.keys);
	return 0;
}
