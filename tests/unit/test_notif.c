/*
 * test_notif.c - the notification state machine (contract section 5):
 * baseline, changes, criteria, frequency windows, count, duration,
 * checkImmediate, statusError, endNotification. The clock is the now
 * values passed in.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "notif.h"

#define R TS_REACHABLE
#define U TS_UNREACHABLE
#define B TS_BUSY
#define END_MS 1000000

static struct notif_params params(size_t na)
{
	struct notif_params p = {
		.n_addresses = na, .criteria = 0, .frequency_ms = 0, .end_ms = END_MS,
		.count = 0, .check_immediate = false, .style = NOTIF_STYLE_STATUS_NOTIFICATION,
	};
	return p;
}

/* A notification over na addresses, all with baseline st, started at 0. */
static struct notif *started(const struct notif_params *p, ts_status st)
{
	struct notif *n = notif_new(p);

	assert_non_null(n);
	for (size_t i = 0; i < p->n_addresses; i++)
		notif_baseline(n, i, st);
	notif_start(n, 0);
	return n;
}

static void expect_none(struct notif *n)
{
	struct notif_action a;

	assert_false(notif_pop(n, &a));
}

/* Pops a NA_NOTIFY with these (address, status) pairs, in order. */
static void expect_notify(struct notif *n, size_t cnt, const struct notif_entry *exp)
{
	struct notif_action a;

	assert_true(notif_pop(n, &a));
	assert_int_equal(a.kind, NA_NOTIFY);
	assert_int_equal(a.n, cnt);
	assert_non_null(a.entries);
	for (size_t i = 0; i < cnt; i++) {
		assert_int_equal(a.entries[i].addr, exp[i].addr);
		assert_int_equal(a.entries[i].status, exp[i].status);
	}
	notif_action_release(&a);
	assert_null(a.entries);
}

static void expect_one(struct notif *n, size_t addr, ts_status st)
{
	struct notif_entry e = { addr, st };

	expect_notify(n, 1, &e);
}

static void expect_end(struct notif *n)
{
	struct notif_action a;

	assert_true(notif_pop(n, &a));
	assert_int_equal(a.kind, NA_END);
	assert_int_equal(a.n, 0);
	assert_null(a.entries);
	notif_action_release(&a);
}

#define E(a, s) { (a), (s) }

static void test_invalid_params(void **state)
{
	struct notif_params p = params(0);

	(void)state;
	assert_null(notif_new(&p));
	assert_null(notif_new(NULL));
	p = params(1);
	p.frequency_ms = -1;
	assert_null(notif_new(&p));
	p = params(1);
	p.count = -2;
	assert_null(notif_new(&p));
	p = params(1);
	p.style = (enum notif_style)7;
	assert_null(notif_new(&p));
	/* NULL is harmless everywhere */
	notif_free(NULL);
	notif_status(NULL, 0, B, 1);
	notif_tick(NULL, 1);
	notif_cancel(NULL);
	assert_false(notif_pop(NULL, NULL));
	assert_int_equal(notif_next_wakeup(NULL), INT64_MAX);
	assert_int_equal(notif_sent(NULL), 0);
	notif_action_release(NULL);
}

static void test_baseline_not_notified(void **state)
{
	struct notif_params p = params(2);
	struct notif *n = notif_new(&p);

	(void)state;
	assert_non_null(n);
	notif_baseline(n, 0, B);
	notif_baseline(n, 1, U);
	notif_start(n, 0);
	expect_none(n);
	assert_int_equal(notif_current(n, 0), B);
	assert_int_equal(notif_current(n, 1), U);
	/* a NOTIFY repeating the baseline is no change */
	notif_status(n, 0, B, 10);
	notif_status(n, 1, U, 20);
	expect_none(n);
	assert_int_equal(notif_sent(n), 0);
	assert_false(notif_finished(n));
	notif_free(n);
}

