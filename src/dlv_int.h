/*
 * dlv_int.h - for the delivery module's own files: dlv.c (API, scheduler,
 * workers), dlv_queue.c (correlators, ready queue, timers), dlv_payload.c
 * (a callback's content and its outbox payload), dlv_resume.c (the outbox
 * at start), dlv_endpoint.c (limits and circuits per endpoint) and
 * dlv_metrics.c. Not for other modules.
 */
#ifndef PXTSGW_DLV_INT_H
#define PXTSGW_DLV_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "dlv.h"
#include "svc_client.h"

#define DLV_DETAIL_MAX 512
#define DLV_MAX_ENTRIES 100000
#define DLV_N_OPS 7

/* "statusNotification", ...: by enum dlv_op */
extern const char *const dlv_op_names[DLV_N_OPS];

/* An entry of a dlv_table: the first member of what it names. */
struct dlv_node {
	struct dlv_node *hnext;     /* hash chain */
	char *name;                 /* malloc'd, owned by the entry */
};

/* A hash table of dlv_nodes by name (a power of two of buckets, grows). */
struct dlv_table {
	struct dlv_node **b;
	size_t nb, n;
};

struct ep;

struct job {
	struct job *next;
	uint64_t id;
	enum dlv_op op;
	char *endpoint;
	char *shown;                            /* endpoint with credentials as *** (logs, records) */
	char *app;                              /* the notification's application ("" anonymous) */
	char *correlator;
	char *key;                              /* its queue: dlv_key_dup(app, correlator) */
	char *ep_key;                           /* its endpoint: dlv_ep_key_dup(endpoint) */
	struct ep *ep;                          /* queued: its endpoint's record (a reference) */
	struct svc_callback *cb;                /* the request, prepared once */
	int attempts;                           /* made so far */
	int64_t created_ms;                     /* wall clock, when accepted */
	int64_t deadline;                       /* monotonic ms: no attempt from then on */
	bool ok;                                /* outcome of the last attempt */
	char detail[DLV_DETAIL_MAX];            /* why the last attempt failed */
};

/* IDLE no job; READY in the ready queue; WAITING in the timer list (a
 * retry's backoff, or its endpoint's circuit is open); PARKED in its
 * endpoint's list (the endpoint is at its limit of attempts in flight, or
 * its circuit's probe is in flight); BUSY a worker has its head. */
enum corr_state { C_IDLE, C_READY, C_WAITING, C_PARKED, C_BUSY };

struct corr {
	struct dlv_node node;       /* name: "<app>/<correlator>" */
	struct corr *qnext;         /* ready queue, timer list or endpoint's list */
	struct job *head, *tail;
	enum corr_state state;
	int64_t due;                /* C_WAITING: when the head may go (monotonic ms) */
	bool failing;               /* warned about a failure, no delivery since */
	bool forget;                /* free it when its queue is empty */
	bool resumed;               /* queued from the outbox at start and not
				     * yet kept (dlv_keep) or queued for again */
	struct dlv_health h;
};

enum circuit { CIRCUIT_CLOSED, CIRCUIT_OPEN, CIRCUIT_HALF_OPEN };

/* A destination (host:port): attempts in flight and the circuit. Lives
 * while a queued job refers to it, or while its circuit is open
 * (dlv_endpoint.c). */
struct ep {
	struct dlv_node node;       /* name: dlv_ep_key_dup's "host:port" */
	unsigned long refs;         /* queued jobs of this endpoint */
	unsigned in_flight;         /* attempts being made */
	enum circuit circuit;
	long failures;              /* consecutive failed attempts */
	int64_t open_until;         /* CIRCUIT_OPEN: no attempt before (monotonic ms) */
	struct corr *parked_head, *parked_tail;   /* C_PARKED correlators, FIFO */
	unsigned long attempts_failed;             /* while the record lives (/status) */
	char last_error[sizeof(((struct dlv_health *)0)->last_error)];
};

struct worker {
	struct dlv *d;
	pthread_t thread;
	struct svc_client *client;
	unsigned long dest_gen;     /* d->dest_gen its client was configured for */
	bool started;
};


struct dlv {
	/* cfg's max_attempts, backoff_ms, backoff_max_ms, timeout_ms,
	 * dns_timeout_ms, max_in_flight_per_endpoint and circuit_* may change
	 * (dlv_reconfigure): read them under mu (a worker copies what it needs
	 * for its attempt before it lets mu go); the rest is fixed at start */
	struct dlv_config cfg;
	const struct dest *dest;    /* a reference of its own (dest_ref), under mu */
	unsigned long dest_gen;     /* dest replaced this many times, under mu */
	int64_t max_age_ms;
	pthread_mutex_t emu;        /* enqueuers: id, outbox row and queue in step */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stopping;
	uint64_t next_id;
	struct dlv_table corrs;     /* struct corr by "<app>/<correlator>" */
	struct dlv_table eps;       /* struct ep by "host:port" */
	unsigned long eps_idle;     /* of them, kept with no job for an open circuit */
	struct corr *ready_head, *ready_tail;
	struct corr *timers;
	unsigned long attempts[DLV_N_OPS][2];   /* [op][delivered] */
	unsigned long results[DLV_N_OPS][2];
	unsigned long circuits_open;            /* endpoints whose circuit is not closed */
	unsigned long circuit_openings;         /* times a circuit opened */
	unsigned nworkers;
	struct worker *workers;
};

