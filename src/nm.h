/*
 * nm.h - the notification manager: startNotification / endNotification,
 * the notifications that are running, and the link between presence
 * subscriptions (watch_sub), the per-correlator state machine (notif) and
 * callback delivery (dlv).
 *
 * Threads: nm_prepare() is pure and runs on the HTTP thread (request checks
 * and policies). Everything else about a notification happens on the SIP
 * thread, which owns the notifications without a lock: nm_start_async() /
 * nm_end_async() post there and call done(arg) from there when the answer
 * is known. From other threads: nm_list_json() (a snapshot the SIP thread
 * copies, rendered on the caller's thread), nm_active() and nm_get_stats()
 * (atomics).
 */
#ifndef PXTSGW_NM_H
#define PXTSGW_NM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fault.h"
#include "group.h"
#include "notif.h"
#include "ts.h"

struct watch;
struct dlv;
struct dest;

/* Policies of contract section 8 that startNotification checks. */
struct nm_policy {
	size_t max_addresses;           /* policy.max-notification-addresses */
	int64_t default_duration_ms;    /* policy.default-notification-duration-s */
	int64_t max_duration_ms;        /* policy.max-notification-duration-s */
	int64_t min_interval_ms;        /* policy.min-notification-interval-ms */
	long max_count;                 /* policy.max-notification-count */
	bool unlimited_count_allowed;   /* policy.unlimited-count-allowed */
	struct group_policy groups;     /* group support and nesting */
	/* callback destinations (contract section 11), nm_check_endpoint */
	const struct dest *dest;        /* delivery.allowed-endpoints (NULL: none) */
	long dns_timeout_ms;            /* delivery.dns-timeout-ms (0: 2000) */
};

/* Parlay X TimeMetrics, in the order of the common types. */
enum nm_metric { NM_MS, NM_SECOND, NM_MINUTE, NM_HOUR, NM_DAY, NM_WEEK, NM_MONTH, NM_YEAR };

struct nm_time {
	bool present;
	enum nm_metric metric;
	long units;
};

/* A startNotification request as the client sent it (borrowed strings). */
struct nm_request {
	const char *app;            /* the application asking (NULL or "": anonymous) */
	const char *endpoint;
	const char *interface_name;
	const char *correlator;
	const char *const *addresses;
	size_t n_addresses;
	const ts_status *criteria;
	size_t n_criteria;
	bool check_immediate;
	struct nm_time frequency;
	struct nm_time duration;
	bool has_count;
	long count;
};

/* A checked request, ready for the SIP thread. Owns its memory. */
struct nm_start;

/* Checks a request against the contract and the policies, expands groups
 * and maps addresses. Returns the start object, or NULL with *f set. */
struct nm_start *nm_prepare(const struct nm_request *req, const struct nm_policy *pol,
			    const struct group_set *groups, const char *tel_domain,
			    enum notif_style style, struct fault *f);
void nm_start_free(struct nm_start *s);   /* NULL is fine */
/* The request id its subscriptions log with (copied, cut; NULL is ""). */
void nm_start_set_log(struct nm_start *s, const char *req);

/* The callback destination check of contract section 11 for a prepared
 * start: its endpoint's host is resolved and every address must be
 * allowed (pol->dest). Returns 0, or -1 with POL0001 "callback endpoint
 * not allowed: <host as written>" for a refused endpoint or one whose
 * host does not resolve within pol->dns_timeout_ms. A host name blocks the
 * calling thread up to that long: call it on the HTTP thread, after
 * nm_prepare and before nm_start_async, never on the SIP thread. */
int nm_check_endpoint(const struct nm_start *s, const struct nm_policy *pol, struct fault *f);

/* For tests: what nm_prepare decided. */
const struct notif_params *nm_start_params(const struct nm_start *s);
int64_t nm_start_duration_ms(const struct nm_start *s);
size_t nm_start_count(const struct nm_start *s);
const char *nm_start_address(const struct nm_start *s, size_t i);
const char *nm_start_sip_uri(const struct nm_start *s, size_t i);

/* Converts a TimeMetric to milliseconds (Month = 30 days, Year = 365 days).
 * Returns -1 for negative units or an unknown metric, INT64_MAX when the
 * value does not fit. */
