/*
 * dlv.c - delivery of callbacks with retries and tracking (contract
 * sections 5, 9 and 9a): when to send; svc_client sends.
 *
 * Scheduling: one mutex and one condition variable (CLOCK_MONOTONIC) guard
 * everything shared. Each correlator has a FIFO of jobs and a state:
 *   IDLE     no job
 *   READY    its head may be sent now; the correlator is in the ready queue
 *   WAITING  its head failed and waits for its backoff, or its endpoint's
 *            circuit is open; in the timer list (sorted by due time)
 *   PARKED   its endpoint has its limit of attempts in flight, or its
 *            circuit's probe in flight; in the endpoint's list
 *   BUSY     a worker is sending its head
 * A worker takes the first READY correlator and asks its head's endpoint
 * (dlv_endpoint.c: host:port) for a slot: when the endpoint is at its
 * limit or its circuit is open, the correlator is parked or timed and the
 * worker takes the next one, never waiting for that endpoint. With a slot
 * it sends the head without the lock, then either finishes the job
 * (delivered, or attempts exhausted) and makes the next one READY, or puts
 * the correlator in the timer list. So a correlator has at most one job in
 * flight, its order is kept across retries, a waiting or slow correlator
 * holds up only itself, and a slow or dead endpoint holds at most
 * max_in_flight_per_endpoint workers (none while its circuit is open, one
 * while it is probed). Idle workers sleep until the earliest due time; a
 * new earliest timer wakes them all to re-arm.
 *
 * Why a fixed pool with per-endpoint limits (tests/bench/fair_delivery.sh:
 * 50 correlators calling back an endpoint that accepts and never answers,
 * one healthy correlator, a callback each a second for 120 s, 4 workers,
 * timeout 5 s; the healthy endpoint's latency from enqueue to arrival; 2
 * CPUs shared with builds): without limits the hung endpoint held every
 * worker: 3 of 120 callbacks arrived within 180 s (p50 114 s); 64 workers
 * instead of 4: all arrived (p50 1.9 ms, p99 11 ms, max 14 ms), but only
 * while there are more workers than hung attempts, and the hung endpoint
 * got 800 attempts; limit 2 and the circuit with 4 workers: all arrived
 * (p50 0.9 ms, p99 6.5 ms, max 6.7 ms) and the hung endpoint got 9
 * attempts (5, then a probe every 35 s). Non-blocking I/O would free the
 * workers too, but gSOAP's client is blocking (connect, TLS, send and
 * receive inside soap_call_*): it would mean our own HTTP client, for
 * what the limit already gives. What the limit does not give: several
 * dead endpoints together (their limits adding up to the workers) hold
 * every worker until their circuits open.
 *
 * Sending is the SOAP glue's (svc_client.c; no gSOAP here): each worker
 * has its own client, kept across calls so the HTTP keep-alive connection
 * is reused. A job's request is prepared once (svc_callback_new, at
 * enqueue or when resumed from the outbox) and reused by every attempt;
 * svc_client_send makes one attempt and gives the detail of a failure.
 *
 * Outbox (with a store): dlv_enqueue writes the callback (payload format
 * in dlv_payload.c) to the outbox and waits until the store's writer has
 * committed it before the job is queued and its id returned ("durable
 * before accepted"); a mutex (emu) keeps ids, outbox rows and queue order
 * in step when several threads enqueue. dlv_start reads the outbox by
 * delivery id, a batch at a time (dlv_resume.c), and queues every row
 * again before it returns, so new enqueues come after them and each
 * correlator keeps its order; a row's attempts continue. dlv_stop leaves
 * queued and waiting jobs in the outbox.
 *
 * Tracking: after an attempt the worker submits its writes to the store
 * (the _DeliveryAttempted record; then either the outbox row's attempts,
 * or the _DeliveryResult record and the row's deletion), one submission,
 * committed in one transaction. After a failed attempt it goes on
 * (store_submit; the store makes it wait only when its queue is full);
 * after a callback's end it waits until that is committed (store_apply),
 * so a crash repeats at most one callback per worker. The store's writer
 * thread commits what is submitted in groups (store_writer.c): under load
 * a transaction carries many callbacks, when idle each is committed
 * within a commit's time; one thread's submissions are committed in
 * order, so a correlator's records stay in order.
 *
 * Measured (plain -O2, 2 CPUs shared with other builds, so the spread is
 * wide; 3000 callbacks through dlv_drive to tests/tools/callback_sink.py,
 * 1 correlator and 1 worker; then 8 correlators x 400 with 4 workers,
 * from the first enqueue to the last delivery; 5 runs each, before and
 * after alternating): with dlv's own writer (flush_upto in the worker)
 * 1.61-2.13 s, of which the enqueue loop 216-407 ms | 1.47-2.23 s; with
 * the store's writer 1.62-2.44 s, enqueue loop 380-799 ms | 1.36-1.93 s.
 * An enqueue now hands its outbox row to the writer thread and waits for
 * it (two thread switches, about 0.1 ms more per callback on this
 * machine); the deliveries themselves run as fast. Earlier figures, with
 * a C sink: no store 14k | 49k-55k callbacks/s; one transaction per
 * tracking record 5.2k-5.7k | 5.9k-6.8k; a group-committing writer
 * without waiting for a callback's end 13k-18k | 11k-17k; waiting for it
 * (the bounded repeat after a crash) costs the single correlator a commit
 * per callback (3000 to a Python sink: 190-197 ms without the wait,
 * 600-640 ms with it).
 *
 * Expiry: a job older than max_age_s (from when it was accepted: the
 * outbox row's created_ms) is not attempted again: when it comes to the
 * head (a retry's due time is clamped to the deadline), it is finished as
 * failed with the detail "expired after N s" and no attempt. The same
 * check applies to jobs resumed from the outbox.
 *
 * Retention is the store's (store_set_retention): its writer prunes.
 *
 * Delivery ids: the first id is the current time in microseconds, or the
 * highest id in the store (tracking records and outbox) plus one if that
 * is larger; then +1 per callback.
 * They stay unique across restarts (a restart takes far more microseconds
 * than ids are used) and below 2^53, so JSON consumers read them exactly.
 */
