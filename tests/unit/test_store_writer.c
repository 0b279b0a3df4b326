/*
 * test_store_writer.c - the store's writer thread (store_writer.c) and
 * read connections: submit and wait, group commit of several submitters,
 * a failed submission failing alone, readers answering while the writer
 * holds a write transaction, pruning in batches, the outbox row counter,
 * the outbox read in batches, and checkpoints by the checkpointer thread.
 *
 * No test measures time: the writer is held by a store_run function that
 * waits for the test's word, and the test waits for the store's counters
 * (store_get_stats) to say that the submitters are queued.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store.h"
#include "store_int.h"
#include "tmpstore.h"

#define DAY_MS 86400000LL

static struct store_op track(uint64_t id, const char *corr, int64_t ms)
{
	return (struct store_op){ .kind = STORE_OP_TRACK, .delivery = id, .attempt = 1,
				  .event = "statusEnd_DeliveryResult", .correlator = corr,
				  .endpoint = "http://e/cb", .delivered = true, .time_ms = ms };
}

static void nap(void)
{
	struct timespec ts = { 0, 1000000 };

	nanosleep(&ts, NULL);
}

/* Waits (no time limit: the test runner's is the bound) until the store
 * has accepted n submissions. */
static void wait_submissions(struct store *s, unsigned long n)
{
	struct store_stats st;

	for (;;) {
		store_get_stats(s, &st);
		if (st.submissions >= n)
			return;
		nap();
	}
}

/* --- holding the writer ------------------------------------------------------------ */

/* A store_run function that holds the writer thread until released;
 * with a write transaction open (and one record in it, not committed)
 * when in_transaction. */
struct hold {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool entered, released, in_transaction;
	struct store *s;
	pthread_t thread;
	int rc;
};

static int hold_fn(sqlite3 *db, void *arg)
{
	struct hold *h = arg;
	int rc = 0;

	if (h->in_transaction &&
	    (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
	     sqlite3_exec(db, "INSERT INTO deliveries (event, correlator, delivery, attempt, result, time,"
			  " endpoint, app) VALUES ('statusEnd_DeliveryResult', 'held', 1, 1, 'delivered',"
			  " '2030-01-01T00:00:00.000Z', 'http://e/cb', '')", NULL, NULL, NULL) != SQLITE_OK))
		rc = -1;
	pthread_mutex_lock(&h->mu);
	h->entered = true;
	pthread_cond_broadcast(&h->cv);
	while (!h->released)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
	if (h->in_transaction && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = -1;
	return rc;
}

static void *hold_main(void *arg)
{
	struct hold *h = arg;

	h->rc = store_run(h->s, hold_fn, h);
	return NULL;
}

/* Starts holding the writer and returns once it is held. */
static void hold_start(struct hold *h, struct store *s, bool in_transaction)
{
	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	h->s = s;
	h->in_transaction = in_transaction;
	assert_int_equal(pthread_create(&h->thread, NULL, hold_main, h), 0);
	pthread_mutex_lock(&h->mu);
	while (!h->entered)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
}

static void hold_release(struct hold *h)
{
	pthread_mutex_lock(&h->mu);
	h->released = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->thread, NULL);
	assert_int_equal(h->rc, 0);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
}

/* A thread that applies one submission and keeps its result. */
struct applier {
	struct store *s;
	struct store_op op;
	struct store_outbox_row row;
	pthread_t thread;
	int rc;
};

static void *applier_main(void *arg)
{
	struct applier *a = arg;

	if (a->op.kind == STORE_OP_ADD)
		a->op.row = &a->row;
	a->rc = store_apply(a->s, &a->op, 1);
	return NULL;
}

/* --- tests --------------------------------------------------------------------------- */

