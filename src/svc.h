/*
 * svc.h - the SOAP glue for requests (with svc_client.h for callbacks, the
 * only code that includes the generated gSOAP code). It turns request bytes
 * into calls of the core (query_, nm_) and the core's answers or faults into
 * response bytes.
 *
 * A request is served in up to two phases, both on HTTP threads:
 *   1. svc_handle() parses and checks it. Most requests end here (a fault,
 *      or an operation that needs no SIP). Operations that need the SIP
 *      side return SVC_WAIT with a pending request.
 *   2. svc_start() hands the pending work over; wake(arg) is called (from
 *      any thread, possibly before svc_start returns) when it is done, and
 *      svc_finish() then produces the response from the same body.
 */
#ifndef PXTSGW_SVC_H
#define PXTSGW_SVC_H

#include <stdbool.h>
#include <stddef.h>

#include "auth.h"
#include "query.h"

struct svc;
struct svc_pending;

struct svc_response {
	int http_status;     /* 200, 500 for a SOAP fault, 401 (text body) */
	char *body;          /* malloc'd; the caller frees it */
	size_t len;
};

enum svc_rc { SVC_DONE, SVC_WAIT };

/* Who sent a request (contract section 11): its notifications belong to
 * app. Without a users file every request is the anonymous application,
 * app "".
 *
 * With svc_set_auth, svc_handle also authenticates: basic says whether
 * app and admin come from HTTP Basic credentials the caller checked
 * already; a WS-Security UsernameToken in the SOAP Header is checked and,
 * when valid, sets app and admin (it must name the Basic user when basic
 * is set). client is the client's address, for the failure tracker. */
struct svc_caller {
	char app[AUTH_NAME_MAX];
	bool admin;
	bool basic;
	char client[AUTH_ADDR_MAX];
};

/* Checks a UsernameToken's user and password (PasswordText) for a request
 * from client. Returns 0 with *role set when they are valid, -1 when not
 * (a failure the check counts for client). HTTP thread; once a request at
 * most. */
typedef int (svc_auth_h)(const char *client, const char *user, const char *password,
			 enum auth_role *role, void *arg);

struct nm;
struct nm_policy;

/* env is copied; the pointers in it must outlive the svc (or the
 * svc_reconfigure that replaces them). */
struct svc *svc_new(const struct query_env *env);

/* A reload: requests that start from now on read env, pol and style
 * (copied; their pointers, the groups, the destinations, the tel domain,
 * must stay valid until drop(keep)). The configuration it replaces is
 * dropped when the last request that read it is done, on that request's
 * thread (its keep with it); the requests in phase 1 or 2 now finish with
 * it. Before the first request it also hands over what svc_new and
 * svc_set_notifications were given (the nm stays). Returns 0, or -1 when
 * memory is short: nothing changes, and drop(keep) has run. */
typedef void (svc_drop_h)(void *keep);
int svc_reconfigure(struct svc *s, const struct query_env *env, const struct nm_policy *pol,
		    int style, void *keep, svc_drop_h *drop);
/* Serves startNotification / endNotification through nm (without it they
 * answer SVC0001). pol is copied. */
void svc_set_notifications(struct svc *s, struct nm *nm, const struct nm_policy *pol, int style);
/* Limits the operation requests of each application to policy.max-
 * requests-per-s (contract section 11): over it an operation answers
 * POL0001 "request rate exceeded" and does nothing. r (NULL: no limit)
 * must outlive the svc. */
struct rate;
void svc_set_rate(struct svc *s, struct rate *r);
/* Authentication (contract section 11): from now on svc_handle serves no
 * operation unless the caller is authenticated, by HTTP Basic (caller's
 * basic) or by a WS-Security UsernameToken that check accepts. Without it
 * (no users file) a token is ignored and every request is anonymous. Call
 * before the first request. */
void svc_set_auth(struct svc *s, svc_auth_h *check, void *arg);
void svc_free(struct svc *s);

/* Phase 1. body must be NUL-terminated (len excludes the NUL); who is the
 * caller (NULL: anonymous, no Basic credentials), filled from a valid
 * UsernameToken with svc_set_auth. On SVC_DONE *out is filled; on
 * SVC_WAIT *pending is set. With svc_set_auth, a request whose caller is
 * not authenticated (no credentials, a wrong or PasswordDigest token, a
 * token naming another user than Basic, an envelope whose header cannot
 * be read without Basic) is SVC_DONE with http_status 401 and a short
 * text body, no operation run. The Security header never reaches a
 * response. */
enum svc_rc svc_handle(struct svc *s, const char *body, size_t len, const char *soap_action,
		       struct svc_caller *who, struct svc_pending **pending,
		       struct svc_response *out);

typedef void (svc_wake_h)(void *arg);
/* Starts the pending work. Returns 0; or -1 when it cannot start (the
 * watcher is down): wake is not called and svc_finish answers SVC0001. */
int svc_start(struct svc_pending *p, svc_wake_h *wake, void *arg);

/* Phase 2: the response for a pending request; frees the pending state. */
void svc_finish(struct svc *s, struct svc_pending *p, const char *body, size_t len,
		const char *soap_action, struct svc_response *out);

/* Frees a pending request that will not be finished (its work must be
 * done: after wake, or when svc_start failed). NULL is fine. */
void svc_pending_free(struct svc_pending *p);

/* For the REST binding (rest.c): the configuration requests read now
 * (query_env, notification policies, the nm), held from svc_view_get to
 * svc_view_put so that a reload does not free it meanwhile. Any thread;
 * hold it for one request phase, not across a wait. */
struct svc_view {
	const struct query_env *env;
	const struct nm_policy *pol;
	int style;                    /* enum notif_style */
	struct nm *nm;                /* NULL: notifications not served */
	struct pub_ref *ref;          /* private */
};
void svc_view_get(struct svc *s, struct svc_view *v);
void svc_view_put(struct svc_view *v);
/* Takes one request of app's policy.max-requests-per-s budget (contract
 * section 11): false when over it (REST answers 429 TOO_MANY_REQUESTS). */
bool svc_rate_admit(struct svc *s, const char *app);

/* Releases this thread's SOAP context (the svc keeps one per thread). */
void svc_thread_done(struct svc *s);

#endif
