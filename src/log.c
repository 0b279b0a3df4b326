/*
 * log.c - one line per event (log.h): logfmt or JSON, to stderr or syslog.
 *
 * Every thread logs; the level, format and target are atomics a reload
 * (main thread) changes. A line is formatted on the caller's stack and
 * written with one write(2) (or one syslog(3) call), so lines of threads
 * do not interleave.
 */
#include <syslog.h>

/* syslog.h's priorities, before log.h's enum reuses two of their names */
static const int sys_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
#undef LOG_INFO
#undef LOG_DEBUG

#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

static atomic_int cur_level = LOG_INFO;
static atomic_int cur_format = LOG_FMT_LOGFMT;
static atomic_int cur_target = LOG_TO_STDERR;

void recent_add(int level, const char *text) __attribute__((weak));   /* recent.c, for /status */

static const char *const names[] = { "error", "warn", "info", "debug" };

#define MSG_MAX 2048        /* a message's bytes before escaping */
#define VAL_MAX 256         /* any other value's */
#define KV_MAX 16           /* extra fields of one line */

int log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

void log_set_level(enum log_level lvl)
{
	atomic_store_explicit(&cur_level, (int)lvl, memory_order_relaxed);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load_explicit(&cur_level, memory_order_relaxed);
}

int log_format_parse(const char *s)
{
	if (strcmp(s, "logfmt") == 0)
		return LOG_FMT_LOGFMT;
	if (strcmp(s, "json") == 0)
		return LOG_FMT_JSON;
	return -1;
}

int log_target_parse(const char *s)
{
	if (strcmp(s, "stderr") == 0)
		return LOG_TO_STDERR;
	if (strcmp(s, "syslog") == 0)
		return LOG_TO_SYSLOG;
	return -1;
}

void log_set_format(enum log_format f)
{
	atomic_store_explicit(&cur_format, (int)f, memory_order_relaxed);
}