static void test_submit_wait(void **state)
{
	struct tmpstore *t = *state;
	struct store_op ops[2] = { track(1, "a", store_wall_ms()), track(2, "a", store_wall_ms()) };
	struct store_stats st;
	uint64_t s1, s2;

	s1 = store_submit(t->s, ops, 2);
	assert_true(s1 > 0);
	s2 = store_submit(t->s, ops, 1);
	assert_int_equal(s2, s1 + 1);
	store_wait(t->s, s2);
	assert_int_equal(tmpstore_records(t->s, "a"), 3);
	store_get_stats(t->s, &st);
	assert_int_equal(st.submissions, 2);
	assert_int_equal(st.ops, 3);
	assert_int_equal(st.failed, 0);
	/* invalid: not submitted */
	ops[0].correlator = NULL;
	assert_int_equal(store_submit(t->s, ops, 1), 0);
	assert_int_equal(store_submit(t->s, ops, 0), 0);
	assert_int_equal(store_apply(t->s, ops, 1), -1);
	assert_int_equal(store_apply(t->s, ops, 0), 0);
	store_sync(t->s);
	store_sync(NULL);
	store_get_stats(t->s, &st);
	assert_int_equal(st.submissions, 2);
}

/* Submissions that arrive while the writer is busy are committed
 * together, in one transaction. */
static void test_group_commit(void **state)
{
	struct tmpstore *t = *state;
	struct applier a[4];
	struct store_op later[3];
	struct store_stats before, after;
	struct hold h;
	uint64_t seq = 0;

	hold_start(&h, t->s, false);
	store_get_stats(t->s, &before);
	for (int i = 0; i < 4; i++) {
		a[i] = (struct applier){ .s = t->s, .op = track(10 + (uint64_t)i, "g", store_wall_ms()) };
		assert_int_equal(pthread_create(&a[i].thread, NULL, applier_main, &a[i]), 0);
	}
	for (int i = 0; i < 3; i++) {
		later[i] = track(20 + (uint64_t)i, "g", store_wall_ms());
		seq = store_submit(t->s, &later[i], 1);
		assert_true(seq > 0);
	}
	wait_submissions(t->s, before.submissions + 7);
	assert_int_equal(tmpstore_records(t->s, "g"), 0);   /* nothing committed yet */
	hold_release(&h);
	for (int i = 0; i < 4; i++) {
		pthread_join(a[i].thread, NULL);
		assert_int_equal(a[i].rc, 0);
	}
	store_wait(t->s, seq);
	store_get_stats(t->s, &after);
	assert_int_equal(after.commits - before.commits, 1);
	assert_int_equal(after.ops - before.ops, 7);
	assert_int_equal(tmpstore_records(t->s, "g"), 7);
}

/* A thread that submits n usage records (store_submit, as usage_record
 * does), one at a time. */
struct usage_submitter {
	struct store *s;
	int n;
	pthread_t thread;
};

static void *usage_submitter_main(void *arg)
{
	struct usage_submitter *u = arg;
	struct store_usage rec = { .time_ms = 1, .app = "a", .operation = "getStatus",
				   .addresses = 1, .expanded = 1, .count = -1, .result = "ok",
				   .duration_ms = 1 };
	struct store_op op = { .kind = STORE_OP_USAGE, .usage = &rec };

	for (int i = 0; i < u->n; i++)
		store_submit(u->s, &op, 1);
	return NULL;
}

/* Usage records (one per HTTP request) queue only while fewer than 512
 * operations wait: with the writer held, a flood of them stops at 512
 * queued (its thread waits), so a commit the SIP thread waits for is
 * never behind thousands; other writes still queue. Once the writer goes
 * on, every record is written. (The flood is watched for 100 naps after
 * it reached 512: without the share it passes 512 at once.) */
static void test_usage_queue_share(void **state)
{
	struct tmpstore *t = *state;
	struct usage_submitter u = { .s = t->s, .n = 1000 };
	struct store_stats before, st;
	struct store_op other = track(30, "u", store_wall_ms());
	struct hold h;
	unsigned long most = 0, with_other;
	uint64_t seq;

	hold_start(&h, t->s, false);
	store_get_stats(t->s, &before);
	assert_int_equal(pthread_create(&u.thread, NULL, usage_submitter_main, &u), 0);
	wait_submissions(t->s, before.submissions + 512);
	for (int i = 0; i < 100; i++) {
		store_get_stats(t->s, &st);
		if (st.submissions - before.submissions > most)
			most = st.submissions - before.submissions;
		nap();
	}
	seq = store_submit(t->s, &other, 1);       /* not held back by the share */
	store_get_stats(t->s, &st);
	with_other = st.submissions - before.submissions;
	hold_release(&h);                          /* before any assert: the writer goes on */
	pthread_join(u.thread, NULL);
	assert_int_equal(most, 512);
	assert_true(seq > 0);
	assert_int_equal(with_other, 513);
	store_sync(t->s);
	assert_int_equal(store_usage_count(t->s), 1000);
	assert_int_equal(tmpstore_records(t->s, "u"), 1);
}

