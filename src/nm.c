/*
 * nm.c - the notification manager (see nm.h).
 *
 * DESIGN
 * - nm_prepare() (nmreq.c, HTTP thread) turns a request into a struct
 *   nm_start that owns everything the SIP thread needs: correlator,
 *   endpoint, addresses as written and as SIP URIs, the notif parameters.
 * - On the SIP thread a start opens one watch_sub per address and waits
 *   until each has a known status (the baseline), a final failure, or the
 *   start timeout. Only then is the notification registered and the
 *   client answered, so a change after startNotification answered is never
 *   lost, and a refused subscription refuses the request.
 * - A running notification feeds every status of its subs into its notif
 *   state machine, turns the actions into dlv items, and keeps one su timer
 *   for notif_next_wakeup(). When notif says finished, the notification is
 *   removed and its subs closed.
 * - The registry (a list) is changed only on the SIP thread, under
 *   nm->lock; nm_list_json() reads it under the same lock.
 */
#include "nm_int.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "addr.h"
#include "dest.h"
#include "dlv.h"
#include "held.h"
#include "log.h"
#include "loop.h"
#include "mono.h"
#include "sbuf.h"
#include "store.h"
#include "watch.h"

struct nmn;

struct nm_addr {
	struct nmn *n;
	size_t idx;
	struct watch_sub *sub;
	bool known;
};

/* One notification, starting or running. */
struct nmn {
	struct nm *nm;
	struct nm_start *start;    /* while starting: the request (not owned) */
	char *app;                 /* the owner ("" the anonymous application) */
	char *correlator;
	char *endpoint;
	size_t naddr;
	char **addresses;
	struct nm_addr *addrs;
	size_t known;
	struct notif *notif;       /* once running */
	struct held held;          /* callbacks the outbox did not take yet */
	struct loop_timer *timer;
	int64_t end_mono;          /* monotonic ms */
	time_t end_wall;           /* for display */
	long dlv_enqueued;
	long sent_base;            /* callbacks counted before a restart */
	enum notif_style style;
	bool restored;             /* brought back from the store */
	bool running;
	bool removing;
	struct nmn *next;
};

struct nm {
	struct nm_config cfg;
	struct loop *loop;         /* the SIP thread's */
	pthread_mutex_t lock;
	struct nmn *list;          /* running and starting */
	size_t nrunning;
	/* callbacks dlv_enqueue refused (held and tried again), notifications
	 * ended because their held callbacks overflowed */
	atomic_ulong enqueue_failures, ended_unstored;
};

/* A callback the outbox refused is tried again this long after. */
#define NM_HELD_RETRY_MS 1000

/* --- running (SIP thread) ------------------------------------------------- */

/* app's notification with correlator: correlators are unique per
 * application (contract section 11). */
static struct nmn *find(struct nm *nm, const char *app, const char *correlator)
{
	for (struct nmn *n = nm->list; n; n = n->next)
		if (!n->removing && strcmp(n->correlator, correlator) == 0 && strcmp(n->app, app) == 0)
			return n;
	return NULL;
}

/* Whether one more notification of app is over a quota (contract
 * sections 8 and 11): running and starting ones count. */
static bool over_quota(struct nm *nm, const char *app)
{
	long all = 0, mine = 0;

	if (nm->cfg.max_notifications <= 0 && nm->cfg.max_per_app <= 0)
		return false;
	for (struct nmn *n = nm->list; n; n = n->next) {
		if (n->removing)
			continue;
		all++;
		if (strcmp(n->app, app) == 0)
			mine++;
	}
	return (nm->cfg.max_notifications > 0 && all >= nm->cfg.max_notifications) ||
	       (nm->cfg.max_per_app > 0 && mine >= nm->cfg.max_per_app);
}

static void nmn_free(struct nmn *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->naddr; i++) {
		watch_sub_close(n->addrs[i].sub);
		free(n->addresses ? n->addresses[i] : NULL);
	}
	loop_timer_free(n->timer);
	held_clear(&n->held);
	notif_free(n->notif);
	free(n->addrs);
	free(n->addresses);
	free(n->app);
	free(n->correlator);
	free(n->endpoint);
	free(n);
}

