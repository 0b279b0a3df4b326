/*
 * dlv.c - delivery of callbacks with retries and tracking (contract
 * sections 5, 9 and 9a).
 *
 * Scheduling: one mutex and one condition variable (CLOCK_MONOTONIC) guard
 * everything shared. Each correlator has a FIFO of jobs and a state:
 *   IDLE     no job
 *   READY    its head may be sent now; the correlator is in the ready queue
 *   WAITING  its head failed and waits for its backoff; in the timer list
 *            (sorted by due time)
 *   BUSY     a worker is sending its head
 * A worker takes the first READY correlator, sends its head without the
 * lock, then either finishes the job (delivered, or attempts exhausted)
 * and makes the next one READY, or puts the correlator in the timer list.
 * So a correlator has at most one job in flight, its order is kept across
 * retries, and a waiting or slow correlator holds up only itself (and one
 * worker while an attempt of it is in flight). Idle workers sleep until
 * the earliest due time; a new earliest timer wakes them all to re-arm.
 *
 * Sending: one gSOAP client context per worker, kept across calls so the
 * HTTP keep-alive connection is reused (gSOAP reconnects when the endpoint's
 * host or port differs, or when the server closed the connection). The
 * request structs are built once, at enqueue, and reused by every attempt.
 * After a failed attempt the connection is closed, so a half-read answer
 * never pollutes the next call.
 *
 * Tracking: every attempt and every final result is written to the store
 * (outside the lock, before the job is finished, so a correlator's records
 * are in order) and counted for the metrics.
 *
 * Delivery ids: the first id is the current time in microseconds, or the
 * highest id in the store plus one if that is larger; then +1 per callback.
 * They stay unique across restarts (a restart takes far more microseconds
 * than ids are used) and below 2^53, so JSON consumers read them exactly.
 */
#include "dlv.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "soapH.h"

#include "log.h"
#include "store.h"

#define DLV_DEFAULT_WORKERS 4
#define DLV_DETAIL_MAX 512
#define DLV_MAX_ENTRIES 100000
#define DLV_RECV_MAXLENGTH (1024 * 1024)   /* largest answer read */
#define DLV_N_OPS 4

static const char *const op_names[DLV_N_OPS] = {
	[DLV_STATUS_NOTIFICATION] = "statusNotification",
	[DLV_STATUS_CHANGED] = "statusChanged",
	[DLV_STATUS_ERROR] = "statusError",
	[DLV_STATUS_END] = "statusEnd",
};

struct job {
	struct job *next;
	uint64_t id;
	enum dlv_op op;
	char *endpoint;
	char *correlator;
	union {
		struct tsnl__statusNotification notification;
		struct tsnl__statusChanged changed;
		struct tsnl__statusError error;
		struct tsnl__statusEnd end;
	} req;
	struct pxc__ServiceError reason;        /* statusError */
	int attempts;                           /* made so far */
	bool ok;                                /* outcome of the last attempt */
	char detail[DLV_DETAIL_MAX];            /* why the last attempt failed */
};

enum corr_state { C_IDLE, C_READY, C_WAITING, C_BUSY };

struct corr {
	struct corr *hnext;         /* hash chain */
	struct corr *qnext;         /* ready queue or timer list */
	char *name;
	struct job *head, *tail;
	enum corr_state state;
	int64_t due;                /* C_WAITING: when the head may go (monotonic ms) */
	bool failing;               /* warned about a failure, no delivery since */
	struct dlv_health h;
};

struct worker {
	struct dlv *d;
	pthread_t thread;
	struct soap *soap;
	bool started;
};

struct dlv {
	struct dlv_config cfg;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stopping;
	uint64_t next_id;
	struct corr **buckets;
	size_t nbuckets, ncorr;
	struct corr *ready_head, *ready_tail;
	struct corr *timers;
	unsigned long attempts[DLV_N_OPS][2];   /* [op][delivered] */
	unsigned long results[DLV_N_OPS][2];
	unsigned nworkers;
	struct worker *workers;
};

/* --- time ------------------------------------------------------------------ */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

static void job_free(struct job *j)
{
	if (!j)
		return;
	switch (j->op) {
	case DLV_STATUS_NOTIFICATION:
		for (int i = 0; i < j->req.notification.__sizeterminalStatus; i++)
			free(j->req.notification.terminalStatus[i].address);
		free(j->req.notification.terminalStatus);
		break;
	case DLV_STATUS_CHANGED:
		free(j->req.changed.address);
		break;
	case DLV_STATUS_ERROR:
		free(j->req.error.address);
		free(j->reason.messageId);
		free(j->reason.text);
		for (int i = 0; i < j->reason.__sizevariables; i++)
			free(j->reason.variables[i]);
		free(j->reason.variables);
		break;
	case DLV_STATUS_END:
		break;
	}
	free(j->endpoint);
	free(j->correlator);
	free(j);
}

