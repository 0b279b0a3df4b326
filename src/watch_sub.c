/*
 * watch_sub.c - long-lived presence subscriptions (startNotification), on
 * the SIP thread. See watch.h for the contract.
 *
 * DESIGN
 * - struct pres is one presentity's SUBSCRIBE; struct watch_sub is one
 *   listener on it. A hash table maps SIP URIs to open pres.
 * - Each pres keeps its dialog itself (compact: Call-ID and tags in its
 *   struct hm, the notifier's tag, target and route, CSeqs, one timer):
 *   no stack object per subscription, so 50,000 of them stay small.
 *   Requests are built by watch_sip.c; the client transaction goes at
 *   its final answer.
 * - States: SUBSCRIBING (SUBSCRIBE sent or queued), ACTIVE (2xx seen; the
 *   timer refreshes it in the dialog before it expires), WAITING (lost,
 *   a retry is scheduled, no dialog), FAILED (final, listeners told),
 *   CLOSING (last listener gone, un-SUBSCRIBE sent, waiting for the final
 *   NOTIFY, or an error answer, at most CLOSE_WAIT_MS).
 * - Pacing: at most SUB_WINDOW SUBSCRIBEs of subscriptions wait for their
 *   answer at once; the others queue (FIFO) and go as answers come, so a
 *   restart with thousands of notifications sets them up in parallel
 *   without flooding the presence server.
 * - 423 Interval Too Brief: the SUBSCRIBE goes again at once with the
 *   Min-Expires asked for (once per value).
 * - Listener handlers may close subs while an event is being dispatched:
 *   p->busy counts the nesting; closed subs and an unused pres are swept
 *   when the outermost event handler returns.
 * - A lost subscription keeps its last status: a re-subscription that
 *   reports the same status is no change for the listeners.
 */
#include "watch_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hash.h"
#include "log.h"
#include "mono.h"

#define RETRY_MIN_MS 1000
#define RETRY_MAX_MS 30000
#define RETRY_AFTER_DEFAULT_S 30
#define RETRY_AFTER_MAX_S 3600
#define CLOSE_WAIT_MS 5000

enum pres_state { PS_SUBSCRIBING, PS_ACTIVE, PS_WAITING, PS_FAILED, PS_CLOSING };

const char *const watch_sub_state_names[WATCH_SUB_NSTATES] = {
	"subscribing", "active", "waiting", "failed", "closing"
};

struct watch_sub {
	struct pres *p;
	watch_sub_h *h;
	void *arg;
	struct watch_sub *next;
	bool closed;
};

#define URI_MAX (TS_ADDR_MAX + 64)
#define ROUTE_MAX 2048
#define EXPIRES_MAX 86400

struct pres {
	struct hm hm;                 /* first: Call-ID, our tag; transaction magic */
	struct watch *w;
	unsigned bucket;
	enum pres_state state;
	nta_outgoing_t *orq;          /* the SUBSCRIBE awaiting its final answer */
	bool counted;                 /* orq counts in w->sub_inflight */
	bool queued;                  /* in w->sub_queue, not sent yet */
	bool known;
	bool got_cseq;                /* rcseq valid */
	bool closing_sent;            /* CLOSING: the Expires 0 went out */
	bool published;               /* its status is in w->view */
	bool fresh;                   /* status learned in the current dialog */
	int busy;                     /* event handlers running on it */
	int nsubs;                    /* open (not closed) subs */
	int retries;                  /* since the last good NOTIFY */
	ts_status status;
	uint32_t cseq;                /* of our last request in the dialog */
	uint32_t rcseq;               /* of the notifier's last NOTIFY */
	long expires;                 /* what we ask for (423 raises it) */
	char *rtag;                   /* the notifier's tag, NULL before */
	char *target;                 /* its Contact, NULL before */
	char *route;                  /* route set from the 2xx, NULL if none */
	struct watch_sub *subs;
	struct loop_timer *timer;     /* refresh, retry or close wait */
	int64_t lost_since;           /* 0 while healthy */
	int64_t refresh_at;           /* ACTIVE: when the timer refreshes (mono_ms) */
	int64_t learned_ms;           /* wall clock of the last NOTIFY with a status */
	struct pres *next;            /* hash chain, or the closing list */
	struct pres *qnext, *qprev;   /* w->sub_queue */
	char uri[];
};

