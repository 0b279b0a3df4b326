/*
 * store_writer.c - the store's writer thread: the only user of the write
 * connection. It commits submissions in order, consecutive submissions of
 * operations in one transaction (group commit), runs store_run functions
 * alone, and prunes old tracking records in bounded batches.
 *
 * DESIGN
 *   queue_lock guards the submission queue (head..tail), the sequence
 *   numbers and the pruning state; nothing else takes it, and nobody holds
 *   it during SQLite work. A submission is a struct store_sub: the caller's
 *   own (on its stack, store_apply and store_run: the caller waits for it)
 *   or a copy (store_submit: the writer frees it). Sequence numbers are
 *   given in queue order and the writer finishes submissions in that
 *   order, so "done >= seq" says that seq and everything before it are
 *   committed (or failed, logged): store_wait is a condition wait on it.
 *
 *   The writer takes the whole queue at once and commits it: up to
 *   STORE_GROUP_MAX operations of consecutive submissions per transaction
 *   (a submission is never split). While it commits, the next group
 *   accumulates: under load a transaction carries many submissions, when
 *   idle each is committed within one commit's time. When a group's
 *   transaction fails, its submissions are tried again one transaction
 *   each, so a bad one fails alone. Ordering: submissions of one thread
 *   are committed in the order submitted.
 *
 *   The queue holds at most about STORE_QUEUE_MAX operations: store_submit
 *   waits (space_cv) while it is full; store_apply's submissions are on
 *   their callers' stacks and are not counted. A usage record (one per
 *   HTTP request) waits already while STORE_USAGE_QUEUE_MAX operations do.
 *
 *   Pruning: every STORE_PRUNE_EVERY_MS (with a retention set) or on
 *   store_prune, the writer deletes tracking records older than the
 *   cutoff, STORE_PRUNE_BATCH per transaction, and serves the queue
 *   between two batches (queue and batches take turns): a prune of
 *   millions of records delays a submission by at most one batch.
 *
 *   Checkpoints: not in the writer's commits. SQLite's automatic
 *   checkpoint (every 1,000 pages of WAL) runs inside a COMMIT and
 *   fsyncs: measured at 500 callbacks a second (make bench row 3) every
 *   ~190 ms one commit took 10-40 ms, and everything waiting for the
 *   writer (the SIP thread's outbox rows, the workers' ends) waited with
 *   it: that was the callbacks' p99. A WAL hook on the write connection
 *   wakes a checkpointer thread instead, once the WAL has
 *   STORE_CKPT_PAGES; it runs PASSIVE checkpoints with a connection of its
 *   own, beside the writer, which goes on committing (the WAL starts over
 *   at the first commit after a checkpoint that caught up; under a steady
 *   load that may not happen, so at STORE_CKPT_RESTART_PAGES a RESTART
 *   checkpoint, most of its work done by the passive ones, holds the
 *   writer for its last frames and makes the WAL start over). Should the
 *   WAL still reach STORE_CKPT_INLINE_PAGES (the checkpointer never
 *   catching up under a steady load), the writer checkpoints itself, as
 *   SQLite would. Durability is unchanged: a commit is in the WAL
 *   (synchronous=NORMAL), whoever checkpoints it later.
 *
 *   Lock order: queue_lock alone (readers_lock, in store.c, is never held
 *   with it); ckpt_mu alone. The outbox row counter is an atomic the
 *   writer updates after each commit.
 */
#include "store_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "mono.h"

#define STORE_GROUP_MAX 512         /* operations per transaction */
#define STORE_QUEUE_MAX 8192        /* operations queued by store_submit */
#define STORE_PRUNE_EVERY_MS 60000
#define STORE_PRUNE_BATCH 1000      /* records deleted per transaction */
#define STORE_SUBMIT_MAX 65536      /* operations in one submission */
/* Usage records (one per HTTP request) queue only while fewer than this
 * many operations wait: a commit the SIP thread waits for (nm's saves,
 * dlv_enqueue's outbox row) is never behind thousands of them; the HTTP
 * threads wait instead. */