static void test_change_notified_at_once(void **state)
{
	struct notif_params p = params(3);
	struct notif *n = started(&p, R);

	(void)state;
	notif_status(n, 1, B, 5);
	expect_one(n, 1, B);
	assert_int_equal(notif_sent(n), 1);
	assert_int_equal(notif_current(n, 1), B);
	notif_status(n, 2, U, 6);
	expect_one(n, 2, U);
	assert_int_equal(notif_sent(n), 2);
	expect_none(n);
	notif_free(n);
}

static void test_same_status_again_nothing(void **state)
{
	struct notif_params p = params(1);
	struct notif *n = started(&p, R);

	(void)state;
	notif_status(n, 0, B, 5);
	expect_one(n, 0, B);
	notif_status(n, 0, B, 6);
	notif_status(n, 0, B, 7);
	expect_none(n);
	assert_int_equal(notif_sent(n), 1);
	/* and back is a change again */
	notif_status(n, 0, R, 8);
	expect_one(n, 0, R);
	notif_free(n);
}

static void test_criteria_busy(void **state)
{
	struct notif_params p = params(2);
	struct notif *n;

	(void)state;
	p.criteria = NOTIF_CRITERION(TS_BUSY);
	n = started(&p, R);
	notif_status(n, 0, U, 1);
	notif_status(n, 0, R, 2);
	notif_status(n, 1, U, 3);
	expect_none(n);
	assert_int_equal(notif_sent(n), 0);
	assert_int_equal(notif_current(n, 0), R);
	assert_int_equal(notif_current(n, 1), U);
	notif_status(n, 1, B, 4);
	expect_one(n, 1, B);
	/* leaving Busy silently, then Busy again: a change */
	notif_status(n, 1, R, 5);
	expect_none(n);
	notif_status(n, 1, B, 6);
	expect_one(n, 1, B);
	assert_int_equal(notif_sent(n), 2);
	notif_free(n);
}

static void test_criteria_two_values(void **state)
{
	struct notif_params p = params(1);
	struct notif *n;

	(void)state;
	p.criteria = NOTIF_CRITERION(TS_BUSY) | NOTIF_CRITERION(TS_UNREACHABLE);
	n = started(&p, R);
	notif_status(n, 0, U, 1);
	expect_one(n, 0, U);
	notif_status(n, 0, R, 2);
	expect_none(n);
	notif_status(n, 0, B, 3);
	expect_one(n, 0, B);
	notif_free(n);
}

static void test_frequency_coalescing(void **state)
{
	struct notif_params p = params(3);
	struct notif *n;
	const struct notif_entry held[] = { E(1, B), E(2, B) };

	(void)state;
	p.frequency_ms = 1000;
	n = started(&p, R);
	assert_int_equal(notif_next_wakeup(n), END_MS);
	/* the first change goes at once and opens the window [10, 1010) */
	notif_status(n, 0, B, 10);
	expect_one(n, 0, B);
	/* inside the window: held */
	notif_status(n, 1, U, 100);
	notif_status(n, 2, B, 200);
	notif_status(n, 1, B, 300);
	/* address 0 goes B -> R -> B: back at what was sent, dropped */
	notif_status(n, 0, R, 400);
	notif_status(n, 0, B, 500);
	expect_none(n);
	assert_int_equal(notif_next_wakeup(n), 1010);
	notif_tick(n, 1009);
	expect_none(n);
	notif_tick(n, 1010);
	expect_notify(n, 2, held);
	expect_none(n);
	assert_int_equal(notif_sent(n), 2);
	notif_free(n);
}

static void test_frequency_only_dropped_change(void **state)
{
	struct notif_params p = params(1);
	struct notif *n;

	(void)state;
	p.frequency_ms = 1000;
	n = started(&p, R);
	notif_status(n, 0, B, 0);
	expect_one(n, 0, B);
	notif_status(n, 0, U, 10);
	notif_status(n, 0, B, 20);
	/* nothing held: no wakeup for the window */
	assert_int_equal(notif_next_wakeup(n), END_MS);
	notif_tick(n, 1000);
	expect_none(n);
	assert_int_equal(notif_sent(n), 1);
	/* window closed: the next change goes at once */
	notif_status(n, 0, R, 1500);
	expect_one(n, 0, R);
	notif_free(n);
}

