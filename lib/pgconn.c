/*
 * pgconn.c - one libpq connection on the libevent loop (see pgconn.h).
 *
 * The connection is a small state machine: CONNECTING (PQconnectPoll steered
 * by socket readiness, under our own timer because libpq only enforces
 * connect_timeout in its blocking calls), IDLE, BUSY (a job: statements sent,
 * the output flushed as the socket allows, results consumed as they arrive) and
 * BROKEN.  The driver's statements are prepared by a first job run before the
 * connect callback (`owed_connect' says that callback is still due).
 * Completion always goes through the deferred queue (defer.h) so that no callback runs
 * inside pgconn_connect() or pgconn_exec().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/event.h>

#include "sim/defer.h"
#include "sim/log.h"
#include "sim/pgconn.h"

enum pgconn_state { PGC_CONNECTING, PGC_IDLE, PGC_BUSY, PGC_BROKEN };
enum pgconn_phase { PH_RUN, PH_ROLLBACK };
enum pgconn_pending { PEND_NONE, PEND_CONNECT, PEND_EXEC };

struct pgconn {
	struct event_base *base;
	PGconn *pg;
	struct event *io;
	struct event *timer;
	struct defer *defer;
	struct defer_entry complete;
	int io_fd;
	short io_flags;
	enum pgconn_state state;
	int owed_connect;
	struct pgconn_opts opts;

	pgconn_connect_fn connect_cb;
	void *connect_arg;

	/* the job */
	const struct pgstmt *st;
	const unsigned char *sync; /* PGCONN_SYNC or _COMMIT after statement i, or NULL */
	int n, sent, recv;
	int pipelined;
	int syncs, synced; /* syncs sent in the pipeline, and come back */
	int ok_upto;       /* statements in for good (see pgconn_ok_upto) */
	int waits;         /* round trips the job waited for */
	enum pgconn_phase phase;
	pgconn_result_fn res;
	pgconn_done_fn done;
	void *arg;

	enum pgconn_pending pending;
	enum store_err err;
	char msg[PGCONN_MSG_MAX];

	pgconn_lost_fn lost;
	void *lost_arg;
	pgconn_notify_fn notify;
	void *notify_arg;
	void *owner;
};

static void pgconn_io_cb(evutil_socket_t fd, short what, void *arg);
static void pgconn_exec_step(struct pgconn *c, short what);
static void pgconn_prepared(void *arg, enum store_err err, const char *msg);
static void pgconn_completed(struct defer_entry *e);

static const struct pgstmt pgconn_rollback = { PGSTMT_PARAMS, "rollback", "ROLLBACK", 0, NULL };

enum store_err
pgconn_map_sqlstate(const char *s)
{
	static const char *const conn[] = { "57P01", "57P02", "57P03", "53300", NULL };
	static const char *const busy[] = { "40001", "40P01", "55P03", NULL };
	size_t i;

	if (s == NULL)
		return STORE_ERR_QUERY;
	if (strncmp(s, "08", 2) == 0)
		return STORE_ERR_CONNECT;
	for (i = 0; conn[i] != NULL; i++)
		if (strcmp(s, conn[i]) == 0)
			return STORE_ERR_CONNECT;
	for (i = 0; busy[i] != NULL; i++)
		if (strcmp(s, busy[i]) == 0)
			return STORE_ERR_BUSY;
	if (strcmp(s, "57014") == 0)
		return STORE_ERR_TIMEOUT;
	if (strcmp(s, PGCONN_SQLSTATE_FENCED) == 0)
		return STORE_ERR_FENCED;
	return STORE_ERR_QUERY;
}

/* Replaces every occurrence of secret (slen bytes, NUL-terminated) in buf by "***". */
static void
pgconn_scrub(char *buf, const char *secret, size_t slen)
{
	char *p;

	if (slen < 3)
		return; /* too short to tell from ordinary text; libpq never echoes it anyway */
	if (strcmp(secret, "***") == 0)
		return; /* the mask itself: replacing it would never end */
	while ((p = strstr(buf, secret)) != NULL) {
		size_t rest = strlen(p + slen) + 1;

		memmove(p + 3, p + slen, rest); /* the text only shrinks: slen >= 3 */
		memcpy(p, "***", 3);
	}
}

/* The same for n bytes of s; when no copy can be made, nothing of buf is left. */
static void
pgconn_scrub_n(char *buf, const char *s, size_t n)
{
	char *secret = strndup(s, n);

	if (secret == NULL) {
		buf[0] = '\0';
		return;
	}
	pgconn_scrub(buf, secret, n);
	free(secret);
}

/*
 * The raw password of a URI's userinfo ("user:pw@"), if any.  As libpq reads
 * it: the userinfo ends at the first '@' before any '/', and may hold '?'.
 */
static void
pgconn_uri_password(const char *conninfo, const char **pw, size_t *pwlen)
{
	const char *p = strstr(conninfo, "://"), *at, *colon;

	*pw = NULL;
	*pwlen = 0;
	if (p == NULL)
		return;
	p += 3;
	at = p + strcspn(p, "@/");
	if (*at != '@')
		return;
	colon = memchr(p, ':', (size_t)(at - p));
	if (colon != NULL) {
		*pw = colon + 1;
		*pwlen = (size_t)(at - colon - 1);
	}
}

