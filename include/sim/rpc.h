/* rpc.h - JSON-RPC 2.0 messages: parsing and validating requests, building answers. */
#ifndef SIM_RPC_H
#define SIM_RPC_H

#include <stddef.h>

#include <jansson.h>

struct rpc_request {
	json_t *root;       /* owns everything below */
	json_t *id;         /* borrowed; NULL for a notification (no answer is sent) */
	const char *method; /* borrowed */
	json_t *params;     /* borrowed; NULL when absent */
};

/*
 * Parses one line.  Returns 0 and fills req, or returns -1 and sets *answer to
 * the error answer to send (parse error, invalid request).
 */
int rpc_parse(const char *line, size_t len, struct rpc_request *req, json_t **answer);
void rpc_request_clear(struct rpc_request *req);

/* Answers; both steal their json arguments (result may be NULL for null). */
json_t *rpc_result(json_t *id, json_t *result);
json_t *rpc_error(json_t *id, int code, const char *message, json_t *data);
/* Serialises compactly with a trailing newline; NULL on allocation failure. */
char *rpc_dump_line(const json_t *msg, size_t *len);

#endif
