/* log.h - leveled logging to stderr or syslog, in the OpenBSD log.c style. */
#ifndef SIM_LOG_H
#define SIM_LOG_H

#include <stdarg.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

/*
 * The logger is the one piece of process-wide state in lib/: the process has
 * one stderr and one syslog connection, so a context struct would only be a
 * pretence.  log_init() sets where messages go; everything else is read-only.
 */
void log_init(const char *ident, int to_syslog, enum log_level level);
void log_set_level(enum log_level level);
/*
 * Sends messages to path (appended; NULL or "" goes back to stderr/syslog).
 * 0, or -1 with a message (the current destination is kept).
 */
int log_set_file(const char *path, char *err, size_t errlen);
/* Reopens the log file under its name (after logrotate moved it); 0 when there is none. */
int log_reopen(char *err, size_t errlen);
int log_to_file(void);
enum log_level log_get_level(void);
int log_level_parse(const char *name, enum log_level *out);
const char *log_level_name(enum log_level level);

void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2); /* appends strerror(errno) */
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_agent(enum log_level level, const char *agent_id, const char *fmt, ...) LOG_PRINTF(3, 4);
void fatal(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));
void fatalx(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));
void log_vmsg(enum log_level level, int with_errno, const char *fmt, va_list ap) LOG_PRINTF(3, 0);

#endif
