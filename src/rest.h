/*
 * rest.h - the REST binding: CAMARA Device Reachability Status (contract
 * section 12) as JSON over the HTTP front's listener.
 *
 *   POST   /device-reachability-status/v1/retrieve            rest.c
 *   GET    /device-reachability-status/v1/openapi.yaml        rest.c (open to all)
 *   POST   /device-reachability-status-subscriptions/v0.8/subscriptions        rest_subs.c
 *   GET    /device-reachability-status-subscriptions/v0.8/subscriptions[/{id}] rest_subs.c
 *   DELETE /device-reachability-status-subscriptions/v0.8/subscriptions/{id}   rest_subs.c
 *
 * How a request flows (front.c does the HTTP part, rest.c the rest):
 *   1. front.c, headers in: authentication (HTTP Basic with a users file:
 *      401 UNAUTHENTICATED in CAMARA form otherwise), a body over
 *      http.max-body-bytes is 413 before it is read.
 *   2. front.c, body in: rest_req_new() then rest_serve(). rest_serve
 *      checks x-correlator (400 INVALID_ARGUMENT when malformed), takes a
 *      token of the caller's policy.max-requests-per-s (429
 *      TOO_MANY_REQUESTS; every operation counts, the OpenAPI document
 *      does not) and dispatches by path and method.
 *   3. A handler either fills the reply (REST_DONE) or defers: it sets
 *      q->work, q->start, q->finish, q->work_free and returns REST_WAIT.
 *      front.c then calls rest_start() (which calls q->start with a wake
 *      callback), suspends the HTTP connection, and when wake has run
 *      calls rest_finish() (which calls q->finish) for the reply.
 *   4. front.c sends the reply with Content-Type reply.ctype (default
 *      application/json) and x-correlator echoed when the request had a
 *      well-formed one; rest_req_free() when the connection is done.
 *
 * Threads: rest_serve, rest_finish and the handlers run on the HTTP
 * threads; q->start hands work to the SIP thread (loop_post, watch_submit,
 * query_run, nm_*_async) and wake(arg) may run on any thread, possibly
 * before q->start returns. Handlers never block on the network.
 *
 * JSON is jansson's (json_t). Bodies are capped by front.c (http.max-body-bytes)
 * and parsed by rest_parse_body with a depth limit; unknown fields are
 * ignored; a field of the wrong type is 400 INVALID_ARGUMENT.
 */
#ifndef PXTSGW_REST_H
#define PXTSGW_REST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "svc.h"
#include "ts.h"

#define REST_RETRIEVE_PREFIX "/device-reachability-status/"
#define REST_SUBS_PREFIX "/device-reachability-status-subscriptions/"
#define REST_RETRIEVE_PATH "/device-reachability-status/v1/retrieve"
#define REST_OPENAPI_PATH "/device-reachability-status/v1/openapi.yaml"
#define REST_SUBS_PATH "/device-reachability-status-subscriptions/v0.8/subscriptions"

#define REST_CORRELATOR_MAX 256   /* characters of x-correlator */
#define REST_MAX_DEPTH 16         /* JSON nesting: deeper is 400 */
#define REST_PHONE_MAX 16         /* "+" and 15 digits */
#define REST_BASE_URL_MAX 300

struct rest;
struct nm;
struct watch;
struct store;
struct dlv;

/* What the binding uses; not owned (all outlive the rest). */
struct rest_config {
	struct svc *svc;        /* query_env, policies, rate (svc_view_get) */
	struct nm *nm;          /* notifications (NULL: none) */
	struct watch *watch;
	struct store *store;
	struct dlv *dlv;
};

/* NULL when memory is short. */
struct rest *rest_new(const struct rest_config *cfg);
void rest_free(struct rest *r);   /* NULL is fine */
const struct rest_config *rest_config_of(const struct rest *r);

/* Whether url belongs to the REST binding (front.c routes it here). */
bool rest_path(const char *url);
/* Whether url is the OpenAPI document, which anyone may GET. */
bool rest_open_path(const char *url);

/* An answer. body is malloc'd (NULL: no body, e.g. 204); ctype NULL means
 * application/json. The one who fills it with a body passes it on to
 * front.c, which frees it. */
struct rest_reply {
	unsigned status;
	char *body;
	size_t len;
	const char *ctype;       /* a constant string, or NULL */
	char location[REST_BASE_URL_MAX + 128];   /* a Location header when not "" */
};

typedef void (rest_wake_h)(void *arg);
struct rest_req;
/* Deferred work of a handler (step 3 above). start returns 0, or -1 when
 * the work cannot start (wake is then never called; finish still runs and
 * should answer 503 UNAVAILABLE). finish fills the reply; work_free frees
 * work (finish or not). */
typedef int (rest_start_h)(void *work, rest_wake_h *wake, void *arg);
typedef void (rest_finish_h)(struct rest_req *q, void *work, bool start_failed,
			     struct rest_reply *out);
typedef void (rest_free_h)(void *work);

/* One REST request; made by front.c once the body is in. */
struct rest_req {
	struct rest *rest;
	char method[8];               /* "GET", "POST", "DELETE", ...; HEAD reads as "GET" */
	char *url;                    /* the path (owned) */
	const char *body;             /* NUL-terminated, len bytes; front.c's, lives as long */
	size_t len;
	struct svc_caller who;        /* the caller: who.app ("" without a users file) */
	bool has_correlator;          /* an x-correlator header came (well-formed or not) */
	char correlator[REST_CORRELATOR_MAX + 1];  /* its value when well-formed */
	bool correlator_ok;           /* echo it (false: absent or malformed) */
	char base_url[REST_BASE_URL_MAX];   /* "http://host:port" as the client called us
				       * (the CloudEvents source; Host header when sane) */
	/* deferred work (REST_WAIT) */
	void *work;
	rest_start_h *start;
	rest_finish_h *finish;
	rest_free_h *work_free;
	bool start_failed;
};

