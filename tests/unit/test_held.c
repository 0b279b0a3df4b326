/*
 * test_held.c - callbacks held back when they cannot be queued (src/held.c):
 * order kept behind a failed one, second chances in order, the bound, and
 * no leak (entries released exactly once; run under ASan and valgrind).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "held.h"

/* The fake outbox: fails while fail_left > 0; records what went out as
 * "N<addr>" (a notify of one entry) or "E" (statusEnd). */
struct outbox {
	int fail_left;
	int ok_left;       /* when fail_left is 0: successes before failing; -1 or 0 at start: no limit */
	int tries;
	char sent[8192];
};

static bool fake_send(void *arg, const struct notif_action *a)
{
	struct outbox *o = arg;
	size_t len = strlen(o->sent);

	o->tries++;
	if (o->fail_left > 0) {
		o->fail_left--;
		return false;
	}
	if (o->ok_left > 0 && --o->ok_left == 0)
		o->fail_left = 1000;       /* this one goes, the next ones fail */
	if (a->kind == NA_END)
		snprintf(o->sent + len, sizeof(o->sent) - len, "E ");
	else
		snprintf(o->sent + len, sizeof(o->sent) - len, "N%zu ", a->entries[0].addr);
	return true;
}

/* A statusNotification action for address addr (entries malloc'd, as
 * notif_pop gives them). */
static struct notif_action notify(size_t addr)
{
	struct notif_action a = { .kind = NA_NOTIFY, .n = 1 };

	a.entries = calloc(1, sizeof(*a.entries));
	assert_non_null(a.entries);
	a.entries[0] = (struct notif_entry){ .addr = addr, .status = TS_BUSY };
	return a;
}

static void test_sent_at_once(void **state)
{
	struct held h = { 0 };
	struct outbox o = { 0 };
	struct notif_action a = notify(1), e = { .kind = NA_END };

	(void)state;
	assert_true(held_offer(&h, &a, fake_send, &o));
	assert_true(held_offer(&h, &e, fake_send, &o));
	assert_int_equal(h.n, 0);
	assert_null(a.entries);                 /* released */
	assert_string_equal(o.sent, "N1 E ");
	assert_int_equal(held_flush(&h, fake_send, &o), 0);
	assert_int_equal(o.tries, 2);            /* nothing held: no more tries */
}

static void test_order_behind_a_failure(void **state)
{
	struct held h = { 0 };
	struct outbox o = { .fail_left = 1 };
	struct notif_action a = notify(1), b = notify(2), e = { .kind = NA_END };

	(void)state;
	assert_true(held_offer(&h, &a, fake_send, &o));   /* fails: held */
	assert_int_equal(h.n, 1);
	assert_true(held_offer(&h, &b, fake_send, &o));   /* behind it, not tried */
	assert_true(held_offer(&h, &e, fake_send, &o));
	assert_int_equal(o.tries, 1);
	assert_int_equal(h.n, 3);
	assert_string_equal(o.sent, "");
	o.fail_left = 1;                                   /* the store still fails once */
	assert_int_equal(held_flush(&h, fake_send, &o), 3);
	assert_int_equal(held_flush(&h, fake_send, &o), 0);
	assert_string_equal(o.sent, "N1 N2 E ");
	assert_null(h.a);                    /* empty again: nothing allocated */
	assert_int_equal(o.tries, 5);
}

static void test_bound(void **state)
{
	struct held h = { 0 };
	struct outbox o = { .fail_left = 1000 };
	struct notif_action a;
	char want[8192] = "";

	(void)state;
	for (size_t i = 0; i < HELD_MAX; i++) {
		a = notify(i);
		assert_true(held_offer(&h, &a, fake_send, &o));
	}
	assert_int_equal(h.n, HELD_MAX);
	a = notify(99);
	assert_false(held_offer(&h, &a, fake_send, &o));   /* full: left to the caller */
	assert_non_null(a.entries);
	notif_action_release(&a);
	o.fail_left = 0;
	assert_int_equal(held_flush(&h, fake_send, &o), 0);
	for (size_t i = 0; i < HELD_MAX; i++) {
		size_t len = strlen(want);

		snprintf(want + len, sizeof(want) - len, "N%zu ", i);
	}
	assert_string_equal(o.sent, want);
}

static void test_ring_wraps(void **state)
{
	struct held h = { 0 };
	struct outbox o = { .fail_left = 1 };
	struct notif_action a;
	char want[8192] = "";

	(void)state;
	for (size_t i = 0; i < 3; i++) {      /* the first fails: all three held */
		a = notify(i);
		assert_true(held_offer(&h, &a, fake_send, &o));
	}
	assert_int_equal(h.n, 3);
	/* two go, the third fails: the head moves on */
	o.ok_left = 2;
	assert_int_equal(held_flush(&h, fake_send, &o), 1);
	assert_int_equal(h.head, 2);
	assert_int_equal(h.cap, 8);
	o.ok_left = 0;
	for (size_t i = 3; i < 3 + HELD_MAX - 1; i++) {   /* fills the ring across its end */
		a = notify(i);
		assert_true(held_offer(&h, &a, fake_send, &o));
	}
	assert_int_equal(h.n, HELD_MAX);
	a = notify(777);
	assert_false(held_offer(&h, &a, fake_send, &o));
	notif_action_release(&a);
	o.fail_left = 0;
	o.ok_left = -1;
	assert_int_equal(held_flush(&h, fake_send, &o), 0);
	for (size_t i = 0; i < 3 + HELD_MAX - 1; i++) {
		size_t len = strlen(want);

		snprintf(want + len, sizeof(want) - len, "N%zu ", i);
	}
	assert_string_equal(o.sent, want);
}

static void test_clear(void **state)
{
	struct held h = { 0 };
	struct outbox o = { .fail_left = 1000 };
	struct notif_action a;

	(void)state;
	for (size_t i = 0; i < 5; i++) {
		a = notify(i);
		assert_true(held_offer(&h, &a, fake_send, &o));
	}
	held_clear(&h);                      /* releases them (ASan, valgrind: no leak) */
	assert_int_equal(h.n, 0);
	assert_int_equal(h.head, 0);
	assert_null(h.a);                    /* and the ring */
	assert_string_equal(o.sent, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sent_at_once),
		cmocka_unit_test(test_order_behind_a_failure),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_ring_wraps),
		cmocka_unit_test(test_clear),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
