/*
 * camara_sub.h - CAMARA Device Reachability Status subscriptions (contract
 * section 12) on the notification core: a subscription is a notification
 * (nm) of one address, owned by the application that created it, whose
 * correlator is the subscription id and whose callbacks are CloudEvents.
 *
 * Mapping (section 12 onto section 5):
 *   id                       the correlator: a random UUID (v4) text
 *   types[0]                 criteria: reachability-data = Reachable
 *                            (Busy counts as Reachable: CAMARA has no busy,
 *                            so Reachable <-> Busy is no change), and
 *                            reachability-disconnected = Unreachable; an
 *                            event only when the device enters that state
 *   subscriptionExpireTime   duration (absent: the default duration)
 *   subscriptionMaxEvents    count (absent: unlimited)
 *   initialEvent             checkImmediate (counts toward the max events)
 *   sink                     endpoint, with section 11's destination checks
 *   sinkCredential           the bearer token of every event; when its
 *                            accessTokenExpiresUtc passes, the subscription
 *                            ends with ACCESS_TOKEN_EXPIRED
 *   subscription-ended       statusEnd (MAX_EVENTS_REACHED or
 *                            SUBSCRIPTION_EXPIRED), statusError
 *                            (NETWORK_TERMINATED), DELETE
 *                            (SUBSCRIPTION_DELETED)
 *
 * Threads: csub_prepare, csub_check_sink and the result readers run on the
 * HTTP thread; the subscription itself lives in nm on the SIP thread
 * (csub_op_async posts there).
 */
#ifndef PXTSGW_CAMARA_SUB_H
#define PXTSGW_CAMARA_SUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "callback.h"
#include "nm.h"

struct rest_reply;
#include "ts.h"

#define CSUB_TYPE_PREFIX "org.camaraproject.device-reachability-status-subscriptions.v0."
#define CSUB_ID_LEN 36              /* a UUID's text */

enum csub_type { CSUB_DATA = 0, CSUB_DISCONNECTED = 1 };

enum csub_reason {
	CSUB_END_NONE = 0,
	CSUB_MAX_EVENTS_REACHED,
	CSUB_SUBSCRIPTION_EXPIRED,
	CSUB_SUBSCRIPTION_DELETED,
	CSUB_NETWORK_TERMINATED,
	CSUB_ACCESS_TOKEN_EXPIRED,
};

/* The subscription's own data beside its notification (owned by its
 * nm_start, then a copy by its running notification). */
struct csub {
	enum csub_type type;
	char *phone;                /* "+15550100" */
	char *bearer;               /* the sink's access token; NULL: none */
	int64_t token_expires_ms;   /* wall ms; 0: none given */
	int64_t expires_ms;         /* wall ms: subscriptionExpireTime or the default */
	long max_events;            /* 0: unlimited */
	char *x_correlator;         /* of the creating request; NULL: none */
	char *source;               /* the gateway's base URL (CloudEvents source) */
	char *json;                 /* the Subscription as answered (201, GET) */
	enum csub_reason end_reason;   /* set when ended from outside (DELETE) */
};

void csub_free(struct csub *c);                 /* NULL is fine */
struct csub *csub_dup(const struct csub *c);    /* NULL when memory is short */
/* The data as stored (JSON text, malloc'd) and back (NULL when invalid). */
char *csub_encode(const struct csub *c);
struct csub *csub_decode(const char *text);

/* What the HTTP side knows besides the body. */
struct csub_params {
	const char *app;            /* the caller ("" or NULL: anonymous) */
	const char *x_correlator;   /* the request's x-correlator, NULL: none */
	const char *source;         /* this gateway's base URL */
	const struct nm_policy *pol;
	const char *tel_domain;
	int64_t now_ms;             /* wall clock */
};

/* Checks a POST body (section 12) and makes the start of its notification
 * (with a new id), or NULL with *err (400 INVALID_ARGUMENT, INVALID_SINK,
 * INVALID_PROTOCOL, INVALID_CREDENTIAL, INVALID_TOKEN, 403
 * PERMISSION_DENIED, 422 MISSING_IDENTIFIER, UNSUPPORTED_IDENTIFIER, 500
 * when memory is short). */
struct nm_start *csub_prepare(json_t *body, const struct csub_params *p, struct rest_reply *err);
/* Section 11's destination check of the sink (may wait for DNS up to
 * pol->dns_timeout_ms: HTTP thread). 0, or -1 with 400 INVALID_SINK
 * "sink not allowed: <host>". */
int csub_check_sink(const struct nm_start *s, const struct nm_policy *pol, struct rest_reply *err);
/* After nm_start_async's done: 0, or -1 with the error to answer (429
 * QUOTA_EXCEEDED, 404 IDENTIFIER_NOT_FOUND, 503 UNAVAILABLE, ...). */
int csub_start_result(const struct nm_start *s, struct rest_reply *err);
/* The subscription of a start (its id, its answer's JSON). */
const struct csub *csub_of(const struct nm_start *s);
const char *csub_id(const struct nm_start *s);

/* Busy is Reachable for a subscription. */
static inline ts_status csub_status(ts_status st)
{
	return st == TS_BUSY ? TS_REACHABLE : st;
}

const char *csub_reason_name(enum csub_reason r);
/* The type of events of a subscription type. */
enum dlv_op csub_event_op(enum csub_type t);

/* A CloudEvent 1.0 (section 12), compact JSON, malloc'd (NULL when memory
 * is short): id, source, type, specversion, datacontenttype, time (wall
 * ms), data {subscriptionId, terminationReason (subscription-ended only),
 * device {phoneNumber}}. */
char *csub_event_json(const char *event_id, const char *source, enum dlv_op op, int64_t time_ms,
		      const char *sub_id, const char *phone, enum csub_reason reason);

/* A random UUID v4 as text (out: CSUB_ID_LEN + 1 bytes). */
void csub_uuid(char out[CSUB_ID_LEN + 1]);
/* RFC 3339 date-time to wall ms: 0, or -1 when it is not one. */
int csub_parse_time(const char *s, int64_t *ms);

/* --- list, get, delete (the SIP thread) ---------------------------------- */

enum csub_op_kind { CSUB_OP_LIST, CSUB_OP_GET, CSUB_OP_DELETE };
struct csub_op;
struct csub_op *csub_op_new(enum csub_op_kind kind, const char *app, const char *id);
void csub_op_free(struct csub_op *o);           /* NULL is fine */
/* Runs o on the SIP thread; done(arg) is called from there. -1 when the
 * SIP thread is not running (done is not called). */
int csub_op_async(struct nm *nm, struct csub_op *o, nm_done_h *done, void *arg);
/* The outcome: 200 (LIST, GET: *json the body, the op's), 204 (DELETE),
 * 404 (not found: ended, unknown, another application's), 500 (memory). */
int csub_op_result(const struct csub_op *o, const char **json);

#endif
