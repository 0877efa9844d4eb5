/* log.c - leveled logging to stderr or syslog. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "sim/log.h"
#include "sim/text.h"

/* The one piece of process-wide state in lib/ (see log.h). */
static struct {
	const char *ident;
	int to_syslog;
	enum log_level level;
	FILE *file; /* log_file: wins over stderr and syslog */
	char *path;
} log_state = { "simd", 0, LOG_LEVEL_INFO, NULL, NULL };

static const char *const level_names[] = { "error", "warn", "info", "debug" };
static const int syslog_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

void
log_init(const char *ident, int to_syslog, enum log_level level)
{
	log_state.ident = ident;
	log_state.to_syslog = to_syslog;
	log_state.level = level;
	if (to_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

static FILE *
log_fopen(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	FILE *f;

	if (fd < 0 || (f = fdopen(fd, "a")) == NULL) {
		snprintf(err, errlen, "log_file %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	return f;
}

int
log_set_file(const char *path, char *err, size_t errlen)
{
	FILE *f = NULL;
	char *copy = NULL;

	if (path != NULL && *path != '\0') {
		if ((copy = strdup(path)) == NULL) {
			snprintf(err, errlen, "log_file: out of memory");
			return -1;
		}
		if ((f = log_fopen(path, err, errlen)) == NULL) {
			free(copy);
			return -1;
		}
	}
	if (log_state.file != NULL)
		fclose(log_state.file);
	free(log_state.path);
	log_state.file = f;
	log_state.path = copy;
	return 0;
}

int
log_reopen(char *err, size_t errlen)
{
	char *path = log_state.path;
	int rc;

	if (path == NULL)
		return 0;
	log_state.path = NULL; /* log_set_file takes its own copy */
	rc = log_set_file(path, err, errlen);
	if (rc != 0)
		log_state.path = path; /* keep writing to the file still open */
	else
		free(path);
	return rc;
}

int
log_to_file(void)
{
	return log_state.file != NULL;
}

void
log_set_level(enum log_level level)
{
	log_state.level = level;
}

enum log_level
log_get_level(void)
{
	return log_state.level;
}

int
log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

const char *
log_level_name(enum log_level level)
{
	if ((unsigned)level >= sizeof(level_names) / sizeof(level_names[0]))
		return "?";
	return level_names[level];
}

void
log_vmsg(enum log_level level, int with_errno, const char *fmt, va_list ap)
{
	char msg[1024];
	int saved = errno;
	size_t n;

	if (level > log_state.level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	if (with_errno && n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(saved));
	text_unforge(msg); /* text from outside never starts a line of its own */
	if (log_state.file == NULL && log_state.to_syslog) {
		syslog(syslog_prio[level], "%s", msg);
	} else {
		FILE *out = log_state.file != NULL ? log_state.file : stderr;
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(out, "%s.%03ldZ %s[%s] %s\n", when, ts.tv_nsec / 1000000L, log_state.ident,
		    level_names[level], msg);
		if (out != stderr)
			fflush(out); /* a line is on disk when logrotate or tail looks */
	}
	errno = saved;
}

#define LOG_BODY(level, with_errno)                   \
	do {                                          \
		va_list ap;                           \
		va_start(ap, fmt);                    \
		log_vmsg(level, with_errno, fmt, ap); \
		va_end(ap);                           \
	} while (0)

void
log_warn(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, 1);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, 0);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_INFO, 0);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_DEBUG, 0);
}

static void
log_plain(enum log_level level, const char *fmt, ...)
{
	LOG_BODY(level, 0);
}

void
log_agent(enum log_level level, const char *agent_id, const char *fmt, ...)
{
	char buf[900];
	va_list ap;

	if (level > log_state.level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_plain(level, "%s: %s", agent_id, buf);
}

void
fatal(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, 1);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, 0);
	exit(1);
}
