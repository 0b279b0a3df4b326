/*
 * store.c - the SQLite store: open, WAL, schema migrations, delivery
 * tracking records.
 *
 * Migrations are applied in order, each in its own transaction, and
 * PRAGMA user_version records the last one applied; a store written by a
 * newer pxtsgw (user_version above ours) is refused rather than damaged.
 *
 * Connections: the write connection belongs to the writer thread
 * (store_writer.c): every write is a submission to it. Readers take a
 * read-only connection (SQLITE_OPEN_READONLY, WAL: they see the last
 * commit and never wait for the writer) from a small pool guarded by
 * readers_lock, which is held only to take or give back a connection,
 * never during a query: a /deliveries listing of 64 MiB holds no lock
 * that a writer, the SIP thread or /health needs. WAL with
 * synchronous=NORMAL: a commit is durable against a crash of the process.
 */
#include "store_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "log.h"
#include "sbuf.h"

/* largest /deliveries answer */

static const char *const migrations[] = {
	/* 1: bookkeeping; later parts add their tables as new entries */
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"INSERT INTO meta (key, value) VALUES ('created', strftime('%Y-%m-%dT%H:%M:%SZ','now'));",
	/* 2: delivery tracking records (contract section 9a), oldest first by id */
	"CREATE TABLE deliveries ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" event TEXT NOT NULL,"
	" correlator TEXT NOT NULL,"
	" delivery INTEGER NOT NULL,"
	" attempt INTEGER NOT NULL,"
	" result TEXT NOT NULL CHECK (result IN ('delivered', 'failed')),"
	" time TEXT NOT NULL,"
	" endpoint TEXT NOT NULL,"
	" detail TEXT);"
	"CREATE INDEX deliveries_correlator ON deliveries (correlator, id);"
	"CREATE INDEX deliveries_delivery ON deliveries (delivery);",
	/* 3: what survives a restart (part 3): running notifications with the
	 * status last reported per address, and the outbox of callbacks not
	 * yet finished. Times are wall-clock milliseconds since the epoch. */
	"CREATE TABLE notifications ("
	" correlator TEXT PRIMARY KEY,"
	" endpoint TEXT NOT NULL,"
	" interface_name TEXT NOT NULL,"
	" criteria INTEGER NOT NULL,"
	" frequency_ms INTEGER NOT NULL,"
	" count INTEGER NOT NULL,"          /* 0 = unlimited */
	" sent INTEGER NOT NULL,"           /* callbacks counted so far */
	" style INTEGER NOT NULL,"
	" end_ms INTEGER NOT NULL,"
	" created_ms INTEGER NOT NULL);"
	"CREATE TABLE notification_addresses ("
	" correlator TEXT NOT NULL REFERENCES notifications (correlator) ON DELETE CASCADE,"
	" idx INTEGER NOT NULL,"
	" address TEXT NOT NULL,"
	" sip_uri TEXT NOT NULL,"
	" reported INTEGER,"                /* ts_status, NULL = not known */
	" PRIMARY KEY (correlator, idx));"
	"CREATE TABLE outbox ("
	" delivery INTEGER PRIMARY KEY,"    /* the delivery id: order of callbacks */
	" correlator TEXT NOT NULL,"
	" endpoint TEXT NOT NULL,"
	" op INTEGER NOT NULL,"             /* enum dlv_op */
	" payload TEXT NOT NULL,"           /* the callback's content, dlv.c's format */
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" created_ms INTEGER NOT NULL);"
	"CREATE INDEX outbox_correlator ON outbox (correlator, delivery);",
	/* 4: per-application scope (contract section 11): every notification,
	 * callback and tracking record belongs to an application; correlators
	 * are unique per application. Rows of before belong to the anonymous
	 * application, ''. The notification tables are rebuilt for their new
	 * keys (a renamed parent takes its child's reference along). */
	"ALTER TABLE notification_addresses RENAME TO notification_addresses_v3;"
	"ALTER TABLE notifications RENAME TO notifications_v3;"
	"CREATE TABLE notifications ("
	" app TEXT NOT NULL,"
	" correlator TEXT NOT NULL,"
	" endpoint TEXT NOT NULL,"
	" interface_name TEXT NOT NULL,"
	" criteria INTEGER NOT NULL,"
	" frequency_ms INTEGER NOT NULL,"
	" count INTEGER NOT NULL,"
	" sent INTEGER NOT NULL,"
	" style INTEGER NOT NULL,"
	" end_ms INTEGER NOT NULL,"
	" created_ms INTEGER NOT NULL,"
	" PRIMARY KEY (app, correlator));"
	"CREATE TABLE notification_addresses ("
	" app TEXT NOT NULL,"
	" correlator TEXT NOT NULL,"
	" idx INTEGER NOT NULL,"
	" address TEXT NOT NULL,"
	" sip_uri TEXT NOT NULL,"
	" reported INTEGER,"
	" PRIMARY KEY (app, correlator, idx),"
	" FOREIGN KEY (app, correlator) REFERENCES notifications (app, correlator) ON DELETE CASCADE);"
	"INSERT INTO notifications SELECT '', correlator, endpoint, interface_name, criteria,"
	" frequency_ms, count, sent, style, end_ms, created_ms FROM notifications_v3;"
	"INSERT INTO notification_addresses SELECT '', correlator, idx, address, sip_uri, reported"
	" FROM notification_addresses_v3;"
	"DROP TABLE notification_addresses_v3;"
	"DROP TABLE notifications_v3;"
	"ALTER TABLE outbox ADD COLUMN app TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE deliveries ADD COLUMN app TEXT NOT NULL DEFAULT '';",
	/* usage records (contract section 13): one per SOAP or REST request,
	 * exported by GET /usage oldest first (by time, then id); NULL is an
	 * empty CSV field */
	"CREATE TABLE usage_records ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" time_ms INTEGER NOT NULL,"        /* wall clock of the answer */
	" app TEXT NOT NULL,"
	" operation TEXT NOT NULL,"
	" addresses INTEGER,"
	" expanded INTEGER,"
	" count INTEGER,"
	" correlator TEXT,"
	" result TEXT NOT NULL,"
	" cause TEXT NOT NULL DEFAULT '',"
	" duration_ms INTEGER NOT NULL);"
	"CREATE INDEX usage_records_time ON usage_records (time_ms);",
	/* CAMARA subscriptions (contract section 12): a notification that is
	 * a subscription has its data here (camara_sub.c's stored form: type,
	 * phone number, sink token and its expiry, expiry, max events,
	 * x-correlator, source, the answer's JSON); it goes with its
	 * notification */
	"CREATE TABLE camara_subscriptions ("
	" app TEXT NOT NULL,"
	" correlator TEXT NOT NULL,"
	" data TEXT NOT NULL,"
	" PRIMARY KEY (app, correlator),"
	" FOREIGN KEY (app, correlator) REFERENCES notifications (app, correlator) ON DELETE CASCADE);",
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

/* --- read connections --------------------------------------------------------- */

sqlite3 *store_reader_get(struct store *s)
{
	sqlite3 *db = NULL;

	pthread_mutex_lock(&s->readers_lock);
	if (s->nidle > 0)
		db = s->idle[--s->nidle];
	pthread_mutex_unlock(&s->readers_lock);
	if (db)
		return db;
	if (sqlite3_open_v2(s->path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		log_error("store: cannot open a read connection to %s: %s", s->path,
			  db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
	return db;
}

void store_reader_put(struct store *s, sqlite3 *db)
{
	pthread_mutex_lock(&s->readers_lock);
	if (s->nidle < STORE_READERS_IDLE) {
		s->idle[s->nidle++] = db;
		db = NULL;
	}
	pthread_mutex_unlock(&s->readers_lock);
	sqlite3_close(db);   /* more readers at once than kept: NULL is fine */
}

int store_read(struct store *s, int (*fn)(sqlite3 *db, void *arg), void *arg)
{
	sqlite3 *db;
	int rc;

	if (!s || !(db = store_reader_get(s)))
		return -1;
	rc = fn(db, arg);
	store_reader_put(s, db);
	return rc;
}

/* --- open, close ---------------------------------------------------------------- */

static int count_outbox(sqlite3 *db, long *n)
{
	sqlite3_stmt *st;
	int rc = -1;

	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM outbox", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*n = (long)sqlite3_column_int64(st, 0);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

int store_open(const char *path, struct store **out, char *err, size_t cap)
{
	struct store *s = calloc(1, sizeof(*s));
	long rows = 0;
	char e[256];

	if (!s || !(s->path = strdup(path))) {
		snprintf(err, cap, "out of memory");
		free(s);
		return -1;
	}
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, cap, "cannot open %s: %s", path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	if (exec_err(s->db, "PRAGMA journal_mode = WAL", e, sizeof(e)) != 0 ||
	    exec_err(s->db, "PRAGMA foreign_keys = ON", e, sizeof(e)) != 0 ||
	    exec_err(s->db, "PRAGMA synchronous = NORMAL", e, sizeof(e)) != 0 ||
	    migrate(s->db, e, sizeof(e)) != 0) {
		snprintf(err, cap, "%s: %s", path, e);
		goto fail;
	}
	if (count_outbox(s->db, &rows) != 0) {
		snprintf(err, cap, "%s: cannot count the outbox: %s", path, sqlite3_errmsg(s->db));
		goto fail;
	}
	atomic_init(&s->outbox_rows, rows);
	pthread_mutex_init(&s->readers_lock, NULL);
	if (store_writer_start(s) != 0) {
		snprintf(err, cap, "%s: cannot start the writer thread", path);
		store_writer_stop(s);
		pthread_mutex_destroy(&s->readers_lock);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	sqlite3_close(s->db);
	free(s->path);
	free(s);
	return -1;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	store_writer_stop(s);   /* commits what was submitted */
	for (size_t i = 0; i < s->nidle; i++)
		sqlite3_close(s->idle[i]);
	pthread_mutex_destroy(&s->readers_lock);
	sqlite3_close(s->db);
	free(s->path);
	free(s);
}

static int ready_fn(sqlite3 *db, void *arg)
{
	(void)arg;
	return sqlite3_exec(db, "SELECT 1 FROM meta LIMIT 1", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

bool store_ready(struct store *s)
{
	bool writing;

	if (!s)
		return false;
	pthread_mutex_lock(&s->queue_lock);
	writing = !s->stopping;
	pthread_mutex_unlock(&s->queue_lock);
	return writing && store_read(s, ready_fn, NULL) == 0;
}

static int version_fn(sqlite3 *db, void *arg)
{
	(void)arg;
	return user_version(db);
}

int store_schema_latest(void)
{
	return N_MIGRATIONS;
}

int store_schema_version(struct store *s)
{
	return store_read(s, version_fn, NULL);
}

/* --- delivery tracking ------------------------------------------------------ */

int64_t store_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int store_track(struct store *s, const char *event, const char *app, const char *correlator,
		uint64_t delivery, int attempt, bool delivered, const char *endpoint, const char *detail)
{
	struct store_op op = {
		.kind = STORE_OP_TRACK, .delivery = delivery, .attempt = attempt, .event = event,
		.app = app, .correlator = correlator, .endpoint = endpoint, .detail = detail,
		.delivered = delivered, .time_ms = store_wall_ms(),
	};

	if (!s || !event || !correlator || !endpoint || delivery > (uint64_t)INT64_MAX)
		return -1;
	return store_apply(s, &op, 1);
}

static int max_delivery_fn(sqlite3 *db, void *arg)
{
	uint64_t *max = arg;
	sqlite3_stmt *st;
	int rc = -1;

	if (sqlite3_prepare_v2(db, "SELECT max(delivery) FROM deliveries", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		sqlite3_int64 v = sqlite3_column_int64(st, 0);

		*max = v > 0 ? (uint64_t)v : 0;
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

int store_max_delivery(struct store *s, uint64_t *max)
{
	*max = 0;
	if (!s)
		return -1;
	return store_read(s, max_delivery_fn, max);
}

