/*
 * nm_list.c - GET /notifications (nm_list_json): the running notifications
 * as JSON.
 *
 * DESIGN: the notifications and their subscriptions belong to the SIP
 * thread; the listing runs on an HTTP thread. The HTTP thread posts one
 * short job to the SIP thread (loop_post_wait) that copies what the page
 * shows into a compact snapshot: per notification its strings (into one
 * capped text buffer), counters and deadline; per address its text, its
 * current status and the state name of its subscription ("none" when a
 * restored one could not subscribe). Nothing else happens there: no JSON
 * escaping, no redaction, no lock of another module. The HTTP thread then
 * renders the JSON from the snapshot alone, with the delivery health of
 * each (dlv_get_health, under dlv's own lock), and frees it.
 * Why not a snapshot the SIP thread keeps published: it would be rebuilt
 * (or patched under a lock) on every status change of every notification,
 * for a page read now and then. Here the SIP thread pays one pass over the
 * registry per listing, bounded by NM_JSON_MAX bytes of text: a listing
 * whose text alone is over that could not be answered anyway.
 */
#include "nm_int.h"

#include <stdlib.h>
#include <string.h>

#include "dest.h"
#include "dlv.h"
#include "loop.h"
#include "sbuf.h"
#include "watch.h"

#define NM_JSON_MAX (16 * 1024 * 1024)

/* Offsets into snap.text. */
struct snap_addr {
	size_t address;
	ts_status status;
	const char *sub_state;     /* static string of watch_sub_state_name */
};

struct snap_notif {
	size_t app, correlator, endpoint;
	bool restored;
	time_t end_wall;
	long sent, queued;
	size_t addr0, naddr;       /* its addresses: a[addr0 .. addr0 + naddr) */
};

struct snap {
	struct nm *nm;
	const char *app;           /* only this application's (NULL: all) */
	struct snap_notif *n;
	size_t nn;
	struct snap_addr *a;
	size_t na;
	struct sbuf text;          /* NUL-separated strings */
	bool ok;
};

static bool shown(const struct snap *sn, const struct nmn *n)
{
	return n->running && !n->removing && (!sn->app || strcmp(sn->app, n->app) == 0);
}

static size_t put_str(struct sbuf *b, const char *s)
{
	size_t at = b->len;

	sbuf_putn(b, s, strlen(s) + 1);
	return at;
}

/* On the SIP thread: copies what the listing shows. */
static void snap_on_sip(void *arg)
{
	struct snap *sn = arg;
	size_t nn = 0, na = 0;

	for (const struct nmn *n = sn->nm->list; n; n = n->next)
		if (shown(sn, n)) {
			nn++;
			na += n->naddr;
		}
	sn->n = calloc(nn ? nn : 1, sizeof(*sn->n));
	sn->a = calloc(na ? na : 1, sizeof(*sn->a));
	if (!sn->n || !sn->a)
		return;
	for (const struct nmn *n = sn->nm->list; n && sn->text.ok; n = n->next) {
		struct snap_notif *o;

		if (!shown(sn, n))
			continue;
		o = &sn->n[sn->nn++];
		o->app = put_str(&sn->text, n->app);
		o->correlator = put_str(&sn->text, n->correlator);
		o->endpoint = put_str(&sn->text, n->endpoint);
		o->restored = n->restored;
		o->end_wall = n->end_wall;
		o->sent = n->sent_base + notif_sent(n->notif);
		o->queued = n->dlv_enqueued;
		o->addr0 = sn->na;
		o->naddr = n->naddr;
		for (size_t i = 0; i < n->naddr; i++) {
			struct snap_addr *a = &sn->a[sn->na++];

			a->address = put_str(&sn->text, n->addresses[i]);
			a->status = notif_current(n->notif, i);
			a->sub_state = watch_sub_state_name(n->addrs[i].sub);
		}
	}
	sn->ok = sn->text.ok;
}

/* On the calling thread: the JSON of one notification of the snapshot. */
static void render_one(struct sbuf *b, const struct snap *sn, const struct snap_notif *o, bool with_app)
{
	const char *text = sn->text.p;
	const char *app = text + o->app, *correlator = text + o->correlator;
	char when[32], redacted[ENDPOINT_MAX];
	struct dlv_health h;
	struct tm tm;

	dlv_get_health(sn->nm->cfg.dlv, app, correlator, &h);
	gmtime_r(&o->end_wall, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	sbuf_puts(b, "{");
	if (with_app) {
		sbuf_puts(b, "\"app\":");
		sbuf_json_cstr(b, app);
		sbuf_puts(b, ",");
	}
	sbuf_puts(b, "\"correlator\":");
	sbuf_json_cstr(b, correlator);
	sbuf_puts(b, ",\"endpoint\":");
	dest_redact(text + o->endpoint, redacted, sizeof(redacted));   /* credentials as *** */
	sbuf_json_cstr(b, redacted);
	sbuf_printf(b, ",\"restored\":%s", o->restored ? "true" : "false");
	sbuf_puts(b, ",\"addresses\":[");
	for (size_t i = 0; i < o->naddr; i++) {
		const struct snap_addr *a = &sn->a[o->addr0 + i];

		if (i)
			sbuf_puts(b, ",");
		sbuf_puts(b, "{\"address\":");
		sbuf_json_cstr(b, text + a->address);
		sbuf_printf(b, ",\"status\":\"%s\",\"subscription\":\"%s\"}", ts_status_name(a->status),
			    a->sub_state);
	}
	sbuf_printf(b, "],\"notifications_sent\":%ld,\"callbacks_queued\":%ld,\"ends\":\"%s\","
		    "\"delivery\":{\"delivered\":%lu,\"failed\":%lu,\"failed_attempts\":%lu,"
		    "\"pending\":%lu,\"healthy\":%s,\"last_error\":",
		    o->sent, o->queued, when, h.delivered, h.failed, h.attempts_failed, h.queued,
		    h.failed == 0 && !h.last_error[0] ? "true" : "false");
	if (h.last_error[0])
		sbuf_json_cstr(b, h.last_error);
	else
		sbuf_puts(b, "null");
	sbuf_puts(b, "}}");
}

char *nm_list_json(struct nm *nm, const char *app, bool with_app, size_t *len)
{
	struct snap sn = { .nm = nm, .app = app, .text = SBUF_INIT(NM_JSON_MAX) };
	struct sbuf b = SBUF_INIT(NM_JSON_MAX);
	char *out = NULL;

	if (loop_post_wait(nm->loop, snap_on_sip, &sn) != 0 || !sn.ok)
		goto out;
	sbuf_puts(&b, "[");
	for (size_t i = 0; i < sn.nn && b.ok; i++) {
		sbuf_puts(&b, i ? ",\n" : "\n");
		render_one(&b, &sn, &sn.n[i], with_app);
	}
	sbuf_puts(&b, sn.nn ? "\n]\n" : "]\n");
	out = sbuf_take(&b, len);
out:
	sbuf_free(&b);
	sbuf_free(&sn.text);
	free(sn.n);
	free(sn.a);
	return out;
}
