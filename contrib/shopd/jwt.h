/*
 * jwt.h - HS256 JSON Web Tokens (RFC 7519), verified with libcrypto's HMAC.
 *
 * Only what docs/shop-api.md asks for: header {"alg":"HS256"} (any other alg,
 * "none" included, is refused), claims "sub" (users.id as a decimal string),
 * "iat" and "exp" (integers, checked against the wall clock with JWT_LEEWAY
 * seconds of skew), optional "nbf", and "sim" (a boolean; true marks the
 * simulator's tokens).
 */
#ifndef SHOPD_JWT_H
#define SHOPD_JWT_H

#include <stddef.h>
#include <stdint.h>

#define JWT_MAX_TOKEN 4096 /* bytes of a compact token */
#define JWT_MAX_KEY 4096   /* bytes of the secret */
#define JWT_LEEWAY 60      /* seconds of clock skew allowed on iat, nbf and exp */

struct jwt_key {
	unsigned char *key;
	size_t len;
};

struct jwt_claims {
	int64_t sub; /* the users.id the token speaks for */
	int64_t iat, exp;
	int sim; /* "sim": true */
};

/*
 * The secret is the file's bytes less any trailing CR and LF.  Returns -1 with
 * a reason (never the secret) when it cannot be read or is empty.
 */
int jwt_key_load(struct jwt_key *k, const char *path, char *err, size_t errlen);
void jwt_key_clear(struct jwt_key *k); /* wipes and frees */

/* NULL when token is valid at unix time now (claims in *out); else why it is not. */
const char *
jwt_verify(const struct jwt_key *k, const char *token, int64_t now, struct jwt_claims *out);

#endif
