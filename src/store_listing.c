/*
 * store_listing.c - the tracking records of a correlator as JSON
 * (contract section 9a, GET /deliveries), read piece by piece.
 *
 * A listing is a cursor: a read-only connection of its own, a statement
 * stepping through the records, and the text of the rows rendered but not
 * yet taken. The reader takes it in pieces of its size (the HTTP front
 * streams them out), so a listing of 100,000 records never lives in memory
 * whole, and nobody's lock is held while it is read: the statement keeps
 * one read transaction, so the listing is the records as they were when it
 * began. At most STORE_CURSORS_MAX listings are open at once, and one is
 * cut (an error) after STORE_CURSOR_MAX_MS, so a client that reads very
 * slowly cannot keep a read transaction (and the WAL file behind it)
 * forever.
 */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mono.h"
#include "sbuf.h"

#define STORE_CURSOR_MAX_MS (10 * 60 * 1000)
#define STORE_ROW_MAX (64 * 1024)     /* one record's text at most */
#define STORE_JSON_MAX (64 * 1024 * 1024)

struct store_cursor {
	struct store *s;
	sqlite3 *db;
	sqlite3_stmt *st;
	bool with_app, started, done, failed;
	int first_rc;               /* the first step's result, taken at open (0: taken) */
	unsigned long rows;
	int64_t deadline;
	char *pend;                 /* rendered, not yet taken: pend[off..len) */
	size_t off, len, cap;
	char correlator[80];        /* for the log */
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

/* Renders the next record (or the closing bracket) into the pending text. */
static void step(struct store_cursor *c)
{
	static const char *const names[] = { "event", "correlator", "delivery", "attempt",
					      "result", "time", "endpoint", "detail", "app" };
	struct sbuf b = SBUF_INIT(STORE_ROW_MAX);
	int ncol = c->with_app ? 9 : 8, rc;
	char num[32];
	size_t n;
	char *text;

	if (!c->started) {
		c->started = true;
		if (!pend_add(c, "[", 1))
			c->failed = true;
		return;
	}
	if (c->first_rc) {
		rc = c->first_rc;
		c->first_rc = 0;
	} else {
		rc = sqlite3_step(c->st);
	}
	if (rc == SQLITE_DONE) {
		c->done = true;
		if (!pend_add(c, "]", 1))
			c->failed = true;
		return;
	}
	if (rc != SQLITE_ROW) {
		log_error("store: reading the tracking records of %s: %s", c->correlator,
			  sqlite3_errmsg(c->db));
		c->failed = true;
		return;
	}
	sbuf_puts(&b, c->rows++ ? ",{" : "{");
	for (int k = 0; k < ncol; k++) {
		if (k)
			sbuf_puts(&b, ",");
		sbuf_puts(&b, "\"");
		sbuf_puts(&b, names[k]);
		sbuf_puts(&b, "\":");
		if (k == 2 || k == 3) {
			snprintf(num, sizeof(num), "%lld", (long long)sqlite3_column_int64(c->st, k));
			sbuf_puts(&b, num);
		} else {
			json_col(&b, c->st, k);
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

struct store_cursor *store_deliveries_open(struct store *s, const char *app,
					   const char *correlator, bool with_app)
{
	struct store_cursor *c;

	if (!s || !correlator)
		return NULL;
	if (atomic_fetch_add(&s->cursors, 1) >= STORE_CURSORS_MAX) {
		atomic_fetch_sub(&s->cursors, 1);
		log_warn("store: %d listings are being read already; one more refused",
			 STORE_CURSORS_MAX);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		atomic_fetch_sub(&s->cursors, 1);
		return NULL;
	}
	c->s = s;
	c->with_app = with_app;
	c->deadline = mono_ms() + STORE_CURSOR_MAX_MS;
	snprintf(c->correlator, sizeof(c->correlator), "%s", correlator);
	c->db = store_reader_get(s);
	/* app NULL: every application's (?2 IS NULL) */
	if (!c->db ||
	    sqlite3_prepare_v2(c->db, "SELECT event, correlator, delivery, attempt, result, time,"
			       " endpoint, detail, app FROM deliveries WHERE correlator = ?1"
			       " AND (?2 IS NULL OR app = ?2) ORDER BY id",
			       -1, &c->st, NULL) != SQLITE_OK) {
		if (c->db)
			log_error("store: cannot query the tracking records: %s", sqlite3_errmsg(c->db));
		store_cursor_close(c);
		return NULL;
	}
	sqlite3_bind_text(c->st, 1, correlator, -1, SQLITE_TRANSIENT);
	if (app)
		sqlite3_bind_text(c->st, 2, app, -1, SQLITE_TRANSIENT);
	/* the first step begins the read transaction: the listing is the
	 * records as they are now, whenever it is read */
	c->first_rc = sqlite3_step(c->st);
	return c;
}

long store_cursor_read(struct store_cursor *c, char *buf, size_t cap)
{
	size_t n;

	if (cap == 0)
		return -1;
	while (c->len - c->off < cap && !c->done && !c->failed) {
		if (mono_ms() > c->deadline) {
			log_warn("store: the listing of %s was read for more than %d s: cut",
				 c->correlator, STORE_CURSOR_MAX_MS / 1000);
			c->failed = true;
			break;
		}
		step(c);
	}
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
	sqlite3_finalize(c->st);
	if (c->db)
		store_reader_put(c->s, c->db);
	atomic_fetch_sub(&c->s->cursors, 1);
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
