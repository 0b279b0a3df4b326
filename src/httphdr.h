/*
 * httphdr.h - what the HTTP front reads in a request's headers before its
 * body, as pure functions (no libmicrohttpd here, so they are unit tested
 * alone): the media type of Content-Type, the announced Content-Length and
 * the connection timeout that keeps a request within its deadline.
 */
#ifndef PXTSGW_HTTPHDR_H
#define PXTSGW_HTTPHDR_H

#include <stdbool.h>
#include <stdint.h>

enum http_media {
	HTTP_MEDIA_NONE,        /* no Content-Type, or an empty one */
	HTTP_MEDIA_TEXT_XML,    /* text/xml */
	HTTP_MEDIA_SOAP_XML,    /* application/soap+xml */
	HTTP_MEDIA_OTHER,       /* any other media type, or not a media type */
};

/*
 * The media type of a Content-Type value (NULL: no header): type/subtype
 * compared without regard to case, blanks around it and its parameters
 * (";charset=utf-8", ";action=...") ignored. Anything that is not
 * "token/token" followed by nothing or by ';' is HTTP_MEDIA_OTHER.
 */
enum http_media http_media_type(const char *content_type);

/* Whether a SOAP endpoint takes a body of media type m (contract section 1:
 * text/xml or application/soap+xml). */
bool http_media_soap(enum http_media m);

/*
 * Parses a Content-Length value: decimal digits, blanks around them
 * allowed. Returns 0 with *len set (UINT64_MAX when the number does not
 * fit), -1 when the value is not a number.
 */
int http_content_length(const char *v, uint64_t *len);

/*
 * The connection timeout, in seconds, to set after a byte of a request
 * arrived when left_ms milliseconds remain before the request's deadline:
 * the idle timeout, or the time left (rounded up to whole seconds) when
 * that is shorter. 0 when the deadline has passed (the request is to be
 * dropped).
 */
unsigned http_timeout_for(unsigned idle_s, int64_t left_ms);

#endif
