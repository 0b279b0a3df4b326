/*
 * test_store_notif.c - running notifications in the store (store_notif.c):
 * store_notif_save, store_notif_progress, store_notif_delete,
 * store_notif_load and store_wall_ms.
 *
 * Every check compares exact values: what a load gives is copied out of
 * the callback (its strings live during the call only) and compared field
 * by field with what was saved. Covered: one notification and every field,
 * extreme values, the load order, many notifications and many addresses,
 * progress (all, some, none, unknown correlator, one correlator only),
 * delete (cascade to the addresses), a correlator saved twice (the second
 * replaces the first whole), a failed save that leaves the earlier one
 * untouched, NULL and invalid arguments, quotes, SQL, control characters
 * and UTF-8 in every string, rows the loader must skip, threads, and
 * durability: a close/reopen, a second connection while the first is
 * open, and a process killed with SIGKILL right after its writes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "tmpstore.h"

/* Same values as notif.h / ts.h (not linked: only the numbers matter). */
#define CRIT(st) (1u << (unsigned)(st))
enum { REACHABLE = 0, UNREACHABLE = 1, BUSY = 2 };
enum { STYLE_NOTIFICATION = 0, STYLE_CHANGED = 1 };

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* --- fixture ------------------------------------------------------------- */


/* Closes the store and opens the file again. */
static void reopen(struct tmpstore *t)
{
	store_close(t->s);
	t->s = NULL;
	t->s = tmpstore_open_ok(t->db);
}

/* --- what a load gives, copied out of the callback ------------------------ */

struct copy {
	char *app, *correlator, *endpoint, *interface_name;
	char *camara;               /* a CAMARA subscription's data, or NULL */
	unsigned criteria;
	int64_t frequency_ms;
	long count, sent;
	int style;
	int64_t end_ms, created_ms;
	size_t n;
	char **addresses, **sip_uris;
	int *reported;
	bool addresses_null, sip_uris_null, reported_null;   /* as the callback saw them */
};

struct loaded {
	size_t n, cap;
	struct copy *v;
	bool oom;
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* The load callback: copies (no cmocka assertion here: the store's lock
 * is held and its statements are open while it runs). */
static void collect(const struct store_notif *sn, void *arg)
{
	struct loaded *l = arg;
	struct copy *c;

	if (l->oom)
		return;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 8;
		struct copy *nv = realloc(l->v, nc * sizeof(*nv));

		if (!nv) {
			l->oom = true;
			return;
		}
		l->v = nv;
		l->cap = nc;
	}
	c = &l->v[l->n++];
	memset(c, 0, sizeof(*c));
	c->app = dup_or_null(sn->app);
	c->correlator = dup_or_null(sn->correlator);
	c->endpoint = dup_or_null(sn->endpoint);
	c->interface_name = dup_or_null(sn->interface_name);
	c->camara = dup_or_null(sn->camara);
	c->criteria = sn->criteria;
	c->frequency_ms = sn->frequency_ms;
	c->count = sn->count;
	c->sent = sn->sent;
	c->style = sn->style;
	c->end_ms = sn->end_ms;
	c->created_ms = sn->created_ms;
	c->n = sn->n;
	c->addresses_null = !sn->addresses;
	c->sip_uris_null = !sn->sip_uris;
	c->reported_null = !sn->reported;
	c->addresses = calloc(sn->n ? sn->n : 1, sizeof(char *));
	c->sip_uris = calloc(sn->n ? sn->n : 1, sizeof(char *));
	c->reported = calloc(sn->n ? sn->n : 1, sizeof(int));
	if (!c->addresses || !c->sip_uris || !c->reported) {
		l->oom = true;
		return;
	}
	for (size_t i = 0; i < sn->n; i++) {
		c->addresses[i] = sn->addresses ? dup_or_null(sn->addresses[i]) : NULL;
		c->sip_uris[i] = sn->sip_uris ? dup_or_null(sn->sip_uris[i]) : NULL;
		c->reported[i] = sn->reported ? sn->reported[i] : INT_MIN;
	}
}