static void test_window_reopening(void **state)
{
	struct notif_params p = params(2);
	struct notif *n;

	(void)state;
	p.frequency_ms = 1000;
	n = started(&p, R);
	notif_status(n, 0, B, 0);
	expect_one(n, 0, B);
	notif_status(n, 1, B, 500);
	assert_int_equal(notif_next_wakeup(n), 1000);
	/* tick late: the sending at 1200 opens [1200, 2200) */
	notif_tick(n, 1200);
	expect_one(n, 1, B);
	assert_int_equal(notif_next_wakeup(n), END_MS);
	notif_status(n, 0, U, 1300);
	expect_none(n);
	assert_int_equal(notif_next_wakeup(n), 2200);
	notif_tick(n, 2199);
	expect_none(n);
	notif_tick(n, 2200);
	expect_one(n, 0, U);
	/* window [2200, 3200): nothing held, it just closes */
	notif_tick(n, 3200);
	expect_none(n);
	assert_int_equal(notif_next_wakeup(n), END_MS);
	notif_status(n, 1, R, 4000);
	expect_one(n, 1, R);
	/* and that one opened [4000, 5000) */
	notif_status(n, 1, U, 4100);
	expect_none(n);
	assert_int_equal(notif_next_wakeup(n), 5000);
	/* a status after the window end, without a tick: the window closes
	 * first (sending what it held, opening [5100, 6100)), then the new
	 * status is held in the new window */
	notif_status(n, 0, R, 5100);
	expect_one(n, 1, U);
	expect_none(n);
	assert_int_equal(notif_next_wakeup(n), 6100);
	notif_tick(n, 6100);
	expect_one(n, 0, R);
	assert_int_equal(notif_sent(n), 6);
	notif_free(n);
}

static void test_count_two(void **state)
{
	struct notif_params p = params(2);
	struct notif *n;

	(void)state;
	p.count = 2;
	n = started(&p, R);
	notif_status(n, 0, B, 1);
	assert_false(notif_finished(n));
	notif_status(n, 1, B, 2);
	assert_true(notif_finished(n));
	notif_status(n, 0, U, 3);
	notif_tick(n, END_MS);
	expect_one(n, 0, B);
	expect_one(n, 1, B);
	expect_end(n);
	expect_none(n);
	assert_int_equal(notif_sent(n), 2);
	assert_int_equal(notif_next_wakeup(n), INT64_MAX);
	/* the late status was ignored */
	assert_int_equal(notif_current(n, 0), B);
	notif_free(n);
}

static void test_count_status_changed_truncation(void **state)
{
	struct notif_params p = params(3);
	struct notif *n;

	(void)state;
	p.count = 3;
	p.frequency_ms = 1000;
	p.style = NOTIF_STYLE_STATUS_CHANGED;
	n = started(&p, R);
	notif_status(n, 2, U, 0);
	expect_one(n, 2, U);
	assert_int_equal(notif_sent(n), 1);
	notif_status(n, 2, B, 100);
	notif_status(n, 1, B, 200);
	notif_status(n, 0, B, 300);
	notif_tick(n, 1000);
	/* three held, two left: the first two in address order */
	expect_one(n, 0, B);
	expect_one(n, 1, B);
	expect_end(n);
	expect_none(n);
	assert_int_equal(notif_sent(n), 3);
	assert_true(notif_finished(n));
	notif_free(n);
}

static void test_status_changed_style_unlimited(void **state)
{
	struct notif_params p = params(3);
	struct notif *n;

	(void)state;
	p.frequency_ms = 100;
	p.style = NOTIF_STYLE_STATUS_CHANGED;
	n = started(&p, R);
	notif_status(n, 1, B, 0);
	expect_one(n, 1, B);
	notif_status(n, 0, U, 10);
	notif_status(n, 2, B, 20);
	notif_tick(n, 100);
	expect_one(n, 0, U);
	expect_one(n, 2, B);
	expect_none(n);
	assert_int_equal(notif_sent(n), 3);
	notif_free(n);
}