/* Copies msg to out as one line: whitespace runs become one space, no trailing space. */
static void
pgconn_one_line(char *out, size_t len, const char *msg)
{
	size_t o = 0;
	int space = 0;

	for (; *msg != '\0' && o + 1 < len; msg++) {
		if (*msg == '\n' || *msg == '\t' || *msg == '\r' || *msg == ' ') {
			space = o > 0;
			continue;
		}
		if (space && o + 2 < len)
			out[o++] = ' ';
		space = 0;
		out[o++] = *msg;
	}
	out[o] = '\0';
}

/* Whether text[0..end) holds the line line[0..n) (without its newline). */
static int
pgconn_has_line(const char *text, size_t end, const char *line, size_t n)
{
	size_t at = 0, len;

	while (at < end) {
		const char *nl = memchr(text + at, '\n', end - at);

		len = nl != NULL ? (size_t)(nl - (text + at)) : end - at;
		if (len == n && memcmp(text + at, line, n) == 0)
			return 1;
		at += len + 1;
	}
	return 0;
}

/* libpq repeats itself (one line per attempt: SSL, then without): keep each line once. */
static void
pgconn_dedup_lines(char *buf)
{
	char *line = buf, *out = buf, *nl;
	size_t n, len;

	while (*line != '\0') {
		nl = strchr(line, '\n');
		len = nl != NULL ? (size_t)(nl - line) : strlen(line);
		n = nl != NULL ? len + 1 : len;
		if (!pgconn_has_line(buf, (size_t)(out - buf), line, len)) {
			memmove(out, line, n);
			out += n;
		}
		line += n;
	}
	*out = '\0';
}

/*
 * Quoted tokens of a message about a string we could not parse may be pieces
 * of it.  "..." is longer than a token of 0-2 bytes: a text that would then
 * overflow buf (len bytes) is cut.
 */
static void
pgconn_elide_quoted(char *buf, size_t len)
{
	char *p = buf, *q;
	size_t tail, room;

	while ((p = strchr(p, '"')) != NULL && (q = strchr(p + 1, '"')) != NULL) {
		tail = strlen(q) + 1;
		room = len - (size_t)(p - buf);
		if (room <= 4) {
			*p = '\0';
			return;
		}
		if (tail > room - 4) {
			tail = room - 4;
			q[tail - 1] = '\0';
		}
		memmove(p + 4, q, tail);
		memcpy(p, "\"...", 4);
		p += 5;
		if (p >= buf + len - 1 || p[-1] != '"')
			return;
	}
}

static size_t pgconn_secret_spans(const char *ci, size_t span[][2], size_t max);

/* A quoted conninfo value as libpq reads it: \x is x. */
static void
pgconn_unescape(char *s)
{
	char *o = s;

	for (; *s != '\0'; s++) {
		if (*s == '\\' && s[1] != '\0')
			s++;
		*o++ = *s;
	}
	*o = '\0';
}

/* A conninfo libpq cannot parse names no password for it: hide what looks like one. */
static void
pgconn_scrub_spans(char *buf, const char *conninfo)
{
	size_t span[8][2], n = pgconn_secret_spans(conninfo, span, 8), i, at, sl;
	char *secret;
	int quoted;

	for (i = 0; i < n; i++) {
		at = span[i][0];
		sl = span[i][1];
		if ((quoted = sl > 0 && conninfo[at] == '\'')) {
			at++, sl--; /* the quoted text, without its quotes */
			if (sl > 0 && conninfo[at + sl - 1] == '\'')
				sl--;
		}
		if ((secret = strndup(conninfo + at, sl)) == NULL) {
			buf[0] = '\0';
			return;
		}
		pgconn_scrub(buf, secret, sl);
		if (quoted) {
			pgconn_unescape(secret);
			pgconn_scrub(buf, secret, strlen(secret));
		} else if ((sl = strcspn(secret, " \t")) < strlen(secret)) {
			/* libpq reads an unquoted value up to a space: that word alone, too */
			secret[sl] = '\0';
			pgconn_scrub(buf, secret, sl);
		}
		free(secret);
	}
}

/*
 * Hides in buf the passwords conninfo gives: its URI's (raw and as libpq
 * decodes it), any password=, $PGPASSWORD.  0 when libpq cannot parse it.
 */
static int
pgconn_hide_secrets(char *buf, const char *conninfo)
{
	PQconninfoOption *opts, *o;
	const char *pw;
	size_t pwlen;

	pgconn_uri_password(conninfo, &pw, &pwlen);
	if (pw != NULL)
		pgconn_scrub_n(buf, pw, pwlen);
	opts = PQconninfoParse(conninfo, NULL);
	for (o = opts; o != NULL && o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL)
			pgconn_scrub(buf, o->val, strlen(o->val));
	PQconninfoFree(opts);
	if (opts == NULL)
		pgconn_scrub_spans(buf, conninfo);
	if ((pw = getenv("PGPASSWORD")) != NULL)
		pgconn_scrub(buf, pw, strlen(pw));
	return opts != NULL;
}

/*
 * The whole message is cleaned before it is cut to one line of len bytes (a
 * password cut in two would escape), and again after: joining its lines may
 * have spelled one.
 */
