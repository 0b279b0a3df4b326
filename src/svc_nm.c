/*
 * svc_nm.c - the TerminalStatusNotificationManager operations of the SOAP
 * glue (startNotification, endNotification; contract section 5) and the
 * refusal of the client's own operations (TerminalStatusNotification).
 */
#include "svc_int.h"

#include <stdlib.h>

/* --- notifications ---------------------------------------------------------- */

static void time_in(const struct pxc__TimeMetric *t, struct nm_time *out)
{
	out->present = t != NULL;
	if (t) {
		out->metric = (enum nm_metric)t->metric;  /* same order as TimeMetrics */
		out->units = t->units;
	}
}

static ts_status status_in(enum ts__Status st)
{
	switch (st) {
	case ts__Status__Busy: return TS_BUSY;
	case ts__Status__Reachable: return TS_REACHABLE;
	case ts__Status__Unreachable: break;
	}
	return TS_UNREACHABLE;
}

/* Phase 1 of both operations: within the request rate, and notifications
 * enabled. SOAP_OK, or the fault sent. */
static int phase1_checks(struct soap *soap, struct call *c)
{
	if (!svc_admitted(c))
		return RATE_FAULT(soap);
	if (!c->s->nm)
		return svc_fault1(soap, SVC0001, "notifications are not enabled");
	return SOAP_OK;
}

int __tsnms__startNotification(struct soap *soap, struct tsnml__startNotification *req,
			       struct tsnml__startNotificationResponse *resp)
{
	struct call *c = soap->user;
	struct svc_pending *p;
	struct nm_request r = { 0 };
	ts_status crit[3];
	struct nm_start *ns;
	struct fault f;
	int rc;

	(void)resp;
	svc_usage_op(c, "startNotification");
	if ((p = svc_phase2(c, OP_START_NOTIFICATION)) != NULL) {
		if (p->start_failed)
			return svc_fault1(soap, SVC0001, "notification service unavailable");
		if (nm_start_result(p->ns, &f) != 0)
			return svc_send_fault(soap, &f);
		return SOAP_OK;
	}
	if (c->u) {
		c->u->addresses = req->__sizeaddresses > 0 ? req->__sizeaddresses : 0;
		c->u->count = req->count ? *req->count : -1;
		if (req->reference)
			svc_usage_correlator(c, req->reference->correlator);
	}
	if ((rc = phase1_checks(soap, c)) != SOAP_OK)
		return rc;
	r.app = c->app;
	if (req->reference) {
		r.endpoint = req->reference->endpoint;
		r.interface_name = req->reference->interfaceName;
		r.correlator = req->reference->correlator;
	}
	r.addresses = (const char *const *)req->addresses;
	r.n_addresses = req->__sizeaddresses > 0 ? (size_t)req->__sizeaddresses : 0;
	if (req->__sizecriteria > 3) {
		/* three distinct values at most: a longer list repeats them */
		unsigned seen = 0;
		for (int i = 0; i < req->__sizecriteria; i++)
			seen |= 1u << status_in(req->criteria[i]);
		for (int k = 0; k < 3; k++)
			if (seen & (1u << k))
				crit[r.n_criteria++] = (ts_status)k;
	} else {
		for (int i = 0; i < req->__sizecriteria; i++)
			crit[r.n_criteria++] = status_in(req->criteria[i]);
	}
	r.criteria = crit;
	r.check_immediate = req->checkImmediate == xsd__boolean__true_;
	time_in(req->frequency, &r.frequency);
	time_in(req->duration, &r.duration);
	r.has_count = req->count != NULL;
	r.count = req->count ? *req->count : 0;
	ns = nm_prepare(&r, &c->conf->pol, c->conf->env.groups, c->conf->env.tel_domain, c->conf->style, &f);
	if (!ns)
		return svc_send_fault(soap, &f);
	if (c->u)
		c->u->expanded = (long)nm_start_count(ns);
	/* the endpoint's destination (contract section 11), here on the HTTP
	 * thread: its DNS lookup may take up to delivery.dns-timeout-ms and
	 * must never hold up the SIP thread; refused, nothing is created */
	if (nm_check_endpoint(ns, &c->conf->pol, &f) != 0) {
		nm_start_free(ns);
		return svc_send_fault(soap, &f);
	}
	return svc_defer(soap, c, OP_START_NOTIFICATION, NULL, ns, NULL);
}

int __tsnms__endNotification(struct soap *soap, struct tsnml__endNotification *req,
			     struct tsnml__endNotificationResponse *resp)
{
	struct call *c = soap->user;
	struct svc_pending *p;
	struct nm_end *ne;
	struct fault f;
	int rc;

	(void)resp;
	svc_usage_op(c, "endNotification");
	if ((p = svc_phase2(c, OP_END_NOTIFICATION)) != NULL) {
		if (p->start_failed)
			return svc_fault1(soap, SVC0001, "notification service unavailable");
		if (nm_end_result(p->ne, &f) != 0)
			return svc_send_fault(soap, &f);
		return SOAP_OK;
	}
	svc_usage_correlator(c, req->correlator);
	if ((rc = phase1_checks(soap, c)) != SOAP_OK)
		return rc;
	if (!req->correlator || !*req->correlator)
		return svc_fault1(soap, SVC0002, "correlator");
	ne = nm_end_new(c->app, req->correlator);
	if (!ne)
		return svc_fault1(soap, SVC0001, "out of memory");
	return svc_defer(soap, c, OP_END_NOTIFICATION, NULL, NULL, ne);
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
