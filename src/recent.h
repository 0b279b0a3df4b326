/*
 * recent.h - the last RECENT_MAX warnings and errors logged, for /status.
 *
 * log.c hands every warn and error line to recent_add (a weak reference:
 * a program that does not link recent.o keeps nothing). The logging
 * thread never waits here: each slot has its own lock, taken with a try;
 * a line whose slot is being read at that instant is left out (counted).
 */
#ifndef PXTSGW_RECENT_H
#define PXTSGW_RECENT_H

#include <stddef.h>
#include <time.h>

#define RECENT_MAX 32
#define RECENT_TEXT_MAX 400     /* bytes of a line kept, NUL included */

struct recent_event {
	unsigned long seq;          /* 1, 2, ...: the order they were logged in */
	time_t when;                /* wall clock */
	int level;                  /* enum log_level */
	char text[RECENT_TEXT_MAX]; /* the log line, cut to fit */
};

/* Any thread, never blocks. A final newline of text is dropped. */
void recent_add(int level, const char *text);
/* Copies the kept events into out (at most max), newest first, and
 * returns their number; *dropped: lines left out so far. Any thread. */
size_t recent_copy(struct recent_event *out, size_t max, unsigned long *dropped);
/* Forgets every event (for tests). */
void recent_clear(void);

#endif