/* Usage records are lazy (they gather for a moment before a commit) but
 * are committed with nobody waiting for them: three records, never
 * waited for, all in the table (polled: no time limit but the runner's). */
static void test_usage_lazy_committed(void **state)
{
	struct tmpstore *t = *state;
	struct usage_submitter u = { .s = t->s, .n = 3 };

	usage_submitter_main(&u);
	while (store_usage_count(t->s) < 3)
		nap();
	assert_int_equal(store_usage_count(t->s), 3);
	/* and a wait for one of them does not wait for a batch either */
	usage_submitter_main(&u);
	store_sync(t->s);
	assert_int_equal(store_usage_count(t->s), 6);
}

/* In a group, a submission that fails takes no other down with it. */
static void test_group_failure_isolated(void **state)
{
	struct tmpstore *t = *state;
	struct store_outbox_row row = { .delivery = 5, .correlator = "f", .endpoint = "http://e/cb",
					.payload = "p" };
	struct applier good, bad;
	struct store_stats before, after;
	struct hold h;

	assert_int_equal(store_outbox_add(t->s, &row), 0);
	hold_start(&h, t->s, false);
	store_get_stats(t->s, &before);
	good = (struct applier){ .s = t->s, .op = track(5, "f", store_wall_ms()) };
	assert_int_equal(pthread_create(&good.thread, NULL, applier_main, &good), 0);
	wait_submissions(t->s, before.submissions + 1);
	/* the same delivery id again: the primary key refuses it */
	bad = (struct applier){ .s = t->s, .op = { .kind = STORE_OP_ADD, .delivery = 5 }, .row = row };
	assert_int_equal(pthread_create(&bad.thread, NULL, applier_main, &bad), 0);
	wait_submissions(t->s, before.submissions + 2);
	hold_release(&h);
	pthread_join(good.thread, NULL);
	pthread_join(bad.thread, NULL);
	assert_int_equal(good.rc, 0);
	assert_int_equal(bad.rc, -1);
	store_get_stats(t->s, &after);
	assert_int_equal(after.commits - before.commits, 1);
	assert_int_equal(after.failed - before.failed, 1);
	assert_int_equal(tmpstore_records(t->s, "f"), 1);
	assert_int_equal(store_outbox_count(t->s), 1);
}

/* Readers have connections of their own: while the writer holds a write
 * transaction, /deliveries, /health and /metrics still answer, with what
 * is committed. */
static void test_readers_not_blocked(void **state)
{
	struct tmpstore *t = *state;
	struct store_op op = track(3, "held", store_wall_ms());
	struct store_outbox_row row = { .delivery = 9, .correlator = "held", .endpoint = "http://e/cb",
					.payload = "p" };
	char *json = NULL;
	uint64_t max = 0;
	struct hold h;

	assert_int_equal(store_apply(t->s, &op, 1), 0);
	assert_int_equal(store_outbox_add(t->s, &row), 0);
	hold_start(&h, t->s, true);
	assert_int_equal(store_deliveries_json(t->s, NULL, "held", false, &json, NULL), 0);
	assert_non_null(strstr(json, "\"delivery\":3,"));
	assert_null(strstr(json, "\"delivery\":1,"));   /* not committed */
	free(json);
	assert_true(store_ready(t->s));
	assert_int_equal(store_outbox_count(t->s), 1);
	assert_int_equal(store_max_delivery(t->s, &max), 0);
	assert_int_equal(max, 3);
	assert_int_equal(store_outbox_max_delivery(t->s, &max), 0);
	assert_int_equal(max, 9);
	assert_int_equal(store_schema_version(t->s), store_schema_latest());
	hold_release(&h);
	assert_int_equal(tmpstore_records(t->s, "held"), 2);
	assert_int_equal(store_max_delivery(t->s, &max), 0);
	assert_int_equal(max, 3);
}