static bool map_status(ts_status s, enum ts__Status *out)
{
	switch (s) {
	case TS_REACHABLE: *out = ts__Status__Reachable; return true;
	case TS_UNREACHABLE: *out = ts__Status__Unreachable; return true;
	case TS_BUSY: *out = ts__Status__Busy; return true;
	}
	return false;
}

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

/* Copies an item into a job holding the ready-made request. NULL when the
 * item is invalid or memory is short. */
static struct job *job_new(const struct dlv_item *it)
{
	struct job *j;
	bool ok = true;

	if (!it || !it->correlator || !it->endpoint || (unsigned)it->op >= DLV_N_OPS)
		return NULL;
	j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->op = it->op;
	j->correlator = dup_or_null(it->correlator, &ok);
	j->endpoint = dup_or_null(it->endpoint, &ok);
	switch (it->op) {
	case DLV_STATUS_NOTIFICATION: {
		struct ts__StatusInformation *si;

		if (it->n < 1 || it->n > DLV_MAX_ENTRIES || !it->entries ||
		    !(si = calloc(it->n, sizeof(*si)))) {
			ok = false;
			break;
		}
		j->req.notification.terminalStatus = si;
		j->req.notification.__sizeterminalStatus = (int)it->n;
		for (size_t i = 0; i < it->n; i++) {
			si[i].address = dup_or_null(it->entries[i].address, &ok);
			if (!si[i].address || !map_status(it->entries[i].status, &si[i].currentStatus))
				ok = false;
		}
		j->req.notification.correlator = j->correlator;
		break;
	}
	case DLV_STATUS_CHANGED:
		if (it->n != 1 || !it->entries || !it->entries[0].address ||
		    !map_status(it->entries[0].status, &j->req.changed.currentStatus)) {
			ok = false;
			break;
		}
		j->req.changed.address = dup_or_null(it->entries[0].address, &ok);
		j->req.changed.correlator = j->correlator;
		break;
	case DLV_STATUS_ERROR: {
		const struct fault *f = it->reason;

		if (!f || !fault_msgid(f->id) || f->nvars < 0 || f->nvars > FAULT_MAX_VARS) {
			ok = false;
			break;
		}
		j->reason.messageId = dup_or_null(fault_msgid(f->id), &ok);
		j->reason.text = dup_or_null(fault_template(f->id), &ok);
		if (f->nvars > 0) {
			j->reason.variables = calloc((size_t)f->nvars, sizeof(char *));
			if (!j->reason.variables) {
				ok = false;
				break;
			}
			j->reason.__sizevariables = f->nvars;
			for (int i = 0; i < f->nvars; i++)
				j->reason.variables[i] = dup_or_null(f->vars[i], &ok);
		}
		j->req.error.address = dup_or_null(it->address, &ok);
		j->req.error.reason = &j->reason;
		j->req.error.correlator = j->correlator;
		break;
	}
	case DLV_STATUS_END:
		j->req.end.correlator = j->correlator;
		break;
	}
	if (!ok) {
		job_free(j);
		return NULL;
	}
	return j;
}

/* --- correlators (hash table), ready queue, timers; all under d->mu ------- */

static size_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;   /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)h;
}

static struct corr *corr_find(struct dlv *d, const char *name)
{
	struct corr *c = d->buckets[hash_str(name) & (d->nbuckets - 1)];

	while (c && strcmp(c->name, name) != 0)
		c = c->hnext;
	return c;
}

static void corr_grow(struct dlv *d)
{
	size_t n = d->nbuckets * 2;
	struct corr **b = calloc(n, sizeof(*b));

	if (!b)
		return;   /* longer chains, still correct */
	for (size_t i = 0; i < d->nbuckets; i++) {
		struct corr *c = d->buckets[i], *next;

		for (; c; c = next) {
			size_t k = hash_str(c->name) & (n - 1);

			next = c->hnext;
			c->hnext = b[k];
			b[k] = c;
		}
	}
	free(d->buckets);
	d->buckets = b;
	d->nbuckets = n;
}

static struct corr *corr_get(struct dlv *d, const char *name)
{
	struct corr *c = corr_find(d, name);
	size_t k;

