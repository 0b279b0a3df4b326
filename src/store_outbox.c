/*
 * store_outbox.c - the outbox of callbacks not yet finished, the writes of
 * tracking records and outbox updates, and the pruning of old tracking
 * records (contract sections 9 and 9a, part 3): the SQL of them. Which
 * thread runs it is store_writer.c's business (the writes) and store.c's
 * (the read connections).
 *
 * The outbox row of a callback is added (and committed) before dlv counts
 * the callback as accepted, updated after each failed attempt and deleted
 * when the callback is finished; whatever is in the outbox at a start is
 * sent again, read in batches by delivery id. Statements are prepared per
 * transaction: a prepare costs a few microseconds.
 *
 * Part of pxtsgw. License: GPL-2.0-or-later.
 */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

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

/* --- one write, committed on return ------------------------------------------ */

int store_outbox_add(struct store *s, const struct store_outbox_row *r)
{
	struct store_op op = { .kind = STORE_OP_ADD, .row = r };

	if (!r || r->delivery == 0 || r->delivery > (uint64_t)INT64_MAX || !r->correlator ||
	    !r->endpoint || !r->payload)
		return -1;
	op.delivery = r->delivery;
	return store_apply(s, &op, 1);
}

int store_outbox_attempts(struct store *s, uint64_t delivery, int attempts)
{
	struct store_op op = { .kind = STORE_OP_ATTEMPTS, .delivery = delivery, .attempt = attempts };

	if (delivery > (uint64_t)INT64_MAX)
		return -1;
	return store_apply(s, &op, 1);
}

int store_outbox_remove(struct store *s, uint64_t delivery)
{
	struct store_op op = { .kind = STORE_OP_REMOVE, .delivery = delivery };

	if (delivery > (uint64_t)INT64_MAX)
		return -1;
	return store_apply(s, &op, 1);
}

/* --- progress of a notification, not waited for -------------------------------------- */

int store_notif_progress_submit(struct store *s, const char *app, const char *correlator, long sent,
				const int *reported, size_t n)
{
	struct store_op op = { .kind = STORE_OP_PROGRESS, .app = app ? app : "", .correlator = correlator,
			       .sent = sent, .reported = reported, .nreported = n };

	if (!s || !correlator || (n > 0 && !reported))
		return -1;
	return store_submit(s, &op, 1) > 0 ? 0 : -1;
}

/* --- reading ------------------------------------------------------------------- */

struct loader {
	store_outbox_h *fn;
	void *arg;
	sqlite3_int64 after;
	int max_rows;
};

static int load_fn(sqlite3 *db, void *arg)
{
	struct loader *l = arg;
	sqlite3_stmt *st = NULL;
	int count = 0, rc;

	if (sqlite3_prepare_v2(db, "SELECT delivery, correlator, endpoint, op, payload, attempts, "
			       "created_ms, app FROM outbox WHERE delivery > ?1 ORDER BY delivery LIMIT ?2",
			       -1, &st, NULL) != SQLITE_OK) {
		log_error("store: cannot read the outbox: %s", sqlite3_errmsg(db));
		return -1;
	}
	sqlite3_bind_int64(st, 1, l->after);
	sqlite3_bind_int(st, 2, l->max_rows);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *corr = sqlite3_column_text(st, 1), *ep = sqlite3_column_text(st, 2);
		const unsigned char *pl = sqlite3_column_text(st, 4), *app = sqlite3_column_text(st, 7);
		sqlite3_int64 id = sqlite3_column_int64(st, 0);
		struct store_outbox_row r;

		count++;   /* of the batch, read or not */
		l->after = id;
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
	}
	if (rc != SQLITE_DONE) {
		log_error("store: reading the outbox: %s", sqlite3_errmsg(db));
		count = -1;
	}
	sqlite3_finalize(st);
	return count;
}

int store_outbox_load(struct store *s, uint64_t *after, int max_rows, store_outbox_h *fn, void *arg)
{
	struct loader l = { fn, arg, 0, max_rows };
	int n;

	if (!s || !fn || !after || max_rows <= 0 || *after > (uint64_t)INT64_MAX)
		return -1;
	l.after = (sqlite3_int64)*after;
	n = store_read(s, load_fn, &l);
	if (n > 0 && l.after > 0)
		*after = (uint64_t)l.after;
	return n;
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
	return s ? atomic_load(&s->outbox_rows) : -1;
}