void
pgconn_clean_message(char *out, size_t len, const char *msg, const char *conninfo)
{
	char *raw;

	if (len == 0)
		return;
	if ((raw = strdup(msg != NULL ? msg : "")) == NULL) {
		pgconn_copy(out, len, "(message lost: out of memory)");
		return;
	}
	pgconn_dedup_lines(raw);
	if (conninfo != NULL)
		pgconn_hide_secrets(raw, conninfo);
	pgconn_one_line(out, len, raw);
	free(raw);
	if (conninfo != NULL && !pgconn_hide_secrets(out, conninfo))
		pgconn_elide_quoted(out, len);
}

/* The spans of conninfo that hold a password: a URI's userinfo, any password= value. */
static size_t
pgconn_secret_spans(const char *ci, size_t span[][2], size_t max)
{
	const char *pw, *p = ci, *v;
	/*
	 * '&' ends a value in a URI's query only: password=a&b is "a&b" otherwise,
	 * and libpq reads a URI only from its scheme at the start ("password=a&b
	 * postgresql://h" is key=value, whatever follows).
	 */
	const char *stop =
	    strncmp(ci, "postgresql://", 13) == 0 || strncmp(ci, "postgres://", 11) == 0 ? " \t&"
											 : " \t";
	size_t pwlen, n = 0;

	pgconn_uri_password(ci, &pw, &pwlen);
	if (pw != NULL && n < max) {
		span[n][0] = (size_t)(pw - ci);
		span[n++][1] = pwlen;
	}
	while ((p = strstr(p, "password")) != NULL && n < max) {
		v = p + 8;
		v += strspn(v, " \t");
		p += 8;
		if (*v != '=')
			continue;
		v++;
		v += strspn(v, " \t");
		if (*v == '\'') {
			const char *q = v + 1;
			while (*q != '\0' && *q != '\'')
				q += *q == '\\' && q[1] != '\0' ? 2 : 1;
			span[n][0] = (size_t)(v - ci);
			span[n++][1] = (size_t)(q - v) + (*q != '\0');
		} else {
			/*
			 * libpq ends the value at a space; a user who typed one meant it as
			 * part of the password, so the words up to the next key= are too.
			 */
			const char *q = v + strcspn(v, stop);
			while (*q == ' ' || *q == '\t') {
				const char *w = q + strspn(q, " \t");
				size_t wl = strcspn(w, stop);
				if (wl == 0 || memchr(w, '=', wl) != NULL)
					break;
				q = w + wl;
			}
			span[n][0] = (size_t)(v - ci);
			span[n++][1] = (size_t)(q - v);
		}
	}
	return n;
}

static int
pgconn_in_secret(size_t at, size_t len, size_t span[][2], size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (at < span[i][0] + span[i][1] && span[i][0] < at + len)
			return 1;
	return 0;
}

/*
 * libpq's parse errors quote the piece of the string they choke on: keep it, and
 * say where it is, unless it overlaps a password ("***" then).
 */
static void
pgconn_parse_error(char *out, size_t len, const char *msg, const char *ci)
{
	size_t span[8][2], nspan = pgconn_secret_spans(ci, span, 8), o = 0, pos = 0;
	const char *p = msg, *q, *at;
	int where = 0;

	while (*p != '\0' && o + 1 < len) {
		if (*p != '"' || (q = strchr(p + 1, '"')) == NULL) {
			out[o++] = *p == '\n' ? ' ' : *p;
			p++;
			continue;
		}
		size_t tlen = (size_t)(q - p - 1);
		char tok[256];
		snprintf(tok, sizeof(tok), "%.*s", (int)tlen, p + 1);
		at = tlen > 0 && tlen < sizeof(tok) ? strstr(ci, tok) : NULL;
		if (at != NULL && pgconn_in_secret((size_t)(at - ci), tlen, span, nspan)) {
			o += (size_t)snprintf(out + o, len - o, "\"***\"");
		} else if (tlen >= sizeof(tok)) {
			/* too long to look for: it may be a password */
			o += (size_t)snprintf(out + o, len - o, "\"...\"");
		} else {
			o += (size_t)snprintf(out + o, len - o, "\"%s\"", tok);
			if (at != NULL && !where &&
			    strcspn(tok,
				"abcdefghijklmnopqrstuvwxyz"
				"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") < tlen) {
				where = 1;
				pos = (size_t)(at - ci) + 1;
			}
		}
		if (o >= len)
			o = len - 1;
		p = q + 1;
	}
	while (o > 0 && (out[o - 1] == ' ' || out[o - 1] == '\n'))
		o--;
	out[o] = '\0';
	if (where && o + 1 < len)
		snprintf(out + o, len - o, " (at character %zu of database_url)", pos);
}

int
pgconn_check_conninfo(const char *ci, char *err, size_t errlen)
{
	PQconninfoOption *opts;
	const char *sep = strstr(ci, "://");
	char *perr = NULL, msg[512];
	size_t n;

	if (sep != NULL &&
	    (n = (size_t)(sep - ci)) ==
		strspn(ci,
		    "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.") &&
	    !((n == 10 && strncmp(ci, "postgresql", 10) == 0) ||
		(n == 8 && strncmp(ci, "postgres", 8) == 0))) {
		snprintf(err, errlen,
		    "database_url: unsupported scheme \"%.*s://\": simd speaks "
		    "PostgreSQL (postgresql://user@host:port/dbname, or a key=value string such "
		    "as \"host=db dbname=shop\"); leave it empty for the embedded SQLite store",
		    (int)(n > 32 ? 32 : n), ci);
		return -1;
	}
	if ((opts = PQconninfoParse(ci, &perr)) == NULL) {
		if (perr == NULL) {
			snprintf(err, errlen, "database_url: out of memory");
			return -1;
		}
		/* first the password as written: a quote in it would fool the token match */
		pgconn_scrub_spans(perr, ci);
		pgconn_parse_error(msg, sizeof(msg), perr, ci);
		PQfreemem(perr);
		snprintf(err, errlen, "database_url: %s", msg);
		return -1;
	}
	PQconninfoFree(opts);
	return 0;
}

