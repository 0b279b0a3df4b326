/*
 * textfile.c - line reading for configuration and group files.
 */
#include "textfile.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

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

void text_read_error(char *err, size_t cap, const char *path, unsigned lineno, int r, int max)
{
	if (r == -1)
		text_error(err, cap, "%s:%u: line longer than %d bytes", path, lineno + 1, max);
	else if (r == -2)
		text_error(err, cap, "%s:%u: NUL byte in the line", path, lineno + 1);
	else
		text_error(err, cap, "%s: read error: %s", path, strerror(errno));
}
