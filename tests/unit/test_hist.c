/*
 * test_hist.c - latency histograms (hist.c): the buckets an observation
 * falls into (upper bounds included), the Prometheus text, and
 * observations from several threads at once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "sbuf.h"

static void test_buckets(void **state)
{
	(void)state;
	assert_int_equal(HIST_BOUNDS, 13);
	assert_int_equal(hist_bucket(0), 0);
	assert_int_equal(hist_bucket(1000), 0);         /* le="0.001": 1 ms included */
	assert_int_equal(hist_bucket(1001), 1);
	assert_int_equal(hist_bucket(2500), 1);
	assert_int_equal(hist_bucket(2501), 2);
	assert_int_equal(hist_bucket(99999), 6);        /* le="0.1" */
	assert_int_equal(hist_bucket(100000), 6);
	assert_int_equal(hist_bucket(100001), 7);
	assert_int_equal(hist_bucket(1000000), 9);      /* le="1" */
	assert_int_equal(hist_bucket(10000000), 12);    /* le="10" */
	assert_int_equal(hist_bucket(10000001), 13);    /* +Inf only */
	assert_int_equal(hist_bucket(INT64_MAX), 13);
	for (int k = 1; k < HIST_BOUNDS; k++)
		assert_true(hist_bounds[k] > hist_bounds[k - 1]);
}

static void test_text(void **state)
{
	struct hist h;
	struct sbuf b = SBUF_INIT(1 << 16);
	char *text;

	(void)state;
	memset(&h, 0, sizeof(h));
	hist_observe(&h, 1000);       /* 0.001 */
	hist_observe(&h, 3000);       /* 0.005 */
	hist_observe(&h, -5);         /* counts as 0 */
	hist_observe(&h, 20000000);   /* 20 s: +Inf */
	hist_write_head(&b, "x_seconds", "Test.");
	hist_write(&b, &h, "x_seconds", "op=\"a\"");
	hist_write(&b, &h, "y_seconds", "");
	text = sbuf_take(&b, NULL);
	assert_non_null(text);
	assert_string_equal(text,
		"# HELP x_seconds Test.\n"
		"# TYPE x_seconds histogram\n"
		"x_seconds_bucket{op=\"a\",le=\"0.001\"} 2\n"
		"x_seconds_bucket{op=\"a\",le=\"0.0025\"} 2\n"
		"x_seconds_bucket{op=\"a\",le=\"0.005\"} 3\n"
		"x_seconds_bucket{op=\"a\",le=\"0.01\"} 3\n"
		"x_seconds_bucket{op=\"a\",le=\"0.025\"} 3\n"
		"x_seconds_bucket{op=\"a\",le=\"0.05\"} 3\n"
		"x_seconds_bucket{op=\"a\",le=\"0.1\"} 3\n"
		"x_seconds_bucket{op=\"a\",le=\"0.25\"} 3\n"
		"x_seconds_bucket{op=\"a\",le=\"0.5\"} 3\n"
		"x_seconds_bucket{op=\"a\",le=\"1\"} 3\n"
		"x_seconds_bucket{op=\"a\",le=\"2.5\"} 3\n"
		"x_seconds_bucket{op=\"a\",le=\"5\"} 3\n"
		"x_seconds_bucket{op=\"a\",le=\"10\"} 3\n"
		"x_seconds_bucket{op=\"a\",le=\"+Inf\"} 4\n"
		"x_seconds_sum{op=\"a\"} 20.004000\n"
		"x_seconds_count{op=\"a\"} 4\n"
		"y_seconds_bucket{le=\"0.001\"} 2\n"
		"y_seconds_bucket{le=\"0.0025\"} 2\n"
		"y_seconds_bucket{le=\"0.005\"} 3\n"
		"y_seconds_bucket{le=\"0.01\"} 3\n"
		"y_seconds_bucket{le=\"0.025\"} 3\n"
		"y_seconds_bucket{le=\"0.05\"} 3\n"
		"y_seconds_bucket{le=\"0.1\"} 3\n"
		"y_seconds_bucket{le=\"0.25\"} 3\n"
		"y_seconds_bucket{le=\"0.5\"} 3\n"
		"y_seconds_bucket{le=\"1\"} 3\n"
		"y_seconds_bucket{le=\"2.5\"} 3\n"
		"y_seconds_bucket{le=\"5\"} 3\n"
		"y_seconds_bucket{le=\"10\"} 3\n"
		"y_seconds_bucket{le=\"+Inf\"} 4\n"
		"y_seconds_sum 20.004000\n"
		"y_seconds_count 4\n");
	free(text);
}

enum { THREADS = 4, PER_THREAD = 20000 };
static struct hist shared;

static void *observer(void *arg)
{
	int64_t us = (int64_t)(intptr_t)arg;

	for (int i = 0; i < PER_THREAD; i++)
		hist_observe(&shared, us);
	return NULL;
}

/* No observation is lost when threads observe at once. */
static void test_threads(void **state)
{
	pthread_t th[THREADS];
	unsigned long total = 0;

	(void)state;
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, observer, (void *)(intptr_t)(i * 3000)), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	for (int k = 0; k <= HIST_BOUNDS; k++)
		total += atomic_load(&shared.n[k]);
	assert_int_equal(total, THREADS * PER_THREAD);
	assert_int_equal(atomic_load(&shared.n[0]), PER_THREAD);             /* 0 us */
	assert_int_equal(atomic_load(&shared.n[hist_bucket(3000)]), PER_THREAD);
	assert_int_equal(atomic_load(&shared.sum_us),
			 (unsigned long long)PER_THREAD * (0 + 3000 + 6000 + 9000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buckets),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
