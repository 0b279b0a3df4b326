/*
 * store_notif.c - running notifications in the store, so that a restart
 * (graceful or not) finds them again: their parameters, the callbacks
 * counted so far, and the status last reported per address. Writes run
 * on the store's writer thread (store_run), loading on a read connection.
 */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static int run(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static void bind_reported(sqlite3_stmt *st, int col, int v)
{
	if (v < 0)
		sqlite3_bind_null(st, col);
	else
		sqlite3_bind_int(st, col, v);
}

static int save_fn(sqlite3 *db, void *arg)
{
	const struct store_notif *n = arg;
	const char *app = n->app ? n->app : "";
	sqlite3_stmt *st = NULL, *sa = NULL, *sc = NULL;
	int rc = -1;

	if (run(db, "BEGIN IMMEDIATE") != 0)
		return -1;
	if (sqlite3_prepare_v2(db, "DELETE FROM notifications WHERE app = ? AND correlator = ?", -1,
			       &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, app, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, n->correlator, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(db, "INSERT INTO notifications (correlator, endpoint, interface_name, "
			       "criteria, frequency_ms, count, sent, style, end_ms, created_ms, app) "
			       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO notification_addresses (correlator, idx, address, "
			       "sip_uri, reported, app) VALUES (?, ?, ?, ?, ?, ?)", -1, &sa,
			       NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, n->correlator, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, n->endpoint, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, n->interface_name ? n->interface_name : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, n->criteria);
	sqlite3_bind_int64(st, 5, n->frequency_ms);
	sqlite3_bind_int64(st, 6, n->count);
	sqlite3_bind_int64(st, 7, n->sent);
	sqlite3_bind_int(st, 8, n->style);
	sqlite3_bind_int64(st, 9, n->end_ms);
	sqlite3_bind_int64(st, 10, n->created_ms);
	sqlite3_bind_text(st, 11, app, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto out;
	for (size_t i = 0; i < n->n; i++) {
		sqlite3_reset(sa);
		sqlite3_bind_text(sa, 1, n->correlator, -1, SQLITE_STATIC);
		sqlite3_bind_int64(sa, 2, (sqlite3_int64)i);
		sqlite3_bind_text(sa, 3, n->addresses[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(sa, 4, n->sip_uris[i], -1, SQLITE_STATIC);
		bind_reported(sa, 5, n->reported ? n->reported[i] : -1);
		sqlite3_bind_text(sa, 6, app, -1, SQLITE_STATIC);
		if (sqlite3_step(sa) != SQLITE_DONE)
			goto out;
	}
	if (n->camara) {
		if (sqlite3_prepare_v2(db, "INSERT INTO camara_subscriptions (app, correlator, data) "
				       "VALUES (?, ?, ?)", -1, &sc, NULL) != SQLITE_OK)
			goto out;
		sqlite3_bind_text(sc, 1, app, -1, SQLITE_STATIC);
		sqlite3_bind_text(sc, 2, n->correlator, -1, SQLITE_STATIC);
		sqlite3_bind_text(sc, 3, n->camara, -1, SQLITE_STATIC);
		if (sqlite3_step(sc) != SQLITE_DONE)
			goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		log_error("store: cannot save notification %s: %s", n->correlator, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_finalize(sa);
	sqlite3_finalize(sc);
	run(db, rc == 0 ? "COMMIT" : "ROLLBACK");
	return rc;
}

int store_notif_save(struct store *s, const struct store_notif *n)
{
	/* a notification has a correlator, an endpoint and addresses (one
	 * without could be saved but never loaded) */
	if (!n || !n->correlator || !n->endpoint || n->n == 0 || !n->addresses || !n->sip_uris)
		return -1;
	return store_run(s, save_fn, (void *)n);
}

struct progress {
	const char *app;
	const char *correlator;
	long sent;
	const int *reported;
	size_t n;
};

static int progress_fn(sqlite3 *db, void *arg)
{
	const struct progress *p = arg;
	sqlite3_stmt *st = NULL, *sa = NULL;
	int rc = -1;

	if (run(db, "BEGIN IMMEDIATE") != 0)
		return -1;
	if (sqlite3_prepare_v2(db, "UPDATE notifications SET sent = ? WHERE correlator = ? AND app = ?",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "UPDATE notification_addresses SET reported = ? "
			       "WHERE correlator = ? AND idx = ? AND app = ?", -1, &sa, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, p->sent);
	sqlite3_bind_text(st, 2, p->correlator, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, p->app, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto out;
	for (size_t i = 0; i < p->n; i++) {
		sqlite3_reset(sa);
		bind_reported(sa, 1, p->reported[i]);
		sqlite3_bind_text(sa, 2, p->correlator, -1, SQLITE_STATIC);
		sqlite3_bind_int64(sa, 3, (sqlite3_int64)i);
		sqlite3_bind_text(sa, 4, p->app, -1, SQLITE_STATIC);
		if (sqlite3_step(sa) != SQLITE_DONE)
			goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		log_error("store: cannot record progress of %s: %s", p->correlator, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_finalize(sa);
	run(db, rc == 0 ? "COMMIT" : "ROLLBACK");
	return rc;
}

int store_notif_progress(struct store *s, const char *app, const char *correlator, long sent,
			 const int *reported, size_t n)
{
	struct progress p = { app ? app : "", correlator, sent, reported, n };

	if (!correlator || (n > 0 && !reported))
		return -1;
	return store_run(s, progress_fn, &p);
}

struct key {
	const char *app, *correlator;
};

static int delete_fn(sqlite3 *db, void *arg)
{
	const struct key *k = arg;
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db, "DELETE FROM notifications WHERE app = ? AND correlator = ?", -1, &st,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, k->app, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, k->correlator, -1, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	}
	if (rc != 0)
		log_error("store: cannot delete notification %s: %s", k->correlator, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc;
}

int store_notif_delete(struct store *s, const char *app, const char *correlator)
{
	struct key k = { app ? app : "", correlator };

	if (!correlator)
		return -1;
	return store_run(s, delete_fn, &k);
}

struct loader {
	store_notif_h *fn;
	void *arg;
};

static char *col_dup(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return strdup(t ? (const char *)t : "");
}

static int load_fn(sqlite3 *db, void *arg)
{
	struct loader *l = arg;
	sqlite3_stmt *st = NULL, *sa = NULL;
	int count = 0;

	if (sqlite3_prepare_v2(db, "SELECT n.correlator, n.endpoint, n.interface_name, n.criteria, "
			       "n.frequency_ms, n.count, n.sent, n.style, n.end_ms, n.created_ms, n.app, c.data "
			       "FROM notifications n LEFT JOIN camara_subscriptions c "
			       "ON c.app = n.app AND c.correlator = n.correlator "
			       "ORDER BY n.created_ms, n.app, n.correlator", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT address, sip_uri, reported FROM notification_addresses "
			       "WHERE app = ? AND correlator = ? ORDER BY idx", -1, &sa, NULL) != SQLITE_OK) {
		log_error("store: cannot read notifications: %s", sqlite3_errmsg(db));
		sqlite3_finalize(st);
		return -1;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct store_notif n = { 0 };
		char *corr = col_dup(st, 0), *ep = col_dup(st, 1), *ifn = col_dup(st, 2);
		char *app = col_dup(st, 10);
		char *cam = sqlite3_column_type(st, 11) == SQLITE_NULL ? NULL : col_dup(st, 11);
		char **addrs = NULL, **uris = NULL;
		int *rep = NULL;
		size_t cap = 0;
		bool oom = !corr || !ep || !ifn || !app ||
			   (sqlite3_column_type(st, 11) != SQLITE_NULL && !cam);

		n.app = app;
		n.camara = cam;
		n.correlator = corr;
		n.endpoint = ep;
		n.interface_name = ifn;
		n.criteria = (unsigned)sqlite3_column_int64(st, 3);
		n.frequency_ms = sqlite3_column_int64(st, 4);
		n.count = (long)sqlite3_column_int64(st, 5);
		n.sent = (long)sqlite3_column_int64(st, 6);
		n.style = sqlite3_column_int(st, 7);
		n.end_ms = sqlite3_column_int64(st, 8);
		n.created_ms = sqlite3_column_int64(st, 9);
		sqlite3_reset(sa);
		sqlite3_bind_text(sa, 1, app, -1, SQLITE_STATIC);
		sqlite3_bind_text(sa, 2, corr, -1, SQLITE_STATIC);
		while (!oom && sqlite3_step(sa) == SQLITE_ROW) {
			if (n.n == cap) {
				size_t nc = cap ? cap * 2 : 8;
				char **na = realloc(addrs, nc * sizeof(*na));
				char **nu = na ? realloc(uris, nc * sizeof(*nu)) : NULL;
				int *nr = nu ? realloc(rep, nc * sizeof(*nr)) : NULL;

				if (na)
					addrs = na;
				if (nu)
					uris = nu;
				if (!nr) {
					oom = true;
					break;
				}
				rep = nr;
				cap = nc;
			}
			addrs[n.n] = col_dup(sa, 0);
			uris[n.n] = col_dup(sa, 1);
			rep[n.n] = sqlite3_column_type(sa, 2) == SQLITE_NULL ? -1 : sqlite3_column_int(sa, 2);
			n.n++;
			if (!addrs[n.n - 1] || !uris[n.n - 1])
				oom = true;
		}
		n.addresses = (const char *const *)addrs;
		n.sip_uris = (const char *const *)uris;
		n.reported = rep;
		if (oom)
			log_error("store: out of memory loading notification %s", corr ? corr : "?");
		else if (n.n == 0)
			log_warn("store: notification %s has no address; ignored", corr);
		else {
			l->fn(&n, l->arg);
			count++;
		}
		for (size_t i = 0; i < n.n; i++) {
			free(addrs[i]);
			free(uris[i]);
		}
		free(addrs);
		free(uris);
		free(rep);
		free(app);
		free(cam);
		free(corr);
		free(ep);
		free(ifn);
	}
	sqlite3_finalize(st);
	sqlite3_finalize(sa);
	return count;
}

int store_notif_load(struct store *s, store_notif_h *fn, void *arg)
{
	struct loader l = { fn, arg };

	if (!fn)
		return -1;
	return store_read(s, load_fn, &l);
}