static unsigned uri_hash(const char *s)
{
	return (unsigned)(hash_add(HASH_INIT, s) % PRES_BUCKETS);
}

size_t watch_sub_missing(struct watch *w, const char *const *sip_uris, size_t n)
{
	size_t missing = 0;

	for (size_t i = 0; i < n; i++) {
		bool open = false, seen = false;

		for (struct pres *p = w->pres[uri_hash(sip_uris[i])]; p && !open; p = p->next)
			open = strcmp(p->uri, sip_uris[i]) == 0;
		for (size_t k = 0; k < i && !seen; k++)
			seen = strcmp(sip_uris[k], sip_uris[i]) == 0;
		if (!open && !seen)
			missing++;
	}
	return missing;
}

size_t watch_sub_open_count(struct watch *w)
{
	return atomic_load(&w->st_subs);
}

void watch_sub_count_states(struct watch *w, unsigned long counts[WATCH_SUB_NSTATES])
{
	for (int i = 0; i < WATCH_SUB_NSTATES; i++)
		counts[i] = 0;
	for (unsigned b = 0; b < PRES_BUCKETS; b++)
		for (const struct pres *p = w->pres[b]; p; p = p->next)
			counts[p->state]++;
	for (const struct pres *p = w->closing; p; p = p->next)
		counts[p->state]++;
}

unsigned watch_uri_bucket(const char *uri)
{
	return uri_hash(uri);
}

/* p's status is exact (contract section 7): its subscription active and
 * its current dialog has reported one. What sub_status_now answers and
 * what publish puts in the view. */
static bool exact(const struct pres *p)
{
	return p->state == PS_ACTIVE && p->known && p->fresh;
}

bool sub_status_now(struct watch *w, const char *uri, ts_status *st, int64_t *learned_ms)
{
	for (struct pres *p = w->pres[uri_hash(uri)]; p; p = p->next)
		if (strcmp(p->uri, uri) == 0) {
			if (!exact(p))
				return false;
			*st = p->status;
			*learned_ms = p->learned_ms;
			return true;
		}
	return false;
}

/* Keeps w->view equal to what sub_status_now says of p: published while
 * ACTIVE with a status its current dialog reported, withdrawn otherwise
 * (the HTTP threads answer getStatus from it). A second pres of the same
 * URI (a new one while an old one closes) never withdraws what it did not
 * publish. */
static void publish(struct pres *p)
{
	if (exact(p)) {
		p->published = pview_put(p->w->view, p->uri, p->status, p->learned_ms);
	} else if (p->published) {
		pview_del(p->w->view, p->uri);
		p->published = false;
	}
}

static void set_active(struct pres *p, enum pres_state st)
{
	struct watch *w = p->w;

	if (p->state == PS_ACTIVE && st != PS_ACTIVE)
		atomic_fetch_sub(&w->st_subs_active, 1);
	else if (p->state != PS_ACTIVE && st == PS_ACTIVE)
		atomic_fetch_add(&w->st_subs_active, 1);
	p->state = st;
	publish(p);
}

static void queue_remove(struct pres *p)
{
	struct watch *w = p->w;

	if (!p->queued)
		return;
	if (p->qprev)
		p->qprev->qnext = p->qnext;
	else
		w->sub_queue = p->qnext;
	if (p->qnext)
		p->qnext->qprev = p->qprev;
	else
		w->sub_queue_tail = p->qprev;
	p->qnext = p->qprev = NULL;
	p->queued = false;
}

static void pump_later(struct watch *w);

/* The SUBSCRIBE in flight goes (no answer of it reaches us any more). */
static void orq_done(struct pres *p)
{
	struct watch *w = p->w;

	if (p->orq) {
		nta_outgoing_destroy(p->orq);
		p->orq = NULL;
	}
	if (p->counted) {
		p->counted = false;
		w->sub_inflight--;
		if (w->sub_queue)
			pump_later(w);
	}
}