static void loaded_free(struct loaded *l)
{
	for (size_t k = 0; k < l->n; k++) {
		struct copy *c = &l->v[k];

		for (size_t i = 0; i < c->n && c->addresses && c->sip_uris; i++) {
			free(c->addresses[i]);
			free(c->sip_uris[i]);
		}
		free(c->addresses);
		free(c->sip_uris);
		free(c->reported);
		free(c->app);
		free(c->correlator);
		free(c->endpoint);
		free(c->interface_name);
		free(c->camara);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Loads everything; the return value of store_notif_load must be the
 * number of callbacks. */
static void load_all(struct store *s, struct loaded *l)
{
	int rc;

	memset(l, 0, sizeof(*l));
	rc = store_notif_load(s, collect, l);
	assert_false(l->oom);
	assert_int_equal(rc, (int)l->n);
}

/* What a load must give for what was saved: every field exactly; a NULL
 * interface_name comes back as "", a NULL reported array or a negative
 * reported value as -1 (not known). */
static void assert_same(const struct store_notif *want, const struct copy *got)
{
	assert_non_null(got->app);
	assert_string_equal(got->app, want->app ? want->app : "");
	assert_non_null(got->correlator);
	assert_string_equal(got->correlator, want->correlator);
	assert_non_null(got->endpoint);
	assert_string_equal(got->endpoint, want->endpoint);
	assert_non_null(got->interface_name);
	assert_string_equal(got->interface_name, want->interface_name ? want->interface_name : "");
	assert_int_equal(got->criteria, want->criteria);
	assert_int_equal(got->frequency_ms, want->frequency_ms);
	assert_int_equal(got->count, want->count);
	assert_int_equal(got->sent, want->sent);
	assert_int_equal(got->style, want->style);
	assert_int_equal(got->end_ms, want->end_ms);
	assert_int_equal(got->created_ms, want->created_ms);
	assert_int_equal(got->n, want->n);
	assert_false(got->addresses_null);
	assert_false(got->sip_uris_null);
	assert_false(got->reported_null);
	for (size_t i = 0; i < want->n; i++) {
		int r = want->reported ? want->reported[i] : -1;

		assert_non_null(got->addresses[i]);
		assert_string_equal(got->addresses[i], want->addresses[i]);
		assert_non_null(got->sip_uris[i]);
		assert_string_equal(got->sip_uris[i], want->sip_uris[i]);
		assert_int_equal(got->reported[i], r < 0 ? -1 : r);
	}
}

/* The one saved notification a load gives. */
static void assert_only(struct store *s, const struct store_notif *want)
{
	struct loaded l;

	load_all(s, &l);
	assert_int_equal(l.n, 1);
	assert_same(want, &l.v[0]);
	loaded_free(&l);
}

static int count_loaded(struct store *s)
{
	struct loaded l;
	int n;

	load_all(s, &l);
	n = (int)l.n;
	loaded_free(&l);
	return n;
}

/* --- the file, read directly ----------------------------------------------- */

/* One integer from sql (with ?1 = text arg, may be NULL) on a connection
 * of its own: what another process would read now. */
static long long raw_int(const char *path, const char *sql, const char *arg)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long v;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (arg)
		assert_int_equal(sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static long long n_address_rows(const char *path, const char *correlator)
{
	return raw_int(path, "SELECT count(*) FROM notification_addresses WHERE correlator = ?1",
		       correlator);
}

static void raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* --- a generated notification (owned strings) ------------------------------ */

struct gen {
	char corr[64], ep[96], ifn[32];
	char **addrs, **uris;
	int *rep;
	struct store_notif sn;
};

/* Notification k with naddr addresses; every field derived from k. */
static void gen_make(struct gen *g, const char *prefix, int k, size_t naddr)
{
	memset(g, 0, sizeof(*g));
	snprintf(g->corr, sizeof(g->corr), "%s-%04d", prefix, k);
	snprintf(g->ep, sizeof(g->ep), "http://127.0.0.1:%d/cb/%d?x=\"%d\"", 10000 + k, k, k);
	snprintf(g->ifn, sizeof(g->ifn), "if-%d", k);
	g->addrs = calloc(naddr ? naddr : 1, sizeof(char *));
	g->uris = calloc(naddr ? naddr : 1, sizeof(char *));
	g->rep = calloc(naddr ? naddr : 1, sizeof(int));
	assert_non_null(g->addrs);
	assert_non_null(g->uris);
	assert_non_null(g->rep);
	for (size_t i = 0; i < naddr; i++) {
		g->addrs[i] = malloc(64);
		g->uris[i] = malloc(96);
		assert_non_null(g->addrs[i]);
		assert_non_null(g->uris[i]);
		if (i % 3 == 2) {
			snprintf(g->addrs[i], 64, "tel:+1555%03d%04zu", k % 1000, i);
			snprintf(g->uris[i], 96, "sip:+1555%03d%04zu@127.0.0.1;user=phone", k % 1000, i);
		} else {
			snprintf(g->addrs[i], 64, "sip:user%zu.%d@example.com", i, k);
			snprintf(g->uris[i], 96, "sip:user%zu.%d@example.com", i, k);
		}
		g->rep[i] = (int)((i + (size_t)k) % 4) - 1;     /* -1, 0, 1, 2 */
	}
	g->sn = (struct store_notif){
		.correlator = g->corr,
		.endpoint = g->ep,
		.interface_name = g->ifn,
		.criteria = (unsigned)k % 8,
		.frequency_ms = (int64_t)k * 1000,
		.count = k % 5 == 0 ? 0 : k,
		.sent = k / 2,
		.style = k % 2,
		.end_ms = 1893456000000LL + k,
		.created_ms = 1714566896000LL + (int64_t)k * 7,
		.n = naddr,
		.addresses = (const char *const *)g->addrs,
		.sip_uris = (const char *const *)g->uris,
		.reported = g->rep,
	};
}

static void gen_free(struct gen *g)
{
	for (size_t i = 0; i < g->sn.n; i++) {
		free(g->addrs[i]);
		free(g->uris[i]);
	}
	free(g->addrs);
	free(g->uris);
	free(g->rep);
}

/* --- tests ----------------------------------------------------------------- */

static void test_wall_ms(void **state)
{
	struct timespec a, b;
	int64_t ms, lo, hi;

	(void)state;
	clock_gettime(CLOCK_REALTIME, &a);
	ms = store_wall_ms();
	clock_gettime(CLOCK_REALTIME, &b);
	lo = (int64_t)a.tv_sec * 1000 + a.tv_nsec / 1000000;
	hi = (int64_t)b.tv_sec * 1000 + b.tv_nsec / 1000000;
	/* milliseconds since the epoch, truncated, read between a and b */
	assert_true(ms >= lo);
	assert_true(ms <= hi);
	/* after 2020-01-01, before 2200-01-01: milliseconds, not seconds or us */
	assert_true(ms > 1577836800000LL);
	assert_true(ms < 7258118400000LL);
}

static void test_empty_store(void **state)
{
	struct tmpstore *t = *state;
	struct loaded l;

	load_all(t->s, &l);
	assert_int_equal(l.n, 0);
	loaded_free(&l);
	assert_int_equal(raw_int(t->db, "SELECT count(*) FROM notifications", NULL), 0);
}

static void test_save_load_every_field(void **state)
{
	struct tmpstore *t = *state;
	static const char *const addrs[] = {
		"sip:alice@example.com", "tel:+15550100", "sips:bob@example.org;transport=tcp",
	};
	static const char *const uris[] = {
		"sip:alice@example.com", "sip:+15550100@127.0.0.1;user=phone",
		"sips:bob@example.org;transport=tcp",
	};
	static const int rep[] = { -1, BUSY, UNREACHABLE };
	const struct store_notif n = {
		.correlator = "corr-1",
		.endpoint = "http://127.0.0.1:9090/cb",
		.interface_name = "TerminalStatusNotification",
		.criteria = CRIT(BUSY) | CRIT(UNREACHABLE),
		.frequency_ms = 86400123456LL,          /* beyond 32 bits */
		.count = 1000,
		.sent = 7,
		.style = STYLE_CHANGED,
		.end_ms = 1893456000123LL,
		.created_ms = 1714566896789LL,
		.n = 3,
		.addresses = addrs,
		.sip_uris = uris,
		.reported = rep,
	};

	assert_int_equal(store_notif_save(t->s, &n), 0);
	assert_only(t->s, &n);
	/* loading does not consume: the same again */
	assert_only(t->s, &n);
	/* what is in the file, column by column */
	assert_int_equal(raw_int(t->db, "SELECT count(*) FROM notifications", NULL), 1);
	assert_int_equal(n_address_rows(t->db, "corr-1"), 3);
	assert_int_equal(raw_int(t->db, "SELECT count(*) FROM notification_addresses WHERE "
				 "correlator = ?1 AND reported IS NULL", "corr-1"), 1);
	assert_int_equal(raw_int(t->db, "SELECT frequency_ms FROM notifications WHERE correlator = ?1",
				 "corr-1"), 86400123456LL);
}

static void test_extreme_values(void **state)
{
	struct tmpstore *t = *state;
	static const char *const addrs[] = { "sip:a@x", "sip:b@x", "sip:c@x", "sip:d@x" };
	static const int rep_in[] = { INT_MAX, -7, 0, INT_MIN };
	struct store_notif n = {
		.correlator = "x",
		.endpoint = "",                    /* empty strings are values too */
		.interface_name = "",
		.criteria = UINT_MAX,
		.frequency_ms = INT64_MAX,
		.count = LONG_MAX,
		.sent = LONG_MAX,
		.style = INT_MAX,
		.end_ms = INT64_MIN,
		.created_ms = -1,
		.n = 4,
		.addresses = addrs,
		.sip_uris = addrs,
		.reported = rep_in,
	};
	struct loaded l;

	assert_int_equal(store_notif_save(t->s, &n), 0);
	load_all(t->s, &l);
	assert_int_equal(l.n, 1);
	/* negative reported values (any of them) come back as -1 */
	assert_same(&n, &l.v[0]);
	assert_int_equal(l.v[0].reported[0], INT_MAX);
	assert_int_equal(l.v[0].reported[1], -1);
	assert_int_equal(l.v[0].reported[2], 0);
	assert_int_equal(l.v[0].reported[3], -1);
	loaded_free(&l);

	/* the other ends */
	n.criteria = 0;
	n.frequency_ms = INT64_MIN;
	n.count = LONG_MIN;
	n.sent = 0;
	n.style = INT_MIN;
	n.end_ms = INT64_MAX;
	n.created_ms = 0;
	assert_int_equal(store_notif_save(t->s, &n), 0);
	assert_only(t->s, &n);
}

static void test_optional_fields(void **state)
{
	struct tmpstore *t = *state;
	static const char *const addrs[] = { "sip:a@x", "sip:b@x" };
	const struct store_notif n = {
		.correlator = "opt", .endpoint = "http://e/", .interface_name = NULL,
		.criteria = 0, .frequency_ms = 0, .count = 0, .sent = 0, .style = STYLE_NOTIFICATION,
		.end_ms = 5, .created_ms = 4, .n = 2, .addresses = addrs, .sip_uris = addrs,
		.reported = NULL,
	};
	struct loaded l;

	/* no interface name: "", no reported array: every status not known */
	assert_int_equal(store_notif_save(t->s, &n), 0);
	load_all(t->s, &l);
	assert_int_equal(l.n, 1);
	assert_same(&n, &l.v[0]);
	assert_string_equal(l.v[0].interface_name, "");
	assert_int_equal(l.v[0].reported[0], -1);
	assert_int_equal(l.v[0].reported[1], -1);
	loaded_free(&l);
	assert_int_equal(raw_int(t->db, "SELECT count(*) FROM notification_addresses WHERE "
				 "correlator = ?1 AND reported IS NULL", "opt"), 2);
}

static void test_load_order(void **state)
{
	struct tmpstore *t = *state;
	/* saved in this order; created_ms says which is oldest */
	static const struct { const char *corr; int64_t created; } in[] = {
		{ "m", 3000 }, { "z", 1000 }, { "a", 5000 }, { "q", 2000 }, { "b", 4000 },
	};
	static const char *const want[] = { "z", "q", "m", "b", "a" };
	static const char *const addr[] = { "sip:o@x" };
	struct loaded l;

	for (size_t i = 0; i < N_OF(in); i++) {
		struct store_notif n = {
			.correlator = in[i].corr, .endpoint = "http://e/", .interface_name = in[i].corr,
			.end_ms = 99, .created_ms = in[i].created, .n = 1, .addresses = addr,
			.sip_uris = addr,
		};

		assert_int_equal(store_notif_save(t->s, &n), 0);
	}
	load_all(t->s, &l);
	assert_int_equal(l.n, N_OF(want));
	for (size_t i = 0; i < N_OF(want); i++) {
		assert_string_equal(l.v[i].correlator, want[i]);
		assert_string_equal(l.v[i].interface_name, want[i]);
	}
	loaded_free(&l);
}

static void test_load_many(void **state)
{
	struct tmpstore *t = *state;
	enum { N = 300 };
	struct gen *g = calloc(N, sizeof(*g));
	struct gen big;
	struct loaded l;

	assert_non_null(g);
	/* saved newest first: the load must give them oldest first */
	for (int k = N - 1; k >= 0; k--) {
		gen_make(&g[k], "many", k, (size_t)(k % 37) + 1);   /* 1..37 addresses */
		assert_int_equal(store_notif_save(t->s, &g[k].sn), 0);
	}
	/* one with many addresses, created after all the others */
	gen_make(&big, "big", 100000, 1000);
	assert_int_equal(store_notif_save(t->s, &big.sn), 0);

	load_all(t->s, &l);
	assert_int_equal(l.n, N + 1);
	for (int k = 0; k < N; k++)
		assert_same(&g[k].sn, &l.v[k]);
	assert_same(&big.sn, &l.v[N]);
	loaded_free(&l);
	assert_int_equal(raw_int(t->db, "SELECT count(*) FROM notifications", NULL), N + 1);

	for (int k = 0; k < N; k++)
		gen_free(&g[k]);
	gen_free(&big);
	free(g);
}

/* store_notif_progress, or (progress_submitted) store_notif_progress_submit
 * and then store_sync: the same rows either way. */
static bool progress_submitted;

static int progress(struct store *s, const char *corr, long sent, const int *rep, size_t n)
{
	int rc;

	if (!progress_submitted)
		return store_notif_progress(s, NULL, corr, sent, rep, n);
	rc = store_notif_progress_submit(s, NULL, corr, sent, rep, n);
	store_sync(s);
	return rc;
}

static void progress_test(void **state)
{
	struct tmpstore *t = *state;
	struct gen a, b;
	int rep[5];

	gen_make(&a, "prog", 1, 3);
	gen_make(&b, "prog", 2, 3);
	a.sn.created_ms = 1;
	b.sn.created_ms = 2;
	a.sn.sent = 0;
	a.rep[0] = a.rep[1] = a.rep[2] = -1;
	assert_int_equal(store_notif_save(t->s, &a.sn), 0);
	assert_int_equal(store_notif_save(t->s, &b.sn), 0);

	/* every address */
	rep[0] = BUSY;
	rep[1] = -1;
	rep[2] = REACHABLE;
	assert_int_equal(progress(t->s, a.corr, 3, rep, 3), 0);
	a.sn.sent = 3;
	memcpy(a.rep, rep, 3 * sizeof(int));
	{
		struct loaded l;

		load_all(t->s, &l);
		assert_int_equal(l.n, 2);
		assert_same(&a.sn, &l.v[0]);
		assert_same(&b.sn, &l.v[1]);     /* the other one untouched */
		loaded_free(&l);
	}

	/* the first addresses only: the rest keep their status */
	rep[0] = UNREACHABLE;
	assert_int_equal(progress(t->s, a.corr, 4, rep, 1), 0);
	a.sn.sent = 4;
	a.rep[0] = UNREACHABLE;
	{
		struct loaded l;

		load_all(t->s, &l);
		assert_same(&a.sn, &l.v[0]);
		assert_same(&b.sn, &l.v[1]);
		loaded_free(&l);
	}

	/* no address (reported may then be NULL): the count only */
	assert_int_equal(progress(t->s, a.corr, 5, NULL, 0), 0);
	a.sn.sent = 5;
	/* a known status back to not known */
	rep[0] = -1;
	rep[1] = BUSY;
	rep[2] = -1;
	assert_int_equal(progress(t->s, a.corr, 5, rep, 3), 0);
	memcpy(a.rep, rep, 3 * sizeof(int));
	{
		struct loaded l;

		load_all(t->s, &l);
		assert_same(&a.sn, &l.v[0]);
		assert_same(&b.sn, &l.v[1]);
		loaded_free(&l);
	}

	/* more statuses than addresses: the extra ones are dropped, no row is
	 * added */
	rep[0] = REACHABLE;
	rep[1] = REACHABLE;
	rep[2] = REACHABLE;
	rep[3] = BUSY;
	rep[4] = BUSY;
	assert_int_equal(progress(t->s, a.corr, 6, rep, 5), 0);
	a.sn.sent = 6;
	memcpy(a.rep, rep, 3 * sizeof(int));
	assert_int_equal(n_address_rows(t->db, a.corr), 3);
	{
		struct loaded l;

		load_all(t->s, &l);
		assert_same(&a.sn, &l.v[0]);
		assert_same(&b.sn, &l.v[1]);
		loaded_free(&l);
	}

	/* a correlator that is not saved: no error, nothing created */
	assert_int_equal(progress(t->s, "prog-9999", 1, rep, 3), 0);
	assert_int_equal(raw_int(t->db, "SELECT count(*) FROM notifications", NULL), 2);
	assert_int_equal(n_address_rows(t->db, "prog-9999"), 0);

	/* progress survives a reopen */
	reopen(t);
	{
		struct loaded l;

		load_all(t->s, &l);
		assert_int_equal(l.n, 2);
		assert_same(&a.sn, &l.v[0]);
		assert_same(&b.sn, &l.v[1]);
		loaded_free(&l);
	}
	gen_free(&a);
	gen_free(&b);
}

static void test_progress(void **state)
{
	progress_submitted = false;
	progress_test(state);
}

static void test_progress_submitted(void **state)
{
	progress_submitted = true;
	progress_test(state);
	progress_submitted = false;
	/* what is invalid is not submitted */
	assert_int_equal(store_notif_progress_submit(NULL, NULL, "x", 1, NULL, 0), -1);
	assert_int_equal(store_notif_progress_submit(((struct tmpstore *)*state)->s, NULL, NULL, 1, NULL, 0), -1);
	assert_int_equal(store_notif_progress_submit(((struct tmpstore *)*state)->s, NULL, "x", 1, NULL, 2), -1);
}

static void test_delete(void **state)
{
	struct tmpstore *t = *state;
	struct gen g[3];
	struct loaded l;

	for (int k = 0; k < 3; k++) {
		gen_make(&g[k], "del", k, 4);
		assert_int_equal(store_notif_save(t->s, &g[k].sn), 0);
	}
	assert_int_equal(store_notif_delete(t->s, NULL, g[1].corr), 0);
	load_all(t->s, &l);
	assert_int_equal(l.n, 2);
	assert_same(&g[0].sn, &l.v[0]);
	assert_same(&g[2].sn, &l.v[1]);
	loaded_free(&l);
	/* its addresses went with it (ON DELETE CASCADE) */
	assert_int_equal(n_address_rows(t->db, g[1].corr), 0);
	assert_int_equal(n_address_rows(t->db, g[0].corr), 4);

	/* again, and a correlator never saved: no error, nothing else goes */
	assert_int_equal(store_notif_delete(t->s, NULL, g[1].corr), 0);
	assert_int_equal(store_notif_delete(t->s, NULL, "del-never"), 0);
	assert_int_equal(store_notif_delete(t->s, NULL, ""), 0);
	assert_int_equal(count_loaded(t->s), 2);

	/* progress of a deleted one does not bring it back */
	assert_int_equal(store_notif_progress(t->s, NULL, g[1].corr, 9, g[1].rep, 4), 0);
	assert_int_equal(count_loaded(t->s), 2);
	assert_int_equal(n_address_rows(t->db, g[1].corr), 0);

	/* a deleted correlator may be saved again */
	g[1].sn.sent = 42;
	assert_int_equal(store_notif_save(t->s, &g[1].sn), 0);
	load_all(t->s, &l);
	assert_int_equal(l.n, 3);
	assert_same(&g[1].sn, &l.v[1]);
	loaded_free(&l);

	/* everything */
	for (int k = 0; k < 3; k++)
		assert_int_equal(store_notif_delete(t->s, NULL, g[k].corr), 0);
	assert_int_equal(count_loaded(t->s), 0);
	assert_int_equal(raw_int(t->db, "SELECT count(*) FROM notification_addresses", NULL), 0);

	reopen(t);
	assert_int_equal(count_loaded(t->s), 0);
	for (int k = 0; k < 3; k++)
		gen_free(&g[k]);
}

/* A CAMARA subscription's data (contract section 12) goes with its
 * notification: saved in the same transaction, loaded with it, replaced
 * with it, deleted with it; a notification without has none. */
static void test_camara(void **state)
{
	struct tmpstore *t = *state;
	struct gen g[3];
	struct loaded l;
	const char *data = "{\"type\":1,\"phone\":\"+15550100\",\"bearer\":\"t'o\\\"k\"}";

	for (int k = 0; k < 3; k++)
		gen_make(&g[k], "cam", k, 1);
	g[0].sn.camara = data;
	g[2].sn.camara = "second";
	for (int k = 0; k < 3; k++)
		assert_int_equal(store_notif_save(t->s, &g[k].sn), 0);
	load_all(t->s, &l);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].camara, data);
	assert_null(l.v[1].camara);
	assert_string_equal(l.v[2].camara, "second");
	loaded_free(&l);
	assert_int_equal(raw_int(t->db, "SELECT count(*) FROM camara_subscriptions WHERE ?1 IS NOT NULL", "x"), 2);
	/* saved again (same application and correlator): replaced, also
	 * when it is no longer one */
	g[2].sn.camara = NULL;
	assert_int_equal(store_notif_save(t->s, &g[2].sn), 0);
	assert_int_equal(raw_int(t->db, "SELECT count(*) FROM camara_subscriptions WHERE ?1 IS NOT NULL", "x"), 1);
	/* deleted with its notification (ON DELETE CASCADE) */
	assert_int_equal(store_notif_delete(t->s, NULL, g[0].corr), 0);
	assert_int_equal(raw_int(t->db, "SELECT count(*) FROM camara_subscriptions WHERE ?1 IS NOT NULL", "x"), 0);
	load_all(t->s, &l);
	assert_int_equal(l.n, 2);
	assert_null(l.v[0].camara);
	assert_null(l.v[1].camara);
	loaded_free(&l);
	for (int k = 0; k < 3; k++)
		gen_free(&g[k]);
}

static void test_duplicates(void **state)
{
	struct tmpstore *t = *state;
	struct gen first, second, other;
	static const char *const same[] = { "sip:dup@x", "sip:dup@x", "sip:other@x", "sip:dup@x" };
	static const int same_rep[] = { BUSY, -1, REACHABLE, UNREACHABLE };
	struct loaded l;

	/* the same correlator twice: the second replaces the first whole,
	 * fewer addresses included */
	gen_make(&first, "dup", 1, 5);
	gen_make(&second, "dup", 2, 2);
	gen_make(&other, "dup-other", 3, 1);
	snprintf(second.corr, sizeof(second.corr), "%s", first.corr);
	assert_int_equal(store_notif_save(t->s, &other.sn), 0);
	assert_int_equal(store_notif_save(t->s, &first.sn), 0);
	assert_int_equal(store_notif_save(t->s, &second.sn), 0);
	load_all(t->s, &l);
	assert_int_equal(l.n, 2);
	assert_same(&second.sn, &l.v[0]);   /* created_ms of k = 2 < k = 3 */
	assert_same(&other.sn, &l.v[1]);
	loaded_free(&l);
	assert_int_equal(n_address_rows(t->db, first.corr), 2);
	assert_int_equal(raw_int(t->db, "SELECT count(*) FROM notifications WHERE correlator = ?1",
				 first.corr), 1);

	/* exactly the same notification twice: one */
	assert_int_equal(store_notif_save(t->s, &second.sn), 0);
	assert_int_equal(count_loaded(t->s), 2);

	/* correlators are compared exactly: case and blanks matter */
	{
		static const char *const a[] = { "sip:a@x" };
		const char *corrs[] = { "Dup-0001", "dup-0001 ", " dup-0001" };

		for (size_t i = 0; i < N_OF(corrs); i++) {
			struct store_notif n = {
				.correlator = corrs[i], .endpoint = "http://e/", .end_ms = 1,
				.created_ms = 100 + (int64_t)i, .n = 1, .addresses = a, .sip_uris = a,
			};

			assert_int_equal(store_notif_save(t->s, &n), 0);
		}
		assert_int_equal(count_loaded(t->s), 5);
	}

	/* the same address several times in one notification: each kept, in
	 * order, with its own status */
	{
		struct store_notif n = {
			.correlator = "same-addr", .endpoint = "http://e/", .end_ms = 1,
			.created_ms = 1800000000000LL, .n = 4, .addresses = same, .sip_uris = same,
			.reported = same_rep,
		};

		assert_int_equal(store_notif_save(t->s, &n), 0);
		load_all(t->s, &l);
		assert_int_equal(l.n, 6);
		assert_same(&n, &l.v[5]);
		loaded_free(&l);
	}
	gen_free(&first);
	gen_free(&second);
	gen_free(&other);
}

static void test_failed_save_changes_nothing(void **state)
{
	struct tmpstore *t = *state;
	struct gen keep;
	const char *bad_addrs[] = { "sip:a@x", NULL, "sip:c@x" };
	const char *good[] = { "sip:a@x", "sip:b@x", "sip:c@x" };
	struct store_notif bad;

	gen_make(&keep, "keep", 1, 3);
	assert_int_equal(store_notif_save(t->s, &keep.sn), 0);

	/* an address that cannot be saved (NULL) in the middle: the whole
	 * save fails and the notification saved before under that correlator
	 * is still there, unchanged (one transaction) */
	bad = keep.sn;
	bad.sent = 99;
	bad.addresses = bad_addrs;
	bad.sip_uris = good;
	assert_int_equal(store_notif_save(t->s, &bad), -1);
	assert_only(t->s, &keep.sn);
	assert_int_equal(n_address_rows(t->db, keep.corr), 3);

	/* the same with a NULL SIP URI, and with a NULL endpoint */
	bad.addresses = good;
	bad.sip_uris = bad_addrs;
	assert_int_equal(store_notif_save(t->s, &bad), -1);
	assert_only(t->s, &keep.sn);
	bad.sip_uris = good;
	bad.endpoint = NULL;
	assert_int_equal(store_notif_save(t->s, &bad), -1);
	assert_only(t->s, &keep.sn);

	/* a new correlator that fails leaves no row behind */
	bad.endpoint = "http://e/";
	bad.correlator = "new-bad";
	bad.addresses = bad_addrs;
	assert_int_equal(store_notif_save(t->s, &bad), -1);
	assert_int_equal(raw_int(t->db, "SELECT count(*) FROM notifications WHERE correlator = ?1",
				 "new-bad"), 0);
	assert_int_equal(n_address_rows(t->db, "new-bad"), 0);

	/* and the store still works after the failures */
	bad.addresses = good;
	assert_int_equal(store_notif_save(t->s, &bad), 0);
	assert_int_equal(count_loaded(t->s), 2);
	gen_free(&keep);
}

static void test_null_and_invalid(void **state)
{
	struct tmpstore *t = *state;
	struct gen g;
	static const char *const a[] = { "sip:a@x" };
	int rep[1] = { BUSY };
	struct loaded l = { 0 };

	gen_make(&g, "null", 1, 2);

	/* no store */
	assert_int_equal(store_notif_save(NULL, &g.sn), -1);
	assert_int_equal(store_notif_progress(NULL, NULL, g.corr, 1, rep, 1), -1);
	assert_int_equal(store_notif_delete(NULL, NULL, g.corr), -1);
	assert_int_equal(store_notif_load(NULL, collect, &l), -1);
	assert_int_equal(l.n, 0);
	assert_int_equal(count_loaded(t->s), 0);

	assert_int_equal(store_notif_save(t->s, &g.sn), 0);

	/* a NULL correlator names no notification: refused, nothing changes */
	assert_int_equal(store_notif_progress(t->s, NULL, NULL, 77, rep, 1), -1);
	assert_int_equal(store_notif_delete(t->s, NULL, NULL), -1);
	/* statuses announced but not given; no callback to load into; no
	 * notification to save */
	assert_int_equal(store_notif_progress(t->s, NULL, g.corr, 77, NULL, 1), -1);
	assert_int_equal(store_notif_load(t->s, NULL, NULL), -1);
	assert_int_equal(store_notif_save(t->s, NULL), -1);
	assert_only(t->s, &g.sn);

	/* a NULL correlator cannot be saved with addresses */
	{
		struct store_notif n = g.sn;

		n.correlator = NULL;
		assert_int_equal(store_notif_save(t->s, &n), -1);
		assert_only(t->s, &g.sn);
	}

	/* a notification without an address is refused (it could never be
	 * loaded) */
	{
		struct store_notif n = {
			.correlator = "no-address", .endpoint = "http://e/", .end_ms = 1,
			.created_ms = 0, .n = 0, .addresses = a, .sip_uris = a,
		};

		assert_int_equal(store_notif_save(t->s, &n), -1);
		assert_only(t->s, &g.sn);
		n.correlator = NULL;
		assert_int_equal(store_notif_save(t->s, &n), -1);
		assert_only(t->s, &g.sn);
		/* nor one with addresses announced but not given */
		n.correlator = "no-array";
		n.n = 1;
		n.addresses = NULL;
		assert_int_equal(store_notif_save(t->s, &n), -1);
		assert_only(t->s, &g.sn);
	}
	gen_free(&g);
}

static void test_rows_the_loader_skips(void **state)
{
	struct tmpstore *t = *state;
	struct gen g;

	gen_make(&g, "ok", 5, 2);
	assert_int_equal(store_notif_save(t->s, &g.sn), 0);
	/* written by hand: a notification whose addresses are gone, and one
	 * whose status column holds NULL (not known) */
	raw_exec(t->db, "INSERT INTO notifications VALUES ('', 'orphan', 'http://e/', '', 0, 0, 0, 0, 0, 1, 1);");
	raw_exec(t->db, "INSERT INTO notifications VALUES ('', 'hand', 'http://h/', 'I', 3, 10, 2, 1, 1, 20, 99999999999999);"
		 "INSERT INTO notification_addresses VALUES ('', 'hand', 0, 'sip:h@x', 'sip:h@x', NULL);"
		 "INSERT INTO notification_addresses VALUES ('', 'hand', 1, 'tel:+1', 'sip:+1@d;user=phone', 2);");
	{
		static const char *const ha[] = { "sip:h@x", "tel:+1" };
		static const char *const hu[] = { "sip:h@x", "sip:+1@d;user=phone" };
		static const int hr[] = { -1, BUSY };
		const struct store_notif hand = {
			.correlator = "hand", .endpoint = "http://h/", .interface_name = "I",
			.criteria = 3, .frequency_ms = 10, .count = 2, .sent = 1, .style = 1,
			.end_ms = 20, .created_ms = 99999999999999LL, .n = 2, .addresses = ha,
			.sip_uris = hu, .reported = hr,
		};
		struct loaded l;

		load_all(t->s, &l);
		assert_int_equal(l.n, 2);       /* 'orphan' skipped, not counted */
		assert_same(&g.sn, &l.v[0]);
		assert_same(&hand, &l.v[1]);
		loaded_free(&l);
	}
	/* skipping is not deleting: delete removes it */
	assert_int_equal(raw_int(t->db, "SELECT count(*) FROM notifications WHERE correlator = 'orphan'", NULL), 1);
	assert_int_equal(store_notif_delete(t->s, NULL, "orphan"), 0);
	assert_int_equal(raw_int(t->db, "SELECT count(*) FROM notifications WHERE correlator = 'orphan'", NULL), 0);
	gen_free(&g);
}

/* Correlators are unique per application (contract section 11): the same
 * correlator of two applications is two notifications, and saving,
 * progress and deletion touch only the one of the application named. */
static void test_per_application(void **state)
{
	struct tmpstore *t = *state;
	struct gen a, b, anon;
	struct loaded l;

	gen_make(&a, "same", 1, 2);
	gen_make(&b, "same", 1, 3);
	gen_make(&anon, "same", 1, 1);
	a.sn.app = "app-a";
	b.sn.app = "app-b";
	b.sn.created_ms = a.sn.created_ms + 1;
	anon.sn.created_ms = a.sn.created_ms + 2;   /* app NULL: the anonymous one, "" */
	assert_string_equal(a.sn.correlator, b.sn.correlator);
	assert_int_equal(store_notif_save(t->s, &a.sn), 0);
	assert_int_equal(store_notif_save(t->s, &b.sn), 0);
	assert_int_equal(store_notif_save(t->s, &anon.sn), 0);
	load_all(t->s, &l);
	assert_int_equal(l.n, 3);
	assert_same(&a.sn, &l.v[0]);
	assert_same(&b.sn, &l.v[1]);
	assert_same(&anon.sn, &l.v[2]);
	loaded_free(&l);

	/* progress of app-b's only */
	b.rep[0] = BUSY;
	b.rep[1] = BUSY;
	b.rep[2] = BUSY;
	b.sn.sent = 42;
	assert_int_equal(store_notif_progress(t->s, "app-b", b.corr, 42, b.rep, 3), 0);
	/* deleting app-a's, and a delete of an application that has none */
	assert_int_equal(store_notif_delete(t->s, "app-a", a.corr), 0);
	assert_int_equal(store_notif_delete(t->s, "app-c", a.corr), 0);
	reopen(t);
	load_all(t->s, &l);
	assert_int_equal(l.n, 2);
	assert_same(&b.sn, &l.v[0]);
	assert_same(&anon.sn, &l.v[1]);
	loaded_free(&l);
	assert_int_equal(raw_int(t->db, "SELECT count(*) FROM notification_addresses WHERE app = ?1",
				 "app-a"), 0);
	assert_int_equal(raw_int(t->db, "SELECT count(*) FROM notification_addresses WHERE app = ?1",
				 "app-b"), 3);
	assert_int_equal(raw_int(t->db, "SELECT count(*) FROM notification_addresses WHERE app = ?1",
				 ""), 1);
	/* saving app-b's again replaces app-b's only */
	assert_int_equal(store_notif_save(t->s, &b.sn), 0);
	load_all(t->s, &l);
	assert_int_equal(l.n, 2);
	loaded_free(&l);
	gen_free(&a);
	gen_free(&b);
	gen_free(&anon);
}

static void test_quotes_and_unicode(void **state)
{
	struct tmpstore *t = *state;
	static const char *const addrs[] = {
		"sip:o'brien@example.com",
		"sip:%22quoted%22@example.com",
		"sip:j\xc3\xbcrgen@b\xc3\xbc" "cher.example",           /* jürgen@bücher */
		"tel:+15550100;phone-context=\xe6\x9d\xb1\xe4\xba\xac", /* 東京 */
		"sip:\xf0\x9f\x8e\x89@emoji.example",                    /* 🎉 */
		"",
	};
	static const char *const uris[] = {
		"sip:o'brien@example.com",
		"sip:\"quoted\"@example.com",
		"sip:j\xc3\xbcrgen@b\xc3\xbc" "cher.example",
		"sip:+15550100@\xe6\x9d\xb1\xe4\xba\xac;user=phone",
		"sip:\xf0\x9f\x8e\x89@emoji.example",
		"sip:empty@x",
	};
	static const int rep[] = { BUSY, REACHABLE, UNREACHABLE, -1, BUSY, -1 };
	const struct store_notif n = {
		.correlator = "it's \"quoted\"'); DROP TABLE notifications; --\t\n\\%_*",
		.endpoint = "http://127.0.0.1:9/cb?a='1'&b=\"2\"&c=%27",
		.interface_name = "Int\xc3\xa9rface \xe2\x82\xac \xe6\x97\xa5\xe6\x9c\xac "
				  "\xf0\x9f\x8e\x89 \x01\x7f end",
		.criteria = CRIT(REACHABLE),
		.frequency_ms = 1,
		.count = 2,
		.sent = 1,
		.style = STYLE_NOTIFICATION,
		.end_ms = 10,
		.created_ms = 5,
		.n = N_OF(addrs),
		.addresses = addrs,
		.sip_uris = uris,
		.reported = rep,
	};
	int prog[N_OF(addrs)] = { -1, -1, BUSY, BUSY, -1, REACHABLE };
	struct store_notif after = n;

	assert_int_equal(store_notif_save(t->s, &n), 0);
	assert_only(t->s, &n);
	assert_int_equal(raw_int(t->db, "SELECT count(*) FROM notifications", NULL), 1);
	/* the same correlator reaches the same row for progress and delete */
	assert_int_equal(store_notif_progress(t->s, NULL, n.correlator, 2, prog, N_OF(prog)), 0);
	after.sent = 2;
	after.reported = prog;
	assert_only(t->s, &after);
	reopen(t);
	assert_only(t->s, &after);
	/* a LIKE pattern or a prefix is not the correlator */
	assert_int_equal(store_notif_delete(t->s, NULL, "it's%"), 0);
	assert_int_equal(store_notif_delete(t->s, NULL, "it's \"quoted\"'); DROP TABLE notifications; --"), 0);
	assert_only(t->s, &after);
	assert_int_equal(store_notif_delete(t->s, NULL, n.correlator), 0);
	assert_int_equal(count_loaded(t->s), 0);
}

static void test_long_strings(void **state)
{
	struct tmpstore *t = *state;
	enum { LEN = 100000 };
	char *corr = malloc(LEN + 1), *ep = malloc(LEN + 1), *addr = malloc(LEN + 1);
	const char *addrs[1], *uris[1];
	struct store_notif n;

	assert_non_null(corr);
	assert_non_null(ep);
	assert_non_null(addr);
	for (size_t i = 0; i < LEN; i++) {
		corr[i] = (char)('a' + i % 26);
		ep[i] = (char)('0' + i % 10);
		addr[i] = (char)('A' + i % 26);
	}
	corr[LEN] = ep[LEN] = addr[LEN] = '\0';
	addrs[0] = addr;
	uris[0] = ep;
	n = (struct store_notif){ .correlator = corr, .endpoint = ep, .interface_name = addr,
				  .end_ms = 1, .created_ms = 1, .n = 1, .addresses = addrs,
				  .sip_uris = uris };
	assert_int_equal(store_notif_save(t->s, &n), 0);
	assert_only(t->s, &n);
	free(corr);
	free(ep);
	free(addr);
}

static void test_durability_reopen(void **state)
{
	struct tmpstore *t = *state;
	struct gen a, b, c;
	struct loaded l;

	gen_make(&a, "dur", 1, 3);
	gen_make(&b, "dur", 2, 2);
	gen_make(&c, "dur", 3, 4);
	assert_int_equal(store_notif_save(t->s, &a.sn), 0);
	assert_int_equal(store_notif_save(t->s, &b.sn), 0);
	a.rep[0] = BUSY;
	a.rep[1] = -1;
	a.rep[2] = UNREACHABLE;
	a.sn.sent = 11;
	assert_int_equal(store_notif_progress(t->s, NULL, a.corr, 11, a.rep, 3), 0);
	assert_int_equal(store_notif_delete(t->s, NULL, b.corr), 0);

	reopen(t);
	assert_int_equal(store_schema_version(t->s), store_schema_latest());
	assert_only(t->s, &a.sn);

	/* writes after a reopen, then another reopen */
	assert_int_equal(store_notif_save(t->s, &c.sn), 0);
	assert_int_equal(store_notif_save(t->s, &b.sn), 0);
	reopen(t);
	load_all(t->s, &l);
	assert_int_equal(l.n, 3);
	assert_same(&a.sn, &l.v[0]);
	assert_same(&b.sn, &l.v[1]);
	assert_same(&c.sn, &l.v[2]);
	loaded_free(&l);
	gen_free(&a);
	gen_free(&b);
	gen_free(&c);
}

/* Committed when the call returns: a second connection opened while the
 * first is still open (another process would see the same) reads it. */
static void test_visible_to_another_connection(void **state)
{
	struct tmpstore *t = *state;
	struct store *other;
	struct gen a;

	gen_make(&a, "vis", 1, 2);
	other = tmpstore_open_ok(t->db);
	assert_int_equal(count_loaded(other), 0);
	assert_int_equal(store_notif_save(t->s, &a.sn), 0);
	assert_only(other, &a.sn);
	a.sn.sent = 3;
	a.rep[1] = BUSY;
	assert_int_equal(store_notif_progress(t->s, NULL, a.corr, 3, a.rep, 2), 0);
	assert_only(other, &a.sn);
	/* and the other way round */
	assert_int_equal(store_notif_delete(other, NULL, a.corr), 0);
	assert_int_equal(count_loaded(t->s), 0);
	store_close(other);
	gen_free(&a);
}

/* A process killed (SIGKILL from outside, no store_close, WAL not
 * checkpointed) right after its writes returned: they are all there for
 * the next open. */
static void test_survives_sigkill(void **state)
{
	struct tmpstore *t = *state;
	struct gen a, b;
	pid_t pid;
	int status = 0, ready[2];
	char byte = 0;
	struct loaded l;

	gen_make(&a, "kill", 1, 3);
	gen_make(&b, "kill", 2, 1);
	/* no connection is carried across fork */
	store_close(t->s);
	t->s = NULL;
	assert_int_equal(pipe(ready), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *s = NULL;
		char err[256];
		int rep[3] = { REACHABLE, BUSY, -1 };

		close(ready[0]);
		byte = 'x';
		if (store_open(t->db, &s, err, sizeof(err)) == 0 &&
		    store_notif_save(s, &a.sn) == 0 && store_notif_save(s, &b.sn) == 0 &&
		    store_notif_progress(s, NULL, a.corr, 8, rep, 3) == 0 &&
		    store_notif_delete(s, NULL, b.corr) == 0)
			byte = 'k';
		/* tell the parent, then wait for its SIGKILL */
		if (write(ready[1], &byte, 1) != 1)
			_exit(3);
		for (;;)
			pause();
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &byte, 1), 1);
	close(ready[0]);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	assert_int_equal(byte, 'k');

	t->s = tmpstore_open_ok(t->db);
	a.sn.sent = 8;
	a.rep[0] = REACHABLE;
	a.rep[1] = BUSY;
	a.rep[2] = -1;
	load_all(t->s, &l);
	assert_int_equal(l.n, 1);
	assert_same(&a.sn, &l.v[0]);
	loaded_free(&l);
	gen_free(&a);
	gen_free(&b);
}