enum rest_rc { REST_DONE, REST_WAIT };

/* A request of r. correlator: the x-correlator header (NULL: none); it is
 * checked here (see rest_correlator_ok). NULL when memory is short. */
struct rest_req *rest_req_new(struct rest *r, const char *method, const char *url,
			      const char *body, size_t len, const struct svc_caller *who,
			      const char *correlator, const char *base_url);
void rest_req_free(struct rest_req *q);   /* frees q->work too; NULL is fine */

/* Step 2: serves q. REST_DONE with *out filled, or REST_WAIT (deferred). */
enum rest_rc rest_serve(struct rest_req *q, struct rest_reply *out);
/* Step 3: starts the deferred work; 0, or -1 (wake never called: call
 * rest_finish at once). */
int rest_start(struct rest_req *q, rest_wake_h *wake, void *arg);
/* Step 3, after wake: the reply of the deferred work. */
void rest_finish(struct rest_req *q, struct rest_reply *out);

/* --- building blocks for handlers (rest.c, rest_subs.c) -------------------- */

/* x-correlator (contract section 12): 0-256 characters, each a letter, a
 * digit or one of - _ : ; . / < > { } (CAMARA's ^[a-zA-Z0-9-_:;.\/<>{}]{0,256}$). */
bool rest_correlator_ok(const char *v);

/* out: {"status":status,"code":code,"message":<printf>}; returns 0, or -1
 * when memory is short (out is then a fixed 500 body, still JSON). */
int rest_reply_error(struct rest_reply *out, unsigned status, const char *code,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* out: status with the compact JSON of obj (taken: decref'd here). obj
 * NULL (memory short) gives a 500 error reply. Returns 0 or -1. */
int rest_reply_json(struct rest_reply *out, unsigned status, json_t *obj);
/* out: status with no body (204). */
void rest_reply_empty(struct rest_reply *out, unsigned status);

/* Parses a request body into a JSON object (*obj, the caller decrefs it).
 * Returns 0; or -1 with out set to 400 INVALID_ARGUMENT: not JSON,
 * duplicate keys, not an object at the top, nested deeper than
 * REST_MAX_DEPTH. */
int rest_parse_body(const char *body, size_t len, json_t **obj, struct rest_reply *out);

/* The JSON types a field may be asked for. */
enum rest_type { REST_STRING, REST_INT, REST_BOOL, REST_OBJECT, REST_ARRAY };
/* Looks up obj[key]: 1 with *val (borrowed) when present with type t;
 * 0 when absent (*val NULL); -1 with out set to 400 INVALID_ARGUMENT
 * ("<name> must be a string" etc.) when present with another type (JSON
 * null included). name is the field's path for the message, e.g.
 * "config.subscriptionMaxEvents". */
int rest_field(json_t *obj, const char *key, enum rest_type t, const char *name, json_t **val,
	       struct rest_reply *out);

/* A device (contract section 12) as pxtsgw serves it: a phone number. */
struct rest_device {
	char phone[REST_PHONE_MAX + 1];       /* "+15550100" as given */
	char tel[REST_PHONE_MAX + 5];         /* "tel:+15550100" */
	char sip[TS_ADDR_MAX + 64];           /* its SIP URI (sip.tel-domain) */
	unsigned n_ids;                       /* identifiers the request gave */
};

/* Whether s is a phone number pxtsgw accepts: "+" and 1-15 digits. */
bool rest_phone_ok(const char *s);

/* Reads a request's "device" (dev: the value of the "device" field, or
 * NULL when the request has none). Returns 0 with *d filled; or -1 with
 * out set:
 *   no device                                  422 MISSING_IDENTIFIER
 *   not an object, {} or no known identifier   400 INVALID_ARGUMENT
 *   an identifier that breaks its schema (phoneNumber not "+" and 1-15
 *   digits, ipv4Address without a valid publicAddress and privateAddress
 *   or publicPort, ipv6Address not an IPv6 address,
 *   networkAccessIdentifier not a string)      400 INVALID_ARGUMENT
 *   only networkAccessIdentifier, ipv4Address, ipv6Address
 *                                              422 UNSUPPORTED_IDENTIFIER
 * Unknown fields of device are ignored. tel_domain: sip.tel-domain. */
int rest_device_parse(json_t *dev, const char *tel_domain, struct rest_device *d,
		      struct rest_reply *out);
/* {"phoneNumber":"+..."}: the device as answers and events show it. */
json_t *rest_device_json(const struct rest_device *d);

/* RFC 3339 UTC with milliseconds, "2026-12-05T10:00:00.000Z", of a wall
 * clock time in ms since the epoch. */
void rest_time_text(int64_t wall_ms, char *buf, size_t cap);

/* The retrieve answer (contract section 12): lastStatusTime (learned_ms,
 * wall clock), reachable, and connectivity ["DATA"] for Busy and
 * Reachable; with "device" first when dev is not NULL (the request named
 * more than one identifier: CAMARA says which one was used). NULL when
 * memory is short. */
json_t *rest_status_json(ts_status st, int64_t learned_ms, const struct rest_device *dev);

/* --- the subscriptions API (rest_subs.c) ------------------------------------ */

/* Serves a request under REST_SUBS_PATH; tail is what follows it in the
 * path ("" or "/{id}"). q's correlator, caller and body are checked and
 * the request counted against the rate already. Same contract as a
 * handler: REST_DONE with *out, or REST_WAIT with q->work etc. set. */
enum rest_rc rest_subs_serve(struct rest_req *q, const char *tail, struct rest_reply *out);

#endif