/* Forgets the dialog: the next SUBSCRIBE starts a new one. */
static void drop_dialog(struct pres *p)
{
	orq_done(p);
	queue_remove(p);
	wsip_table_remove(p->w, &p->hm);
	free(p->rtag);
	free(p->target);
	free(p->route);
	p->rtag = p->target = p->route = NULL;
	p->got_cseq = false;
}

static int on_answer(struct hm *magic, nta_outgoing_t *orq, const sip_t *sip);

/* Sends a SUBSCRIBE with Expires expires: in the dialog when there is
 * one, else a new one. false when it could not be sent. */
static bool send_subscribe(struct pres *p, long expires)
{
	struct watch *w = p->w;
	bool in_dialog = p->rtag != NULL;
	struct wsip_req r = {
		.method_name = "SUBSCRIBE", .method = sip_method_subscribe,
		.ruri = in_dialog && p->target ? p->target : p->uri,
		.to_uri = p->uri, .to_tag = p->rtag, .id = &p->hm,
		.cseq = ++p->cseq, .expires = expires,
		.route = in_dialog ? p->route : NULL,
	};

	orq_done(p);
	p->orq = wsip_send(w, &r, on_answer, &p->hm);
	if (!p->orq)
		return false;
	if (!in_dialog)
		wsip_table_add(w, &p->hm);   /* its NOTIFY may come before the 2xx */
	return true;
}

static void fail(struct pres *p, enum fetch_outcome o, const char *detail);
static void sweep(struct pres *p);

static void unsendable_fire(void *arg)
{
	struct pres *p = arg;

	p->busy++;
	fail(p, FETCH_FAILED, "cannot create a SIP request for this address");
	p->busy--;
	sweep(p);
}

/* A new dialog's SUBSCRIBE, when the window has room. One that cannot be
 * made fails the subscription, from a timer (the caller may be opening
 * a sub or dispatching). */
static void start_dialog(struct pres *p)
{
	struct watch *w = p->w;

	if (!send_subscribe(p, p->expires)) {
		if (loop_timer_set(p->timer, 0, unsendable_fire, p) < 0)
			log_error("watch: no timer for %s", p->uri);
		return;
	}
	p->counted = true;
	w->sub_inflight++;
}

static void pump_fire(void *arg)
{
	struct watch *w = arg;

	w->pump_pending = false;
	while (w->sub_queue && w->sub_inflight < SUB_WINDOW && !w->shutting_down) {
		struct pres *p = w->sub_queue;

		queue_remove(p);
		start_dialog(p);
	}
}

/* Soon, not from inside an answer's handling; once (setting the timer
 * again would put it off for as long as answers keep coming). */
static void pump_later(struct watch *w)
{
	if (w->sub_pump_timer && !w->pump_pending &&
	    loop_timer_set(w->sub_pump_timer, 0, pump_fire, w) == 0)
		w->pump_pending = true;
}

static void subscribe(struct pres *p)
{
	struct watch *w = p->w;

	drop_dialog(p);
	loop_timer_cancel(p->timer);
	wsip_new_id(w, p->hm.callid, sizeof(p->hm.callid));
	wsip_new_id(w, p->hm.ltag, sizeof(p->hm.ltag));
	p->cseq = 0;
	/* a new dialog: the status kept from the last one is what listeners
	 * compare with, but no answer until this dialog reports one (a
	 * pending subscription may never) */
	p->fresh = false;
	set_active(p, PS_SUBSCRIBING);
	if (w->sub_inflight < SUB_WINDOW && !w->sub_queue) {
		start_dialog(p);
		return;
	}
	p->queued = true;
	p->qprev = w->sub_queue_tail;
	p->qnext = NULL;
	if (w->sub_queue_tail)
		w->sub_queue_tail->qnext = p;
	else
		w->sub_queue = p;
	w->sub_queue_tail = p;
	pump_later(w);
}

