/*
 * test_rate.c - the per-application token buckets of
 * policy.max-requests-per-s (src/rate.c, contract section 11), with an
 * injected clock: the burst of one second, refill to the millisecond,
 * independent keys, the table's cap and concurrent takers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "rate.h"

/* how many of n takes of key at now are admitted */
static int takes(struct rate *r, const char *key, int64_t now, int n)
{
	int ok = 0;

	for (int i = 0; i < n; i++)
		ok += rate_take(r, key, now);
	return ok;
}

static void test_new_checks(void **state)
{
	(void)state;
	assert_null(rate_new(0));
	assert_null(rate_new(-1));
	assert_null(rate_new(RATE_MAX_PER_S + 1));
	assert_true(rate_take(NULL, "a", 0));   /* no limiter: everything */
	rate_free(NULL);
}

static void test_burst_and_refill(void **state)
{
	struct rate *r = rate_new(3);

	(void)state;
	assert_non_null(r);
	assert_int_equal(takes(r, "a", 1000, 5), 3);      /* a full bucket: one second's worth */
	assert_int_equal(takes(r, "a", 1333, 1), 0);      /* 0.999 of a token */
	assert_int_equal(takes(r, "a", 1334, 1), 1);      /* 1.002 */
	assert_int_equal(takes(r, "a", 1334, 1), 0);
	assert_int_equal(takes(r, "a", 1000000, 10), 3);  /* a long pause fills it, no more */
	assert_int_equal(takes(r, "a", 999000, 1), 0);    /* the clock going back adds nothing */
	rate_free(r);
}

static void test_keys_independent(void **state)
{
	struct rate *r = rate_new(2);
	char longa[300], longb[300];

	(void)state;
	assert_int_equal(takes(r, "app1", 0, 3), 2);
	assert_int_equal(takes(r, "app2", 0, 3), 2);
	assert_int_equal(takes(r, "", 0, 3), 2);          /* the anonymous application */
	assert_int_equal(takes(r, NULL, 0, 1), 0);        /* NULL is "" */
	/* keys are cut to RATE_KEY_MAX - 1 bytes: these two share a bucket */
	memset(longa, 'x', sizeof(longa));
	memcpy(longb, longa, sizeof(longb));
	longa[299] = longb[299] = '\0';
	longb[200] = 'y';
	assert_int_equal(takes(r, longa, 0, 1), 1);
	assert_int_equal(takes(r, longb, 0, 2), 1);
	rate_free(r);
}

static void test_table_cap(void **state)
{
	struct rate *r = rate_new(1);
	char k[32];

	(void)state;
	/* k0 .. k(MAX-1): each takes its one token */
	for (int i = 0; i < RATE_MAX_KEYS; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		assert_int_equal(takes(r, k, 0, 1), 1);
	}
	assert_int_equal(takes(r, "k0", 0, 1), 0);        /* still tracked: k0 is the newest now */
	assert_int_equal(takes(r, "new", 0, 1), 1);       /* takes the least recent entry, k1's */
	assert_int_equal(takes(r, "k2", 0, 1), 0);        /* others keep their state */
	assert_int_equal(takes(r, "k1", 0, 1), 1);        /* k1 starts full again (k3's entry) */
	assert_int_equal(takes(r, "k0", 0, 1), 0);
	rate_free(r);
}

struct taker {
	struct rate *r;
	int admitted;
};

static void *take_many(void *arg)
{
	struct taker *t = arg;

	t->admitted = takes(t->r, "shared", 5000, 1000);
	return NULL;
}

static void test_threads(void **state)
{
	struct rate *r = rate_new(100);
	struct taker t[4];
	pthread_t th[4];
	int total = 0;

	(void)state;
	for (int i = 0; i < 4; i++) {
		t[i] = (struct taker){ .r = r };
		assert_int_equal(pthread_create(&th[i], NULL, take_many, &t[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		total += t[i].admitted;
	}
	assert_int_equal(total, 100);                     /* exactly the burst, whoever took it */
	rate_free(r);
}

/* a reload changes the rate of the same limiter; 0 admits everything */
static void test_set_per_s(void **state)
{
	struct rate *r = rate_new_settable(0);

	(void)state;
	assert_non_null(r);
	assert_null(rate_new_settable(-1));
	for (int i = 0; i < 50; i++)
		assert_true(rate_take(r, "a", 0));        /* no limit yet */
	assert_int_equal(rate_set_per_s(r, 2), 0);
	assert_true(rate_take(r, "a", 0));
	assert_true(rate_take(r, "a", 0));
	assert_false(rate_take(r, "a", 0));               /* 2 a second now */
	assert_int_equal(rate_set_per_s(r, 5), 0);
	assert_true(rate_take(r, "a", 1000));             /* refilled to the new burst */
	for (int i = 0; i < 4; i++)
		assert_true(rate_take(r, "a", 1000));
	assert_false(rate_take(r, "a", 1000));
	assert_int_equal(rate_set_per_s(r, RATE_MAX_PER_S + 1), -1);
	assert_int_equal(rate_set_per_s(r, 0), 0);
	assert_true(rate_take(r, "a", 1000));             /* no limit again */
	rate_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_checks),
		cmocka_unit_test(test_burst_and_refill),
		cmocka_unit_test(test_keys_independent),
		cmocka_unit_test(test_table_cap),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_set_per_s),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
