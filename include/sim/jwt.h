/*
 * jwt.h - the shop API's tokens: HS256 JWTs (RFC 7519) signed with OpenSSL's
 * HMAC, one per user, cached until near expiry.
 *
 * Claims: "sub" (users.id in decimal), "iat", "exp" and "sim": true, as
 * docs/shop-api.md asks.  The key is the bytes of api_jwt_secret_file less
 * trailing CR and LF.  Neither the key nor a token is ever logged: errors
 * name the file, never its contents.
 */
#ifndef SIM_JWT_H
#define SIM_JWT_H

#include <stddef.h>
#include <stdint.h>

#define JWT_KEY_MAX 4096 /* bytes of secret, as shopd accepts */
#define JWT_TOKEN_MAX 512

struct jwt_cache;

/* The key from path: 0, or -1 with a one-line reason (empty, unreadable, too long). */
int jwt_read_key(const char *path, unsigned char *key, size_t *len, char *err, size_t errlen);
/* A token for user sub issued at iat, expiring at exp, into out; its length, or -1. */
int jwt_sign(char *out, size_t size, const unsigned char *key, size_t keylen, uint64_t sub,
    int64_t iat, int64_t exp);

/*
 * Tokens of ttl seconds, renewed once less than a tenth of ttl (at least 30 s
 * of it) is left; NULL when memory ran out.  The key is copied (and wiped on
 * free).
 */
struct jwt_cache *jwt_cache_new(const unsigned char *key, size_t keylen, double ttl);
void jwt_cache_free(struct jwt_cache *c);
/* The token of user sub (>= 1) at wall time now; NULL when memory ran out. */
const char *jwt_cache_get(struct jwt_cache *c, uint64_t sub, int64_t now);
/* Tokens signed so far (the rest came from the cache). */
uint64_t jwt_cache_signed(const struct jwt_cache *c);

#endif
