/*
 * loop.h - the SIP thread's event loop: one thread that runs posted
 * functions and timers, one at a time (redis's ae, libre's re_main).
 *
 * DESIGN
 * - One thread runs the loop. Everything it owns (the SIP stack, the
 *   subscriptions, the running notifications) is touched only from
 *   functions that run on it: posted ones, timer callbacks, and the SIP
 *   stack's callbacks. That state needs no lock.
 * - Other threads reach it only by loop_post() (fire and forget) or
 *   loop_post_wait() (run and wait for the end). A message accepted before
 *   loop_stop() always runs; after it, posts fail with -1, so nothing waits
 *   forever on a loop that is gone.
 * - Timers are the loop thread's: created, set, cancelled and freed on it.
 *   Their callbacks run on it. A timer fires once per loop_timer_set().
 * - The clock is mono_ms() (mono.h): monotonic milliseconds.
 *
 * The SIP stack (sofia-sip) stays behind this header: loop_int.h gives the
 * watcher (watch*.c) the su_root the stack runs on; no other module sees a
 * sofia-sip type.
 */
#ifndef PXTSGW_LOOP_H
#define PXTSGW_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct loop_timer;

typedef void (loop_fn_h)(void *arg);

/* Runs on the new thread before the loop starts: 0 to run, -1 to give
 * up (loop_start then fails). */
typedef int (loop_init_h)(struct loop *l, void *arg);
/* Runs on the loop thread after the loop is over: frees what init made
 * (timers included). */
typedef void (loop_fini_h)(struct loop *l, void *arg);

/* Starts the thread and its loop, runs init there, and returns once init
 * has answered: 0 and *out, or -1 (nothing left running). */
int loop_start(loop_init_h *init, loop_fini_h *fini, void *arg, struct loop **out);

/* Posts last(arg) as the final message (no post is accepted after it),
 * waits until the loop has been left (last, or something after it, calls
 * loop_break) and fini has run, then frees l: 0. -1 (logged) when the
 * message cannot be sent: the thread is left running and l is not freed.
 * NULL is fine (0). Not on the loop thread. */
int loop_stop(struct loop *l, loop_fn_h *last, void *arg);

/* Leaves the loop once the function running now returns. Loop thread. */
void loop_break(struct loop *l);

/* Runs fn(arg) on the loop thread, later. From any thread. Returns 0, or
 * -1 when the loop does not take messages (fn will not run). */
int loop_post(struct loop *l, loop_fn_h *fn, void *arg);

/* Runs fn(arg) on the loop thread and returns once it has returned: 0, or
 * -1 (fn not run) when the loop does not take messages. On the loop
 * thread itself fn runs at once. fn must be short: the caller's thread
 * waits, and nothing else runs on the loop meanwhile. */
int loop_post_wait(struct loop *l, loop_fn_h *fn, void *arg);

/* true on the loop's own thread. */
bool loop_on_thread(const struct loop *l);

/* Timers, loop thread only. */
typedef void (loop_timer_h)(void *arg);
/* A timer, not set. NULL when out of memory. */
struct loop_timer *loop_timer_new(struct loop *l);
/* Calls fn(arg) once, ms milliseconds from now (ms < 1 counts as 1);
 * replaces whatever the timer was set to. Returns 0 or -1. */
int loop_timer_set(struct loop_timer *t, int64_t ms, loop_timer_h *fn, void *arg);
/* Unsets it (nothing runs). NULL is fine. */
void loop_timer_cancel(struct loop_timer *t);
/* Unsets and frees it. NULL is fine. */
void loop_timer_free(struct loop_timer *t);

#endif
