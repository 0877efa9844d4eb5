/*
 * jwtmint.c - test tool: prints an HS256 JWT for shopd's tests.
 *
 *   jwtmint [-NS] [-a ALG] [-e SECS] [-i SECS] SECRET_FILE SUB
 *
 * Claims: "sub" (SUB as a string, or a number with -N), "iat" (now + the -i
 * offset, default 0), "exp" (now + the -e offset, default 3600) and "sim": true
 * (left out with -S).  -a sets the header's alg (the signature stays HS256).
 * The key is SECRET_FILE's bytes less trailing CR and LF, as shopd reads it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define MAX_KEY 4096

static void
b64url(const unsigned char *in, size_t len, char *out)
{
	int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len), i, j;

	for (i = j = 0; i < n; i++) {
		if (out[i] == '=')
			continue;
		out[j++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	}
	out[j] = '\0';
}

static size_t
read_key(const char *path, unsigned char *key)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	n = fread(key, 1, MAX_KEY, f);
	fclose(f);
	while (n > 0 && (key[n - 1] == '\n' || key[n - 1] == '\r'))
		n--;
	return n;
}

int
main(int argc, char **argv)
{
	unsigned char key[MAX_KEY], mac[EVP_MAX_MD_SIZE];
	char header[128], claims[512], buf[2048], sig[128];
	const char *alg = "HS256";
	long iat_off = 0, exp_off = 3600;
	int numeric = 0, sim = 1, ch;
	unsigned int maclen;
	size_t keylen, n;
	time_t now = time(NULL);

	while ((ch = getopt(argc, argv, "NSa:e:i:")) != -1) {
		switch (ch) {
		case 'N': numeric = 1; break;
		case 'S': sim = 0; break;
		case 'a': alg = optarg; break;
		case 'e': exp_off = strtol(optarg, NULL, 10); break;
		case 'i': iat_off = strtol(optarg, NULL, 10); break;
		default:
			fprintf(stderr,
			    "usage: jwtmint [-NS] [-a ALG] [-e SECS] [-i SECS]"
			    " SECRET_FILE SUB\n");
			return 2;
		}
	}
	if (argc - optind != 2 || strlen(argv[optind + 1]) > 64 || strlen(alg) > 32 ||
	    strspn(argv[optind + 1], "0123456789abcdefghijklmnopqrstuvwxyz_-") !=
		strlen(argv[optind + 1])) {
		fprintf(stderr,
		    "usage: jwtmint [-NS] [-a ALG] [-e SECS] [-i SECS] SECRET_FILE SUB"
		    " (SUB: up to 64 of [0-9a-z_-])\n");
		return 2;
	}
	keylen = read_key(argv[optind], key);
	snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
	snprintf(claims, sizeof(claims), "{\"sub\":%s%s%s,\"iat\":%lld,\"exp\":%lld%s}",
	    numeric ? "" : "\"", argv[optind + 1], numeric ? "" : "\"", (long long)now + iat_off,
	    (long long)now + exp_off, sim ? ",\"sim\":true" : "");
	b64url((const unsigned char *)header, strlen(header), buf);
	n = strlen(buf);
	buf[n++] = '.';
	b64url((const unsigned char *)claims, strlen(claims), buf + n);
	if (HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)buf, strlen(buf), mac,
		&maclen) == NULL) {
		fprintf(stderr, "jwtmint: HMAC failed\n");
		return 1;
	}
	b64url(mac, maclen, sig);
	printf("%s.%s\n", buf, sig);
	return 0;
}