#define STORE_USAGE_QUEUE_MAX 512
/* Usage records are lazy: nobody waits for them, so the writer lets them
 * gather for up to STORE_LAZY_MS, or until STORE_LAZY_BATCH wait, before
 * it commits (anything else queued, or a store_wait, makes it commit at
 * once). One commit per request cost the writer a transaction, a WAL
 * write and a wake-up per getStatus: at 20,000 answers a second, a
 * fourth of the gateway's CPU (perf, make bench row 2). */
#define STORE_LAZY_BATCH 64
#define STORE_LAZY_MS 20
#define STORE_CKPT_PAGES 1000       /* WAL pages that wake the checkpointer */
#define STORE_CKPT_RESTART_PAGES 10000   /* WAL pages that make it start over (~40 MB) */
#define STORE_CKPT_BUSY_MS 100      /* how long a RESTART checkpoint waits for readers */
#define STORE_CKPT_INLINE_PAGES 100000   /* ... and that make the writer do it (~400 MB) */

struct store_sub {
	struct store_sub *next;
	uint64_t seq;
	const struct store_op *ops;     /* operations, or */
	size_t n;
	int (*fn)(sqlite3 *db, void *arg);   /* a function run alone */
	void *arg;
	int rc;                         /* the outcome, set before done */
	bool owned;                     /* a copy: the writer frees it */
	bool lazy;                      /* a usage record: may wait STORE_LAZY_MS */
};

static int run_sql(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* --- submitting ------------------------------------------------------------- */

/* Appends sub (under queue_lock). false when the store is closing. */
static bool enqueue_locked(struct store *s, struct store_sub *sub)
{
	if (s->stopping)
		return false;
	sub->next = NULL;
	sub->seq = ++s->submitted;
	if (s->tail)
		s->tail->next = sub;
	else
		s->head = sub;
	s->tail = sub;
	if (sub->owned)
		s->queued_ops += sub->n;
	s->stats.submissions++;
	if (sub->lazy) {
		/* the first one wakes the writer (to time the batch), the
		 * batch's last one makes it commit; none in between */
		if (s->queued_lazy++ == 0)
			s->lazy_since = mono_ms();
		else if (s->queued_lazy != STORE_LAZY_BATCH)
			return true;
	} else {
		s->urgent = true;
	}
	pthread_cond_signal(&s->queue_cv);
	return true;
}

/* Submits sub (the caller's) and waits until it is done; its rc, or -1
 * when the store is closing. */
static int submit_wait(struct store *s, struct store_sub *sub)
{
	int rc;

	pthread_mutex_lock(&s->queue_lock);
	if (!enqueue_locked(s, sub)) {
		pthread_mutex_unlock(&s->queue_lock);
		log_error("store: a write submitted while the store closes is not written");
		return -1;
	}
	while (s->done < sub->seq)
		pthread_cond_wait(&s->done_cv, &s->queue_lock);
	rc = sub->rc;
	pthread_mutex_unlock(&s->queue_lock);
	return rc;
}

static bool ops_valid(const struct store_op *ops, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct store_op *o = &ops[i];

		if ((unsigned)o->kind > STORE_OP_PROGRESS)
			return false;
		if (o->kind == STORE_OP_USAGE &&
		    (!o->usage || !o->usage->operation || !o->usage->result))
			return false;
		if (o->kind == STORE_OP_TRACK && (!o->event || !o->correlator || !o->endpoint))
			return false;
		if (o->kind == STORE_OP_ADD &&
		    (!o->row || !o->row->correlator || !o->row->endpoint || !o->row->payload))
			return false;
		if (o->kind == STORE_OP_PROGRESS &&
		    (!o->correlator || (o->nreported > 0 && !o->reported) || o->nreported > STORE_SUBMIT_MAX))
			return false;
	}
	return true;
}