/* A thread that submits usage records of now without a pause until told
 * to stop: the writer is never idle, its queue never empty. */
struct usage_flood {
	struct store *s;
	atomic_bool stop;
	atomic_ulong n;
	pthread_t thread;
};

static void *usage_flood_main(void *arg)
{
	struct usage_flood *f = arg;
	struct store_usage rec = { .app = "a", .operation = "getStatus", .addresses = 1,
				   .expanded = 1, .count = -1, .result = "ok", .duration_ms = 1 };
	struct store_op op = { .kind = STORE_OP_USAGE, .usage = &rec };

	while (!atomic_load(&f->stop)) {
		rec.time_ms = store_wall_ms();
		store_submit(f->s, &op, 1);
		atomic_fetch_add(&f->n, 1);
	}
	return NULL;
}

/* The periodic prune starts when due even while usage records keep coming
 * (they gather, the queue is never empty: a prune that waited for an idle
 * writer never ran under load). 300 records from 1970, a retention of an
 * hour: exactly those 300 go, while the flood goes on. */
static void test_prune_under_usage_flood(void **state)
{
	struct tmpstore *t = *state;
	struct store_usage old = { .time_ms = 1000, .app = "a", .operation = "getStatus",
				   .addresses = 1, .expanded = 1, .count = -1, .result = "ok" };
	struct store_op op = { .kind = STORE_OP_USAGE, .usage = &old };
	struct usage_flood f = { .s = t->s };
	struct store_stats st;
	int naps = 0;

	for (int i = 0; i < 300; i++)
		assert_true(store_submit(t->s, &op, 1) > 0);
	store_sync(t->s);
	assert_int_equal(pthread_create(&f.thread, NULL, usage_flood_main, &f), 0);
	while (atomic_load(&f.n) < 1000)   /* the flood is on */
		nap();
	store_set_usage_retention(t->s, 3600);
	do {
		nap();
		store_get_stats(t->s, &st);
	} while (st.usage_pruned < 300 && ++naps < 30000);   /* a bound, not a timing */
	atomic_store(&f.stop, true);
	pthread_join(f.thread, NULL);
	assert_int_equal(st.usage_pruned, 300);
	store_sync(t->s);
	assert_int_equal(store_usage_count(t->s), (long)atomic_load(&f.n));
}

/* store_prune deletes in batches of 1000 records; the retention prunes
 * at once when set. */
static void test_prune_batches(void **state)
{
	struct tmpstore *t = *state;
	int64_t now = store_wall_ms();
	size_t n = 2505;
	struct store_op *ops = calloc(n, sizeof(*ops));
	struct store_stats before, after;

	assert_non_null(ops);
	for (size_t i = 0; i < n; i++)
		ops[i] = track(i + 1, "p", i < 2500 ? now - 10 * DAY_MS : now);
	assert_int_equal(store_apply(t->s, ops, n), 0);
	store_get_stats(t->s, &before);
	assert_int_equal(store_prune(t->s, now - DAY_MS), 2500);
	store_get_stats(t->s, &after);
	assert_int_equal(after.prune_batches - before.prune_batches, 3);   /* 1000, 1000, 500 */
	assert_int_equal(after.pruned - before.pruned, 2500);
	assert_int_equal(tmpstore_records(t->s, "p"), 5);
	assert_int_equal(store_prune(t->s, now - DAY_MS), 0);

	/* the retention: 7 days; records of 10 days ago go at once */
	for (size_t i = 0; i < 3; i++)
		ops[i] = track(3000 + i, "r", now - 10 * DAY_MS);
	ops[3] = track(3003, "r", now);
	assert_int_equal(store_apply(t->s, ops, 4), 0);
	store_get_stats(t->s, &before);
	store_set_retention(t->s, 7 * 86400);
	do {
		nap();
		store_get_stats(t->s, &after);
	} while (after.prune_batches == before.prune_batches);
	assert_int_equal(after.pruned - before.pruned, 3);
	assert_int_equal(tmpstore_records(t->s, "r"), 1);
	assert_int_equal(tmpstore_records(t->s, "p"), 5);
	free(ops);
}