static const char *
pgconn_opt(PQconninfoOption *opts, const char *key)
{
	for (; opts != NULL && opts->keyword != NULL; opts++)
		if (strcmp(opts->keyword, key) == 0 && opts->val != NULL && opts->val[0] != '\0')
			return opts->val;
	return NULL;
}

void
pgconn_describe(char *out, size_t len, const char *conninfo)
{
	PQconninfoOption *given, *defs;
	const char *host, *port, *db;
	char *perr = NULL;

	given = PQconninfoParse(conninfo != NULL ? conninfo : "", &perr);
	PQfreemem(perr);
	defs = PQconndefaults();
	host = pgconn_opt(given, "host");
	if (host == NULL)
		host = pgconn_opt(given, "hostaddr");
	if (host == NULL)
		host = pgconn_opt(defs, "host");
	port = pgconn_opt(given, "port");
	if (port == NULL)
		port = pgconn_opt(defs, "port");
	db = pgconn_opt(given, "dbname");
	if (db == NULL)
		db = pgconn_opt(defs, "dbname");
	if (db == NULL)
		db = pgconn_opt(given, "user");
	if (db == NULL)
		db = pgconn_opt(defs, "user");
	snprintf(out, len, "%s:%s/%s", host != NULL ? host : "localhost",
	    port != NULL ? port : "5432", db != NULL ? db : "?");
	PQconninfoFree(given);
	PQconninfoFree(defs);
}

static void
pgconn_notice(void *arg, const char *message)
{
	char line[256];

	pgconn_one_line(line, sizeof(line), message);
	log_debug("postgres: %s", line);
}

/* Waits for the socket to allow `flags'; the socket is re-read every time (libpq may
 * change it while connecting). */
static int
pgconn_wait(struct pgconn *c, short flags)
{
	int fd = PQsocket(c->pg);

	if (fd < 0)
		return -1;
	if (fd == c->io_fd && flags == c->io_flags && event_pending(c->io, flags, NULL))
		return 0;
	event_del(c->io);
	if (event_assign(c->io, c->base, fd, flags, pgconn_io_cb, c) != 0 ||
	    event_add(c->io, NULL) != 0)
		return -1;
	c->io_fd = fd;
	c->io_flags = flags;
	return 0;
}

static void
pgconn_stop_io(struct pgconn *c)
{
	event_del(c->io);
	c->io_flags = 0;
}

static void
pgconn_complete(struct pgconn *c, enum pgconn_pending what, enum store_err err, const char *msg)
{
	if (c->pending != PEND_NONE)
		return;
	c->pending = what;
	if (c->err == STORE_OK) {
		c->err = err;
		if (msg != NULL && msg != c->msg)
			snprintf(c->msg, sizeof(c->msg), "%s", msg);
	}
	defer_add(c->defer, &c->complete, pgconn_completed);
}

/* The connection is gone: note why (once) and finish whatever was running. */
static void
pgconn_broken(struct pgconn *c, const char *why)
{
	char line[sizeof(c->msg)];
	enum pgconn_state was = c->state;

	pgconn_clean_message(
	    line, sizeof(line), why != NULL ? why : PQerrorMessage(c->pg), c->opts.conninfo);
	if (line[0] == '\0')
		snprintf(line, sizeof(line), "connection lost");
	pgconn_stop_io(c);
	evtimer_del(c->timer);
	c->state = PGC_BROKEN;
	if (c->err != STORE_ERR_CONNECT) {
		c->err = STORE_ERR_CONNECT;
		snprintf(c->msg, sizeof(c->msg), "%s", line);
	}
	if (c->owed_connect)
		pgconn_complete(c, PEND_CONNECT, STORE_ERR_CONNECT, line);
	else if (was == PGC_BUSY)
		pgconn_complete(c, PEND_EXEC, STORE_ERR_CONNECT, line);
}

static void
pgconn_completed(struct defer_entry *e)
{
	struct pgconn *c = DEFER_OWNER(e, struct pgconn, complete);
	enum pgconn_pending p = c->pending;
	enum store_err err = c->err;

	c->pending = PEND_NONE;
	c->err = STORE_OK;
	if (p == PEND_CONNECT) {
		c->owed_connect = 0;
		if (err == STORE_OK)
			c->state = PGC_IDLE;
		c->connect_cb(c, err, err == STORE_OK ? NULL : c->msg, c->connect_arg);
	} else if (p == PEND_EXEC) {
		pgconn_done_fn done = c->done;

		if (c->state == PGC_BUSY)
			c->state = PGC_IDLE;
		c->st = NULL;
		done(c->arg, err, err == STORE_OK ? NULL : c->msg);
	}
}