/* Unlinks and frees (under the lock). forget: the notification is over
 * for good (not a shutdown): remove it from the store too. */
static void nmn_remove_ex(struct nmn *n, bool forget)
{
	struct nm *nm = n->nm;

	if (forget && n->running) {
		store_notif_delete(nm->cfg.store, n->app, n->correlator);
		dlv_forget(nm->cfg.dlv, n->app, n->correlator);
	}

	pthread_mutex_lock(&nm->lock);
	for (struct nmn **pp = &nm->list; *pp; pp = &(*pp)->next)
		if (*pp == n) {
			*pp = n->next;
			break;
		}
	if (n->running)
		nm->nrunning--;
	pthread_mutex_unlock(&nm->lock);
	nmn_free(n);
}

static void nmn_remove(struct nmn *n)
{
	nmn_remove_ex(n, true);
}

/* Saves what a restart needs to continue: callbacks counted, statuses
 * reported. After the callbacks are in the outbox: a crash in between
 * repeats a callback rather than losing it. */
static void save_progress(struct nmn *n)
{
	int rep[64], *r = rep;

	if (!n->nm->cfg.store || !n->notif)
		return;
	if (n->naddr > sizeof(rep) / sizeof(rep[0]) && !(r = calloc(n->naddr, sizeof(*r))))
		return;
	pthread_mutex_lock(&n->nm->lock);
	for (size_t i = 0; i < n->naddr; i++)
		r[i] = notif_reported(n->notif, i);
	pthread_mutex_unlock(&n->nm->lock);
	store_notif_progress(n->nm->cfg.store, n->app, n->correlator, n->sent_base + notif_sent(n->notif), r,
			     n->naddr);
	if (r != rep)
		free(r);
}

/* Saves a notification that starts running. */
static int save_new(struct nmn *n, const struct nm_start *s)
{
	int rep[64], *r = rep;
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

	if (!n->nm->cfg.store)
		return 0;
	if (n->naddr > sizeof(rep) / sizeof(rep[0]) && !(r = calloc(n->naddr, sizeof(*r))))
		return -1;
	for (size_t i = 0; i < n->naddr; i++)
		r[i] = notif_reported(n->notif, i);
	sn.reported = r;
	rc = store_notif_save(n->nm->cfg.store, &sn);
	if (r != rep)
		free(r);
	return rc;
}

/* Queues one callback for delivery (held_send_h): true when dlv took it,
 * committed to the outbox. */
static bool send_action(void *arg, const struct notif_action *a)
{
	struct nmn *n = arg;
	bool ok;
	struct dlv_item it = { .app = n->app, .correlator = n->correlator, .endpoint = n->endpoint };
	struct dlv_status st[64], *ent = st;

	switch (a->kind) {
	case NA_NOTIFY:
		if (a->n > sizeof(st) / sizeof(st[0])) {
			ent = calloc(a->n, sizeof(*ent));
			if (!ent) {
				log_error("nm: %s: out of memory for a callback; held", n->correlator);
				atomic_fetch_add(&n->nm->enqueue_failures, 1);
				return false;
			}
		}
		for (size_t i = 0; i < a->n; i++) {
			ent[i].address = n->addresses[a->entries[i].addr];
			ent[i].status = a->entries[i].status;
		}
		it.op = n->style == NOTIF_STYLE_STATUS_CHANGED ? DLV_STATUS_CHANGED
							       : DLV_STATUS_NOTIFICATION;
		it.entries = ent;
		it.n = a->n;
		break;
	case NA_END:
		it.op = DLV_STATUS_END;
		break;
	case NA_ERROR:
		it.op = DLV_STATUS_ERROR;
		it.address = n->addresses[a->addr];
		it.reason = &a->reason;
		break;
	}
	ok = dlv_enqueue(n->nm->cfg.dlv, &it) != 0;
	if (ok) {
		n->dlv_enqueued++;
	} else {
		atomic_fetch_add(&n->nm->enqueue_failures, 1);
		if (n->held.n == 0)   /* once per episode, not per retry */
			log_error("nm: %s: a callback could not be queued (outbox write failed?): "
				  "held, tried again in %d ms", n->correlator, NM_HELD_RETRY_MS);
	}
	if (ent != st)
		free(ent);
	return ok;
}

