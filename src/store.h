/*
 * store.h - durable state in SQLite (WAL mode, versioned schema).
 *
 * Part 1 only opens the store and checks it is usable; the notification,
 * outbox and tracking tables arrive with parts 2 and 3.
 */
#ifndef PXTSGW_STORE_H
#define PXTSGW_STORE_H

#include <stdbool.h>
#include <stddef.h>

struct store;

/* Opens (creating if needed) the store at path and migrates its schema to
 * the current version. Returns 0 and sets *out, or -1 with err set. */
int store_open(const char *path, struct store **out, char *err, size_t cap);
void store_close(struct store *s);   /* NULL is fine */
/* true when the database answers a trivial query. From any thread. */
bool store_ready(struct store *s);
/* The schema version of an open store. */
int store_schema_version(struct store *s);

#endif