static int raw_outbox_count(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int n = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM outbox", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* store_outbox_count is a counter: exact after adds, removes (of rows
 * there and not there), a failed add, and a reopen. */
static void test_outbox_counter(void **state)
{
	struct tmpstore *t = *state;
	struct store_outbox_row r = { .correlator = "c", .endpoint = "http://e/cb", .payload = "p" };
	struct store_op ops[3];

	assert_int_equal(store_outbox_count(t->s), 0);
	for (uint64_t id = 1; id <= 3; id++) {
		r.delivery = id;
		assert_int_equal(store_outbox_add(t->s, &r), 0);
	}
	assert_int_equal(store_outbox_count(t->s), 3);
	assert_int_equal(store_outbox_remove(t->s, 2), 0);
	assert_int_equal(store_outbox_count(t->s), 2);
	assert_int_equal(store_outbox_remove(t->s, 2), 0);   /* not there: no change */
	assert_int_equal(store_outbox_count(t->s), 2);
	r.delivery = 1;
	assert_int_equal(store_outbox_add(t->s, &r), -1);    /* there already */
	assert_int_equal(store_outbox_count(t->s), 2);
	/* one submission: a removal and an add */
	r.delivery = 4;
	ops[0] = (struct store_op){ .kind = STORE_OP_REMOVE, .delivery = 1 };
	ops[1] = (struct store_op){ .kind = STORE_OP_ADD, .delivery = 4, .row = &r };
	ops[2] = (struct store_op){ .kind = STORE_OP_ATTEMPTS, .delivery = 4, .attempt = 2 };
	store_wait(t->s, store_submit(t->s, ops, 3));
	assert_int_equal(store_outbox_count(t->s), 2);
	/* a failed submission changes nothing: its add is rolled back */
	r.delivery = 5;
	ops[0] = (struct store_op){ .kind = STORE_OP_ADD, .delivery = 5, .row = &r };
	ops[1] = (struct store_op){ .kind = STORE_OP_ADD, .delivery = 5, .row = &r };
	assert_int_equal(store_apply(t->s, ops, 2), -1);
	assert_int_equal(store_outbox_count(t->s), 2);
	assert_int_equal(raw_outbox_count(t->db), 2);
	store_close(t->s);
	t->s = tmpstore_open_ok(t->db);
	assert_int_equal(store_outbox_count(t->s), 2);
	assert_int_equal(store_outbox_count(NULL), -1);
}

/* The outbox read in batches: by delivery id, each batch after the last
 * id of the one before. */
struct ids {
	size_t n;
	uint64_t last;
	bool ordered;
};

static void count_row(const struct store_outbox_row *r, void *arg)
{
	struct ids *s = arg;

	if (r->delivery <= s->last)
		s->ordered = false;
	s->last = r->delivery;
	s->n++;
}

