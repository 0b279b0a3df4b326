/*
 * rest_subs.c - the CAMARA subscriptions API (contract section 12):
 * POST, GET (list), GET /{id}, DELETE /{id} under
 * /device-reachability-status-subscriptions/v0.8/subscriptions.
 *
 * The subscription itself is a notification of the core (camara_sub.h):
 * POST checks the body and the sink here (the sink's DNS lookup on this
 * HTTP thread, never on the SIP thread), then starts it on the SIP thread
 * and answers once its presence subscription has a first state (or was
 * refused: then nothing is created and the answer is retrieve's error).
 * GET and DELETE run on the SIP thread, where the subscriptions live.
 *
 * Part of pxtsgw. License: GPL-2.0-or-later.
 */
#include "rest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camara_sub.h"
#include "log.h"
#include "nm.h"
#include "store.h"

#define SUB_ID_MAX 256

/* --- POST ----------------------------------------------------------------------- */

struct create {
	struct nm *nm;
	struct nm_start *s;
};

static void create_free(void *work)
{
	struct create *w = work;

	nm_start_free(w->s);
	free(w);
}

static int create_start(void *work, rest_wake_h *wake, void *arg)
{
	struct create *w = work;

	return nm_start_async(w->nm, w->s, wake, arg);
}

/* A body of ours (malloc'd copy of json) with status. */
static void reply_text(struct rest_reply *out, unsigned status, const char *json)
{
	out->body = strdup(json);
	if (!out->body) {
		rest_reply_error(out, 500, "INTERNAL", "out of memory");
		return;
	}
	out->len = strlen(out->body);
	out->status = status;
}

static void create_finish(struct rest_req *q, void *work, bool start_failed, struct rest_reply *out)
{
	struct create *w = work;
	const struct csub *c = csub_of(w->s);

	if (start_failed) {
		rest_reply_error(out, 503, "UNAVAILABLE", "The subscription service is unavailable");
		return;
	}
	if (csub_start_result(w->s, out) != 0)
		return;
	reply_text(out, 201, c->json);
	if (out->status == 201) {
		snprintf(out->location, sizeof(out->location), "%s%s/%s", q->base_url, REST_SUBS_PATH,
			 csub_id(w->s));
		free(q->usage.correlator);      /* its usage record names the new id */
		q->usage.correlator = strdup(csub_id(w->s));
	}
}

static enum rest_rc create(struct rest_req *q, struct rest_reply *out)
{
	struct svc_view v;
	struct nm_start *s = NULL;
	struct create *w;
	json_t *body;

	if (rest_parse_body(q->body, q->len, &body, out) != 0)
		return REST_DONE;
	svc_view_get(rest_config_of(q->rest)->svc, &v);
	if (!v.nm) {
		rest_reply_error(out, 503, "UNAVAILABLE", "Subscriptions are not enabled");
	} else {
		struct csub_params p = {
			.app = q->who.app,
			.x_correlator = q->correlator_ok && q->correlator[0] ? q->correlator : NULL,
			.source = q->base_url,
			.pol = v.pol,
			.tel_domain = v.env->tel_domain,
			.now_ms = store_wall_ms(),
		};

		s = csub_prepare(body, &p, out);
		/* section 11's destination check (may wait for DNS: here, on
		 * this HTTP thread); refused, nothing is created */
		if (s && csub_check_sink(s, v.pol, out) != 0) {
			nm_start_free(s);
			s = NULL;
		}
	}
	json_decref(body);
	w = s ? calloc(1, sizeof(*w)) : NULL;
	if (w) {
		w->nm = v.nm;
		w->s = s;
	}
	svc_view_put(&v);
	if (!s)
		return REST_DONE;
	if (!w) {
		nm_start_free(s);
		rest_reply_error(out, 500, "INTERNAL", "out of memory");
		return REST_DONE;
	}
	q->work = w;
	q->start = create_start;
	q->finish = create_finish;
	q->work_free = create_free;
	return REST_WAIT;
}

/* --- GET, DELETE ------------------------------------------------------------------ */

struct opw {
	struct nm *nm;
	struct csub_op *o;
};

static void op_free(void *work)
{
	struct opw *w = work;

	csub_op_free(w->o);
	free(w);
}

static int op_start(void *work, rest_wake_h *wake, void *arg)
{
	struct opw *w = work;

	return csub_op_async(w->nm, w->o, wake, arg);
}

static void op_finish(struct rest_req *q, void *work, bool start_failed, struct rest_reply *out)
{
	struct opw *w = work;
	const char *json;

	(void)q;
	if (start_failed) {
		rest_reply_error(out, 503, "UNAVAILABLE", "The subscription service is unavailable");
		return;
	}
	switch (csub_op_result(w->o, &json)) {
	case 200:
		reply_text(out, 200, json);
		return;
	case 204:
		rest_reply_empty(out, 204);
		return;
	case 404:
		rest_reply_error(out, 404, "NOT_FOUND", "The specified resource is not found");
		return;
	default:
		rest_reply_error(out, 500, "INTERNAL", "out of memory");
		return;
	}
}

static enum rest_rc defer_op(struct rest_req *q, enum csub_op_kind kind, const char *id,
			     struct rest_reply *out)
{
	struct nm *nm = rest_config_of(q->rest)->nm;
	struct opw *w;

	if (!nm) {
		rest_reply_error(out, 503, "UNAVAILABLE", "Subscriptions are not enabled");
		return REST_DONE;
	}
	w = calloc(1, sizeof(*w));
	if (!w || !(w->o = csub_op_new(kind, q->who.app, id))) {
		free(w);
		rest_reply_error(out, 500, "INTERNAL", "out of memory");
		return REST_DONE;
	}
	w->nm = nm;
	q->work = w;
	q->start = op_start;
	q->finish = op_finish;
	q->work_free = op_free;
	return REST_WAIT;
}

/* --- dispatch ----------------------------------------------------------------------- */

enum rest_rc rest_subs_serve(struct rest_req *q, const char *tail, struct rest_reply *out)
{
	bool get = strcmp(q->method, "GET") == 0, post = strcmp(q->method, "POST") == 0,
	     del = strcmp(q->method, "DELETE") == 0;
	const char *id;

	if (tail[0] == '\0') {
		if (post)
			return create(q, out);
		if (get)
			return defer_op(q, CSUB_OP_LIST, "", out);
		rest_reply_error(out, 405, "METHOD_NOT_ALLOWED", "use GET or POST here");
		return REST_DONE;
	}
	id = tail + 1;      /* tail is "/..." */
	if (!*id || strchr(id, '/') || strlen(id) > SUB_ID_MAX) {
		rest_reply_error(out, 404, "NOT_FOUND", "The specified resource is not found");
		return REST_DONE;
	}
	if (get)
		return defer_op(q, CSUB_OP_GET, id, out);
	if (del)
		return defer_op(q, CSUB_OP_DELETE, id, out);
	rest_reply_error(out, 405, "METHOD_NOT_ALLOWED", "use GET or DELETE here");
	return REST_DONE;
}
