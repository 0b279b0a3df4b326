/*
 * sbuf.c - capped growable string buffer (see sbuf.h).
 */
#include "sbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool grow(struct sbuf *b, size_t more)
{
	size_t want;
	char *np;

	if (!b->ok)
		return false;
	if (more > b->max || b->len > b->max - more) {
		b->ok = false;
		return false;
	}
	if (b->len + more + 1 <= b->cap)
		return true;
	want = b->cap ? b->cap : 256;
	while (want < b->len + more + 1)
		want *= 2;
	np = realloc(b->p, want);
	if (!np) {
		b->ok = false;
		return false;
	}
	b->p = np;
	b->cap = want;
	return true;
}

void sbuf_putn(struct sbuf *b, const char *s, size_t n)
{
	if (!grow(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void sbuf_puts(struct sbuf *b, const char *s)
{
	sbuf_putn(b, s, strlen(s));
}

void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->ok = false;
		return;
	}
	if (!grow(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1fu;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0fu;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07u;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3fu);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

void sbuf_json_str(struct sbuf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	char esc[8];
	size_t i = 0, k;

	sbuf_putn(b, "\"", 1);
	while (i < n) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			sbuf_putn(b, esc, 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			switch (c) {
			case '\n': sbuf_puts(b, "\\n"); break;
			case '\r': sbuf_puts(b, "\\r"); break;
			case '\t': sbuf_puts(b, "\\t"); break;
			case '\b': sbuf_puts(b, "\\b"); break;
			case '\f': sbuf_puts(b, "\\f"); break;
			default:
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				sbuf_puts(b, esc);
			}
			i++;
		} else if ((k = utf8_len(s + i, n - i)) > 0) {
			sbuf_putn(b, str + i, k);
			i += k;
		} else {
			sbuf_puts(b, "\\ufffd");
			i++;
		}
	}
	sbuf_putn(b, "\"", 1);
}

void sbuf_json_cstr(struct sbuf *b, const char *s)
{
	if (s)
		sbuf_json_str(b, s, strlen(s));
	else
		sbuf_puts(b, "null");
}

char *sbuf_take(struct sbuf *b, size_t *len)
{
	char *p = NULL;

	if (b->ok) {
		if (!b->p)
			sbuf_putn(b, "", 0);
		p = b->ok ? b->p : NULL;
		if (p && len)
			*len = b->len;
		if (p)
			b->p = NULL;
	}
	sbuf_free(b);
	return p;
}

void sbuf_free(struct sbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}