static void test_outbox_batches(void **state)
{
	struct tmpstore *t = *state;
	size_t n = 2500;
	struct store_op *ops = calloc(n, sizeof(*ops));
	struct store_outbox_row *rows = calloc(n, sizeof(*rows));
	struct ids seen = { .ordered = true };
	uint64_t after = 0;
	int got[4];

	assert_non_null(ops);
	assert_non_null(rows);
	for (size_t i = 0; i < n; i++) {
		/* ids 2, 4, ... added from the highest down */
		uint64_t id = 2 * (n - i);

		rows[i] = (struct store_outbox_row){ .delivery = id, .correlator = i % 2 ? "a" : "b",
						     .endpoint = "http://e/cb", .payload = "p" };
		ops[i] = (struct store_op){ .kind = STORE_OP_ADD, .delivery = id, .row = &rows[i] };
	}
	assert_int_equal(store_apply(t->s, ops, n), 0);
	assert_int_equal(store_outbox_count(t->s), 2500);
	for (int i = 0; i < 4; i++)
		got[i] = store_outbox_load(t->s, &after, 1000, count_row, &seen);
	assert_int_equal(got[0], 1000);
	assert_int_equal(got[1], 1000);
	assert_int_equal(got[2], 500);
	assert_int_equal(got[3], 0);
	assert_int_equal(after, 5000);
	assert_int_equal(seen.n, 2500);
	assert_true(seen.ordered);
	after = 1999;   /* from the middle */
	seen = (struct ids){ .ordered = true, .last = 1999 };
	assert_int_equal(store_outbox_load(t->s, &after, 10, count_row, &seen), 10);
	assert_int_equal(after, 2018);
	assert_int_equal(store_outbox_load(t->s, NULL, 10, count_row, &seen), -1);
	assert_int_equal(store_outbox_load(t->s, &after, 0, count_row, &seen), -1);
	free(ops);
	free(rows);
}

/* The WAL grows past STORE_CKPT_PAGES: the checkpointer (not the writer)
 * checkpoints it, and the WAL starts over at a later commit; what was
 * committed stays, including across a reopen. */
static void test_checkpointer(void **state)
{
	struct tmpstore *t = *state;
	enum { N = 400, ROWS = 10 };
	char payload[3000];
	struct store_outbox_row rows[ROWS];
	struct store_op ops[ROWS];
	uint64_t id = 1;
	sqlite3 *db = NULL;
	int frames;

	struct store_stats st0, st1;

	assert_true(t->s->ckpt_started);
	store_get_stats(t->s, &st0);
	memset(payload, 'x', sizeof(payload) - 1);
	payload[sizeof(payload) - 1] = '\0';
	/* 4,000 rows of 3 KB: about 4,000 pages of WAL, in 400 commits */
	for (int k = 0; k < N; k++) {
		for (int i = 0; i < ROWS; i++, id++) {
			rows[i] = (struct store_outbox_row){ .delivery = id, .correlator = "c",
							     .endpoint = "http://e/cb", .payload = payload };
			ops[i] = (struct store_op){ .kind = STORE_OP_ADD, .delivery = id, .row = &rows[i] };
		}
		assert_int_equal(store_apply(t->s, ops, ROWS), 0);
	}
	/* one transaction each (the commit hook counts them) */
	store_get_stats(t->s, &st1);
	assert_int_equal(st1.transactions - st0.transactions, N);
	/* the checkpointer ran (no time limit: the test runner's is the bound) */
	while (atomic_load(&t->s->checkpoints) == 0)
		nap();
	assert_int_equal(store_outbox_count(t->s), N * ROWS);
	/* a checkpoint that caught up lets the WAL start over: once it is
	 * idle, a few commits later the WAL holds only those (the frames a
	 * checkpoint of another connection sees) */
	assert_int_equal(sqlite3_open_v2(t->db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "SELECT count(*) FROM outbox", NULL, NULL, NULL), SQLITE_OK);
	for (;;) {
		for (int i = 0; i < ROWS; i++, id++) {
			rows[i] = (struct store_outbox_row){ .delivery = id, .correlator = "c",
							     .endpoint = "http://e/cb", .payload = "p" };
			ops[i] = (struct store_op){ .kind = STORE_OP_ADD, .delivery = id, .row = &rows[i] };
		}
		assert_int_equal(store_apply(t->s, ops, ROWS), 0);
		frames = -1;
		if (sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE, &frames, NULL) == SQLITE_OK &&
		    frames >= 0 && frames < 1000)
			break;
		nap();
		nap();
	}
	sqlite3_close(db);
	store_close(t->s);
	t->s = tmpstore_open_ok(t->db);
	assert_int_equal(store_outbox_count(t->s), (long)(id - 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_submit_wait, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_group_commit, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_usage_lazy_committed, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_usage_queue_share, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_group_failure_isolated, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_readers_not_blocked, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_prune_under_usage_flood, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_prune_batches, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_outbox_counter, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_outbox_batches, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_checkpointer, tmpstore_setup_open, tmpstore_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