int store_apply(struct store *s, const struct store_op *ops, size_t n)
{
	struct store_sub sub = { .ops = ops, .n = n };

	if (n == 0)
		return 0;
	if (!s || !ops || n > STORE_SUBMIT_MAX || !ops_valid(ops, n)) {
		log_error("store: an invalid write is not written");
		return -1;
	}
	return submit_wait(s, &sub);
}

int store_run(struct store *s, int (*fn)(sqlite3 *db, void *arg), void *arg)
{
	struct store_sub sub = { .fn = fn, .arg = arg };

	if (!s || !fn)
		return -1;
	return submit_wait(s, &sub);
}

/* The bytes of the strings of o that a copy needs (NULLs take none). */
static size_t str_bytes(const char *p)
{
	return p ? strlen(p) + 1 : 0;
}

static size_t op_str_bytes(const struct store_op *o)
{
	if (o->kind == STORE_OP_TRACK)
		return str_bytes(o->event) + str_bytes(o->app) + str_bytes(o->correlator) +
		       str_bytes(o->endpoint) + str_bytes(o->detail);
	if (o->kind == STORE_OP_ADD)
		return sizeof(struct store_outbox_row) + str_bytes(o->row->app) +
		       str_bytes(o->row->correlator) + str_bytes(o->row->endpoint) +
		       str_bytes(o->row->payload);
	if (o->kind == STORE_OP_USAGE)
		return sizeof(struct store_usage) + 15 + str_bytes(o->usage->app) +
		       str_bytes(o->usage->operation) + str_bytes(o->usage->correlator) +
		       str_bytes(o->usage->result) + str_bytes(o->usage->cause);
	if (o->kind == STORE_OP_PROGRESS)
		return str_bytes(o->app) + str_bytes(o->correlator);
	return 0;
}

static const char *str_copy(char **at, const char *p)
{
	char *q = *at;
	size_t k;

	if (!p)
		return NULL;
	k = strlen(p) + 1;
	memcpy(q, p, k);
	*at += k;
	return q;
}

/* A submission owning a copy of ops and their strings, in one block. */
static struct store_sub *sub_copy(const struct store_op *ops, size_t n)
{
	size_t bytes = sizeof(struct store_sub) + n * sizeof(struct store_op), nints = 0;
	struct store_sub *sub;
	struct store_op *v;
	int *ints;
	char *at;

	for (size_t i = 0; i < n; i++) {
		bytes += op_str_bytes(&ops[i]);
		if (ops[i].kind == STORE_OP_PROGRESS)
			nints += ops[i].nreported;
	}
	bytes += nints * sizeof(int);
	if (!(sub = calloc(1, bytes)))
		return NULL;
	v = (struct store_op *)(sub + 1);
	ints = (int *)(v + n);      /* the reported arrays, then the strings */
	at = (char *)(ints + nints);
	for (size_t i = 0; i < n; i++) {
		v[i] = ops[i];
		if (v[i].kind == STORE_OP_TRACK) {
			v[i].event = str_copy(&at, ops[i].event);
			v[i].app = str_copy(&at, ops[i].app);
			v[i].correlator = str_copy(&at, ops[i].correlator);
			v[i].endpoint = str_copy(&at, ops[i].endpoint);
			v[i].detail = str_copy(&at, ops[i].detail);
		} else if (v[i].kind == STORE_OP_ADD) {
			struct store_outbox_row *r = (struct store_outbox_row *)at;

			at += sizeof(*r);
			*r = *ops[i].row;
			r->app = str_copy(&at, ops[i].row->app);
			r->correlator = str_copy(&at, ops[i].row->correlator);
			r->endpoint = str_copy(&at, ops[i].row->endpoint);
			r->payload = str_copy(&at, ops[i].row->payload);
			v[i].row = r;
		} else if (v[i].kind == STORE_OP_USAGE) {
			struct store_usage *u;

			at = (char *)(((uintptr_t)at + 15) & ~(uintptr_t)15);   /* aligned */
			u = (struct store_usage *)at;
			at += sizeof(*u);
			*u = *ops[i].usage;
			u->app = str_copy(&at, ops[i].usage->app);
			u->operation = str_copy(&at, ops[i].usage->operation);
			u->correlator = str_copy(&at, ops[i].usage->correlator);
			u->result = str_copy(&at, ops[i].usage->result);
			u->cause = str_copy(&at, ops[i].usage->cause);
			v[i].usage = u;
		} else if (v[i].kind == STORE_OP_PROGRESS) {
			v[i].app = str_copy(&at, ops[i].app);
			v[i].correlator = str_copy(&at, ops[i].correlator);
			if (ops[i].nreported > 0) {
				memcpy(ints, ops[i].reported, ops[i].nreported * sizeof(int));
				v[i].reported = ints;
				ints += ops[i].nreported;
			} else {
				v[i].reported = NULL;
			}
		}
	}
	sub->ops = v;
	sub->n = n;
	sub->owned = true;
	return sub;
}

