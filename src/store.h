/*
 * store.h - durable state in SQLite (WAL mode, versioned schema).
 *
 * Threads (store_writer.c has the details):
 *   - the store's writer thread owns the write connection: every write
 *     (tracking records, outbox rows, notifications) is a submission it
 *     commits, consecutive submissions of operations together in one
 *     transaction (group commit); it also prunes old tracking records, in
 *     bounded batches between submissions;
 *   - readers (/deliveries, /health, /metrics, loading at start) use
 *     read-only connections of their own (WAL: they read the last commit
 *     and never wait for the writer), taken from a small pool;
 *   - the number of outbox rows is a counter the writer keeps.
 * Every function may be called from any thread but the writer's own
 * (a store_run function must not call the store).
 */
#ifndef PXTSGW_STORE_H
#define PXTSGW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

/* Opens (creating if needed) the store at path and migrates its schema to
 * the current version. Returns 0 and sets *out, or -1 with err set. */
int store_open(const char *path, struct store **out, char *err, size_t cap);
void store_close(struct store *s);   /* NULL is fine */
/* true when a read connection answers and the writer thread runs. From
 * any thread; never waits for the writer. */
bool store_ready(struct store *s);
/* The schema version of an open store. */
int store_schema_version(struct store *s);
/* The schema version this pxtsgw migrates a store to (its number of
 * migrations). */
int store_schema_latest(void);

/* --- delivery tracking (contract section 9a) --- */

/* Appends one record, committed when this returns (a submission to the
 * writer, waited for); time = now (UTC, ms).
 * event is "<operation>_DeliveryAttempted" or "<operation>_DeliveryResult";
 * detail NULL = JSON null. Returns 0, or -1 (logged). */
int store_track(struct store *s, const char *event, const char *app, const char *correlator,
		uint64_t delivery, int attempt, bool delivered, const char *endpoint, const char *detail);
/* The records of one correlator of application app (NULL: of every
 * application; "" is the anonymous one) as a JSON array, oldest first,
 * each object with event, correlator, delivery, attempt, result, time,
 * endpoint, detail (null when absent) and, when with_app, app. *json is
 * malloc'd (NUL-terminated; caller frees) and *len (may be NULL) its
 * length. Returns 0, or -1 with *json NULL. */
int store_deliveries_json(struct store *s, const char *app, const char *correlator, bool with_app,
			  char **json, size_t *len);

/* The same listing read in pieces, for streaming it out (no cap on its
 * size, no copy in memory): store_deliveries_open, then
 * store_cursor_read until it returns 0 (the end; the pieces together are
 * the JSON array) or -1 (an error: what was read is not a whole array),
 * then store_cursor_close. Records are read a page at a time, each page
 * in a short read transaction of its own: between pieces a cursor holds
 * no database connection. A listing holds the records up to the moment
 * its last page was read. The first page is read at once: NULL when the
 * store cannot be read or memory is short. One thread at a time per
 * cursor. */
struct store_cursor;
struct store_cursor *store_deliveries_open(struct store *s, const char *app,
					   const char *correlator, bool with_app);
long store_cursor_read(struct store_cursor *c, char *buf, size_t cap);
void store_cursor_close(struct store_cursor *c);   /* NULL is fine */
/* The highest delivery id recorded (0 when none). Returns 0, or -1. */
int store_max_delivery(struct store *s, uint64_t *max);

/* --- running notifications (store_notif.c) ------------------------------- */

struct store_notif {
	const char *app;            /* the owner (NULL: "", the anonymous application) */
	const char *correlator;
	const char *endpoint;
	const char *interface_name;
	unsigned criteria;          /* NOTIF_CRITERION bits */
	int64_t frequency_ms;
	long count;                 /* 0 = unlimited */
	long sent;                  /* callbacks counted so far */
	int style;                  /* enum notif_style */
	int64_t end_ms;             /* wall clock, ms since the epoch */
	int64_t created_ms;
	size_t n;
	const char *const *addresses;
	const char *const *sip_uris;
	const int *reported;        /* ts_status per address, -1 = not known */
	const char *camara;         /* a CAMARA subscription's data (camara_sub.c's
				     * stored form); NULL: a Parlay X notification */
};

/* Saves a notification that starts (replacing one of the same application
 * and correlator). Returns 0 or -1. */
int store_notif_save(struct store *s, const struct store_notif *n);
/* Records progress of app's (NULL: "") correlator: callbacks counted, the
 * status last reported per address (-1 = not known). */
