/*
 * dlv.h - delivery of callbacks (statusNotification, statusChanged,
 * statusError, statusEnd) to applications' endpoints, with retries and
 * tracking (contract sections 5, 9, 9a).
 *
 * DESIGN: dlv_enqueue() is called from the SIP thread and never blocks on
 * the network: it copies the item into a queue under a mutex and signals.
 * With a store it first writes the callback to the store's outbox and
 * commits it (one small SQLite transaction, no network), so a callback
 * that got an id survives a crash. A small pool of worker threads sends
 * through svc_client, the SOAP glue's client side (one gSOAP context per
 * worker, HTTP keep-alive). Items of one correlator form a FIFO and at
 * most one of them is in flight, so a later callback never overtakes an
 * earlier one, including across retries and restarts. A failed attempt
 * is retried after backoff_ms * 2^(n-1) (capped), until max_attempts or
 * max_age_s; the waiting item blocks only its own correlator. Per
 * destination (host:port) at most max_in_flight_per_endpoint attempts are
 * in flight, and a circuit opens after circuit_failures consecutive failed
 * attempts: no attempt for circuit_open_s, then one probe. A correlator
 * held back by its endpoint waits (in order, still expiring by max_age_s)
 * while the workers send other endpoints' callbacks. Every attempt made
 * and every final result is a tracking record (store + metrics); an
 * attempt not made is none.
 * The records and outbox updates are submitted to the store's writer
 * thread, which commits them in groups (a finished callback's row is
 * deleted in the same transaction as its records). dlv_start sends again
 * whatever the outbox holds (at-least-once: a callback is sent twice only
 * when the process died while it was in flight or before its end was
 * committed). Pruning old tracking records is the store's.
 */
#ifndef PXTSGW_DLV_H
#define PXTSGW_DLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "callback.h"
#include "fault.h"

struct store;
struct dest;

/* One callback to send. Everything is copied by dlv_enqueue. */
struct dlv_item {
	enum dlv_op op;
	const char *app;            /* the notification's application (NULL: "",
				     * the anonymous one): with correlator, the
				     * queue it keeps its order in */
	const char *correlator;
	const char *endpoint;
	/* DLV_STATUS_NOTIFICATION: n entries; DLV_STATUS_CHANGED: 1 entry */
	const struct dlv_status *entries;
	size_t n;
	/* DLV_STATUS_ERROR: address (may be NULL) and reason */
	const char *address;
	const struct fault *reason;
	/* DLV_CE_*: the CloudEvent (JSON, required), the sink's bearer token
	 * and the x-correlator of the request that caused it (both may be
	 * NULL) */
	const char *body;
	const char *bearer;
	const char *x_correlator;
};

struct svc_tls;

struct dlv_config {
	unsigned workers;           /* sending threads */
	long max_attempts;          /* delivery.max-attempts, first included */
	long backoff_ms;            /* delivery.backoff-ms */
	long backoff_max_ms;        /* delivery.backoff-max-ms */
	long timeout_ms;            /* delivery.timeout-ms (connect + response) */
	long max_age_s;             /* delivery.max-age-s: no attempt after that
				     * age; 0 = the default, 3600 */
	unsigned resume_batch;      /* outbox rows read per batch at start
				     * (0: 1000) */
	struct store *store;        /* outbox and tracking records; NULL = metrics only */
	const struct dest *dest;    /* delivery.allowed-endpoints, checked at every
				     * connect (NULL: the default refusals only) */
	long dns_timeout_ms;        /* delivery.dns-timeout-ms (0: 2000) */
	const struct svc_tls *tls;  /* delivery.ca-file: the trust for https
				     * endpoints, outlives dlv (NULL: https fails) */
	unsigned max_in_flight_per_endpoint;   /* delivery.max-in-flight-per-endpoint
						* (0: 2) */
	long circuit_failures;      /* delivery.circuit-failures: consecutive failed
				     * attempts that open an endpoint's circuit (0: 5) */
	long circuit_open_s;        /* delivery.circuit-open-s: no attempt to it for
				     * that long, then a probe (0: 30) */
};

struct dlv;

/* Starts the workers. With a store, first queues again every callback of
 * the outbox (by delivery id, a batch at a time, so each correlator keeps
 * its order; the attempts made continue), before any new enqueue; new ids continue above
 * the highest one in the outbox and the tracking records. */
int dlv_start(const struct dlv_config *cfg, struct dlv **out);
/* Stops the workers after the attempts in flight and commits what is
 * pending. Callbacks still queued or waiting for a retry stay in the
 * outbox, without a _DeliveryResult: the next dlv_start sends them (without
 * a store they are dropped). NULL is fine. */
