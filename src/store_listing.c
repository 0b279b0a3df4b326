/*
 * store_listing.c - the tracking records of a correlator as JSON
 * (contract section 9a, GET /deliveries), read piece by piece.
 *
 * A listing is a cursor: where it is (the id of the last record read) and
 * the text of the rows rendered but not yet taken. The reader takes it in
 * pieces of its size (the HTTP front streams them out), so a listing of
 * 100,000 records never lives in memory whole. Records are read a page at
 * a time (STORE_PAGE_ROWS, by id), each page with a read connection of the
 * pool and a transaction of its own that ends with the page: a client that
 * reads slowly holds no connection, no transaction (nothing keeps the WAL
 * file from being checkpointed) and no slot of anyone else's. Records are
 * only ever appended (and pruned from the oldest), so a listing is every
 * record of the correlator up to the moment its last page was read.
 */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sbuf.h"

#define STORE_PAGE_ROWS 500
#define STORE_ROW_MAX (64 * 1024)     /* one record's text at most */
#define STORE_JSON_MAX (64 * 1024 * 1024)

struct store_cursor {
	struct store *s;
	char *app;                  /* NULL: every application's */
	char *correlator;
	bool with_app, started, done, failed;
	unsigned long rows;
	int64_t last_id;            /* the last record read */
	char *pend;                 /* rendered, not yet taken: pend[off..len) */
	size_t off, len, cap;
};

static void json_col(struct sbuf *b, sqlite3_stmt *st, int col)
{
	const unsigned char *t;

	if (sqlite3_column_type(st, col) == SQLITE_NULL) {
		sbuf_puts(b, "null");
		return;
	}
	t = sqlite3_column_text(st, col);
	sbuf_json_str(b, t ? (const char *)t : "", (size_t)sqlite3_column_bytes(st, col));
}

/* Appends text to the pending text. false when memory is short. */
static bool pend_add(struct store_cursor *c, const char *text, size_t n)
{
	if (c->off > 0 && c->off == c->len)
		c->off = c->len = 0;
	if (c->len + n > c->cap) {
		size_t cap = c->cap ? c->cap : 4096;
		char *p;

		if (c->off > 0) {        /* take back what was taken first */
			memmove(c->pend, c->pend + c->off, c->len - c->off);
			c->len -= c->off;
			c->off = 0;
		}
		while (cap < c->len + n)
			cap *= 2;
		if (cap != c->cap) {
			p = realloc(c->pend, cap);
			if (!p)
				return false;
			c->pend = p;
			c->cap = cap;
		}
	}
	memcpy(c->pend + c->len, text, n);
	c->len += n;
	return true;
}

/* Renders one record of st into the pending text. */
static void render(struct store_cursor *c, sqlite3_stmt *st)
{
	static const char *const names[] = { "event", "correlator", "delivery", "attempt",
					      "result", "time", "endpoint", "detail", "app" };
	struct sbuf b = SBUF_INIT(STORE_ROW_MAX);
	int ncol = c->with_app ? 9 : 8;
	char num[32];
	size_t n;
	char *text;

	sbuf_puts(&b, c->rows++ ? ",{" : "{");
	for (int k = 0; k < ncol; k++) {
		if (k)
			sbuf_puts(&b, ",");
		sbuf_puts(&b, "\"");
		sbuf_puts(&b, names[k]);
		sbuf_puts(&b, "\":");
		if (k == 2 || k == 3) {
			snprintf(num, sizeof(num), "%lld", (long long)sqlite3_column_int64(st, k));
			sbuf_puts(&b, num);
		} else {
			json_col(&b, st, k);
		}
	}
	sbuf_puts(&b, "}");
	text = sbuf_take(&b, &n);
	if (!text || !pend_add(c, text, n)) {
		log_error("store: a tracking record of %s does not fit in %d KiB", c->correlator,
			  STORE_ROW_MAX >> 10);
		c->failed = true;
	}
	free(text);
}

/* Reads the next page (a transaction of its own) into the pending text,
 * or the closing bracket after the last one. */
