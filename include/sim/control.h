/*
 * control.h - the control socket: a Unix stream listener on the loop that
 * frames JSON-RPC lines, checks who is calling and hands requests to a
 * dispatcher.  A slow or vanished client never stalls the loop: reads and
 * writes are non-blocking, output is bounded, a request line has a deadline,
 * idle clients are closed and connections are capped per uid.
 */
#ifndef SIM_CONTROL_H
#define SIM_CONTROL_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

/*
 * The loop's priorities.  The control socket's events (listening socket,
 * clients' reads, writes and deadlines) have the first one: after each poll
 * libevent runs them before anything else, and the daemon bounds the work of
 * the other priorities per loop turn (CONTROL_TURN_US, CONTROL_TURN_CALLBACKS)
 * so a request waits for one short turn at most.  Everything else keeps the
 * default, CONTROL_PRIORITY + 1.  control_base_new() makes such a loop.
 */
#define CONTROL_PRIORITY 0
#define CONTROL_PRIORITIES 2
#define CONTROL_TURN_US 1000      /* busy work run between two polls, at most (about) */
#define CONTROL_TURN_CALLBACKS 16 /* and at most this many callbacks of it */

struct event_base;
struct control;

/*
 * The daemon's loop: the priorities and the turn's bound above, timed by the
 * precise monotonic clock (libevent's default, the coarse one, ticks every 4
 * ms on many kernels: turns ran 4 ms whatever the bound).  NULL on failure.
 */
struct event_base *control_base_new(void);
struct control_client;
struct rpc_request;

/*
 * A request being answered; may outlive its client (the answer is then
 * dropped).  Most get one answer (control_answer); a stream (control_stream)
 * gets messages until the handler ends it or the client goes away or cancels
 * it, when `gone' runs and the handler must end it (control_end).
 */
struct cmd_req {
	struct control_client *client; /* NULL once the client has gone */
	json_t *id;                    /* NULL: notification, no answer */
	char method[32];
	int readonly;                                 /* the peer may call read-only methods only */
	void (*gone)(struct cmd_req *req, void *arg); /* a stream's end, from outside */
	void *gone_arg;
	struct cmd_req *next_pending; /* the client's list of unanswered requests */
};

typedef void (*control_dispatch_fn)(void *ctx, struct cmd_req *req, struct rpc_request *rr);

struct control_opts {
	const char *path;
	int mode;                   /* socket file mode */
	const char *group;          /* allowed group name, "" for none */
	const char *readonly_group; /* members may call read-only methods only; "" none */
	size_t max_request;         /* bytes in one line */
	double request_timeout;     /* seconds from a line's first byte to its end (10) */
	double idle_timeout;        /* seconds a client with nothing pending may sit; 0 never */
	size_t max_per_uid;         /* connections of one uid other than root and ours */
	size_t max_clients;         /* in all; 16 of them kept for root and our uid */
};

/* The checks control_new() makes short of binding (simd -n): 0, or -1 with a message. */
int control_check(const struct control_opts *opts, char *err, size_t errlen);
struct sim_config;
void control_opts_from_config(struct control_opts *o, const struct sim_config *c);
struct control *control_new(struct event_base *base, const struct control_opts *opts,
    control_dispatch_fn dispatch, void *ctx, char *err, size_t errlen);
/* Closes every client and removes the socket file. */
void control_free(struct control *c);
size_t control_nclients(const struct control *c);

/* Sends one message (stolen) to the request's client and frees req. */
void control_answer(struct cmd_req *req, json_t *msg);
/* Makes req a stream: gone(req, arg) runs if its client goes away or cancels it. */
void control_stream(struct cmd_req *req, void (*gone)(struct cmd_req *, void *), void *arg);
/*
 * A stream's next message (stolen).  1 when sent; 0 when dropped because the
 * client has not read the last ones yet (a slow reader gets the newest, never
 * a backlog); -1 when the client has gone.
 */
int control_send(struct cmd_req *req, json_t *msg);
/*
 * For a stream whose reader wants the newest message only (subscribe): the
 * kernel keeps few of its messages in flight, so that what the reader reads
 * next is recent; control_unsent() says when to hold the next one back.
 */
void control_stream_newest(struct cmd_req *req);
/* Bytes of earlier messages to req's client not yet handed to the kernel (0 when gone). */
size_t control_unsent(const struct cmd_req *req);
/* Ends a stream and frees req; nothing more is sent. */
void control_end(struct cmd_req *req);
/* The client's cancel of its stream with this id; 1 when one was ended. */
int control_cancel(struct cmd_req *from, const json_t *id);

#endif
