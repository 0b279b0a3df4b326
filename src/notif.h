/*
 * notif.h - the notification state machine of one correlator
 * (startNotification, contract sections 5 and 9), as pure logic: no SIP,
 * no HTTP, no clock of its own. The caller feeds it statuses and the time,
 * and pulls the callbacks it decides on.
 *
 * Semantics (contract section 5):
 * - Each address has a baseline: the status known when the notification
 *   starts. It is not notified, unless check_immediate.
 * - A change is a new mapped status different from the current one. Only
 *   changes to a status in the criteria (empty = all) are notified; a change
 *   to a status outside them updates the state silently.
 * - frequency_ms == 0: every change is sent at once. Otherwise the first
 *   change goes at once and opens a window of frequency_ms; changes inside
 *   it are held and sent together when it closes (latest status per
 *   address; an address back at the status last sent is dropped), and that
 *   sending opens the next window.
 * - count > 0: at most count callbacks (statusNotification, or
 *   statusChanged in that style: one per address) are sent; after the
 *   count-th, statusEnd follows and the notification is finished.
 * - end_ms: at that time, held changes are flushed (within count), then
 *   statusEnd, then finished.
 * - A subscription failure of an address: statusError(address, reason),
 *   then finished (no statusEnd).
 * - notif_cancel (endNotification): finished, nothing more is sent.
 */
#ifndef PXTSGW_NOTIF_H
#define PXTSGW_NOTIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fault.h"
#include "ts.h"

enum notif_style { NOTIF_STYLE_STATUS_NOTIFICATION = 0, NOTIF_STYLE_STATUS_CHANGED };

/* bit (1u << status) for each status in the criteria; 0 = all */
#define NOTIF_CRITERION(st) (1u << (unsigned)(st))

struct notif_params {
	size_t n_addresses;
	unsigned criteria;            /* NOTIF_CRITERION bits, 0 = all */
	int64_t frequency_ms;         /* 0 = no coalescing */
	int64_t end_ms;               /* absolute time when duration ends */
	long count;                   /* 0 = unlimited */
	bool check_immediate;
	enum notif_style style;
};

enum notif_action_kind {
	NA_NOTIFY,        /* statusNotification (entries) or statusChanged (1 entry) */
	NA_END,           /* statusEnd */
	NA_ERROR,         /* statusError(address index, reason) */
};

struct notif_entry {
	size_t addr;      /* index of the address */
	ts_status status;
};

struct notif_action {
	enum notif_action_kind kind;
	size_t n;                    /* NA_NOTIFY: entries used */
	struct notif_entry *entries; /* NA_NOTIFY: malloc'd, caller frees
	                                (notif_action_release) */
	size_t addr;                 /* NA_ERROR */
	struct fault reason;         /* NA_ERROR */
};

struct notif;

/* Returns NULL when out of memory or params are invalid (0 addresses). */
struct notif *notif_new(const struct notif_params *p);
void notif_free(struct notif *n);          /* NULL is fine */

/* The status an address has when the notification starts. Must be given
 * for every address before notif_start. */
void notif_baseline(struct notif *n, size_t addr, ts_status st);

/* Starts at time now: with check_immediate, queues the current status of
 * every address (those matching the criteria) as the first callback. */
void notif_start(struct notif *n, int64_t now);

/* A status for an address arrived (a NOTIFY) at time now. */
void notif_status(struct notif *n, size_t addr, ts_status st, int64_t now);

/* The subscription for addr failed for good. */
void notif_failed(struct notif *n, size_t addr, const struct fault *reason);

/* Time passes: closes frequency windows, ends at end_ms. */
void notif_tick(struct notif *n, int64_t now);

/* endNotification: finished at once, no statusEnd, no more actions. */
void notif_cancel(struct notif *n);

/* When the caller must call notif_tick next (absolute ms), or INT64_MAX. */
int64_t notif_next_wakeup(const struct notif *n);

/* Takes the oldest queued action. Returns false when there is none. */
bool notif_pop(struct notif *n, struct notif_action *a);
void notif_action_release(struct notif_action *a);

/* true once statusEnd or statusError has been queued, or after cancel:
 * nothing but the queued actions will come. */
bool notif_finished(const struct notif *n);

/* counters, for /notifications */
long notif_sent(const struct notif *n);       /* callbacks counted */
ts_status notif_current(const struct notif *n, size_t addr);
/* The status last reported for addr (or its baseline), as an int ts_status,
 * or -1 when there is none: what a restart compares new statuses with. */
int notif_reported(const struct notif *n, size_t addr);

#endif