static int page_fn(sqlite3 *db, void *arg)
{
	struct store_cursor *c = arg;
	sqlite3_stmt *st = NULL;
	int rc, got = 0;

	/* app NULL: every application's (?2 IS NULL) */
	if (sqlite3_prepare_v2(db, "SELECT event, correlator, delivery, attempt, result, time,"
			       " endpoint, detail, app, id FROM deliveries WHERE correlator = ?1"
			       " AND (?2 IS NULL OR app = ?2) AND id > ?3 ORDER BY id LIMIT ?4",
			       -1, &st, NULL) != SQLITE_OK) {
		log_error("store: cannot query the tracking records: %s", sqlite3_errmsg(db));
		return -1;
	}
	sqlite3_bind_text(st, 1, c->correlator, -1, SQLITE_STATIC);
	if (c->app)
		sqlite3_bind_text(st, 2, c->app, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, c->last_id);
	sqlite3_bind_int(st, 4, STORE_PAGE_ROWS);
	while (!c->failed && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		render(c, st);
		c->last_id = sqlite3_column_int64(st, 9);
		got++;
	}
	if (!c->failed && rc != SQLITE_DONE) {
		log_error("store: reading the tracking records of %s: %s", c->correlator,
			  sqlite3_errmsg(db));
		c->failed = true;
	}
	sqlite3_finalize(st);
	return got;
}

static void step(struct store_cursor *c)
{
	int got;

	if (!c->started) {
		c->started = true;
		if (!pend_add(c, "[", 1))
			c->failed = true;
		return;
	}
	got = store_read(c->s, page_fn, c);
	if (got < 0) {
		c->failed = true;
		return;
	}
	if (got < STORE_PAGE_ROWS && !c->failed) {
		c->done = true;
		if (!pend_add(c, "]", 1))
			c->failed = true;
	}
}

struct store_cursor *store_deliveries_open(struct store *s, const char *app,
					   const char *correlator, bool with_app)
{
	struct store_cursor *c;

	if (!s || !correlator)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->s = s;
	c->with_app = with_app;
	c->correlator = strdup(correlator);
	c->app = app ? strdup(app) : NULL;
	if (!c->correlator || (app && !c->app)) {
		store_cursor_close(c);
		return NULL;
	}
	/* the opening bracket and the first page now: a store that cannot be
	 * read is said before an answer has begun */
	step(c);
	step(c);
	if (c->failed) {
		store_cursor_close(c);
		return NULL;
	}
	return c;
}

long store_cursor_read(struct store_cursor *c, char *buf, size_t cap)
{
	size_t n;

	if (cap == 0)
		return -1;
	while (c->len - c->off < cap && !c->done && !c->failed)
		step(c);
	if (c->failed)
		return -1;
	n = c->len - c->off;
	if (n > cap)
		n = cap;
	memcpy(buf, c->pend + c->off, n);
	c->off += n;
	return (long)n;
}

void store_cursor_close(struct store_cursor *c)
{
	if (!c)
		return;
	free(c->app);
	free(c->correlator);
	free(c->pend);
	free(c);
}

int store_deliveries_json(struct store *s, const char *app, const char *correlator, bool with_app,
			  char **json, size_t *len)
{
	struct store_cursor *c;
	struct sbuf b = SBUF_INIT(STORE_JSON_MAX);
	char piece[16384];
	long n;

	*json = NULL;
	if (len)
		*len = 0;
	c = store_deliveries_open(s, app, correlator, with_app);
	if (!c)
		return -1;
	while ((n = store_cursor_read(c, piece, sizeof(piece))) > 0)
		sbuf_putn(&b, piece, (size_t)n);
	store_cursor_close(c);
	if (n < 0) {
		sbuf_free(&b);
		return -1;
	}
	*json = sbuf_take(&b, len);
	if (!*json)
		log_error("store: the tracking records of %s do not fit in %d MiB", correlator,
			  STORE_JSON_MAX >> 20);
	return *json ? 0 : -1;
}