#include "dlv_int.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dest.h"
#include "log.h"
#include "mono.h"
#include "store.h"

#define DLV_DEFAULT_WORKERS 4
#define DLV_RECV_MAXLENGTH (1024 * 1024)   /* largest answer read */
#define DLV_DEFAULT_MAX_AGE_S 3600
#define DLV_DEFAULT_MAX_IN_FLIGHT 2
#define DLV_DEFAULT_CIRCUIT_FAILURES 5
#define DLV_DEFAULT_CIRCUIT_OPEN_S 30

enum { EV_ATTEMPTED, EV_RESULT };
static const char *const event_names[DLV_N_OPS][2] = {
	[DLV_STATUS_NOTIFICATION] = { "statusNotification_DeliveryAttempted",
				      "statusNotification_DeliveryResult" },
	[DLV_STATUS_CHANGED] = { "statusChanged_DeliveryAttempted", "statusChanged_DeliveryResult" },
	[DLV_STATUS_ERROR] = { "statusError_DeliveryAttempted", "statusError_DeliveryResult" },
	[DLV_STATUS_END] = { "statusEnd_DeliveryAttempted", "statusEnd_DeliveryResult" },
	/* CAMARA CloudEvents (contract section 12) */
	[DLV_CE_REACHABILITY_DATA] = { "reachability-data_DeliveryAttempted",
				       "reachability-data_DeliveryResult" },
	[DLV_CE_REACHABILITY_DISCONNECTED] = { "reachability-disconnected_DeliveryAttempted",
					       "reachability-disconnected_DeliveryResult" },
	[DLV_CE_SUBSCRIPTION_ENDED] = { "subscription-ended_DeliveryAttempted",
					"subscription-ended_DeliveryResult" },
};

/* --- time ------------------------------------------------------------------ */

int64_t dlv_mono_ms(void)
{
	return mono_ms();
}

static uint64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}


