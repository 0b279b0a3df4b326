/*
 * watch.h - the SIP presence watcher (sofia-sip nta), on its own thread.
 *
 * DESIGN: every SIP object (the nta agent, transactions, timers) lives on
 * one thread, the "SIP thread", which runs a loop (loop.h). Other threads
 * never call the SIP stack:
 * they hand work over with watch_submit() or loop_post(watch_loop(w), ...),
 * and results come back through callbacks that run on the SIP thread and
 * must not block.
 *
 * A fetch (contract section 7) is SUBSCRIBE Event: presence, Expires: 0,
 * sent to the presence server as outbound proxy. It succeeds when both the
 * 2xx and the NOTIFY have arrived, in either order. A job is a batch of
 * fetches with one deadline (status.fetch-timeout-ms): at the deadline the
 * fetches still open are reported FETCH_TIMEOUT.
 */
#ifndef PXTSGW_WATCH_H
#define PXTSGW_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <stdint.h>

#include "pstat.h"
#include "ts.h"

struct watch;
struct hist;

struct watch_config {
	const char *listen;           /* "host:port" to bind (UDP and TCP) */
	const char *transport;        /* "udp" or "tcp" toward the server */
	const char *presence_server;  /* "sip:host:port" outbound proxy */
	const char *watcher_uri;      /* From of every SUBSCRIBE */
	long fetch_timeout_ms;
	long max_fetches;             /* fetches in flight at once, all jobs */
	long subscribe_expires_s;     /* Expires of long-lived SUBSCRIBEs */
	long give_up_s;               /* a lost subscription is retried this long */
	long keepalive_s;             /* OPTIONS to the presence server every so often
	                                 (0: never); after an outage every
	                                 subscription is renewed */
	const struct pstat_rules *rules; /* copied */
	long view_slots;              /* the published view's slots (0: 262144),
	                                 about one per subscription expected */
};

enum fetch_outcome {
	FETCH_PENDING = 0,
	FETCH_OK,          /* status is valid */
	FETCH_TIMEOUT,     /* no answer in time, 408, 5xx: NotRetrieved / SVC0001 */
	FETCH_REJECTED,    /* 403/603, reason=rejected: POL0002 */
	FETCH_NORESOURCE,  /* 404/604/484, reason=noresource: SVC0004 */
	FETCH_FAILED,      /* other SIP failure, bad PIDF: SVC0001 */
};

struct fetch_result {
	const char *uri;              /* in: SIP URI to fetch (caller owns) */
	enum fetch_outcome outcome;   /* out */
	ts_status status;             /* out, when FETCH_OK */
	int sip_status;               /* out: final SIP status, 0 if none */
	char detail[80];              /* out: why, for SVC0001's error code */
	int64_t learned_ms;           /* out, FETCH_OK: wall clock (ms since the epoch)
	                                 of the NOTIFY that told the status (a
	                                 subscription's last one when answered from state) */
};

struct watch_job;
typedef void (watch_job_done_h)(struct watch_job *job, void *arg);

struct watch_job {
	/* set by the caller before watch_submit(); owned by the caller */
	struct fetch_result *results;
	size_t n;
	unsigned concurrency;         /* fetches of this job at once (>= 1) */
	watch_job_done_h *done;       /* runs once on the SIP thread; after it
	                                 returns the watcher never touches the
	                                 job again, so done may release it */
	void *arg;
	const char *log_req;          /* the request id and application the */
	const char *log_app;          /* fetches log with (NULL: none) */
	/* private to watch.c (SIP thread only) */
	struct watch *w;
	size_t next, running, finished;
	struct watch_job_priv *priv;
	struct watch_job *j_next, *j_prev;
};

/* Starts the SIP thread and waits until the stack is up. Returns 0 and sets
 * *out, or -1 (logged) when the stack cannot start (e.g. port in use). */
int watch_start(const struct watch_config *cfg, struct watch **out);

/* Completes every job still open (as FETCH_TIMEOUT, "shutting down"),
 * shuts the stack down politely and joins the thread. NULL is fine. */
void watch_stop(struct watch *w);

bool watch_ready(const struct watch *w);
/* false while the presence server does not answer the keepalive OPTIONS
 * (true before the first answer, and when keepalives are off). */
bool watch_server_up(const struct watch *w);
/* Since when (wall clock) watch_server_up has said what it says now: the
 * start, or its last change. 0 for NULL. Any thread. */
time_t watch_server_since(const struct watch *w);

/* Hands a job to the SIP thread. From any thread. Returns 0, or -1 if the
 * watcher is not running (the job is then untouched and done is not called). */
int watch_submit(struct watch *w, struct watch_job *job);

/* The SIP thread's loop, to post work and set timers on it (loop.h).
 * Valid until watch_stop. */
struct loop *watch_loop(struct watch *w);