	if (c)
		return c;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->name = strdup(name))) {
		free(c);
		return NULL;
	}
	if (d->ncorr >= d->nbuckets)
		corr_grow(d);
	k = hash_str(name) & (d->nbuckets - 1);
	c->hnext = d->buckets[k];
	d->buckets[k] = c;
	d->ncorr++;
	return c;
}

static void ready_push(struct dlv *d, struct corr *c)
{
	c->state = C_READY;
	c->qnext = NULL;
	if (d->ready_tail)
		d->ready_tail->qnext = c;
	else
		d->ready_head = c;
	d->ready_tail = c;
}

static struct corr *ready_pop(struct dlv *d)
{
	struct corr *c = d->ready_head;

	if (c) {
		d->ready_head = c->qnext;
		if (!d->ready_head)
			d->ready_tail = NULL;
		c->qnext = NULL;
	}
	return c;
}

/* Puts c in the timer list (sorted by due, FIFO among equals). Returns true
 * when it became the earliest. */
static bool timer_insert(struct dlv *d, struct corr *c)
{
	struct corr **pp = &d->timers;

	c->state = C_WAITING;
	while (*pp && (*pp)->due <= c->due)
		pp = &(*pp)->qnext;
	c->qnext = *pp;
	*pp = c;
	return d->timers == c;
}

/* Moves the correlators whose backoff is over to the ready queue. */
static void timers_promote(struct dlv *d, int64_t now)
{
	while (d->timers && d->timers->due <= now) {
		struct corr *c = d->timers;

		d->timers = c->qnext;
		ready_push(d, c);
	}
}

/* --- sending --------------------------------------------------------------- */

static void set_timeout(int *field, long ms)
{
	/* gSOAP: > 0 seconds, < 0 microseconds (an int) */
	if (ms <= 0)
		*field = 0;
	else if (ms <= INT_MAX / 1000)
		*field = -(int)(ms * 1000);
	else
		*field = (int)(ms / 1000 < INT_MAX ? ms / 1000 : INT_MAX);
}

/* Appends src to the detail, blanks for control characters, cut on a UTF-8
 * character boundary. */
static void detail_add(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(dst);

	if (n >= cap)
		return;
	for (; *src && n + 1 < cap; src++)
		dst[n++] = (unsigned char)*src < 0x20 || *src == 0x7f ? ' ' : *src;
	if (*src) {
		/* cut: drop a multi-byte character left incomplete at the end */
		size_t k = n;

		while (k > 0 && ((unsigned char)dst[k - 1] & 0xc0) == 0x80)
			k--;
		if (k > 0 && (unsigned char)dst[k - 1] >= 0xc0) {
			unsigned char lead = (unsigned char)dst[k - 1];
			size_t len = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;

			if (n - (k - 1) < len)
				n = k - 1;
		}
	}
	dst[n] = '\0';
}

static bool host_lookup_failed(struct soap *soap)
{
	const char *s = soap->fault ? soap_fault_detail(soap) : NULL;

	return s && strstr(s, "host by name") != NULL;
}

/* Why an attempt failed, in the contract's words (section 9a). */
static void classify(struct soap *soap, int rc, int64_t elapsed, long timeout_ms,
		     char *out, size_t cap)
{
	int http = soap->status;
	bool has_http = http >= 100 && http < 600;
	bool fault = soap_soap_error_check(rc) && soap->fault;
	int e = soap->errnum;

	out[0] = '\0';
	if (has_http && (http < 200 || http > 299))
		snprintf(out, cap, "HTTP %d", http);
	if (fault) {
		const char **code = soap_faultcode(soap);
		const char *text = soap_fault_string(soap);

		if (out[0])
			detail_add(out, cap, ": ");
		detail_add(out, cap, code && *code ? *code : "SOAP fault");
		if (text && *text) {
			detail_add(out, cap, " ");
			detail_add(out, cap, text);
		}
	}
	if (out[0])
		return;
	if (soap_tcp_error_check(rc)) {
		const char *what = soap_fault_string(soap);

		if (e == ECONNREFUSED)
			snprintf(out, cap, "connection refused");
		else if (e == ETIMEDOUT || e == EAGAIN || e == EWOULDBLOCK || e == EINPROGRESS ||
			 (e == 0 && timeout_ms > 0 && elapsed + 5 >= timeout_ms))
			snprintf(out, cap, "timeout");
		else if (e == ECONNRESET || e == EPIPE || (e == 0 && rc == SOAP_EOF))
			snprintf(out, cap, "connection closed");
		else if (e == EHOSTUNREACH)
			snprintf(out, cap, "host unreachable");
		else if (e == ENETUNREACH)
			snprintf(out, cap, "network unreachable");
		else if (host_lookup_failed(soap))
			snprintf(out, cap, "host not found: %s", what ? what : "?");
		else if (e)
			snprintf(out, cap, "network error: %s", strerror(e));
		else
			detail_add(out, cap, what ? what : "network error");
		return;
	}
	if (soap_ssl_error_check(rc)) {
		snprintf(out, cap, "TLS error");
		if (soap->fault && soap_fault_string(soap)) {
			detail_add(out, cap, ": ");
			detail_add(out, cap, soap_fault_string(soap));
		}
		return;
	}
	snprintf(out, cap, "error %d", rc);
	if (soap->fault && soap_fault_string(soap)) {
		detail_add(out, cap, ": ");
		detail_add(out, cap, soap_fault_string(soap));
	}
}

