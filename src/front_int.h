/*
 * front_int.h - the HTTP front's own state, shared by front.c (the server,
 * routing, SOAP) and front_views.c (the JSON and text views: health,
 * notifications, deliveries, metrics). Not for other modules.
 */
#ifndef PXTSGW_FRONT_INT_H
#define PXTSGW_FRONT_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <microhttpd.h>

#include "auth.h"
#include "fault.h"
#include "hist.h"
#include "pub.h"
#include "front.h"
#include "svc.h"

struct rest;
struct rest_req;
/* the operations of the request latency histogram: the four SOAP ones,
 * the REST ones (rest.c), then "other" (no operation reached) */
#define FRONT_OPS 10

struct front {
	struct MHD_Daemon *d;
	struct front_config cfg;
	const char *scheme;          /* "http" or "https" */
	/* with a users file (fixed at start: cfg.auth is not used after it):
	 * the current struct auth, replaced by a reload (front_set_auth) and
	 * held (pub_get) while a password is checked */
	bool auth_on;
	struct pub *auth;
	struct rest *rest;           /* the REST binding (rest.h) */
	atomic_long suspended;
	/* shutdown (front_quiesce): once closing is set, requests get 503 and
	 * the connection closes; active counts the handler calls that may
	 * touch the core (watch, nm, store, dlv), so front_quiesce can wait
	 * until none is left before the SIP side is torn down */
	atomic_bool closing;
	atomic_long active;
	MHD_socket listen_sock;      /* after front_quiesce: ours to close */
	/* mhd_log's rate limit */
	pthread_mutex_t log_mu;
	int64_t log_second;
	unsigned log_count;
	unsigned long log_dropped;
	atomic_ulong soap_requests, soap_faults, http_rejected;
	time_t started;              /* wall clock, for /status's uptime */
	/* front_usage.c: SOAP and REST request latency by operation, faults by id */
	struct hist req_hist[FRONT_OPS];
	atomic_ulong faults[FAULT_COUNT];
};

enum req_state { RQ_NEW, RQ_WAITING };

struct req {
	struct front *f;
	struct MHD_Connection *conn;
	char *body;
	size_t len, cap;
	bool too_big;
	enum req_state state;
	struct svc_pending *pending;
	struct rest_req *rest;       /* a REST request (rest.h), once its body is in */
	bool is_rest;                /* the URL is the REST binding's */
	char *action;
	enum auth_role role;         /* with a users file: who asked */
	struct svc_caller who;       /* its application ("" without a users file) */
	int64_t deadline_ms;         /* the body must be in by then (monotonic) */
	int64_t t0_ms;               /* headers in (monotonic), for the log */
	char method[8];              /* for the log, cut */
	char url[160];               /* for the log, cut */
	unsigned timeout_s;          /* the connection's timeout as set now */
	pthread_mutex_t lock;
	bool woken, suspended;
	/* the usage record (front_usage.c): written once the answer is sent */
	int64_t start_us;            /* headers in (hist_now_us) */
	bool usage_ready;
	struct svc_usage usage;
	char result[16];             /* "ok", the fault id or the HTTP code */
	int64_t answer_ms;           /* wall clock of the answer */
	long duration_ms;
};

/* Queues resp as the answer to c with its X-Request-Id (the request
 * being handled on this thread), and logs the request's line: every
 * answer goes through here. */
enum MHD_Result front_queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *resp);

/* Queues an answer: body (len bytes, kept or freed after as mode says)
 * with Content-Type ctype (NULL: none). */
enum MHD_Result front_reply(struct MHD_Connection *c, unsigned status, const char *ctype,
			    void *body, size_t len, enum MHD_ResponseMemoryMode mode);
/* A text/plain answer of a constant text. */
enum MHD_Result front_reply_text(struct MHD_Connection *c, unsigned status, const char *text);

/* The views (front_views.c), on MHD's threads; with a users file r->who
 * is the caller. */
enum MHD_Result front_serve_health(struct front *f, struct MHD_Connection *c);
enum MHD_Result front_serve_notifications(struct front *f, struct req *r, struct MHD_Connection *c);
enum MHD_Result front_serve_deliveries(struct front *f, struct req *r, struct MHD_Connection *c);
enum MHD_Result front_serve_metrics(struct front *f, struct MHD_Connection *c);
/* GET /status, the operator's HTML page (front_status.c) */
enum MHD_Result front_serve_status(struct front *f, struct MHD_Connection *c);

/* front_usage.c: GET /usage (contract section 13; the caller checked the
 * admin role); a SOAP answer's metrics and usage record (at send time:
 * the metrics; front_usage_write, once it is sent: the record); the
 * request metrics' text for /metrics (malloc'd, NULL when memory is
 * short). */
enum MHD_Result front_serve_usage(struct front *f, struct req *r, struct MHD_Connection *c);
void front_usage_answer(struct req *r, struct svc_response *out);
void front_usage_write(struct req *r);
/* A REST answer of status: its latency and usage record (r->rest's). */
void front_usage_rest(struct req *r, unsigned status);
char *front_request_metrics(struct front *f, size_t *len);

#endif