uint64_t store_submit(struct store *s, const struct store_op *ops, size_t n)
{
	struct store_sub *sub;
	uint64_t seq = 0;
	size_t limit;

	if (!s || !ops || n == 0 || n > STORE_SUBMIT_MAX || !ops_valid(ops, n)) {
		log_error("store: an invalid write is not written");
		return 0;
	}
	if (!(sub = sub_copy(ops, n))) {
		log_error("store: out of memory: %zu write(s) not written", n);
		return 0;
	}
	sub->lazy = ops[0].kind == STORE_OP_USAGE && n == 1;
	limit = sub->lazy ? STORE_USAGE_QUEUE_MAX : STORE_QUEUE_MAX;
	pthread_mutex_lock(&s->queue_lock);
	/* the writer is that far behind: wait for it rather than pile up
	 * (and when it is letting usage records gather, not for that) */
	while (!s->stopping && s->queued_ops > 0 && s->queued_ops + n > limit) {
		if (!sub->lazy && !s->urgent) {
			s->urgent = true;
			pthread_cond_signal(&s->queue_cv);
		}
		pthread_cond_wait(&s->space_cv, &s->queue_lock);
	}
	if (enqueue_locked(s, sub))
		seq = sub->seq;
	pthread_mutex_unlock(&s->queue_lock);
	if (!seq) {
		log_error("store: %zu write(s) submitted while the store closes are not written", n);
		free(sub);
	}
	return seq;
}

void store_wait(struct store *s, uint64_t seq)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->queue_lock);
	if (s->done < seq) {   /* somebody waits: lazy records go now */
		s->urgent = true;
		pthread_cond_signal(&s->queue_cv);
	}
	while (s->done < seq)
		pthread_cond_wait(&s->done_cv, &s->queue_lock);
	pthread_mutex_unlock(&s->queue_lock);
}

void store_sync(struct store *s)
{
	uint64_t seq;

	if (!s)
		return;
	pthread_mutex_lock(&s->queue_lock);
	seq = s->submitted;
	pthread_mutex_unlock(&s->queue_lock);
	store_wait(s, seq);
}

void store_get_stats(struct store *s, struct store_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!s)
		return;
	pthread_mutex_lock(&s->queue_lock);
	*st = s->stats;
	pthread_mutex_unlock(&s->queue_lock);
	st->transactions = atomic_load(&s->transactions);
}

/* --- committing --------------------------------------------------------------- */

/* Commits the n operations of count submissions from first in one
 * transaction. Returns 0, or -1 (logged, rolled back). */
