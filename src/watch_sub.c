/*
 * watch_sub.c - long-lived presence subscriptions (startNotification), on
 * the SIP thread. See watch.h for the contract.
 *
 * DESIGN
 * - struct pres is one presentity's SUBSCRIBE; struct watch_sub is one
 *   listener on it. A hash table maps SIP URIs to open pres.
 * - States: SUBSCRIBING (SUBSCRIBE sent), ACTIVE (2xx seen), WAITING (lost,
 *   a retry is scheduled, no handle), FAILED (final, listeners told),
 *   CLOSING (last listener gone, un-SUBSCRIBE sent, waiting for the final
 *   NOTIFY, or an error answer, at most CLOSE_WAIT_MS).
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

static const char *const state_names[] = {
	"subscribing", "active", "waiting", "failed", "closing"
};

struct watch_sub {
	struct pres *p;
	watch_sub_h *h;
	void *arg;
	struct watch_sub *next;
	bool closed;
};

struct pres {
	struct hm hm;                 /* first: nua handle magic */
	struct watch *w;
	char uri[TS_ADDR_MAX + 64];
	unsigned bucket;
	nua_handle_t *nh;
	enum pres_state state;
	struct watch_sub *subs;
	int nsubs;                    /* open (not closed) subs */
	bool known;
	ts_status status;
	int64_t learned_ms;           /* wall clock of the last NOTIFY with a status */
	struct loop_timer *timer;     /* retry or close wait */
	int retries;                  /* since the last good NOTIFY */
	int64_t lost_since;           /* 0 while healthy */
	int busy;                     /* event handlers running on it */
	struct pres *next;            /* hash chain, or the closing list */
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

unsigned watch_uri_bucket(const char *uri)
{
	return uri_hash(uri);
}

bool sub_status_now(struct watch *w, const char *uri, ts_status *st, int64_t *learned_ms)
{
	for (struct pres *p = w->pres[uri_hash(uri)]; p; p = p->next)
		if (strcmp(p->uri, uri) == 0) {
			if (p->state != PS_ACTIVE || !p->known)
				return false;
			*st = p->status;
			*learned_ms = p->learned_ms;
			return true;
		}
	return false;
}

static void set_active(struct pres *p, enum pres_state st)
{
	struct watch *w = p->w;

	if (p->state == PS_ACTIVE && st != PS_ACTIVE)
		atomic_fetch_sub(&w->st_subs_active, 1);
	else if (p->state != PS_ACTIVE && st == PS_ACTIVE)
		atomic_fetch_add(&w->st_subs_active, 1);
	p->state = st;
}

static void drop_handle(struct pres *p)
{
	if (p->nh) {
		nua_handle_destroy(p->nh);
		p->nh = NULL;
	}
}

static void subscribe(struct pres *p)
{
	struct watch *w = p->w;
	char expires[24];

	drop_handle(p);
	snprintf(expires, sizeof(expires), "%ld", w->subscribe_expires_s);
	p->nh = nua_handle(w->nua, &p->hm, SIPTAG_TO_STR(p->uri), TAG_END());
	set_active(p, PS_SUBSCRIBING);
	if (!p->nh) {
		log_error("watch: cannot create a SIP handle for %s", p->uri);
		return;
	}
	nua_subscribe(p->nh,
		      NUTAG_URL(p->uri),
		      SIPTAG_EVENT_STR("presence"),
		      SIPTAG_ACCEPT_STR("application/pidf+xml"),
		      SIPTAG_EXPIRES_STR(expires),
		      TAG_END());
}

