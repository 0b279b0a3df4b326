/*
 * store_int.h - for the store's own files (store.c, store_notif.c, the
 * outbox functions): the connection and its lock. Not for other modules.
 */
#ifndef PXTSGW_STORE_INT_H
#define PXTSGW_STORE_INT_H

#include <pthread.h>

#include <sqlite3.h>

#include "store.h"

/* Runs fn with the connection, holding the store's lock. Returns fn's
 * result. */
int store_with_db(struct store *s, int (*fn)(sqlite3 *db, void *arg), void *arg);

#endif