static int commit_group(struct store *s, struct store_sub *first, size_t count, size_t nops)
{
	long delta = 0;
	int rc = 0;

	if (run_sql(s->db, "BEGIN IMMEDIATE") != 0) {
		log_error("store: cannot begin a transaction of %zu write(s): %s", nops, sqlite3_errmsg(s->db));
		return -1;
	}
	for (struct store_sub *sub = first; rc == 0 && count > 0; sub = sub->next, count--) {
		long d = 0;

		rc = store_ops_apply(s->db, s->stmts, sub->ops, sub->n, &d);
		delta += d;
	}
	if (rc == 0 && run_sql(s->db, "COMMIT") != 0) {
		log_error("store: cannot commit %zu write(s): %s", nops, sqlite3_errmsg(s->db));
		rc = -1;
	}
	if (rc != 0) {
		run_sql(s->db, "ROLLBACK");
		return -1;
	}
	atomic_fetch_add(&s->outbox_rows, delta);
	return 0;
}

/* Marks count submissions from first done (their rc set), in order; frees
 * the owned ones. The others belong to their waiters from here. */
static void finish(struct store *s, struct store_sub *first, size_t count, unsigned long commits)
{
	struct store_sub *sub = first, *next;

	pthread_mutex_lock(&s->queue_lock);
	s->stats.commits += commits;
	for (; count > 0; sub = next, count--) {
		next = sub->next;
		if (sub->rc != 0)
			s->stats.failed++;
		else if (!sub->fn)
			s->stats.ops += sub->n;
		s->done = sub->seq;
		if (sub->owned)
			free(sub);
	}
	pthread_cond_broadcast(&s->done_cv);
	pthread_mutex_unlock(&s->queue_lock);
}

/* Commits the submissions of list, in order. */
static void commit_list(struct store *s, struct store_sub *list)
{
	while (list) {
		struct store_sub *first = list, *sub = list;
		size_t count = 0, nops = 0;
		unsigned long commits = 0;

		if (first->fn) {
			list = first->next;
			first->rc = first->fn(s->db, first->arg);
			finish(s, first, 1, 0);
			continue;
		}
		/* consecutive submissions of operations, up to STORE_GROUP_MAX
		 * operations (at least one submission) */
		do {
			nops += sub->n;
			count++;
			sub = sub->next;
		} while (sub && !sub->fn && nops + sub->n <= STORE_GROUP_MAX);
		list = sub;
		if (commit_group(s, first, count, nops) == 0) {
			commits = 1;
			for (sub = first; sub != list; sub = sub->next)
				sub->rc = 0;
		} else {
			/* one at a time: only the bad ones fail */
			for (sub = first; sub != list; sub = sub->next) {
				sub->rc = count > 1 ? commit_group(s, sub, 1, sub->n) : -1;
				if (sub->rc == 0)
					commits++;
			}
		}
		finish(s, first, count, commits);
	}
}

/* --- pruning --------------------------------------------------------------------- */

/* One pruning batch of the prune going on (queue_lock held on entry and
 * exit, released during the work). */
static void prune_batch(struct store *s)
{
	int64_t cutoff = s->prune_cutoff, ucut = s->usage_cutoff;
	int k, u = 0;

	pthread_mutex_unlock(&s->queue_lock);
	k = cutoff > INT64_MIN ? store_prune_step(s->db, cutoff, STORE_PRUNE_BATCH) : 0;
	if (ucut > 0)   /* usage records: a batch of their own, alongside */
		u = store_usage_prune_step(s->db, ucut, STORE_PRUNE_BATCH);
	pthread_mutex_lock(&s->queue_lock);
	s->stats.prune_batches++;
	if (k > 0) {
		s->prune_total += k;
		s->stats.pruned += (unsigned long)k;
	}
	if (u > 0)
		s->stats.usage_pruned += (unsigned long)u;
	if (u < STORE_PRUNE_BATCH)
		s->usage_cutoff = 0;   /* the usage records are done */
	if ((k == STORE_PRUNE_BATCH || u == STORE_PRUNE_BATCH) && !s->stopping)
		return;   /* more to do, after the queue */
	s->prune_result = k < 0 && s->prune_total == 0 ? -1 : s->prune_total;
	if (s->prune_total > 0 && s->prune_periodic)
		log_info("store: %ld tracking record(s) older than %lld s pruned", s->prune_total,
			 (long long)(s->retention_ms / 1000));
	else if (s->prune_total > 0)
		log_info("store: %ld tracking record(s) pruned", s->prune_total);
	s->prune_active = false;
	s->prune_gen++;
	s->next_prune = mono_ms() + STORE_PRUNE_EVERY_MS;
	pthread_cond_broadcast(&s->done_cv);
}

