/*
 * fuzz_rpc.c - one control-protocol line: rpc_parse, then what cmd_dispatch
 * does before a method runs (the lookup in cmd_table and the method's
 * parameter check), and the answer as simd would send it.
 *
 * Contract: every line gets an answer that serialises to one line of valid
 * JSON-RPC 2.0, an error with an integer code and a message or a result.
 */
#include <jansson.h>

#include "sim/cmd.h"
#include "sim/proto.h"
#include "sim/rpc.h"

#include "fuzz.h"

static void
fuzz_check_error(const json_t *e)
{
	const json_t *msg = json_object_get(e, "message");

	FUZZ_ASSERT(json_is_object(e));
	FUZZ_ASSERT(json_is_integer(json_object_get(e, "code")));
	FUZZ_ASSERT(json_is_string(msg) && json_string_length(msg) > 0);
}

/* Serialises as control.c does, and reads it back as simctl would. */
static void
fuzz_check_answer(json_t *answer)
{
	json_t *back;
	size_t len;
	char *line;

	FUZZ_ASSERT(answer != NULL);
	line = rpc_dump_line(answer, &len);
	FUZZ_ASSERT(line != NULL && len > 0 && line[len - 1] == '\n');
	FUZZ_ASSERT(memchr(line, '\n', len - 1) == NULL && strlen(line) == len);
	back = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	FUZZ_ASSERT(json_is_object(back));
	FUZZ_ASSERT(json_is_string(json_object_get(back, "jsonrpc")) &&
	    strcmp(json_string_value(json_object_get(back, "jsonrpc")), "2.0") == 0);
	FUZZ_ASSERT(json_object_get(back, "id") != NULL);
	if (json_object_get(back, "result") == NULL)
		fuzz_check_error(json_object_get(back, "error"));
	json_decref(back);
	free(line);
	json_decref(answer);
}

static json_t *
fuzz_id(const struct rpc_request *rr)
{
	return rr->id != NULL ? json_incref(rr->id) : NULL;
}

/* cmd_dispatch up to the method's exec, answering as it would. */
static json_t *
fuzz_dispatch(const struct rpc_request *rr)
{
	const struct cmd_entry *e = cmd_find(rr->method);
	const json_t *params = rr->params;
	char err[256], msg[512];

	if (e == NULL) {
		snprintf(msg, sizeof(msg),
		    "unknown method \"%.64s\" (simctl help lists the commands)", rr->method);
		return rpc_error(fuzz_id(rr), RPC_METHOD_NOT_FOUND, msg, NULL);
	}
	if (params != NULL && json_is_array(params)) {
		if (json_array_size(params) != 0)
			return rpc_error(
			    fuzz_id(rr), RPC_INVALID_PARAMS, "params must be named", NULL);
		params = NULL;
	}
	err[0] = '\0';
	if (e->check(params, err, sizeof(err)) != 0) {
		FUZZ_ASSERT(err[0] != '\0');
		snprintf(msg, sizeof(msg), "%s: %s", e->name, err);
		return rpc_error(fuzz_id(rr), RPC_INVALID_PARAMS, msg, NULL);
	}
	return rpc_result(fuzz_id(rr), json_string(e->name));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rpc_request rr;
	json_t *answer;

	if (rpc_parse((const char *)data, size, &rr, &answer) != 0) {
		FUZZ_ASSERT(rr.root == NULL);
		fuzz_check_answer(answer);
		return 0;
	}
	FUZZ_ASSERT(rr.root != NULL && rr.method != NULL && answer == NULL);
	fuzz_check_answer(fuzz_dispatch(&rr));
	rpc_request_clear(&rr);
	return 0;
}