int store_notif_progress(struct store *s, const char *app, const char *correlator, long sent,
			 const int *reported, size_t n);
/* The same write submitted to the writer without waiting for it
 * (store_submit: committed in order after what was submitted before it,
 * in the group of the moment): the notification manager's, after each
 * callback of a NOTIFY, so that the SIP thread waits for no commit of its
 * own. Returns 0, or -1 (invalid, not submitted). */
int store_notif_progress_submit(struct store *s, const char *app, const char *correlator, long sent,
				const int *reported, size_t n);
int store_notif_delete(struct store *s, const char *app, const char *correlator);
/* Calls fn for every saved notification, oldest first (from a read
 * connection: no lock is held); the struct and its strings live during
 * the call only. Returns the number loaded, or -1. */
typedef void (store_notif_h)(const struct store_notif *n, void *arg);
int store_notif_load(struct store *s, store_notif_h *fn, void *arg);

/* Wall clock in ms since the epoch. */
int64_t store_wall_ms(void);

/* --- outbox (store_outbox.c) ---------------------------------------------- */

/* One callback not yet finished (delivered or failed for good), in the
 * outbox table: what dlv needs to send it again after a restart. */
struct store_outbox_row {
	uint64_t delivery;          /* the delivery id, > 0: the order of callbacks */
	const char *app;            /* the owner (NULL: "") */
	const char *correlator;
	const char *endpoint;
	int op;                     /* enum dlv_op */
	const char *payload;        /* the callback's content, dlv.c's format */
	int attempts;               /* attempts made so far */
	int64_t created_ms;         /* wall clock when it was accepted */
};

/* Adds a row; committed when this returns (a submission waited for; WAL,
 * synchronous=NORMAL: it survives a crash of the process). Returns 0, or
 * -1 (logged). */
int store_outbox_add(struct store *s, const struct store_outbox_row *r);
/* Sets the attempts made of a row / deletes a row (committed on return).
 * A row that is not there is no error. Return 0, or -1 (logged). */
int store_outbox_attempts(struct store *s, uint64_t delivery, int attempts);
int store_outbox_remove(struct store *s, uint64_t delivery);
/* Calls fn for at most max_rows rows whose delivery id is above *after,
 * by delivery id ascending, and sets *after to the last id read: a
 * bounded batch; call again while it returns max_rows. The row lives
 * during the call only; fn may call the store (a read connection is in
 * use, no lock is held). Returns the number of rows read, or -1. */
typedef void (store_outbox_h)(const struct store_outbox_row *r, void *arg);
int store_outbox_load(struct store *s, uint64_t *after, int max_rows, store_outbox_h *fn, void *arg);
/* The number of rows: a counter kept by the writer (counted once at open,
 * then rows added minus rows deleted by committed writes); -1 for NULL.
 * The highest delivery id in the outbox (0 when empty; returns 0 or -1). */
long store_outbox_count(struct store *s);
int store_outbox_max_delivery(struct store *s, uint64_t *max);
/* When the oldest row was accepted (its created_ms, wall clock ms; 0 when
 * the outbox is empty), read on a read-only connection. Returns 0 or -1. */
int store_outbox_oldest_ms(struct store *s, int64_t *created_ms);

/* --- usage records (store_usage.c; contract section 13) -------------------- */

/* One SOAP or REST request as GET /usage exports it. Written through the
 * writer (store_submit with STORE_OP_USAGE: committed within one commit
 * cycle, nobody waits). */
struct store_usage {
	int64_t time_ms;            /* wall clock of the answer, ms since the epoch */
	const char *app;            /* NULL: "" (the anonymous application) */
	const char *operation;      /* "getStatus", ..., "retrieve", ... */
	long addresses;             /* < 0: empty */
	long expanded;              /* < 0: empty */
	long count;                 /* < 0: empty */
	const char *correlator;     /* NULL: empty */
	const char *result;         /* "ok", a fault id ("SVC0001") or an HTTP code */
	const char *cause;          /* NULL: empty */
	long duration_ms;
};

/* The records of time from_ms..to_ms (wall clock ms, both included) of
 * application app (NULL: of every one) as CSV (RFC 4180, CRLF line ends):
 * the header line, then one line per record, oldest first. Read a page at
 * a time as store_deliveries_open's listing is (a short read transaction
 * per page, no connection held between pieces): store_usage_read until it
 * returns 0 (the end) or -1 (an error), then store_usage_close. NULL when
 * the store cannot be read or memory is short. */
