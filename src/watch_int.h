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
#define NTA_AGENT_MAGIC_T struct watch
#define NTA_OUTGOING_MAGIC_T struct hm

#include "watch.h"

#include <stdatomic.h>
#include <stdint.h>

#include "hist.h"
#include "pview.h"
#include "loop_int.h"

#include <sofia-sip/nta.h>
#include <sofia-sip/nta_stateless.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/su_tag.h>
#include <sofia-sip/su_wait.h>

#define WATCH_CALLID_LEN 25       /* 24 hex digits */
#define WATCH_TAG_LEN 13          /* 12 hex digits */

/* The first member of every fetch and subscription: which kind, and its
 * SIP identity. Fetches and subscriptions are in the Call-ID table while
 * a NOTIFY may come for them (watch_sip.c). */
enum hm_kind { HM_FETCH = 1, HM_SUB, HM_PING };
struct hm {
	enum hm_kind kind;
	bool in_table;
	struct hm *cnext;                  /* chain in the Call-ID table */
	char callid[WATCH_CALLID_LEN];
	char ltag[WATCH_TAG_LEN];          /* our From tag */
};

#define PRES_BUCKETS 16384
#define CALLID_BUCKETS 16384
/* initial SUBSCRIBEs of subscriptions in flight at once (recovery) */
#define SUB_WINDOW 128

/* One fetch: a job's address. A leader sends the SUBSCRIBE and is in
 * the table of fetches in flight by URI; a fetch of the same URI that
 * starts meanwhile is its follower (no SIP request of its own) and gets a
 * copy of the leader's result. */
struct fetch {
	struct hm hm;
	struct watch_job *job;
	size_t idx;
	nta_outgoing_t *orq;       /* a leader's SUBSCRIBE until its final answer */
	bool got_final;
	bool got_notify;
	struct fetch *leader;      /* a follower's leader, NULL for a leader */
	struct fetch *followers;   /* a leader's, linked by fnext */
	struct fetch *fnext;
	struct fetch *hnext;       /* a leader's chain in the table */
	int64_t started_us;        /* a leader's SUBSCRIBE sent (hist_now_us) */
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
	nta_agent_t *agent;
	char contact[400];        /* Contact of our requests */
	uint64_t rng;             /* Call-IDs and tags */
	struct hm *callids[CALLID_BUCKETS];
	long sub_inflight;        /* subscription SUBSCRIBEs awaiting their answer */
	struct pres *sub_queue, *sub_queue_tail;  /* waiting for room (pacing) */
	struct loop_timer *sub_pump_timer;
	bool pump_pending;        /* sub_pump_timer set */
	long shutdown_pending;    /* un-SUBSCRIBEs at shutdown not answered yet */
	struct watch_job *jobs;   /* open jobs, oldest first (tail via prev) */
	struct watch_job *jobs_tail;
	long running;             /* fetches in flight */
	bool pumping;
	bool shutting_down;
	struct loop_timer *shutdown_timer;
	struct pres *pres[PRES_BUCKETS];  /* open subscriptions by URI */
	struct fetch *inflight[PRES_BUCKETS];  /* leading fetches by URI */
	struct pres *closing;     /* unsubscribing, waiting for the answer */
	struct hm ping_hm;        /* magic of the keepalive OPTIONS */
	nta_outgoing_t *ping_orq; /* the OPTIONS in flight, or NULL */
	struct loop_timer *ping_timer;
	int server_state;         /* -1 unknown, 0 down, 1 up */

	/* any thread */
	struct pview *view;       /* written by the SIP thread (watch_sub.c), read by any */
	atomic_bool ready;
	atomic_bool server_up;
	atomic_llong server_since;   /* wall clock (s) of the last change of server_up */
	atomic_ulong st_outages;
	struct hist fetch_hist;   /* fetch latency (leaders), written on the SIP thread */
	atomic_ulong st_started, st_ok, st_timeout, st_failed, st_jobs, st_running;
	atomic_ulong st_subs, st_subs_active, st_sub_notifies, st_sub_retries, st_sub_failures;
	atomic_ulong st_from_state, st_coalesced;
};

/* watch_sub.c */
/* The status of uri now, when a subscription to it is active (its last
 * SUBSCRIBE accepted) and its current dialog has reported a status: the
 * NOTIFYs keep it exact (contract section 7), so a fetch can be answered
 * from it. */
bool sub_status_now(struct watch *w, const char *uri, ts_status *st, int64_t *learned_ms);
/* The bucket of uri in the tables by URI (watch_sub.c's hash). */
unsigned watch_uri_bucket(const char *uri);
/* Checks a NOTIFY with p's Call-ID and our tag: false when it is of
 * another dialog (481); *retransmission when its CSeq is not newer than
 * the last one's (answer 200, nothing else). Learns the notifier's tag
 * and target. */
bool sub_check_notify(struct pres *p, const sip_t *sip, bool *retransmission);
/* A NOTIFY in p's dialog (checked by watch_sip.c); p may be freed. */
void sub_notify(struct watch *w, struct pres *p, const sip_t *sip);
/* Un-SUBSCRIBEs every subscription; returns how many answers to wait for
 * (each one then calls watch_shutdown_step). */
long sub_shutdown(struct watch *w);
void sub_free_all(struct watch *w);
/* The presence server answers again after an outage: renew every
 * subscription now. */
void sub_server_back(struct watch *w);

/* watch.c, for watch_sub.c and watch_sip.c */
void watch_shutdown_step(struct watch *w);
/* A NOTIFY for fetch f (checked by watch_sip.c). */
void fetch_notify(struct watch *w, struct fetch *f, const sip_t *sip);
void watch_set_result(struct fetch_result *r, enum fetch_outcome o, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
enum fetch_outcome watch_outcome_of_status(int status);
void watch_map_notify(struct watch *w, const sip_t *sip, struct fetch_result *r);

/* watch_sip.c: requests and the stateless edge */
void wsip_new_id(struct watch *w, char *buf, size_t len);
void wsip_table_add(struct watch *w, struct hm *h);
void wsip_table_remove(struct watch *w, struct hm *h);
/* Every request nobody made a transaction for: NOTIFYs of our fetches
 * and subscriptions, and strangers. Takes msg. */
int wsip_request(struct watch *w, nta_agent_t *agent, msg_t *msg, sip_t *sip);
struct wsip_req {
	const char *method_name;      /* "SUBSCRIBE", "OPTIONS" */
	sip_method_t method;
	const char *ruri;             /* Request-URI */
	const char *to_uri;           /* To URI (without <>) */
	const char *to_tag;           /* NULL outside a dialog */
	const struct hm *id;          /* Call-ID and From tag */
	uint32_t cseq;
	long expires;                 /* < 0: no Expires, no Event (OPTIONS) */
	const char *route;            /* Route header value or NULL */
};
/* Sends r through the outbound proxy; cb gets the answers. NULL when no
 * request could be made (logged). */
nta_outgoing_t *wsip_send(struct watch *w, const struct wsip_req *r, nta_response_f *cb, struct hm *magic);
/* Copies s into a new string of at most max bytes; NULL if too long. */
char *wsip_strdup_max(const char *s, size_t max);
/* The URI of a URL as text (malloc'd), NULL when too long. */
char *wsip_url_dup(const url_t *u);

#endif
