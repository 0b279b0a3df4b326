/*
 * dlv.c - delivery of callbacks with retries and tracking (contract
 * sections 5, 9 and 9a): when to send; svc_client sends.
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
 * Sending is the SOAP glue's (svc_client.c; no gSOAP here): each worker
 * has its own client, kept across calls so the HTTP keep-alive connection
 * is reused. A job's request is prepared once (svc_callback_new, at
 * enqueue or when resumed from the outbox) and reused by every attempt;
 * svc_client_send makes one attempt and gives the detail of a failure.
 *
 * Outbox (with a store): dlv_enqueue writes the callback (payload format
 * below) to the outbox and commits it before the job is queued and its id
 * returned; a mutex (emu) keeps ids, outbox rows and queue order in step
 * when several threads enqueue. dlv_start loads the outbox by delivery id
 * and queues every row again before it returns, so new enqueues come after
 * them and each correlator keeps its order; a row's attempts continue.
 * dlv_stop leaves queued and waiting jobs in the outbox.
 *
 * Tracking and batching: after an attempt the worker appends its writes
 * (the _DeliveryAttempted record; then either the outbox row's attempts,
 * or the _DeliveryResult record and the row's deletion) to a pending list
 * (pmu). After a failed attempt it goes on (when DLV_PENDING_MAX writes
 * are pending it commits them itself: the store sets the pace); after a
 * callback's end it waits until that is committed (flush_upto), so a
 * crash repeats at most one callback per worker. The writer thread commits
 * everything pending as soon as it is there, in one transaction per up to
 * DLV_BATCH_MAX writes: while one batch commits the next accumulates
 * (group commit), so under load a transaction carries many callbacks and
 * when idle each is committed within a commit's time (well under the
 * contract's 200 ms). Flushes run one at a time (fmu) and in append order,
 * so a correlator's records stay in order. Measured (plain -O2, a C sink
 * on localhost, 2 CPUs, 5000 callbacks; callbacks/s for 1 correlator and
 * 1 worker | 8 correlators and 4 workers): no store 14k | 49k-55k; one
 * transaction per tracking record (before) 5.2k-5.7k | 5.9k-6.8k;
 * committing each finished callback before the worker goes on 3.9k-4.5k
 * | 6.2k; this writer without waiting for the end's commit 13k-18k |
 * 11k-17k. Waiting for it (a bounded repeat after a crash) costs the
 * single correlator a commit per callback: 3000 callbacks through
 * dlv_drive to a Python sink, 1 correlator and 1 worker, took 190-197 ms
 * without the wait and 600-640 ms with it (about 5k/s); 8 correlators x
 * 400 with 4 workers were bounded by the enqueues either way (1.9-2.5 s).
 *
 * Expiry: a job older than max_age_s (from when it was accepted: the
 * outbox row's created_ms) is not attempted again: when it comes to the
 * head (a retry's due time is clamped to the deadline), it is finished as
 * failed with the detail "expired after N s" and no attempt. The same
 * check applies to jobs resumed from the outbox.
 *
 * Retention: the writer thread deletes tracking records older than
 * retention_s, at start and every DLV_PRUNE_EVERY_MS, DLV_PRUNE_BATCH
 * records per store call so the store's lock is never held long.
 *
 * Delivery ids: the first id is the current time in microseconds, or the
 * highest id in the store (tracking records and outbox) plus one if that
 * is larger; then +1 per callback.
 * They stay unique across restarts (a restart takes far more microseconds
 * than ids are used) and below 2^53, so JSON consumers read them exactly.
 */
#include "dlv.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dest.h"
#include "log.h"
#include "sbuf.h"
#include "store.h"
#include "svc_client.h"

#define DLV_DEFAULT_WORKERS 4
#define DLV_DETAIL_MAX 512
#define DLV_MAX_ENTRIES 100000
#define DLV_RECV_MAXLENGTH (1024 * 1024)   /* largest answer read */
#define DLV_N_OPS 4
#define DLV_DEFAULT_MAX_AGE_S 3600
#define DLV_DEFAULT_RETENTION_S 604800
#define DLV_BATCH_MAX 512                  /* writes per transaction */
#define DLV_PENDING_MAX 8192               /* beyond, a worker commits itself */
#define DLV_PRUNE_EVERY_MS 60000
#define DLV_PRUNE_BATCH 1000               /* records deleted per store call */

static const char *const op_names[DLV_N_OPS] = {
	[DLV_STATUS_NOTIFICATION] = "statusNotification",
	[DLV_STATUS_CHANGED] = "statusChanged",
	[DLV_STATUS_ERROR] = "statusError",
	[DLV_STATUS_END] = "statusEnd",
};

