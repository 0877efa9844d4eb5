/* rpc.c - unit tests of JSON-RPC parsing and the method table. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sim/cmd.h"
#include "sim/proto.h"
#include "sim/rpc.h"

static int
parse_code(const char *line)
{
	struct rpc_request r;
	json_t *answer = NULL;
	int code = 0;

	if (rpc_parse(line, strlen(line), &r, &answer) == 0) {
		rpc_request_clear(&r);
		return 0;
	}
	code = (int)json_integer_value(json_object_get(json_object_get(answer, "error"), "code"));
	json_decref(answer);
	return code;
}

int
main(void)
{
	struct rpc_request r;
	json_t *answer, *m, *params;
	const char *line;
	char *out, err[256];
	size_t len;
	long long n;
	double d;
	int b;
	static const char *const allowed[] = { "a", "b", NULL };

	/* a good request */
	line = "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\",\"params\":{}}";
	CHECK(rpc_parse(line, strlen(line), &r, &answer) == 0);
	CHECK(strcmp(r.method, "ping") == 0 && json_integer_value(r.id) == 3 &&
	    json_is_object(r.params));
	rpc_request_clear(&r);
	/* a notification has no id */
	line = "{\"jsonrpc\":\"2.0\",\"method\":\"ping\"}";
	CHECK(rpc_parse(line, strlen(line), &r, &answer) == 0);
	CHECK(r.id == NULL && r.params == NULL);
	rpc_request_clear(&r);

	/* faults, each with its standard code */
	CHECK(parse_code("nope") == RPC_PARSE_ERROR);
	CHECK(parse_code("{\"jsonrpc\":\"2.0\",") == RPC_PARSE_ERROR);
	CHECK(parse_code("{\"a\":1,\"a\":2}") == RPC_PARSE_ERROR); /* duplicate keys */
	CHECK(parse_code("[]") == RPC_INVALID_REQUEST);
	CHECK(parse_code("42") == RPC_INVALID_REQUEST);
	CHECK(parse_code("{\"id\":1,\"method\":\"ping\"}") == RPC_INVALID_REQUEST);
	CHECK(parse_code("{\"jsonrpc\":\"2.0\",\"id\":1}") == RPC_INVALID_REQUEST);
	CHECK(parse_code("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\"}") == RPC_INVALID_REQUEST);
	CHECK(parse_code("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}") == RPC_INVALID_REQUEST);
	CHECK(parse_code("{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}") ==
	    RPC_INVALID_REQUEST);
	CHECK(parse_code("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":3}") ==
	    RPC_INVALID_REQUEST);
	/* no NUL inside a string (jansson's default): "ping\u0000x" cannot run ping */
	CHECK(parse_code("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\\u0000x\"}") ==
	    RPC_PARSE_ERROR);
	/* the id of an invalid request is echoed when it is usable */
	line = "{\"jsonrpc\":\"1.0\",\"id\":\"x\",\"method\":\"ping\"}";
	CHECK(rpc_parse(line, strlen(line), &r, &answer) == -1);
	CHECK(strcmp(json_string_value(json_object_get(answer, "id")), "x") == 0);
	json_decref(answer);

	/* answers */
	m = rpc_result(json_integer(9), json_string("pong"));
	out = rpc_dump_line(m, &len);
	CHECK(strcmp(out, "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":\"pong\"}\n") == 0);
	CHECK(len == strlen(out));
	free(out);
	json_decref(m);
	m = rpc_error(NULL, RPC_METHOD_NOT_FOUND, "unknown method \"x\"", NULL);
	out = rpc_dump_line(m, &len);
	CHECK(strstr(out, "\"id\":null") && strstr(out, "\"code\":-32601"));
	free(out);
	json_decref(m);
	/* a message cut inside a UTF-8 character ("%.64s") still goes, as ASCII */
	m = rpc_error(NULL, RPC_INVALID_PARAMS, "unknown parameter \"caf\xc3\"", NULL);
	line = json_string_value(json_object_get(json_object_get(m, "error"), "message"));
	CHECK(line != NULL && strcmp(line, "unknown parameter \"caf?\"") == 0);
	json_decref(m);

	/* the method table: every method once, each with a check and a handler */
	for (size_t i = 0; cmd_table[i] != NULL; i++) {
		CHECK(cmd_find(cmd_table[i]->name) == cmd_table[i]);
		CHECK(cmd_table[i]->check != NULL && cmd_table[i]->exec != NULL);
		CHECK(cmd_table[i]->help != NULL);
	}
	CHECK(cmd_find("ping") && cmd_find("status") && cmd_find("set-concurrency"));
	CHECK(cmd_find("start") && cmd_find("checkpoints") && cmd_find("shutdown"));
	CHECK(cmd_find("warp") == NULL);
	CHECK((cmd_find("status")->flags & CMD_READONLY) &&
	    !(cmd_find("stop")->flags & CMD_READONLY));

	/* parameter checks */
	params = json_pack("{s:i, s:s, s:f, s:b}", "a", 5, "b", "x", "c", 2.5, "d", 1);
	CHECK(cmd_check_keys(params, allowed, err, sizeof(err)) == -1 && strstr(err, "\"c\""));
	CHECK(cmd_param_int(params, "a", 1, 10, &n, err, sizeof(err)) == 1 && n == 5);
	CHECK(cmd_param_int(params, "a", 6, 10, &n, err, sizeof(err)) == -1);
	CHECK(cmd_param_int(params, "b", 1, 10, &n, err, sizeof(err)) == -1);
	CHECK(cmd_param_int(params, "c", 1, 10, &n, err, sizeof(err)) == -1);
	CHECK(cmd_param_int(params, "zz", 1, 10, &n, err, sizeof(err)) == 0);
	CHECK(cmd_param_double(params, "c", 0, 3, &d, err, sizeof(err)) == 1 && d == 2.5);
	CHECK(cmd_param_double(params, "b", 0, 3, &d, err, sizeof(err)) == -1);
	CHECK(cmd_param_bool(params, "d", &b, err, sizeof(err)) == 1 && b == 1);
	CHECK(cmd_param_bool(params, "a", &b, err, sizeof(err)) == -1);
	CHECK(cmd_check_none(params, err, sizeof(err)) == -1);
	CHECK(cmd_check_none(NULL, err, sizeof(err)) == 0);
	CHECK(cmd_find("set-concurrency")->check(params, err, sizeof(err)) == -1);
	json_decref(params);
	params = json_pack("{s:i}", "limit", 0);
	CHECK(cmd_find("set-concurrency")->check(params, err, sizeof(err)) == -1);
	json_decref(params);
	params = json_pack("{s:i}", "limit", 8);
	CHECK(cmd_find("set-concurrency")->check(params, err, sizeof(err)) == 0);
	json_decref(params);
	params = json_pack("{s:i}", "max_concurrent", 0);
	CHECK(cmd_find("start")->check(params, err, sizeof(err)) == -1 &&
	    strstr(err, "max_concurrent"));
	json_decref(params);
	params = json_pack("{s:[s]}", "agents_list", "agent_0x");
	CHECK(cmd_find("start")->check(params, err, sizeof(err)) == -1);
	json_decref(params);
	return CHECK_DONE();
}