int store_outbox_max_delivery(struct store *s, uint64_t *max)
{
	struct scalar q = { "SELECT coalesce(max(delivery), 0) FROM outbox", 0 };

	*max = 0;
	if (!s || store_read(s, scalar_fn, &q) != 0)
		return -1;
	*max = q.v > 0 ? (uint64_t)q.v : 0;
	return 0;
}

int store_outbox_oldest_ms(struct store *s, int64_t *created_ms)
{
	/* the lowest delivery id is the oldest row: one step of the primary key */
	struct scalar q = { "SELECT coalesce((SELECT created_ms FROM outbox ORDER BY delivery LIMIT 1), 0)",
			    0 };

	*created_ms = 0;
	if (!s || store_read(s, scalar_fn, &q) != 0)
		return -1;
	*created_ms = q.v;
	return 0;
}

/* --- operations, inside the writer's transaction ------------------------------- */

void store_stmts_free(sqlite3_stmt **stmts)
{
	for (int k = 0; k < STORE_STMTS; k++) {
		sqlite3_finalize(stmts[k]);
		stmts[k] = NULL;
	}
}

int store_ops_apply(sqlite3 *db, sqlite3_stmt **st, const struct store_op *ops, size_t n,
		    long *outbox_delta)
{
	sqlite3_stmt **sa = &st[STORE_STMT_ADDRESSES];
	static const char *const sql[STORE_OP_PROGRESS + 1] = {
		[STORE_OP_TRACK] = "INSERT INTO deliveries (event, correlator, delivery, attempt, result, "
				   "time, endpoint, detail, app) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		[STORE_OP_ATTEMPTS] = "UPDATE outbox SET attempts = ?1 WHERE delivery = ?2",
		[STORE_OP_REMOVE] = "DELETE FROM outbox WHERE delivery = ?1",
		[STORE_OP_ADD] = "INSERT INTO outbox (delivery, correlator, endpoint, op, payload, "
				 "attempts, created_ms, app) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		/* as store_notif.c's store_notif_progress */
		[STORE_OP_PROGRESS] = "UPDATE notifications SET sent = ?1 WHERE correlator = ?2 AND app = ?3",
	};
	char when[40];
	const char *why = NULL;     /* NULL: SQLite's message */
	int rc = -1;
	size_t i;

	*outbox_delta = 0;
	for (i = 0; i < n; i++) {
		const struct store_op *o = &ops[i];
		const struct store_outbox_row *r = o->row;
		sqlite3_stmt *q;

		if (o->kind == STORE_OP_USAGE) {   /* store_usage.c's */
			if (store_usage_insert(db, &st[STORE_OP_USAGE], o->usage) != 0) {
				why = "usage record not written";
				goto out;
			}
			continue;
		}
		if ((unsigned)o->kind > STORE_OP_PROGRESS || o->delivery > (uint64_t)INT64_MAX ||
		    (o->kind == STORE_OP_ADD && (!r || r->delivery == 0 || r->delivery > (uint64_t)INT64_MAX))) {
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
		case STORE_OP_ADD:
			if (!r->correlator || !r->endpoint || !r->payload) {
				why = "incomplete outbox row";
				goto out;
			}
			sqlite3_bind_int64(q, 1, (sqlite3_int64)r->delivery);
			sqlite3_bind_text(q, 2, r->correlator, -1, SQLITE_STATIC);
			sqlite3_bind_text(q, 3, r->endpoint, -1, SQLITE_STATIC);
			sqlite3_bind_int(q, 4, r->op);
			sqlite3_bind_text(q, 5, r->payload, -1, SQLITE_STATIC);
			sqlite3_bind_int(q, 6, r->attempts);
			sqlite3_bind_int64(q, 7, r->created_ms);
			sqlite3_bind_text(q, 8, r->app ? r->app : "", -1, SQLITE_STATIC);
			break;
		case STORE_OP_PROGRESS:
			if (!o->correlator || (o->nreported > 0 && !o->reported)) {
				why = "incomplete progress";
				goto out;
			}
			sqlite3_bind_int64(q, 1, o->sent);
			sqlite3_bind_text(q, 2, o->correlator, -1, SQLITE_STATIC);
			sqlite3_bind_text(q, 3, o->app ? o->app : "", -1, SQLITE_STATIC);
			if (o->nreported > 0 && !*sa &&
			    sqlite3_prepare_v2(db, "UPDATE notification_addresses SET reported = ?1 "
					       "WHERE correlator = ?2 AND idx = ?3 AND app = ?4", -1, sa,
					       NULL) != SQLITE_OK)
				goto out;
			for (size_t k = 0; k < o->nreported; k++) {
				sqlite3_reset(*sa);
				if (o->reported[k] < 0)
					sqlite3_bind_null(*sa, 1);
				else
					sqlite3_bind_int(*sa, 1, o->reported[k]);
				sqlite3_bind_text(*sa, 2, o->correlator, -1, SQLITE_STATIC);
				sqlite3_bind_int64(*sa, 3, (sqlite3_int64)k);
				sqlite3_bind_text(*sa, 4, o->app ? o->app : "", -1, SQLITE_STATIC);
				if (sqlite3_step(*sa) != SQLITE_DONE)
					goto out;
			}
			break;
		case STORE_OP_USAGE:     /* written above */
			break;
		}
		if (sqlite3_step(q) != SQLITE_DONE)
			goto out;
		if (o->kind == STORE_OP_ADD)
			(*outbox_delta)++;
		else if (o->kind == STORE_OP_REMOVE)
			*outbox_delta -= sqlite3_changes(db);
	}
	rc = 0;
out:
	if (rc != 0)
		log_error("store: a submission of %zu write(s) failed at %zu (%s %llu): %s", n, i,
			  i < n && ops[i].kind == STORE_OP_ADD        ? "outbox row"
			  : i < n && ops[i].kind == STORE_OP_PROGRESS ? "progress, delivery"
								      : "delivery",
			  i < n ? (unsigned long long)ops[i].delivery : 0ULL, why ? why : sqlite3_errmsg(db));
	/* kept prepared; the caller's texts are not kept bound */
	for (int k = 0; k < STORE_STMTS; k++)
		if (st[k] && k != STORE_OP_USAGE) {
			sqlite3_reset(st[k]);
			sqlite3_clear_bindings(st[k]);
		}
	if (rc != 0)
		*outbox_delta = 0;
	return rc;
}