enum { EV_ATTEMPTED, EV_RESULT };
static const char *const event_names[DLV_N_OPS][2] = {
	[DLV_STATUS_NOTIFICATION] = { "statusNotification_DeliveryAttempted",
				      "statusNotification_DeliveryResult" },
	[DLV_STATUS_CHANGED] = { "statusChanged_DeliveryAttempted", "statusChanged_DeliveryResult" },
	[DLV_STATUS_ERROR] = { "statusError_DeliveryAttempted", "statusError_DeliveryResult" },
	[DLV_STATUS_END] = { "statusEnd_DeliveryAttempted", "statusEnd_DeliveryResult" },
};

struct job {
	struct job *next;
	uint64_t id;
	enum dlv_op op;
	char *endpoint;
	char *shown;                            /* endpoint with credentials as *** (logs, records) */
	char *app;                              /* the notification's application ("" anonymous) */
	char *correlator;
	char *key;                              /* its queue: key_dup(app, correlator) */
	struct svc_callback *cb;                /* the request, prepared once */
	int attempts;                           /* made so far */
	int64_t created_ms;                     /* wall clock, when accepted */
	int64_t deadline;                       /* monotonic ms: no attempt from then on */
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
	bool forget;                /* free it when its queue is empty */
	bool resumed;               /* queued from the outbox at start and not
				     * yet kept (dlv_keep) or queued for again */
	struct dlv_health h;
};

struct worker {
	struct dlv *d;
	pthread_t thread;
	struct svc_client *client;
	bool started;
};

struct dlv {
	struct dlv_config cfg;
	int64_t max_age_ms;
	pthread_mutex_t emu;        /* enqueuers: id, outbox row and queue in step */
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
	/* pending store writes (pmu), committed by flush_upto (fmu) */
	pthread_mutex_t pmu, fmu;
	pthread_cond_t pcv;         /* wakes the writer thread */
	struct store_op *pv;
	size_t np, pcap;
	uint64_t pseq, fseq;        /* writes appended / committed so far */
	bool writer_stop, writer_started;
	pthread_t writer;
};

/* --- time ------------------------------------------------------------------ */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
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

static bool status_valid(ts_status s)
{
	return s == TS_REACHABLE || s == TS_UNREACHABLE || s == TS_BUSY;
}

/* The content of an item as it is sent (pointing into the item; vars
 * holds the variables of a statusError). false when the item is invalid. */
static bool item_content(const struct dlv_item *it, struct svc_callback_data *c,
			 const char *vars[FAULT_MAX_VARS])
{
	if (!it || !it->correlator || !it->endpoint || (unsigned)it->op >= DLV_N_OPS)
		return false;
	*c = (struct svc_callback_data){ .op = it->op, .correlator = it->correlator };
	switch (it->op) {
	case DLV_STATUS_NOTIFICATION:
	case DLV_STATUS_CHANGED:
		if (it->op == DLV_STATUS_NOTIFICATION ? it->n < 1 || it->n > DLV_MAX_ENTRIES : it->n != 1)
			return false;
		if (!it->entries)
			return false;
		for (size_t i = 0; i < it->n; i++)
			if (!it->entries[i].address || !status_valid(it->entries[i].status))
				return false;
		c->entries = it->entries;
		c->n = it->n;
		return true;
	case DLV_STATUS_ERROR: {
		const struct fault *f = it->reason;

		if (!f || !fault_msgid(f->id) || f->nvars < 0 || f->nvars > FAULT_MAX_VARS)
			return false;
		for (int i = 0; i < f->nvars; i++)
			vars[i] = f->vars[i];
		c->address = it->address;
		c->message_id = fault_msgid(f->id);
		c->text = fault_template(f->id);
		c->variables = vars;
		c->nvariables = (size_t)f->nvars;
		return true;
	}
	case DLV_STATUS_END:
		return true;
	}
	return false;
}

static void job_free(struct job *j)
{
	if (!j)
		return;
	svc_callback_free(j->cb);
	free(j->endpoint);
	free(j->shown);
	free(j->app);
	free(j->correlator);
	free(j->key);
	free(j);
}

/* The name of a correlator's queue and health record: correlators are
 * unique per application (contract section 11), so the key is both,
 * "<app>/<correlator>" (an application name has no '/'). malloc'd; NULL
 * when memory is short. */
static char *key_dup(const char *app, const char *correlator)
{
	char *k = NULL;

	if (asprintf(&k, "%s/%s", app ? app : "", correlator) < 0)
		return NULL;
	return k;
}

/* A job with the request of c ready-made, for application app (NULL: "").
 * NULL when c is invalid or memory is short. */
static struct job *job_new(const char *endpoint, const char *app, const struct svc_callback_data *c)
{
	struct job *j = calloc(1, sizeof(*j));
	bool ok = true;

	if (!j)
		return NULL;
	j->op = c->op;
	j->app = dup_or_null(app ? app : "", &ok);
	j->correlator = dup_or_null(c->correlator, &ok);
	if (ok && !(j->key = key_dup(app, c->correlator)))
		ok = false;
	j->endpoint = dup_or_null(endpoint, &ok);
	if (endpoint && !(j->shown = dest_redact_dup(endpoint)))
		ok = false;
	if (!ok || !(j->cb = svc_callback_new(c))) {
		job_free(j);
		return NULL;
	}
	return j;
}