/* One attempt of j; sets j->ok and j->detail, counts j->attempts. */
static void attempt(struct worker *w, struct job *j)
{
	struct soap *soap = w->soap;
	const struct dlv_config *cfg = &w->d->cfg;
	int64_t t0 = mono_ms();
	int rc = SOAP_OK;

	set_timeout(&soap->connect_timeout, cfg->timeout_ms);
	set_timeout(&soap->send_timeout, cfg->timeout_ms);
	set_timeout(&soap->recv_timeout, cfg->timeout_ms);
	set_timeout(&soap->transfer_timeout, cfg->timeout_ms);
	soap->status = 0;
	soap->errnum = 0;
	switch (j->op) {
	case DLV_STATUS_NOTIFICATION: {
		struct tsnl__statusNotificationResponse r;

		rc = soap_call___tsns__statusNotification(soap, j->endpoint, "", &j->req.notification, &r);
		break;
	}
	case DLV_STATUS_CHANGED: {
		struct tsnl__statusChangedResponse r;

		rc = soap_call___tsns__statusChanged(soap, j->endpoint, "", &j->req.changed, &r);
		break;
	}
	case DLV_STATUS_ERROR: {
		struct tsnl__statusErrorResponse r;

		rc = soap_call___tsns__statusError(soap, j->endpoint, "", &j->req.error, &r);
		break;
	}
	case DLV_STATUS_END: {
		struct tsnl__statusEndResponse r;

		rc = soap_call___tsns__statusEnd(soap, j->endpoint, "", &j->req.end, &r);
		break;
	}
	}
	j->attempts++;
	/* any 2xx answer without a SOAP fault counts as delivered, even an
	 * empty 202 or a body we could not read */
	j->ok = rc == SOAP_OK ||
		(soap->status >= 200 && soap->status <= 299 && !soap_soap_error_check(rc));
	j->detail[0] = '\0';
	if (!j->ok)
		classify(soap, rc, mono_ms() - t0, cfg->timeout_ms, j->detail, sizeof(j->detail));
	if (rc != SOAP_OK)
		soap_force_closesock(soap);
	soap_destroy(soap);
	soap_end(soap);
}

