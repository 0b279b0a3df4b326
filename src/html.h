/*
 * html.h - text made safe to put into an HTML page (GET /status).
 */
#ifndef PXTSGW_HTML_H
#define PXTSGW_HTML_H

#include <stddef.h>

#include "sbuf.h"

/* Appends s (n bytes) as HTML text, safe both between tags and inside a
 * quoted attribute value: & < > " ' become &amp; &lt; &gt; &quot; &#39;;
 * control characters (but tab, LF, CR) and bytes that are not UTF-8
 * become U+FFFD. At most max_bytes of s are shown (cut at a character's
 * start), then "..." (an ellipsis) says it was cut; 0: no limit. */
void html_escape_n(struct sbuf *b, const char *s, size_t n, size_t max_bytes);
/* The same for a C string; NULL shows nothing. */
void html_escape(struct sbuf *b, const char *s, size_t max_bytes);

#endif
