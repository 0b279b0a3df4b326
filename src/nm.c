/*
 * nm.c - the notification manager (see nm.h): the notifications that run.
 * Saving them is in nm_store.c, listing them in nm_list.c, checking the
 * requests in nmreq.c.
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
 *   state machine, turns the actions into dlv items, and keeps one loop
 *   timer for notif_next_wakeup(). When notif says finished, the
 *   notification is removed and its subs closed.
 * - Threads: the registry, the notifications and their notif machines
 *   belong to the SIP thread, and no lock guards them. Other threads post
 *   to it (start, end, restore, shutdown, the listing's snapshot) or read
 *   atomics (nm_active, nm_get_stats).
 */
#include "nm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camara_sub.h"
#include "dest.h"
#include "dlv.h"
#include "hash.h"
#include "log.h"
#include "loop.h"
#include "mono.h"
#include "query.h"
#include "store.h"
#include "watch.h"

/* A callback the outbox refused is tried again this long after. */
#define NM_HELD_RETRY_MS 1000

/* --- running (SIP thread) ------------------------------------------------- */

/* app's notification with correlator: correlators are unique per
 * application (contract section 11). */
static unsigned key_hash(const char *app, const char *correlator)
{
	/* app, a separator no application name has, correlator */
	return (unsigned)hash_add(hash_add(hash_add(HASH_INIT, app), "\x1f"), correlator);
}

static struct nmn *find(struct nm *nm, const char *app, const char *correlator)
{
	unsigned h = key_hash(app, correlator);

	if (!nm->nindex)
		return NULL;
	for (struct nmn *n = nm->index[h & (nm->nindex - 1)]; n; n = n->hnext)
		if (n->hash == h && !n->removing && strcmp(n->correlator, correlator) == 0 &&
		    strcmp(n->app, app) == 0)
			return n;
	return NULL;
}

/* app's entry of the per-application counts; created (at 0) when create. */
static struct nm_app *app_entry(struct nm *nm, const char *app, bool create)
{
	unsigned b = key_hash(app, "") % NM_APP_BUCKETS;
	struct nm_app *a;

	for (a = nm->apps[b]; a; a = a->next)
		if (strcmp(a->name, app) == 0)
			return a;
	if (!create || !(a = calloc(1, sizeof(*a) + strlen(app) + 1)))
		return NULL;
	strcpy(a->name, app);
	a->next = nm->apps[b];
	nm->apps[b] = a;
	return a;
}

/* Doubles the index (a power of two) when it holds as many as it has
 * buckets. Out of memory: it stays as it is (slower, still right). */