/* --- threads: every function may be called from any thread ----------------- */

enum { THREADS = 4, PER_THREAD = 24 };

struct worker {
	struct store *s;
	int id;
	int errors;
};

static void *work(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < PER_THREAD; i++) {
		char corr[32], addr0[32], addr1[32];
		const char *addrs[2] = { addr0, addr1 };
		int rep[2] = { i % 3, -1 };
		struct store_notif n;

		snprintf(corr, sizeof(corr), "t%d-%02d", w->id, i);
		snprintf(addr0, sizeof(addr0), "sip:%d.%d.0@x", w->id, i);
		snprintf(addr1, sizeof(addr1), "sip:%d.%d.1@x", w->id, i);
		n = (struct store_notif){ .correlator = corr, .endpoint = "http://e/",
					  .interface_name = corr, .end_ms = 1,
					  .created_ms = w->id * 1000 + i, .n = 2,
					  .addresses = addrs, .sip_uris = addrs };
		if (store_notif_save(w->s, &n) != 0)
			w->errors++;
		if (store_notif_progress(w->s, NULL, corr, i, rep, 2) != 0)
			w->errors++;
		if (i % 2 == 0 && store_notif_delete(w->s, NULL, corr) != 0)
			w->errors++;
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct tmpstore *t = *state;
	pthread_t th[THREADS];
	struct worker w[THREADS];
	struct loaded l;
	size_t k = 0;

	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .s = t->s, .id = i };
		assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(w[i].errors, 0);
	}
	/* the odd ones of each thread, oldest (thread, then index) first */
	load_all(t->s, &l);
	assert_int_equal(l.n, THREADS * PER_THREAD / 2);
	for (int id = 0; id < THREADS; id++) {
		for (int i = 1; i < PER_THREAD; i += 2, k++) {
			char corr[32], addr0[32], addr1[32];
			const char *addrs[2] = { addr0, addr1 };
			int rep[2] = { i % 3, -1 };
			struct store_notif n;

			snprintf(corr, sizeof(corr), "t%d-%02d", id, i);
			snprintf(addr0, sizeof(addr0), "sip:%d.%d.0@x", id, i);
			snprintf(addr1, sizeof(addr1), "sip:%d.%d.1@x", id, i);
			n = (struct store_notif){ .correlator = corr, .endpoint = "http://e/",
						  .interface_name = corr, .sent = i, .end_ms = 1,
						  .created_ms = id * 1000 + i, .n = 2,
						  .addresses = addrs, .sip_uris = addrs, .reported = rep };
			assert_same(&n, &l.v[k]);
		}
	}
	loaded_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wall_ms),
		cmocka_unit_test_setup_teardown(test_empty_store, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_save_load_every_field, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_extreme_values, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_optional_fields, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_load_order, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_load_many, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_progress, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_progress_submitted, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_delete, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_camara, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_duplicates, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_failed_save_changes_nothing, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_null_and_invalid, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_rows_the_loader_skips, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_quotes_and_unicode, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_long_strings, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_durability_reopen, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_visible_to_another_connection, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_survives_sigkill, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_threads, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_per_application, tmpstore_setup_open, tmpstore_teardown),
	};

	return cmocka_run_group_tests_name("store_notif", tests, NULL, NULL);
}
