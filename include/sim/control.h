/*
 * control.h - the control socket: a Unix stream listener on the loop that
 * frames JSON-RPC lines, checks who is calling and hands requests to a
 * dispatcher.  A slow or vanished client never stalls the loop: reads and
 * writes are non-blocking, output is bounded, and a half-written request
 * times out.
 */
#ifndef SIM_CONTROL_H
#define SIM_CONTROL_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

struct event_base;
struct control;
struct control_client;
struct rpc_request;

/* A request being answered; may outlive its client (the answer is then dropped). */
struct cmd_req {
	struct control_client *client;   /* NULL once the client has gone */
	json_t *id;                      /* NULL: notification, no answer */
	char method[32];
	struct cmd_req *next_pending;    /* the client's list of unanswered requests */
};

typedef void (*control_dispatch_fn)(void *ctx, struct cmd_req *req, struct rpc_request *rr);

struct control_opts {
	const char *path;
	int mode;              /* socket file mode */
	const char *group;     /* allowed group name, "" for none */
	size_t max_request;    /* bytes in one line */
	double partial_timeout;/* seconds a half-written line may sit, e.g. 10 */
};

/* The checks control_new() makes short of binding (simd -n): 0, or -1 with a message. */
int control_check(const struct control_opts *opts, char *err, size_t errlen);
struct control *control_new(struct event_base *base, const struct control_opts *opts,
    control_dispatch_fn dispatch, void *ctx, char *err, size_t errlen);
/* Closes every client and removes the socket file. */
void control_free(struct control *c);
size_t control_nclients(const struct control *c);

/* Sends one message (stolen) to the request's client and frees req. */
void control_answer(struct cmd_req *req, json_t *msg);

#endif
