/*
 * svc.c - SOAP glue: gSOAP (plain mode, no sockets) <-> the core.
 *
 * The only file that includes the generated code. gSOAP data lives in a
 * per-thread context and dies with soap_end() at the end of each phase;
 * what must outlive a phase (the query) is ours.
 *
 * Two-phase serving: phase 1 runs the generated dispatcher; a service
 * function that must wait for SIP stores a pending query and returns
 * SVC_DEFER instead of an answer. Phase 2 runs the dispatcher again on the
 * same body: the same service function now finds the query done and fills
 * the generated response struct, so every byte on the wire still comes from
 * the generated serializers.
 */
#include "svc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soapH.h"
#include "TerminalStatusBinding.nsmap"

#include "fault.h"
#include "log.h"

/* returned by a service function in phase 1 to defer its answer */
#define SVC_DEFER (SOAP_STOP + 100)

/* gSOAP limits for one request */
#define SVC_MAX_LEVEL 64
#define SVC_MAX_OCCURS 10000
#define SVC_MAX_STRING 8192

enum op { OP_NONE, OP_GET_STATUS, OP_GET_STATUS_FOR_GROUP };

struct svc {
	struct query_env env;
	pthread_key_t key;
	struct Namespace *ns;   /* SOAP 1.1 only: no SOAP 1.2 wildcards */
};

struct svc_pending {
	enum op op;
	struct query *q;
	bool start_failed;
};

/* What the service functions see through soap->user. */
struct call {
	struct svc *s;
	int phase;                 /* 1 or 2 */
	struct svc_pending *p;     /* phase 1: set when deferred; phase 2: in */
};

/* --- per-thread contexts ------------------------------------------------- */

static void soap_release(void *p)
{
	struct soap *soap = p;

	soap_destroy(soap);
	soap_end(soap);
	soap_free(soap);
}

static struct soap *thread_soap(struct svc *s)
{
	struct soap *soap = pthread_getspecific(s->key);

	if (soap)
		return soap;
	/* IGNORENS: children of the types are unqualified on the wire, but
	 * some stacks qualify them; match them by local name either way */
	soap = soap_new1(SOAP_ENC_PLAIN | SOAP_C_UTFSTRING | SOAP_XML_IGNORENS);
	if (!soap)
		return NULL;
	soap_set_namespaces(soap, s->ns);
	soap->maxlevel = SVC_MAX_LEVEL;
	soap->maxoccurs = SVC_MAX_OCCURS;
	soap->maxlength = SVC_MAX_STRING;
	if (pthread_setspecific(s->key, soap) != 0) {
		soap_free(soap);
		return NULL;
	}
	return soap;
}

void svc_thread_done(struct svc *s)
{
	struct soap *soap = pthread_getspecific(s->key);

	if (soap) {
		soap_release(soap);
		pthread_setspecific(s->key, NULL);
	}
}

struct svc *svc_new(const struct query_env *env)
{
	struct svc *s = calloc(1, sizeof(*s));
	size_t n = 0;

	if (!s)
		return NULL;
	s->env = *env;
	while (namespaces[n].id)
		n++;
	s->ns = calloc(n + 1, sizeof(*s->ns));
	if (!s->ns || pthread_key_create(&s->key, soap_release) != 0) {
		free(s->ns);
		free(s);
		return NULL;
	}
	memcpy(s->ns, namespaces, (n + 1) * sizeof(*s->ns));
	for (size_t i = 0; i < n; i++)
		if (strcmp(s->ns[i].id, "SOAP-ENV") == 0 || strcmp(s->ns[i].id, "SOAP-ENC") == 0)
			s->ns[i].in = NULL;
	return s;
}

void svc_free(struct svc *s)
{
	if (!s)
		return;
	svc_thread_done(s);
	pthread_key_delete(s->key);
	free(s->ns);
	free(s);
}

void svc_pending_free(struct svc_pending *p)
{
	if (!p)
		return;
	query_free(p->q);
	free(p);
}

