/* jwt.c - HS256 tokens for the shop API, signed and cached per user (see jwt.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sim/jwt.h"

struct jwt_token {
	int64_t renew; /* wall time after which a new one is signed */
	char text[];
};

struct jwt_cache {
	unsigned char key[JWT_KEY_MAX];
	size_t keylen;
	int64_t ttl, margin;
	struct jwt_token **tok; /* by sub - 1 */
	size_t ntok;
	uint64_t nsigned;
};

int
jwt_read_key(const char *path, unsigned char *key, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	size_t n;
	int more;

	if (f == NULL) {
		snprintf(err, errlen, "api_jwt_secret_file %s: %s", path, strerror(errno));
		return -1;
	}
	n = fread(key, 1, JWT_KEY_MAX, f);
	more = fgetc(f) != EOF;
	if (ferror(f)) {
		snprintf(err, errlen, "api_jwt_secret_file %s: read error", path);
		fclose(f);
		return -1;
	}
	fclose(f);
	while (n > 0 && (key[n - 1] == '\n' || key[n - 1] == '\r'))
		n--;
	if (more || n == 0) {
		OPENSSL_cleanse(key, JWT_KEY_MAX);
		snprintf(err, errlen, "api_jwt_secret_file %s: %s", path,
		    more ? "longer than 4096 bytes" : "empty");
		return -1;
	}
	*len = n;
	return 0;
}

/* base64url without padding (RFC 7515 2); out has room for 4 * (len + 2) / 3 + 1. */
static size_t
b64url(char *out, const void *in, size_t len)
{
	int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len), i, j;

	for (i = j = 0; i < n; i++) {
		if (out[i] == '=')
			continue;
		out[j++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	}
	out[j] = '\0';
	return (size_t)j;
}

int
jwt_sign(char *out, size_t size, const unsigned char *key, size_t keylen, uint64_t sub, int64_t iat,
    int64_t exp)
{
	static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	unsigned char mac[EVP_MAX_MD_SIZE];
	char claims[128], buf[JWT_TOKEN_MAX];
	unsigned int maclen;
	size_t n;
	int c;

	c = snprintf(claims, sizeof(claims),
	    "{\"sub\":\"%llu\",\"iat\":%lld,\"exp\":%lld,\"sim\":true}", (unsigned long long)sub,
	    (long long)iat, (long long)exp);
	if (c < 0 || (size_t)c >= sizeof(claims))
		return -1;
	n = b64url(buf, header, sizeof(header) - 1);
	buf[n++] = '.';
	n += b64url(buf + n, claims, (size_t)c);
	if (HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)buf, n, mac, &maclen) ==
	    NULL)
		return -1;
	buf[n++] = '.';
	n += b64url(buf + n, mac, maclen);
	if (n >= size)
		return -1;
	memcpy(out, buf, n + 1);
	return (int)n;
}

struct jwt_cache *
jwt_cache_new(const unsigned char *key, size_t keylen, double ttl)
{
	struct jwt_cache *c;

	if (keylen == 0 || keylen > JWT_KEY_MAX || (c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	memcpy(c->key, key, keylen);
	c->keylen = keylen;
	c->ttl = ttl < 60 ? 60 : (int64_t)ttl;
	c->margin = c->ttl / 10 < 30 ? 30 : c->ttl / 10;
	return c;
}

void
jwt_cache_free(struct jwt_cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->ntok; i++)
		free(c->tok[i]);
	free(c->tok);
	OPENSSL_cleanse(c->key, sizeof(c->key));
	free(c);
}

static int
jwt_cache_grow(struct jwt_cache *c, size_t want)
{
	size_t n = c->ntok ? c->ntok : 64;
	struct jwt_token **t;

	while (n < want)
		n *= 2;
	if ((t = realloc(c->tok, n * sizeof(*t))) == NULL)
		return -1;
	memset(t + c->ntok, 0, (n - c->ntok) * sizeof(*t));
	c->tok = t;
	c->ntok = n;
	return 0;
}

const char *
jwt_cache_get(struct jwt_cache *c, uint64_t sub, int64_t now)
{
	char buf[JWT_TOKEN_MAX];
	struct jwt_token *t;
	int n;

	if (sub == 0 || sub > SIZE_MAX / 2 || (sub > c->ntok && jwt_cache_grow(c, sub) != 0))
		return NULL;
	t = c->tok[sub - 1];
	if (t != NULL && now < t->renew)
		return t->text;
	if ((n = jwt_sign(buf, sizeof(buf), c->key, c->keylen, sub, now, now + c->ttl)) < 0)
		return NULL;
	if (t == NULL || strlen(t->text) < (size_t)n) {
		struct jwt_token *nt = malloc(sizeof(*nt) + (size_t)n + 1);

		if (nt == NULL)
			return NULL;
		free(t);
		c->tok[sub - 1] = t = nt;
	}
	memcpy(t->text, buf, (size_t)n + 1);
	t->renew = now + c->ttl - c->margin;
	c->nsigned++;
	return t->text;
}

uint64_t
jwt_cache_signed(const struct jwt_cache *c)
{
	return c->nsigned;
}