struct store_usage_cursor;
struct store_usage_cursor *store_usage_open(struct store *s, int64_t from_ms, int64_t to_ms,
					    const char *app);
long store_usage_read(struct store_usage_cursor *c, char *buf, size_t cap);
void store_usage_close(struct store_usage_cursor *c);   /* NULL is fine */
/* store.usage-retention-s: the writer deletes usage records older than
 * retention_s, now and every minute, in batches as it prunes tracking
 * records. 0 = never. */
void store_set_usage_retention(struct store *s, long retention_s);
/* The number of usage records (for tests). Returns it, or -1. */
long store_usage_count(struct store *s);

/* --- writes: submissions to the writer thread (store_writer.c) ----------- */

/* One write. A submission is a few of them, applied in order in one
 * transaction, all or nothing; the writer may commit several submissions
 * in one transaction (group commit), but a failed one never takes another
 * down with it (the group is then tried again a submission at a time). */
enum store_op_kind {
	STORE_OP_TRACK,             /* a deliveries record, as store_track */
	STORE_OP_ATTEMPTS,          /* store_outbox_attempts */
	STORE_OP_REMOVE,            /* store_outbox_remove */
	STORE_OP_ADD,               /* store_outbox_add: row */
	STORE_OP_USAGE,             /* a usage record (store_usage.c): usage */
	STORE_OP_PROGRESS,          /* store_notif_progress: app, correlator,
				     * sent, reported (nreported of them) */
};
struct store_op {
	enum store_op_kind kind;
	uint64_t delivery;
	int attempt;                /* TRACK: the attempt; ATTEMPTS: attempts made */
	/* TRACK only */
	const char *event;
	const char *app;            /* NULL: "" */
	const char *correlator;
	const char *endpoint;
	const char *detail;         /* NULL = JSON null */
	bool delivered;
	int64_t time_ms;            /* wall clock of the event */
	/* ADD only (its delivery is row->delivery) */
	const struct store_outbox_row *row;
	/* USAGE only */
	const struct store_usage *usage;
	/* PROGRESS only */
	long sent;
	const int *reported;
	size_t nreported;
};
/* Submits ops and waits until they are committed. Returns 0, or -1
 * (logged, nothing of them written). */
int store_apply(struct store *s, const struct store_op *ops, size_t n);
/* Submits ops (copied) without waiting; waits only while the writer is
 * STORE_QUEUE_MAX operations behind (the store sets the pace). Returns a
 * sequence number for store_wait (> 0), or 0 when they were not
 * submitted (logged: invalid, memory short, store closing). A failure
 * when they are committed is logged by the writer. */
uint64_t store_submit(struct store *s, const struct store_op *ops, size_t n);
/* Waits until submission seq and every one before it are done (committed
 * or failed, logged). */
void store_wait(struct store *s, uint64_t seq);
/* Waits until everything submitted before the call is done. NULL is fine. */
void store_sync(struct store *s);

/* --- retention -------------------------------------------------------------- */

/* store.tracking-retention-s: from now on the writer deletes tracking
 * records older than retention_s, now and every minute, STORE_PRUNE_BATCH
 * records per transaction with the submissions served between two
 * batches. 0 (the default) = never. */
void store_set_retention(struct store *s, long retention_s);
/* Deletes every tracking record whose time is before older_than_wall_ms
 * (wall clock, ms since the epoch), as the writer's pruning does (in
 * batches, submissions served in between), and returns when done with the
 * number deleted, or -1. */
long store_prune(struct store *s, int64_t older_than_wall_ms);
/* One bounded step of that: deletes at most max_rows of the oldest
 * tracking records whose time is before older_than_wall_ms. Only the
 * max_rows records with the lowest ids are looked at; call again while it
 * returns max_rows. Returns the number deleted, or -1. */
int store_prune_tracking(struct store *s, int64_t older_than_wall_ms, int max_rows);

/* What the writer did since the store was opened. */
struct store_stats {
	unsigned long submissions;  /* accepted by store_submit / store_apply / store_run */
	unsigned long commits;      /* transactions of operations committed */
	unsigned long ops;          /* operations committed */
	unsigned long failed;       /* submissions that failed */
	unsigned long prune_batches;/* pruning transactions */
	unsigned long pruned;       /* tracking records pruned */
	unsigned long usage_pruned; /* usage records pruned */
	unsigned long transactions; /* every commit of the write connection
				     * (groups, store_run's, pruning) */
};
void store_get_stats(struct store *s, struct store_stats *st);

#endif