static void test_duration_end_flushes(void **state)
{
	struct notif_params p = params(2);
	struct notif *n;

	(void)state;
	p.frequency_ms = 1000;
	p.end_ms = 500;
	n = started(&p, R);
	notif_status(n, 0, B, 0);
	notif_status(n, 1, U, 100);
	/* window end 1000 is after the end: wake up at the end */
	assert_int_equal(notif_next_wakeup(n), 500);
	notif_tick(n, 499);
	assert_false(notif_finished(n));
	notif_tick(n, 500);
	assert_true(notif_finished(n));
	expect_one(n, 0, B);
	expect_one(n, 1, U);
	expect_end(n);
	expect_none(n);
	assert_int_equal(notif_next_wakeup(n), INT64_MAX);
	notif_tick(n, 2000);
	expect_none(n);
	notif_free(n);
}

static void test_duration_end_nothing_held(void **state)
{
	struct notif_params p = params(1);
	struct notif *n;

	(void)state;
	p.end_ms = 300;
	n = started(&p, R);
	assert_int_equal(notif_next_wakeup(n), 300);
	/* a status arriving after the end: the end comes first */
	notif_status(n, 0, B, 300);
	expect_end(n);
	expect_none(n);
	assert_int_equal(notif_sent(n), 0);
	notif_free(n);
}

static void test_duration_end_flush_within_count(void **state)
{
	struct notif_params p = params(1);
	struct notif *n;

	(void)state;
	p.frequency_ms = 1000;
	p.end_ms = 500;
	p.count = 2;
	n = started(&p, R);
	notif_status(n, 0, B, 0);
	notif_status(n, 0, U, 100);
	notif_tick(n, 600);
	expect_one(n, 0, B);
	expect_one(n, 0, U);
	/* the flush was the count-th: a single statusEnd */
	expect_end(n);
	expect_none(n);
	assert_int_equal(notif_sent(n), 2);
	notif_free(n);
}

static struct notif *started_mixed(struct notif_params *p)
{
	struct notif *n = notif_new(p);

	assert_non_null(n);
	notif_baseline(n, 0, R);
	notif_baseline(n, 1, B);
	notif_baseline(n, 2, U);
	notif_start(n, 0);
	return n;
}

static void test_check_immediate(void **state)
{
	struct notif_params p = params(3);
	struct notif *n;
	const struct notif_entry all[] = { E(0, R), E(1, B), E(2, U) };

	(void)state;
	p.check_immediate = true;
	n = started_mixed(&p);
	expect_notify(n, 3, all);
	expect_none(n);
	assert_int_equal(notif_sent(n), 1);
	/* no frequency: a change goes at once after it */
	notif_status(n, 0, B, 10);
	expect_one(n, 0, B);
	notif_free(n);

	p.criteria = NOTIF_CRITERION(TS_BUSY);
	n = started_mixed(&p);
	expect_one(n, 1, B);
	expect_none(n);
	notif_free(n);
}

static void test_check_immediate_no_match(void **state)
{
	struct notif_params p = params(2);
	struct notif *n;

	(void)state;
	p.check_immediate = true;
	p.criteria = NOTIF_CRITERION(TS_BUSY);
	p.frequency_ms = 1000;
	p.count = 1;
	n = started(&p, R);
	expect_none(n);
	assert_int_equal(notif_sent(n), 0);
	assert_false(notif_finished(n));
	/* no window was opened: a Busy goes at once, and is the count-th */
	notif_status(n, 1, B, 5);
	expect_one(n, 1, B);
	expect_end(n);
	notif_free(n);
}

static void test_check_immediate_counts(void **state)
{
	struct notif_params p = params(2);
	struct notif *n;
	const struct notif_entry all[] = { E(0, U), E(1, U) };

	(void)state;
	p.check_immediate = true;
	p.count = 1;
	n = started(&p, U);
	assert_true(notif_finished(n));
	expect_notify(n, 2, all);
	expect_end(n);
	expect_none(n);
	notif_free(n);

	/* statusChanged style: one callback per address, truncated to count */
	p.style = NOTIF_STYLE_STATUS_CHANGED;
	p.count = 1;
	n = started(&p, U);
	expect_one(n, 0, U);
	expect_end(n);
	expect_none(n);
	assert_int_equal(notif_sent(n), 1);
	notif_free(n);
}