static void track(struct dlv *d, const struct job *j, const char *kind)
{
	char event[64];

	if (!d->cfg.store)
		return;
	snprintf(event, sizeof(event), "%s_%s", op_names[j->op], kind);
	store_track(d->cfg.store, event, j->correlator, j->id, j->attempts, j->ok, j->endpoint,
		    j->ok ? NULL : j->detail);
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

/* After an attempt of c's head j (under the lock): counts, then finishes j
 * (unlinked; the caller frees it) or schedules its retry. */
static void settle(struct dlv *d, struct corr *c, struct job *j, bool finished, struct note *nt)
{
	const char *op = op_names[j->op];
	long wait;

	nt->level = -1;
	d->attempts[j->op][j->ok]++;
	if (!j->ok) {
		c->h.attempts_failed++;
		c->h.last_error[0] = '\0';
		detail_add(c->h.last_error, sizeof(c->h.last_error), j->detail);
		/* warn once when a correlator starts failing, not per attempt */
		if (!c->failing || log_get_level() >= LOG_DEBUG)
			note_set(nt, c->failing ? LOG_DEBUG : LOG_WARN,
				 "dlv: %s for correlator %s to %s failed: %s (attempt %d of %ld)",
				 op, j->correlator, j->endpoint, j->detail, j->attempts, d->cfg.max_attempts);
		c->failing = true;
	} else if (c->failing) {
		c->failing = false;
		note_set(nt, LOG_INFO, "dlv: %s for correlator %s delivered to %s again (attempt %d)",
			 op, j->correlator, j->endpoint, j->attempts);
	}
	if (finished) {
		d->results[j->op][j->ok]++;
		if (j->ok) {
			c->h.delivered++;
		} else {
			c->h.failed++;
			note_set(nt, LOG_WARN, "dlv: %s for correlator %s to %s given up after %d attempts: %s",
				 op, j->correlator, j->endpoint, j->attempts, j->detail);
		}
		c->h.queued--;
		c->head = j->next;
		if (!c->head)
			c->tail = NULL;
		if (c->head) {
			ready_push(d, c);
			pthread_cond_signal(&d->cv);   /* an idle worker may take it */
		} else {
			c->state = C_IDLE;
		}
		return;
	}
	wait = dlv_backoff_ms(&d->cfg, j->attempts);
	c->due = mono_ms() + wait;
	if (timer_insert(d, c))
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

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct dlv *d = w->d;

	pthread_mutex_lock(&d->mu);
	while (!d->stopping) {
		struct corr *c;
		struct job *j;
		bool finished;
		struct note nt;

		timers_promote(d, mono_ms());
		c = ready_pop(d);
		if (!c) {
			wait_for_work(d);
			continue;
		}
		if (d->ready_head)   /* more than one was ready: pass the word on */
			pthread_cond_signal(&d->cv);
		c->state = C_BUSY;
		j = c->head;
		pthread_mutex_unlock(&d->mu);

		attempt(w, j);
		finished = j->ok || j->attempts >= d->cfg.max_attempts;
		track(d, j, "DeliveryAttempted");
		if (finished)
			track(d, j, "DeliveryResult");

		pthread_mutex_lock(&d->mu);
		settle(d, c, j, finished, &nt);
		pthread_mutex_unlock(&d->mu);
		/* from here j belongs to us only if finished */
		if (finished)
			job_free(j);
		if (nt.level == LOG_DEBUG)
			log_debug("%s", nt.text);
		else if (nt.level >= 0)
			log_msg((enum log_level)nt.level, "%s", nt.text);

		pthread_mutex_lock(&d->mu);
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

/* --- API ------------------------------------------------------------------ */

static void dlv_free(struct dlv *d)
{
	unsigned long dropped = 0;

	for (size_t i = 0; d->buckets && i < d->nbuckets; i++) {
		struct corr *c = d->buckets[i], *next;

		for (; c; c = next) {
			struct job *j = c->head, *jn;

			next = c->hnext;
			for (; j; j = jn) {
				jn = j->next;
				job_free(j);
				dropped++;
			}
			free(c->name);
			free(c);
		}
	}
	if (dropped)
		log_info("dlv: %lu queued callback(s) dropped at stop", dropped);
	for (unsigned i = 0; d->workers && i < d->nworkers; i++) {
		struct soap *soap = d->workers[i].soap;

		if (soap) {
			soap_destroy(soap);
			soap_end(soap);
			soap_free(soap);
		}
	}
	free(d->workers);
	free(d->buckets);
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

static void stop_workers(struct dlv *d)
{
	pthread_mutex_lock(&d->mu);
	d->stopping = true;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	for (unsigned i = 0; i < d->nworkers; i++)
		if (d->workers[i].started)
			pthread_join(d->workers[i].thread, NULL);
}

int dlv_start(const struct dlv_config *cfg, struct dlv **out)
{
	struct dlv *d;
	pthread_condattr_t ca;
	uint64_t max = 0;

	*out = NULL;
	if (!cfg || cfg->max_attempts < 1 || cfg->backoff_ms < 0 || cfg->timeout_ms < 0)
		return -1;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -1;
	d->cfg = *cfg;
	d->nworkers = cfg->workers ? cfg->workers : DLV_DEFAULT_WORKERS;
	d->nbuckets = 64;
	d->buckets = calloc(d->nbuckets, sizeof(*d->buckets));
	d->workers = calloc(d->nworkers, sizeof(*d->workers));
	pthread_mutex_init(&d->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (!d->buckets || !d->workers)
		goto fail;
	d->next_id = wall_us();
	if (cfg->store && store_max_delivery(cfg->store, &max) == 0 && max >= d->next_id)
		d->next_id = max + 1;
	for (unsigned i = 0; i < d->nworkers; i++) {
		struct soap *soap = soap_new1(SOAP_C_UTFSTRING | SOAP_IO_KEEPALIVE);

		if (!soap)
			goto fail;
		soap->socket_flags = MSG_NOSIGNAL;
		soap->recv_maxlength = DLV_RECV_MAXLENGTH;
		d->workers[i].soap = soap;
		d->workers[i].d = d;
	}
	for (unsigned i = 0; i < d->nworkers; i++) {
		if (pthread_create(&d->workers[i].thread, NULL, worker_main, &d->workers[i]) != 0) {
			log_error("dlv: cannot start a delivery worker");
			stop_workers(d);
			goto fail;
		}
		d->workers[i].started = true;
	}
	log_info("dlv: %u workers, %ld attempts, backoff %ld..%ld ms, timeout %ld ms",
		 d->nworkers, cfg->max_attempts, cfg->backoff_ms, cfg->backoff_max_ms, cfg->timeout_ms);
	*out = d;
	return 0;
fail:
	dlv_free(d);
	return -1;
}

void dlv_stop(struct dlv *d)
{
	if (!d)
		return;
	stop_workers(d);
	dlv_free(d);
}

uint64_t dlv_enqueue(struct dlv *d, const struct dlv_item *item)
{
	struct job *j;
	struct corr *c;
	uint64_t id;

	if (!d || !(j = job_new(item)))
		return 0;
	pthread_mutex_lock(&d->mu);
	if (d->stopping || !(c = corr_get(d, j->correlator))) {
		pthread_mutex_unlock(&d->mu);
		job_free(j);
		return 0;
	}
	id = j->id = d->next_id++;
	if (c->tail)
		c->tail->next = j;
	else
		c->head = j;
	c->tail = j;
	c->h.queued++;
	if (c->state == C_IDLE) {
		ready_push(d, c);
		pthread_cond_signal(&d->cv);
	}
	pthread_mutex_unlock(&d->mu);
	return id;
}

void dlv_get_health(struct dlv *d, const char *correlator, struct dlv_health *h)
{
	struct corr *c;

	memset(h, 0, sizeof(*h));
	if (!d || !correlator)
		return;
	pthread_mutex_lock(&d->mu);
	c = corr_find(d, correlator);
	if (c)
		*h = c->h;
	pthread_mutex_unlock(&d->mu);
}

/* The metrics text: whole lines only; after one that does not fit, none. */
struct out {
	char *buf;
	size_t cap, n;
	bool full;
};

static void put_line(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put_line(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (o->full)
		return;
	va_start(ap, fmt);
	k = vsnprintf(o->buf + o->n, o->cap - o->n, fmt, ap);
	va_end(ap);
	if (k >= 0 && (size_t)k < o->cap - o->n) {
		o->n += (size_t)k;
	} else {
		o->buf[o->n] = '\0';
		o->full = true;
	}
}

size_t dlv_metrics(struct dlv *d, char *buf, size_t cap)
{
	unsigned long att[DLV_N_OPS][2] = { { 0 } }, res[DLV_N_OPS][2] = { { 0 } };
	static const char *const result[2] = { "failed", "delivered" };
	struct out o = { .buf = buf, .cap = cap };

	if (!buf || cap == 0)
		return 0;
	buf[0] = '\0';
	if (d) {
		pthread_mutex_lock(&d->mu);
		memcpy(att, d->attempts, sizeof(att));
		memcpy(res, d->results, sizeof(res));
		pthread_mutex_unlock(&d->mu);
	}
	put_line(&o, "# HELP pxtsgw_delivery_attempts_total Callback delivery attempts, by operation and result.\n");
	put_line(&o, "# TYPE pxtsgw_delivery_attempts_total counter\n");
	for (int op = 0; op < DLV_N_OPS; op++)
		for (int r = 1; r >= 0; r--)
			put_line(&o, "pxtsgw_delivery_attempts_total{operation=\"%s\",result=\"%s\"} %lu\n",
				 op_names[op], result[r], att[op][r]);
	put_line(&o, "# HELP pxtsgw_deliveries_total Callbacks finished, by operation and final result.\n");
	put_line(&o, "# TYPE pxtsgw_deliveries_total counter\n");
	for (int op = 0; op < DLV_N_OPS; op++)
		for (int r = 1; r >= 0; r--)
			put_line(&o, "pxtsgw_deliveries_total{operation=\"%s\",result=\"%s\"} %lu\n",
				 op_names[op], result[r], res[op][r]);
	return o.n;
}