static void on_timer(void *arg);

/* The outbox refused HELD_MAX callbacks in a row: the notification cannot
 * go on. It ends with a statusError if that can still be queued (else the
 * client learns it from endNotification's SVC0002 or the missing
 * callbacks); logged and counted, never counted as sent. */
static void give_up(struct nmn *n)
{
	struct fault f;
	struct dlv_item it = { .op = DLV_STATUS_ERROR, .app = n->app, .correlator = n->correlator,
			       .endpoint = n->endpoint, .reason = &f };

	atomic_fetch_add(&n->nm->ended_unstored, 1);
	log_error("nm: notification %s ended: %d callbacks could not be queued (the outbox "
		  "refuses writes)", n->correlator, HELD_MAX);
	pthread_mutex_lock(&n->nm->lock);
	notif_cancel(n->notif);
	pthread_mutex_unlock(&n->nm->lock);
	held_clear(&n->held);
	fault_set(&f, SVC0001, "callbacks could not be stored", NULL);
	if (dlv_enqueue(n->nm->cfg.dlv, &it) == 0)
		log_error("nm: %s: its statusError could not be queued either", n->correlator);
	n->removing = true;
	nmn_remove(n);
}

/* Sends what notif decided, re-arms the timer, removes a finished one. */
static void pump(struct nmn *n)
{
	struct notif_action a;
	int64_t next;
	size_t was_held = n->held.n;
	bool more, finished, any = false;

	/* callbacks the outbox refused before go first, in order; new ones
	 * wait behind them (held.h) */
	if (was_held > 0 && held_flush(&n->held, send_action, n) < was_held)
		any = true;
	for (;;) {
		pthread_mutex_lock(&n->nm->lock);
		more = notif_pop(n->notif, &a);
		pthread_mutex_unlock(&n->nm->lock);
		if (!more)
			break;
		if (!held_offer(&n->held, &a, send_action, n)) {
			notif_action_release(&a);
			give_up(n);
			return;
		}
		any = true;
	}
	pthread_mutex_lock(&n->nm->lock);
	finished = notif_finished(n->notif);
	next = notif_next_wakeup(n->notif);
	pthread_mutex_unlock(&n->nm->lock);
	if (finished && n->held.n == 0) {
		log_info("nm: notification %s ended", n->correlator);
		nmn_remove(n);
		return;
	}
	/* progress is saved only when every callback is in the outbox: after
	 * a crash, what is held is found again as a difference between the
	 * status last reported and the current one */
	if (any && n->held.n == 0)
		save_progress(n);
	if (n->held.n > 0 && (next == INT64_MAX || next > mono_ms() + NM_HELD_RETRY_MS))
		next = mono_ms() + NM_HELD_RETRY_MS;
	if (next == INT64_MAX)
		loop_timer_cancel(n->timer);
	else if (loop_timer_set(n->timer, next - mono_ms(), on_timer, n) < 0)
		log_error("nm: %s: cannot set its timer", n->correlator);
}

static void on_timer(void *arg)
{
	struct nmn *n = arg;

	pthread_mutex_lock(&n->nm->lock);
	notif_tick(n->notif, mono_ms());
	pthread_mutex_unlock(&n->nm->lock);
	pump(n);
}

static void sub_fault(const struct fetch_result *why, const char *address, struct fault *f)
{
	switch (why->outcome) {
	case FETCH_REJECTED:
		fault_set(f, POL0002, address, NULL);
		break;
	case FETCH_NORESOURCE:
		fault_set(f, SVC0004, "addresses", NULL);
		break;
	default:
		fault_set(f, SVC0001, why->detail[0] ? why->detail : "presence subscription failed", NULL);
		break;
	}
}

static void start_finish(struct nmn *n, const struct fault *f);