static void test_check_immediate_opens_window(void **state)
{
	struct notif_params p = params(2);
	struct notif *n;

	(void)state;
	p.check_immediate = true;
	p.frequency_ms = 1000;
	n = notif_new(&p);
	assert_non_null(n);
	notif_baseline(n, 0, R);
	notif_baseline(n, 1, R);
	notif_start(n, 100);
	{
		const struct notif_entry all[] = { E(0, R), E(1, R) };

		expect_notify(n, 2, all);
	}
	notif_status(n, 1, B, 200);
	expect_none(n);
	assert_int_equal(notif_next_wakeup(n), 1100);
	notif_tick(n, 1100);
	expect_one(n, 1, B);
	notif_free(n);
}

static void test_failed(void **state)
{
	struct notif_params p = params(2);
	struct notif *n;
	struct notif_action a;
	struct fault f;

	(void)state;
	p.frequency_ms = 1000;
	n = started(&p, R);
	notif_status(n, 0, B, 0);
	notif_status(n, 1, B, 10);	/* held, dropped by the failure */
	fault_set(&f, SVC0004, "addresses", NULL);
	notif_failed(n, 1, &f);
	assert_true(notif_finished(n));
	assert_int_equal(notif_next_wakeup(n), INT64_MAX);
	expect_one(n, 0, B);
	assert_true(notif_pop(n, &a));
	assert_int_equal(a.kind, NA_ERROR);
	assert_int_equal(a.addr, 1);
	assert_int_equal(a.reason.id, SVC0004);
	assert_int_equal(a.reason.nvars, 1);
	assert_string_equal(a.reason.vars[0], "addresses");
	assert_null(a.entries);
	notif_action_release(&a);
	/* no statusEnd, ever */
	notif_tick(n, 1000);
	notif_tick(n, END_MS);
	notif_status(n, 0, U, END_MS + 1);
	notif_failed(n, 0, &f);
	expect_none(n);
	assert_int_equal(notif_sent(n), 1);
	notif_free(n);
}

static void test_cancel(void **state)
{
	struct notif_params p = params(2);
	struct notif *n;

	(void)state;
	p.frequency_ms = 1000;
	n = started(&p, R);
	notif_status(n, 0, B, 0);	/* queued, never popped */
	notif_status(n, 1, B, 10);	/* held */
	notif_cancel(n);
	assert_true(notif_finished(n));
	expect_none(n);
	assert_int_equal(notif_next_wakeup(n), INT64_MAX);
	notif_tick(n, 1000);
	notif_tick(n, END_MS);
	notif_status(n, 0, U, END_MS + 1);
	notif_cancel(n);
	expect_none(n);
	notif_free(n);

	/* cancel after statusEnd was queued: dropped too */
	p = params(1);
	p.count = 1;
	n = started(&p, R);
	notif_status(n, 0, B, 0);
	assert_true(notif_finished(n));
	notif_cancel(n);
	expect_none(n);
	notif_free(n);
}

static void test_next_wakeup(void **state)
{
	struct notif_params p = params(1);
	struct notif *n;

	(void)state;
	p.frequency_ms = 300;
	p.end_ms = 1000;
	n = notif_new(&p);
	assert_non_null(n);
	notif_baseline(n, 0, R);
	assert_int_equal(notif_next_wakeup(n), INT64_MAX);	/* not started */
	notif_start(n, 0);
	assert_int_equal(notif_next_wakeup(n), 1000);
	notif_status(n, 0, B, 100);				/* sent, window to 400 */
	assert_int_equal(notif_next_wakeup(n), 1000);		/* nothing held */
	notif_status(n, 0, U, 200);
	assert_int_equal(notif_next_wakeup(n), 400);
	notif_tick(n, 400);					/* sent, window to 700 */
	assert_int_equal(notif_next_wakeup(n), 1000);
	notif_status(n, 0, R, 800);				/* after 700: at once, to 1100 */
	notif_status(n, 0, B, 900);
	assert_int_equal(notif_next_wakeup(n), 1000);		/* the end comes first */
	notif_tick(n, 1000);
	assert_int_equal(notif_next_wakeup(n), INT64_MAX);
	expect_one(n, 0, B);
	expect_one(n, 0, U);
	expect_one(n, 0, R);
	expect_one(n, 0, B);
	expect_end(n);
	expect_none(n);
	notif_free(n);
}