static void retry_fire(void *arg)
{
	struct pres *p = arg;

	if (p->state == PS_WAITING) {
		int attempt = p->retries + 1;
		struct log_kv kv[] = { { "call_id", p->hm.callid } };

		subscribe(p);
		log_req(LOG_INFO, NULL, kv, 1, "watch: re-subscribing to %s (attempt %d)", p->uri,
			attempt);
	}
}

static void dispatch(struct pres *p, enum watch_sub_event ev, ts_status st, const struct fetch_result *why)
{
	p->busy++;
	for (struct watch_sub *s = p->subs; s; s = s->next)
		if (!s->closed)
			s->h(s, ev, st, why, s->arg);
	p->busy--;
}

static void fail(struct pres *p, enum fetch_outcome o, const char *detail)
{
	struct fetch_result r = { .uri = p->uri };

	watch_set_result(&r, o, "%s", detail);
	log_warn("watch: subscription to %s failed: %s", p->uri, detail);
	atomic_fetch_add(&p->w->st_sub_failures, 1);
	loop_timer_cancel(p->timer);
	drop_dialog(p);
	set_active(p, PS_FAILED);
	dispatch(p, WSUB_FAILED, TS_UNREACHABLE, &r);
}

/* The subscription is lost: try again after delay_ms (or with backoff when
 * delay_ms < 0), unless it has been lost for longer than give_up_s. */
static void lost(struct pres *p, long delay_ms, const char *why)
{
	struct watch *w = p->w;
	int64_t now = mono_ms();
	long backoff;
	char detail[120];

	if (!p->lost_since)
		p->lost_since = now;
	{
		struct fetch_result r = { .uri = p->uri };

		watch_set_result(&r, FETCH_TIMEOUT, "%s", why);
		dispatch(p, WSUB_LOST, TS_UNREACHABLE, &r);
	}
	if (now - p->lost_since > w->give_up_s * 1000) {
		snprintf(detail, sizeof(detail), "subscription lost for over %ld s (%s), given up",
			 w->give_up_s, why);
		fail(p, FETCH_TIMEOUT, detail);
		return;
	}
	backoff = RETRY_MIN_MS;
	for (int i = 0; i < p->retries && backoff < RETRY_MAX_MS; i++)
		backoff *= 2;
	if (backoff > RETRY_MAX_MS)
		backoff = RETRY_MAX_MS;
	if (delay_ms < 0)
		delay_ms = backoff;
	if (delay_ms == 0 && p->retries > 0)
		delay_ms = backoff;   /* the server keeps ending it: slow down */
	p->retries++;
	atomic_fetch_add(&w->st_sub_retries, 1);
	drop_dialog(p);
	set_active(p, PS_WAITING);
	log_info("watch: subscription to %s lost (%s); retry in %ld ms", p->uri, why, delay_ms);
	if (loop_timer_set(p->timer, delay_ms, retry_fire, p) < 0)
		log_error("watch: cannot schedule a retry for %s", p->uri);
}

static void pres_free(struct pres *p)
{
	struct watch_sub *s, *n;

	if (p->w->shutting_down && p->closing_sent && p->orq) {
		p->closing_sent = false;
		watch_shutdown_step(p->w);   /* its answer will not be waited for */
	}
	drop_dialog(p);
	if (p->state == PS_ACTIVE)
		atomic_fetch_sub(&p->w->st_subs_active, 1);
	if (p->published)
		pview_del(p->w->view, p->uri);
	loop_timer_free(p->timer);
	for (s = p->subs; s; s = n) {
		n = s->next;
		free(s);
	}
	atomic_fetch_sub(&p->w->st_subs, 1);
	free(p);
}

