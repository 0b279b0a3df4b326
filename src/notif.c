/*
 * notif.c - the notification state machine of one correlator (contract
 * section 5): statuses and the time go in, callbacks come out of a FIFO.
 * Pure logic: no clock, no threads, no I/O; the only side effect is malloc.
 *
 * Per address it keeps the current status, the status last reported to the
 * client (the baseline at first) and a dirty flag (changed since the last
 * emission). An emission takes, in address order, the dirty addresses whose
 * current status differs from the reported one and matches the criteria;
 * then every dirty address (inside the criteria or not) counts as reported,
 * so that a later return to a status in the criteria is again a change.
 *
 * Decisions beyond notif.h:
 * - A status given before notif_start replaces the baseline. An address
 *   with no baseline at notif_start takes its first status as its baseline
 *   (not notified; left out of check_immediate); until then notif_current
 *   reads it as Unreachable.
 * - check_immediate with nothing matching the criteria sends nothing, does
 *   not count and opens no frequency window (like any empty emission).
 * - The queue holds at most one statusChanged per address plus
 *   NOTIF_QUEUE_SLACK callbacks, and always keeps a slot for the final
 *   statusEnd/statusError. An emission that does not fit (the caller does
 *   not pop) or cannot get memory is held, its changes coalescing, and is
 *   retried NOTIF_RETRY_MS later (notif_next_wakeup says when) or at the
 *   next status. At end_ms, held changes that still cannot be queued are
 *   dropped and statusEnd is queued anyway.
 * - notif_failed drops held changes (statusError only); its address index
 *   is passed through as given. notif_cancel always empties the queue, even
 *   after the notification finished by itself.
 * - Negative frequency_ms or count, or an unknown style, are invalid
 *   params (NULL), like 0 addresses.
 */
#include "notif.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Callbacks that may wait unpopped beyond one emission of the largest size. */
#define NOTIF_QUEUE_SLACK 64
/* How long an emission that could not be queued waits before a retry. */
#define NOTIF_RETRY_MS 100

#define ST_UNKNOWN ((signed char)-1)	/* cur: no status yet */
#define REP_NONE ((signed char)-2)	/* rep: nothing reported (check_immediate) */

struct qitem {
	enum notif_action_kind kind;
	size_t n;
	struct notif_entry *entries;
};

struct notif {
	struct notif_params p;
	signed char *cur;	/* current status, or ST_UNKNOWN */
	signed char *rep;	/* last reported (or baseline), or REP_NONE */
	bool *dirty;
	size_t n_dirty;		/* dirty addresses */
	size_t n_pending;	/* dirty addresses that are entries (is_entry) */
	bool started;
	bool finished;
	bool window_open;
	int64_t window_end;
	int64_t retry_at;	/* when n_pending and no window: retry time */
	long sent;
	/* ring buffer of q_alloc slots, grown on demand up to q_cap (most
	 * notifications never queue more than a few callbacks: a running one
	 * costs its few slots, not q_cap); q_alloc > q_len always, so the
	 * final statusEnd/statusError has its slot without an allocation */
	struct qitem *q;
	size_t q_cap, q_alloc, q_head, q_len;
	size_t err_addr;	/* the NA_ERROR queued, if any */
	struct fault *err_reason;	/* its reason (NULL: none, or no memory) */
};

static int64_t add_sat(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	return a + b;
}

static bool status_valid(ts_status st)
{
	return st == TS_REACHABLE || st == TS_UNREACHABLE || st == TS_BUSY;
}

static bool matches(const struct notif *n, signed char st)
{
	if (st < 0)
		return false;
	return n->p.criteria == 0 || (n->p.criteria & NOTIF_CRITERION(st)) != 0;
}

static bool is_entry(const struct notif *n, size_t i)
{
	return n->dirty[i] && n->cur[i] != n->rep[i] && matches(n, n->cur[i]);
}

/* Every dirty address counts as reported; nothing is held any more. */
static void settle(struct notif *n)
{
	for (size_t i = 0; i < n->p.n_addresses && n->n_dirty > 0; i++) {
		if (!n->dirty[i])
			continue;
		n->rep[i] = n->cur[i];
		n->dirty[i] = false;
		n->n_dirty--;
	}
	n->n_dirty = 0;
	n->n_pending = 0;
	n->retry_at = INT64_MAX;
}

static void q_drop(struct notif *n)
{
	while (n->q_len > 0) {
		free(n->q[n->q_head].entries);
		n->q[n->q_head].entries = NULL;
		n->q_head = (n->q_head + 1) % n->q_alloc;
		n->q_len--;
	}
	n->q_head = 0;
}

static struct qitem *q_slot(struct notif *n, size_t k)
{
	return &n->q[(n->q_head + n->q_len + k) % n->q_alloc];
}

/* Makes room for need slots in all (need <= q_cap): the ring is grown,
 * its items moved to the front in order. 0, or -1 when memory is short. */
