/*
 * test_loop.c - the SIP thread's event loop (src/loop.c) on a real
 * su_root: init and fini on the loop thread, a failed init, posts run in
 * order on the loop thread, post-and-wait (also from the loop thread
 * itself), every message accepted before loop_stop runs, timers fire once,
 * in deadline order, and neither a cancelled nor a replaced setting fires.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "loop.h"
#include "mono.h"

struct fix {
	struct loop *l;
	int init_rc;
	int inits, finis;
	bool init_on_thread, fini_on_thread;
	/* loop thread only, read after post_wait or stop */
	char trace[256];
	int counted;
	int fired;
	struct loop_timer *t[3];
	/* signalled by timer callbacks */
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static void trace(struct fix *f, const char *what)
{
	size_t len = strlen(f->trace);

	snprintf(f->trace + len, sizeof(f->trace) - len, "%s ", what);
}

static int init_cb(struct loop *l, void *arg)
{
	struct fix *f = arg;

	f->inits++;
	f->init_on_thread = loop_on_thread(l);
	return f->init_rc;
}

static void fini_cb(struct loop *l, void *arg)
{
	struct fix *f = arg;

	f->finis++;
	f->fini_on_thread = loop_on_thread(l);
	for (int i = 0; i < 3; i++) {
		loop_timer_free(f->t[i]);
		f->t[i] = NULL;
	}
}

