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

#endif
