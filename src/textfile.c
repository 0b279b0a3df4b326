/*
 * textfile.c - line reading for configuration and group files.
 */
#include "textfile.h"

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
