/*
 * nm_int.h - internals of the notification manager, not for other
 * modules: the request objects of nmreq.c (checks, HTTP thread), and the
 * notifications that nm.c runs, nm_store.c saves and restores and
 * nm_list.c lists (SIP thread).
 */
#ifndef PXTSGW_NM_INT_H
#define PXTSGW_NM_INT_H

#include <stdatomic.h>
#include <time.h>

#include "held.h"
#include "log.h"
#include "nm.h"

#define CORRELATOR_MAX 256
#define ENDPOINT_MAX 2048
#define SIP_URI_MAX (TS_ADDR_MAX + 64)

struct nm_start {
	char *app;                 /* the owner: "" = the anonymous application */
	char *correlator;
	char *endpoint;
	char *interface_name;
	size_t n;
	char **addresses;          /* as written */
	char **sip_uris;
	struct notif_params params;
	int64_t duration_ms;
	char log_req[LOG_REQ_MAX + 1];   /* the request's id, for the log */
	struct csub *cam;          /* a CAMARA subscription's data; NULL: Parlay X */
	/* result, set on the SIP thread */
	bool failed;
	struct fault fault;
	/* SIP thread */
	struct nm *nm;
	nm_done_h *done;
	void *done_arg;
};

struct nm_end {
	char *app;
	char *correlator;
	bool failed;
	struct fault fault;
	struct nm *nm;
	nm_done_h *done;
	void *done_arg;
};

/* --- running notifications (SIP thread only) --------------------------------- */

struct nmn;
struct watch_sub;
struct loop_timer;

struct nm_addr {
	struct nmn *n;
	size_t idx;
	struct watch_sub *sub;     /* NULL: a restored one that could not subscribe */
	bool known;
};

/* One notification, starting or running. */
struct nmn {
	struct nm *nm;
	struct nm_start *start;    /* while starting: the request (not owned) */
	char *app;                 /* the owner ("" the anonymous application) */
	char *correlator;
	char *endpoint;
	size_t naddr;
	char **addresses;
	struct nm_addr *addrs;
	size_t known;
	struct notif *notif;       /* once running */
	struct held held;          /* callbacks the outbox did not take yet */
	struct loop_timer *timer;
	int64_t end_mono;          /* monotonic ms */
	time_t end_wall;           /* for display */
	long dlv_enqueued;
	long sent_base;            /* callbacks counted before a restart */
	enum notif_style style;
	struct csub *cam;          /* a CAMARA subscription's data (owned); NULL: Parlay X */
	bool restored;             /* brought back from the store */
	bool running;
	bool removing;
	struct nmn *next, *prev;   /* nm->list */
	struct nmn *hnext;         /* nm's index by (app, correlator) */
	unsigned hash;
};

#define NM_APP_BUCKETS 256

/* An application's count of notifications linked (quotas). */
struct nm_app {
	struct nm_app *next;
	long n;
	char name[];
};

struct nm {
	struct nm_config cfg;
	struct loop *loop;         /* the SIP thread's */
	struct nmn *list;          /* running and starting: SIP thread only */
	/* SIP thread only: the index of list by (app, correlator), and the
	 * notifications linked per application (quotas) */
	struct nmn **index;
	size_t nindex, nlinked;
	struct nm_app *apps[NM_APP_BUCKETS];
	/* read by any thread */
	atomic_size_t nrunning;
	/* quotas (nm_set_quotas: a reload); cfg's are the values at start */
	atomic_long max_notifications, max_per_app, max_subscriptions;
	/* callbacks dlv_enqueue refused (held and tried again), notifications
	 * ended because their held callbacks overflowed */
	atomic_ulong enqueue_failures, ended_unstored;
};

/* nm.c */
/* A notification of naddr addresses (copied), not linked, no sub open,
 * its timer made; NULL when out of memory. */
struct nmn *nmn_new(struct nm *nm, const char *app, const char *correlator, const char *endpoint,
		    size_t naddr, char *const *addresses);
void nmn_free(struct nmn *n);              /* closes its subs; NULL is fine */
/* Links n in the registry, as running (counted) or starting. */
void nm_link(struct nmn *n, bool running);
/* Opens the sub of address i of n (watch_sub_open with nm's handler):
 * the sub, or NULL when it cannot be opened. */
struct watch_sub *nm_open_sub(struct nmn *n, size_t i, const char *sip_uri);
/* Sends what notif decided, re-arms the timer, removes a finished one (n
 * may be gone afterwards). */
void nm_pump(struct nmn *n);

/* The notification of app with correlator (not one being removed), or NULL. */
struct nmn *nm_find(struct nm *nm, const char *app, const char *correlator);
/* Ends n for good (store, delivery health) and frees it. */
void nm_remove(struct nmn *n);
/* The status n's state machine sees: a subscription's Busy is Reachable. */
ts_status nm_status_of(const struct nmn *n, ts_status st);

/* Ends subscription n (n->cam) from outside with reason (enum
 * csub_reason): subscription-ended is queued and n removed (at once, or
 * once what the outbox refused is queued). */
void nm_end_subscription(struct nmn *n, int reason);

/* nmreq.c: an absolute http or https URL with a host (and a valid port) */
bool nm_endpoint_ok(const char *endpoint);

/* camara_sub.c: the CloudEvent of a subscription's action a (NA_NOTIFY:
 * its type's event; NA_END, NA_ERROR: subscription-ended with its
 * reason) as a dlv_item; *body is the JSON it points to (malloc'd, the
 * caller frees it after the enqueue). false when memory is short. */
struct dlv_item;
bool csub_item(const struct nmn *n, const struct notif_action *a, struct dlv_item *it, char **body);

/* nm_store.c: nothing when the manager has no store */
int nm_save_new(const struct nmn *n, const struct nm_start *s);
void nm_save_progress(const struct nmn *n);

#endif