static int q_reserve(struct notif *n, size_t need)
{
	size_t a = n->q_alloc;
	struct qitem *q;

	if (need <= a)
		return 0;
	while (a < need)
		a *= 2;
	if (a > n->q_cap)
		a = n->q_cap;
	q = calloc(a, sizeof(*q));
	if (!q)
		return -1;
	for (size_t i = 0; i < n->q_len; i++)
		q[i] = n->q[(n->q_head + i) % n->q_alloc];
	free(n->q);
	n->q = q;
	n->q_alloc = a;
	n->q_head = 0;
	return 0;
}

/* statusEnd or statusError: always fits (emissions leave the last slot,
 * allocated: q_alloc > q_len). */
static void finish_with(struct notif *n, enum notif_action_kind kind)
{
	if (n->q_len < n->q_alloc) {
		struct qitem *it = q_slot(n, 0);

		it->kind = kind;
		it->n = 0;
		it->entries = NULL;
		n->q_len++;
	}
	n->finished = true;
	n->window_open = false;
}

static void defer(struct notif *n, int64_t now)
{
	n->retry_at = add_sat(now, NOTIF_RETRY_MS);
}

/* Sends the held entries at time now, if any (see the file header). */
static void emit(struct notif *n, int64_t now)
{
	bool changed = n->p.style == NOTIF_STYLE_STATUS_CHANGED;
	size_t k, calls, got = 0;
	long left = LONG_MAX;

	if (n->finished || n->n_dirty == 0)
		return;
	if (n->n_pending == 0) {
		settle(n);
		return;
	}
	k = n->n_pending;
	if (n->p.count > 0)
		left = n->p.count - n->sent;	/* >= 1 while not finished */
	if (changed && (unsigned long)left < k)
		k = (size_t)left;
	calls = changed ? k : 1;
	if (n->q_len + calls > n->q_cap - 1 || q_reserve(n, n->q_len + calls + 1) != 0) {
		defer(n, now);
		return;
	}

	if (changed) {
		for (size_t i = 0; i < n->p.n_addresses && got < k; i++) {
			struct qitem *it;

			if (!is_entry(n, i))
				continue;
			it = q_slot(n, got);
			it->entries = malloc(sizeof(*it->entries));
			if (!it->entries)
				goto oom;
			it->kind = NA_NOTIFY;
			it->n = 1;
			it->entries[0].addr = i;
			it->entries[0].status = (ts_status)n->cur[i];
			got++;
		}
	} else {
		struct qitem *it = q_slot(n, 0);

		it->entries = malloc(k * sizeof(*it->entries));
		if (!it->entries) {
			defer(n, now);
			return;
		}
		for (size_t i = 0; i < n->p.n_addresses && got < k; i++) {
			if (!is_entry(n, i))
				continue;
			it->entries[got].addr = i;
			it->entries[got].status = (ts_status)n->cur[i];
			got++;
		}
		it->kind = NA_NOTIFY;
		it->n = got;
	}
	n->q_len += calls;
	n->sent += (long)calls;
	settle(n);
	if (n->p.count > 0 && n->sent >= n->p.count) {
		finish_with(n, NA_END);
		return;
	}
	if (n->p.frequency_ms > 0) {
		n->window_open = true;
		n->window_end = add_sat(now, n->p.frequency_ms);
	}
	return;

oom:
	for (size_t j = 0; j < got; j++) {
		free(q_slot(n, j)->entries);
		q_slot(n, j)->entries = NULL;
	}
	defer(n, now);
}

/* Duration over: flush what is held (within count), then statusEnd. */
static void finish_end(struct notif *n, int64_t now)
{
	emit(n, now);
	if (n->finished)
		return;		/* count reached: statusEnd already queued */
	if (n->n_dirty > 0)
		settle(n);	/* could not be queued: dropped */
	finish_with(n, NA_END);
}

/* Time passes up to now: duration end, window close, retry. */
static void advance(struct notif *n, int64_t now)
{
	if (n->finished)
		return;
	if (now >= n->p.end_ms) {
		finish_end(n, now);
		return;
	}
	if (n->window_open) {
		if (now < n->window_end)
			return;
		n->window_open = false;
		emit(n, now);
	} else if (n->n_pending > 0 && now >= n->retry_at) {
		emit(n, now);
	}
}

struct notif *notif_new(const struct notif_params *p)
{
	struct notif *n;
	size_t na;

	if (!p || p->n_addresses == 0 || p->frequency_ms < 0 || p->count < 0)
		return NULL;
	if (p->style != NOTIF_STYLE_STATUS_NOTIFICATION && p->style != NOTIF_STYLE_STATUS_CHANGED)
		return NULL;
	na = p->n_addresses;
	if (na > SIZE_MAX / 2 - NOTIF_QUEUE_SLACK - 1)
		return NULL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->p = *p;
	n->q_cap = (p->style == NOTIF_STYLE_STATUS_CHANGED ? na : 1) + NOTIF_QUEUE_SLACK + 1;
	n->cur = malloc(na);
	n->rep = malloc(na);
	n->dirty = calloc(na, sizeof(*n->dirty));
	n->q_alloc = n->q_cap < 4 ? n->q_cap : 4;
	n->q = calloc(n->q_alloc, sizeof(*n->q));
	if (!n->cur || !n->rep || !n->dirty || !n->q) {
		notif_free(n);
		return NULL;
	}
	memset(n->cur, ST_UNKNOWN, na);
	memset(n->rep, ST_UNKNOWN, na);
	n->retry_at = INT64_MAX;
	return n;
}

