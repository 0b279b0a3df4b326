/*
 * xmlchar.h - which UTF-8 text XML 1.0 can carry (its Char production):
 * for the SOAP glue's answers and for values that go back out in
 * callbacks (a correlator).
 */
#ifndef PXTSGW_XMLCHAR_H
#define PXTSGW_XMLCHAR_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the UTF-8 sequence at p (n bytes left, n >= 1) when it
 * encodes a character XML 1.0 allows (#x9 #xA #xD, #x20-#xD7FF,
 * #xE000-#xFFFD, #x10000-#x10FFFF), else 0: a byte that is not UTF-8, an
 * overlong form, a surrogate, U+FFFE or U+FFFF, or another control
 * character. */
size_t xml_char_len(const unsigned char *p, size_t n);

/* Whether the whole NUL-terminated s is such characters. */
bool xml_text_ok(const char *s);

#endif