static void test_fifo_order(void **state)
{
	struct notif_params p = params(3);
	struct notif *n;
	struct fault f;
	struct notif_action a;

	(void)state;
	n = started(&p, R);
	notif_status(n, 2, B, 1);
	notif_status(n, 0, U, 2);
	notif_status(n, 1, B, 3);
	notif_status(n, 2, R, 4);
	fault_set(&f, SVC0001, "gone", NULL);
	notif_failed(n, 0, &f);
	expect_one(n, 2, B);
	expect_one(n, 0, U);
	expect_one(n, 1, B);
	expect_one(n, 2, R);
	assert_true(notif_pop(n, &a));
	assert_int_equal(a.kind, NA_ERROR);
	assert_int_equal(a.addr, 0);
	assert_int_equal(a.reason.id, SVC0001);
	notif_action_release(&a);
	expect_none(n);
	assert_int_equal(notif_sent(n), 4);
	notif_free(n);
}

/* A statusChanged notification over 12 addresses whose queue has wrapped
 * (3 queued, 2 popped) and then grown (9 more: 4 slots -> 16). */
static struct notif *wrapped_then_grown(void)
{
	struct notif_params p = params(12);
	struct notif *n;
	int64_t t = 0;

	p.style = NOTIF_STYLE_STATUS_CHANGED;
	n = started(&p, R);
	for (size_t i = 0; i < 3; i++)
		notif_status(n, i, B, ++t);
	expect_one(n, 0, B);
	expect_one(n, 1, B);
	for (size_t i = 3; i < 12; i++)
		notif_status(n, i, U, ++t);
	return n;
}

/* The queue's slots grow on demand (a notification starts with a few):
 * growing while the ring has wrapped keeps the callbacks in order, the
 * final statusEnd still has its slot, and a cancel frees them all. */
static void test_queue_grows_in_order(void **state)
{
	struct notif *n;

	(void)state;
	n = wrapped_then_grown();
	notif_cancel(n);
	expect_none(n);
	notif_free(n);

	n = wrapped_then_grown();
	notif_tick(n, END_MS);
	expect_one(n, 2, B);
	for (size_t i = 3; i < 12; i++)
		expect_one(n, i, U);
	expect_end(n);
	expect_none(n);
	assert_int_equal(notif_sent(n), 12);
	notif_free(n);
}

/* A caller that does not pop: the queue stays bounded, changes coalesce,
 * and once it pops the client's view ends at the current status. */
static void test_queue_bounded(void **state)
{
	struct notif_params p = params(2);
	struct notif *n;
	struct notif_action a;
	ts_status view[2] = { R, R };
	size_t popped = 0;
	int64_t t = 0;

	(void)state;
	n = started(&p, R);
	for (int i = 0; i < 5000; i++) {
		static const ts_status cycle[] = { B, U, R };

		notif_status(n, (size_t)(i % 2), cycle[(i / 2) % 3], ++t);
	}
	notif_status(n, 0, B, ++t);
	while (notif_pop(n, &a)) {
		assert_int_equal(a.kind, NA_NOTIFY);
		for (size_t i = 0; i < a.n; i++)
			view[a.entries[i].addr] = a.entries[i].status;
		notif_action_release(&a);
		popped++;
	}
	assert_true(popped > 0);
	assert_true(popped < 1000);
	/* what could not be queued is still held and due at a retry */
	assert_true(notif_next_wakeup(n) < END_MS);
	notif_tick(n, notif_next_wakeup(n));
	while (notif_pop(n, &a)) {
		assert_int_equal(a.kind, NA_NOTIFY);
		for (size_t i = 0; i < a.n; i++)
			view[a.entries[i].addr] = a.entries[i].status;
		notif_action_release(&a);
	}
	assert_int_equal(view[0], notif_current(n, 0));
	assert_int_equal(view[1], notif_current(n, 1));
	assert_int_equal(notif_next_wakeup(n), END_MS);
	notif_free(n);
}

