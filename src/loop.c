/*
 * loop.c - the SIP thread's event loop (loop.h) on a sofia-sip su_root.
 *
 * DESIGN
 * - A posted function travels as an su_msg to the root's task: su_msg is
 *   sofia-sip's thread-safe queue into a root, and its delivery wakes the
 *   loop. post_lock keeps a post from racing loop_stop(): accepting turns
 *   false, under the lock, right after the last message is sent, so every
 *   message sent before it is delivered before the loop ends (the su_root
 *   runs until loop_break, which only the last message or what follows it
 *   calls). Once the loop is left, the thread takes post_lock before it
 *   destroys the root: su_msg_send writes its wakeup to the root's socket
 *   after queueing, so a sender may still be in it when its message has
 *   already run (ThreadSanitizer saw that close race in test_loop).
 * - post-and-wait is a post of a small trampoline that signals the waiter's
 *   condition variable once the function has returned.
 * - A loop_timer wraps an su_timer_t: one callback type for every user, and
 *   no sofia-sip type outside watch*.c and this file.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct loop;
struct loop_msg;
struct loop_timer;
#define SU_ROOT_MAGIC_T struct loop
#define SU_MSG_ARG_T struct loop_msg
#define SU_TIMER_ARG_T struct loop_timer

#include "loop_int.h"

#include <sofia-sip/su.h>

#include "log.h"

struct loop {
	pthread_t thread;
	su_root_t *root;
	loop_init_h *init;
	loop_fini_h *fini;
	void *arg;

	/* start-up handshake */
	pthread_mutex_t start_lock;
	pthread_cond_t start_cond;
	int start_state;          /* 0 starting, 1 up, -1 failed */

	/* accepting is true while the loop takes messages; ended once the
	 * thread has left it */
	pthread_mutex_t post_lock;
	bool accepting;
	bool ended;
};

struct loop_msg {
	loop_fn_h *fn;
	void *arg;
};

struct loop_timer {
	struct loop *l;
	su_timer_t *t;
	loop_timer_h *fn;
	void *arg;
};

/* --- thread ------------------------------------------------------------------ */

static void *loop_thread(void *arg)
{
	struct loop *l = arg;
	int state = -1;

	su_init();
	l->root = su_root_create(l);
	if (!l->root)
		log_error("loop: cannot create the event loop");
	else if (l->init(l, l->arg) == 0)
		state = 1;
	pthread_mutex_lock(&l->start_lock);
	l->start_state = state;
	pthread_cond_broadcast(&l->start_cond);
	pthread_mutex_unlock(&l->start_lock);

	if (state == 1) {
		su_root_run(l->root);
		/* a sender may still be inside su_msg_send, writing the wakeup
		 * to the root's socket, after its message has run: wait for it
		 * (every send is under post_lock) before the socket goes, and
		 * take no more */
		pthread_mutex_lock(&l->post_lock);
		l->accepting = false;
		l->ended = true;
		pthread_mutex_unlock(&l->post_lock);
		l->fini(l, l->arg);
	}
	if (l->root)
		su_root_destroy(l->root);
	l->root = NULL;
	su_deinit();
	return NULL;
}

static void loop_free(struct loop *l)
{
	pthread_mutex_destroy(&l->start_lock);
	pthread_cond_destroy(&l->start_cond);
	pthread_mutex_destroy(&l->post_lock);
	free(l);
}

int loop_start(loop_init_h *init, loop_fini_h *fini, void *arg, struct loop **out)
{
	struct loop *l = calloc(1, sizeof(*l));
	int err;

	if (!l)
		return -1;
	l->init = init;
	l->fini = fini;
	l->arg = arg;
	pthread_mutex_init(&l->start_lock, NULL);
	pthread_cond_init(&l->start_cond, NULL);
	pthread_mutex_init(&l->post_lock, NULL);
	err = pthread_create(&l->thread, NULL, loop_thread, l);
	if (err != 0) {
		log_error("loop: cannot start the thread: %s", strerror(err));
		loop_free(l);
		return -1;
	}
	pthread_mutex_lock(&l->start_lock);
	while (l->start_state == 0)
		pthread_cond_wait(&l->start_cond, &l->start_lock);
	pthread_mutex_unlock(&l->start_lock);
	if (l->start_state < 0) {
		pthread_join(l->thread, NULL);
		loop_free(l);
		return -1;
	}
	pthread_mutex_lock(&l->post_lock);
	l->accepting = true;
	pthread_mutex_unlock(&l->post_lock);
	*out = l;
	return 0;
}