/* Starts the periodic prune when it is due (under queue_lock). */
static void prune_start_if_due(struct store *s, int64_t now)
{
	int64_t wall;

	if (s->prune_active || (s->retention_ms <= 0 && s->usage_retention_ms <= 0) ||
	    now < s->next_prune)
		return;
	wall = store_wall_ms();
	s->prune_active = true;
	s->prune_periodic = true;
	s->prune_total = 0;
	/* INT64_MIN: no tracking records to prune */
	s->prune_cutoff = s->retention_ms > 0 ? wall - s->retention_ms : INT64_MIN;
	s->usage_cutoff = s->usage_retention_ms > 0 ? wall - s->usage_retention_ms : 0;
}

static void *writer_main(void *arg)
{
	struct store *s = arg;

	pthread_mutex_lock(&s->queue_lock);
	for (;;) {
		struct store_sub *list = s->head;
		int64_t now = mono_ms();
		/* only usage records queued, not many, not for long: let them
		 * gather (and do any prune work meanwhile) */
		bool gather = list && !s->urgent && !s->stopping && s->queued_lazy < STORE_LAZY_BATCH &&
			      now < s->lazy_since + STORE_LAZY_MS;
		struct timespec ts;

		if (list && !gather) {
			s->head = s->tail = NULL;
			s->queued_ops = 0;
			s->queued_lazy = 0;
			s->urgent = false;
			pthread_cond_broadcast(&s->space_cv);
			pthread_mutex_unlock(&s->queue_lock);
			commit_list(s, list);
			pthread_mutex_lock(&s->queue_lock);
			/* a prune takes its turn: under a steady load it starts
			 * when due and goes on a batch per commit, never starved */
			prune_start_if_due(s, mono_ms());
			if (s->prune_active)
				prune_batch(s);
			continue;
		}
		if (s->stopping)
			break;
		prune_start_if_due(s, now);
		if (s->prune_active) {
			prune_batch(s);
			continue;
		}
		if (gather) {
			int64_t until = s->lazy_since + STORE_LAZY_MS;   /* queue_cv: monotonic */

			ts.tv_sec = (time_t)(until / 1000);
			ts.tv_nsec = (long)(until % 1000) * 1000000L;
			pthread_cond_timedwait(&s->queue_cv, &s->queue_lock, &ts);
			continue;
		}
		if (s->retention_ms <= 0 && s->usage_retention_ms <= 0) {
			pthread_cond_wait(&s->queue_cv, &s->queue_lock);
			continue;
		}
		ts.tv_sec = (time_t)(s->next_prune / 1000);
		ts.tv_nsec = (long)(s->next_prune % 1000) * 1000000L;
		pthread_cond_timedwait(&s->queue_cv, &s->queue_lock, &ts);
	}
	if (s->prune_active) {
		/* stopped in the middle of a prune: its waiter gets what was done */
		s->prune_result = s->prune_total;
		s->prune_active = false;
		s->prune_gen++;
		pthread_cond_broadcast(&s->done_cv);
	}
	pthread_mutex_unlock(&s->queue_lock);
	store_stmts_free(s->stmts);
	return NULL;
}

void store_set_retention(struct store *s, long retention_s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->queue_lock);
	s->retention_ms = retention_s > 0 ? (int64_t)retention_s * 1000 : 0;
	s->next_prune = mono_ms();
	pthread_cond_signal(&s->queue_cv);
	pthread_mutex_unlock(&s->queue_lock);
}