/* The monotonic clock in ms (deadlines, backoff); the wall clock is
 * store_wall_ms. */
int64_t dlv_mono_ms(void);

/* --- jobs (dlv.c) --- */
/* "<app>/<correlator>": the name of a correlator's queue (malloc'd; NULL
 * when memory is short). */
char *dlv_key_dup(const char *app, const char *correlator);
/* A job with the request of c ready-made, for application app (NULL: "").
 * NULL when c is invalid or memory is short. */
struct job *dlv_job_new(const char *endpoint, const char *app, const struct svc_callback_data *c);
void dlv_job_free(struct job *j);   /* NULL is fine */
/* Appends j to its correlator's queue (under d->mu). false when memory is
 * short. */
bool dlv_queue_job(struct dlv *d, struct job *j, bool resumed);

/* --- the name tables (dlv_queue.c) --- */
int dlv_table_init(struct dlv_table *t);        /* 0, or -1 when memory is short */
struct dlv_node *dlv_table_find(const struct dlv_table *t, const char *name);
void dlv_table_add(struct dlv_table *t, struct dlv_node *n);    /* n->name not in t yet */
void dlv_table_remove(struct dlv_table *t, struct dlv_node *n);

/* --- correlators, ready queue, timers (dlv_queue.c; all under d->mu) --- */
struct corr *dlv_corr_find(struct dlv *d, const char *name);
struct corr *dlv_corr_get(struct dlv *d, const char *name);   /* find or add; NULL: no memory */
/* Unlinks an idle correlator (not in the ready queue or the timer list,
 * no job) from the table and frees it. */
void dlv_corr_drop(struct dlv *d, struct corr *c);
void dlv_ready_push(struct dlv *d, struct corr *c);
struct corr *dlv_ready_pop(struct dlv *d);
/* Puts c in the timer list (sorted by due, FIFO among equals). Returns true
 * when it became the earliest. */
bool dlv_timer_insert(struct dlv *d, struct corr *c);
/* Moves the correlators whose backoff is over to the ready queue. */
void dlv_timers_promote(struct dlv *d, int64_t now);

/* --- endpoints: limits and circuits (dlv_endpoint.c; under d->mu) --- */
/* The destination key of an endpoint URL: "host:port" (the host in lower
 * case, the scheme's port when none is written; credentials and path do
 * not count). malloc'd; NULL when memory is short. */
char *dlv_ep_key_dup(const char *endpoint);
/* The record of key, a reference taken (NULL: memory is short). */
struct ep *dlv_ep_ref(struct dlv *d, const char *key);
/* Drops a reference; the record goes with the last one. */
void dlv_ep_unref(struct dlv *d, struct ep *e);

enum admit {
	ADMIT_LATER,        /* not now: c is parked or in the timer list */
	ADMIT_GIVE_UP,      /* its head is finished without an attempt (no slot) */
	ADMIT_ATTEMPT,      /* a slot of its endpoint is taken for an attempt */
	ADMIT_PROBE,        /* the same, as the probe of a circuit that was open */
};
/* Whether the head of c (just taken from the ready queue) may be attempted
 * now, by its endpoint's limit and circuit. */
enum admit dlv_ep_admit(struct dlv *d, struct corr *c, int64_t now);
/* After an attempt admitted with slot a (ADMIT_ATTEMPT or ADMIT_PROBE) of
 * a job of e ended (attempted: made, with outcome ok; else given up
 * before it was made): frees the slot, moves the circuit on, lets parked
 * correlators go. A log line about the circuit, if any, goes to msg (cap;
 * "" when none). */
void dlv_ep_done(struct dlv *d, struct ep *e, enum admit a, bool attempted, bool ok, int64_t now,
		 char *msg, size_t cap);

/* --- content and payload (dlv_payload.c) --- */
/* The content of an item as it is sent (pointing into the item; vars
 * holds the variables of a statusError). false when the item is invalid. */
bool dlv_item_content(const struct dlv_item *it, struct svc_callback_data *c,
		      const char *vars[FAULT_MAX_VARS]);
/* The payload of a callback's content (valid): malloc'd, or NULL when
 * memory is short. */
char *dlv_content_encode(const struct svc_callback_data *c);
/* A callback's content decoded from a payload (everything owned). */
struct dlv_decoded {
	enum dlv_op op;
	struct dlv_status *entries;     /* addresses malloc'd */
	size_t n;
	char *address, *message_id, *text;
	char *body, *bearer, *x_correlator;     /* CloudEvents */
	char **vars;
	size_t nvars;
};
/* Decodes the payload of an outbox row of operation op into *p (freed
 * with dlv_decoded_free either way). false when the payload is invalid
 * (or does not match op) or memory is short. */
bool dlv_payload_decode(int op, const char *payload, struct dlv_decoded *p);
void dlv_decoded_free(struct dlv_decoded *p);
/* The content of p as sent, for correlator. */
struct svc_callback_data dlv_decoded_content(const struct dlv_decoded *p, const char *correlator);

/* --- the outbox at start (dlv_resume.c) --- */
/* Queues every row of the outbox again, by delivery id, a batch at a
 * time; raises d->next_id above them. Returns 0, or -1. */
int dlv_resume_outbox(struct dlv *d);

#endif
