/*
 * store_int.h - for the store's own files (store.c, store_writer.c,
 * store_notif.c, store_outbox.c): the layout of struct store, the writer's
 * entry points and the read connections. Not for other modules (the
 * store's unit tests use store_run to hold the writer).
 */
#ifndef PXTSGW_STORE_INT_H
#define PXTSGW_STORE_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include <sqlite3.h>

#include "store.h"

#define STORE_READERS_IDLE 4        /* read connections kept open for reuse */
#define STORE_BUSY_TIMEOUT_MS 5000

struct store_sub;

/* The writer's prepared statements, kept for its lifetime (store_ops_apply
 * and store_usage_insert fill them on first use; finalized when it ends). */
enum { STORE_STMT_ADDRESSES = STORE_OP_PROGRESS + 1, STORE_STMTS };

struct store {
	char *path;
	/* the write connection: the writer thread's only (and store_open's
	 * and store_close's, before it starts and after it ended) */
	sqlite3 *db;
	sqlite3_stmt *stmts[STORE_STMTS];   /* the writer thread's */
	pthread_t writer;
	bool writer_started;
	/* everything below up to readers_lock: under queue_lock */
	pthread_mutex_t queue_lock;
	pthread_cond_t queue_cv;    /* wakes the writer */
	pthread_cond_t done_cv;     /* wakes store_wait and store_prune */
	pthread_cond_t space_cv;    /* wakes store_submit waiting for room */
	struct store_sub *head, *tail;
	size_t queued_ops;          /* operations in head..tail */
	size_t queued_lazy;         /* usage records in head..tail */
	int64_t lazy_since;         /* monotonic ms: the first of them queued */
	bool urgent;                /* something in head..tail must not wait */
	uint64_t submitted, done;   /* sequence numbers: last submitted, last done */
	bool stopping;
	int64_t retention_ms;       /* 0: no pruning */
	int64_t next_prune;         /* monotonic ms */
	bool prune_active;          /* a prune is going on, cutoff prune_cutoff */
	bool prune_periodic;        /* it is the retention's (not store_prune's) */
	int64_t prune_cutoff;
	long prune_total;           /* deleted by the prune going on */
	long prune_result;          /* of the last prune finished */
	unsigned long prune_gen;    /* prunes finished */
	int64_t usage_retention_ms; /* 0: usage records not pruned */
	int64_t usage_cutoff;       /* of the prune going on; 0: none */
	struct store_stats stats;
	/* idle read connections */
	pthread_mutex_t readers_lock;
	sqlite3 *idle[STORE_READERS_IDLE];
	size_t nidle;
	atomic_long outbox_rows;    /* written by the writer after a commit */
	/* the checkpointer (store_writer.c): its own connection, woken by
	 * the writer's WAL hook; ckpt_pending, ckpt_stopping, ckpt_base under
	 * ckpt_mu */
	sqlite3 *ckpt_db;
	pthread_t ckpt;
	bool ckpt_started, ckpt_pending, ckpt_stopping;
	int ckpt_base;              /* WAL frames the last checkpoint covered */
	pthread_mutex_t ckpt_mu;
	pthread_cond_t ckpt_cv;
	atomic_ulong checkpoints;   /* checkpoints run (either thread) */
	atomic_ulong transactions;  /* commits of the write connection (its commit hook) */
};

/* Runs fn(db, arg) on the writer thread with the write connection, alone
 * (between two groups; fn opens its own transaction if it wants one), and
 * returns its result once it ran; -1 when the store is closing. fn must
 * not call the store. */
int store_run(struct store *s, int (*fn)(sqlite3 *db, void *arg), void *arg);

/* Runs fn(db, arg) with a read-only connection of the caller's own (no
 * lock held during fn; WAL: it reads the last commit). Returns fn's
 * result, or -1 when no read connection can be opened (logged). */
int store_read(struct store *s, int (*fn)(sqlite3 *db, void *arg), void *arg);

/* Starts / stops the writer thread (store_open, store_close). Stopping
 * commits everything submitted first. */
int store_writer_start(struct store *s);
void store_writer_stop(struct store *s);

/* One bounded pruning step on connection db (the writer's). */
int store_prune_step(sqlite3 *db, int64_t older_than_wall_ms, int max_rows);

/* Usage records (store_usage.c), on the writer's connection: inserts one
 * (0 or -1, logged) / one bounded pruning step (the number deleted, or
 * -1). */
int store_usage_insert(sqlite3 *db, sqlite3_stmt **cache, const struct store_usage *u);
int store_usage_prune_step(sqlite3 *db, int64_t older_than_wall_ms, int max_rows);

/* Applies ops inside the caller's transaction on db; *outbox_delta gets
 * the outbox rows added minus deleted. Returns 0, or -1 (logged, the
 * caller rolls back). stmts: STORE_STMTS statements of db kept between
 * calls (NULL entries are prepared); store_stmts_free finalizes them. */
int store_ops_apply(sqlite3 *db, sqlite3_stmt **stmts, const struct store_op *ops, size_t n,
		    long *outbox_delta);
void store_stmts_free(sqlite3_stmt **stmts);

/* A read-only connection of the pool (or a new one; NULL when it cannot
 * be opened), and giving it back. */
sqlite3 *store_reader_get(struct store *s);
void store_reader_put(struct store *s, sqlite3 *db);

#endif