int64_t nm_time_ms(const struct nm_time *t);

struct store;

struct nm_config {
	struct watch *watch;
	struct dlv *dlv;
	struct store *store;        /* running notifications survive restarts (NULL: not) */
	long start_timeout_ms;      /* wait for the first NOTIFY of each address */
	/* quotas (contract sections 8 and 11; 0: no limit): notifications
	 * running or starting, of all applications / of one */
	long max_notifications;     /* policy.max-notifications */
	long max_per_app;           /* policy.max-notifications-per-app */
	long max_subscriptions;     /* policy.max-presence-subscriptions */
};

struct nm;

struct nm *nm_new(const struct nm_config *cfg);
/* Changes the quotas of nm_config (a reload): startNotifications from now
 * on are checked against them; running notifications are never ended by
 * a lower quota. Any thread. */
void nm_set_quotas(struct nm *nm, long max_notifications, long max_per_app, long max_subscriptions);
/* Brings back the notifications saved in the store (after a restart or a
 * crash): those whose duration ran out meanwhile get statusEnd; the others
 * are subscribed again, and a status that differs from the one last
 * reported is notified. Posts to the SIP thread and waits. Returns the
 * number restored, or -1. */
int nm_restore(struct nm *nm);

/* Ends every notification (no callbacks) and releases the subscriptions;
 * they stay in the store and nm_restore brings them back at the next start.
 * Posts to the SIP thread and waits. Call before watch_stop. */
void nm_shutdown(struct nm *nm);
void nm_free(struct nm *nm);    /* after nm_shutdown; NULL is fine */

typedef void (nm_done_h)(void *arg);

/* Runs the start on the SIP thread. When done(arg) has run, nm_start_result
 * tells the outcome; the nm_start stays the caller's (free it after).
 * Returns -1 if the SIP thread is not running (done is not called). */
int nm_start_async(struct nm *nm, struct nm_start *s, nm_done_h *done, void *arg);
/* 0 when the notification runs, or -1 with *f (SVC0005 duplicate correlator,
 * POL0001 "too many notifications" over a quota, the getStatus fault of a
 * refused subscription, SVC0001). */
int nm_start_result(const struct nm_start *s, struct fault *f);

struct nm_end;
/* Ends the notification that application app (NULL or "": the anonymous
 * one) started with correlator: another application's is not found. */
struct nm_end *nm_end_new(const char *app, const char *correlator);
void nm_end_free(struct nm_end *e);
int nm_end_async(struct nm *nm, struct nm_end *e, nm_done_h *done, void *arg);
/* 0 when it was ended, or -1 with *f (SVC0002 unknown correlator). */
int nm_end_result(const struct nm_end *e, struct fault *f);

/* JSON array of the running notifications of application app (NULL: of
 * every application; "" is the anonymous one): correlator, endpoint,
 * addresses with their current status, counters, deadline and delivery
 * health, and the application first when with_app. malloc'd; NULL when out
 * of memory. */
char *nm_list_json(struct nm *nm, const char *app, bool with_app, size_t *len);
/* One running notification, for /status. */
struct nm_row {
	char app[128];                 /* its application ("" the anonymous one) */
	char correlator[256];
	char endpoint[2048];           /* credentials as *** */
	size_t addresses;
	long notifications_sent;
	unsigned long delivered, failed, queued;   /* callbacks (dlv_get_health) */
};
/* The newest max running notifications of every application into out
 * (newest first): the Parlay X ones, or with camara the CAMARA
 * subscriptions; *n of them, of *total running of that kind. Posts a short
 * copy to the SIP thread and waits for it. Returns 0, or -1 (nothing
 * copied) when the SIP thread takes no message. */
int nm_rows(struct nm *nm, bool camara, struct nm_row *out, size_t max, size_t *n,
	    size_t *total);
/* Notifications running now (not those starting). Any thread. */
size_t nm_active(struct nm *nm);

/* Callbacks the outbox refused (each held and tried again, in order), and
 * notifications ended because HELD_MAX of them were refused in a row. */
struct nm_stats {
	unsigned long enqueue_failures;
	unsigned long ended_unstored;
};
void nm_get_stats(struct nm *nm, struct nm_stats *st);

#endif