long dlv_backoff_ms(const struct dlv_config *cfg, long n)
{
	long base = cfg->backoff_ms, cap = cfg->backoff_max_ms > 0 ? cfg->backoff_max_ms : LONG_MAX;

	if (base <= 0)
		return 0;
	if (n < 1)
		n = 1;
	/* base * 2^(n-1), saturating at cap without overflowing */
	for (long i = 1; i < n && base < cap; i++)
		base = base > LONG_MAX / 2 ? LONG_MAX : base * 2;
	return base < cap ? base : cap;
}


/* --- jobs ------------------------------------------------------------------- */

static char *dup_or_null(const char *s, bool *ok)
{
	char *p;

	if (!s)
		return NULL;
	p = strdup(s);
	if (!p)
		*ok = false;
	return p;
}


void dlv_job_free(struct job *j)
{
	if (!j)
		return;
	svc_callback_free(j->cb);
	free(j->endpoint);
	free(j->shown);
	free(j->app);
	free(j->correlator);
	free(j->key);
	free(j->ep_key);
	free(j);
}

/* The name of a correlator's queue and health record: correlators are
 * unique per application (contract section 11), so the key is both,
 * "<app>/<correlator>" (an application name has no '/'). malloc'd; NULL
 * when memory is short. */
char *dlv_key_dup(const char *app, const char *correlator)
{
	char *k = NULL;

	if (asprintf(&k, "%s/%s", app ? app : "", correlator) < 0)
		return NULL;
	return k;
}

struct job *dlv_job_new(const char *endpoint, const char *app, const struct svc_callback_data *c)
{
	struct job *j = calloc(1, sizeof(*j));
	bool ok = true;

	if (!j)
		return NULL;
	j->op = c->op;
	j->app = dup_or_null(app ? app : "", &ok);
	j->correlator = dup_or_null(c->correlator, &ok);
	if (ok && !(j->key = dlv_key_dup(app, c->correlator)))
		ok = false;
	if (ok && !(j->ep_key = dlv_ep_key_dup(endpoint)))
		ok = false;
	j->endpoint = dup_or_null(endpoint, &ok);
	if (endpoint && !(j->shown = dest_redact_dup(endpoint)))
		ok = false;
	if (!ok || !(j->cb = svc_callback_new(c))) {
		dlv_job_free(j);
		return NULL;
	}
	return j;
}


/* --- store writes ---------------------------------------------------------- */

static struct store_op track_op(const struct job *j, int kind, int64_t now)
{
	return (struct store_op){
		.kind = STORE_OP_TRACK, .delivery = j->id, .attempt = j->attempts,
		.event = event_names[j->op][kind], .app = j->app, .correlator = j->correlator,
		.endpoint = j->shown,
		.detail = j->ok ? NULL : j->detail, .delivered = j->ok, .time_ms = now,
	};
}

/* Submits the store writes for j after an attempt (attempted) or after it
 * was given up without one: the records, then the outbox row's update or
 * deletion. */
static void record(struct dlv *d, const struct job *j, bool attempted, bool finished)
{
	struct store_op ops[3];
	int64_t now = store_wall_ms();
	size_t n = 0;

	if (!d->cfg.store)
		return;
	if (attempted)
		ops[n++] = track_op(j, EV_ATTEMPTED, now);
	if (finished) {
		ops[n++] = track_op(j, EV_RESULT, now);
		ops[n++] = (struct store_op){ .kind = STORE_OP_REMOVE, .delivery = j->id };
		/* the callback's end is committed before this worker (and the
		 * correlator) goes on: a crash repeats at most the one
		 * callback per worker that is in flight or being committed,
		 * and a repeat never follows a later callback of its
		 * correlator. The commit is shared with whatever else is
		 * submitted meanwhile (the store's group commit). A failure
		 * is logged by the store: the row stays, the callback is sent
		 * again after a restart. */
		store_apply(d->cfg.store, ops, n);
	} else {
		ops[n++] = (struct store_op){ .kind = STORE_OP_ATTEMPTS, .delivery = j->id,
					      .attempt = j->attempts };
		/* committed by the store's writer within a commit cycle; the
		 * store makes us wait only when it is far behind */
		store_submit(d->cfg.store, ops, n);
	}
}

/* --- sending --------------------------------------------------------------- */

