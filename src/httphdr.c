/*
 * httphdr.c - header values the HTTP front checks before reading a body.
 * Grammar from RFC 9110: media-type = type "/" subtype parameters, both
 * tokens; OWS = *( SP / HTAB ).
 */
#include "httphdr.h"

#include <string.h>
#include <strings.h>

static bool is_ows(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* tchar of RFC 9110 section 5.6.2 */
static bool is_tchar(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Whether [s, s + n) is the media type want, without regard to case. */
static bool same(const char *s, size_t n, const char *want)
{
	return strlen(want) == n && strncasecmp(s, want, n) == 0;
}

enum http_media http_media_type(const char *content_type)
{
	const char *p = content_type, *type;
	size_t n;

	if (!p)
		return HTTP_MEDIA_NONE;
	while (is_ows(*p))
		p++;
	if (!*p)
		return HTTP_MEDIA_NONE;
	type = p;
	while (is_tchar(*p))
		p++;
	if (p == type || *p != '/')
		return HTTP_MEDIA_OTHER;
	p++;
	if (!is_tchar(*p))
		return HTTP_MEDIA_OTHER;
	while (is_tchar(*p))
		p++;
	n = (size_t)(p - type);
	while (is_ows(*p))
		p++;
	if (*p && *p != ';')
		return HTTP_MEDIA_OTHER;
	if (same(type, n, "text/xml"))
		return HTTP_MEDIA_TEXT_XML;
	if (same(type, n, "application/soap+xml"))
		return HTTP_MEDIA_SOAP_XML;
	return HTTP_MEDIA_OTHER;
}

bool http_media_soap(enum http_media m)
{
	return m == HTTP_MEDIA_TEXT_XML || m == HTTP_MEDIA_SOAP_XML;
}

int http_content_length(const char *v, uint64_t *len)
{
	uint64_t x = 0;
	bool big = false;
	const char *p = v;

	if (!p)
		return -1;
	while (is_ows(*p))
		p++;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (x > (UINT64_MAX - d) / 10)
			big = true;
		else
			x = x * 10 + d;
	}
	while (is_ows(*p))
		p++;
	if (*p)
		return -1;
	*len = big ? UINT64_MAX : x;
	return 0;
}

unsigned http_timeout_for(unsigned idle_s, int64_t left_ms)
{
	int64_t s;

	if (left_ms <= 0)
		return 0;
	s = left_ms / 1000 + (left_ms % 1000 != 0);
	return s < (int64_t)idle_s ? (unsigned)s : idle_s;
}