/* --- payload: the outbox's copy of a job ------------------------------------ */
/*
 * Payload (the outbox's payload column): text, one field per line, each
 * line "<tag> <value>\n". Values escape '%', bytes up to 0x20 (blank and
 * control characters) and 0x7f as %XX, so a value has no blank and no
 * line break (an empty value stays empty). Lines:
 *   pxtsgw-callback 1 <operation>       always first (format version 1)
 *   s <Reachable|Unreachable|Busy> <address>
 *                                       one per entry, in order
 *                                       (statusNotification: 1 or more,
 *                                       statusChanged: exactly 1)
 *   a <address>                         statusError: the address, if any
 *   m <messageId>                       statusError: required
 *   t <text>                            statusError: required
 *   v <variable>                        statusError: one per variable
 * statusEnd has the first line only; correlator and endpoint are columns.
 */
#define DLV_PAYLOAD_MAGIC "pxtsgw-callback"
#define DLV_PAYLOAD_VERSION "1"
#define DLV_MAX_VARIABLES 64

/* largest payload of one callback in the outbox */
#define DLV_PAYLOAD_MAX (4 * 1024 * 1024)

static void buf_esc(struct sbuf *b, const char *v)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;

		if (c == '%' || c <= 0x20 || c == 0x7f) {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			sbuf_putn(b, e, 3);
		} else {
			sbuf_putn(b, v, 1);
		}
	}
}

/* "tag v1 [v2]\n"; v2 may be NULL. */
static void buf_line(struct sbuf *b, const char *tag, const char *v1, const char *v2)
{
	sbuf_putn(b, tag, strlen(tag));
	sbuf_putn(b, " ", 1);
	buf_esc(b, v1);
	if (v2) {
		sbuf_putn(b, " ", 1);
		buf_esc(b, v2);
	}
	sbuf_putn(b, "\n", 1);
}

static const char *status_word(ts_status s)
{
	switch (s) {
	case TS_REACHABLE: return "Reachable";
	case TS_UNREACHABLE: return "Unreachable";
	case TS_BUSY: return "Busy";
	}
	return "?";
}

static bool status_parse(const char *w, ts_status *out)
{
	if (strcmp(w, "Reachable") == 0)
		*out = TS_REACHABLE;
	else if (strcmp(w, "Unreachable") == 0)
		*out = TS_UNREACHABLE;
	else if (strcmp(w, "Busy") == 0)
		*out = TS_BUSY;
	else
		return false;
	return true;
}

/* The payload of a callback's content (valid): malloc'd, or NULL when
 * memory is short. */