/* Connected; the timer keeps running through the prepare step, if any. */
static void
pgconn_connected(struct pgconn *c)
{
	pgconn_stop_io(c);
	PQsetNoticeProcessor(c->pg, pgconn_notice, c);
	if (PQsetnonblocking(c->pg, 1) != 0) {
		pgconn_broken(c, NULL);
		return;
	}
	if (c->opts.nprepare == 0) {
		evtimer_del(c->timer);
		pgconn_complete(c, PEND_CONNECT, STORE_OK, NULL);
		return;
	}
	c->state = PGC_IDLE;
	pgconn_exec(c, c->opts.prepare, c->opts.nprepare, NULL, pgconn_prepared, c);
}

static void
pgconn_prepared(void *arg, enum store_err err, const char *msg)
{
	struct pgconn *c = arg;

	evtimer_del(c->timer);
	pgconn_complete(c, PEND_CONNECT, err, msg);
}

static void
pgconn_connect_step(struct pgconn *c)
{
	switch (PQconnectPoll(c->pg)) {
	case PGRES_POLLING_READING:
		if (pgconn_wait(c, EV_READ) != 0)
			pgconn_broken(c, NULL);
		break;
	case PGRES_POLLING_WRITING:
		if (pgconn_wait(c, EV_WRITE) != 0)
			pgconn_broken(c, NULL);
		break;
	case PGRES_POLLING_OK: pgconn_connected(c); break;
	default: pgconn_broken(c, NULL); break;
	}
}

/*
 * The timer guards connecting, then each job: a server that never answers
 * (stopped, or a statement stuck behind a lock with no server-side timeout)
 * costs the connection, never the loop.  The job fails as a timeout, which
 * the engine retries as any transient error.
 */
static void
pgconn_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pgconn *c = arg;
	char why[128];

	if (c->state == PGC_CONNECTING || c->owed_connect) {
		snprintf(why, sizeof(why), "timeout after %g s", c->opts.connect_timeout);
		pgconn_broken(c, why);
		return;
	}
	snprintf(why, sizeof(why),
	    "no answer from the server within statement_timeout (%g s) + %g s;"
	    " connection closed",
	    c->opts.statement_timeout, c->opts.timeout_grace);
	pgconn_broken(c, why);
	c->err = STORE_ERR_TIMEOUT; /* read when the deferred completion runs */
}

/* Arms the timer for a job, unless connecting owns it; 0, or -1 when it cannot. */
static int
pgconn_arm_job_timer(struct pgconn *c)
{
	double t = c->opts.statement_timeout + c->opts.timeout_grace;
	struct timeval tv;

	if (c->owed_connect || c->opts.statement_timeout <= 0)
		return 0;
	tv.tv_sec = (time_t)t;
	tv.tv_usec = (suseconds_t)((t - (double)tv.tv_sec) * 1e6);
	return evtimer_add(c->timer, &tv);
}

/* The notifications libpq has read so far, to their callback (or dropped). */
static void
pgconn_notifies(struct pgconn *c)
{
	PGnotify *n;

	while ((n = PQnotifies(c->pg)) != NULL) {
		if (c->notify != NULL)
			c->notify(c->notify_arg, n->relname, n->extra);
		PQfreemem(n);
	}
}

static void
pgconn_watch_step(struct pgconn *c)
{
	if (!PQconsumeInput(c->pg) || PQstatus(c->pg) == CONNECTION_BAD) {
		pgconn_stop_io(c);
		c->state = PGC_BROKEN;
		if (c->lost != NULL)
			c->lost(c, c->lost_arg);
		return;
	}
	pgconn_notifies(c);
}

static void
pgconn_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pgconn *c = arg;

	switch (c->state) {
	case PGC_CONNECTING: pgconn_connect_step(c); break;
	case PGC_BUSY: pgconn_exec_step(c, what); break;
	case PGC_IDLE: pgconn_watch_step(c); break;
	default: pgconn_stop_io(c); break;
	}
}

static struct pgconn *
pgconn_alloc(struct event_base *base, const struct pgconn_opts *o)
{
	struct pgconn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->base = base;
	c->opts = *o;
	c->io_fd = -1;
	c->io = event_new(base, -1, 0, pgconn_io_cb, c);
	c->timer = evtimer_new(base, pgconn_timeout_cb, c);
	c->defer = defer_new(base);
	if (c->io == NULL || c->timer == NULL || c->defer == NULL) {
		pgconn_free(c);
		return NULL;
	}
	return c;
}

struct pgconn *
pgconn_connect(
    struct event_base *base, const struct pgconn_opts *o, pgconn_connect_fn cb, void *arg)
{
	/* after dbname: ours wins over an application_name in the URL (report finds it) */
	const char *keys[] = { "dbname", "application_name", "client_encoding",
		o->hostaddr != NULL ? "hostaddr" : NULL, NULL };
	const char *vals[] = { o->conninfo, o->appname != NULL ? o->appname : "simd", "UTF8",
		o->hostaddr, NULL };
	struct pgconn *c = pgconn_alloc(base, o);
	struct timeval tv;

	if (c == NULL)
		return NULL;
	c->connect_cb = cb;
	c->connect_arg = arg;
	c->state = PGC_CONNECTING;
	c->owed_connect = 1;
	c->pg = PQconnectStartParams(keys, vals, 1);
	if (c->pg == NULL) {
		pgconn_free(c);
		return NULL;
	}
	if (PQstatus(c->pg) == CONNECTION_BAD) {
		pgconn_broken(c, NULL);
		return c;
	}
	tv.tv_sec = (time_t)o->connect_timeout;
	tv.tv_usec = (suseconds_t)((o->connect_timeout - (double)tv.tv_sec) * 1e6);
	if (evtimer_add(c->timer, &tv) != 0 || pgconn_wait(c, EV_WRITE) != 0)
		pgconn_broken(c, "cannot watch the connection's socket");
	return c;
}

