/*
 * store.h - durable state in SQLite (WAL mode, versioned schema).
 *
 * Part 1 opens the store and checks it is usable; part 2 adds the delivery
 * tracking records (contract section 9a); the notification and outbox
 * tables arrive with part 3. Every function may be called from any thread.
 */
#ifndef PXTSGW_STORE_H
#define PXTSGW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

/* Opens (creating if needed) the store at path and migrates its schema to
 * the current version. Returns 0 and sets *out, or -1 with err set. */
int store_open(const char *path, struct store **out, char *err, size_t cap);
void store_close(struct store *s);   /* NULL is fine */
/* true when the database answers a trivial query. From any thread. */
bool store_ready(struct store *s);
/* The schema version of an open store. */
int store_schema_version(struct store *s);

/* --- delivery tracking (contract section 9a) --- */

/* Appends one record, committed when this returns; time = now (UTC, ms).
 * event is "<operation>_DeliveryAttempted" or "<operation>_DeliveryResult";
 * detail NULL = JSON null. Returns 0, or -1 (logged). */
int store_track(struct store *s, const char *event, const char *correlator, uint64_t delivery,
		int attempt, bool delivered, const char *endpoint, const char *detail);
/* The records of one correlator as a JSON array, oldest first, each object
 * with event, correlator, delivery, attempt, result, time, endpoint, detail
 * (null when absent). *json is malloc'd (NUL-terminated; caller frees) and
 * *len (may be NULL) its length. Returns 0, or -1 with *json NULL. */
int store_deliveries_json(struct store *s, const char *correlator, char **json, size_t *len);
/* The highest delivery id recorded (0 when none). Returns 0, or -1. */
int store_max_delivery(struct store *s, uint64_t *max);

/* --- running notifications (store_notif.c) ------------------------------- */

struct store_notif {
	const char *correlator;
	const char *endpoint;
	const char *interface_name;
	unsigned criteria;          /* NOTIF_CRITERION bits */
	int64_t frequency_ms;
	long count;                 /* 0 = unlimited */
	long sent;                  /* callbacks counted so far */
	int style;                  /* enum notif_style */
	int64_t end_ms;             /* wall clock, ms since the epoch */
	int64_t created_ms;
	size_t n;
	const char *const *addresses;
	const char *const *sip_uris;
	const int *reported;        /* ts_status per address, -1 = not known */
};

/* Saves a notification that starts (replacing one of the same correlator).
 * Returns 0 or -1. */
int store_notif_save(struct store *s, const struct store_notif *n);
/* Records progress: callbacks counted, the status last reported per
 * address (-1 = not known). */
int store_notif_progress(struct store *s, const char *correlator, long sent,
			 const int *reported, size_t n);
int store_notif_delete(struct store *s, const char *correlator);
/* Calls fn for every saved notification, oldest first; the struct and its
 * strings live during the call only, and fn must not call the store (its
 * lock is held). Returns the number loaded, or -1. */
typedef void (store_notif_h)(const struct store_notif *n, void *arg);
int store_notif_load(struct store *s, store_notif_h *fn, void *arg);

/* Wall clock in ms since the epoch. */
int64_t store_wall_ms(void);

#endif
