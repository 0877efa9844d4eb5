/* client.c - the client side of the control protocol (see client.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sim/client.h"
#include "sim/metrics.h"

#define CLIENT_MAX_LINE (64u << 20) /* no answer is that long: a broken peer */

struct client {
	int fd;
	char *path;
	char *buf; /* what has been read past the last line */
	size_t len, cap;
	int werr; /* a send that failed: the daemon may have answered first */
};

struct client *
client_open(const char *path, enum client_err *kind, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct client *c;

	*kind = CLIENT_UNREACHABLE;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return NULL;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->path = strdup(path)) == NULL) {
		free(c);
		*kind = CLIENT_NOMEM;
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		snprintf(err, errlen, "cannot reach simd at %s: %s", path, strerror(errno));
		if (c->fd >= 0)
			close(c->fd);
		free(c->path);
		free(c);
		return NULL;
	}
	*kind = CLIENT_OK;
	return c;
}

void
client_close(struct client *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c->buf);
	free(c->path);
	free(c);
}

enum client_err
client_send(
    struct client *c, const char *method, json_t *params, long long id, char *err, size_t errlen)
{
	json_t *req = json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id", (json_int_t)id,
	    "method", method, "params", params != NULL ? params : json_object());
	char *line = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
	size_t len, off = 0;

	json_decref(req);
	if (line == NULL) {
		snprintf(err, errlen, "out of memory");
		return CLIENT_NOMEM;
	}
	len = strlen(line);
	line[len++] = '\n'; /* the NUL's place becomes the line end */
	while (off < len) {
		ssize_t n = send(c->fd, line + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) { /* keep reading: a refusal may be waiting */
			c->werr = n < 0 ? errno : EPIPE;
			break;
		}
		off += (size_t)n;
	}
	free(line);
	return CLIENT_OK;
}

/* Milliseconds poll() may wait: a minute at a time at most (a huge timeout must not overflow). */
static int
poll_ms(double deadline, double timeout)
{
	double left;

	if (timeout < 0)
		return -1;
	left = (deadline - (double)metrics_now_us() / 1e6) * 1000;
	if (left <= 0)
		return 0;
	return left > 60000 ? 60000 : (int)left + 1;
}

/* Takes the first line out of the buffer as JSON; NULL (no kind change) when none is whole. */
static json_t *
take_line(struct client *c, enum client_err *kind, char *err, size_t errlen)
{
	char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
	json_error_t jerr;
	json_t *msg;
	size_t n;

	if (nl == NULL)
		return NULL;
	n = (size_t)(nl - c->buf);
	msg = json_loadb(c->buf, n, 0, &jerr);
	memmove(c->buf, nl + 1, c->len - n - 1);
	c->len -= n + 1;
	if (!json_is_object(msg)) {
		json_decref(msg);
		*kind = CLIENT_PROTOCOL;
		snprintf(err, errlen, "simd sent an answer that is not JSON-RPC: %s", jerr.text);
		return NULL;
	}
	*kind = CLIENT_OK;
	return msg;
}

static int
grow(struct client *c)
{
	size_t cap = c->cap ? c->cap * 2 : 4096;
	char *nb;

	if (c->len + 1 < c->cap)
		return 0;
	if (cap > CLIENT_MAX_LINE || (nb = realloc(c->buf, cap)) == NULL)
		return -1;
	c->buf = nb;
	c->cap = cap;
	return 0;
}

json_t *
client_read(struct client *c, double timeout, enum client_err *kind, char *err, size_t errlen)
{
	double deadline = (double)metrics_now_us() / 1e6 + timeout;
	int polled = 0;
	json_t *msg;

	*kind = CLIENT_OK;
	for (;;) {
		struct pollfd p = { c->fd, POLLIN, 0 };
		int ms;
		ssize_t n;

		if ((msg = take_line(c, kind, err, errlen)) != NULL || *kind != CLIENT_OK)
			return msg;
		/* a timeout of 0 still looks once at what has arrived */
		if ((ms = poll_ms(deadline, timeout)) == 0 && polled) {
			*kind = CLIENT_TIMEOUT;
			snprintf(
			    err, errlen, "no answer from simd at %s within %g s", c->path, timeout);
			return NULL;
		}
		polled = 1;
		if (poll(&p, 1, ms) < 0 && errno != EINTR)
			break;
		if (p.revents == 0)
			continue;
		if (grow(c) != 0) {
			*kind = CLIENT_NOMEM;
			snprintf(err, errlen, "out of memory reading an answer");
			return NULL;
		}
		n = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (n == 0) {
			*kind = CLIENT_CLOSED;
			if (c->werr)
				snprintf(
				    err, errlen, "writing to %s: %s", c->path, strerror(c->werr));
			else
				snprintf(err, errlen,
				    "simd at %s closed the connection without an "
				    "answer",
				    c->path);
			return NULL;
		}
		c->len += (size_t)n;
	}
	*kind = CLIENT_CLOSED;
	snprintf(err, errlen, "reading from %s: %s", c->path, strerror(errno));
	return NULL;
}

json_t *
client_call(const char *path, const char *method, json_t *params, double timeout,
    enum client_err *kind, char *err, size_t errlen)
{
	struct client *c = client_open(path, kind, err, errlen);
	json_t *msg = NULL;

	if (c == NULL) {
		json_decref(params);
		return NULL;
	}
	if ((*kind = client_send(c, method, params, 1, err, errlen)) == CLIENT_OK)
		msg = client_read(c, timeout, kind, err, errlen);
	client_close(c);
	return msg;
}

int
client_fd(const struct client *c)
{
	return c->fd;
}

int
client_buffered(const struct client *c)
{
	return c->len > 0 && memchr(c->buf, '\n', c->len) != NULL;
}