void
pgconn_free(struct pgconn *c)
{
	if (c == NULL)
		return;
	if (c->io != NULL)
		event_free(c->io);
	if (c->timer != NULL)
		event_free(c->timer);
	defer_free(c->defer);
	if (c->pg != NULL)
		PQfinish(c->pg);
	free(c);
}

/* ---- jobs ---- */

static int
pgconn_send(struct pgconn *c, const struct pgstmt *s)
{
	switch (s->kind) {
	case PGSTMT_PARAMS:
		return PQsendQueryParams(c->pg, s->sql, s->nparams, NULL, s->params, NULL, NULL, 0);
	case PGSTMT_PREPARED:
		return PQsendQueryPrepared(c->pg, s->name, s->nparams, s->params, NULL, NULL, 0);
	case PGSTMT_PREPARE: return PQsendPrepare(c->pg, s->name, s->sql, 0, NULL);
	case PGSTMT_SIMPLE: return PQsendQuery(c->pg, s->sql);
	}
	return 0;
}

/*
 * A prepared statement missing, or there already, on a connection that
 * prepared each of its own once: the connection is shared behind our back.
 */
static const char *
pgconn_hint(const char *sqlstate)
{
	if (sqlstate == NULL || (strcmp(sqlstate, "26000") != 0 && strcmp(sqlstate, "42P05") != 0))
		return "";
	return " (likely a transaction-mode pooler, such as pgbouncer with pool_mode = transaction"
	       " or Supavisor on port 6543, in front of the server: set pg_prepared = no)";
}

static void
pgconn_job_error(struct pgconn *c, const PGresult *r)
{
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	const char *primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	const struct pgstmt *s = c->phase == PH_RUN && c->recv < c->n ? &c->st[c->recv] : NULL;
	char line[PGCONN_MSG_MAX - 240];

	if (c->err != STORE_OK)
		return; /* the first error is the one that matters */
	pgconn_clean_message(line, sizeof(line),
	    primary != NULL ? primary : PQresultErrorMessage(r), c->opts.conninfo);
	c->err = PQstatus(c->pg) == CONNECTION_BAD ? STORE_ERR_CONNECT : pgconn_map_sqlstate(state);
	if (c->err == STORE_ERR_FENCED) /* the server's line alone: the run's failure says it */
		snprintf(c->msg, sizeof(c->msg), "%s", line);
	else if (s != NULL && s->name != NULL)
		snprintf(c->msg, sizeof(c->msg), "%s [%s]%s", line, s->name, pgconn_hint(state));
	else
		snprintf(c->msg, sizeof(c->msg), "%s%s", line, pgconn_hint(state));
}

static void
pgconn_job_result(struct pgconn *c, PGresult *r)
{
	switch (PQresultStatus(r)) {
	case PGRES_TUPLES_OK:
	case PGRES_COMMAND_OK:
	case PGRES_EMPTY_QUERY:
		if (c->phase != PH_RUN || c->recv >= c->n)
			break;
		if (c->res != NULL)
			c->res(c->arg, c->recv, r);
		/* a commit point that committed: its transaction is in, sync or not */
		if (c->pipelined && c->err == STORE_OK && c->sync != NULL &&
		    c->sync[c->recv] == PGCONN_COMMIT && strcmp(PQcmdStatus(r), "COMMIT") == 0)
			c->ok_upto = c->recv + 1;
		break;
	case PGRES_FATAL_ERROR:
	case PGRES_BAD_RESPONSE:
		if (c->phase == PH_RUN)
			pgconn_job_error(c, r);
		break;
	default: break; /* pipeline aborted (error already noted), notices */
	}
}

/* All results are in: roll back what the error left open, or complete. */
static void
pgconn_job_end(struct pgconn *c)
{
#ifdef LIBPQ_HAS_PIPELINING
	if (c->pipelined && PQpipelineStatus(c->pg) != PQ_PIPELINE_OFF &&
	    PQexitPipelineMode(c->pg) != 1) {
		pgconn_broken(c, NULL);
		return;
	}
#endif
	c->pipelined = 0;
	if (c->phase == PH_RUN && PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
		c->phase = PH_ROLLBACK;
		c->waits++;
		if (!pgconn_send(c, &pgconn_rollback)) {
			pgconn_broken(c, NULL);
			return;
		}
		pgconn_exec_step(c, 0);
		return;
	}
	pgconn_stop_io(c);
	if (!c->owed_connect)
		evtimer_del(c->timer);
	pgconn_notifies(c); /* those that came with the job's results */
	pgconn_complete(c, PEND_EXEC, c->err, NULL);
}

/* A statement's results ended (non-pipelined): send the next one, or end. */
static int
pgconn_job_next(struct pgconn *c)
{
	if (c->phase == PH_ROLLBACK || c->err != STORE_OK || c->sent >= c->n) {
		pgconn_job_end(c);
		return 1;
	}
	if (!pgconn_send(c, &c->st[c->sent])) {
		pgconn_broken(c, NULL);
		return 1;
	}
	c->sent++;
	c->waits++;
	return 0;
}