static void on_sub(struct watch_sub *sub, enum watch_sub_event ev, ts_status st,
		   const struct fetch_result *why, void *arg)
{
	struct nm_addr *a = arg;
	struct nmn *n = a->n;
	struct fault f;

	(void)sub;
	if (n->removing)
		return;
	if (!n->running) {
		/* starting: collect baselines; a subscription the server does
		 * not take now refuses the request, as getStatus would */
		if (ev == WSUB_FAILED || (ev == WSUB_LOST && !a->known)) {
			sub_fault(why, n->addresses[a->idx], &f);
			start_finish(n, &f);
			return;
		}
		if (ev != WSUB_STATUS)
			return;
		if (!a->known) {
			a->known = true;
			n->known++;
		}
		if (n->known == n->naddr)
			start_finish(n, NULL);
		return;
	}
	if (ev == WSUB_LOST)
		return;          /* re-established by the watcher; no false change */
	pthread_mutex_lock(&n->nm->lock);
	if (ev == WSUB_STATUS) {
		notif_status(n->notif, a->idx, st, mono_ms());
	} else {
		sub_fault(why, n->addresses[a->idx], &f);
		notif_failed(n->notif, a->idx, &f);
	}
	pthread_mutex_unlock(&n->nm->lock);
	pump(n);
}

/* Ends a start: f NULL = every baseline is known, run it; else refuse. */
static void start_finish(struct nmn *n, const struct fault *f)
{
	struct nm *nm = n->nm;
	struct nm_start *s = n->start;
	int64_t now = mono_ms();
	ts_status st;

	n->start = NULL;
	loop_timer_cancel(n->timer);
	if (!f) {
		s->params.end_ms = now + s->duration_ms;
		n->notif = notif_new(&s->params);
		if (!n->notif) {
			struct fault oom;

			fault_set(&oom, SVC0001, "out of memory", NULL);
			s->failed = true;
			s->fault = oom;
		} else {
			for (size_t i = 0; i < n->naddr; i++)
				if (watch_sub_status(n->addrs[i].sub, &st))
					notif_baseline(n->notif, i, st);
			n->end_mono = s->params.end_ms;
			n->end_wall = time(NULL) + (time_t)(s->duration_ms / 1000);
			/* durable before the client hears it runs */
			if (save_new(n, s) != 0) {
				fault_set(&s->fault, SVC0001, "the notification cannot be stored", NULL);
				s->failed = true;
			} else {
				pthread_mutex_lock(&nm->lock);
				n->running = true;
				nm->nrunning++;
				notif_start(n->notif, now);
				pthread_mutex_unlock(&nm->lock);
				char shown[ENDPOINT_MAX];

				dest_redact(n->endpoint, shown, sizeof(shown));
				log_info("nm: notification %s started: %zu address(es), endpoint %s",
					 n->correlator, n->naddr, shown);
			}
		}
	} else {
		s->failed = true;
		s->fault = *f;
	}
	if (s->failed) {
		n->removing = true;
		nmn_remove(n);
		s->done(s->done_arg);
		return;
	}
	s->done(s->done_arg);   /* the request may be freed from here on */
	pump(n);
}

static void start_timeout(void *arg)
{
	struct nmn *n = arg;
	struct fault f;
	char why[96];

	if (n->running || !n->start)
		return;
	snprintf(why, sizeof(why), "no presence state within %ld ms", n->nm->cfg.start_timeout_ms);
	fault_set(&f, SVC0001, why, NULL);
	start_finish(n, &f);
}

