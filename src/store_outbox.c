/*
 * store_outbox.c - the outbox of callbacks not yet finished, batched
 * writes of tracking records and outbox updates, and the pruning of old
 * tracking records (contract sections 9 and 9a, part 3).
 *
 * The outbox row of a callback is added (and committed) before dlv counts
 * the callback as accepted, updated after each failed attempt and deleted
 * when the callback is finished; whatever is in the outbox at a start is
 * sent again. Statements are prepared per call: a prepare costs a few
 * microseconds, and the statements of one store_apply are prepared once
 * for the whole batch.
 *
 * Part of pxtsgw. License: GPL-2.0-or-later.
 */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static int run(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* "2024-05-01T12:34:56.789Z" for a wall-clock time in ms (UTC). */
static void iso_ms(int64_t ms, char *buf, size_t cap)
{
	time_t sec = (time_t)(ms / 1000);
	long frac = (long)(ms % 1000);
	struct tm tm;
	size_t n;

	if (frac < 0) {
		frac += 1000;
		sec--;
	}
	gmtime_r(&sec, &tm);
	n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, cap - n, ".%03ldZ", frac);
}

/* --- one row at a time ------------------------------------------------------- */

static int add_fn(sqlite3 *db, void *arg)
{
	const struct store_outbox_row *r = arg;
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db, "INSERT INTO outbox (delivery, correlator, endpoint, op, payload, "
			       "attempts, created_ms, app) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", -1, &st,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)r->delivery);
		sqlite3_bind_text(st, 2, r->correlator, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, r->endpoint, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, r->op);
		sqlite3_bind_text(st, 5, r->payload, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 6, r->attempts);
		sqlite3_bind_int64(st, 7, r->created_ms);
		sqlite3_bind_text(st, 8, r->app ? r->app : "", -1, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	}
	if (rc != 0)
		log_error("store: outbox row %llu for %s not written: %s", (unsigned long long)r->delivery,
			  r->correlator, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc;
}

int store_outbox_add(struct store *s, const struct store_outbox_row *r)
{
	if (!r || r->delivery == 0 || r->delivery > (uint64_t)INT64_MAX || !r->correlator ||
	    !r->endpoint || !r->payload)
		return -1;
	return store_with_db(s, add_fn, (void *)r);
}

/* One statement with up to two integer parameters, autocommitted. */
struct simple {
	const char *sql;
	int64_t a, b;
	int nparams;
	const char *what;
};

static int simple_fn(sqlite3 *db, void *arg)
{
	const struct simple *q = arg;
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db, q->sql, -1, &st, NULL) == SQLITE_OK) {
		if (q->nparams > 0)
			sqlite3_bind_int64(st, 1, q->a);
		if (q->nparams > 1)
			sqlite3_bind_int64(st, 2, q->b);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	}
	if (rc != 0)
		log_error("store: %s: %s", q->what, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc;
}

int store_outbox_attempts(struct store *s, uint64_t delivery, int attempts)
{
	struct simple q = { "UPDATE outbox SET attempts = ?1 WHERE delivery = ?2", attempts,
			    (int64_t)delivery, 2, "cannot update an outbox row" };

	if (delivery > (uint64_t)INT64_MAX)
		return -1;
	return store_with_db(s, simple_fn, &q);
}

int store_outbox_remove(struct store *s, uint64_t delivery)
{
	struct simple q = { "DELETE FROM outbox WHERE delivery = ?1", (int64_t)delivery, 0, 1,
			    "cannot delete an outbox row" };

	if (delivery > (uint64_t)INT64_MAX)
		return -1;
	return store_with_db(s, simple_fn, &q);
}

/* --- reading ------------------------------------------------------------------- */

struct loader {
	store_outbox_h *fn;
	void *arg;
};

