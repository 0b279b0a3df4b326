/*
 * log.h - one line per event, to stderr or syslog(3).
 *
 * Every line carries the time, the level and the module; request-scoped
 * lines (log_req) also carry the request id, the application and any extra
 * fields, such as the SIP Call-ID of a SUBSCRIBE the request caused. Two
 * formats (log.format): logfmt, key=value pairs where a value with blanks,
 * quotes or control characters is quoted and escaped,
 *
 *   ts=2026-12-05T10:00:00.123Z level=info module=watch req=4f0c... app=acme msg="watch: fetch" call_id=...
 *
 * and json, one JSON object per line (jansson), with the same keys. Either
 * way one event is one line of at most LOG_LINE_MAX bytes (long values are
 * cut, marked "..."): a client-chosen value cannot split or forge a line.
 *
 * The module is the message's leading "word:" (lower-case letters, digits,
 * '_'): log_info("watch: ...") is module=watch; a message without one is
 * module=main. The message text is kept whole, prefix included.
 */
#ifndef PXTSGW_LOG_H
#define PXTSGW_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };
enum log_format { LOG_FMT_LOGFMT = 0, LOG_FMT_JSON };
enum log_target { LOG_TO_STDERR = 0, LOG_TO_SYSLOG };

#define LOG_LINE_MAX 4096   /* one line, newline included */
#define LOG_REQ_MAX 64      /* a request id's characters at most */

/* Parses "error|warn|info|debug"; returns -1 if unknown. */
int log_level_parse(const char *s);
void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* "logfmt|json" and "stderr|syslog"; -1 if unknown. */
int log_format_parse(const char *s);
int log_target_parse(const char *s);
/* Any thread; a switch to syslog opens it (ident pxtsgw, facility daemon). */
void log_set_format(enum log_format f);
void log_set_target(enum log_target t);

/* What ties a line to one HTTP request; either pointer may be NULL or "". */
struct log_ctx {
	const char *req;    /* the request id */
	const char *app;    /* the application ("" anonymous) */
};

/* An extra field: key is a constant of [a-z_]; val any text (NULL: left out). */
struct log_kv {
	const char *key;
	const char *val;
};

void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A request-scoped line: ctx's id and application, then msg, then the n
 * fields of kv. */
void log_req(enum log_level lvl, const struct log_ctx *ctx, const struct log_kv *kv, size_t n,
	     const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) do { if (log_get_level() >= LOG_DEBUG) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)
#define log_enabled(lvl) ((int)(lvl) <= (int)log_get_level())

/* Formats one line (newline included, NUL-terminated) into buf, which
 * must hold LOG_LINE_MAX + 1 bytes; ts is the time as text. Returns its
 * length. For the tests; log_msg and log_req use it. */
size_t log_format_line(char *buf, enum log_format fmt, const char *ts, enum log_level lvl,
		       const struct log_ctx *ctx, const struct log_kv *kv, size_t n,
		       const char *msg);

/* The module of a message: its leading word before ':' (out holds 24
 * bytes), or "main". */
void log_module_of(const char *msg, char out[24]);

/* Whether a client's X-Request-Id can be used as it is: 1..LOG_REQ_MAX
 * characters of [A-Za-z0-9._:-]. */
bool log_req_id_ok(const char *s);
/* A new request id: 16 random hex digits. */
void log_req_id_new(char out[LOG_REQ_MAX + 1]);

#endif
