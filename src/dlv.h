/*
 * dlv.h - delivery of callbacks (statusNotification, statusChanged,
 * statusError, statusEnd) to applications' endpoints, with retries and
 * tracking (contract sections 5, 9, 9a).
 *
 * DESIGN: dlv_enqueue() is called from the SIP thread and never blocks on
 * the network: it copies the item into a queue under a mutex and signals.
 * A small pool of worker threads sends with gSOAP client stubs (one
 * context per worker, HTTP keep-alive). Items of one correlator form a
 * FIFO and at most one of them is in flight, so a later callback never
 * overtakes an earlier one, including across retries. A failed attempt is
 * retried after backoff_ms * 2^(n-1) (capped), until max_attempts; the
 * waiting item blocks only its own correlator. Every attempt and every
 * final result is a tracking record (store + metrics).
 */
#ifndef PXTSGW_DLV_H
#define PXTSGW_DLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fault.h"
#include "ts.h"

struct store;

enum dlv_op { DLV_STATUS_NOTIFICATION, DLV_STATUS_CHANGED, DLV_STATUS_ERROR, DLV_STATUS_END };

struct dlv_status {
	const char *address;
	ts_status status;
};

/* One callback to send. Everything is copied by dlv_enqueue. */
struct dlv_item {
	enum dlv_op op;
	const char *correlator;
	const char *endpoint;
	/* DLV_STATUS_NOTIFICATION: n entries; DLV_STATUS_CHANGED: 1 entry */
	const struct dlv_status *entries;
	size_t n;
	/* DLV_STATUS_ERROR: address (may be NULL) and reason */
	const char *address;
	const struct fault *reason;
};

struct dlv_config {
	unsigned workers;           /* sending threads */
	long max_attempts;          /* delivery.max-attempts, first included */
	long backoff_ms;            /* delivery.backoff-ms */
	long backoff_max_ms;        /* delivery.backoff-max-ms */
	long timeout_ms;            /* delivery.timeout-ms (connect + response) */
	struct store *store;        /* tracking records; NULL = metrics only */
};

struct dlv;

int dlv_start(const struct dlv_config *cfg, struct dlv **out);
/* Stops the workers after the attempts in flight; queued items are
 * dropped (part 3 keeps them in the store's outbox). NULL is fine. */
void dlv_stop(struct dlv *d);

/* Queues a callback. From any thread; never blocks on I/O. Returns a
 * delivery id (> 0), or 0 when out of memory or stopping. */
uint64_t dlv_enqueue(struct dlv *d, const struct dlv_item *item);

/* The wait before attempt n+1 after attempt n (n >= 1) failed. */
long dlv_backoff_ms(const struct dlv_config *cfg, long n);

/* Per-correlator health, for /notifications. */
struct dlv_health {
	unsigned long delivered, failed;   /* callbacks finished */
	unsigned long attempts_failed;     /* attempts that failed */
	unsigned long queued;              /* waiting or in flight */
	char last_error[160];              /* detail of the last failed attempt, or "" */
};
void dlv_get_health(struct dlv *d, const char *correlator, struct dlv_health *h);

/* Appends the Prometheus lines for pxtsgw_delivery_attempts_total and
 * pxtsgw_deliveries_total to buf (cap). Returns the length written. */
size_t dlv_metrics(struct dlv *d, char *buf, size_t cap);

#endif