/* --- retention ------------------------------------------------------------------- */

int store_prune_step(sqlite3 *db, int64_t older_than_wall_ms, int max_rows)
{
	sqlite3_stmt *st = NULL;
	char cutoff[40];
	int rc = -1;

	if (max_rows <= 0)
		return 0;
	iso_ms(older_than_wall_ms, cutoff, sizeof(cutoff));

	/* the records are appended in time order, so the oldest have the
	 * lowest ids: look at the first max_rows only (a bounded transaction;
	 * the rowid order needs no index on time). ISO times of one
	 * format compare as text. */
	if (sqlite3_prepare_v2(db, "DELETE FROM deliveries WHERE id IN (SELECT id FROM "
			       "(SELECT id, time FROM deliveries ORDER BY id LIMIT ?2) WHERE time < ?1)",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, cutoff, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, max_rows);
		if (sqlite3_step(st) == SQLITE_DONE)
			rc = sqlite3_changes(db);
	}
	if (rc < 0)
		log_error("store: cannot prune tracking records: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc;
}

struct prune {
	int64_t cutoff;
	int max_rows;
};

static int prune_fn(sqlite3 *db, void *arg)
{
	const struct prune *p = arg;

	return store_prune_step(db, p->cutoff, p->max_rows);
}

int store_prune_tracking(struct store *s, int64_t older_than_wall_ms, int max_rows)
{
	struct prune p = { older_than_wall_ms, max_rows };

	if (max_rows <= 0)
		return 0;
	return store_run(s, prune_fn, &p);
}
