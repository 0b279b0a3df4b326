/*
 * nm_store.c - running notifications in the store, so that they survive a
 * restart (see nm.h): saved before startNotification answers, progress
 * (callbacks counted, statuses reported) saved once every callback is in
 * the outbox, and brought back at start by nm_restore.
 *
 * On the SIP thread, except nm_restore's load from the store (the caller's
 * thread, before the restored ones are handed to the SIP thread).
 */
#include "nm_int.h"

#include <stdlib.h>
#include <string.h>

#include "camara_sub.h"
#include "dlv.h"
#include "log.h"
#include "loop.h"
#include "mono.h"
#include "store.h"
#include "watch.h"

/* --- saving (SIP thread) ------------------------------------------------------ */

/* The statuses last reported, per address: into buf when there is room,
 * else into an allocation (free it when it is not buf). NULL when out of
 * memory. */
static int *reported(const struct nmn *n, int *buf, size_t cap)
{
	int *r = buf;

	if (n->naddr > cap && !(r = calloc(n->naddr, sizeof(*r))))
		return NULL;
	for (size_t i = 0; i < n->naddr; i++)
		r[i] = notif_reported(n->notif, i);
	return r;
}

/* Saves what a restart needs to continue: callbacks counted, statuses
 * reported. After the callbacks are in the outbox: a crash in between
 * repeats a callback rather than losing it. */
void nm_save_progress(const struct nmn *n)
{
	int buf[64], *r;

	if (!n->nm->cfg.store || !n->notif)
		return;
	r = reported(n, buf, sizeof(buf) / sizeof(buf[0]));
	if (!r)
		return;
	/* not waited for: the SIP thread waits for no commit of its own; the
	 * writer commits it after the callbacks' outbox rows, in their group.
	 * A crash before that repeats a callback after the restart (the
	 * status last reported is older), never loses one */
	store_notif_progress_submit(n->nm->cfg.store, n->app, n->correlator,
				    n->sent_base + notif_sent(n->notif), r, n->naddr);
	if (r != buf)
		free(r);
}

/* Saves a notification that starts running. */
int nm_save_new(const struct nmn *n, const struct nm_start *s)
{
	int buf[64];
	struct store_notif sn = {
		.app = n->app,
		.correlator = n->correlator,
		.endpoint = n->endpoint,
		.interface_name = s->interface_name,
		.criteria = s->params.criteria,
		.frequency_ms = s->params.frequency_ms,
		.count = s->params.count,
		.sent = 0,
		.style = (int)s->params.style,
		.end_ms = store_wall_ms() + s->duration_ms,
		.created_ms = store_wall_ms(),
		.n = n->naddr,
		.addresses = (const char *const *)n->addresses,
		.sip_uris = (const char *const *)s->sip_uris,
	};
	int rc;

	char *cam = NULL;

	if (!n->nm->cfg.store)
		return 0;
	if (n->cam && !(sn.camara = cam = csub_encode(n->cam)))
		return -1;
	sn.reported = reported(n, buf, sizeof(buf) / sizeof(buf[0]));
	if (!sn.reported) {
		free(cam);
		return -1;
	}
	rc = store_notif_save(n->nm->cfg.store, &sn);
	if (sn.reported != buf)
		free((int *)sn.reported);
	free(cam);
	return rc;
}

/* --- restore after a restart ------------------------------------------------ */

/* A saved notification, copied out of the store's load callback. */
struct saved {
	struct store_notif sn;
	char *app, *correlator, *endpoint, *interface_name;
	char *camara;               /* NULL: not a subscription */
	char **addresses, **sip_uris;
	int *reported;
	struct saved *next;
};

static void saved_free(struct saved *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->sn.n; i++) {
		free(v->addresses ? v->addresses[i] : NULL);
		free(v->sip_uris ? v->sip_uris[i] : NULL);
	}
	free(v->addresses);
	free(v->sip_uris);
	free(v->reported);
	free(v->app);
	free(v->correlator);
	free(v->endpoint);
	free(v->interface_name);
	free(v->camara);
	free(v);
}

struct restore {
	struct nm *nm;
	struct saved *list, **tail;
	int restored, ended;
	bool oom;
};

static void load_one(const struct store_notif *sn, void *arg)
{
	struct restore *r = arg;
	struct saved *v = calloc(1, sizeof(*v));
	bool ok;

	if (!v) {
		r->oom = true;
		return;
	}
	v->sn = *sn;
	v->app = strdup(sn->app ? sn->app : "");
	v->correlator = strdup(sn->correlator);
	v->endpoint = strdup(sn->endpoint);
	v->interface_name = strdup(sn->interface_name ? sn->interface_name : "");
	v->camara = sn->camara ? strdup(sn->camara) : NULL;
	v->addresses = calloc(sn->n, sizeof(char *));
	v->sip_uris = calloc(sn->n, sizeof(char *));
	v->reported = calloc(sn->n, sizeof(int));
	ok = v->app && v->correlator && v->endpoint && v->interface_name && v->addresses && v->sip_uris &&
	     v->reported && (!sn->camara || v->camara);
	for (size_t i = 0; ok && i < sn->n; i++) {
		v->addresses[i] = strdup(sn->addresses[i]);
		v->sip_uris[i] = strdup(sn->sip_uris[i]);
		v->reported[i] = sn->reported[i];
		ok = v->addresses[i] && v->sip_uris[i];
	}
	if (!ok) {
		v->sn.n = sn->n;
		saved_free(v);
		r->oom = true;
		return;
	}
	*r->tail = v;
	r->tail = &v->next;
}

/* Sends statusEnd for a notification that ended while the gateway was
 * down; for a subscription (cam), subscription-ended with reason. */