static void start_on_sip(void *arg)
{
	struct nm_start *s = arg;
	struct nm *nm = s->nm;
	struct watch *w = nm->cfg.watch;
	struct nmn *n;
	struct fault f;

	if (find(nm, s->app, s->correlator)) {
		s->failed = true;
		fault_set(&s->fault, SVC0005, s->correlator, "reference.correlator", NULL);
		s->done(s->done_arg);
		return;
	}
	if (over_quota(nm, s->app)) {
		log_info("nm: startNotification %s refused: too many notifications", s->correlator);
		s->failed = true;
		fault_set(&s->fault, POL0001, "too many notifications", NULL);
		s->done(s->done_arg);
		return;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		goto oom;
	n->nm = nm;
	n->start = s;
	n->style = s->params.style;
	n->app = strdup(s->app);
	n->correlator = strdup(s->correlator);
	n->endpoint = strdup(s->endpoint);
	n->naddr = s->n;
	n->addresses = calloc(s->n, sizeof(char *));
	n->addrs = calloc(s->n, sizeof(*n->addrs));
	n->timer = loop_timer_new(nm->loop);
	if (!n->app || !n->correlator || !n->endpoint || !n->addresses || !n->addrs || !n->timer)
		goto oom_n;
	for (size_t i = 0; i < s->n; i++) {
		n->addresses[i] = strdup(s->addresses[i]);
		if (!n->addresses[i])
			goto oom_n;
	}
	if (loop_timer_set(n->timer, nm->cfg.start_timeout_ms, start_timeout, n) < 0)
		goto oom_n;
	pthread_mutex_lock(&nm->lock);
	n->next = nm->list;
	nm->list = n;
	pthread_mutex_unlock(&nm->lock);
	for (size_t i = 0; i < s->n && n->start; i++) {
		struct nm_addr *a = &n->addrs[i];
		ts_status st;

		a->n = n;
		a->idx = i;
		a->sub = watch_sub_open(w, s->sip_uris[i], on_sub, a);
		if (!a->sub) {
			fault_set(&f, SVC0001, "out of memory", NULL);
			start_finish(n, &f);
			return;
		}
		if (watch_sub_status(a->sub, &st)) {
			a->known = true;
			n->known++;
		}
	}
	if (n->start && n->known == n->naddr)
		start_finish(n, NULL);
	return;
oom_n:
	nmn_free(n);
oom:
	s->failed = true;
	fault_set(&s->fault, SVC0001, "out of memory", NULL);
	s->done(s->done_arg);
}

int nm_start_async(struct nm *nm, struct nm_start *s, nm_done_h *done, void *arg)
{
	s->nm = nm;
	s->done = done;
	s->done_arg = arg;
	s->failed = false;
	return loop_post(nm->loop, start_on_sip, s);
}

static void end_on_sip(void *arg)
{
	struct nm_end *e = arg;
	struct nmn *n = find(e->nm, e->app, e->correlator);

	if (!n || !n->running) {
		e->failed = true;
		fault_set(&e->fault, SVC0002, "correlator", NULL);
	} else {
		pthread_mutex_lock(&e->nm->lock);
		notif_cancel(n->notif);
		pthread_mutex_unlock(&e->nm->lock);
		log_info("nm: notification %s ended by endNotification", n->correlator);
		n->removing = true;
		nmn_remove(n);
	}
	e->done(e->done_arg);
}

int nm_end_async(struct nm *nm, struct nm_end *e, nm_done_h *done, void *arg)
{
	e->nm = nm;
	e->done = done;
	e->done_arg = arg;
	e->failed = false;
	return loop_post(nm->loop, end_on_sip, e);
}

/* --- restore after a restart ------------------------------------------------ */

/* A saved notification, copied out of the store's load callback. */
struct saved {
	struct store_notif sn;
	char *app, *correlator, *endpoint, *interface_name;
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
	v->addresses = calloc(sn->n, sizeof(char *));
	v->sip_uris = calloc(sn->n, sizeof(char *));
	v->reported = calloc(sn->n, sizeof(int));
	ok = v->app && v->correlator && v->endpoint && v->interface_name && v->addresses && v->sip_uris &&
	     v->reported;
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

/* Sends statusEnd for a notification that ended while the gateway was down. */
static void end_saved(struct nm *nm, const struct saved *v, const char *why)
{
	struct dlv_item it = {
		.op = DLV_STATUS_END, .app = v->app, .correlator = v->correlator,
		.endpoint = v->endpoint,
	};

	log_info("nm: notification %s %s while the gateway was down: statusEnd", v->correlator, why);
	if (dlv_enqueue(nm->cfg.dlv, &it) == 0)
		log_error("nm: %s: cannot queue statusEnd", v->correlator);
	/* nothing more for it: its health record goes once that is sent */
	dlv_forget(nm->cfg.dlv, v->app, v->correlator);
	store_notif_delete(nm->cfg.store, v->app, v->correlator);
}

static void restore_one(struct watch *w, struct nm *nm, struct saved *v, struct restore *r)
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

	if (v->sn.end_ms <= wall) {
		end_saved(nm, v, "reached its duration");
		r->ended++;
		return;
	}
	if (v->sn.count > 0) {
		p.count = v->sn.count - v->sn.sent;
		if (p.count <= 0) {
			end_saved(nm, v, "reached its count");
			r->ended++;
			return;
		}
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		goto oom;
	n->nm = nm;
	n->style = p.style;
	n->restored = true;
	n->sent_base = v->sn.sent;
	n->app = strdup(v->app);
	n->correlator = strdup(v->correlator);
	n->endpoint = strdup(v->endpoint);
	n->naddr = v->sn.n;
	n->addresses = calloc(n->naddr, sizeof(char *));
	n->addrs = calloc(n->naddr, sizeof(*n->addrs));
	n->timer = loop_timer_new(nm->loop);
	n->notif = notif_new(&p);
	if (!n->app || !n->correlator || !n->endpoint || !n->addresses || !n->addrs || !n->timer ||
	    !n->notif)
		goto oom_n;
	for (size_t i = 0; i < n->naddr; i++) {
		n->addresses[i] = strdup(v->addresses[i]);
		if (!n->addresses[i])
			goto oom_n;
		if (v->reported[i] >= 0 && v->reported[i] <= TS_BUSY)
			notif_baseline(n->notif, i, (ts_status)v->reported[i]);
	}
	n->end_mono = p.end_ms;
	n->end_wall = (time_t)(v->sn.end_ms / 1000);
	pthread_mutex_lock(&nm->lock);
	n->running = true;
	nm->nrunning++;
	n->next = nm->list;
	nm->list = n;
	notif_start(n->notif, now);
	pthread_mutex_unlock(&nm->lock);
	/* subscribe again: the first NOTIFY of each is compared with the
	 * status last reported, so a change while down is notified */
	for (size_t i = 0; i < n->naddr; i++) {
		struct nm_addr *a = &n->addrs[i];
		ts_status st;

		a->n = n;
		a->idx = i;
		a->known = true;
		a->sub = watch_sub_open(w, v->sip_uris[i], on_sub, a);
		if (a->sub && watch_sub_status(a->sub, &st)) {
			pthread_mutex_lock(&nm->lock);
			notif_status(n->notif, i, st, now);
			pthread_mutex_unlock(&nm->lock);
		}
	}
	/* its callbacks resumed from the outbox count in its health */
	dlv_keep(nm->cfg.dlv, n->app, n->correlator);
	log_info("nm: notification %s restored: %zu address(es), %ld callback(s) sent before",
		 n->correlator, n->naddr, n->sent_base);
	r->restored++;
	pump(n);
	return;
oom_n:
	nmn_free(n);
oom:
	log_error("nm: out of memory restoring %s; it stays in the store", v->correlator);
	r->oom = true;
}

static void restore_on_sip(void *arg)
{
	struct restore *r = arg;
	struct nm *nm = r->nm;
	struct watch *w = nm->cfg.watch;

	for (struct saved *v = r->list; v; v = v->next)
		restore_one(w, nm, v, r);
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

/* --- life cycle ------------------------------------------------------------ */

struct nm *nm_new(const struct nm_config *cfg)
{
	struct nm *nm = calloc(1, sizeof(*nm));

	if (!nm)
		return NULL;
	nm->cfg = *cfg;
	nm->loop = watch_loop(cfg->watch);
	pthread_mutex_init(&nm->lock, NULL);
	return nm;
}

static void shutdown_on_sip(void *arg)
{
	struct nm *nm = arg;
	struct fault f;

	fault_set(&f, SVC0001, "gateway shutting down", NULL);
	while (nm->list) {
		struct nmn *n = nm->list;

		if (n->start) {
			start_finish(n, &f);   /* answers the waiting client, removes n */
			continue;
		}
		n->removing = true;
		nmn_remove_ex(n, false);   /* stays in the store for the next start */
	}
}

void nm_shutdown(struct nm *nm)
{
	if (nm)
		loop_post_wait(nm->loop, shutdown_on_sip, nm);
}

void nm_free(struct nm *nm)
{
	if (!nm)
		return;
	pthread_mutex_destroy(&nm->lock);
	free(nm);
}

void nm_get_stats(struct nm *nm, struct nm_stats *st)
{
	st->enqueue_failures = atomic_load(&nm->enqueue_failures);
	st->ended_unstored = atomic_load(&nm->ended_unstored);
}

size_t nm_active(struct nm *nm)
{
	size_t n;

	pthread_mutex_lock(&nm->lock);
	n = nm->nrunning;
	pthread_mutex_unlock(&nm->lock);
	return n;
}

/* --- listing ---------------------------------------------------------------- */

#define NM_JSON_MAX (16 * 1024 * 1024)

struct listing {
	struct nm *nm;
	const char *app;           /* only this application's (NULL: all) */
	bool with_app;             /* each object names its application */
	struct sbuf b;
	bool first;
};

/* On the SIP thread, which owns the subscriptions whose state is shown. */
static void list_on_sip(void *arg)
{
	struct listing *l = arg;
	struct nm *nm = l->nm;
	struct sbuf *b = &l->b;
	char when[32], shown[ENDPOINT_MAX];

	pthread_mutex_lock(&nm->lock);
	for (struct nmn *n = nm->list; n; n = n->next) {
		struct dlv_health h;
		struct tm tm;

		if (!n->running || n->removing || (l->app && strcmp(l->app, n->app) != 0))
			continue;
		dlv_get_health(nm->cfg.dlv, n->app, n->correlator, &h);
		gmtime_r(&n->end_wall, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (!l->first)
			sbuf_puts(b, ",");
		sbuf_puts(b, "\n");
		l->first = false;
		sbuf_puts(b, "{");
		if (l->with_app) {
			sbuf_puts(b, "\"app\":");
			sbuf_json_cstr(b, n->app);
			sbuf_puts(b, ",");
		}
		sbuf_puts(b, "\"correlator\":");
		sbuf_json_cstr(b, n->correlator);
		sbuf_puts(b, ",\"endpoint\":");
		dest_redact(n->endpoint, shown, sizeof(shown));   /* credentials as *** */
		sbuf_json_cstr(b, shown);
		sbuf_printf(b, ",\"restored\":%s", n->restored ? "true" : "false");
		sbuf_puts(b, ",\"addresses\":[");
		for (size_t i = 0; i < n->naddr; i++) {
			if (i)
				sbuf_puts(b, ",");
			sbuf_puts(b, "{\"address\":");
			sbuf_json_cstr(b, n->addresses[i]);
			sbuf_printf(b, ",\"status\":\"%s\",\"subscription\":\"%s\"}",
			     ts_status_name(notif_current(n->notif, i)),
			     watch_sub_state_name(n->addrs[i].sub));
		}
		sbuf_printf(b, "],\"notifications_sent\":%ld,\"callbacks_queued\":%ld,\"ends\":\"%s\","
		     "\"delivery\":{\"delivered\":%lu,\"failed\":%lu,\"failed_attempts\":%lu,"
		     "\"pending\":%lu,\"healthy\":%s,\"last_error\":",
		     n->sent_base + notif_sent(n->notif), n->dlv_enqueued, when, h.delivered, h.failed,
		     h.attempts_failed, h.queued, h.failed == 0 && !h.last_error[0] ? "true" : "false");
		if (h.last_error[0])
			sbuf_json_cstr(b, h.last_error);
		else
			sbuf_puts(b, "null");
		sbuf_puts(b, "}}");
	}
	pthread_mutex_unlock(&nm->lock);
}

char *nm_list_json(struct nm *nm, const char *app, bool with_app, size_t *len)
{
	struct listing l = { .nm = nm, .app = app, .with_app = with_app, .b = SBUF_INIT(NM_JSON_MAX),
			     .first = true };

	sbuf_puts(&l.b, "[");
	if (loop_post_wait(nm->loop, list_on_sip, &l) != 0) {
		sbuf_free(&l.b);
		return NULL;
	}
	if (!l.first)
		sbuf_puts(&l.b, "\n");
	sbuf_puts(&l.b, "]\n");
	return sbuf_take(&l.b, len);
}