/*
 * Long-lived subscriptions (startNotification), SIP thread only.
 *
 * One SUBSCRIBE per presentity, shared by every watch_sub opened on the same
 * SIP URI, refreshed in its dialog before it expires. Each NOTIFY with a state
 * reaches every sub as WSUB_STATUS (listeners decide what is a change).
 * A subscription the server ends or refuses is re-established: at once
 * (deactivated, timeout), after Retry-After (probation, giveup), or with
 * backoff (408, 5xx, no answer), without reporting any status meanwhile.
 * WSUB_FAILED is final: rejected (403/603, reason=rejected), noresource
 * (404/604/484, reason=noresource), or given up after give_up_s. The last
 * sub closed ends the subscription with Expires: 0.
 */
struct watch_sub;
/* WSUB_LOST: not final, the subscription is being re-established (why
 * says what happened); listeners that only wait for a first status may
 * give up on it. */
enum watch_sub_event { WSUB_STATUS, WSUB_FAILED, WSUB_LOST };
/* st: the status (WSUB_STATUS); why: outcome and detail (WSUB_FAILED).
 * The handler may close its sub (or others) from inside. */
typedef void (watch_sub_h)(struct watch_sub *sub, enum watch_sub_event ev, ts_status st,
			   const struct fetch_result *why, void *arg);

/* Opens a sub. When the presentity's status is already known, the handler
 * is NOT called for it: ask watch_sub_status(). Returns NULL when out of
 * memory or when sip_uri is longer than TS_ADDR_MAX + 63 bytes. */
struct watch_sub *watch_sub_open(struct watch *w, const char *sip_uri, watch_sub_h *h, void *arg);
void watch_sub_close(struct watch_sub *sub);          /* NULL is fine */
/* true with *st when a NOTIFY has told the presentity's status. */
bool watch_sub_status(const struct watch_sub *sub, ts_status *st);
/* The Call-ID of the SUBSCRIBE now serving sub's presentity (shared by
 * every sub of it; a re-subscription has a new one), for the log. */
const char *watch_sub_call_id(const struct watch_sub *sub);
/* "subscribing", "active", "waiting" (lost, retrying), "failed", "closing";
 * "none" for NULL (a restored notification that could not subscribe) */
const char *watch_sub_state_name(const struct watch_sub *sub);

/* On the SIP thread: how many of the n SIP URIs have no subscription open
 * yet (each would need a new one; a URI given twice counts once), and how
 * many subscriptions are open. For policy.max-presence-subscriptions. */
size_t watch_sub_missing(struct watch *w, const char *const *sip_uris, size_t n);
size_t watch_sub_open_count(struct watch *w);
/* On the SIP thread: the presence subscriptions (one per presentity) by
 * state, counts[i] for watch_sub_state_names[i] ("subscribing", "active",
 * "waiting", "failed", "closing"). For /status. */
#define WATCH_SUB_NSTATES 5
extern const char *const watch_sub_state_names[WATCH_SUB_NSTATES];
void watch_sub_count_states(struct watch *w, unsigned long counts[WATCH_SUB_NSTATES]);

/* Counters, readable from any thread: each an atomic, so a set of them
 * is not one instant's (a fetch counted started may not be counted ok
 * yet). */
struct watch_stats {
	unsigned long fetches_started, fetches_ok, fetches_timeout, fetches_failed;
	unsigned long jobs_open, fetches_running;
	unsigned long subscriptions, subscriptions_active, subscription_notifies;
	unsigned long subscription_retries, subscription_failures;
	unsigned long server_outages;          /* presence server went quiet */
	unsigned long answers_from_state;      /* fetches answered by a subscription */
	unsigned long fetches_coalesced;       /* fetches that shared another's SUBSCRIBE */
	unsigned long published;               /* presentities in the published view */
};


void watch_get_stats(const struct watch *w, struct watch_stats *st);

/* Any thread: the status of sip_uri when a subscription to it is active
 * and has reported one (the NOTIFYs keep it exact, contract section 7), as
 * the SIP thread last published it (pview.h). false: not published (or
 * being rewritten), ask the SIP thread (query_run). An answer given from it
 * is counted with watch_count_from_state. */
bool watch_status_published(struct watch *w, const char *sip_uri, ts_status *st,
			    int64_t *learned_ms);
void watch_count_from_state(struct watch *w, unsigned long n);
/* The latency of fetches (SUBSCRIBE to their outcome), for /metrics. */
const struct hist *watch_fetch_hist(const struct watch *w);

/* New status.busy-activities rules (a reload), posted to the SIP thread,
 * which owns them: NOTIFYs and fetch answers mapped after it has run use
 * them (a status already reported is not mapped again: the next NOTIFY
 * of its subscription is). Any thread. Returns 0, or -1 when the loop
 * takes no message or memory is short (the old rules stay). */
int watch_set_rules(struct watch *w, const struct pstat_rules *rules);

#endif
