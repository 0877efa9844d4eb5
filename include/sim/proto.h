/*
 * proto.h - the control protocol, shared by simd and simctl.
 *
 * One JSON-RPC 2.0 object per line each way over a Unix stream socket.
 * Standard error codes for protocol faults; positive codes for application
 * errors, each with a message a person can act on.
 */
#ifndef SIM_PROTO_H
#define SIM_PROTO_H

#define SIM_PROTOCOL_VERSION 1

#define RPC_PARSE_ERROR -32700
#define RPC_INVALID_REQUEST -32600
#define RPC_METHOD_NOT_FOUND -32601
#define RPC_INVALID_PARAMS -32602
#define RPC_INTERNAL_ERROR -32603

#define SIM_ERR_STATE 1     /* not possible in the current state (start while running) */
#define SIM_ERR_FAILED 2    /* the operation was tried and failed */
#define SIM_ERR_SHUTDOWN 3  /* the daemon is shutting down */
#define SIM_ERR_NOT_FOUND 4 /* a named object (checkpoint) does not exist */
#define SIM_ERR_TOO_LARGE 5 /* request line over max_request */
#define SIM_ERR_DENIED 6    /* the peer may not call this method (read-only access) */

/* The methods (one file each in lib/cmd_NAME.c; simctl's verbs name them too). */
#define SIM_M_PING "ping"
#define SIM_M_VERSION "version"
#define SIM_M_STATUS "status"
#define SIM_M_STATS "stats"
#define SIM_M_START "start"
#define SIM_M_STOP "stop"
#define SIM_M_PAUSE "pause"
#define SIM_M_RESUME "resume"
#define SIM_M_SET_CONCURRENCY "set-concurrency"
#define SIM_M_CHECKPOINT "checkpoint"
#define SIM_M_CHECKPOINTS "checkpoints"
#define SIM_M_SHUTDOWN "shutdown"
#define SIM_M_CANCEL "cancel"           /* {"id": ID}: ends this connection's stream ID */
#define SIM_M_SUBSCRIBE "subscribe"     /* {"interval_ms": N}: a stream of frames */
#define SIM_M_UNSUBSCRIBE "unsubscribe" /* {"id": ID} or {}: ends subscriptions */
#define SIM_M_REPORT "report"           /* {} or {"run": ID}: the after-run report */
#define SIM_M_PURGE "purge"             /* {"seed": N} or {"run": ID}: a run's rows deleted */
#define SIM_M_PREFLIGHT "preflight"     /* {}: the checks before a run, as simd --preflight */

#endif