static void unlink_hash(struct pres *p)
{
	struct pres **pp = &p->w->pres[p->bucket];

	for (; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	p->next = NULL;
}

static void unlink_closing(struct pres *p)
{
	for (struct pres **pp = &p->w->closing; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	p->next = NULL;
}

static void close_wait_over(void *arg)
{
	struct pres *p = arg;

	unlink_closing(p);
	pres_free(p);
}

/* CLOSING: the un-SUBSCRIBE in the dialog. false when none can go. */
static bool send_close(struct pres *p)
{
	if (!p->rtag || !send_subscribe(p, 0))
		return false;
	p->closing_sent = true;
	return true;
}

/* No listener left: end the subscription politely, then free. */
static void release(struct pres *p)
{
	struct watch *w = p->w;

	unlink_hash(p);
	if (!w->shutting_down && (p->state == PS_ACTIVE || (p->state == PS_SUBSCRIBING && p->orq))) {
		/* SUBSCRIBING: the un-SUBSCRIBE goes when the 2xx has made the
		 * dialog (an error answer ends it) */
		loop_timer_cancel(p->timer);
		set_active(p, PS_CLOSING);
		p->closing_sent = false;
		if (p->rtag && p->state == PS_CLOSING && !send_close(p)) {
			pres_free(p);
			return;
		}
		p->next = w->closing;
		w->closing = p;
		if (loop_timer_set(p->timer, CLOSE_WAIT_MS, close_wait_over, p) < 0)
			log_error("watch: no timer to bound the close of %s", p->uri);
		return;
	}
	pres_free(p);
}

/* After an event: free closed subs; release the pres when none is left. */
static void sweep(struct pres *p)
{
	struct watch_sub **pp = &p->subs, *s;

	if (p->busy)
		return;
	while ((s = *pp) != NULL) {
		if (s->closed) {
			*pp = s->next;
			free(s);
		} else {
			pp = &s->next;
		}
	}
	if (p->nsubs == 0 && p->state != PS_CLOSING)
		release(p);
}

static long retry_after_ms(const sip_subscription_state_t *ss)
{
	long s = RETRY_AFTER_DEFAULT_S;

	if (ss->ss_retry_after) {
		char *end;
		long v = strtol(ss->ss_retry_after, &end, 10);

		if (end != ss->ss_retry_after && v >= 0)
			s = v;
	}
	if (s > RETRY_AFTER_MAX_S)
		s = RETRY_AFTER_MAX_S;
	return s * 1000;
}

static void on_notify(struct pres *p, int status, const sip_t *sip)
{
	struct watch *w = p->w;
	const sip_subscription_state_t *ss = sip ? sip->sip_subscription_state : NULL;
	const char *substate = ss && ss->ss_substate ? ss->ss_substate : "";
	const char *reason = ss && ss->ss_reason ? ss->ss_reason : "";
	bool terminated = strcasecmp(substate, "terminated") == 0;
	bool has_body = sip && sip->sip_payload && sip->sip_payload->pl_len;
	struct fetch_result r = { .uri = p->uri };

	if (!sip || status == 408) {
		lost(p, -1, "no NOTIFY after the SUBSCRIBE was accepted");
		return;
	}
	if (strcasecmp(substate, "pending") == 0 && !has_body)
		return;          /* waiting for authorisation: no state yet */
	if (!terminated || has_body) {
		watch_map_notify(w, sip, &r);
		if (r.outcome == FETCH_OK) {
			bool changed = !p->known || p->status != r.status;

			atomic_fetch_add(&w->st_sub_notifies, 1);
			p->known = true;
			p->fresh = true;
			p->status = r.status;
			p->learned_ms = r.learned_ms;
			publish(p);
			if (!terminated) {
				p->retries = 0;
				p->lost_since = 0;
			}
			log_debug("watch: %s NOTIFY %s -> %s%s", p->uri, substate,
				  ts_status_name(r.status), changed ? "" : " (same)");
			dispatch(p, WSUB_STATUS, r.status, NULL);
		} else {
			log_warn("watch: %s: NOTIFY ignored: %s", p->uri, r.detail);
		}
	}
	if (!terminated || p->state == PS_FAILED)
		return;
	if (strcasecmp(reason, "rejected") == 0)
		fail(p, FETCH_REJECTED, "subscription rejected");
	else if (strcasecmp(reason, "noresource") == 0)
		fail(p, FETCH_NORESOURCE, "no such presentity");
	else if (strcasecmp(reason, "invariant") == 0)
		fail(p, FETCH_FAILED, "subscription terminated (invariant)");
	else if (strcasecmp(reason, "probation") == 0 || strcasecmp(reason, "giveup") == 0)
		lost(p, retry_after_ms(ss), reason);
	else
		lost(p, 0, *reason ? reason : "terminated");
}

static void refresh_fire(void *arg)
{
	struct pres *p = arg;

	if (p->state != PS_ACTIVE || p->w->shutting_down)
		return;
	if (!send_subscribe(p, p->expires))
		lost(p, -1, "cannot send the refresh");
}

/* When to refresh a grant of delta seconds: well before it runs out,
 * spread so that subscriptions made together do not refresh together. */
static int64_t refresh_ms(struct pres *p, long delta)
{
	uint64_t r = (uint64_t)p->hm.callid[0] * 131u + (uint64_t)p->hm.callid[1] * 7u +
		     (uint64_t)p->hm.callid[2];
	int64_t ms = (int64_t)delta * 1000;

	if (delta > 90)
		return ms - 30000 - (int64_t)(r % 30000);      /* 30-60 s before */
	return ms / 4 + (int64_t)(r % (uint64_t)(ms / 2 + 1)); /* 1/4 .. 3/4 */
}

static void schedule_refresh(struct pres *p, long granted)
{
	int64_t ms = refresh_ms(p, granted);

	p->refresh_at = mono_ms() + ms;
	if (loop_timer_set(p->timer, ms, refresh_fire, p) < 0)
		log_error("watch: no timer to refresh %s", p->uri);
}

static void on_2xx(struct pres *p, const sip_t *sip)
{
	long granted = p->expires;

	if (!p->rtag && sip->sip_to && sip->sip_to->a_tag)
		p->rtag = wsip_strdup_max(sip->sip_to->a_tag, 256);
	if (sip->sip_contact) {
		char *t = wsip_url_dup(sip->sip_contact->m_url);

		if (t) {
			free(p->target);
			p->target = t;
		}
	}
	if (!p->route && sip->sip_record_route) {
		/* the route set is the Record-Route in reverse order */
		char buf[ROUTE_MAX] = "";
		size_t len = 0;
		const sip_record_route_t *rr;
		int n = 0;

		for (rr = sip->sip_record_route; rr; rr = rr->r_next)
			n++;
		for (int i = n - 1; i >= 0; i--) {
			char *u;
			int k = 0;

			for (rr = sip->sip_record_route; k < i; rr = rr->r_next)
				k++;
			u = wsip_url_dup(rr->r_url);
			if (u) {
				int m = snprintf(buf + len, sizeof(buf) - len, "%s<%s>", len ? "," : "", u);

				if (m > 0 && (size_t)m < sizeof(buf) - len)
					len += (size_t)m;
				free(u);
			}
		}
		if (len)
			p->route = wsip_strdup_max(buf, sizeof(buf));
	}
	if (sip->sip_expires)
		granted = (long)sip->sip_expires->ex_delta;
	if (granted > EXPIRES_MAX)
		granted = EXPIRES_MAX;
	if (granted < 1)
		granted = 1;
	if (p->state == PS_SUBSCRIBING)
		set_active(p, PS_ACTIVE);
	if (p->state == PS_ACTIVE)
		schedule_refresh(p, granted);
}

static void on_response(struct pres *p, int status, const char *phrase, const sip_t *sip)
{
	enum fetch_outcome o;
	char why[100];

	if (status < 300) {
		if (sip)
			on_2xx(p, sip);
		return;
	}
	if (status == 423 && sip && sip->sip_min_expires &&
	    (long)sip->sip_min_expires->me_delta > p->expires &&
	    sip->sip_min_expires->me_delta <= EXPIRES_MAX) {
		/* Interval Too Brief: again at once with what it asks for */
		p->expires = (long)sip->sip_min_expires->me_delta;
		log_info("watch: %s asks Expires %ld (423): subscribing again", p->uri, p->expires);
		if (p->rtag ? send_subscribe(p, p->expires) : (subscribe(p), true))
			return;
	}
	if (status == 481 && p->state == PS_ACTIVE) {
		lost(p, 0, "SIP 481: the server forgot the subscription");
		return;
	}
	o = watch_outcome_of_status(status);
	snprintf(why, sizeof(why), "SIP %d %s", status, phrase ? phrase : "");
	if (o == FETCH_REJECTED || o == FETCH_NORESOURCE)
		fail(p, o, why);
	else
		lost(p, -1, why);
}

static void on_answer_final(struct pres *p, int status, const char *phrase, const sip_t *sip);

static int on_answer(struct hm *magic, nta_outgoing_t *orq, const sip_t *sip)
{
	struct pres *p = (struct pres *)magic;
	struct watch *w = p->w;
	int status = nta_outgoing_status(orq);
	const char *phrase = sip && sip->sip_status ? sip->sip_status->st_phrase : "";

	if (status < 200 || orq != p->orq)
		return 0;
	p->orq = NULL;
	if (p->counted) {
		p->counted = false;
		w->sub_inflight--;
		if (w->sub_queue)
			pump_later(w);
	}
	on_answer_final(p, status, phrase, sip);   /* may free p */
	/* sip goes with the transaction (at once over TCP): only now */
	nta_outgoing_destroy(orq);
	return 0;
}

static void on_answer_final(struct pres *p, int status, const char *phrase, const sip_t *sip)
{
	struct watch *w = p->w;

	if (w->shutting_down) {
		if (p->closing_sent) {
			p->closing_sent = false;
			watch_shutdown_step(w);
		}
		return;
	}
	if (p->state == PS_CLOSING) {
		/* a 2xx to the un-SUBSCRIBE is not the end: the notifier's
		 * final NOTIFY follows and must get 200, not 481; an error
		 * answer is the end (CLOSE_WAIT_MS bounds it) */
		if (status < 300 && !p->closing_sent) {
			if (sip && sip->sip_to && sip->sip_to->a_tag && !p->rtag)
				p->rtag = wsip_strdup_max(sip->sip_to->a_tag, 256);
			if (sip && sip->sip_contact && !p->target)
				p->target = wsip_url_dup(sip->sip_contact->m_url);
			if (send_close(p))
				return;
		} else if (status < 300) {
			return;
		}
		unlink_closing(p);
		pres_free(p);
		return;
	}
	p->busy++;
	on_response(p, status, phrase, sip);
	p->busy--;
	sweep(p);
	return;
}

bool sub_check_notify(struct pres *p, const sip_t *sip, bool *retransmission)
{
	const char *from_tag = sip->sip_from ? sip->sip_from->a_tag : NULL;
	uint32_t cseq = sip->sip_cseq->cs_seq;

	*retransmission = false;
	if (!from_tag)
		return false;
	if (p->rtag && strcmp(p->rtag, from_tag) != 0)
		return false;    /* another notifier (a forked SUBSCRIBE): 481 */
	if (!p->rtag) {
		p->rtag = wsip_strdup_max(from_tag, 256);
		if (!p->rtag)
			return false;
	}
	if (p->got_cseq && cseq <= p->rcseq) {
		*retransmission = true;
		return true;
	}
	p->got_cseq = true;
	p->rcseq = cseq;
	if (sip->sip_contact) {
		char *t = wsip_url_dup(sip->sip_contact->m_url);

		if (t) {
			free(p->target);
			p->target = t;
		}
	}
	return true;
}

void sub_notify(struct watch *w, struct pres *p, const sip_t *sip)
{
	const sip_subscription_state_t *ss = sip->sip_subscription_state;

	if (w->shutting_down)
		return;
	if (p->state == PS_CLOSING) {
		if (ss && ss->ss_substate && strcasecmp(ss->ss_substate, "terminated") == 0) {
			unlink_closing(p);
			pres_free(p);
		}
		return;
	}
	/* the notifier may say the subscription ends sooner than granted
	 * (Subscription-State expires): refresh before that */
	if (p->state == PS_ACTIVE && ss && ss->ss_expires && ss->ss_substate &&
	    strcasecmp(ss->ss_substate, "terminated") != 0) {
		char *end;
		long v = strtol(ss->ss_expires, &end, 10);

		if (end != ss->ss_expires && v > 0 && v <= EXPIRES_MAX &&
		    mono_ms() + refresh_ms(p, v) < p->refresh_at)
			schedule_refresh(p, v);
	}
	p->busy++;
	on_notify(p, 200, sip);
	p->busy--;
	sweep(p);
}

struct watch_sub *watch_sub_open(struct watch *w, const char *sip_uri, watch_sub_h *h, void *arg)
{
	unsigned b = uri_hash(sip_uri);
	struct pres *p;
	struct watch_sub *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	for (p = w->pres[b]; p; p = p->next)
		if (strcmp(p->uri, sip_uri) == 0)
			break;
	if (!p) {
		size_t len = strlen(sip_uri);

		p = len < URI_MAX ? calloc(1, sizeof(*p) + len + 1) : NULL;
		if (p)
			p->timer = loop_timer_new(w->loop);
		if (!p || !p->timer) {
			free(p);
			free(s);
			return NULL;
		}
		p->hm.kind = HM_SUB;
		p->w = w;
		p->bucket = b;
		p->expires = w->subscribe_expires_s;
		memcpy(p->uri, sip_uri, len + 1);
		p->next = w->pres[b];
		w->pres[b] = p;
		atomic_fetch_add(&w->st_subs, 1);
		subscribe(p);
	} else if (p->state == PS_FAILED) {
		p->retries = 0;
		p->lost_since = 0;
		subscribe(p);
	}
	s->p = p;
	s->h = h;
	s->arg = arg;
	s->next = p->subs;
	p->subs = s;
	p->nsubs++;
	return s;
}

const char *watch_sub_call_id(const struct watch_sub *sub)
{
	return sub->p->hm.callid;
}

void watch_sub_close(struct watch_sub *s)
{
	struct pres *p;

	if (!s || s->closed)
		return;
	p = s->p;
	s->closed = true;
	p->nsubs--;
	sweep(p);
}

bool watch_sub_status(const struct watch_sub *s, ts_status *st)
{
	if (!s->p->known)
		return false;
	*st = s->p->status;
	return true;
}

long sub_shutdown(struct watch *w)
{
	long n = 0;

	/* un-SUBSCRIBE every dialog; keep the structs until the loop is over
	 * (sub_free_all): the listeners' owners may still close their subs */
	while (w->sub_queue)
		queue_remove(w->sub_queue);
	for (unsigned b = 0; b < PRES_BUCKETS; b++)
		for (struct pres *p = w->pres[b]; p; p = p->next) {
			loop_timer_cancel(p->timer);
			p->closing_sent = false;
			if (p->state == PS_ACTIVE && p->rtag && send_subscribe(p, 0)) {
				p->closing_sent = true;
				n++;
			} else {
				orq_done(p);
			}
		}
	for (struct pres *p = w->closing; p; p = p->next) {
		loop_timer_cancel(p->timer);
		p->closing_sent = false;
		orq_done(p);
	}
	return n;
}

void sub_free_all(struct watch *w)
{
	struct pres *p, *n;

	for (unsigned b = 0; b < PRES_BUCKETS; b++) {
		for (p = w->pres[b]; p; p = n) {
			n = p->next;
			p->orq = NULL;     /* destroyed with the agent */
			pres_free(p);
		}
		w->pres[b] = NULL;
	}
	for (p = w->closing; p; p = n) {
		n = p->next;
		p->orq = NULL;
		pres_free(p);
	}
	w->closing = NULL;
}

void sub_server_back(struct watch *w)
{
	int n = 0;

	for (unsigned b = 0; b < PRES_BUCKETS; b++)
		for (struct pres *p = w->pres[b]; p; p = p->next) {
			if (p->state == PS_CLOSING || p->state == PS_FAILED)
				continue;
			loop_timer_cancel(p->timer);
			p->retries = 0;
			p->lost_since = 0;
			subscribe(p);
			n++;
		}
	if (n)
		log_info("watch: presence server is back: renewing %d subscription(s)", n);
}

const char *watch_sub_state_name(const struct watch_sub *s)
{
	return s ? watch_sub_state_names[s->p->state] : "none";
}