static void index_grow(struct nm *nm)
{
	size_t nb = nm->nindex ? nm->nindex * 2 : 1024;
	struct nmn **b;

	if (nm->nlinked < nm->nindex)
		return;
	b = calloc(nb, sizeof(*b));
	if (!b)
		return;
	for (size_t i = 0; i < nm->nindex; i++)
		for (struct nmn *n = nm->index[i], *next; n; n = next) {
			next = n->hnext;
			n->hnext = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	free(nm->index);
	nm->index = b;
	nm->nindex = nb;
}

/* Whether one more notification of app is over a quota (contract
 * sections 8 and 11): running and starting ones count. */
static bool over_quota(struct nm *nm, const char *app)
{
	long max_all = atomic_load_explicit(&nm->max_notifications, memory_order_relaxed);
	long max_app = atomic_load_explicit(&nm->max_per_app, memory_order_relaxed);
	struct nm_app *a;

	if (max_all > 0 && (long)nm->nlinked >= max_all)
		return true;
	a = max_app > 0 ? app_entry(nm, app, false) : NULL;
	return a && a->n >= max_app;
}

struct nmn *nmn_new(struct nm *nm, const char *app, const char *correlator, const char *endpoint,
		    size_t naddr, char *const *addresses)
{
	struct nmn *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->nm = nm;
	n->app = strdup(app);
	n->correlator = strdup(correlator);
	n->endpoint = strdup(endpoint);
	n->naddr = naddr;
	n->addresses = calloc(naddr ? naddr : 1, sizeof(char *));
	n->addrs = calloc(naddr ? naddr : 1, sizeof(*n->addrs));
	n->timer = loop_timer_new(nm->loop);
	if (!n->app || !n->correlator || !n->endpoint || !n->addresses || !n->addrs || !n->timer)
		goto oom;
	for (size_t i = 0; i < naddr; i++) {
		n->addrs[i].n = n;
		n->addrs[i].idx = i;
		n->addresses[i] = strdup(addresses[i]);
		if (!n->addresses[i])
			goto oom;
	}
	return n;
oom:
	nmn_free(n);
	return NULL;
}

void nm_link(struct nmn *n, bool running)
{
	struct nm *nm = n->nm;
	struct nm_app *a = app_entry(nm, n->app, true);

	n->running = running;
	if (running)
		atomic_fetch_add(&nm->nrunning, 1);
	n->prev = NULL;
	n->next = nm->list;
	if (nm->list)
		nm->list->prev = n;
	nm->list = n;
	nm->nlinked++;
	if (a)
		a->n++;
	index_grow(nm);
	n->hash = key_hash(n->app, n->correlator);
	if (nm->nindex) {
		n->hnext = nm->index[n->hash & (nm->nindex - 1)];
		nm->index[n->hash & (nm->nindex - 1)] = n;
	}
}

/* Takes n out of the list, the index and its application's count. */
static void nm_unlink(struct nmn *n)
{
	struct nm *nm = n->nm;
	struct nm_app *a = app_entry(nm, n->app, false);

	if (n->prev)
		n->prev->next = n->next;
	else if (nm->list == n)
		nm->list = n->next;
	if (n->next)
		n->next->prev = n->prev;
	n->next = n->prev = NULL;
	if (nm->nindex)
		for (struct nmn **pp = &nm->index[n->hash & (nm->nindex - 1)]; *pp; pp = &(*pp)->hnext)
			if (*pp == n) {
				*pp = n->hnext;
				break;
			}
	nm->nlinked--;
	if (a)
		a->n--;
}

static void on_sub(struct watch_sub *sub, enum watch_sub_event ev, ts_status st,
		   const struct fetch_result *why, void *arg);

struct watch_sub *nm_open_sub(struct nmn *n, size_t i, const char *sip_uri)
{
	n->addrs[i].sub = watch_sub_open(n->nm->cfg.watch, sip_uri, on_sub, &n->addrs[i]);
	return n->addrs[i].sub;
}

void nmn_free(struct nmn *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->naddr; i++) {
		watch_sub_close(n->addrs ? n->addrs[i].sub : NULL);
		free(n->addresses ? n->addresses[i] : NULL);
	}
	loop_timer_free(n->timer);
	held_clear(&n->held);
	notif_free(n->notif);
	csub_free(n->cam);
	free(n->addrs);
	free(n->addresses);
	free(n->app);
	free(n->correlator);
	free(n->endpoint);
	free(n);
}

/* Unlinks and frees. forget: the notification is over
 * for good (not a shutdown): remove it from the store too. */
static void nmn_remove_ex(struct nmn *n, bool forget)
{
	struct nm *nm = n->nm;

	if (forget && n->running) {
		store_notif_delete(nm->cfg.store, n->app, n->correlator);
		dlv_forget(nm->cfg.dlv, n->app, n->correlator);
	}
	nm_unlink(n);
	if (n->running)
		atomic_fetch_sub(&nm->nrunning, 1);
	nmn_free(n);
}

static void nmn_remove(struct nmn *n)
{
	nmn_remove_ex(n, true);
}

void nm_remove(struct nmn *n)
{
	n->removing = true;
	nmn_remove(n);
}

struct nmn *nm_find(struct nm *nm, const char *app, const char *correlator)
{
	return find(nm, app, correlator);
}

ts_status nm_status_of(const struct nmn *n, ts_status st)
{
	return n->cam ? csub_status(st) : st;
}

/* Queues one callback for delivery (held_send_h): true when dlv took it,
 * committed to the outbox. */
