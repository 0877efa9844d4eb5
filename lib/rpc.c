/* rpc.c - JSON-RPC 2.0 messages. */
#include <stdlib.h>
#include <string.h>

#include "sim/metrics.h"
#include "sim/proto.h"
#include "sim/rpc.h"

static int
invalid(json_t *id, const char *msg, json_t **answer)
{
	*answer = rpc_error(id ? json_incref(id) : json_null(), RPC_INVALID_REQUEST, msg, NULL);
	return -1;
}

static int
valid_id(const json_t *id)
{
	return json_is_string(id) || json_is_integer(id) || json_is_real(id) || json_is_null(id);
}

int
rpc_parse(const char *line, size_t len, struct rpc_request *req, json_t **answer)
{
	json_error_t jerr;
	json_t *root, *v, *id;
	char msg[256];

	memset(req, 0, sizeof(*req));
	*answer = NULL;
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (root == NULL) {
		snprintf(msg, sizeof(msg), "parse error: %s (column %d)", jerr.text, jerr.column);
		*answer = rpc_error(json_null(), RPC_PARSE_ERROR, msg, NULL);
		return -1;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		return invalid(NULL, "invalid request: expected a JSON object", answer);
	}
	id = json_object_get(root, "id");
	if (id != NULL && !valid_id(id)) {
		json_decref(root);
		return invalid(
		    NULL, "invalid request: \"id\" must be a string, number or null", answer);
	}
	v = json_object_get(root, "jsonrpc");
	if (!json_is_string(v) || strcmp(json_string_value(v), "2.0") != 0) {
		int rc = invalid(id, "invalid request: \"jsonrpc\" must be \"2.0\"", answer);
		json_decref(root);
		return rc;
	}
	v = json_object_get(root, "method");
	if (!json_is_string(v) || json_string_length(v) == 0) {
		int rc =
		    invalid(id, "invalid request: \"method\" must be a non-empty string", answer);
		json_decref(root);
		return rc;
	}
	req->method = json_string_value(v);
	v = json_object_get(root, "params");
	if (v != NULL && !json_is_object(v) && !json_is_array(v)) {
		int rc = invalid(
		    id, "invalid request: \"params\" must be an object or an array", answer);
		json_decref(root);
		memset(req, 0, sizeof(*req));
		return rc;
	}
	req->root = root;
	req->id = id;
	req->params = v;
	return 0;
}

void
rpc_request_clear(struct rpc_request *req)
{
	json_decref(req->root);
	memset(req, 0, sizeof(*req));
}

json_t *
rpc_result(json_t *id, json_t *result)
{
	json_t *m = json_object();

	if (m == NULL) {
		json_decref(id);
		json_decref(result);
		return NULL;
	}
	json_object_set_new(m, "jsonrpc", json_string("2.0"));
	json_object_set_new(m, "id", id ? id : json_null());
	json_object_set_new(m, "result", result ? result : json_null());
	return m;
}

/*
 * A message quoting the request and cut to a buffer ("%.64s") may end inside a
 * UTF-8 character, which json_string refuses: then it goes as ASCII, '?' for
 * the rest, rather than an error without a message.
 */
static json_t *
rpc_message(const char *message)
{
	json_t *s = json_string(message);
	char *ascii;

	if (s != NULL || (ascii = strdup(message)) == NULL)
		return s;
	for (char *p = ascii; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	s = json_string(ascii);
	free(ascii);
	return s;
}

json_t *
rpc_error(json_t *id, int code, const char *message, json_t *data)
{
	json_t *m = json_object(), *e = json_object();

	if (m == NULL || e == NULL) {
		json_decref(m);
		json_decref(e);
		json_decref(id);
		json_decref(data);
		return NULL;
	}
	json_object_set_new(e, "code", json_integer(code));
	json_object_set_new(e, "message", rpc_message(message));
	if (data != NULL)
		json_object_set_new(e, "data", data);
	json_object_set_new(m, "jsonrpc", json_string("2.0"));
	json_object_set_new(m, "id", id ? id : json_null());
	json_object_set_new(m, "error", e);
	return m;
}

char *
rpc_dump_line(const json_t *msg, size_t *len)
{
	char *s = json_dumps(msg, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_DUMP_REALS), *line;
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	line = realloc(s, n + 2);
	if (line == NULL) {
		free(s);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	if (len != NULL)
		*len = n + 1;
	return line;
}
