/*
 * store_usage.c - usage records (contract section 13): written by the
 * store's writer (STORE_OP_USAGE, its pruning), read as CSV a page at a
 * time for GET /usage.
 *
 * A listing is a cursor over (time_ms, id): each page is read with a read
 * connection of the pool in a transaction of its own that ends with the
 * page (as store_listing.c's), so a client that downloads a month of
 * records slowly holds no connection and no transaction between pieces,
 * and only one page is ever in memory.
 */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "sbuf.h"

#define USAGE_PAGE_ROWS 500
#define USAGE_PAGE_MAX (32 * 1024 * 1024)   /* one page's text at most */

static const char usage_header[] =
	"time,app,operation,addresses,expanded,count,correlator,result,cause,duration_ms\r\n";

/* --- writing (the writer's connection) ------------------------------------- */

static void bind_count(sqlite3_stmt *st, int col, long v)
{
	if (v < 0)
		sqlite3_bind_null(st, col);
	else
		sqlite3_bind_int64(st, col, v);
}

int store_usage_insert(sqlite3 *db, sqlite3_stmt **cache, const struct store_usage *u)
{
	sqlite3_stmt *st = *cache;
	int rc = -1;

	if (!u || !u->operation || !u->result)
		return -1;
	if (!st && sqlite3_prepare_v2(db, "INSERT INTO usage_records (time_ms, app, operation, addresses,"
				      " expanded, count, correlator, result, cause, duration_ms)"
				      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, cache, NULL) != SQLITE_OK)
		goto out;
	st = *cache;
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, u->time_ms);
	sqlite3_bind_text(st, 2, u->app ? u->app : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, u->operation, -1, SQLITE_STATIC);
	bind_count(st, 4, u->addresses);
	bind_count(st, 5, u->expanded);
	bind_count(st, 6, u->count);
	if (u->correlator)
		sqlite3_bind_text(st, 7, u->correlator, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 7);
	sqlite3_bind_text(st, 8, u->result, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, u->cause ? u->cause : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, u->duration_ms < 0 ? 0 : u->duration_ms);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
	/* the SQLITE_STATIC texts are the caller's: not kept bound */
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
out:
	if (rc != 0)
		log_error("store: cannot write a usage record: %s", sqlite3_errmsg(db));
	return rc;
}

int store_usage_prune_step(sqlite3 *db, int64_t older_than_wall_ms, int max_rows)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (max_rows <= 0)
		return 0;
	/* the oldest by the time index: a bounded transaction */
	if (sqlite3_prepare_v2(db, "DELETE FROM usage_records WHERE id IN (SELECT id FROM"
			       " usage_records WHERE time_ms < ?1 ORDER BY time_ms LIMIT ?2)",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, older_than_wall_ms);
		sqlite3_bind_int(st, 2, max_rows);
		if (sqlite3_step(st) == SQLITE_DONE)
			rc = sqlite3_changes(db);
	}
	if (rc < 0)
		log_error("store: cannot prune usage records: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc;
}

/* --- CSV -------------------------------------------------------------------------- */

/* One field (RFC 4180): quoted when it holds a comma, a quote, CR or LF,
 * its quotes doubled. */
static void csv_field(struct sbuf *b, const char *s, size_t n)
{
	if (!memchr(s, ',', n) && !memchr(s, '"', n) && !memchr(s, '\r', n) && !memchr(s, '\n', n)) {
		sbuf_putn(b, s, n);
		return;
	}
	sbuf_putn(b, "\"", 1);
	for (const char *p = s, *end = s + n; p < end;) {
		const char *q = memchr(p, '"', (size_t)(end - p));

		if (!q) {
			sbuf_putn(b, p, (size_t)(end - p));
			break;
		}
		sbuf_putn(b, p, (size_t)(q - p) + 1);
		sbuf_putn(b, "\"", 1);
		p = q + 1;
	}
	sbuf_putn(b, "\"", 1);
}

static void text_col(struct sbuf *b, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	if (t)
		csv_field(b, (const char *)t, (size_t)sqlite3_column_bytes(st, col));
}

static void int_col(struct sbuf *b, sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) != SQLITE_NULL)
		sbuf_printf(b, "%lld", (long long)sqlite3_column_int64(st, col));
}