static int load_fn(sqlite3 *db, void *arg)
{
	struct loader *l = arg;
	sqlite3_stmt *st = NULL;
	int count = 0, rc;

	if (sqlite3_prepare_v2(db, "SELECT delivery, correlator, endpoint, op, payload, attempts, "
			       "created_ms, app FROM outbox ORDER BY delivery", -1, &st, NULL) != SQLITE_OK) {
		log_error("store: cannot read the outbox: %s", sqlite3_errmsg(db));
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *corr = sqlite3_column_text(st, 1), *ep = sqlite3_column_text(st, 2);
		const unsigned char *pl = sqlite3_column_text(st, 4), *app = sqlite3_column_text(st, 7);
		sqlite3_int64 id = sqlite3_column_int64(st, 0);
		struct store_outbox_row r;

		if (id <= 0 || !corr || !ep || !pl) {
			log_warn("store: outbox row %lld is incomplete; ignored", (long long)id);
			continue;
		}
		r.delivery = (uint64_t)id;
		r.app = app ? (const char *)app : "";
		r.correlator = (const char *)corr;
		r.endpoint = (const char *)ep;
		r.op = sqlite3_column_int(st, 3);
		r.payload = (const char *)pl;
		r.attempts = sqlite3_column_int(st, 5);
		r.created_ms = sqlite3_column_int64(st, 6);
		l->fn(&r, l->arg);
		count++;
	}
	if (rc != SQLITE_DONE) {
		log_error("store: reading the outbox: %s", sqlite3_errmsg(db));
		count = -1;
	}
	sqlite3_finalize(st);
	return count;
}

int store_outbox_load(struct store *s, store_outbox_h *fn, void *arg)
{
	struct loader l = { fn, arg };

	if (!fn)
		return -1;
	return store_with_db(s, load_fn, &l);
}

/* SELECT of one integer into *(int64_t *)arg; 0 or -1. */
struct scalar {
	const char *sql;
	int64_t v;
};

