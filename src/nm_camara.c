/*
 * nm_camara.c - CAMARA subscriptions on the SIP thread (see camara_sub.h):
 * a subscription's actions as CloudEvents, and the list, get and delete
 * operations of the REST side, run where the notifications live.
 *
 * Part of pxtsgw. License: GPL-2.0-or-later.
 */
#include "camara_sub.h"

#include <stdlib.h>
#include <string.h>

#include "dlv.h"
#include "log.h"
#include "loop.h"
#include "nm_int.h"
#include "sbuf.h"
#include "store.h"

/* Why a subscription ended by itself (statusEnd): its max events, else
 * its duration, which ends at the token's expiry when that is earlier. */
static enum csub_reason end_reason(const struct nmn *n)
{
	const struct csub *c = n->cam;

	if (c->end_reason != CSUB_END_NONE)
		return c->end_reason;
	if (c->max_events > 0 && n->sent_base + notif_sent(n->notif) >= c->max_events)
		return CSUB_MAX_EVENTS_REACHED;
	if (c->token_expires_ms && c->token_expires_ms < c->expires_ms)
		return CSUB_ACCESS_TOKEN_EXPIRED;
	return CSUB_SUBSCRIPTION_EXPIRED;
}

bool csub_item(const struct nmn *n, const struct notif_action *a, struct dlv_item *it, char **body)
{
	const struct csub *c = n->cam;
	enum csub_reason r = CSUB_END_NONE;
	enum dlv_op op;
	char id[CSUB_ID_LEN + 1];

	switch (a->kind) {
	case NA_NOTIFY:
		op = csub_event_op(c->type);
		break;
	case NA_END:
		op = DLV_CE_SUBSCRIPTION_ENDED;
		r = end_reason(n);
		break;
	case NA_ERROR:
	default:
		/* the presence subscription failed for good */
		op = DLV_CE_SUBSCRIPTION_ENDED;
		r = c->end_reason != CSUB_END_NONE ? c->end_reason : CSUB_NETWORK_TERMINATED;
		break;
	}
	csub_uuid(id);
	*body = csub_event_json(id, c->source, op, store_wall_ms(), n->correlator, c->phone, r);
	if (!*body)
		return false;
	*it = (struct dlv_item){
		.op = op, .app = n->app, .correlator = n->correlator, .endpoint = n->endpoint,
		.body = *body, .bearer = c->bearer, .x_correlator = c->x_correlator,
	};
	return true;
}

/* --- list, get, delete ----------------------------------------------------- */

struct csub_op {
	enum csub_op_kind kind;
	char *app, *id;
	int status;
	char *json;
	struct nm *nm;
	nm_done_h *done;
	void *done_arg;
};

struct csub_op *csub_op_new(enum csub_op_kind kind, const char *app, const char *id)
{
	struct csub_op *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->kind = kind;
	o->app = strdup(app ? app : "");
	o->id = strdup(id ? id : "");
	if (!o->app || !o->id) {
		csub_op_free(o);
		return NULL;
	}
	return o;
}

void csub_op_free(struct csub_op *o)
{
	if (!o)
		return;
	free(o->app);
	free(o->id);
	free(o->json);
	free(o);
}

/* A subscription that still runs: ended ones are gone (section 12). */
static bool live(const struct nmn *n)
{
	return n && n->cam && n->running && !n->removing && n->cam->end_reason == CSUB_END_NONE;
}

/* The application's subscriptions, oldest first (the list is newest
 * first), as a JSON array of their answers. */
static void list(struct csub_op *o)
{
	struct sbuf b = SBUF_INIT(64 * 1024 * 1024);
	struct nmn *last = NULL;
	bool first = true;

	for (struct nmn *n = o->nm->list; n; n = n->next)
		last = n;
	sbuf_puts(&b, "[");
	for (struct nmn *n = last; n; n = n->prev) {
		if (!live(n) || strcmp(n->app, o->app) != 0)
			continue;
		if (!first)
			sbuf_puts(&b, ",");
		sbuf_puts(&b, n->cam->json);
		first = false;
	}
	sbuf_puts(&b, "]");
	o->json = sbuf_take(&b, NULL);
	o->status = o->json ? 200 : 500;
}

static void op_on_sip(void *arg)
{
	struct csub_op *o = arg;
	struct nmn *n;

	switch (o->kind) {
	case CSUB_OP_LIST:
		list(o);
		break;
	case CSUB_OP_GET:
		n = nm_find(o->nm, o->app, o->id);
		if (!live(n))
			o->status = 404;
		else
			o->status = (o->json = strdup(n->cam->json)) ? 200 : 500;
		break;
	case CSUB_OP_DELETE:
		n = nm_find(o->nm, o->app, o->id);
		if (!live(n)) {
			o->status = 404;
		} else {
			nm_end_subscription(n, CSUB_SUBSCRIPTION_DELETED);   /* n may be gone */
			o->status = 204;
		}
		break;
	}
	o->done(o->done_arg);
}

int csub_op_async(struct nm *nm, struct csub_op *o, nm_done_h *done, void *arg)
{
	o->nm = nm;
	o->done = done;
	o->done_arg = arg;
	o->status = 500;
	return loop_post(nm->loop, op_on_sip, o);
}

int csub_op_result(const struct csub_op *o, const char **json)
{
	*json = o->json;
	return o->status;
}