/* One attempt of j; sets j->ok and j->detail, counts j->attempts. */
static void attempt(struct worker *w, struct job *j)
{
	j->ok = svc_client_send(w->client, j->endpoint, j->cb, j->detail, sizeof(j->detail));
	j->attempts++;
}

/* A log line composed under the lock and written after it is released
 * (the job may be retried, even freed, by another worker by then). */
struct note {
	int level;              /* -1: nothing */
	char text[1024];
};

static void note_set(struct note *nt, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void note_set(struct note *nt, int level, const char *fmt, ...)
{
	va_list ap;

	nt->level = level;
	va_start(ap, fmt);
	vsnprintf(nt->text, sizeof(nt->text), fmt, ap);
	va_end(ap);
}

/* After an attempt of c's head j (attempted), or after j was given up
 * without one, under the lock: frees the endpoint's slot (a: what
 * dlv_ep_admit said), counts, then finishes j (unlinked; the caller frees
 * it; c may be freed too) or schedules its retry. Log lines go to nt (the
 * callback) and cn (the endpoint's circuit). */
static void settle(struct dlv *d, struct corr *c, struct job *j, enum admit a, bool attempted,
		   bool finished, struct note *nt, struct note *cn)
{
	const char *op = dlv_op_names[j->op];
	int64_t now = dlv_mono_ms();
	long wait;

	nt->level = -1;
	cn->level = -1;
	if (a == ADMIT_ATTEMPT || a == ADMIT_PROBE) {
		dlv_ep_done(d, j->ep, a, attempted, j->ok, now, cn->text, sizeof(cn->text));
		if (cn->text[0])
			cn->level = attempted && j->ok ? LOG_INFO : LOG_WARN;
	}
	if (attempted) {
		d->attempts[j->op][j->ok]++;
		if (!j->ok) {
			c->h.attempts_failed++;
			c->h.last_error[0] = '\0';
			svc_detail_add(c->h.last_error, sizeof(c->h.last_error), j->detail);
			if (j->ep) {     /* its endpoint's health, for /status */
				j->ep->attempts_failed++;
				memcpy(j->ep->last_error, c->h.last_error, sizeof(j->ep->last_error));
			}
			/* warn once when a correlator starts failing, not per attempt */
			if (!c->failing || log_get_level() >= LOG_DEBUG)
				note_set(nt, c->failing ? LOG_DEBUG : LOG_WARN,
					 "dlv: %s for correlator %s to %s failed: %s (attempt %d of %ld)",
					 op, j->correlator, j->shown, j->detail, j->attempts,
					 d->cfg.max_attempts);
			c->failing = true;
		} else if (c->failing) {
			c->failing = false;
			note_set(nt, LOG_INFO, "dlv: %s for correlator %s delivered to %s again (attempt %d)",
				 op, j->correlator, j->shown, j->attempts);
		}
	}
	if (finished) {
		d->results[j->op][j->ok]++;
		if (j->ok) {
			c->h.delivered++;
		} else {
			c->h.failed++;
			note_set(nt, LOG_WARN, "dlv: %s for correlator %s to %s given up after %d attempts: %s",
				 op, j->correlator, j->shown, j->attempts, j->detail);
		}
		c->h.queued--;
		dlv_ep_unref(d, j->ep);
		j->ep = NULL;
		c->head = j->next;
		if (!c->head)
			c->tail = NULL;
		if (c->head) {
			dlv_ready_push(d, c);
			pthread_cond_signal(&d->cv);   /* an idle worker may take it */
		} else {
			c->state = C_IDLE;
			if (c->forget)
				dlv_corr_drop(d, c);
		}
		return;
	}
	wait = dlv_backoff_ms(&d->cfg, j->attempts);
	/* no retry after the deadline: then the job is given up */
	c->due = j->deadline - now < wait ? j->deadline : now + wait;
	if (dlv_timer_insert(d, c))
		pthread_cond_broadcast(&d->cv);   /* sleepers re-arm for it */
}

static void wait_for_work(struct dlv *d)
{
	struct timespec ts;
	int64_t due;

	if (!d->timers) {
		pthread_cond_wait(&d->cv, &d->mu);
		return;
	}
	due = d->timers->due;
	ts.tv_sec = (time_t)(due / 1000);
	ts.tv_nsec = (long)(due % 1000) * 1000000L;
	pthread_cond_timedwait(&d->cv, &d->mu, &ts);
}

/* What a worker's attempt reads of what dlv_reconfigure may change,
 * copied under d->mu. */
struct attempt_cfg {
	long max_attempts, timeout_ms, dns_timeout_ms;
	const struct dest *dest;    /* a reference (dest_ref) */
	unsigned long dest_gen;
};

/* Whether j must be given up without an attempt: 0 if not; else its detail
 * is set (and j->ok false). */
static int give_up_before(struct dlv *d, struct job *j, long max_attempts)
{
	if (dlv_mono_ms() >= j->deadline) {
		long long age = (long long)(store_wall_ms() - j->created_ms) / 1000;

		j->ok = false;
		snprintf(j->detail, sizeof(j->detail), "expired after %lld s",
			 age > d->cfg.max_age_s ? age : (long long)d->cfg.max_age_s);
		return -1;
	}
	if (j->attempts >= max_attempts) {
		/* every attempt made: max_attempts was lowered (by a restart
		 * or a reload) */
		j->ok = false;
		snprintf(j->detail, sizeof(j->detail), "no attempt left (%d made before "
			 "delivery.max-attempts was lowered)", j->attempts);
		return -1;
	}
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct dlv *d = w->d;

	pthread_mutex_lock(&d->mu);
	while (!d->stopping) {
		struct corr *c;
		struct job *j;
		bool attempted, finished;
		struct note nt, cn;
		struct attempt_cfg ac;
		enum admit a;
		int64_t now = dlv_mono_ms();

		dlv_timers_promote(d, now);
		c = dlv_ready_pop(d);
		if (!c) {
			wait_for_work(d);
			continue;
		}
		if (d->ready_head)   /* more than one was ready: pass the word on */
			pthread_cond_signal(&d->cv);
		/* its endpoint at its limit or its circuit open: parked or
		 * timed, and this worker takes the next one */
		a = dlv_ep_admit(d, c, now);
		if (a == ADMIT_LATER)
			continue;
		c->state = C_BUSY;
		j = c->head;
		ac.max_attempts = d->cfg.max_attempts;
		ac.timeout_ms = d->cfg.timeout_ms;
		ac.dns_timeout_ms = d->cfg.dns_timeout_ms;
		ac.dest = dest_ref(d->dest);
		ac.dest_gen = d->dest_gen;
		pthread_mutex_unlock(&d->mu);

		/* ADMIT_GIVE_UP: this says so too (the clock only goes on) */
		attempted = give_up_before(d, j, ac.max_attempts) == 0;
		if (attempted) {
			svc_client_configure(w->client, ac.dest, ac.timeout_ms, ac.dns_timeout_ms,
					     ac.dest_gen != w->dest_gen);
			w->dest_gen = ac.dest_gen;
			attempt(w, j);
			finished = j->ok || j->attempts >= ac.max_attempts;
		} else {
			finished = true;
		}
		/* the client keeps the pointer until the next configure, but
		 * only reads it during an attempt */
		dest_free((struct dest *)ac.dest);
		/* committed by the writer thread, within a commit cycle */
		record(d, j, attempted, finished);

		pthread_mutex_lock(&d->mu);
		settle(d, c, j, a, attempted, finished, &nt, &cn);
		pthread_mutex_unlock(&d->mu);
		/* from here j belongs to us only if finished; c may be gone */
		if (finished)
			dlv_job_free(j);
		if (nt.level == LOG_DEBUG)
			log_debug("%s", nt.text);
		else if (nt.level >= 0)
			log_msg((enum log_level)nt.level, "%s", nt.text);
		if (cn.level >= 0)
			log_msg((enum log_level)cn.level, "%s", cn.text);

		pthread_mutex_lock(&d->mu);
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}


/* --- API ------------------------------------------------------------------ */

static void dlv_free(struct dlv *d)
{
	unsigned long left = 0;

	for (size_t i = 0; d->corrs.b && i < d->corrs.nb; i++) {
		struct corr *c = (struct corr *)d->corrs.b[i], *next;

		for (; c; c = next) {
			struct job *j = c->head, *jn;

			next = (struct corr *)c->node.hnext;
			for (; j; j = jn) {
				jn = j->next;
				dlv_job_free(j);
				left++;
			}
			free(c->node.name);
			free(c);
		}
	}
	for (size_t i = 0; d->eps.b && i < d->eps.nb; i++) {
		struct dlv_node *e = d->eps.b[i], *next;

		for (; e; e = next) {
			next = e->hnext;
			free(e->name);
			free(e);   /* struct ep begins with its node */
		}
	}
	if (left && d->cfg.store)
		log_info("dlv: %lu unfinished callback(s) kept in the outbox for the next start", left);
	else if (left)
		log_info("dlv: %lu queued callback(s) dropped at stop", left);
	for (unsigned i = 0; d->workers && i < d->nworkers; i++)
		svc_client_free(d->workers[i].client);
	free(d->workers);
	dest_free((struct dest *)d->dest);
	free(d->corrs.b);
	free(d->eps.b);
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
	pthread_mutex_destroy(&d->emu);
	free(d);
}

/* Stops the workers (after their attempts in flight) and waits until what
 * they submitted to the store is committed. */
static void stop_threads(struct dlv *d)
{
	pthread_mutex_lock(&d->mu);
	d->stopping = true;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	for (unsigned i = 0; i < d->nworkers; i++)
		if (d->workers[i].started)
			pthread_join(d->workers[i].thread, NULL);
	store_sync(d->cfg.store);
}

/* Appends j to its correlator's queue (under d->mu). false when memory is
 * short. */
bool dlv_queue_job(struct dlv *d, struct job *j, bool resumed)
{
	struct corr *c;

	if (!(j->ep = dlv_ep_ref(d, j->ep_key)))
		return false;
	if (!(c = dlv_corr_get(d, j->key))) {
		dlv_ep_unref(d, j->ep);
		j->ep = NULL;
		return false;
	}
	if (c->tail)
		c->tail->next = j;
	else
		c->head = j;
	c->tail = j;
	c->h.queued++;
	/* something new for it: its owner is alive, keep its health */
	c->resumed = resumed;
	c->forget = false;
	if (c->state == C_IDLE) {
		dlv_ready_push(d, c);
		pthread_cond_signal(&d->cv);
	}
	return true;
}


int dlv_start(const struct dlv_config *cfg, struct dlv **out)
{
	struct dlv *d;
	pthread_condattr_t ca;
	uint64_t max = 0;

	*out = NULL;
	if (!cfg || cfg->max_attempts < 1 || cfg->backoff_ms < 0 || cfg->timeout_ms < 0 ||
	    cfg->max_age_s < 0 || cfg->circuit_failures < 0 || cfg->circuit_open_s < 0)
		return -1;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -1;
	d->cfg = *cfg;
	d->cfg.dest = NULL;         /* d->dest, which a reload may replace */
	d->dest = dest_ref(cfg->dest);
	if (d->cfg.max_age_s == 0)
		d->cfg.max_age_s = DLV_DEFAULT_MAX_AGE_S;
	d->max_age_ms = d->cfg.max_age_s > INT64_MAX / 4000 ? INT64_MAX / 4
						    : (int64_t)d->cfg.max_age_s * 1000;
	if (d->cfg.max_in_flight_per_endpoint == 0)
		d->cfg.max_in_flight_per_endpoint = DLV_DEFAULT_MAX_IN_FLIGHT;
	if (d->cfg.circuit_failures == 0)
		d->cfg.circuit_failures = DLV_DEFAULT_CIRCUIT_FAILURES;
	if (d->cfg.circuit_open_s == 0)
		d->cfg.circuit_open_s = DLV_DEFAULT_CIRCUIT_OPEN_S;
	if (d->cfg.circuit_open_s > INT64_MAX / 4000)
		d->cfg.circuit_open_s = INT64_MAX / 4000;
	d->nworkers = cfg->workers ? cfg->workers : DLV_DEFAULT_WORKERS;
	d->workers = calloc(d->nworkers, sizeof(*d->workers));
	pthread_mutex_init(&d->mu, NULL);
	pthread_mutex_init(&d->emu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (dlv_table_init(&d->corrs) != 0 || dlv_table_init(&d->eps) != 0 || !d->workers)
		goto fail;
	d->next_id = wall_us();
	if (cfg->store && store_max_delivery(cfg->store, &max) == 0 && max >= d->next_id)
		d->next_id = max + 1;
	if (cfg->store && store_outbox_max_delivery(cfg->store, &max) == 0 && max >= d->next_id)
		d->next_id = max + 1;
	/* the outbox first: new enqueues come after it (dlv is not returned yet) */
	if (cfg->store && dlv_resume_outbox(d) != 0)
		goto fail;
	for (unsigned i = 0; i < d->nworkers; i++) {
		d->workers[i].client = svc_client_new(cfg->timeout_ms, DLV_RECV_MAXLENGTH, cfg->dest,
						      cfg->dns_timeout_ms, cfg->tls);
		if (!d->workers[i].client)
			goto fail;
		d->workers[i].d = d;
	}
	for (unsigned i = 0; i < d->nworkers; i++) {
		if (pthread_create(&d->workers[i].thread, NULL, worker_main, &d->workers[i]) != 0) {
			log_error("dlv: cannot start a delivery worker");
			goto fail;
		}
		d->workers[i].started = true;
	}
	log_info("dlv: %u workers, %ld attempts, backoff %ld..%ld ms, timeout %ld ms, max age %ld s, "
		 "%u in flight per endpoint, circuit open for %ld s after %ld failures%s",
		 d->nworkers, cfg->max_attempts, cfg->backoff_ms, cfg->backoff_max_ms, cfg->timeout_ms,
		 d->cfg.max_age_s, d->cfg.max_in_flight_per_endpoint, d->cfg.circuit_open_s,
		 d->cfg.circuit_failures, cfg->store ? ", outbox and tracking in the store" : ", no store");
	*out = d;
	return 0;
fail:
	stop_threads(d);
	dlv_free(d);
	return -1;
}

int dlv_reconfigure(struct dlv *d, const struct dlv_config *cfg)
{
	const struct dest *old;

	if (!d || !cfg || cfg->max_attempts < 1 || cfg->backoff_ms < 0 || cfg->timeout_ms < 0 ||
	    cfg->circuit_failures < 0 || cfg->circuit_open_s < 0)
		return -1;
	pthread_mutex_lock(&d->mu);
	d->cfg.max_attempts = cfg->max_attempts;
	d->cfg.backoff_ms = cfg->backoff_ms;
	d->cfg.backoff_max_ms = cfg->backoff_max_ms;
	d->cfg.timeout_ms = cfg->timeout_ms;
	d->cfg.dns_timeout_ms = cfg->dns_timeout_ms;
	if (cfg->max_in_flight_per_endpoint)
		d->cfg.max_in_flight_per_endpoint = cfg->max_in_flight_per_endpoint;
	if (cfg->circuit_failures)
		d->cfg.circuit_failures = cfg->circuit_failures;
	if (cfg->circuit_open_s)
		d->cfg.circuit_open_s = cfg->circuit_open_s > INT64_MAX / 4000 ? INT64_MAX / 4000
									: cfg->circuit_open_s;
	old = d->dest;
	d->dest = dest_ref(cfg->dest);
	d->dest_gen++;
	/* a higher limit per endpoint lets parked correlators go when the
	 * endpoint's next attempt ends, as for any freed slot */
	pthread_mutex_unlock(&d->mu);
	dest_free((struct dest *)old);
	log_info("dlv: now %ld attempts, backoff %ld..%ld ms, timeout %ld ms, DNS %ld ms, "
		 "%ld in flight per endpoint, circuit open for %ld s after %ld failures",
		 cfg->max_attempts, cfg->backoff_ms, cfg->backoff_max_ms, cfg->timeout_ms,
		 cfg->dns_timeout_ms, (long)cfg->max_in_flight_per_endpoint, cfg->circuit_open_s,
		 cfg->circuit_failures);
	return 0;
}

void dlv_stop(struct dlv *d)
{
	if (!d)
		return;
	stop_threads(d);
	dlv_free(d);
}

uint64_t dlv_enqueue(struct dlv *d, const struct dlv_item *item)
{
	struct svc_callback_data c;
	const char *vars[FAULT_MAX_VARS];
	struct job *j;
	char *payload = NULL;
	uint64_t id = 0;
	bool stopping, queued;

	if (!d || !dlv_item_content(item, &c, vars) || !(j = dlv_job_new(item->endpoint, item->app, &c)))
		return 0;
	j->created_ms = store_wall_ms();
	j->deadline = dlv_mono_ms() + d->max_age_ms;
	if (d->cfg.store && !(payload = dlv_content_encode(&c))) {
		dlv_job_free(j);
		return 0;
	}
	pthread_mutex_lock(&d->emu);
	pthread_mutex_lock(&d->mu);
	stopping = d->stopping;
	if (!stopping)
		id = j->id = d->next_id++;
	pthread_mutex_unlock(&d->mu);
	if (!stopping && d->cfg.store) {
		struct store_outbox_row row = {
			.delivery = id, .app = j->app, .correlator = j->correlator, .endpoint = j->endpoint,
			.op = (int)j->op,
			.payload = payload, .attempts = 0, .created_ms = j->created_ms,
		};

		/* durable before it counts as accepted */
		if (store_outbox_add(d->cfg.store, &row) != 0)
			id = 0;
	}
	free(payload);
	if (stopping || id == 0) {
		pthread_mutex_unlock(&d->emu);
		dlv_job_free(j);
		return 0;
	}
	pthread_mutex_lock(&d->mu);
	/* stopping meanwhile: the row stays in the outbox for the next start */
	queued = !d->stopping && dlv_queue_job(d, j, false);
	stopping = d->stopping;
	pthread_mutex_unlock(&d->mu);
	if (!queued) {
		if (!stopping) {
			if (d->cfg.store)
				store_outbox_remove(d->cfg.store, id);
			id = 0;
		} else if (!d->cfg.store) {
			id = 0;
		}
		dlv_job_free(j);
	}
	pthread_mutex_unlock(&d->emu);
	return id;
}

void dlv_flush(struct dlv *d)
{
	if (d)
		store_sync(d->cfg.store);
}

/* The record of app's correlator (under d->mu); NULL when there is none
 * or memory is short. */
static struct corr *corr_find2(struct dlv *d, const char *app, const char *correlator)
{
	char *k = dlv_key_dup(app, correlator);
	struct corr *c = k ? dlv_corr_find(d, k) : NULL;

	free(k);
	return c;
}

void dlv_forget(struct dlv *d, const char *app, const char *correlator)
{
	struct corr *c;

	if (!d || !correlator)
		return;
	pthread_mutex_lock(&d->mu);
	c = corr_find2(d, app, correlator);
	if (c && !c->head && c->state == C_IDLE)
		dlv_corr_drop(d, c);
	else if (c)
		c->forget = true;
	pthread_mutex_unlock(&d->mu);
}

void dlv_keep(struct dlv *d, const char *app, const char *correlator)
{
	struct corr *c;

	if (!d || !correlator)
		return;
	pthread_mutex_lock(&d->mu);
	c = corr_find2(d, app, correlator);
	if (c)
		c->resumed = false;
	pthread_mutex_unlock(&d->mu);
}

void dlv_resumed_done(struct dlv *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->mu);
	for (size_t b = 0; b < d->corrs.nb; b++) {
		struct corr *c = (struct corr *)d->corrs.b[b], *next;

		for (; c; c = next) {
			next = (struct corr *)c->node.hnext;
			if (!c->resumed)
				continue;
			c->resumed = false;
			if (!c->head && c->state == C_IDLE)
				dlv_corr_drop(d, c);
			else
				c->forget = true;
		}
	}
	pthread_mutex_unlock(&d->mu);
}

void dlv_get_health(struct dlv *d, const char *app, const char *correlator, struct dlv_health *h)
{
	struct corr *c;

	memset(h, 0, sizeof(*h));
	if (!d || !correlator)
		return;
	pthread_mutex_lock(&d->mu);
	c = corr_find2(d, app, correlator);
	if (c)
		*h = c->h;
	pthread_mutex_unlock(&d->mu);
}

