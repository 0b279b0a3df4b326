/*
 * rest.c - the REST binding's requests (rest.h): the dispatcher, the
 * retrieve operation and the OpenAPI document (contract section 12).
 *
 * retrieve goes through the same query path as getStatus (query.h): one
 * query of one address, tel:+N, answered from a subscription's state when
 * one is active, sharing an in-flight fetch of the same presentity
 * otherwise; the HTTP request is suspended meanwhile (front.c). An
 * outcome that says nothing about the device (no answer in time, 408,
 * 5xx, a presence server that is down, a body we cannot read) is 503
 * UNAVAILABLE, never "not reachable".
 */
#include "rest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mono.h"
#include "query.h"
#include "wsdl_blob.h"

struct rest {
	struct rest_config cfg;
};

struct rest *rest_new(const struct rest_config *cfg)
{
	struct rest *r = calloc(1, sizeof(*r));

	if (r)
		r->cfg = *cfg;
	return r;
}

void rest_free(struct rest *r)
{
	free(r);
}

const struct rest_config *rest_config_of(const struct rest *r)
{
	return &r->cfg;
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool rest_path(const char *url)
{
	return has_prefix(url, REST_RETRIEVE_PREFIX) || has_prefix(url, REST_SUBS_PREFIX);
}

bool rest_open_path(const char *url)
{
	return strcmp(url, REST_OPENAPI_PATH) == 0;
}

struct rest_req *rest_req_new(struct rest *r, const char *method, const char *url,
			      const char *body, size_t len, const struct svc_caller *who,
			      const char *correlator, const char *base_url)
{
	struct rest_req *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->url = strdup(url);
	if (!q->url) {
		free(q);
		return NULL;
	}
	q->rest = r;
	snprintf(q->method, sizeof(q->method), "%s", strcmp(method, "HEAD") == 0 ? "GET" : method);
	q->body = body ? body : "";
	q->len = body ? len : 0;
	if (who)
		q->who = *who;
	q->has_correlator = correlator != NULL;
	q->correlator_ok = rest_correlator_ok(correlator);
	if (q->correlator_ok)
		snprintf(q->correlator, sizeof(q->correlator), "%s", correlator);
	snprintf(q->base_url, sizeof(q->base_url), "%s", base_url ? base_url : "");
	q->usage = (struct svc_usage){ .addresses = -1, .expanded = -1, .count = -1,
				       .fault = FAULT_NONE };
	return q;
}

void rest_req_free(struct rest_req *q)
{
	if (!q)
		return;
	if (q->work && q->work_free)
		q->work_free(q->work);
	svc_usage_clear(&q->usage);
	free(q->url);
	free(q);
}

int rest_start(struct rest_req *q, rest_wake_h *wake, void *arg)
{
	if (!q->start || q->start(q->work, wake, arg) != 0) {
		q->start_failed = true;
		return -1;
	}
	return 0;
}

void rest_finish(struct rest_req *q, struct rest_reply *out)
{
	memset(out, 0, sizeof(*out));
	if (!q->finish) {
		rest_reply_error(out, 503, "UNAVAILABLE", "The service is unavailable");
		return;
	}
	q->finish(q, q->work, q->start_failed, out);
}

/* --- retrieve -------------------------------------------------------------------- */

struct retrieve {
	struct query *q;
	struct rest_device dev;
	bool echo_device;          /* the request named more than one identifier */
};

static void retrieve_free(void *work)
{
	struct retrieve *w = work;

	query_free(w->q);
	free(w);
}

static int retrieve_start(void *work, rest_wake_h *wake, void *arg)
{
	struct retrieve *w = work;

	return query_run(w->q, wake, arg);
}

static void retrieve_finish(struct rest_req *q, void *work, bool start_failed,
			    struct rest_reply *out)
{
	struct retrieve *w = work;
	const struct fetch_result *r = query_single_fetch(w->q);

	if (!start_failed)
		query_cause(w->q, q->usage.cause, sizeof(q->usage.cause));
	if (start_failed) {
		rest_reply_error(out, 503, "UNAVAILABLE", "The presence service is unavailable");
		return;
	}
	switch (r->outcome) {
	case FETCH_OK:
		rest_reply_json(out, 200, rest_status_json(r->status, r->learned_ms ? r->learned_ms :
							   wall_ms(), w->echo_device ? &w->dev : NULL));
		return;
	case FETCH_NORESOURCE:
		rest_reply_error(out, 404, "IDENTIFIER_NOT_FOUND",
				 "The phone number is not known to the presence service");
		return;
	case FETCH_REJECTED:
		rest_reply_error(out, 403, "PERMISSION_DENIED",
				 "The presence service refused to tell this device's status");
		return;
	case FETCH_TIMEOUT:
	case FETCH_FAILED:
	case FETCH_PENDING:
	default:
		log_info("rest: retrieve %s: 503: %s", w->dev.sip,
			 r->detail[0] ? r->detail : "no answer");
		rest_reply_error(out, 503, "UNAVAILABLE",
				 "The device's reachability could not be retrieved now: %s",
				 r->outcome == FETCH_TIMEOUT ? "the presence service did not answer (timeout or server error)" :
				 "the presence service failed");
		return;
	}
}

static enum rest_rc retrieve(struct rest_req *q, struct rest_reply *out)
{
	struct svc_view v;
	struct retrieve *w;
	json_t *body, *dev;
	struct fault f;
	int rc;

	if (rest_parse_body(q->body, q->len, &body, out) != 0)
		return REST_DONE;
	w = calloc(1, sizeof(*w));
	if (!w) {
		json_decref(body);
		rest_reply_error(out, 503, "UNAVAILABLE", "out of memory");
		return REST_DONE;
	}
	svc_view_get(q->rest->cfg.svc, &v);
	rc = rest_field(body, "device", REST_OBJECT, "device", &dev, out);
	if (rc >= 0)
		rc = rest_device_parse(dev, v.env->tel_domain, &w->dev, out);
	json_decref(body);
	if (rc == 0) {
		w->echo_device = w->dev.n_ids > 1;
		w->q = query_new_single(v.env, w->dev.tel, &f);
		if (!w->q) {
			rc = -1;
			if (f.id == SVC0002)
				rest_reply_error(out, 400, "INVALID_ARGUMENT",
						 "device.phoneNumber is not a valid address");
			else
				rest_reply_error(out, 503, "UNAVAILABLE", "The service is unavailable");
		}
	}
	svc_view_put(&v);
	if (rc != 0) {
		retrieve_free(w);
		return REST_DONE;
	}
	query_set_log(w->q, q->who.req, q->who.app);
	if (query_from_state(w->q)) {   /* a watched device: no SIP round trip */
		retrieve_finish(q, w, false, out);
		retrieve_free(w);
		return REST_DONE;
	}
	q->work = w;
	q->start = retrieve_start;
	q->finish = retrieve_finish;
	q->work_free = retrieve_free;
	return REST_WAIT;
}

/* --- the OpenAPI document ---------------------------------------------------------- */

static void serve_openapi(struct rest_reply *out)
{
	const struct wsdl_file *d = &openapi_files[0];

	out->body = d->name ? malloc(d->len + 1) : NULL;
	if (!out->body) {
		rest_reply_error(out, 500, "INTERNAL", "no OpenAPI document");
		return;
	}
	memcpy(out->body, d->data, d->len + 1);
	out->len = d->len;
	out->status = 200;
	out->ctype = "application/yaml";
}

/* --- dispatch ----------------------------------------------------------------------- */

/* The usage record's operation of a subscriptions request (tail: the path
 * after the collection's) and, for one subscription, its id as the
 * correlator; a create's id is known once it is made (rest_subs.c). */
static void usage_subs(struct rest_req *q, const char *tail)
{
	bool get = strcmp(q->method, "GET") == 0;

	if (tail[0] == '\0' || strcmp(tail, "/") == 0) {
		q->usage.operation = get ? "listSubscriptions" :
			strcmp(q->method, "POST") == 0 ? "createSubscription" : NULL;
		return;
	}
	q->usage.operation = get ? "getSubscription" :
		strcmp(q->method, "DELETE") == 0 ? "deleteSubscription" : NULL;
	if (q->usage.operation && strlen(tail + 1) <= 256 && !strchr(tail + 1, '/'))
		q->usage.correlator = strdup(tail + 1);
}

static enum rest_rc not_allowed(struct rest_reply *out, const char *allow)
{
	rest_reply_error(out, 405, "METHOD_NOT_ALLOWED", "use %s here", allow);
	return REST_DONE;
}

enum rest_rc rest_serve(struct rest_req *q, struct rest_reply *out)
{
	const char *url = q->url;
	bool get = strcmp(q->method, "GET") == 0, post = strcmp(q->method, "POST") == 0;

	memset(out, 0, sizeof(*out));
	if (strcmp(url, REST_RETRIEVE_PATH) == 0) {
		q->usage.operation = "retrieve";
		q->usage.addresses = 1;
	} else if (has_prefix(url, REST_SUBS_PATH) &&
		   (url[strlen(REST_SUBS_PATH)] == '\0' || url[strlen(REST_SUBS_PATH)] == '/')) {
		usage_subs(q, url + strlen(REST_SUBS_PATH));
	}
	if (q->has_correlator && !q->correlator_ok) {
		rest_reply_error(out, 400, "INVALID_ARGUMENT",
				 "x-correlator must be 0 to 256 letters, digits or - _ : ; . / < > { }");
		return REST_DONE;
	}
	if (strcmp(url, REST_OPENAPI_PATH) == 0) {
		if (!get)
			return not_allowed(out, "GET");
		serve_openapi(out);
		return REST_DONE;
	}
	if (strcmp(url, REST_RETRIEVE_PATH) != 0 &&
	    !(has_prefix(url, REST_SUBS_PATH) &&
	      (url[strlen(REST_SUBS_PATH)] == '\0' || url[strlen(REST_SUBS_PATH)] == '/'))) {
		rest_reply_error(out, 404, "NOT_FOUND", "The specified resource is not found");
		return REST_DONE;
	}
	if (strcmp(url, REST_RETRIEVE_PATH) == 0 && !post)
		return not_allowed(out, "POST");
	if (!q->rest->cfg.svc) {
		rest_reply_error(out, 503, "UNAVAILABLE", "The service is unavailable");
		return REST_DONE;
	}
	if (!svc_rate_admit(q->rest->cfg.svc, q->who.app)) {
		rest_reply_error(out, 429, "TOO_MANY_REQUESTS", "Rate limit reached");
		return REST_DONE;
	}
	if (strcmp(url, REST_RETRIEVE_PATH) == 0)
		return retrieve(q, out);
	return rest_subs_serve(q, url + strlen(REST_SUBS_PATH), out);
}