static bool send_action(void *arg, const struct notif_action *a)
{
	struct nmn *n = arg;
	bool ok;
	struct dlv_item it = { .app = n->app, .correlator = n->correlator, .endpoint = n->endpoint };
	struct dlv_status st[64], *ent = st;
	char *body = NULL;

	if (n->cam) {
		/* a CAMARA subscription: a CloudEvent (camara_sub.h) */
		if (!csub_item(n, a, &it, &body)) {
			log_error("nm: %s: out of memory for an event; held", n->correlator);
			atomic_fetch_add(&n->nm->enqueue_failures, 1);
			return false;
		}
	} else switch (a->kind) {
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
	free(body);
	return ok;
}

static void on_timer(void *arg);

/* HELD_MAX callbacks wait behind one the outbox refused, and it still
 * refuses: the notification cannot go on. It ends with a statusError if that can still be queued (else the
 * client learns it from endNotification's SVC0002 or the missing
 * callbacks); logged and counted, never counted as sent. */
static void give_up(struct nmn *n)
{
	struct fault f;
	struct dlv_item it = { .op = DLV_STATUS_ERROR, .app = n->app, .correlator = n->correlator,
			       .endpoint = n->endpoint, .reason = &f };

	atomic_fetch_add(&n->nm->ended_unstored, 1);
	log_error("nm: notification %s ended: %d callbacks wait for the outbox, which refuses "
		  "writes", n->correlator, HELD_MAX);
	notif_cancel(n->notif);
	held_clear(&n->held);
	fault_set(&f, SVC0001, "callbacks could not be stored", NULL);
	if (n->cam) {
		/* a subscription: subscription-ended NETWORK_TERMINATED */
		struct notif_action a = { .kind = NA_ERROR };

		if (!send_action(n, &a))
			log_error("nm: %s: its subscription-ended could not be queued either", n->correlator);
	} else if (dlv_enqueue(n->nm->cfg.dlv, &it) == 0)
		log_error("nm: %s: its statusError could not be queued either", n->correlator);
	n->removing = true;
	nmn_remove(n);
}

void nm_pump(struct nmn *n)
{
	struct notif_action a;
	int64_t next;
	size_t was_held = n->held.n;
	bool finished, any = false;

	/* callbacks the outbox refused before go first, in order; new ones
	 * wait behind them (held.h) */
	if (was_held > 0 && held_flush(&n->held, send_action, n) < was_held)
		any = true;
	while (notif_pop(n->notif, &a)) {
		if (!held_offer(&n->held, &a, send_action, n)) {
			notif_action_release(&a);
			give_up(n);
			return;
		}
		any = true;
	}
	finished = notif_finished(n->notif);
	next = notif_next_wakeup(n->notif);
	if (finished && n->held.n == 0) {
		log_info("nm: notification %s ended", n->correlator);
		nmn_remove(n);
		return;
	}
	/* progress is saved only when every callback is in the outbox: after
	 * a crash, what is held is found again as a difference between the
	 * status last reported and the current one */
	if (any && n->held.n == 0)
		nm_save_progress(n);
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

	notif_tick(n->notif, mono_ms());
	nm_pump(n);
}

/* A refused subscription reads as getStatus would read the fetch. */
static void sub_fault(const struct fetch_result *why, const char *address, struct fault *f)
{
	query_outcome_fault(why, address, "addresses", f);
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
	if (ev == WSUB_STATUS) {
		notif_status(n->notif, a->idx, nm_status_of(n, st), mono_ms());
	} else {
		sub_fault(why, n->addresses[a->idx], &f);
		notif_failed(n->notif, a->idx, &f);
	}
	nm_pump(n);
}

void nm_end_subscription(struct nmn *n, int reason)
{
	struct notif_action a = { .kind = NA_END };

	n->cam->end_reason = (enum csub_reason)reason;
	notif_cancel(n->notif);
	log_info("nm: subscription %s ended: %s", n->correlator, csub_reason_name(n->cam->end_reason));
	if (!held_offer(&n->held, &a, send_action, n))
		log_error("nm: %s: its subscription-ended could not be queued", n->correlator);
	nm_pump(n);   /* removes it once nothing is held */
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
		if (s->cam) {
			/* a subscription ends at its expiry time or its token's,
			 * wall clock, whenever it got here */
			const struct csub *c = s->cam;
			int64_t end = c->token_expires_ms && c->token_expires_ms < c->expires_ms
					      ? c->token_expires_ms : c->expires_ms;

			s->duration_ms = end - store_wall_ms() > 0 ? end - store_wall_ms() : 1;
		}
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
					notif_baseline(n->notif, i, nm_status_of(n, st));
			n->end_mono = s->params.end_ms;
			n->end_wall = time(NULL) + (time_t)(s->duration_ms / 1000);
			/* durable before the client hears it runs */
			if (nm_save_new(n, s) != 0) {
				fault_set(&s->fault, SVC0001, "the notification cannot be stored", NULL);
				s->failed = true;
			} else {
				char shown[ENDPOINT_MAX];

				n->running = true;
				atomic_fetch_add(&nm->nrunning, 1);
				notif_start(n->notif, now);
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
	nm_pump(n);
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
	/* contract section 8: a notification that needs more long-lived
	 * subscriptions than policy.max-presence-subscriptions allows */
	{
		long max = atomic_load_explicit(&nm->max_subscriptions, memory_order_relaxed);
		size_t need = max > 0 ? watch_sub_missing(nm->cfg.watch, (const char *const *)s->sip_uris,
							   s->n) : 0;

		if (need > 0 && watch_sub_open_count(nm->cfg.watch) + need > (size_t)max) {
			log_info("nm: startNotification %s refused: it needs %zu more presence "
				 "subscriptions, over policy.max-presence-subscriptions (%ld)",
				 s->correlator, need, max);
			s->failed = true;
			fault_set(&s->fault, POL0001, "too many subscriptions", NULL);
			s->done(s->done_arg);
			return;
		}
	}
	n = nmn_new(nm, s->app, s->correlator, s->endpoint, s->n, s->addresses);
	if (!n)
		goto oom;
	if (s->cam && !(n->cam = csub_dup(s->cam))) {
		nmn_free(n);
		goto oom;
	}
	n->start = s;
	n->style = s->params.style;
	if (loop_timer_set(n->timer, nm->cfg.start_timeout_ms, start_timeout, n) < 0) {
		nmn_free(n);
		goto oom;
	}
	nm_link(n, false);
	for (size_t i = 0; i < s->n && n->start; i++) {
		struct nm_addr *a = &n->addrs[i];
		ts_status st;

		if (!nm_open_sub(n, i, s->sip_uris[i])) {
			fault_set(&f, SVC0001, "out of memory", NULL);
			start_finish(n, &f);
			return;
		}
		if (log_enabled(LOG_INFO)) {
			struct log_ctx ctx = { .req = s->log_req, .app = s->app };
			struct log_kv kv[] = { { "correlator", s->correlator },
					       { "presentity", s->sip_uris[i] },
					       { "call_id", watch_sub_call_id(a->sub) } };

			log_req(LOG_INFO, &ctx, kv, 3, "nm: startNotification subscribes");
		}
		if (watch_sub_status(a->sub, &st)) {
			a->known = true;
			n->known++;
		}
	}
	if (n->start && n->known == n->naddr)
		start_finish(n, NULL);
	return;
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

	/* a CAMARA subscription is ended by DELETE only */
	if (!n || !n->running || n->cam) {
		e->failed = true;
		fault_set(&e->fault, SVC0002, "correlator", NULL);
	} else {
		notif_cancel(n->notif);
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

/* --- life cycle ------------------------------------------------------------ */

struct nm *nm_new(const struct nm_config *cfg)
{
	struct nm *nm = calloc(1, sizeof(*nm));

	if (!nm)
		return NULL;
	nm->cfg = *cfg;
	atomic_init(&nm->max_notifications, cfg->max_notifications);
	atomic_init(&nm->max_per_app, cfg->max_per_app);
	atomic_init(&nm->max_subscriptions, cfg->max_subscriptions);
	nm->loop = watch_loop(cfg->watch);
	return nm;
}

void nm_set_quotas(struct nm *nm, long max_notifications, long max_per_app, long max_subscriptions)
{
	if (!nm)
		return;
	atomic_store_explicit(&nm->max_subscriptions, max_subscriptions, memory_order_relaxed);
	atomic_store_explicit(&nm->max_notifications, max_notifications, memory_order_relaxed);
	atomic_store_explicit(&nm->max_per_app, max_per_app, memory_order_relaxed);
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
	free(nm->index);
	for (size_t b = 0; b < NM_APP_BUCKETS; b++)
		for (struct nm_app *a = nm->apps[b], *next; a; a = next) {
			next = a->next;
			free(a);
		}
	free(nm);
}

void nm_get_stats(struct nm *nm, struct nm_stats *st)
{
	st->enqueue_failures = atomic_load(&nm->enqueue_failures);
	st->ended_unstored = atomic_load(&nm->ended_unstored);
}

size_t nm_active(struct nm *nm)
{
	return atomic_load(&nm->nrunning);
}