static void last_cb(void *arg)
{
	struct fix *f = arg;

	trace(f, "last");
	loop_break(f->l);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	assert_int_equal(loop_start(init_cb, fini_cb, f, &f->l), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	if (f->l)
		assert_int_equal(loop_stop(f->l, last_cb, f), 0);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	free(f);
	return 0;
}

static void test_start_stop(void **state)
{
	struct fix *f = *state;

	assert_int_equal(f->inits, 1);
	assert_true(f->init_on_thread);
	assert_false(loop_on_thread(f->l));
	assert_int_equal(loop_stop(f->l, last_cb, f), 0);
	f->l = NULL;
	assert_int_equal(f->finis, 1);
	assert_true(f->fini_on_thread);
	assert_string_equal(f->trace, "last ");
	/* no loop: nothing runs, nothing waits */
	assert_int_equal(loop_post(NULL, last_cb, f), -1);
	assert_int_equal(loop_post_wait(NULL, last_cb, f), -1);
	assert_int_equal(loop_stop(NULL, last_cb, f), 0);
}

static void test_init_fails(void **state)
{
	struct fix g = { .init_rc = -1 };
	struct loop *l = NULL;

	(void)state;
	assert_int_equal(loop_start(init_cb, fini_cb, &g, &l), -1);
	assert_null(l);
	assert_int_equal(g.inits, 1);
	assert_int_equal(g.finis, 0);
}

/* Callbacks on the loop thread record what they saw; the test thread
 * asserts (cmocka's asserts belong to the test's thread). */
struct step {
	struct fix *f;
	const char *name;
	bool on_thread;
	int rc;
};

static void step_cb(void *arg)
{
	struct step *s = arg;

	s->on_thread = loop_on_thread(s->f->l);
	trace(s->f, s->name);
}

static void test_post_order(void **state)
{
	struct fix *f = *state;
	struct step s[4] = { { f, "a", false, 0 }, { f, "b", false, 0 }, { f, "c", false, 0 },
			     { f, "d", false, 0 } };

	for (int i = 0; i < 3; i++)
		assert_int_equal(loop_post(f->l, step_cb, &s[i]), 0);
	/* after the three posts, in order */
	assert_int_equal(loop_post_wait(f->l, step_cb, &s[3]), 0);
	assert_string_equal(f->trace, "a b c d ");
	for (int i = 0; i < 4; i++)
		assert_true(s[i].on_thread);
}

static void nested_cb(void *arg)
{
	struct step *s = arg;
	struct step inner = { s->f, "inner", false, 0 };

	trace(s->f, "outer");
	/* on the loop thread: runs at once instead of waiting for itself */
	s->rc = loop_post_wait(s->f->l, step_cb, &inner);
	s->on_thread = inner.on_thread;
	trace(s->f, "after");
}

static void test_post_wait_on_loop(void **state)
{
	struct fix *f = *state;
	struct step s = { f, "x", false, -1 };

	assert_int_equal(loop_post_wait(f->l, nested_cb, &s), 0);
	assert_int_equal(s.rc, 0);
	assert_true(s.on_thread);
	assert_string_equal(f->trace, "outer inner after ");
}

static void count_cb(void *arg)
{
	struct fix *f = arg;

	f->counted++;
}

/* Every message accepted before loop_stop runs, before the last one. */
static void test_stop_drains(void **state)
{
	struct fix *f = *state;

	for (int i = 0; i < 1000; i++)
		assert_int_equal(loop_post(f->l, count_cb, f), 0);
	assert_int_equal(loop_stop(f->l, last_cb, f), 0);
	f->l = NULL;
	assert_int_equal(f->counted, 1000);
	assert_string_equal(f->trace, "last ");
}

struct tstep {
	struct fix *f;
	const char *name;
	int64_t at;
};

static void timer_cb(void *arg)
{
	struct tstep *s = arg;

	s->at = mono_ms();
	trace(s->f, s->name);
	pthread_mutex_lock(&s->f->mu);
	s->f->fired++;
	pthread_cond_signal(&s->f->cv);
	pthread_mutex_unlock(&s->f->mu);
}

struct timers {
	struct fix *f;
	struct tstep s[4];
	int64_t set_at;
	int failures;         /* calls that did not answer as expected */
};

static void timers_on_loop(void *arg)
{
	struct timers *ts = arg;
	struct fix *f = ts->f;

	for (int i = 0; i < 3; i++) {
		f->t[i] = loop_timer_new(f->l);
		ts->failures += !f->t[i];
	}
	if (ts->failures)
		return;
	ts->set_at = mono_ms();
	ts->failures += loop_timer_set(f->t[0], 60, timer_cb, &ts->s[0]) != 0;
	ts->failures += loop_timer_set(f->t[1], 20, timer_cb, &ts->s[1]) != 0;
	/* cancelled: never fires */
	ts->failures += loop_timer_set(f->t[2], 10, timer_cb, &ts->s[2]) != 0;
	loop_timer_cancel(f->t[2]);
	/* replaced: only the second setting fires */
	ts->failures += loop_timer_set(f->t[1], 40, timer_cb, &ts->s[3]) != 0;
	/* a cancel or free of NULL is nothing; a set of NULL fails */
	loop_timer_cancel(NULL);
	loop_timer_free(NULL);
	ts->failures += loop_timer_set(NULL, 5, timer_cb, &ts->s[2]) != -1;
}

static void test_timers(void **state)
{
	struct fix *f = *state;
	struct timers ts = { .f = f };
	const char *names[4] = { "t60", "t20", "cancelled", "t40" };
	struct timespec until, pause = { 0, 100 * 1000000L };

	for (int i = 0; i < 4; i++) {
		ts.s[i].f = f;
		ts.s[i].name = names[i];
	}
	assert_int_equal(loop_post_wait(f->l, timers_on_loop, &ts), 0);
	assert_int_equal(ts.failures, 0);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&f->mu);
	while (f->fired < 2)
		if (pthread_cond_timedwait(&f->cv, &f->mu, &until) != 0)
			break;
	pthread_mutex_unlock(&f->mu);
	/* wait past the cancelled one's and the replaced one's deadlines */
	nanosleep(&pause, NULL);
	assert_int_equal(loop_post_wait(f->l, count_cb, f), 0);
	assert_int_equal(f->fired, 2);
	assert_string_equal(f->trace, "t40 t60 ");
	assert_true(ts.s[3].at - ts.set_at >= 40);
	assert_true(ts.s[0].at - ts.set_at >= 60);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_start_stop, setup, teardown),
		cmocka_unit_test(test_init_fails),
		cmocka_unit_test_setup_teardown(test_post_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_post_wait_on_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_drains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timers, setup, teardown),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
