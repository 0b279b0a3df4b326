/*
 * usage.h - usage records (contract section 13): one per SOAP or REST
 * request, written to the store (its writer thread, group commit: nobody
 * waits for the disk) and exported by GET /usage as CSV.
 *
 * Threads: usage_record() from any thread but the store's writer; it never
 * waits for a commit (the store makes it wait while 256 writes are queued,
 * so that the SIP thread's commits are never behind many records), so
 * call it once the answer is on its way, never on the SIP thread. usage_set_store() at start (before the first
 * request) and at stop (NULL, after the last one).
 */
#ifndef PXTSGW_USAGE_H
#define PXTSGW_USAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

/* Bytes of a correlator or a cause kept in a record (a longer one is cut
 * before the first character that does not fit whole). */
#define USAGE_FIELD_MAX 256

/* One request. Strings are copied by usage_record. */
struct usage_rec {
	int64_t time_ms;            /* wall clock of the answer (0: now) */
	const char *app;            /* NULL: "" (no users file: the anonymous application) */
	const char *operation;      /* SOAP "getStatus", ...; REST "retrieve", ... (not NULL) */
	long addresses;             /* addresses in the request; < 0: empty */
	long expanded;              /* terminals after group expansion; < 0: empty */
	long count;                 /* startNotification's count; < 0: empty */
	const char *correlator;     /* NULL: empty */
	const char *result;         /* "ok", the fault id ("SVC0001") or the HTTP code ("404") */
	const char *cause;          /* the root cause ("sip 404", "timeout"); NULL: empty */
	long duration_ms;           /* from the request's headers to its answer */
};

void usage_set_store(struct store *s);
/* Records r (committed within one commit cycle of the store's writer).
 * Without a store it does nothing. */
void usage_record(const struct usage_rec *r);

/* A time of GET /usage's from and to: ISO 8601 UTC ("2026-12-05",
 * "2026-12-05T09:30Z", "2026-12-05T09:30:15Z", "2026-12-05T09:30:15.250Z")
 * or seconds since the epoch ("1796462400"). Returns 0 with *ms (wall
 * clock, ms since the epoch), or -1. */
int usage_parse_time(const char *text, int64_t *ms);

#endif