void log_set_target(enum log_target t)
{
	int old = atomic_exchange(&cur_target, (int)t);

	if (t == LOG_TO_SYSLOG && old != LOG_TO_SYSLOG)
		openlog("pxtsgw", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* --- text --------------------------------------------------------------- */

/* The length of the valid UTF-8 sequence at s (n bytes left), 0 if the
 * byte there starts none (overlong forms, surrogates and code points above
 * U+10FFFF are invalid, as JSON needs). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		len = 2, cp = s[0] & 0x1F;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		len = 3, cp = s[0] & 0x0F;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/* How many of s's first bytes to take so that at most max are taken
 * without cutting a UTF-8 sequence; *cut tells whether any were left. */
static size_t take(const char *s, size_t max, bool *cut)
{
	size_t n = strlen(s);

	*cut = n > max;
	if (!*cut)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

void log_module_of(const char *msg, char out[24])
{
	size_t i = 0;

	if (msg[0] >= 'a' && msg[0] <= 'z') {
		while (i < 23 && ((msg[i] >= 'a' && msg[i] <= 'z') || (msg[i] >= '0' && msg[i] <= '9') ||
				  msg[i] == '_'))
			i++;
		if (msg[i] == ':' && (msg[i + 1] == ' ' || msg[i + 1] == '\0')) {
			memcpy(out, msg, i);
			out[i] = '\0';
			return;
		}
	}
	strcpy(out, "main");
}

/* An output buffer that remembers it ran out of room. */
struct out {
	char *p;
	size_t len, cap;
	bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->full || n > o->cap - o->len) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* logfmt: a value is bare unless it is empty or has a blank, '=', '"',
 * '\\', a control character or a byte that is not UTF-8. */
static bool bare(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n;) {
		unsigned char ch = (unsigned char)s[i];
		size_t l;

		if (ch <= ' ' || ch == '=' || ch == '"' || ch == '\\' || ch == 0x7F)
			return false;
		if (ch < 0x80) {
			i++;
			continue;
		}
		l = utf8_len((const unsigned char *)s + i, n - i);
		if (l == 0)
			return false;
		i += l;
	}
	return true;
}

/* key=value, the value's first max bytes, quoted and escaped as Go's
 * strconv.Quote does (\" \\ \n \r \t, \xNN for the other control bytes and
 * bytes that are not UTF-8). */
static void put_kv(struct out *o, const char *key, const char *val, size_t max)
{
	bool cut;
	size_t n = take(val, max, &cut);

	if (o->len)
		put(o, " ", 1);
	puts_(o, key);
	put(o, "=", 1);
	if (!cut && bare(val, n)) {
		put(o, val, n);
		return;
	}
	put(o, "\"", 1);
	for (size_t i = 0; i < n;) {
		unsigned char ch = (unsigned char)val[i];
		size_t l;
		char esc[5];

		if (ch >= ' ' && ch < 0x7F && ch != '"' && ch != '\\') {
			/* a run of plain ASCII at once */
			size_t j = i + 1;

			while (j < n && (unsigned char)val[j] >= ' ' && (unsigned char)val[j] < 0x7F &&
			       val[j] != '"' && val[j] != '\\')
				j++;
			put(o, val + i, j - i);
			i = j;
			continue;
		}
		l = ch >= 0x80 ? utf8_len((const unsigned char *)val + i, n - i) : 1;
		if (l > 1) {
			put(o, val + i, l);
			i += l;
			continue;
		}
		i++;
		switch (ch) {
		case '"': put(o, "\\\"", 2); break;
		case '\\': put(o, "\\\\", 2); break;
		case '\n': put(o, "\\n", 2); break;
		case '\r': put(o, "\\r", 2); break;
		case '\t': put(o, "\\t", 2); break;
		default:
			snprintf(esc, sizeof(esc), "\\x%02x", ch);
			put(o, esc, 4);
		}
	}
	if (cut)
		put(o, "...", 3);
	put(o, "\"", 1);
}

static bool set(const char *s)
{
	return s && s[0];
}

/* One line's fields, in their order, each given to field (either
 * format's writer of one key and value of at most max bytes). */
typedef void (field_fn)(void *sink, const char *key, const char *val, size_t max);

static void each_field(field_fn *field, void *sink, const char *ts, enum log_level lvl,
		       const char *module, const struct log_ctx *ctx, const struct log_kv *kv,
		       size_t n, const char *msg, size_t msg_max, size_t val_max)
{
	field(sink, "ts", ts, VAL_MAX);
	field(sink, "level", names[lvl], VAL_MAX);
	field(sink, "module", module, VAL_MAX);
	if (ctx && set(ctx->req))
		field(sink, "req", ctx->req, val_max);
	if (ctx && set(ctx->app))
		field(sink, "app", ctx->app, val_max);
	field(sink, "msg", msg, msg_max);
	for (size_t i = 0; i < n; i++)
		if (kv[i].val)
			field(sink, kv[i].key, kv[i].val, val_max);
}

static void logfmt_field(void *o, const char *key, const char *val, size_t max)
{
	put_kv(o, key, val, max);
}

static bool logfmt_line(struct out *o, const char *ts, enum log_level lvl, const char *module,
			const struct log_ctx *ctx, const struct log_kv *kv, size_t n,
			const char *msg, size_t msg_max, size_t val_max)
{
	each_field(logfmt_field, o, ts, lvl, module, ctx, kv, n, msg, msg_max, val_max);
	put(o, "\n", 1);
	return !o->full;
}

/* A JSON string of val's first max bytes: bytes that are not UTF-8 become
 * U+FFFD, a cut value ends in "...". NULL when memory is short. */
static json_t *json_text(const char *val, size_t max)
{
	char buf[MSG_MAX * 3 + 4];
	bool cut;
	size_t n = take(val, max, &cut), len = 0;

	for (size_t i = 0; i < n && len + 6 < sizeof(buf);) {
		size_t l = utf8_len((const unsigned char *)val + i, n - i);

		if (l == 0) {
			memcpy(buf + len, "\xEF\xBF\xBD", 3);
			len += 3;
			i++;
		} else {
			memcpy(buf + len, val + i, l);
			len += l;
			i += l;
		}
	}
	if (cut) {
		memcpy(buf + len, "...", 3);
		len += 3;
	}
	return json_stringn(buf, len);
}

static void json_put(void *obj, const char *key, const char *val, size_t max)
{
	json_t *s = json_text(val, max);

	if (s)
		json_object_set_new(obj, key, s);
}

static bool json_line(struct out *o, const char *ts, enum log_level lvl, const char *module,
		      const struct log_ctx *ctx, const struct log_kv *kv, size_t n,
		      const char *msg, size_t msg_max, size_t val_max)
{
	json_t *obj = json_object();
	size_t len;

	if (!obj) {
		puts_(o, "{\"msg\":\"log: out of memory\"}\n");
		return true;
	}
	each_field(json_put, obj, ts, lvl, module, ctx, kv, n, msg, msg_max, val_max);
	len = json_dumpb(obj, o->p, o->cap, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (len == 0 || len >= o->cap) {
		o->full = true;
		return false;
	}
	o->len = len;
	put(o, "\n", 1);
	return !o->full;
}

size_t log_format_line(char *buf, enum log_format fmt, const char *ts, enum log_level lvl,
		       const struct log_ctx *ctx, const struct log_kv *kv, size_t n,
		       const char *msg)
{
	char module[24];
	size_t msg_max = MSG_MAX, val_max = VAL_MAX;

	if ((unsigned)lvl > LOG_DEBUG)
		lvl = LOG_ERROR;
	if (n > KV_MAX)
		n = KV_MAX;
	log_module_of(msg, module);
	/* too long: cut the message, then every value, until it fits */
	for (;;) {
		struct out o = { .p = buf, .cap = LOG_LINE_MAX };
		bool ok = fmt == LOG_FMT_JSON ?
			json_line(&o, ts, lvl, module, ctx, kv, n, msg, msg_max, val_max) :
			logfmt_line(&o, ts, lvl, module, ctx, kv, n, msg, msg_max, val_max);

		if (ok) {
			buf[o.len] = '\0';
			return o.len;
		}
		if (msg_max > 64)
			msg_max /= 2;
		else if (val_max > 8)
			val_max /= 2;
		else if (msg_max > 0)
			msg_max /= 2;
		else {
			strcpy(buf, "log: line too long\n");
			return strlen(buf);
		}
	}
}

/* --- writing ------------------------------------------------------------ */

static void emit(enum log_level lvl, const struct log_ctx *ctx, const struct log_kv *kv, size_t n,
		 const char *msg)
{
	char line[LOG_LINE_MAX + 1], ts[40];
	struct timeval tv;
	struct tm tm;
	size_t len, k;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	k = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + k, sizeof(ts) - k, ".%03dZ", (int)(tv.tv_usec / 1000));
	len = log_format_line(line, (enum log_format)atomic_load_explicit(&cur_format,
									  memory_order_relaxed),
			      ts, lvl, ctx, kv, n, msg);
	if (lvl <= LOG_WARN && recent_add) {
		/* /status shows the event for people: time, level, message */
		char text[MSG_MAX + 64];

		snprintf(text, sizeof(text), "%s %-5s %s", ts, names[lvl], msg);
		recent_add((int)lvl, text);
	}
	if (atomic_load_explicit(&cur_target, memory_order_relaxed) == LOG_TO_SYSLOG) {
		line[len - 1] = '\0';
		syslog(sys_prio[lvl], "%s", line);
		return;
	}
	/* one write per line; a short write (a pipe) goes on */
	for (size_t off = 0; off < len;) {
		ssize_t w = write(STDERR_FILENO, line + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
}

/* vsnprintf into msg (MSG_MAX + 1 bytes); a cut message ends in "...". */
static void format_msg(char *msg, const char *fmt, va_list ap)
{
	int n = vsnprintf(msg, MSG_MAX + 1, fmt, ap);

	if (n < 0)
		strcpy(msg, "log: bad format");
	else if (n > MSG_MAX)
		memcpy(msg + MSG_MAX - 3, "...", 4);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char msg[MSG_MAX + 1];
	va_list ap;

	if (!log_enabled(lvl))
		return;
	va_start(ap, fmt);
	format_msg(msg, fmt, ap);
	va_end(ap);
	emit(lvl, NULL, NULL, 0, msg);
}

void log_req(enum log_level lvl, const struct log_ctx *ctx, const struct log_kv *kv, size_t n,
	     const char *fmt, ...)
{
	char msg[MSG_MAX + 1];
	va_list ap;

	if (!log_enabled(lvl))
		return;
	va_start(ap, fmt);
	format_msg(msg, fmt, ap);
	va_end(ap);
	emit(lvl, ctx, kv, n, msg);
}

/* --- request ids -------------------------------------------------------- */

bool log_req_id_ok(const char *s)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; s[n]; n++) {
		char ch = s[n];

		if (n >= LOG_REQ_MAX)
			return false;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '.' || ch == '_' || ch == ':' || ch == '-'))
			return false;
	}
	return n > 0;
}

/* Request ids: splitmix64 over a per-thread counter that starts at a
 * random point (one getrandom per thread, not per request): a bijection,
 * so one thread never repeats an id, and threads start far apart. */
void log_req_id_new(char out[LOG_REQ_MAX + 1])
{
	static const char hex[] = "0123456789abcdef";
	static atomic_ulong seq;
	static _Thread_local uint64_t state;
	static _Thread_local bool seeded;
	uint64_t z;

	if (!seeded) {
		if (getrandom(&state, sizeof(state), GRND_NONBLOCK) != (ssize_t)sizeof(state))
			/* no entropy yet (early boot): time and a counter */
			state = (uint64_t)time(NULL) << 24 ^ (uint64_t)atomic_fetch_add(&seq, 1) << 48;
		seeded = true;
	}
	z = (state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	for (int i = 0; i < 16; i++)
		out[i] = hex[(z >> (60 - 4 * i)) & 15];
	out[16] = '\0';
}
