/*
 * store.c - the SQLite store: open, WAL, schema migrations.
 *
 * Migrations are applied in order, each in its own transaction, and
 * PRAGMA user_version records the last one applied; a store written by a
 * newer pxtsgw (user_version above ours) is refused rather than damaged.
 */
#include "store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"

struct store {
	sqlite3 *db;
	pthread_mutex_t lock;
};

static const char *const migrations[] = {
	/* 1: bookkeeping; later parts add their tables as new entries */
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"INSERT INTO meta (key, value) VALUES ('created', strftime('%Y-%m-%dT%H:%M:%SZ','now'));",
};
#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

static int exec_err(sqlite3 *db, const char *sql, char *err, size_t cap)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	snprintf(err, cap, "%s", msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return -1;
}

static int user_version(sqlite3 *db)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int migrate(sqlite3 *db, char *err, size_t cap)
{
	int v = user_version(db);
	char sql[64];

	if (v < 0) {
		snprintf(err, cap, "cannot read the schema version: %s", sqlite3_errmsg(db));
		return -1;
	}
	if (v > N_MIGRATIONS) {
		snprintf(err, cap, "schema version %d is newer than this pxtsgw knows (%d)", v, N_MIGRATIONS);
		return -1;
	}
	for (; v < N_MIGRATIONS; v++) {
		if (exec_err(db, "BEGIN IMMEDIATE", err, cap) != 0)
			return -1;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (exec_err(db, migrations[v], err, cap) != 0 || exec_err(db, sql, err, cap) != 0) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		if (exec_err(db, "COMMIT", err, cap) != 0)
			return -1;
		log_info("store: schema migrated to version %d", v + 1);
	}
	return 0;
}

int store_open(const char *path, struct store **out, char *err, size_t cap)
{
	struct store *s = calloc(1, sizeof(*s));
	char e[256];

	if (!s) {
		snprintf(err, cap, "out of memory");
		return -1;
	}
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, cap, "cannot open %s: %s", path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 5000);
	if (exec_err(s->db, "PRAGMA journal_mode = WAL", e, sizeof(e)) != 0 ||
	    exec_err(s->db, "PRAGMA synchronous = NORMAL", e, sizeof(e)) != 0 ||
	    migrate(s->db, e, sizeof(e)) != 0) {
		snprintf(err, cap, "%s: %s", path, e);
		goto fail;
	}
	pthread_mutex_init(&s->lock, NULL);
	*out = s;
	return 0;
fail:
	sqlite3_close(s->db);
	free(s);
	return -1;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

bool store_ready(struct store *s)
{
	bool ok;

	if (!s)
		return false;
	pthread_mutex_lock(&s->lock);
	ok = sqlite3_exec(s->db, "SELECT 1", NULL, NULL, NULL) == SQLITE_OK;
	pthread_mutex_unlock(&s->lock);
	return ok;
}

int store_schema_version(struct store *s)
{
	int v;

	pthread_mutex_lock(&s->lock);
	v = user_version(s->db);
	pthread_mutex_unlock(&s->lock);
	return v;
}