static void end_saved(struct nm *nm, const struct saved *v, const char *why, const struct csub *cam,
		      enum csub_reason reason)
{
	struct dlv_item it = {
		.op = DLV_STATUS_END, .app = v->app, .correlator = v->correlator,
		.endpoint = v->endpoint,
	};
	char *body = NULL;

	if (cam) {
		char id[CSUB_ID_LEN + 1];

		csub_uuid(id);
		body = csub_event_json(id, cam->source, DLV_CE_SUBSCRIPTION_ENDED, store_wall_ms(),
				       v->correlator, cam->phone, reason);
		it.op = DLV_CE_SUBSCRIPTION_ENDED;
		it.body = body;
		it.bearer = cam->bearer;
		it.x_correlator = cam->x_correlator;
	}
	log_info("nm: notification %s %s while the gateway was down: %s", v->correlator, why,
		 cam ? "subscription-ended" : "statusEnd");
	if ((cam && !body) || dlv_enqueue(nm->cfg.dlv, &it) == 0)
		log_error("nm: %s: cannot queue its end", v->correlator);
	free(body);
	/* nothing more for it: its health record goes once that is sent */
	dlv_forget(nm->cfg.dlv, v->app, v->correlator);
	store_notif_delete(nm->cfg.store, v->app, v->correlator);
}

static void restore_one(struct nm *nm, struct saved *v, struct restore *r)
{
	int64_t now = mono_ms(), wall = store_wall_ms();
	struct notif_params p = {
		.n_addresses = v->sn.n,
		.criteria = v->sn.criteria,
		.frequency_ms = v->sn.frequency_ms,
		.end_ms = now + (v->sn.end_ms - wall),
		.count = v->sn.count,
		.style = (enum notif_style)v->sn.style,
	};
	struct nmn *n;
	struct csub *cam = NULL;

	if (v->camara && !(cam = csub_decode(v->camara))) {
		log_error("nm: subscription %s: its stored data is unreadable; deleted", v->correlator);
		dlv_forget(nm->cfg.dlv, v->app, v->correlator);
		store_notif_delete(nm->cfg.store, v->app, v->correlator);
		return;
	}
	if (v->sn.end_ms <= wall) {
		end_saved(nm, v, "reached its duration", cam,
			  cam && cam->token_expires_ms && cam->token_expires_ms < cam->expires_ms
				  ? CSUB_ACCESS_TOKEN_EXPIRED : CSUB_SUBSCRIPTION_EXPIRED);
		csub_free(cam);
		r->ended++;
		return;
	}
	if (v->sn.count > 0) {
		p.count = v->sn.count - v->sn.sent;
		if (p.count <= 0) {
			end_saved(nm, v, "reached its count", cam, CSUB_MAX_EVENTS_REACHED);
			csub_free(cam);
			r->ended++;
			return;
		}
	}
	n = nmn_new(nm, v->app, v->correlator, v->endpoint, v->sn.n, v->addresses);
	if (n) {
		n->notif = notif_new(&p);
		n->cam = cam;
		cam = NULL;
	}
	if (!n || !n->notif) {
		csub_free(cam);
		nmn_free(n);
		log_error("nm: out of memory restoring %s; it stays in the store", v->correlator);
		r->oom = true;
		return;
	}
	n->style = p.style;
	n->restored = true;
	n->sent_base = v->sn.sent;
	for (size_t i = 0; i < n->naddr; i++)
		if (v->reported[i] >= 0 && v->reported[i] <= TS_BUSY)
			notif_baseline(n->notif, i, (ts_status)v->reported[i]);
	n->end_mono = p.end_ms;
	n->end_wall = (time_t)(v->sn.end_ms / 1000);
	nm_link(n, true);
	notif_start(n->notif, now);
	/* subscribe again: the first NOTIFY of each is compared with the
	 * status last reported, so a change while down is notified. One that
	 * cannot be opened stays without a subscription (listed as "none"):
	 * its address keeps the status last reported. */
	for (size_t i = 0; i < n->naddr; i++) {
		struct watch_sub *sub = nm_open_sub(n, i, v->sip_uris[i]);
		ts_status st;

		n->addrs[i].known = true;
		if (!sub)
			log_error("nm: %s: cannot subscribe to %.80s again", n->correlator, v->sip_uris[i]);
		else if (watch_sub_status(sub, &st))
			notif_status(n->notif, i, nm_status_of(n, st), now);
	}
	/* its callbacks resumed from the outbox count in its health */
	dlv_keep(nm->cfg.dlv, n->app, n->correlator);
	log_info("nm: notification %s restored: %zu address(es), %ld callback(s) sent before",
		 n->correlator, n->naddr, n->sent_base);
	r->restored++;
	nm_pump(n);
}

static void restore_on_sip(void *arg)
{
	struct restore *r = arg;

	for (struct saved *v = r->list; v; v = v->next)
		restore_one(r->nm, v, r);
}

int nm_restore(struct nm *nm)
{
	struct restore r = { .nm = nm };
	struct saved *v, *next;
	int rc;

	if (!nm || !nm->cfg.store)
		return 0;
	r.tail = &r.list;
	if (store_notif_load(nm->cfg.store, load_one, &r) < 0)
		return -1;
	rc = 0;
	if (r.list && loop_post_wait(nm->loop, restore_on_sip, &r) != 0)
		rc = -1;
	for (v = r.list; v; v = next) {
		next = v->next;
		saved_free(v);
	}
	if (rc == 0 && (r.restored || r.ended))
		log_info("nm: %d notification(s) restored, %d ended while down", r.restored, r.ended);
	return rc == 0 && !r.oom ? r.restored : -1;
}
