/*
 * client.h - the client side of the control protocol, shared by simctl and
 * the benchmarks: connect to the socket, send a request, read answers (one,
 * or a stream of them), each within a timeout.  Blocking by design: clients
 * are command-line tools, never the daemon.
 */
#ifndef SIM_CLIENT_H
#define SIM_CLIENT_H

#include <stddef.h>

#include <jansson.h>

enum client_err {
	CLIENT_OK,
	CLIENT_UNREACHABLE, /* no socket, refused, path too long */
	CLIENT_TIMEOUT,     /* no answer within the timeout */
	CLIENT_CLOSED,      /* the daemon closed the connection without an answer */
	CLIENT_PROTOCOL,    /* an answer that is not JSON-RPC */
	CLIENT_NOMEM,
};

struct client;

/* NULL with the reason in err (and *kind) when the daemon cannot be reached. */
struct client *client_open(const char *path, enum client_err *kind, char *err, size_t errlen);
void client_close(struct client *c);
/* Sends {"jsonrpc":"2.0","id":id,"method":method,"params":params}; params is stolen. */
enum client_err client_send(
    struct client *c, const char *method, json_t *params, long long id, char *err, size_t errlen);
/* The next message (a JSON object), waiting at most timeout s (< 0: forever). */
json_t *
client_read(struct client *c, double timeout, enum client_err *kind, char *err, size_t errlen);
/* The socket, to poll with other descriptors; whether a whole message is read already. */
int client_fd(const struct client *c);
int client_buffered(const struct client *c);
/* open, send, read one answer, close. */
json_t *client_call(const char *path, const char *method, json_t *params, double timeout,
    enum client_err *kind, char *err, size_t errlen);

#endif
