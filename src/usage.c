/*
 * usage.c - usage records: the API the SOAP and REST front ends call, and
 * the parsing of GET /usage's times. The records themselves are the
 * store's (store_usage.c).
 */
#include "usage.h"

#include <stdatomic.h>
#include <string.h>

#include "store.h"

static _Atomic(struct store *) usage_store;

void usage_set_store(struct store *s)
{
	atomic_store(&usage_store, s);
}

/* s, or its first USAGE_FIELD_MAX bytes in buf (cap USAGE_FIELD_MAX + 1)
 * cut before a UTF-8 character that does not fit whole. A SOAP
 * correlator is recorded before it is checked (up to the SOAP parser's
 * 8 KB string cap); its record, its place in the store's queue and on
 * disk stay small. */
static const char *capped(const char *s, char *buf)
{
	size_t n;

	if (!s || strnlen(s, USAGE_FIELD_MAX + 1) <= USAGE_FIELD_MAX)
		return s;
	n = USAGE_FIELD_MAX;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return buf;
}

void usage_record(const struct usage_rec *r)
{
	struct store *s = atomic_load(&usage_store);
	struct store_usage u;
	struct store_op op = { .kind = STORE_OP_USAGE, .usage = &u };
	char corr[USAGE_FIELD_MAX + 1], cause[USAGE_FIELD_MAX + 1];

	if (!s || !r || !r->operation || !r->result)
		return;
	u = (struct store_usage){
		.time_ms = r->time_ms ? r->time_ms : store_wall_ms(), .app = r->app,
		.operation = r->operation, .addresses = r->addresses, .expanded = r->expanded,
		.count = r->count, .correlator = capped(r->correlator, corr), .result = r->result,
		.cause = capped(r->cause, cause), .duration_ms = r->duration_ms,
	};
	store_submit(s, &op, 1);   /* copied; a failure is logged by the store */
}

/* --- times ------------------------------------------------------------------ */

/* n digits at *p as a number; advances *p. -1 when they are not digits. */
static long digits(const char **p, int n)
{
	long v = 0;

	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return v;
}

static bool leap(long y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian, y >= 1970). */
static int64_t days_from_epoch(long y, long m, long d)
{
	static const int before[12] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 };
	int64_t days = 0;

	for (long k = 1970; k < y; k++)
		days += leap(k) ? 366 : 365;
	days += before[m - 1] + (m > 2 && leap(y)) + (d - 1);
	return days;
}

int usage_parse_time(const char *text, int64_t *ms)
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	const char *p = text;
	long y, mo, d, h = 0, mi = 0, sec = 0, frac = 0;
	size_t n;

	if (!text || !*text)
		return -1;
	n = strspn(text, "0123456789");
	if (text[n] == '\0') {                 /* seconds since the epoch */
		if (n > 11)
			return -1;
		*ms = (int64_t)digits(&p, (int)n) * 1000;
		return 0;
	}
	if ((y = digits(&p, 4)) < 1970 || *p++ != '-' || (mo = digits(&p, 2)) < 1 || mo > 12 ||
	    *p++ != '-' || (d = digits(&p, 2)) < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !leap(y)))
		return -1;
	if (*p == 'T') {
		p++;
		if ((h = digits(&p, 2)) < 0 || h > 23 || *p++ != ':' || (mi = digits(&p, 2)) < 0 || mi > 59)
			return -1;
		if (*p == ':') {
			p++;
			if ((sec = digits(&p, 2)) < 0 || sec > 59)
				return -1;
			if (*p == '.') {           /* a fraction: milliseconds kept */
				int k = 0;

				p++;
				if (*p < '0' || *p > '9')
					return -1;
				for (; *p >= '0' && *p <= '9'; p++, k++)
					if (k < 3)
						frac = frac * 10 + (*p - '0');
				for (; k < 3; k++)
					frac *= 10;
			}
		}
		if (*p++ != 'Z')               /* UTC only */
			return -1;
	}
	if (*p != '\0')
		return -1;
	*ms = ((days_from_epoch(y, mo, d) * 24 + h) * 60 + mi) * 60000 + sec * 1000 + frac;
	return 0;
}