/* --- faults -------------------------------------------------------------- */

static char **vars_copy(struct soap *soap, const struct fault *f)
{
	char **v = f->nvars ? soap_malloc(soap, (size_t)f->nvars * sizeof(char *)) : NULL;

	for (int i = 0; v && i < f->nvars; i++)
		v[i] = soap_strdup(soap, f->vars[i]);
	return v;
}

/* Makes the SOAP fault for f (contract section 6). Returns SOAP_FAULT. */
static int send_fault(struct soap *soap, const struct fault *f)
{
	char text[FAULT_VAR_MAX * FAULT_MAX_VARS + 128];
	struct SOAP_ENV__Detail *d;

	fault_format(f, text, sizeof(text));
	if (fault_is_client(f->id))
		soap_sender_fault(soap, text, NULL);
	else
		soap_receiver_fault(soap, text, NULL);
	d = soap_malloc(soap, sizeof(*d));
	if (!d)
		return SOAP_FAULT;
	soap_default_SOAP_ENV__Detail(soap, d);
	if (fault_is_policy(f->id)) {
		struct pxc__PolicyException *e = soap_malloc(soap, sizeof(*e));
		if (e) {
			soap_default_pxc__PolicyException(soap, e);
			e->messageId = (char *)fault_msgid(f->id);
			e->text = (char *)fault_template(f->id);
			e->__sizevariables = f->nvars;
			e->variables = vars_copy(soap, f);
		}
		d->pxc__PolicyException = e;
	} else {
		struct pxc__ServiceException *e = soap_malloc(soap, sizeof(*e));
		if (e) {
			soap_default_pxc__ServiceException(soap, e);
			e->messageId = (char *)fault_msgid(f->id);
			e->text = (char *)fault_template(f->id);
			e->__sizevariables = f->nvars;
			e->variables = vars_copy(soap, f);
		}
		d->pxc__ServiceException = e;
	}
	soap->fault->detail = d;
	return SOAP_FAULT;
}

static int fault1(struct soap *soap, enum fault_id id, const char *var)
{
	struct fault f;

	fault_set(&f, id, var, NULL);
	return send_fault(soap, &f);
}

static enum ts__Status status_out(ts_status st)
{
	switch (st) {
	case TS_BUSY: return ts__Status__Busy;
	case TS_REACHABLE: return ts__Status__Reachable;
	case TS_UNREACHABLE: break;
	}
	return ts__Status__Unreachable;
}

/* --- serving -------------------------------------------------------------- */

#define SOAP12_ENV "http://www.w3.org/2003/05/soap-envelope"

/* true when the document element is a SOAP 1.2 Envelope. Only SOAP 1.1 is
 * served: the caller answers VersionMismatch (contract section 1). */
static bool is_soap12(const char *body)
{
	const char *p = body, *name, *end, *colon, *decl;
	char attr[80];
	size_t plen;

	for (;;) {
		p = strchr(p, '<');
		if (!p)
			return false;
		if (p[1] == '?' || p[1] == '!') {
			p = strchr(p, '>');
			if (!p)
				return false;
			continue;
		}
		break;
	}
	name = p + 1;
	end = strchr(name, '>');
	if (!end)
		return false;
	plen = strcspn(name, " \t\r\n/>");
	colon = memchr(name, ':', plen);
	if (colon)
		snprintf(attr, sizeof(attr), "xmlns:%.*s=", (int)(colon - name), name);
	else
		snprintf(attr, sizeof(attr), "xmlns=");
	for (decl = name; (decl = strstr(decl, attr)) != NULL && decl < end; decl += strlen(attr)) {
		const char *v = decl + strlen(attr);

		if (decl[-1] != ' ' && decl[-1] != '\t' && decl[-1] != '\n' && decl[-1] != '\r')
			continue;
		if ((*v == '"' || *v == '\'') && strncmp(v + 1, SOAP12_ENV, strlen(SOAP12_ENV)) == 0 &&
		    v[1 + strlen(SOAP12_ENV)] == *v)
			return true;
	}
	return false;
}