void store_set_usage_retention(struct store *s, long retention_s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->queue_lock);
	s->usage_retention_ms = retention_s > 0 ? (int64_t)retention_s * 1000 : 0;
	s->next_prune = mono_ms();
	pthread_cond_signal(&s->queue_cv);
	pthread_mutex_unlock(&s->queue_lock);
}

long store_prune(struct store *s, int64_t older_than_wall_ms)
{
	unsigned long gen;
	long r;

	if (!s)
		return -1;
	pthread_mutex_lock(&s->queue_lock);
	while (s->prune_active && !s->stopping)
		pthread_cond_wait(&s->done_cv, &s->queue_lock);
	if (s->stopping) {
		pthread_mutex_unlock(&s->queue_lock);
		return -1;
	}
	s->prune_active = true;
	s->prune_periodic = false;
	s->prune_total = 0;
	s->prune_cutoff = older_than_wall_ms;
	gen = s->prune_gen;
	pthread_cond_signal(&s->queue_cv);
	while (s->prune_gen == gen)
		pthread_cond_wait(&s->done_cv, &s->queue_lock);
	r = s->prune_result;
	pthread_mutex_unlock(&s->queue_lock);
	return r;
}

/* --- checkpoints --------------------------------------------------------------------- */

/* The write connection's WAL hook, on the writer thread after each commit
 * (it replaces SQLite's automatic checkpoint). */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct store *s = arg;

	if (pages >= STORE_CKPT_INLINE_PAGES) {
		if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) == SQLITE_OK)
			atomic_fetch_add(&s->checkpoints, 1);
		return SQLITE_OK;
	}
	pthread_mutex_lock(&s->ckpt_mu);
	if (pages < s->ckpt_base)
		s->ckpt_base = 0;   /* the WAL started over */
	/* pages counts the WAL's frames, checkpointed or not: wake the
	 * checkpointer for STORE_CKPT_PAGES new ones. Not at every commit
	 * after a checkpoint: a checkpoint going on keeps the WAL from
	 * starting over (it reads), and so would always be going on */
	if (pages - s->ckpt_base >= STORE_CKPT_PAGES) {
		if (!s->ckpt_pending) {
			s->ckpt_pending = true;
			pthread_cond_signal(&s->ckpt_cv);
		}
	}
	pthread_mutex_unlock(&s->ckpt_mu);
	return SQLITE_OK;
}

static void *ckpt_main(void *arg)
{
	struct store *s = arg;

	pthread_mutex_lock(&s->ckpt_mu);
	for (;;) {
		int rc = SQLITE_OK, done = 0, log = 0;

		while (!s->ckpt_pending && !s->ckpt_stopping)
			pthread_cond_wait(&s->ckpt_cv, &s->ckpt_mu);
		if (s->ckpt_stopping)
			break;
		s->ckpt_pending = false;
		pthread_mutex_unlock(&s->ckpt_mu);
		/* the frames written meanwhile too (a few), so that the WAL
		 * can start over at the writer's next commit; should it still
		 * be long, a RESTART checkpoint makes it start over: that one
		 * holds the writer for the end of its work (the frames of the
		 * last few commits, and an fsync), once per
		 * STORE_CKPT_RESTART_PAGES */
		for (int k = 0; k < 8; k++) {
			rc = sqlite3_wal_checkpoint_v2(s->ckpt_db, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &done);
			if (rc != SQLITE_OK || done < 0 || done >= log)
				break;
		}
		if (rc == SQLITE_OK && log >= STORE_CKPT_RESTART_PAGES)
			rc = sqlite3_wal_checkpoint_v2(s->ckpt_db, "main", SQLITE_CHECKPOINT_RESTART, &log, &done);
		if (rc == SQLITE_OK && done >= 0)
			atomic_fetch_add(&s->checkpoints, 1);
		else if (rc != SQLITE_BUSY)
			log_warn("store: checkpoint: %s", sqlite3_errmsg(s->ckpt_db));
		pthread_mutex_lock(&s->ckpt_mu);
		if (rc == SQLITE_OK && done > s->ckpt_base)
			s->ckpt_base = done;
	}
	pthread_mutex_unlock(&s->ckpt_mu);
	return NULL;
}

