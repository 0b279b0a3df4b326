/*
 * dlv_int.h - for the delivery module's own files: dlv.c (API, scheduler,
 * workers), dlv_queue.c (correlators, ready queue, timers), dlv_payload.c
 * (a callback's content and its outbox payload), dlv_resume.c (the outbox
 * at start) and dlv_metrics.c. Not for other modules.
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
#define DLV_N_OPS 4

/* "statusNotification", ...: by enum dlv_op */
extern const char *const dlv_op_names[DLV_N_OPS];

struct job {
	struct job *next;
	uint64_t id;
	enum dlv_op op;
	char *endpoint;
	char *shown;                            /* endpoint with credentials as *** (logs, records) */
	char *app;                              /* the notification's application ("" anonymous) */
	char *correlator;
	char *key;                              /* its queue: dlv_key_dup(app, correlator) */
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