/* "2024-05-01T12:34:56.789Z" */
static void time_col(struct sbuf *b, int64_t ms)
{
	time_t sec = (time_t)(ms / 1000);
	long frac = (long)(ms % 1000);
	struct tm tm;
	char buf[40];

	if (frac < 0) {
		frac += 1000;
		sec--;
	}
	gmtime_r(&sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	sbuf_printf(b, "%s.%03ldZ", buf, frac);
}

/* --- reading ------------------------------------------------------------------------ */

struct store_usage_cursor {
	struct store *s;
	int64_t from_ms, to_ms;
	char *app;                  /* NULL: every application's */
	bool done, failed;
	int64_t last_time, last_id; /* the last record read (last_id 0: none yet) */
	char *text;                 /* the current page: text[off..len) not yet taken */
	size_t off, len;
};

static int page_fn(sqlite3 *db, void *arg)
{
	struct store_usage_cursor *c = arg;
	struct sbuf b = SBUF_INIT(USAGE_PAGE_MAX);
	sqlite3_stmt *st = NULL;
	int rc = SQLITE_DONE, got = 0;

	if (sqlite3_prepare_v2(db, "SELECT time_ms, app, operation, addresses, expanded, count,"
			       " correlator, result, cause, duration_ms, id FROM usage_records"
			       " WHERE time_ms >= ?1 AND time_ms <= ?2 AND (?3 IS NULL OR app = ?3)"
			       " AND (time_ms > ?4 OR (time_ms = ?4 AND id > ?5))"
			       " ORDER BY time_ms, id LIMIT ?6", -1, &st, NULL) != SQLITE_OK) {
		log_error("store: cannot query the usage records: %s", sqlite3_errmsg(db));
		return -1;
	}
	sqlite3_bind_int64(st, 1, c->from_ms);
	sqlite3_bind_int64(st, 2, c->to_ms);
	if (c->app)
		sqlite3_bind_text(st, 3, c->app, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, c->last_id ? c->last_time : INT64_MIN);
	sqlite3_bind_int64(st, 5, c->last_id);
	sqlite3_bind_int(st, 6, USAGE_PAGE_ROWS);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		time_col(&b, sqlite3_column_int64(st, 0));
		for (int k = 1; k <= 9; k++) {
			sbuf_putn(&b, ",", 1);
			if ((k >= 3 && k <= 5) || k == 9)   /* the numbers */
				int_col(&b, st, k);
			else
				text_col(&b, st, k);
		}
		sbuf_putn(&b, "\r\n", 2);
		c->last_time = sqlite3_column_int64(st, 0);
		c->last_id = sqlite3_column_int64(st, 10);
		got++;
	}
	if (rc != SQLITE_DONE) {
		log_error("store: reading the usage records: %s", sqlite3_errmsg(db));
		got = -1;
	}
	sqlite3_finalize(st);
	free(c->text);
	c->off = 0;
	c->text = sbuf_take(&b, &c->len);
	if (!c->text) {
		log_error("store: a page of usage records does not fit in %d MiB", USAGE_PAGE_MAX >> 20);
		c->len = 0;
		got = -1;
	}
	return got;
}

/* Reads the next page into c->text. */
static void step(struct store_usage_cursor *c)
{
	int got = store_read(c->s, page_fn, c);

	if (got < 0)
		c->failed = true;
	else if (got < USAGE_PAGE_ROWS)
		c->done = true;
}

struct store_usage_cursor *store_usage_open(struct store *s, int64_t from_ms, int64_t to_ms,
					    const char *app)
{
	struct store_usage_cursor *c;

	if (!s || !(c = calloc(1, sizeof(*c))))
		return NULL;
	c->s = s;
	c->from_ms = from_ms;
	c->to_ms = to_ms;
	if (app && !(c->app = strdup(app))) {
		free(c);
		return NULL;
	}
	/* the first page now: a store that cannot be read is said before an
	 * answer has begun; the header goes before it */
	step(c);
	if (c->failed) {
		store_usage_close(c);
		return NULL;
	}
	{
		size_t h = sizeof(usage_header) - 1;
		char *t = malloc(h + c->len + 1);

		if (!t) {
			store_usage_close(c);
			return NULL;
		}
		memcpy(t, usage_header, h);
		if (c->len)
			memcpy(t + h, c->text, c->len);
		t[h + c->len] = '\0';
		free(c->text);
		c->text = t;
		c->len += h;
	}
	return c;
}

long store_usage_read(struct store_usage_cursor *c, char *buf, size_t cap)
{
	size_t n;

	if (!c || cap == 0 || c->failed)
		return -1;
	if (c->off == c->len && !c->done)
		step(c);
	if (c->failed)
		return -1;
	n = c->len - c->off;
	if (n > cap)
		n = cap;
	if (n)
		memcpy(buf, c->text + c->off, n);
	c->off += n;
	return (long)n;
}

void store_usage_close(struct store_usage_cursor *c)
{
	if (!c)
		return;
	free(c->app);
	free(c->text);
	free(c);
}

static int count_fn(sqlite3 *db, void *arg)
{
	long *n = arg;
	sqlite3_stmt *st;
	int rc = -1;

	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM usage_records", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*n = (long)sqlite3_column_int64(st, 0);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

long store_usage_count(struct store *s)
{
	long n = -1;

	if (!s || store_read(s, count_fn, &n) != 0)
		return -1;
	return n;
}