static void retry_fire(void *arg)
{
	struct pres *p = arg;

	if (p->state == PS_WAITING) {
		log_info("watch: re-subscribing to %s (attempt %d)", p->uri, p->retries + 1);
		subscribe(p);
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
	drop_handle(p);
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
	drop_handle(p);
	set_active(p, PS_WAITING);
	log_info("watch: subscription to %s lost (%s); retry in %ld ms", p->uri, why, delay_ms);
	if (loop_timer_set(p->timer, delay_ms, retry_fire, p) < 0)
		log_error("watch: cannot schedule a retry for %s", p->uri);
}

static void pres_free(struct pres *p)
{
	struct watch_sub *s, *n;

	drop_handle(p);
	if (p->state == PS_ACTIVE)
		atomic_fetch_sub(&p->w->st_subs_active, 1);
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

/* No listener left: end the subscription politely, then free. */
static void release(struct pres *p)
{
	struct watch *w = p->w;

	unlink_hash(p);
	if (p->nh && (p->state == PS_ACTIVE || p->state == PS_SUBSCRIBING) && !w->shutting_down) {
		nua_unsubscribe(p->nh, SIPTAG_EVENT_STR("presence"), SIPTAG_EXPIRES_STR("0"), TAG_END());
		set_active(p, PS_CLOSING);
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
			p->status = r.status;
			p->learned_ms = r.learned_ms;
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

static void on_response(struct pres *p, int status, const char *phrase)
{
	enum fetch_outcome o;
	char why[100];

	if (status < 200)
		return;
	if (status < 300) {
		if (p->state == PS_SUBSCRIBING)
			set_active(p, PS_ACTIVE);
		return;
	}
	o = watch_outcome_of_status(status);
	snprintf(why, sizeof(why), "SIP %d %s", status, phrase ? phrase : "");
	if (o == FETCH_REJECTED || o == FETCH_NORESOURCE)
		fail(p, o, why);
	else
		lost(p, -1, why);
}

void sub_nua_event(struct watch *w, struct pres *p, nua_event_t event, int status,
		   const char *phrase, nua_handle_t *nh, const sip_t *sip)
{
	(void)w;
	if (nh != p->nh)
		return;          /* a handle already given up */
	if (p->state == PS_CLOSING) {
		/* a 2xx to the un-SUBSCRIBE is not the end: the notifier's
		 * final NOTIFY follows and must get 200, not 481 from a freed
		 * handle; an error answer is the end (CLOSE_WAIT_MS bounds it) */
		bool done = ((event == nua_r_unsubscribe || event == nua_r_subscribe) && status >= 300) ||
			    (event == nua_i_notify && sip && sip->sip_subscription_state &&
			     sip->sip_subscription_state->ss_substate &&
			     strcasecmp(sip->sip_subscription_state->ss_substate, "terminated") == 0);
		if (done) {
			unlink_closing(p);
			pres_free(p);
		}
		return;
	}
	p->busy++;
	switch (event) {
	case nua_r_subscribe:
		on_response(p, status, phrase);
		break;
	case nua_i_notify:
		on_notify(p, status, sip);
		break;
	default:
		break;
	}
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
		p = calloc(1, sizeof(*p));
		if (p && strlen(sip_uri) < sizeof(p->uri))
			p->timer = loop_timer_new(w->loop);
		if (!p || !p->timer) {
			free(p);
			free(s);
			return NULL;
		}
		p->hm.kind = HM_SUB;
		p->w = w;
		p->bucket = b;
		snprintf(p->uri, sizeof(p->uri), "%s", sip_uri);
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

void sub_shutdown(struct watch *w)
{
	/* nua_shutdown() ends the dialogs; keep the structs until the loop is
	 * over (sub_free_all) */
	for (unsigned b = 0; b < PRES_BUCKETS; b++)
		for (struct pres *p = w->pres[b]; p; p = p->next)
			loop_timer_cancel(p->timer);
}

void sub_free_all(struct watch *w)
{
	struct pres *p, *n;

	for (unsigned b = 0; b < PRES_BUCKETS; b++) {
		for (p = w->pres[b]; p; p = n) {
			n = p->next;
			p->nh = NULL;     /* destroyed with nua */
			pres_free(p);
		}
		w->pres[b] = NULL;
	}
	for (p = w->closing; p; p = n) {
		n = p->next;
		p->nh = NULL;
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
	return s ? state_names[s->p->state] : "none";
}
