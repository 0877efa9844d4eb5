/* jwt.c - HS256 tokens: a vector computed elsewhere (Python's hmac), the key file, the cache. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/jwt.h"

#include "check.h"

static const char vector[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiI0MiIsImlhdCI6MTc2NzU3MTIwMCwiZXhwIjoxNzY3NTc0ODAwLCJzaW0iOnRydWV9."
    "E-IdjMh1ihPy4JmuG95b9EKEEFnPAjzPPPSPSYLiOas";

static void
test_sign(void)
{
	const unsigned char key[] = "k3y-of-the-test";
	char out[JWT_TOKEN_MAX];

	CHECK(jwt_sign(out, sizeof(out), key, sizeof(key) - 1, 42, 1767571200, 1767574800) ==
	    (int)strlen(vector));
	CHECK(strcmp(out, vector) == 0);
	/* too small a buffer: refused, not cut */
	CHECK(jwt_sign(out, 40, key, sizeof(key) - 1, 42, 1767571200, 1767574800) == -1);
}

static void
write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	CHECK(f != NULL);
	if (f != NULL) {
		fwrite(data, 1, len, f);
		fclose(f);
	}
}

static void
test_key_file(void)
{
	char path[128], err[256];
	unsigned char key[JWT_KEY_MAX];
	char *big;
	size_t len = 0;
	int fd = mkstemp(check_tmpl(path, sizeof(path), "simd-jwt-test", 100));

	CHECK(fd >= 0);
	close(fd);
	write_file(path, "the-key\r\n\n", 10);
	CHECK(jwt_read_key(path, key, &len, err, sizeof(err)) == 0);
	CHECK(len == 7 && memcmp(key, "the-key", 7) == 0);
	write_file(path, "\n", 1);
	CHECK(jwt_read_key(path, key, &len, err, sizeof(err)) == -1);
	CHECK(strstr(err, "empty") != NULL && strstr(err, path) != NULL);
	big = malloc(JWT_KEY_MAX + 1);
	CHECK(big != NULL);
	if (big != NULL) {
		memset(big, 'k', JWT_KEY_MAX + 1);
		write_file(path, big, JWT_KEY_MAX + 1);
		CHECK(jwt_read_key(path, key, &len, err, sizeof(err)) == -1);
		CHECK(strstr(err, "longer") != NULL && strstr(err, "kkkk") == NULL);
		free(big);
	}
	unlink(path);
	CHECK(jwt_read_key(path, key, &len, err, sizeof(err)) == -1);
	CHECK(strstr(err, path) != NULL);
}

static void
test_cache(void)
{
	const unsigned char key[] = "k3y-of-the-test";
	struct jwt_cache *c = jwt_cache_new(key, sizeof(key) - 1, 3600);
	char first[JWT_TOKEN_MAX];
	const char *t;

	CHECK(c != NULL);
	if (c == NULL)
		return;
	CHECK(jwt_cache_get(c, 0, 1000) == NULL); /* users.id starts at 1 */
	t = jwt_cache_get(c, 42, 1767571200);
	CHECK(t != NULL && strcmp(t, vector) == 0);
	snprintf(first, sizeof(first), "%s", t ? t : "");
	/* reused until a tenth of its life is left */
	CHECK(strcmp(jwt_cache_get(c, 42, 1767571200 + 3000), first) == 0);
	CHECK(jwt_cache_signed(c) == 1);
	t = jwt_cache_get(c, 42, 1767571200 + 3300);
	CHECK(t != NULL && strcmp(t, first) != 0);
	CHECK(jwt_cache_signed(c) == 2);
	/* another user, far in the table: its own token */
	t = jwt_cache_get(c, 100000, 1767571200);
	CHECK(t != NULL && strcmp(t, first) != 0);
	CHECK(jwt_cache_signed(c) == 3);
	jwt_cache_free(c);
}

int
main(void)
{
	test_sign();
	test_key_file();
	test_cache();
	return CHECK_DONE();
}