static int scalar_fn(sqlite3 *db, void *arg)
{
	struct scalar *q = arg;
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db, q->sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
		q->v = sqlite3_column_int64(st, 0);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

long store_outbox_count(struct store *s)
{
	struct scalar q = { "SELECT count(*) FROM outbox", 0 };

	if (store_with_db(s, scalar_fn, &q) != 0)
		return -1;
	return (long)q.v;
}

int store_outbox_max_delivery(struct store *s, uint64_t *max)
{
	struct scalar q = { "SELECT coalesce(max(delivery), 0) FROM outbox", 0 };

	*max = 0;
	if (store_with_db(s, scalar_fn, &q) != 0)
		return -1;
	*max = q.v > 0 ? (uint64_t)q.v : 0;
	return 0;
}

/* --- batches ------------------------------------------------------------------- */

struct batch {
	const struct store_op *ops;
	size_t n;
};

static int apply_fn(sqlite3 *db, void *arg)
{
	const struct batch *b = arg;
	sqlite3_stmt *st[3] = { NULL, NULL, NULL };
	static const char *const sql[3] = {
		[STORE_OP_TRACK] = "INSERT INTO deliveries (event, correlator, delivery, attempt, result, "
				   "time, endpoint, detail, app) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		[STORE_OP_ATTEMPTS] = "UPDATE outbox SET attempts = ?1 WHERE delivery = ?2",
		[STORE_OP_REMOVE] = "DELETE FROM outbox WHERE delivery = ?1",
	};
	char when[40];
	const char *why = NULL;     /* NULL: SQLite's message */
	int rc = -1;
	size_t i;

	if (run(db, "BEGIN IMMEDIATE") != 0) {
		log_error("store: cannot begin a batch of %zu writes: %s", b->n, sqlite3_errmsg(db));
		return -1;
	}
	for (i = 0; i < b->n; i++) {
		const struct store_op *o = &b->ops[i];
		sqlite3_stmt *q;

		if ((unsigned)o->kind > STORE_OP_REMOVE || o->delivery > (uint64_t)INT64_MAX) {
			why = "invalid write";
			goto out;
		}
		if (!st[o->kind] && sqlite3_prepare_v2(db, sql[o->kind], -1, &st[o->kind], NULL) != SQLITE_OK)
			goto out;
		q = st[o->kind];
		sqlite3_reset(q);
		sqlite3_clear_bindings(q);
		switch (o->kind) {
		case STORE_OP_TRACK:
			if (!o->event || !o->correlator || !o->endpoint) {
				why = "incomplete tracking record";
				goto out;
			}
			iso_ms(o->time_ms, when, sizeof(when));
			sqlite3_bind_text(q, 1, o->event, -1, SQLITE_STATIC);
			sqlite3_bind_text(q, 2, o->correlator, -1, SQLITE_STATIC);
			sqlite3_bind_int64(q, 3, (sqlite3_int64)o->delivery);
			sqlite3_bind_int(q, 4, o->attempt);
			sqlite3_bind_text(q, 5, o->delivered ? "delivered" : "failed", -1, SQLITE_STATIC);
			sqlite3_bind_text(q, 6, when, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(q, 7, o->endpoint, -1, SQLITE_STATIC);
			if (o->detail)
				sqlite3_bind_text(q, 8, o->detail, -1, SQLITE_STATIC);
			else
				sqlite3_bind_null(q, 8);
			sqlite3_bind_text(q, 9, o->app ? o->app : "", -1, SQLITE_STATIC);
			break;
		case STORE_OP_ATTEMPTS:
			sqlite3_bind_int(q, 1, o->attempt);
			sqlite3_bind_int64(q, 2, (sqlite3_int64)o->delivery);
			break;
		case STORE_OP_REMOVE:
			sqlite3_bind_int64(q, 1, (sqlite3_int64)o->delivery);
			break;
		}
		if (sqlite3_step(q) != SQLITE_DONE)
			goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		log_error("store: a batch of %zu writes failed at %zu: %s", b->n, i,
			  why ? why : sqlite3_errmsg(db));
	for (int k = 0; k < 3; k++)
		sqlite3_finalize(st[k]);
	if (rc == 0 && run(db, "COMMIT") != 0) {
		log_error("store: cannot commit a batch of %zu writes: %s", b->n, sqlite3_errmsg(db));
		rc = -1;
	}
	if (rc != 0)
		run(db, "ROLLBACK");
	return rc;
}

int store_apply(struct store *s, const struct store_op *ops, size_t n)
{
	struct batch b = { ops, n };

	if (n == 0)
		return 0;
	if (!ops)
		return -1;
	return store_with_db(s, apply_fn, &b);
}

/* --- retention ------------------------------------------------------------------- */

struct prune {
	char cutoff[40];
	int max_rows;
};

static int prune_fn(sqlite3 *db, void *arg)
{
	const struct prune *p = arg;
	sqlite3_stmt *st = NULL;
	int rc = -1;

	/* the records are appended in time order, so the oldest have the
	 * lowest ids: look at the first max_rows only (bounded work under the
	 * lock; the rowid order needs no index on time). ISO times of one
	 * format compare as text. */
	if (sqlite3_prepare_v2(db, "DELETE FROM deliveries WHERE id IN (SELECT id FROM "
			       "(SELECT id, time FROM deliveries ORDER BY id LIMIT ?2) WHERE time < ?1)",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, p->cutoff, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, p->max_rows);
		if (sqlite3_step(st) == SQLITE_DONE)
			rc = sqlite3_changes(db);
	}
	if (rc < 0)
		log_error("store: cannot prune tracking records: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc;
}

int store_prune_tracking(struct store *s, int64_t older_than_wall_ms, int max_rows)
{
	struct prune p;

	if (max_rows <= 0)
		return 0;
	iso_ms(older_than_wall_ms, p.cutoff, sizeof(p.cutoff));
	p.max_rows = max_rows;
	return store_with_db(s, prune_fn, &p);
}