/* Runs the generated dispatcher over body. Returns the gSOAP error (0). */
static int run(struct svc *s, struct call *c, const char *body, const char *action,
	       struct svc_response *out)
{
	struct soap *soap = thread_soap(s);
	const char *res = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	if (!soap) {
		out->http_status = 500;
		return SOAP_EOM;
	}
	soap->user = c;
	soap->is = body;
	soap->os = &res;
	soap->action = soap_strdup(soap, action);
	soap_begin_serve(soap);
	if (is_soap12(body)) {
		soap->version = 1;
		soap->error = SOAP_VERSIONMISMATCH;
	}
	err = soap->error ? soap->error : soap_serve_request(soap);
	if (err == SVC_DEFER) {
		soap->error = SOAP_OK;
	} else {
		if (err && err < SOAP_STOP)
			soap_send_fault(soap);
		if (res) {
			out->len = strlen(res);
			out->body = malloc(out->len + 1);
			if (out->body)
				memcpy(out->body, res, out->len + 1);
		}
		out->http_status = err ? 500 : 200;
	}
	soap->is = NULL;
	soap->os = NULL;
	soap->user = NULL;
	soap_destroy(soap);
	soap_end(soap);
	return err;
}

enum svc_rc svc_handle(struct svc *s, const char *body, size_t len, const char *soap_action,
		       struct svc_pending **pending, struct svc_response *out)
{
	struct call c = { .s = s, .phase = 1 };
	int err;

	(void)len;
	*pending = NULL;
	err = run(s, &c, body, soap_action, out);
	if (err == SVC_DEFER && c.p) {
		*pending = c.p;
		return SVC_WAIT;
	}
	return SVC_DONE;
}

int svc_start(struct svc_pending *p, svc_wake_h *wake, void *arg)
{
	if (query_run(p->q, wake, arg) != 0) {
		p->start_failed = true;
		return -1;
	}
	return 0;
}

void svc_finish(struct svc *s, struct svc_pending *p, const char *body, size_t len,
		const char *soap_action, struct svc_response *out)
{
	struct call c = { .s = s, .phase = 2, .p = p };

	(void)len;
	run(s, &c, body, soap_action, out);
	svc_pending_free(p);
}

static struct svc_pending *pending_new(enum op op, struct query *q)
{
	struct svc_pending *p = calloc(1, sizeof(*p));

	if (p) {
		p->op = op;
		p->q = q;
	}
	return p;
}

/* Phase-1 tail shared by the deferred operations. */
static int defer(struct soap *soap, struct call *c, enum op op, struct query *q)
{
	c->p = pending_new(op, q);
	if (!c->p) {
		query_free(q);
		return fault1(soap, SVC0001, "out of memory");
	}
	return SVC_DEFER;
}

/* Phase 2: the pending state this operation left, or NULL. */
static struct svc_pending *phase2(struct call *c, enum op op)
{
	return c->phase == 2 && c->p && c->p->op == op ? c->p : NULL;
}

int __tss__getStatus(struct soap *soap, struct tsl__getStatus *req, struct tsl__getStatusResponse *resp)
{
	struct call *c = soap->user;
	struct svc_pending *p;
	struct query *q;
	struct fault f;
	ts_status st;

	if ((p = phase2(c, OP_GET_STATUS)) != NULL) {
		if (p->start_failed)
			return fault1(soap, SVC0001, "presence service unavailable");
		if (query_single_result(p->q, &st, &f) != 0)
			return send_fault(soap, &f);
		resp->result = status_out(st);
		return SOAP_OK;
	}
	q = query_new_single(&c->s->env, req->address, &f);
	if (!q)
		return send_fault(soap, &f);
	return defer(soap, c, OP_GET_STATUS, q);
}

