/*
 * svc_int.h - the SOAP glue's own state, shared by svc.c (contexts,
 * authentication, serving, TerminalStatus) and svc_nm.c (the notification
 * manager's operations). Not for other modules: it includes the generated
 * gSOAP code.
 */
#ifndef PXTSGW_SVC_INT_H
#define PXTSGW_SVC_INT_H

#include <pthread.h>
#include <stdbool.h>

#include "soapH.h"

#include "fault.h"
#include "nm.h"
#include "query.h"
#include "svc.h"

/* returned by a service function in phase 1 to defer its answer */
#define SVC_DEFER (SOAP_STOP + 100)

/* gSOAP limits for one request */
#define SVC_MAX_LEVEL 64
#define SVC_MAX_OCCURS 10000
#define SVC_MAX_STRING 8192

enum op { OP_NONE, OP_GET_STATUS, OP_GET_STATUS_FOR_GROUP, OP_START_NOTIFICATION, OP_END_NOTIFICATION };

/* What a request reads of the configuration (svc_reconfigure): immutable
 * once published; a request holds it from the start of a phase to its
 * end (pub.h), so a reload never frees it under one. */
struct svc_conf {
	struct query_env env;
	struct nm_policy pol;
	enum notif_style style;
	void *keep;                /* what env and pol point to */
	svc_drop_h *drop;          /* drop(keep) once no request holds it */
};

struct svc {
	struct pub *conf;          /* struct svc_conf */
	struct nm *nm;
	struct rate *rate;      /* policy.max-requests-per-s (NULL: no limit) */
	pthread_key_t key;
	struct Namespace *ns;   /* requests: SOAP 1.1 only, no SOAP 1.2 wildcards */
	struct Namespace *ns_out;   /* responses: ns without wsse and wsu */
	svc_auth_h *auth;       /* NULL: no users file */
	void *auth_arg;
};

struct svc_pending {
	enum op op;
	struct query *q;          /* getStatus, getStatusForGroup */
	struct nm_start *ns;      /* startNotification */
	struct nm_end *ne;        /* endNotification */
	struct nm *nm;
	bool start_failed;
	struct svc_usage usage;   /* phase 1's, for phase 2 */
};

/* What the service functions see through soap->user. */
struct call {
	struct svc *s;
	const struct svc_conf *conf;   /* held for this phase */
	const char *app;           /* the caller's application ("" anonymous) */
	int phase;                 /* 1 or 2 */
	struct svc_pending *p;     /* phase 1: set when deferred; phase 2: in */
	struct svc_caller *who;    /* phase 1 with s->auth: authenticated here */
	struct svc_usage *u;       /* the response's usage */
};

/* For the usage record: the operation (at its start, both phases) and,
 * in phase 1, its correlator (copied). */
void svc_usage_op(struct call *c, const char *operation);
void svc_usage_correlator(struct call *c, const char *correlator);

/* returned by run() when the caller is not authenticated (HTTP 401) */
#define SVC_UNAUTHORIZED (SOAP_STOP + 101)

/* Phase-1 tail shared by the deferred operations: takes q, ns or ne;
 * returns SVC_DEFER, or a fault when memory is short. */
int svc_defer(struct soap *soap, struct call *c, enum op op, struct query *q, struct nm_start *ns,
	      struct nm_end *ne);
/* Phase 2: the pending state this operation left, or NULL. */
struct svc_pending *svc_phase2(struct call *c, enum op op);
/* Phase 1: whether the caller's application is within
 * policy.max-requests-per-s. */
bool svc_admitted(struct call *c);
/* The fault f / the fault id with one variable, as the answer. */
int svc_send_fault(struct soap *soap, const struct fault *f);
int svc_fault1(struct soap *soap, enum fault_id id, const char *var);

#define RATE_FAULT(soap) svc_fault1((soap), POL0001, "request rate exceeded")

#endif