/* Starts the checkpointer; without it (logged) SQLite's automatic
 * checkpoint stays. */
static void ckpt_start(struct store *s)
{
	const char *path = sqlite3_db_filename(s->db, "main");

	pthread_mutex_init(&s->ckpt_mu, NULL);
	pthread_cond_init(&s->ckpt_cv, NULL);
	if (!path || !path[0] ||
	    sqlite3_open_v2(path, &s->ckpt_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		log_warn("store: no checkpointer connection (%s): the writer checkpoints",
			 s->ckpt_db ? sqlite3_errmsg(s->ckpt_db) : "out of memory");
		sqlite3_close(s->ckpt_db);
		s->ckpt_db = NULL;
		return;
	}
	/* short: a RESTART checkpoint holds the write lock while it waits for
	 * readers to move on; the next one tries again */
	sqlite3_busy_timeout(s->ckpt_db, STORE_CKPT_BUSY_MS);
	/* a connection opens the WAL at its first read; until then a
	 * checkpoint does nothing (and says OK) */
	if (sqlite3_exec(s->ckpt_db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) != SQLITE_OK) {
		log_warn("store: the checkpointer cannot read (%s): the writer checkpoints",
			 sqlite3_errmsg(s->ckpt_db));
		sqlite3_close(s->ckpt_db);
		s->ckpt_db = NULL;
		return;
	}
	if (pthread_create(&s->ckpt, NULL, ckpt_main, s) != 0) {
		log_warn("store: cannot start the checkpointer: the writer checkpoints");
		sqlite3_close(s->ckpt_db);
		s->ckpt_db = NULL;
		return;
	}
	s->ckpt_started = true;
	sqlite3_wal_hook(s->db, wal_hook, s);
}

/* After the writer stopped: the automatic checkpoint back for the close. */
static void ckpt_stop(struct store *s)
{
	if (s->ckpt_started) {
		pthread_mutex_lock(&s->ckpt_mu);
		s->ckpt_stopping = true;
		pthread_cond_signal(&s->ckpt_cv);
		pthread_mutex_unlock(&s->ckpt_mu);
		pthread_join(s->ckpt, NULL);
		s->ckpt_started = false;
		sqlite3_wal_autocheckpoint(s->db, 1000);
	}
	sqlite3_close(s->ckpt_db);
	s->ckpt_db = NULL;
	pthread_cond_destroy(&s->ckpt_cv);
	pthread_mutex_destroy(&s->ckpt_mu);
}

/* --- start, stop ------------------------------------------------------------------ */

/* The write connection's commit hook: counts (0: the commit goes on). */
static int count_commit(void *arg)
{
	struct store *s = arg;

	atomic_fetch_add(&s->transactions, 1);
	return 0;
}

int store_writer_start(struct store *s)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&s->queue_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->queue_cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&s->done_cv, NULL);
	pthread_cond_init(&s->space_cv, NULL);
	ckpt_start(s);
	sqlite3_commit_hook(s->db, count_commit, s);
	if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
		log_error("store: cannot start the writer thread");
		return -1;
	}
	s->writer_started = true;
	return 0;
}

void store_writer_stop(struct store *s)
{
	if (s->writer_started) {
		pthread_mutex_lock(&s->queue_lock);
		s->stopping = true;
		pthread_cond_signal(&s->queue_cv);
		pthread_cond_broadcast(&s->space_cv);
		pthread_cond_broadcast(&s->done_cv);
		pthread_mutex_unlock(&s->queue_lock);
		pthread_join(s->writer, NULL);
		s->writer_started = false;
	}
	ckpt_stop(s);
	pthread_cond_destroy(&s->queue_cv);
	pthread_cond_destroy(&s->done_cv);
	pthread_cond_destroy(&s->space_cv);
	pthread_mutex_destroy(&s->queue_lock);
}