/* Consumes the results that have arrived; 1 when the job is over. */
static int
pgconn_collect(struct pgconn *c)
{
	PGresult *r;

	for (;;) {
		if (PQstatus(c->pg) == CONNECTION_BAD) {
			pgconn_broken(c, NULL);
			return 1;
		}
		if (PQisBusy(c->pg))
			return 0;
		r = PQgetResult(c->pg);
		if (r == NULL) {
			c->recv++;
			if (c->pipelined)
				continue;
			if (c->phase == PH_RUN && c->err == STORE_OK)
				c->ok_upto = c->recv;
			if (pgconn_job_next(c))
				return 1;
			continue;
		}
#ifdef LIBPQ_HAS_PIPELINING
		if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			if (c->err == STORE_OK)
				c->ok_upto = c->recv;
			/* the server goes on after a failed transaction's sync: so do we */
			if (++c->synced < c->syncs)
				continue;
			pgconn_job_end(c);
			return 1;
		}
#endif
		pgconn_job_result(c, r);
		PQclear(r);
	}
}

static void
pgconn_exec_step(struct pgconn *c, short what)
{
	int f;

	if ((what & EV_READ) && !PQconsumeInput(c->pg)) {
		pgconn_broken(c, NULL);
		return;
	}
	if (PQflush(c->pg) < 0) {
		pgconn_broken(c, NULL);
		return;
	}
	if (pgconn_collect(c))
		return;
	/* Collecting may have sent the next statement: flush again for the wait. */
	f = PQflush(c->pg);
	if (f < 0) {
		pgconn_broken(c, NULL);
		return;
	}
	/* Read while writing too: the server may answer before it has read everything. */
	if (pgconn_wait(c, EV_READ | EV_PERSIST | (f == 1 ? EV_WRITE : 0)) != 0)
		pgconn_broken(c, NULL);
}

static int
pgconn_can_pipeline(const struct pgconn *c, const struct pgstmt *st, int n)
{
#ifdef LIBPQ_HAS_PIPELINING
	if (c->opts.no_pipeline || n < 2)
		return 0;
	for (int i = 0; i < n; i++)
		if (st[i].kind == PGSTMT_SIMPLE)
			return 0;
	return 1;
#else
	return 0;
#endif
}

/* Sends the whole job in one pipeline; 0, or -1 when the connection failed. */
static int
pgconn_send_pipeline(struct pgconn *c)
{
#ifdef LIBPQ_HAS_PIPELINING
	if (PQenterPipelineMode(c->pg) != 1)
		return -1;
	c->waits++;
	for (c->sent = 0; c->sent < c->n; c->sent++) {
		if (!pgconn_send(c, &c->st[c->sent]))
			return -1;
		if (c->sent < c->n - 1 && (c->sync == NULL || c->sync[c->sent] != PGCONN_SYNC))
			continue;
		if (PQpipelineSync(c->pg) != 1)
			return -1;
		c->syncs++;
	}
	return 0;
#else
	return -1;
#endif
}

void
pgconn_exec(struct pgconn *c, const struct pgstmt *st, int n, pgconn_result_fn res,
    pgconn_done_fn done, void *arg)
{
	pgconn_exec_syncs(c, st, NULL, n, res, done, arg);
}

void
pgconn_exec_syncs(struct pgconn *c, const struct pgstmt *st, const unsigned char *sync, int n,
    pgconn_result_fn res, pgconn_done_fn done, void *arg)
{
	if (c->pending != PEND_NONE || (c->state != PGC_IDLE && c->state != PGC_BROKEN))
		fatalx("pgconn_exec: connection in use"); /* a bug in the caller */
	c->st = st;
	c->sync = sync;
	c->n = n;
	c->sent = c->recv = 0;
	c->syncs = c->synced = c->ok_upto = c->waits = 0;
	c->phase = PH_RUN;
	c->res = res;
	c->done = done;
	c->arg = arg;
	c->err = STORE_OK;
	if (c->state == PGC_BROKEN) {
		pgconn_complete(c, PEND_EXEC, STORE_ERR_CONNECT,
		    c->msg[0] != '\0' ? c->msg : "connection lost");
		return;
	}
	c->state = PGC_BUSY;
	c->msg[0] = '\0';
	pgconn_stop_io(c);
	if (n == 0) {
		pgconn_complete(c, PEND_EXEC, STORE_OK, NULL);
		return;
	}
	if (pgconn_arm_job_timer(c) != 0) {
		pgconn_broken(c, "cannot arm the statement timer");
		return;
	}
	c->pipelined = pgconn_can_pipeline(c, st, n);
	if (c->pipelined ? pgconn_send_pipeline(c) != 0 : pgconn_job_next(c) != 0) {
		if (c->state == PGC_BUSY)
			pgconn_broken(c, NULL);
		return;
	}
	pgconn_exec_step(c, 0);
}

void
pgconn_watch(struct pgconn *c, pgconn_lost_fn lost, void *arg)
{
	c->lost = lost;
	c->lost_arg = arg;
	if (c->state == PGC_IDLE && pgconn_wait(c, EV_READ | EV_PERSIST) != 0) {
		c->state = PGC_BROKEN;
		pgconn_stop_io(c);
	}
}

void
pgconn_on_notify(struct pgconn *c, pgconn_notify_fn fn, void *arg)
{
	c->notify = fn;
	c->notify_arg = arg;
}

