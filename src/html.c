/*
 * html.c - HTML escaping for the pages pxtsgw serves (GET /status).
 */
#include "html.h"

#include <string.h>

#define REPLACEMENT "\xEF\xBF\xBD"      /* U+FFFD */
#define ELLIPSIS "\xE2\x80\xA6"          /* U+2026 */

/* The length of the well-formed UTF-8 character at s (n bytes left), or 0
 * when s does not start one (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xBF;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4;
	else
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return len;
}

void html_escape_n(struct sbuf *b, const char *s, size_t n, size_t max_bytes)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run = 0;     /* s[run..i): plain bytes not yet appended */

	while (i < n) {
		size_t len = utf8_len(u + i, n - i);
		const char *rep = NULL;

		if (max_bytes && i + (len ? len : 1) > max_bytes) {
			sbuf_putn(b, s + run, i - run);
			sbuf_puts(b, ELLIPSIS);
			return;
		}
		if (len == 0 || (len == 1 && ((u[i] < 0x20 && u[i] != '\t' && u[i] != '\n' &&
						 u[i] != '\r') || u[i] == 0x7F)) ||
		    (len == 2 && u[i] == 0xC2 && u[i + 1] < 0xA0))    /* C1 controls */
			rep = REPLACEMENT;
		else if (len == 1)
			switch (u[i]) {
			case '&': rep = "&amp;"; break;
			case '<': rep = "&lt;"; break;
			case '>': rep = "&gt;"; break;
			case '"': rep = "&quot;"; break;
			case '\'': rep = "&#39;"; break;
			default: break;
			}
		if (rep) {
			sbuf_putn(b, s + run, i - run);
			sbuf_puts(b, rep);
			i += len ? len : 1;
			run = i;
		} else {
			i += len;
		}
	}
	sbuf_putn(b, s + run, i - run);
}

void html_escape(struct sbuf *b, const char *s, size_t max_bytes)
{
	if (s)
		html_escape_n(b, s, strlen(s), max_bytes);
}
