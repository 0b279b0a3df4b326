/*
 * watch_int.h - internals shared by watch.c (fetches, the thread) and
 * watch_sub.c (long-lived subscriptions). Not for other modules.
 */
#ifndef PXTSGW_WATCH_INT_H
#define PXTSGW_WATCH_INT_H

struct watch;
struct hm;
struct watch_job;
struct pres;
#define NUA_MAGIC_T struct watch
#define NUA_HMAGIC_T struct hm

#include "watch.h"

#include <stdatomic.h>
#include <stdint.h>

#include "loop_int.h"

#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_protos.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/su_tag.h>
#include <sofia-sip/su_wait.h>

/* The first member of every nua handle magic: which kind of handle. */
enum hm_kind { HM_FETCH = 1, HM_SUB, HM_PING };
struct hm {
	enum hm_kind kind;
};

#define PRES_BUCKETS 1024

/* One fetch: a job's address. A leader sends the SUBSCRIBE and is in
 * the table of fetches in flight by URI; a fetch of the same URI that
 * starts meanwhile is its follower (no SIP request of its own) and gets a
 * copy of the leader's result. */
struct fetch {
	struct hm hm;
	struct watch_job *job;
	size_t idx;
	nua_handle_t *nh;          /* a leader's; NULL for a follower */
	bool got_final;
	bool got_notify;
	struct fetch *leader;      /* a follower's leader, NULL for a leader */
	struct fetch *followers;   /* a leader's, linked by fnext */
	struct fetch *fnext;
	struct fetch *hnext;       /* a leader's chain in the table */
};

struct watch_job_priv {
	struct loop_timer *timer;
	struct fetch **live;      /* [n]: running fetches by index */
};

struct watch {
	/* fixed after start */
	char listen_url[300];
	char proxy_url[600];
	char watcher_uri[600];
	long fetch_timeout_ms;
	long max_fetches;
	long subscribe_expires_s;
	long give_up_s;
	long keepalive_s;
	char server_uri[600];
	struct pstat_rules rules;

	struct loop *loop;        /* the SIP thread */

	/* SIP thread only */
	nua_t *nua;
	struct watch_job *jobs;   /* open jobs, oldest first (tail via prev) */
	struct watch_job *jobs_tail;
	long running;             /* fetches in flight */
	bool pumping;
	bool shutting_down;
	struct loop_timer *shutdown_timer;
	struct pres *pres[PRES_BUCKETS];  /* open subscriptions by URI */
	struct fetch *inflight[PRES_BUCKETS];  /* leading fetches by URI */
	struct pres *closing;     /* unsubscribing, waiting for the answer */
	struct hm ping_hm;        /* magic of the keepalive handle */
	nua_handle_t *ping_nh;    /* the OPTIONS in flight, or NULL */
	struct loop_timer *ping_timer;
	int server_state;         /* -1 unknown, 0 down, 1 up */

	/* any thread */
	atomic_bool ready;
	atomic_bool server_up;
	atomic_ulong st_outages;
	atomic_ulong st_started, st_ok, st_timeout, st_failed, st_jobs, st_running;
	atomic_ulong st_subs, st_subs_active, st_sub_notifies, st_sub_retries, st_sub_failures;
	atomic_ulong st_from_state, st_coalesced;
};

/* watch_sub.c */
/* The status of uri now, when a subscription to it is active (its last
 * SUBSCRIBE accepted) and has reported a status: the NOTIFYs keep it
 * exact (contract section 7), so a fetch can be answered from it. */
bool sub_status_now(struct watch *w, const char *uri, ts_status *st, int64_t *learned_ms);
/* The bucket of uri in the tables by URI (watch_sub.c's hash). */
unsigned watch_uri_bucket(const char *uri);
void sub_nua_event(struct watch *w, struct pres *p, nua_event_t event, int status,
		   const char *phrase, nua_handle_t *nh, const sip_t *sip);
void sub_shutdown(struct watch *w);
void sub_free_all(struct watch *w);
/* The presence server answers again after an outage: renew every
 * subscription now. */
void sub_server_back(struct watch *w);

/* watch.c, for watch_sub.c */
void watch_set_result(struct fetch_result *r, enum fetch_outcome o, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
enum fetch_outcome watch_outcome_of_status(int status);
void watch_map_notify(struct watch *w, const sip_t *sip, struct fetch_result *r);

#endif