int __tss__getStatusForGroup(struct soap *soap, struct tsl__getStatusForGroup *req,
			     struct tsl__getStatusForGroupResponse *resp)
{
	struct call *c = soap->user;
	struct svc_pending *p;
	struct query *q;
	struct fault f;
	size_t n;

	if ((p = phase2(c, OP_GET_STATUS_FOR_GROUP)) != NULL) {
		if (p->start_failed)
			return fault1(soap, SVC0001, "presence service unavailable");
		n = query_count(p->q);
		resp->__sizeresult = (int)n;
		resp->result = soap_malloc(soap, (n ? n : 1) * sizeof(*resp->result));
		if (!resp->result)
			return fault1(soap, SVC0001, "out of memory");
		for (size_t i = 0; i < n; i++) {
			struct ts__StatusData *sd = &resp->result[i];
			struct query_answer a;

			query_answer(p->q, i, &a);
			soap_default_ts__StatusData(soap, sd);
			sd->address = soap_strdup(soap, a.address);
			switch (a.kind) {
			case QA_RETRIEVED:
				sd->reportStatus = ts__RetrievalStatus__Retrieved;
				sd->currentStatus = soap_malloc(soap, sizeof(*sd->currentStatus));
				if (sd->currentStatus)
					*sd->currentStatus = status_out(a.status);
				break;
			case QA_NOT_RETRIEVED:
				sd->reportStatus = ts__RetrievalStatus__NotRetrieved;
				break;
			case QA_ERROR:
				sd->reportStatus = ts__RetrievalStatus__Error;
				sd->errorInformation = soap_malloc(soap, sizeof(*sd->errorInformation));
				if (sd->errorInformation) {
					struct pxc__ServiceError *e = sd->errorInformation;

					soap_default_pxc__ServiceError(soap, e);
					e->messageId = (char *)fault_msgid(a.error.id);
					e->text = (char *)fault_template(a.error.id);
					e->__sizevariables = a.error.nvars;
					e->variables = vars_copy(soap, &a.error);
				}
				break;
			}
		}
		return SOAP_OK;
	}
	if (req->__sizeaddresses <= 0)
		return fault1(soap, SVC0002, "addresses");
	q = query_new_group(&c->s->env, (const char *const *)req->addresses,
			    (size_t)req->__sizeaddresses, &f);
	if (!q)
		return send_fault(soap, &f);
	return defer(soap, c, OP_GET_STATUS_FOR_GROUP, q);
}

/* --- not yet served -------------------------------------------------------- */

int __tsnms__startNotification(struct soap *soap, struct tsnml__startNotification *req,
			       struct tsnml__startNotificationResponse *resp)
{
	(void)req; (void)resp;
	return fault1(soap, SVC0001, "startNotification is not available in this version");
}

int __tsnms__endNotification(struct soap *soap, struct tsnml__endNotification *req,
			     struct tsnml__endNotificationResponse *resp)
{
	(void)req; (void)resp;
	return fault1(soap, SVC0001, "endNotification is not available in this version");
}

/* The callback interface is implemented by clients, not by the gateway. */
static int not_here(struct soap *soap)
{
	return soap_sender_fault(soap, "This operation is served by the client's notification endpoint, "
				 "not by the gateway", NULL);
}

int __tsns__statusNotification(struct soap *soap, struct tsnl__statusNotification *req,
			       struct tsnl__statusNotificationResponse *resp)
{
	(void)req; (void)resp;
	return not_here(soap);
}

int __tsns__statusError(struct soap *soap, struct tsnl__statusError *req,
			struct tsnl__statusErrorResponse *resp)
{
	(void)req; (void)resp;
	return not_here(soap);
}

int __tsns__statusEnd(struct soap *soap, struct tsnl__statusEnd *req, struct tsnl__statusEndResponse *resp)
{
	(void)req; (void)resp;
	return not_here(soap);
}

int __tsns__statusChanged(struct soap *soap, struct tsnl__statusChanged *req,
			  struct tsnl__statusChangedResponse *resp)
{
	(void)req; (void)resp;
	return not_here(soap);
}
