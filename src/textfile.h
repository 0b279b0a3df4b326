/*
 * textfile.h - reading line-oriented configuration files (pxtsgw.conf,
 * group files) with a cap on the line length, and their error messages.
 */
#ifndef PXTSGW_TEXTFILE_H
#define PXTSGW_TEXTFILE_H

#include <stddef.h>
#include <stdio.h>

/* Reads one line (newline dropped, NUL-terminated) into buf. Returns 1 for
 * a line, 0 at the end of the file, -1 for a line too long for cap, -2 for
 * a NUL byte, -3 for a read error. The rest of a bad line is not consumed:
 * the caller stops anyway. */
int text_read_line(FILE *f, char *buf, size_t cap, size_t *len);

/* The message for text_read_line's failure r (-1, -2, -3) at the line
 * after lineno of path, lines being at most max bytes. */
void text_read_error(char *err, size_t cap, const char *path, unsigned lineno, int r, int max);

/* Writes a formatted error message to err (cap bytes); err may be NULL. */
void text_error(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