void
pgconn_unwatch(struct pgconn *c)
{
	c->lost = NULL;
	c->lost_arg = NULL;
	if (c->state == PGC_IDLE)
		pgconn_stop_io(c);
}

int
pgconn_ok_upto(const struct pgconn *c)
{
	return c->ok_upto;
}

int
pgconn_job_waits(const struct pgconn *c)
{
	return c->waits;
}

int
pgconn_ok(const struct pgconn *c)
{
	return c->state != PGC_BROKEN && c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK;
}

int
pgconn_busy(const struct pgconn *c)
{
	return c->state == PGC_CONNECTING || c->state == PGC_BUSY || c->owed_connect ||
	    c->pending != PEND_NONE;
}

void
pgconn_set_owner(struct pgconn *c, void *owner)
{
	c->owner = owner;
}

void *
pgconn_owner(const struct pgconn *c)
{
	return c->owner;
}

/* ---- start-up and shutdown: one connection on a private loop ---- */

struct pgsync {
	struct event_base *base;
	struct pgconn *c;
	pgconn_result_fn res; /* the caller's, for the running exec */
	void *res_arg;
	int done;
	enum store_err err;
	char msg[PGCONN_MSG_MAX];
};

static void
pgsync_finish(struct pgsync *s, enum store_err err, const char *msg)
{
	s->done = 1;
	s->err = err;
	snprintf(s->msg, sizeof(s->msg), "%s", msg != NULL ? msg : "");
	event_base_loopbreak(s->base);
}

static void
pgsync_connected(struct pgconn *c, enum store_err err, const char *msg, void *arg)
{
	pgsync_finish(arg, err, msg);
}

static void
pgsync_done(void *arg, enum store_err err, const char *msg)
{
	pgsync_finish(arg, err, msg);
}

static void
pgsync_result(void *arg, int idx, const PGresult *r)
{
	struct pgsync *s = arg;

	if (s->res != NULL)
		s->res(s->res_arg, idx, r);
}

/* Runs the private loop until the pending callback has run. */
static int
pgsync_wait(struct pgsync *s)
{
	int r;

	s->done = 0;
	while (!s->done) {
		r = event_base_dispatch(s->base);
		if (r < 0 || (r == 1 && !s->done))
			return -1; /* nothing left to wait for: a bug, not a hang */
	}
	return 0;
}

void
pgsync_close(struct pgsync *s)
{
	if (s == NULL)
		return;
	pgconn_free(s->c);
	if (s->base != NULL)
		event_base_free(s->base);
	free(s);
}

struct pgsync *
pgsync_open(const struct pgconn_opts *o, char *err, size_t errlen)
{
	struct pgsync *s = calloc(1, sizeof(*s));

	if (s == NULL || (s->base = event_base_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		pgsync_close(s);
		return NULL;
	}
	s->c = pgconn_connect(s->base, o, pgsync_connected, s);
	if (s->c == NULL || pgsync_wait(s) != 0) {
		snprintf(err, errlen, "out of memory");
		pgsync_close(s);
		return NULL;
	}
	if (s->err != STORE_OK) {
		snprintf(err, errlen, "%s", s->msg);
		pgsync_close(s);
		return NULL;
	}
	return s;
}

int
pgsync_exec(struct pgsync *s, const struct pgstmt *st, int n, pgconn_result_fn res, void *arg,
    enum store_err *kind, char *err, size_t errlen)
{
	s->res = res;
	s->res_arg = arg;
	pgconn_exec(s->c, st, n, pgsync_result, pgsync_done, s);
	if (pgsync_wait(s) != 0) {
		s->err = STORE_ERR_NOMEM;
		snprintf(s->msg, sizeof(s->msg), "event loop failed");
	}
	if (kind != NULL)
		*kind = s->err;
	if (s->err == STORE_OK)
		return 0;
	snprintf(err, errlen, "%s", s->msg);
	return -1;
}

int
pgsync_hostaddr(const struct pgsync *s, char *out, size_t len)
{
	PQconninfoOption *given;
	const char *host = PQhost(s->c->pg), *addr = PQhostaddr(s->c->pg), *h;
	char *perr = NULL;
	int many;

	if (host == NULL || addr == NULL || addr[0] == '\0' || host[0] == '/' ||
	    strcmp(host, addr) == 0 || strlen(addr) >= len)
		return -1; /* a socket, or an address already: nothing to pin */
	given = PQconninfoParse(s->c->opts.conninfo, &perr);
	PQfreemem(perr);
	h = pgconn_opt(given, "host");
	many = h != NULL && strchr(h, ',') != NULL; /* a list: libpq picks, keep it so */
	PQconninfoFree(given);
	if (many)
		return -1;
	memcpy(out, addr, strlen(addr) + 1);
	return 0;
}

int
pgconn_host_local(const char *host, const char *addr)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (host != NULL && host[0] == '/')
		return 1;
	if (addr == NULL || addr[0] == '\0')
		return 0;
	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, addr, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

int
pgsync_local(const struct pgsync *s)
{
	return pgconn_host_local(PQhost(s->c->pg), PQhostaddr(s->c->pg));
}

int
pgsync_backend_pid(const struct pgsync *s)
{
	return PQbackendPID(s->c->pg);
}

void
pgconn_copy(char *dst, size_t len, const char *src)
{
	size_t n = src != NULL ? strlen(src) : 0;

	if (n >= len)
		n = len - 1;
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}