static void msg_cb(struct loop *l, su_msg_r msg, struct loop_msg *m)
{
	(void)l; (void)msg;
	m->fn(m->arg);
}

/* Sends fn(arg) to the loop; post_lock held. */
static int send_locked(struct loop *l, loop_fn_h *fn, void *arg)
{
	su_msg_r m = SU_MSG_R_INIT;
	struct loop_msg *d;

	if (!l->accepting ||
	    su_msg_create(m, su_root_task(l->root), su_task_null, msg_cb, sizeof(struct loop_msg)) != 0)
		return -1;
	d = su_msg_data(m);
	d->fn = fn;
	d->arg = arg;
	return su_msg_send(m) == 0 ? 0 : -1;
}

int loop_stop(struct loop *l, loop_fn_h *last, void *arg)
{
	int rc;

	if (!l)
		return 0;
	pthread_mutex_lock(&l->post_lock);
	rc = send_locked(l, last, arg);
	if (rc != 0 && l->ended)
		rc = 0;        /* the loop was left already: nothing to tell */
	l->accepting = false;
	pthread_mutex_unlock(&l->post_lock);
	if (rc != 0) {
		/* the thread cannot be told to end: leave it (and l) be */
		log_error("loop: cannot signal the loop thread to stop");
		return -1;
	}
	pthread_join(l->thread, NULL);
	loop_free(l);
	return 0;
}

void loop_break(struct loop *l)
{
	su_root_break(l->root);
}

su_root_t *loop_root(struct loop *l)
{
	return l->root;
}

bool loop_on_thread(const struct loop *l)
{
	return l && pthread_equal(pthread_self(), l->thread);
}

/* --- messages ------------------------------------------------------------------ */

int loop_post(struct loop *l, loop_fn_h *fn, void *arg)
{
	int rc;

	if (!l)
		return -1;
	pthread_mutex_lock(&l->post_lock);
	rc = send_locked(l, fn, arg);
	pthread_mutex_unlock(&l->post_lock);
	return rc;
}

struct post_wait {
	loop_fn_h *fn;
	void *arg;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
};

static void post_wait_run(void *arg)
{
	struct post_wait *pw = arg;

	pw->fn(pw->arg);
	/* the waiter frees pw once it sees done: nothing of it after unlock */
	pthread_mutex_lock(&pw->mu);
	pw->done = true;
	pthread_cond_signal(&pw->cv);
	pthread_mutex_unlock(&pw->mu);
}

int loop_post_wait(struct loop *l, loop_fn_h *fn, void *arg)
{
	struct post_wait pw = { .fn = fn, .arg = arg };
	int rc;

	if (!l)
		return -1;
	if (loop_on_thread(l)) {
		fn(arg);
		return 0;
	}
	pthread_mutex_init(&pw.mu, NULL);
	pthread_cond_init(&pw.cv, NULL);
	rc = loop_post(l, post_wait_run, &pw);
	if (rc == 0) {
		pthread_mutex_lock(&pw.mu);
		while (!pw.done)
			pthread_cond_wait(&pw.cv, &pw.mu);
		pthread_mutex_unlock(&pw.mu);
	}
	pthread_cond_destroy(&pw.cv);
	pthread_mutex_destroy(&pw.mu);
	return rc;
}

/* --- timers ------------------------------------------------------------------ */

static void timer_fire(struct loop *l, su_timer_t *st, struct loop_timer *t)
{
	(void)l; (void)st;
	t->fn(t->arg);
}

struct loop_timer *loop_timer_new(struct loop *l)
{
	struct loop_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->l = l;
	t->t = su_timer_create(su_root_task(l->root), 1000);
	if (!t->t) {
		free(t);
		return NULL;
	}
	return t;
}

int loop_timer_set(struct loop_timer *t, int64_t ms, loop_timer_h *fn, void *arg)
{
	if (!t)
		return -1;
	su_timer_reset(t->t);
	t->fn = fn;
	t->arg = arg;
	if (ms < 1)
		ms = 1;
	if (ms > SU_DURATION_MAX)
		ms = SU_DURATION_MAX;   /* about 24 days: the callback re-arms */
	return su_timer_set_interval(t->t, timer_fire, t, (su_duration_t)ms) < 0 ? -1 : 0;
}

void loop_timer_cancel(struct loop_timer *t)
{
	if (t)
		su_timer_reset(t->t);
}

void loop_timer_free(struct loop_timer *t)
{
	if (!t)
		return;
	su_timer_destroy(t->t);
	free(t);
}
