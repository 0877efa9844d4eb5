/*
 * fuzz_pgconn.c - the PostgreSQL texts simd interprets or repeats:
 * pgconn_check_conninfo (a database_url from the config),
 * pgconn_clean_message (a libpq error about that connection) and
 * pgconn_map_sqlstate (the SQLSTATE of an error).
 *
 * The oracle is the secret: the harness puts a known password where
 * database_url holds one, and neither output may show it, raw or
 * percent-decoded (nor as libpq read it).  Only passwords with a byte that
 * no fixed text has (non-ASCII, a control character) are checked, so that
 * "ion" in "connection" is no finding.
 *
 * Input: one byte choosing where the password goes, then
 * password NUL rest NUL message.  The database_url is
 *	0: postgresql://u:PASSWORD@REST
 *	1: password=PASSWORD REST
 *	2: password='PASSWORD, quoted' REST
 * and each \x01 of the message (the first 16) becomes the password: libpq may
 * echo it.
 */
#include <libpq-fe.h>

#include "sim/pgconn.h"

#include "fuzz.h"

struct fuzz_in {
	int form;
	char *pw, *rest, *msg;
};

/* The next NUL-terminated piece of the input, or the rest of it. */
static char *
fuzz_piece(const uint8_t **data, size_t *size)
{
	const uint8_t *nul = memchr(*data, '\0', *size);
	size_t n = nul != NULL ? (size_t)(nul - *data) : *size;
	char *s = fuzz_strndup(*data, n);

	*data += n + (nul != NULL);
	*size -= n + (nul != NULL);
	return s;
}

/*
 * A byte that neither libpq's messages (English, ASCII) nor simd's own texts
 * hold: a secret with one can only be in the output if it was copied there.
 */
static int
fuzz_distinct(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80 ||
		    (*s > 0x01 && *s < 0x20 && *s != '\t' && *s != '\n' && *s != '\r'))
			return 1;
	return 0;
}

/* Where libpq would not read the password as one, or it is given twice: no oracle. */
static int
fuzz_usable(const struct fuzz_in *in)
{
	const char *pw = in->pw;

	if (strlen(pw) < 3 || !fuzz_distinct(pw))
		return 0; /* too short to scrub, or could be any text */
	if (strstr(in->rest, pw) != NULL || strstr(in->rest, "password") != NULL)
		return 0;
	if (in->form == 0)
		return strpbrk(pw, "@/") == NULL;
	if (in->form == 1)
		return strpbrk(pw, " \t\n\r\f\v'\\") == NULL;
	return 1;
}

static char *
fuzz_conninfo(const struct fuzz_in *in)
{
	size_t n = 2 * strlen(in->pw) + strlen(in->rest) + 32, o;
	char *ci = malloc(n);

	FUZZ_ASSERT(ci != NULL);
	if (in->form == 0) {
		snprintf(ci, n, "postgresql://u:%s@%s", in->pw, in->rest);
	} else if (in->form == 1) {
		snprintf(ci, n, "password=%s %s", in->pw, in->rest);
	} else {
		o = (size_t)snprintf(ci, n, "password='");
		for (const char *p = in->pw; *p != '\0'; p++) {
			if (*p == '\'' || *p == '\\')
				ci[o++] = '\\';
			ci[o++] = *p;
		}
		snprintf(ci + o, n - o, "' %s", in->rest);
	}
	return ci;
}

#define FUZZ_ECHOES 16

/* The message, with the first FUZZ_ECHOES \x01 replaced by the password. */
static char *
fuzz_message(const struct fuzz_in *in)
{
	size_t n = strlen(in->msg) + FUZZ_ECHOES * strlen(in->pw) + 1, o = 0;
	char *m = malloc(n);
	int echoes = 0;

	FUZZ_ASSERT(m != NULL);
	for (const char *p = in->msg; *p != '\0'; p++) {
		if (*p == '\x01' && echoes++ < FUZZ_ECHOES) {
			memcpy(m + o, in->pw, strlen(in->pw));
			o += strlen(in->pw);
		} else {
			m[o++] = *p;
		}
	}
	m[o] = '\0';
	return m;
}

static int
fuzz_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The password percent-decoded, as a URI gives it to libpq; NULL when it cannot be. */
static char *
fuzz_decoded(const char *pw)
{
	char *d = fuzz_strndup((const uint8_t *)pw, strlen(pw)), *o = d;
	int hi, lo;

	for (const char *p = pw; *p != '\0'; p++) {
		if (*p != '%') {
			*o++ = *p;
			continue;
		}
		if ((hi = fuzz_hex(p[1])) < 0 || (lo = fuzz_hex(p[2])) < 0 ||
		    (hi == 0 && lo == 0)) {
			free(d);
			return NULL;
		}
		*o++ = (char)(hi << 4 | lo);
		p += 2;
	}
	*o = '\0';
	return d;
}

/* The password as libpq reads it from ci, if it parses. */
static char *
fuzz_libpq_password(const char *ci)
{
	PQconninfoOption *opts = PQconninfoParse(ci, NULL), *o;
	char *pw = NULL;

	for (o = opts; o != NULL && o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL)
			pw = fuzz_strndup((const uint8_t *)o->val, strlen(o->val));
	PQconninfoFree(opts);
	return pw;
}

static void
fuzz_no_secret(const char *out, const char *secret, int usable)
{
	if (!usable || secret == NULL || strlen(secret) < 3 || !fuzz_distinct(secret))
		return;
	if (strstr(out, secret) != NULL) {
		fprintf(stderr, "secret \"%s\" in \"%s\"\n", secret, out);
		FUZZ_ASSERT(strstr(out, secret) == NULL);
	}
}

/* Every input runs (crashes, hangs); the secret is checked where it is one. */
static void
fuzz_run(const struct fuzz_in *in, int usable)
{
	char *ci = fuzz_conninfo(in), *msg = fuzz_message(in);
	char *dec = in->form == 0 ? fuzz_decoded(in->pw) : NULL, *lib;
	char err[PGCONN_MSG_MAX], out[PGCONN_MSG_MAX];

	err[0] = '\0';
	if (pgconn_check_conninfo(ci, err, sizeof(err)) != 0) {
		FUZZ_ASSERT(strncmp(err, "database_url: ", 14) == 0);
		fuzz_no_secret(err, in->pw, usable);
		fuzz_no_secret(err, dec, usable);
	}
	pgconn_clean_message(out, sizeof(out), msg, ci);
	FUZZ_ASSERT(strpbrk(out, "\n\r") == NULL);
	fuzz_no_secret(out, in->pw, usable);
	fuzz_no_secret(out, dec, usable);
	lib = fuzz_libpq_password(ci);
	fuzz_no_secret(out, lib, usable);
	free(lib);
	/* the driver also reads the SQLSTATE of an error */
	FUZZ_ASSERT(pgconn_map_sqlstate(in->rest) < STORE_ERR_COUNT);
	free(dec);
	free(msg);
	free(ci);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* pgconn_clean_message also hides $PGPASSWORD: none here, the oracle knows its own. */
	unsetenv("PGPASSWORD");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in;

	if (size < 1)
		return 0;
	in.form = data[0] % 3;
	data++;
	size--;
	in.pw = fuzz_piece(&data, &size);
	in.rest = fuzz_piece(&data, &size);
	in.msg = fuzz_piece(&data, &size);
	fuzz_run(&in, fuzz_usable(&in));
	free(in.pw);
	free(in.rest);
	free(in.msg);
	return 0;
}