void dlv_stop(struct dlv *d);
/* A reload: from now on dlv uses cfg's max_attempts, backoff_ms,
 * backoff_max_ms, timeout_ms, dns_timeout_ms, dest (dlv takes a reference
 * of its own), and max_in_flight_per_endpoint, circuit_failures and
 * circuit_open_s (0: unchanged); the other fields of cfg are ignored
 * (workers, max_age_s, store, tls need a restart). Nothing queued is
 * dropped: a callback waiting for its retry keeps the time it was given;
 * one that already made the new max_attempts is given up before its next
 * attempt. The attempts in flight finish with the old settings; a
 * kept-alive connection is closed before its next use when the list of
 * destinations changed. Any thread. Returns 0, or -1 (nothing changed)
 * for a value out of range. */
int dlv_reconfigure(struct dlv *d, const struct dlv_config *cfg);

/* Queues a callback. From any thread; never blocks on the network. With a
 * store the callback is committed to the outbox before this returns.
 * Returns a delivery id (> 0), or 0 when the item is invalid, memory is
 * short, the outbox write failed or dlv is stopping. */
uint64_t dlv_enqueue(struct dlv *d, const struct dlv_item *item);

/* Returns when the tracking records and outbox updates submitted so far
 * are committed (the store's writer commits them within milliseconds
 * anyway); for tests and tools. NULL is fine. */
void dlv_flush(struct dlv *d);

/* Frees the health record of a correlator (dlv_get_health), now when
 * nothing of it is queued, else as soon as its queue is empty; a later
 * enqueue for it cancels that. The notification manager calls it when a
 * notification ends. */
void dlv_forget(struct dlv *d, const char *app, const char *correlator);

/* Correlators resumed from the outbox by dlv_start keep their health
 * record (what was delivered since the start counts for /notifications)
 * until dlv_resumed_done: then those that nobody kept, by dlv_keep or by
 * a new enqueue, are forgotten as by dlv_forget. The notification manager
 * keeps the correlators of the notifications it restores; main calls
 * dlv_resumed_done once they are restored. NULL is fine. */
void dlv_keep(struct dlv *d, const char *app, const char *correlator);
void dlv_resumed_done(struct dlv *d);

/* The outbox payload of an item: malloc'd text, NULL when the item is
 * invalid or memory is short. Format (dlv.c): a first line
 * "pxtsgw-callback 1 <operation>", then one line per field. */
char *dlv_payload_encode(const struct dlv_item *item);
/* For tests: decodes a payload of operation op as dlv_start does, and
 * encodes the result again (malloc'd; NULL when the payload is invalid). */
char *dlv_payload_roundtrip(enum dlv_op op, const char *payload);

/* The wait before attempt n+1 after attempt n (n >= 1) failed. */
long dlv_backoff_ms(const struct dlv_config *cfg, long n);

/* Per-correlator health (of app's correlator; NULL app: ""), for
 * /notifications. */
struct dlv_health {
	unsigned long delivered, failed;   /* callbacks finished */
	unsigned long attempts_failed;     /* attempts that failed */
	unsigned long queued;              /* waiting or in flight */
	char last_error[160];              /* detail of the last failed attempt, or "" */
};
void dlv_get_health(struct dlv *d, const char *app, const char *correlator, struct dlv_health *h);

/* One destination's delivery health, for /status: an endpoint is its
 * "host:port" (credentials and path do not count); its record lives while
 * a callback for it is queued or its circuit is open. */
struct dlv_endpoint_view {
	char endpoint[300];                /* "host:port" */
	unsigned in_flight;                /* attempts being made */
	unsigned long queued;              /* callbacks queued for it (in flight included) */
	unsigned long attempts_failed;     /* failed attempts while its record lived */
	long consecutive_failures;
	const char *circuit;               /* "closed", "open", "half-open" (static) */
	long open_for_s;                   /* "open": seconds until its probe */
	char last_error[160];              /* detail of the last failed attempt, or "" */
};
/* Copies at most max endpoints (in no particular order) into out and sets
 * *total to how many there are. Under dlv's lock, a short copy. Returns
 * the number copied. NULL d: 0. */
size_t dlv_endpoints(struct dlv *d, struct dlv_endpoint_view *out, size_t max, size_t *total);

/* Appends the Prometheus lines for pxtsgw_delivery_attempts_total,
 * pxtsgw_deliveries_total, pxtsgw_delivery_circuit_open (endpoints whose
 * circuit is open or probing) and pxtsgw_delivery_circuit_openings_total
 * to buf (cap). Returns the length written. */
size_t dlv_metrics(struct dlv *d, char *buf, size_t cap);

#endif