static char *payload_encode(const struct svc_callback_data *c)
{
	struct sbuf b = SBUF_INIT(DLV_PAYLOAD_MAX);

	buf_line(&b, DLV_PAYLOAD_MAGIC, DLV_PAYLOAD_VERSION, op_names[c->op]);
	switch (c->op) {
	case DLV_STATUS_NOTIFICATION:
	case DLV_STATUS_CHANGED:
		for (size_t i = 0; i < c->n; i++)
			buf_line(&b, "s", status_word(c->entries[i].status), c->entries[i].address);
		break;
	case DLV_STATUS_ERROR:
		if (c->address)
			buf_line(&b, "a", c->address, NULL);
		buf_line(&b, "m", c->message_id ? c->message_id : "", NULL);
		buf_line(&b, "t", c->text ? c->text : "", NULL);
		for (size_t i = 0; i < c->nvariables; i++)
			buf_line(&b, "v", c->variables[i] ? c->variables[i] : "", NULL);
		break;
	case DLV_STATUS_END:
		break;
	}
	return sbuf_take(&b, NULL);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Undoes buf_esc in place; false when malformed or when it would give a
 * NUL byte. */
static bool unescape(char *v)
{
	char *w = v;

	for (; *v; v++) {
		if (*v != '%') {
			*w++ = *v;
			continue;
		}
		int hi = hexval(v[1]), lo = hi < 0 ? -1 : hexval(v[2]);

		if (lo < 0 || (hi | lo) == 0)
			return false;
		*w++ = (char)(hi << 4 | lo);
		v += 2;
	}
	*w = '\0';
	return true;
}

/* Splits "a b" at the first blank: *rest = "b" (NULL when there is no
 * blank); a is unescaped in place. false when malformed. */
static bool take_field(char *s, char **rest)
{
	char *sp = strchr(s, ' ');

	*rest = NULL;
	if (sp) {
		*sp = '\0';
		*rest = sp + 1;
	}
	return unescape(s);
}

/* A callback's content decoded from a payload (everything owned). */
struct decoded {
	enum dlv_op op;
	struct dlv_status *entries;     /* addresses malloc'd */
	size_t n;
	char *address, *message_id, *text;
	char **vars;
	size_t nvars;
};

static void decoded_free(struct decoded *p)
{
	for (size_t i = 0; i < p->n; i++)
		free((char *)p->entries[i].address);
	free(p->entries);
	free(p->address);
	free(p->message_id);
	free(p->text);
	for (size_t i = 0; i < p->nvars; i++)
		free(p->vars[i]);
	free(p->vars);
}

/* The content of p as sent, for correlator. */
static struct svc_callback_data decoded_content(const struct decoded *p, const char *correlator)
{
	return (struct svc_callback_data){
		.op = p->op, .correlator = correlator, .entries = p->entries, .n = p->n,
		.address = p->address, .message_id = p->message_id, .text = p->text,
		.variables = (const char *const *)p->vars, .nvariables = p->nvars,
	};
}

/* One line of a payload into p (op set). */
static bool payload_line(struct decoded *p, char *line)
{
	char *tag = line, *v, *v2;

	if (!take_field(tag, &v) || !v || strlen(tag) != 1)
		return false;
	switch (tag[0]) {
	case 's': {
		struct dlv_status *e;
		ts_status st;

		if (!take_field(v, &v2) || !v2 || strchr(v2, ' ') || !unescape(v2) || !status_parse(v, &st))
			return false;
		if (p->op == DLV_STATUS_NOTIFICATION ? p->n >= DLV_MAX_ENTRIES
						     : p->op != DLV_STATUS_CHANGED || p->n >= 1)
			return false;
		e = realloc(p->entries, (p->n + 1) * sizeof(*e));
		if (!e)
			return false;
		p->entries = e;
		e[p->n].status = st;
		e[p->n].address = strdup(v2);
		return e[p->n++].address != NULL;
	}
	case 'a':
	case 'm':
	case 't':
	case 'v': {
		char **slot;

		if (p->op != DLV_STATUS_ERROR || strchr(v, ' ') || !unescape(v))
			return false;
		if (tag[0] == 'a') {
			slot = &p->address;
		} else if (tag[0] == 'm') {
			slot = &p->message_id;
		} else if (tag[0] == 't') {
			slot = &p->text;
		} else {
			char **vars;

			if (p->nvars >= DLV_MAX_VARIABLES)
				return false;
			vars = realloc(p->vars, (p->nvars + 1) * sizeof(*vars));
			if (!vars)
				return false;
			p->vars = vars;
			vars[p->nvars] = strdup(v);
			return vars[p->nvars++] != NULL;
		}
		if (*slot)
			return false;   /* twice */
		return (*slot = strdup(v)) != NULL;
	}
	}
	return false;
}

/* Decodes the payload of an outbox row of operation op into *p (freed
 * with decoded_free either way). false when the payload is invalid (or
 * does not match op) or memory is short. */
static bool payload_decode(int op, const char *payload, struct decoded *p)
{
	char want[64], *text, *line, *next;
	bool ok = true;
	size_t hl;

	memset(p, 0, sizeof(*p));
	if (op < 0 || op >= DLV_N_OPS || !payload)
		return false;
	p->op = (enum dlv_op)op;
	snprintf(want, sizeof(want), "%s %s %s\n", DLV_PAYLOAD_MAGIC, DLV_PAYLOAD_VERSION, op_names[op]);
	hl = strlen(want);
	if (strncmp(payload, want, hl) != 0 || !(text = strdup(payload + hl)))
		return false;
	for (line = text; ok && *line; line = next) {
		next = strchr(line, '\n');
		if (!next) {
			ok = false;   /* every line ends with a line break */
			break;
		}
		*next++ = '\0';
		ok = payload_line(p, line);
	}
	free(text);
	switch (p->op) {
	case DLV_STATUS_NOTIFICATION:
	case DLV_STATUS_CHANGED:
		return ok && p->n > 0;
	case DLV_STATUS_ERROR:
		return ok && p->message_id && p->text;
	case DLV_STATUS_END:
		break;
	}
	return ok;
}

/* Rebuilds a job from an outbox row's columns and payload. NULL when the
 * payload is invalid (or does not match op) or memory is short. */
static struct job *job_from_payload(int op, const char *app, const char *correlator,
				    const char *endpoint, const char *payload)
{
	struct decoded p;
	struct job *j = NULL;

	if (!correlator || !endpoint)
		return NULL;
	if (payload_decode(op, payload, &p)) {
		struct svc_callback_data c = decoded_content(&p, correlator);

		j = job_new(endpoint, app, &c);
	}
	decoded_free(&p);
	return j;
}

char *dlv_payload_encode(const struct dlv_item *item)
{
	struct svc_callback_data c;
	const char *vars[FAULT_MAX_VARS];

	if (!item_content(item, &c, vars))
		return NULL;
	return payload_encode(&c);
}

char *dlv_payload_roundtrip(enum dlv_op op, const char *payload)
{
	struct decoded p;
	char *s = NULL;

	if (payload_decode((int)op, payload, &p)) {
		struct svc_callback_data c = decoded_content(&p, "c");

		s = payload_encode(&c);
	}
	decoded_free(&p);
	return s;
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

/* Unlinks an idle correlator (not in the ready queue or the timer list,
 * no job) from the table and frees it. */
static void corr_drop(struct dlv *d, struct corr *c)
{
	struct corr **pp = &d->buckets[hash_str(c->name) & (d->nbuckets - 1)];

	while (*pp && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp) {
		*pp = c->hnext;
		d->ncorr--;
	}
	free(c->name);
	free(c);
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

/* --- pending store writes, group commit --------------------------------------- */

static void op_free(struct store_op *o)
{
	if (o->kind == STORE_OP_TRACK) {
		free((char *)o->app);
		free((char *)o->correlator);
		free((char *)o->endpoint);
		free((char *)o->detail);
	}
}

/* Appends writes for the writer (TRACK strings are copied). Returns the
 * number pending; *seq is the sequence number of the last write, for
 * flush_upto. */
static size_t pend_add(struct dlv *d, const struct store_op *ops, size_t n, uint64_t *seq)
{
	size_t np;

	pthread_mutex_lock(&d->pmu);
	for (size_t i = 0; i < n; i++) {
		struct store_op o = ops[i];
		bool ok = true;

		if (d->np == d->pcap) {
			size_t nc = d->pcap ? d->pcap * 2 : 64;
			struct store_op *nv = realloc(d->pv, nc * sizeof(*nv));

			if (!nv) {
				log_error("dlv: out of memory: a tracking record or outbox update is lost");
				continue;
			}
			d->pv = nv;
			d->pcap = nc;
		}
		if (o.kind == STORE_OP_TRACK) {
			o.app = dup_or_null(o.app, &ok);
			o.correlator = dup_or_null(o.correlator, &ok);
			o.endpoint = dup_or_null(o.endpoint, &ok);
			o.detail = dup_or_null(o.detail, &ok);
			if (!ok) {
				op_free(&o);
				log_error("dlv: out of memory: a tracking record is lost");
				continue;
			}
		}
		if (d->np == 0)
			pthread_cond_signal(&d->pcv);   /* the writer may be asleep */
		d->pv[d->np++] = o;
	}
	d->pseq += n;
	*seq = d->pseq;
	np = d->np;
	pthread_mutex_unlock(&d->pmu);
	return np;
}

/* Commits every write appended up to seq (and whatever else is pending by
 * then), unless another flush did already. One flush at a time, in
 * append order. */
static void flush_upto(struct dlv *d, uint64_t seq)
{
	struct store_op *v;
	size_t n;
	uint64_t upto;

	pthread_mutex_lock(&d->fmu);
	pthread_mutex_lock(&d->pmu);
	if (d->fseq >= seq) {
		pthread_mutex_unlock(&d->pmu);
		pthread_mutex_unlock(&d->fmu);
		return;
	}
	v = d->pv;
	n = d->np;
	upto = d->pseq;
	d->pv = NULL;
	d->np = d->pcap = 0;
	pthread_mutex_unlock(&d->pmu);

	for (size_t i = 0; i < n; i += DLV_BATCH_MAX) {
		size_t k = n - i < DLV_BATCH_MAX ? n - i : DLV_BATCH_MAX;

		/* on failure (logged) the records are lost and outbox rows may
		 * stay: their callbacks are sent again after a restart */
		store_apply(d->cfg.store, v + i, k);
	}
	for (size_t i = 0; i < n; i++)
		op_free(&v[i]);
	free(v);

	pthread_mutex_lock(&d->pmu);
	d->fseq = upto;
	pthread_mutex_unlock(&d->pmu);
	pthread_mutex_unlock(&d->fmu);
}

static void flush_all(struct dlv *d)
{
	uint64_t seq;

	pthread_mutex_lock(&d->pmu);
	seq = d->pseq;
	pthread_mutex_unlock(&d->pmu);
	flush_upto(d, seq);
}

static struct store_op track_op(const struct job *j, int kind, int64_t now)
{
	return (struct store_op){
		.kind = STORE_OP_TRACK, .delivery = j->id, .attempt = j->attempts,
		.event = event_names[j->op][kind], .app = j->app, .correlator = j->correlator,
		.endpoint = j->shown,
		.detail = j->ok ? NULL : j->detail, .delivered = j->ok, .time_ms = now,
	};
}

/* Queues the store writes for j after an attempt (attempted) or after it
 * was given up without one: the records, then the outbox row's update or
 * deletion. */
static void record(struct dlv *d, const struct job *j, bool attempted, bool finished)
{
	struct store_op ops[3];
	int64_t now = wall_ms();
	size_t n = 0, np;
	uint64_t seq;

	if (!d->cfg.store)
		return;
	if (attempted)
		ops[n++] = track_op(j, EV_ATTEMPTED, now);
	if (finished) {
		ops[n++] = track_op(j, EV_RESULT, now);
		ops[n++] = (struct store_op){ .kind = STORE_OP_REMOVE, .delivery = j->id };
	} else {
		ops[n++] = (struct store_op){ .kind = STORE_OP_ATTEMPTS, .delivery = j->id,
					      .attempt = j->attempts };
	}
	np = pend_add(d, ops, n, &seq);
	if (finished) {
		/* the callback's end is committed before this worker (and the
		 * correlator) goes on: a crash repeats at most the one
		 * callback per worker that is in flight or being committed,
		 * and a repeat never follows a later callback of its
		 * correlator. The commit is shared with whatever the other
		 * workers have pending (group commit). */
		flush_upto(d, seq);
	} else if (np >= DLV_PENDING_MAX) {
		/* the store is slower than the workers: they wait for it
		 * rather than pile up memory */
		flush_all(d);
	}
}

/* --- the writer: commits pending writes, prunes old tracking records -------- */

static bool writer_stopping(struct dlv *d)
{
	bool stop;

	pthread_mutex_lock(&d->pmu);
	stop = d->writer_stop;
	pthread_mutex_unlock(&d->pmu);
	return stop;
}

static void prune(struct dlv *d)
{
	int64_t cutoff = wall_ms() - (int64_t)d->cfg.retention_s * 1000;
	long total = 0;
	int k;

	do {
		k = store_prune_tracking(d->cfg.store, cutoff, DLV_PRUNE_BATCH);
		if (k > 0)
			total += k;
		flush_all(d);   /* a long prune does not hold up new records */
	} while (k == DLV_PRUNE_BATCH && !writer_stopping(d));
	if (total > 0)
		log_info("dlv: %ld tracking record(s) older than %ld s pruned", total, d->cfg.retention_s);
}

/* Commits whatever is pending as soon as it is there: while one batch
 * commits, the next accumulates (group commit). Prunes at start and every
 * DLV_PRUNE_EVERY_MS. */
static void *writer_main(void *arg)
{
	struct dlv *d = arg;
	int64_t next_prune = mono_ms();   /* once at start */

	pthread_mutex_lock(&d->pmu);
	while (!d->writer_stop) {
		struct timespec ts;

		if (d->np > 0) {
			pthread_mutex_unlock(&d->pmu);
			flush_all(d);
			pthread_mutex_lock(&d->pmu);
			continue;
		}
		if (mono_ms() >= next_prune) {
			pthread_mutex_unlock(&d->pmu);
			prune(d);
			pthread_mutex_lock(&d->pmu);
			next_prune = mono_ms() + DLV_PRUNE_EVERY_MS;
			continue;
		}
		ts.tv_sec = (time_t)(next_prune / 1000);
		ts.tv_nsec = (long)(next_prune % 1000) * 1000000L;
		pthread_cond_timedwait(&d->pcv, &d->pmu, &ts);
	}
	pthread_mutex_unlock(&d->pmu);
	return NULL;
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
 * without one, under the lock: counts, then finishes j (unlinked; the
 * caller frees it; c may be freed too) or schedules its retry. */
static void settle(struct dlv *d, struct corr *c, struct job *j, bool attempted, bool finished,
		   struct note *nt)
{
	const char *op = op_names[j->op];
	int64_t now;
	long wait;

	nt->level = -1;
	if (attempted) {
		d->attempts[j->op][j->ok]++;
		if (!j->ok) {
			c->h.attempts_failed++;
			c->h.last_error[0] = '\0';
			svc_detail_add(c->h.last_error, sizeof(c->h.last_error), j->detail);
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
		c->head = j->next;
		if (!c->head)
			c->tail = NULL;
		if (c->head) {
			ready_push(d, c);
			pthread_cond_signal(&d->cv);   /* an idle worker may take it */
		} else {
			c->state = C_IDLE;
			if (c->forget)
				corr_drop(d, c);
		}
		return;
	}
	wait = dlv_backoff_ms(&d->cfg, j->attempts);
	now = mono_ms();
	/* no retry after the deadline: then the job is given up */
	c->due = j->deadline - now < wait ? j->deadline : now + wait;
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

/* Whether j must be given up without an attempt: 0 if not; else its detail
 * is set (and j->ok false). */
static int give_up_before(struct dlv *d, struct job *j)
{
	if (mono_ms() >= j->deadline) {
		long long age = (long long)(wall_ms() - j->created_ms) / 1000;

		j->ok = false;
		snprintf(j->detail, sizeof(j->detail), "expired after %lld s",
			 age > d->cfg.max_age_s ? age : (long long)d->cfg.max_age_s);
		return -1;
	}
	if (j->attempts >= d->cfg.max_attempts) {
		/* resumed with every attempt made (max_attempts was lowered) */
		j->ok = false;
		snprintf(j->detail, sizeof(j->detail), "no attempt left (%d made before a restart)",
			 j->attempts);
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

		attempted = give_up_before(d, j) == 0;
		if (attempted) {
			attempt(w, j);
			finished = j->ok || j->attempts >= d->cfg.max_attempts;
		} else {
			finished = true;
		}
		/* committed by the writer thread, within a commit cycle */
		record(d, j, attempted, finished);

		pthread_mutex_lock(&d->mu);
		settle(d, c, j, attempted, finished, &nt);
		pthread_mutex_unlock(&d->mu);
		/* from here j belongs to us only if finished; c may be gone */
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
	unsigned long left = 0;

	for (size_t i = 0; d->buckets && i < d->nbuckets; i++) {
		struct corr *c = d->buckets[i], *next;

		for (; c; c = next) {
			struct job *j = c->head, *jn;

			next = c->hnext;
			for (; j; j = jn) {
				jn = j->next;
				job_free(j);
				left++;
			}
			free(c->name);
			free(c);
		}
	}
	if (left && d->cfg.store)
		log_info("dlv: %lu unfinished callback(s) kept in the outbox for the next start", left);
	else if (left)
		log_info("dlv: %lu queued callback(s) dropped at stop", left);
	for (unsigned i = 0; d->workers && i < d->nworkers; i++)
		svc_client_free(d->workers[i].client);
	for (size_t i = 0; i < d->np; i++)
		op_free(&d->pv[i]);
	free(d->pv);
	free(d->workers);
	free(d->buckets);
	pthread_cond_destroy(&d->cv);
	pthread_cond_destroy(&d->pcv);
	pthread_mutex_destroy(&d->mu);
	pthread_mutex_destroy(&d->emu);
	pthread_mutex_destroy(&d->pmu);
	pthread_mutex_destroy(&d->fmu);
	free(d);
}

/* Stops the workers (after their attempts in flight), then the
 * writer thread, and commits what is pending. */
static void stop_threads(struct dlv *d)
{
	pthread_mutex_lock(&d->mu);
	d->stopping = true;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	for (unsigned i = 0; i < d->nworkers; i++)
		if (d->workers[i].started)
			pthread_join(d->workers[i].thread, NULL);
	if (d->writer_started) {
		pthread_mutex_lock(&d->pmu);
		d->writer_stop = true;
		pthread_cond_signal(&d->pcv);
		pthread_mutex_unlock(&d->pmu);
		pthread_join(d->writer, NULL);
		d->writer_started = false;
	}
	if (d->cfg.store)
		flush_all(d);
}

/* Appends j to its correlator's queue (under d->mu). false when memory is
 * short. */
static bool queue_job(struct dlv *d, struct job *j, bool resumed)
{
	struct corr *c = corr_get(d, j->key);

	if (!c)
		return false;
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
		ready_push(d, c);
		pthread_cond_signal(&d->cv);
	}
	return true;
}

/* --- resuming the outbox ---------------------------------------------------- */

struct resume {
	struct dlv *d;
	long queued, bad;
	uint64_t *bad_ids;          /* rows to delete: unreadable */
	size_t nbad, badcap;
};

/* store_outbox_load's callback (the store's lock is held: no store call). */
static void resume_row(const struct store_outbox_row *r, void *arg)
{
	struct resume *rs = arg;
	struct dlv *d = rs->d;
	struct job *j = job_from_payload(r->op, r->app, r->correlator, r->endpoint, r->payload);
	int64_t age;

	if (!j) {
		log_error("dlv: outbox row %llu (correlator %s) is unreadable; deleted",
			  (unsigned long long)r->delivery, r->correlator);
		rs->bad++;
		if (rs->nbad == rs->badcap) {
			size_t nc = rs->badcap ? rs->badcap * 2 : 16;
			uint64_t *nb = realloc(rs->bad_ids, nc * sizeof(*nb));

			if (!nb)
				return;
			rs->bad_ids = nb;
			rs->badcap = nc;
		}
		rs->bad_ids[rs->nbad++] = r->delivery;
		return;
	}
	j->id = r->delivery;
	j->attempts = r->attempts > 0 ? r->attempts : 0;
	j->created_ms = r->created_ms;
	age = wall_ms() - r->created_ms;
	j->deadline = mono_ms() + (d->max_age_ms - (age > 0 ? age : 0));
	pthread_mutex_lock(&d->mu);
	/* kept until dlv_resumed_done: the notification manager says which
	 * of them belong to running notifications (dlv_keep) */
	if (!queue_job(d, j, true)) {
		pthread_mutex_unlock(&d->mu);
		log_error("dlv: out of memory resuming outbox row %llu", (unsigned long long)r->delivery);
		job_free(j);
		return;
	}
	pthread_mutex_unlock(&d->mu);
	if (r->delivery >= d->next_id)
		d->next_id = r->delivery + 1;
	rs->queued++;
}

static int resume_outbox(struct dlv *d)
{
	struct resume rs = { .d = d };
	int n = store_outbox_load(d->cfg.store, resume_row, &rs);

	if (n < 0) {
		log_error("dlv: cannot read the outbox");
		free(rs.bad_ids);
		return -1;
	}
	for (size_t i = 0; i < rs.nbad; i++)
		store_outbox_remove(d->cfg.store, rs.bad_ids[i]);
	free(rs.bad_ids);
	if (rs.queued || rs.bad)
		log_info("dlv: %ld unfinished callback(s) resumed from the outbox%s", rs.queued,
			 rs.bad ? " (some unreadable rows deleted)" : "");
	else
		log_info("dlv: outbox empty, nothing to resume");
	return 0;
}

int dlv_start(const struct dlv_config *cfg, struct dlv **out)
{
	struct dlv *d;
	pthread_condattr_t ca;
	uint64_t max = 0;

	*out = NULL;
	if (!cfg || cfg->max_attempts < 1 || cfg->backoff_ms < 0 || cfg->timeout_ms < 0 ||
	    cfg->max_age_s < 0 || cfg->retention_s < 0)
		return -1;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -1;
	d->cfg = *cfg;
	if (d->cfg.max_age_s == 0)
		d->cfg.max_age_s = DLV_DEFAULT_MAX_AGE_S;
	if (d->cfg.retention_s == 0)
		d->cfg.retention_s = DLV_DEFAULT_RETENTION_S;
	d->max_age_ms = d->cfg.max_age_s > INT64_MAX / 4000 ? INT64_MAX / 4
						    : (int64_t)d->cfg.max_age_s * 1000;
	d->nworkers = cfg->workers ? cfg->workers : DLV_DEFAULT_WORKERS;
	d->nbuckets = 64;
	d->buckets = calloc(d->nbuckets, sizeof(*d->buckets));
	d->workers = calloc(d->nworkers, sizeof(*d->workers));
	pthread_mutex_init(&d->mu, NULL);
	pthread_mutex_init(&d->emu, NULL);
	pthread_mutex_init(&d->pmu, NULL);
	pthread_mutex_init(&d->fmu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cv, &ca);
	pthread_cond_init(&d->pcv, &ca);
	pthread_condattr_destroy(&ca);
	if (!d->buckets || !d->workers)
		goto fail;
	d->next_id = wall_us();
	if (cfg->store && store_max_delivery(cfg->store, &max) == 0 && max >= d->next_id)
		d->next_id = max + 1;
	if (cfg->store && store_outbox_max_delivery(cfg->store, &max) == 0 && max >= d->next_id)
		d->next_id = max + 1;
	/* the outbox first: new enqueues come after it (dlv is not returned yet) */
	if (cfg->store && resume_outbox(d) != 0)
		goto fail;
	for (unsigned i = 0; i < d->nworkers; i++) {
		d->workers[i].client = svc_client_new(cfg->timeout_ms, DLV_RECV_MAXLENGTH, cfg->dest,
						      cfg->dns_timeout_ms, cfg->tls);
		if (!d->workers[i].client)
			goto fail;
		d->workers[i].d = d;
	}
	if (cfg->store) {
		if (pthread_create(&d->writer, NULL, writer_main, d) != 0) {
			log_error("dlv: cannot start the delivery writer thread");
			goto fail;
		}
		d->writer_started = true;
	}
	for (unsigned i = 0; i < d->nworkers; i++) {
		if (pthread_create(&d->workers[i].thread, NULL, worker_main, &d->workers[i]) != 0) {
			log_error("dlv: cannot start a delivery worker");
			goto fail;
		}
		d->workers[i].started = true;
	}
	log_info("dlv: %u workers, %ld attempts, backoff %ld..%ld ms, timeout %ld ms, max age %ld s%s",
		 d->nworkers, cfg->max_attempts, cfg->backoff_ms, cfg->backoff_max_ms, cfg->timeout_ms,
		 d->cfg.max_age_s, cfg->store ? ", outbox and tracking in the store" : ", no store");
	*out = d;
	return 0;
fail:
	stop_threads(d);
	dlv_free(d);
	return -1;
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

	if (!d || !item_content(item, &c, vars) || !(j = job_new(item->endpoint, item->app, &c)))
		return 0;
	j->created_ms = wall_ms();
	j->deadline = mono_ms() + d->max_age_ms;
	if (d->cfg.store && !(payload = payload_encode(&c))) {
		job_free(j);
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
		job_free(j);
		return 0;
	}
	pthread_mutex_lock(&d->mu);
	/* stopping meanwhile: the row stays in the outbox for the next start */
	queued = !d->stopping && queue_job(d, j, false);
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
		job_free(j);
	}
	pthread_mutex_unlock(&d->emu);
	return id;
}

void dlv_flush(struct dlv *d)
{
	if (d && d->cfg.store)
		flush_all(d);
}

/* The record of app's correlator (under d->mu); NULL when there is none
 * or memory is short. */
static struct corr *corr_find2(struct dlv *d, const char *app, const char *correlator)
{
	char *k = key_dup(app, correlator);
	struct corr *c = k ? corr_find(d, k) : NULL;

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
		corr_drop(d, c);
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
	for (size_t b = 0; b < d->nbuckets; b++) {
		struct corr *c = d->buckets[b], *next;

		for (; c; c = next) {
			next = c->hnext;
			if (!c->resumed)
				continue;
			c->resumed = false;
			if (!c->head && c->state == C_IDLE)
				corr_drop(d, c);
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

