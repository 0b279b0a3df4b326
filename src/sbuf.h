/*
 * sbuf.h - a growable string buffer with a size cap, for building JSON and
 * other text answers. Once an append fails (out of memory, or past the
 * cap) the buffer is marked failed and further appends do nothing, so the
 * caller checks once, at the end.
 */
#ifndef PXTSGW_SBUF_H
#define PXTSGW_SBUF_H

#include <stdbool.h>
#include <stddef.h>

struct sbuf {
	char *p;          /* NUL-terminated while ok */
	size_t len, cap;
	size_t max;       /* most bytes it may hold (excluding the NUL) */
	bool ok;
};

#define SBUF_INIT(max_bytes) { NULL, 0, 0, (max_bytes), true }

void sbuf_putn(struct sbuf *b, const char *s, size_t n);
void sbuf_puts(struct sbuf *b, const char *s);
void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string (quotes included): quotes, backslashes and control
 * characters escaped; bytes that are not UTF-8 become U+FFFD. */
void sbuf_json_str(struct sbuf *b, const char *s, size_t n);
void sbuf_json_cstr(struct sbuf *b, const char *s);   /* NULL gives null */
/* The text (caller frees) and its length, or NULL when an append failed;
 * the buffer is empty afterwards either way. */
char *sbuf_take(struct sbuf *b, size_t *len);
void sbuf_free(struct sbuf *b);

#endif