void notif_free(struct notif *n)
{
	if (!n)
		return;
	if (n->q)
		q_drop(n);
	free(n->q);
	free(n->err_reason);
	free(n->dirty);
	free(n->rep);
	free(n->cur);
	free(n);
}

void notif_baseline(struct notif *n, size_t addr, ts_status st)
{
	if (!n || n->started || n->finished || addr >= n->p.n_addresses || !status_valid(st))
		return;
	n->cur[addr] = (signed char)st;
	n->rep[addr] = (signed char)st;
}

void notif_start(struct notif *n, int64_t now)
{
	if (!n || n->started || n->finished)
		return;
	n->started = true;
	if (n->p.check_immediate) {
		for (size_t i = 0; i < n->p.n_addresses; i++) {
			if (!matches(n, n->cur[i]))
				continue;
			n->rep[i] = REP_NONE;
			n->dirty[i] = true;
			n->n_dirty++;
			n->n_pending++;
		}
		emit(n, now);
	}
	advance(n, now);
}

void notif_status(struct notif *n, size_t addr, ts_status st, int64_t now)
{
	bool was;

	if (!n || n->finished || addr >= n->p.n_addresses || !status_valid(st))
		return;
	if (!n->started) {
		notif_baseline(n, addr, st);
		return;
	}
	advance(n, now);
	if (n->finished)
		return;
	if (n->cur[addr] == ST_UNKNOWN) {
		/* its first status: the baseline, as if given before start */
		n->cur[addr] = (signed char)st;
		n->rep[addr] = (signed char)st;
		return;
	}
	if (n->cur[addr] == (signed char)st)
		return;
	was = is_entry(n, addr);
	n->cur[addr] = (signed char)st;
	if (!n->dirty[addr]) {
		n->dirty[addr] = true;
		n->n_dirty++;
	}
	if (is_entry(n, addr) && !was)
		n->n_pending++;
	else if (!is_entry(n, addr) && was)
		n->n_pending--;
	if (!n->window_open)
		emit(n, now);
}

void notif_failed(struct notif *n, size_t addr, const struct fault *reason)
{
	if (!n || n->finished)
		return;
	n->err_addr = addr;
	free(n->err_reason);
	n->err_reason = NULL;
	if (reason) {
		n->err_reason = malloc(sizeof(*n->err_reason));
		if (n->err_reason)
			*n->err_reason = *reason;
	}
	finish_with(n, NA_ERROR);	/* held changes are dropped */
}

void notif_tick(struct notif *n, int64_t now)
{
	if (!n || !n->started)
		return;
	advance(n, now);
}

void notif_cancel(struct notif *n)
{
	if (!n)
		return;
	q_drop(n);
	n->finished = true;
	n->window_open = false;
}

int64_t notif_next_wakeup(const struct notif *n)
{
	int64_t w;

	if (!n || !n->started || n->finished)
		return INT64_MAX;
	w = n->p.end_ms;
	if (n->n_pending > 0) {
		int64_t t = n->window_open ? n->window_end : n->retry_at;

		if (t < w)
			w = t;
	}
	return w;
}

bool notif_pop(struct notif *n, struct notif_action *a)
{
	struct qitem *it;

	if (!n || !a || n->q_len == 0)
		return false;
	it = &n->q[n->q_head];
	memset(a, 0, sizeof(*a));
	a->kind = it->kind;
	a->n = it->n;
	a->entries = it->entries;
	if (it->kind == NA_ERROR) {
		a->addr = n->err_addr;
		if (n->err_reason)
			a->reason = *n->err_reason;
	}
	it->entries = NULL;
	it->n = 0;
	n->q_head = (n->q_head + 1) % n->q_alloc;
	n->q_len--;
	return true;
}

void notif_action_release(struct notif_action *a)
{
	if (!a)
		return;
	free(a->entries);
	a->entries = NULL;
	a->n = 0;
}

bool notif_finished(const struct notif *n)
{
	return !n || n->finished;
}

long notif_sent(const struct notif *n)
{
	return n ? n->sent : 0;
}

ts_status notif_current(const struct notif *n, size_t addr)
{
	if (!n || addr >= n->p.n_addresses || n->cur[addr] < 0)
		return TS_UNREACHABLE;
	return (ts_status)n->cur[addr];
}

int notif_reported(const struct notif *n, size_t addr)
{
	if (!n || addr >= n->p.n_addresses || n->rep[addr] < 0)
		return -1;
	return n->rep[addr];
}