static void test_status_before_start_and_unknown_baseline(void **state)
{
	struct notif_params p = params(2);
	struct notif *n = notif_new(&p);

	(void)state;
	assert_non_null(n);
	notif_baseline(n, 0, R);
	notif_status(n, 0, B, 0);	/* before start: a new baseline */
	notif_start(n, 0);
	expect_none(n);
	assert_int_equal(notif_current(n, 0), B);
	/* address 1 had no baseline: its first status is one */
	notif_status(n, 1, U, 10);
	expect_none(n);
	assert_int_equal(notif_current(n, 1), U);
	notif_status(n, 1, B, 20);
	expect_one(n, 1, B);
	/* out of range and invalid statuses are ignored */
	notif_status(n, 2, B, 30);
	notif_status(n, 0, (ts_status)9, 40);
	expect_none(n);
	assert_int_equal(notif_current(n, 0), B);
	notif_free(n);
}

static void test_calls_after_finish_ignored(void **state)
{
	struct notif_params p = params(1);
	struct notif *n;

	(void)state;
	p.end_ms = 100;
	n = started(&p, R);
	notif_tick(n, 100);
	assert_true(notif_finished(n));
	notif_baseline(n, 0, B);
	notif_start(n, 200);
	notif_status(n, 0, B, 200);
	notif_failed(n, 0, NULL);
	notif_tick(n, 300);
	expect_end(n);
	expect_none(n);
	assert_int_equal(notif_current(n, 0), R);
	assert_int_equal(notif_sent(n), 0);
	notif_free(n);
}

static void test_failed_without_reason(void **state)
{
	struct notif_params p = params(1);
	struct notif *n;
	struct notif_action a;

	(void)state;
	n = started(&p, R);
	notif_failed(n, 0, NULL);
	assert_true(notif_pop(n, &a));
	assert_int_equal(a.kind, NA_ERROR);
	assert_int_equal(a.reason.id, FAULT_NONE);
	notif_action_release(&a);
	expect_none(n);
	notif_free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid_params),
		cmocka_unit_test(test_baseline_not_notified),
		cmocka_unit_test(test_change_notified_at_once),
		cmocka_unit_test(test_same_status_again_nothing),
		cmocka_unit_test(test_criteria_busy),
		cmocka_unit_test(test_criteria_two_values),
		cmocka_unit_test(test_frequency_coalescing),
		cmocka_unit_test(test_frequency_only_dropped_change),
		cmocka_unit_test(test_window_reopening),
		cmocka_unit_test(test_count_two),
		cmocka_unit_test(test_count_status_changed_truncation),
		cmocka_unit_test(test_status_changed_style_unlimited),
		cmocka_unit_test(test_duration_end_flushes),
		cmocka_unit_test(test_duration_end_nothing_held),
		cmocka_unit_test(test_duration_end_flush_within_count),
		cmocka_unit_test(test_check_immediate),
		cmocka_unit_test(test_check_immediate_no_match),
		cmocka_unit_test(test_check_immediate_counts),
		cmocka_unit_test(test_check_immediate_opens_window),
		cmocka_unit_test(test_failed),
		cmocka_unit_test(test_failed_without_reason),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_next_wakeup),
		cmocka_unit_test(test_fifo_order),
		cmocka_unit_test(test_queue_bounded),
		cmocka_unit_test(test_queue_grows_in_order),
		cmocka_unit_test(test_status_before_start_and_unknown_baseline),
		cmocka_unit_test(test_calls_after_finish_ignored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
