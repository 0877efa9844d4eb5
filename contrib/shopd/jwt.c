/* jwt.c - verifying HS256 tokens: base64url, HMAC-SHA256, a constant-time compare. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "jwt.h"

#define JWT_SIG_LEN 32 /* SHA-256 */

int
jwt_key_load(struct jwt_key *k, const char *path, char *err, size_t errlen)
{
	unsigned char buf[JWT_MAX_KEY + 1];
	ssize_t n;
	size_t len = 0;
	int fd;

	memset(k, 0, sizeof(*k));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (len < sizeof(buf) && (n = read(fd, buf + len, sizeof(buf) - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			close(fd);
			OPENSSL_cleanse(buf, sizeof(buf));
			return -1;
		}
		len += (size_t)n;
	}
	close(fd);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (len == 0 || len > JWT_MAX_KEY) {
		snprintf(err, errlen,
		    "%s: the secret must be 1 to %d bytes (a trailing newline"
		    " is not part of it)",
		    path, JWT_MAX_KEY);
		OPENSSL_cleanse(buf, sizeof(buf));
		return -1;
	}
	if ((k->key = malloc(len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		OPENSSL_cleanse(buf, sizeof(buf));
		return -1;
	}
	memcpy(k->key, buf, len);
	k->len = len;
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

void
jwt_key_clear(struct jwt_key *k)
{
	if (k->key != NULL) {
		OPENSSL_cleanse(k->key, k->len);
		free(k->key);
	}
	k->key = NULL;
	k->len = 0;
}

/*
 * base64url without padding (RFC 7515 2) into out (room for len * 3 / 4 + 3
 * bytes); returns the decoded length or -1.  libcrypto decodes the standard
 * alphabet, so the part is translated and padded first.
 */
static int
b64url_decode(const char *in, size_t len, unsigned char *out)
{
	char tmp[JWT_MAX_TOKEN + 4];
	size_t i, pad;
	int n;

	if (len == 0 || len % 4 == 1 || len > JWT_MAX_TOKEN)
		return -1;
	for (i = 0; i < len; i++) {
		char c = in[i];

		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			     (c >= '0' && c <= '9')))
			return -1;
		tmp[i] = c;
	}
	pad = (4 - len % 4) % 4;
	memset(tmp + len, '=', pad);
	n = EVP_DecodeBlock(out, (const unsigned char *)tmp, (int)(len + pad));
	return n < 0 ? -1 : n - (int)pad;
}

/* A part decoded as a JSON object, or NULL. */
static json_t *
jwt_json_part(const char *in, size_t len)
{
	unsigned char buf[JWT_MAX_TOKEN];
	json_t *j;
	int n;

	if ((n = b64url_decode(in, len, buf)) <= 0)
		return NULL;
	j = json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static const char *
jwt_check_header(const char *in, size_t len)
{
	json_t *h = jwt_json_part(in, len), *alg, *typ;
	const char *why = NULL;

	if (h == NULL)
		return "malformed token header";
	alg = json_object_get(h, "alg");
	typ = json_object_get(h, "typ");
	if (!json_is_string(alg) || strcmp(json_string_value(alg), "HS256") != 0)
		why = "token alg must be HS256";
	else if (typ != NULL && (!json_is_string(typ) || strcmp(json_string_value(typ), "JWT")))
		why = "token typ must be JWT";
	else if (json_object_get(h, "crit") != NULL)
		why = "token carries critical extensions";
	json_decref(h);
	return why;
}

static const char *
jwt_check_sig(
    const struct jwt_key *k, const char *token, size_t signed_len, const char *sig, size_t sig_len)
{
	unsigned char want[EVP_MAX_MD_SIZE], got[JWT_MAX_TOKEN];
	unsigned int want_len = 0;
	int n;

	if ((n = b64url_decode(sig, sig_len, got)) != JWT_SIG_LEN)
		return "bad token signature";
	if (HMAC(EVP_sha256(), k->key, (int)k->len, (const unsigned char *)token, signed_len, want,
		&want_len) == NULL ||
	    want_len != JWT_SIG_LEN)
		return "cannot compute the token signature";
	if (CRYPTO_memcmp(want, got, JWT_SIG_LEN) != 0)
		return "bad token signature";
	return NULL;
}

/* "sub": a decimal users.id, 1..INT64_MAX, no sign, no leading zero. */
static int
jwt_sub(json_t *v, int64_t *out)
{
	const char *s;
	char *end;
	long long n;

	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	if (s[0] < '1' || s[0] > '9' || strlen(s) > 19)
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = n;
	return 0;
}

static const char *
jwt_check_claims(json_t *c, int64_t now, struct jwt_claims *out)
{
	json_t *iat = json_object_get(c, "iat"), *exp = json_object_get(c, "exp");
	json_t *nbf = json_object_get(c, "nbf"), *sim = json_object_get(c, "sim");

	if (jwt_sub(json_object_get(c, "sub"), &out->sub) == -1)
		return "token sub must be a user id as a decimal string";
	if (!json_is_integer(iat) || !json_is_integer(exp))
		return "token iat and exp must be integers";
	if (nbf != NULL && !json_is_integer(nbf))
		return "token nbf must be an integer";
	if (sim != NULL && !json_is_boolean(sim))
		return "token sim must be a boolean";
	out->iat = json_integer_value(iat);
	out->exp = json_integer_value(exp);
	out->sim = json_is_true(sim);
	if (out->exp < out->iat)
		return "token expires before it was issued";
	if (out->exp + JWT_LEEWAY <= now)
		return "token expired";
	if (out->iat > now + JWT_LEEWAY ||
	    (nbf != NULL && json_integer_value(nbf) > now + JWT_LEEWAY))
		return "token not valid yet";
	return NULL;
}

const char *
jwt_verify(const struct jwt_key *k, const char *token, int64_t now, struct jwt_claims *out)
{
	const char *dot1, *dot2, *why;
	size_t len;
	json_t *c;

	memset(out, 0, sizeof(*out));
	if ((len = strlen(token)) > JWT_MAX_TOKEN)
		return "token too long";
	if ((dot1 = strchr(token, '.')) == NULL || (dot2 = strchr(dot1 + 1, '.')) == NULL ||
	    strchr(dot2 + 1, '.') != NULL)
		return "malformed token";
	/* The signature first: nothing unsigned is parsed beyond the header. */
	if ((why = jwt_check_header(token, (size_t)(dot1 - token))) != NULL ||
	    (why = jwt_check_sig(k, token, (size_t)(dot2 - token), dot2 + 1,
		 len - (size_t)(dot2 + 1 - token))) != NULL)
		return why;
	if ((c = jwt_json_part(dot1 + 1, (size_t)(dot2 - dot1 - 1))) == NULL)
		return "malformed token claims";
	why = jwt_check_claims(c, now, out);
	json_decref(c);
	return why;
}
