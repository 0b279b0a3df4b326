/*
 * textfile.c - line reading for configuration and group files.
 */
#include "textfile.h"

#include <stdarg.h>

int text_read_line(FILE *f, char *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	int ch;

	while ((ch = getc(f)) != EOF && ch != '\n') {
		if (ch == '\0')
			return -2;
		if (n + 1 >= cap)
			return -1;
		buf[n++] = (char)ch;
	}
	if (ch == EOF && ferror(f))
		return -3;
	if (ch == EOF && n == 0)
		return 0;
	buf[n] = '\0';
	*len = n;
	return 1;
}

void text_error(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (!err || !cap)
		return;
	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
}
